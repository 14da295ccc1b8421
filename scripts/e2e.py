"""scripts/e2e's checks against the Prometheus and Alertmanager HTTP APIs and
the log of the webhook receiver that records Alertmanager's notifications (one
JSON object per line; scripts/lib/festival-stack.sh's fs_start_webhook). Each
check polls until it holds or its time is up, prints one line ("ok   ..." or
"FAIL ...: why") and exits 0 or 1. Also the run's watchdog: `watchdog SECONDS
PID` sleeps SECONDS, then sends SIGUSR1 to PID.

Run by scripts/e2e, from the repository root: python3 -B scripts/e2e.py
SUBCOMMAND ARGS...; the addresses and the deadline come from E2E_PROM, E2E_AM,
E2E_HOOK_LOG, E2E_RECEIVER, E2E_RUNBOOKS and E2E_DEADLINE."""
import argparse
import json
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request
import textwrap
from datetime import datetime, timedelta, timezone

PROM = os.environ.get("E2E_PROM", "")
AM = os.environ.get("E2E_AM", "")
HOOK_LOG = os.environ.get("E2E_HOOK_LOG", "")
RECEIVER = os.environ.get("E2E_RECEIVER", "e2e-webhook")
RUNBOOKS = os.environ.get("E2E_RUNBOOKS", "docs/runbooks.md")
DEADLINE = float(os.environ.get("E2E_DEADLINE", "0")) or None
RUNBOOK_BASE = "https://github.com/festival-platform/festival-pg-exporter/blob/main/docs/runbooks.md#"


def get(url, raw=False):
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = resp.read()
    return body.decode() if raw else json.loads(body)


def prom_alerts():
    return get(PROM + "/api/v1/alerts")["data"]["alerts"]


def am_alerts():
    return get(AM + "/api/v2/alerts")


def hook_alerts():
    """(notification, alert) for every alert of every recorded notification."""
    out = []
    try:
        with open(HOOK_LOG) as f:
            for line in f:
                n = json.loads(line)
                out += [(n, a) for a in n.get("alerts", [])]
    except FileNotFoundError:
        pass
    return out


def fmt(labels):
    def short(v):
        return v if len(v) <= 48 else v[:45] + "..."
    return "{" + ", ".join(f'{k}="{short(v)}"' for k, v in sorted(labels.items())) + "}"


class Want:
    """The alert looked for: alertname, labels that must be equal (k=v) or
    contain a text (k~text); with exact, no other labels."""

    def __init__(self, alert, specs, exact=True):
        self.alert, self.exact = alert, exact
        self.eq, self.sub = {"alertname": alert}, {}
        for s in specs:
            m = re.fullmatch(r"(\w+)([=~])(.*)", s, re.S)
            if not m:
                sys.exit(f"e2e.py: bad label spec {s!r}")
            (self.eq if m[2] == "=" else self.sub)[m[1]] = m[3]

    def matches(self, labels):
        return (all(labels.get(k) == v for k, v in self.eq.items())
                and all(v in labels.get(k, "") for k, v in self.sub.items()))

    def label_problems(self, labels):
        if not self.exact:
            return []
        extra = sorted(set(labels) - set(self.eq) - set(self.sub))
        return [f"unexpected labels {extra}"] if extra else []

    def __str__(self):
        parts = [f'{k}="{v}"' for k, v in self.eq.items() if k != "alertname"]
        parts += [f'{k}=~".*{v}.*"' for k, v in self.sub.items()]
        return self.alert + ("{" + ", ".join(parts) + "}" if parts else "")


def runbook_headings():
    with open(RUNBOOKS) as f:
        return set(re.findall(r"^## (\w+)\s*$", f.read(), re.M))


def annotation_problems(alert, ann, desc_words):
    p = []
    summary, desc = ann.get("summary", ""), ann.get("description", "")
    if not summary.strip():
        p.append("no summary")
    if not desc.strip():
        p.append("no description")
    for text in (summary, desc):
        if "<no value>" in text or "error executing template" in text or "error expanding" in text:
            p.append(f"template error: {text!r}")
    for w in desc_words:
        if w not in desc:
            p.append(f"description does not name {w!r}: {desc!r}")
    url = ann.get("runbook_url", "")
    if url != RUNBOOK_BASE + alert.lower():
        p.append(f"runbook_url is {url!r}")
    elif alert not in runbook_headings():
        p.append(f"{RUNBOOKS} has no section '## {alert}'")
    return p


