"""scripts/demo's status line and summary, read from Prometheus' HTTP API and
the webhook receiver's log. State between calls (first firing time of each
alert, how much of the webhook log was shown) is kept in a JSON file."""
import argparse
import json
import os
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime

KEYS = ("relname", "parent", "pid")


def get(url):
    with urllib.request.urlopen(url, timeout=3) as resp:
        return json.loads(resp.read())


def query(prom, q):
    res = get(prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q}))["data"]["result"]
    return float(res[0]["value"][1]) if res else None


def parse_time(s):
    # RFC 3339 with nanoseconds, as Prometheus writes it
    s = s.replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        frac = "".join(c for c in rest if c.isdigit())
        tz = rest[len(frac):]
        s = head + "." + frac[:6] + tz
    return datetime.fromisoformat(s).timestamp()


def group(alerts):
    """alertname -> [distinguishing label values]"""
    out = {}
    for a in alerts:
        lab = a["labels"]
        out.setdefault(lab["alertname"], []).append(next((lab[k] for k in KEYS if k in lab), ""))
    return out


def fmt(groups, limit=3):
    parts = []
    for name in sorted(groups):
        vals = sorted(v for v in groups[name] if v)
        n = len(groups[name])
        if vals and len(vals) <= limit and len(set(vals)) == n:
            parts.append(f"{name}({','.join(vals)})")
        else:
            parts.append(name + (f"×{n}" if n > 1 else ""))
    return ", ".join(parts) or "none"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"first": {}, "hook_offset": 0, "hooks": 0}


def status(a):
    st = load(a.state)
    t = int(time.time() - a.start)
    try:
        up = query(a.prom, f'pg_up{{job="{a.job}"}}')
        tps = query(a.prom, 'sum(rate(pg_stat_database_xact_commit{datname="festivals"}[30s]))')
        sold = query(a.prom, 'sum(festival_sales_tickets_last_minute)')
        alerts = get(a.prom + "/api/v1/alerts")["data"]["alerts"]
    except Exception as e:  # noqa: BLE001 - the demo goes on
        print(f"[{t:4d}s] Prometheus not answering: {e}", flush=True)
        return
    firing = [x for x in alerts if x["state"] == "firing"]
    pending = [x for x in alerts if x["state"] == "pending"]
    for x in firing:
        name = x["labels"]["alertname"]
        at = parse_time(x["activeAt"]) + a.for_seconds - a.start
        if name not in st["first"] or at < st["first"][name]:
            st["first"][name] = max(at, 0)
    line = (f"[{t:4d}s] pg_up {'?' if up is None else f'{up:g}'} | "
            f"{'?' if tps is None else f'{tps:.0f}'} xact/s | "
            f"{'?' if sold is None else f'{sold:.0f}'} tickets sold/min | "
            f"firing: {fmt(group(firing))}")
    if pending:
        line += f" | pending: {fmt(group(pending))}"
    print(line)
    # Alertmanager's notifications since the last status line.
    try:
        with open(a.hook_log) as f:
            f.seek(st["hook_offset"])
            lines = f.readlines()
            st["hook_offset"] = f.tell()
    except OSError:
        lines = []
    for ln in lines:
        try:
            n = json.loads(ln)
        except ValueError:
            continue
        st["hooks"] += 1
        names = group(n.get("alerts", []))
        by_status = {}
        for x in n.get("alerts", []):
            by_status.setdefault(x["status"], []).append(x)
        for s in sorted(by_status):
            print(f"         alertmanager -> webhook: {s.upper()} {fmt(group(by_status[s]))}"
                  f" [{n.get('groupLabels', {}).get('datname') or n.get('commonLabels', {}).get('instance', '')}]")
    sys.stdout.flush()
    with open(a.state + ".tmp", "w") as f:
        json.dump(st, f)
    os.replace(a.state + ".tmp", a.state)


def summary(a):
    st = load(a.state)
    try:
        with open(a.hook_log) as f:
            st["hooks"] = sum(1 for ln in f if ln.strip())
    except OSError:
        pass
    first = st["first"]
    if not first:
        print("demo: no alert fired")
        return
    print(f"demo: alerts that fired (seconds after the start): "
          + ", ".join(f"{n} {first[n]:.0f}s" for n in sorted(first, key=first.get)))
    print(f"demo: Alertmanager sent {st['hooks']} notifications to the webhook")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["status", "summary"])
    p.add_argument("--prom")
    p.add_argument("--job", default="festival-pg")
    p.add_argument("--hook-log")
    p.add_argument("--state", required=True)
    p.add_argument("--start", type=float, default=0)
    p.add_argument("--for-seconds", type=float, default=0)
    a = p.parse_args()
    status(a) if a.cmd == "status" else summary(a)


if __name__ == "__main__":
    main()