def poll(timeout, step):
    """Calls step() -> (done, info) until done or timeout; (done, info, secs)."""
    start = time.monotonic()
    if DEADLINE:
        timeout = max(0.0, min(timeout, DEADLINE - time.time()))
    while True:
        try:
            done, info = step()
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            done, info = False, f"request failed: {e}"
        secs = time.monotonic() - start
        if done or secs >= timeout:
            return done, info, secs
        time.sleep(0.5)


def report_poll(what, step, timeout):
    done, info, secs = poll(timeout, step)
    return report(done, what, info, secs)


def parse_time(s):
    """RFC 3339 as Alertmanager writes it (nanoseconds, Z or an offset)."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", s)
    if not m:
        raise ValueError(f"bad time {s!r}")
    t = datetime.fromisoformat(m[1] + ("+00:00" if m[3] == "Z" else m[3]))
    return t + timedelta(seconds=float(m[2] or 0))


def report(done, what, info, secs):
    if done:
        print(f"ok   {what}{' ' + info if info else ''} ({secs:.0f}s)")
    else:
        print(f"FAIL {what}: {info} (after {secs:.0f}s)")
    sys.stdout.flush()
    return 0 if done else 1


def names(alerts):
    return ", ".join(sorted({a["labels"]["alertname"] + ("" if a.get("state", "firing") == "firing" else " (pending)")
                             for a in alerts})) or "none"


# --- checks ---------------------------------------------------------------------

def prom_firing(a):
    want = Want(a.alert, a.labels)

    def step():
        alerts = prom_alerts()
        cands = [x for x in alerts if want.matches(x["labels"])]
        firing = [x for x in cands if x["state"] == "firing"]
        if not firing:
            if cands:
                return False, f"{cands[0]['state']}, not firing: {fmt(cands[0]['labels'])}"
            return False, f"no such alert; alerts now: {names(alerts)}"
        x = firing[0]
        p = want.label_problems(x["labels"]) + annotation_problems(a.alert, x["annotations"], a.desc)
        return (False, "; ".join(p) + f" in {fmt(x['labels'])}") if p else (True, fmt(x["labels"]))
    return report_poll(f"prometheus: {a.alert} firing", step, a.timeout)


def prom_absent(a):
    want = Want(a.alert, a.labels, exact=False)

    def step():
        cands = [x for x in prom_alerts() if want.matches(x["labels"])]
        if cands:
            return False, f"{cands[0]['state']}: {fmt(cands[0]['labels'])}"
        return True, ""
    return report_poll(f"prometheus: {want} {a.say}", step, a.timeout)


def prom_never(a):
    """Not pending or firing at any poll for the whole --timeout window: an
    absence seen at one instant could be an alert about to fire."""
    want = Want(a.alert, a.labels, exact=False)
    start = time.monotonic()
    while True:
        try:
            seen = [x for x in prom_alerts() if want.matches(x["labels"])]
        except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
            return report(False, f"prometheus: {want} {a.say}", f"request failed: {e}", time.monotonic() - start)
        secs = time.monotonic() - start
        if seen:
            return report(False, f"prometheus: {want} {a.say}", f"{seen[0]['state']}: {fmt(seen[0]['labels'])}", secs)
        if secs >= a.timeout:
            return report(True, f"prometheus: {want} {a.say}", "", secs)
        time.sleep(0.5)


def am_active(a):
    want = Want(a.alert, a.labels)

    def step():
        alerts = [x for x in am_alerts() if want.matches(x["labels"])]
        if not alerts:
            return False, "not in Alertmanager"
        x = alerts[0]
        p = want.label_problems(x["labels"]) + annotation_problems(a.alert, x["annotations"], a.desc)
        if x["status"]["state"] != "active":
            p.append(f"state {x['status']['state']}")
        if RECEIVER not in [r["name"] for r in x.get("receivers", [])]:
            p.append(f"receivers {x.get('receivers')}")
        return (False, "; ".join(p)) if p else (True, "with its labels, summary, description and runbook_url")
    return report_poll(f"alertmanager: {a.alert} active", step, a.timeout)


def am_absent(a):
    want = Want(a.alert, a.labels, exact=False)

    def step():
        # Alertmanager drops an alert from /api/v2/alerts once its endsAt has
        # passed; an alert still listed with endsAt in the past counts as gone.
        now = datetime.now(timezone.utc)
        left = [x for x in am_alerts() if want.matches(x["labels"]) and parse_time(x["endsAt"]) > now]
        return (False, f"still {left[0]['status']['state']}, endsAt {left[0]['endsAt']}") if left else (True, "")
    return report_poll(f"alertmanager: {want} {a.say}", step, a.timeout)


def hook_status(a, status):
    want = Want(a.alert, a.labels, exact=(status == "firing"))

    def step():
        seen = [(n, x) for n, x in hook_alerts() if want.matches(x["labels"])]
        got = [(n, x) for n, x in seen if x["status"] == status]
        if not got:
            return False, f"no {status} notification" + (f" (got {len(seen)} other)" if seen else "")
        n, x = got[-1]
        p = want.label_problems(x["labels"]) + annotation_problems(a.alert, x["annotations"], a.desc)
        if n.get("receiver") != RECEIVER:
            p.append(f"receiver {n.get('receiver')!r}")
        return (False, "; ".join(p)) if p else (True, "")
    return report_poll(f"webhook: {a.alert} {status} notification", step, a.timeout)


def prom_value(a):
    def step():
        res = get(PROM + "/api/v1/query?" + urllib.parse.urlencode({"query": a.query}))["data"]["result"]
        vals = [float(r["value"][1]) for r in res]
        if vals and all(v == a.expect for v in vals):
            return True, ""
        return False, f"got {vals}"
    return report_poll(f"prometheus: {a.query} == {a.expect:g}", step, a.timeout)


def prom_quiet(a):
    def step():
        alerts = [x for x in prom_alerts() if x["labels"]["alertname"] not in a.exceptions]
        return (False, f"alerts: {names(alerts)}") if alerts else (True, "")
    return report_poll(f"prometheus: no alert pending or firing {a.say}", step, a.timeout)


def rules_loaded(a):
    def step():
        groups = get(PROM + "/api/v1/rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"] if r["type"] == "alerting"]
        health = [r["name"] for g in groups for r in g["rules"] if r.get("health") not in ("ok", "unknown")]
        longer = [r["name"] for r in rules if r["duration"] > a.max_for]
        p = []
        if len(rules) != a.count:
            p.append(f"{len(rules)} alerting rules, expected {a.count}")
        if longer:
            p.append(f"for: longer than {a.max_for:g}s in {longer}")
        if health:
            p.append(f"rules not healthy: {health}")
        return (False, "; ".join(p)) if p else (True, "")
    return report_poll(f"prometheus: {a.count} alert rules loaded from alerts/*.yml, every for: <= {a.max_for:g}s",
                       step, a.timeout)


def exporter_ok(a):
    def step():
        text = get(a.url, raw=True)
        if not re.search(r"^pg_up 1(\.0)?$", text, re.M):
            return False, "pg_up is not 1"
        failing = re.findall(r'^pg_scrape_collector_success\{collector="(\w+)"\} 0', text, re.M)
        return (False, f"collectors failing: {failing}") if failing else (True, "")
    return report_poll(f"exporter: pg_up 1 and every collector succeeds at {a.url}", step, a.timeout)


def wait_http(a):
    done, info, _ = poll(a.timeout, lambda: (get(a.url, raw=True) is not None, ""))
    if not done:
        print(f"e2e.py: {a.url} not answering after {a.timeout:g}s: {info}", file=sys.stderr)
    return 0 if done else 1


def runbook_sql(a):
    """Prints the SQL block of a runbook section that contains a text."""
    text = open(RUNBOOKS).read()
    m = re.search(rf"^## {a.section}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    blocks = re.findall(r"```sql\n(.*?)```", m[1], re.S) if m else []
    blocks = [b for b in blocks if a.containing in b]
    if len(blocks) != 1:
        sys.exit(f"e2e.py: {RUNBOOKS} section {a.section} has {len(blocks)} sql blocks containing {a.containing!r}")
    print(textwrap.dedent(blocks[0]))


def firing_list(a):
    alerts = [x for x in prom_alerts() if x["state"] == "firing"]
    keys = ("relname", "parent", "pid", "datname", "instance")
    print(", ".join(sorted(x["labels"]["alertname"] + "(" + next(x["labels"][k] for k in keys if k in x["labels"]) + ")"
                           for x in alerts)) or "none")


def panel_has(a):
    """A dashboard panel's query (its first target, as Grafana sends it with
    the given variables and $__rate_interval 1m) returns a series whose
    `label` contains TEXT."""
    dash = json.load(open(a.dashboard))
    panels = [p for p in dash["panels"] + [c for p in dash["panels"] for c in p.get("panels", [])]
              if p.get("title") == a.title]
    if len(panels) != 1:
        sys.exit(f"e2e.py: {len(panels)} panels titled {a.title!r} in {a.dashboard}")
    values = dict(v.split("=", 1) for v in a.var)
    values.update(__rate_interval="1m", __interval="30s", __range="1h")
    expr = re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]),
                  panels[0]["targets"][0]["expr"])

    def step():
        res = get(PROM + "/api/v1/query?" + urllib.parse.urlencode({"query": expr}))["data"]["result"]
        hits = [r["metric"] for r in res if a.text in r["metric"].get(a.label, "")]
        if hits:
            return True, fmt(hits[0])
        return False, f"{len(res)} series, none with {a.label} containing {a.text!r}: {[fmt(r['metric']) for r in res][:3]}"
    return report_poll(f"dashboard: panel {a.title!r} shows {a.label} ~ {a.text!r}", step, a.timeout)


def shorten_windows(a):
    """In a copy of the rules, the range and offset durations of the named
    alerts (and of the queries in their annotations) become --window."""
    text = open(a.rules).read()
    blocks = re.split(r"(?m)^(?=      - (?:alert|record): )", text)
    seen = set()
    for i, b in enumerate(blocks):
        m = re.match(r"      - alert: (\w+)", b)
        if m and m[1] in a.alerts:
            seen.add(m[1])
            b = re.sub(r"\[\d+[smhdw]\]", f"[{a.window}]", b)
            blocks[i] = re.sub(r"offset \d+[smhdw]", f"offset {a.window}", b)
    missing = set(a.alerts) - seen
    if missing:
        sys.exit(f"e2e.py: no alert {sorted(missing)} in {a.rules}")
    with open(a.rules, "w") as f:
        f.write("".join(blocks))


def watchdog(a):
    time.sleep(a.seconds)
    os.kill(a.pid, signal.SIGUSR1)


def main():
    # One parser per subcommand: parse_intermixed_args (label specs mixed
    # with --desc options) does not work with subparsers.
    cmds = {}

    def cmd(name, fn, *args):
        p = argparse.ArgumentParser(prog=f"e2e.py {name}")
        for flags, kw in args:
            p.add_argument(*flags, **kw)
        p.set_defaults(fn=fn)
        cmds[name] = p

    def alert_cmd(name, fn, say=""):
        cmd(name, fn, (["alert"], {}), (["labels"], {"nargs": "*"}),
            (["--desc"], {"action": "append", "default": []}),
            (["--timeout"], {"type": float, "default": 90}), (["--say"], {"default": say}))

    timeout = (["--timeout"], {"type": float, "default": 30})
    alert_cmd("prom-firing", prom_firing)
    alert_cmd("prom-absent", prom_absent, "not pending or firing")
    alert_cmd("prom-never", prom_never, "never pending or firing")
    alert_cmd("am-active", am_active)
    alert_cmd("am-absent", am_absent, "no longer active")
    alert_cmd("hook-firing", lambda a: hook_status(a, "firing"))
    alert_cmd("hook-resolved", lambda a: hook_status(a, "resolved"))
    cmd("prom-value", prom_value, (["query"], {}), (["expect"], {"type": float}), timeout)
    cmd("prom-quiet", prom_quiet, timeout, (["--say"], {"default": ""}),
        (["--except"], {"dest": "exceptions", "action": "append", "default": []}))
    cmd("rules-loaded", rules_loaded, (["--count"], {"type": int, "required": True}),
        (["--max-for"], {"type": float, "required": True}), timeout)
    cmd("exporter-ok", exporter_ok, (["url"], {}), timeout)
    cmd("wait-http", wait_http, (["url"], {}), timeout)
    cmd("firing-list", firing_list)
    cmd("runbook-sql", runbook_sql, (["section"], {}), (["containing"], {}))
    cmd("watchdog", watchdog, (["seconds"], {"type": float}), (["pid"], {"type": int}))
    cmd("panel-has", panel_has, (["dashboard"], {}), (["title"], {}), (["label"], {}), (["text"], {}),
        (["--var"], {"action": "append", "default": []}), timeout)
    cmd("shorten-windows", shorten_windows, (["rules"], {}), (["window"], {}), (["alerts"], {"nargs": "+"}))
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(f"usage: e2e.py {{{','.join(cmds)}}} ...")
    a = cmds[sys.argv[1]].parse_intermixed_args(sys.argv[2:])
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
