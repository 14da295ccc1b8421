"""scripts/load's helper: one scrape of /metrics, the exporter's /proc figures,
the 0.5 s sampler, the exact session count from the server's connection log,
and the figures table with the verdicts."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

APP = "festival-pg-exporter"


def proc(pid):
    """VmRSS and VmHWM (kB), threads and open fds of a process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def cmd_proc(pid):
    p = proc(pid)
    print(f"rss_kb={p['VmRSS']}\nhwm_kb={p['VmHWM']}\nthreads={p['Threads']}\nfds={p['fds']}")


def value_of(line):
    """The sample value of an exposition line (after the labels, if any)."""
    rest = line[line.rindex("}") + 1:] if "{" in line else line.split(None, 1)[1]
    return float(rest.split()[0])


def cmd_scrape(url, prefix):
    """One GET; prints PREFIX_key=value facts. Exit 1 when it fails or pg_up != 1."""
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=15) as resp:
        status, body = resp.status, resp.read()
    secs = time.monotonic() - start
    text = body.decode()
    up = scrapes = last = None
    ok = total = series = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series += 1
        if line.startswith("pg_up ") or line.startswith("pg_up{"):
            up = value_of(line)
        elif line.startswith("pg_exporter_scrapes_total"):
            scrapes = value_of(line)
        elif line.startswith("pg_exporter_last_scrape_duration_seconds"):
            last = value_of(line)
        elif line.startswith("pg_scrape_collector_success{"):
            total += 1
            ok += value_of(line) == 1
    facts = dict(status=status, up=up, scrapes=scrapes, last_duration=last, bytes=len(body),
                 series=series, collectors_ok=ok, collectors=total, seconds=round(secs, 4))
    for k, v in facts.items():
        print(f"{prefix}_{k}={'' if v is None else (int(v) if isinstance(v, float) and v.is_integer() else v)}")
    return 0 if status == 200 and up == 1 and scrapes is not None else 1


def cmd_sample(pid, stop_file, out_file, max_seconds, psql, port):
    """Every 0.5 s until stop_file exists (at most max_seconds): the exporter's
    sessions in pg_stat_activity (count and backend pids) and its VmRSS and fds.
    One line per sample: unix_time sessions pids rss_kb fds ('?' when unknown)."""
    sql = ("SELECT count(*) || ' ' || coalesce(string_agg(pid::text, ',' ORDER BY pid), '-') "
           f"FROM pg_stat_activity WHERE application_name = '{APP}'")
    env = dict(os.environ, PGAPPNAME="load-sampler", PGCONNECT_TIMEOUT="2",
               PGOPTIONS="-c statement_timeout=2s")
    argv = [psql, "-X", "-At", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres", "-c", sql]
    start = time.monotonic()
    limit = int(float(max_seconds) / 0.5) + 1
    with open(out_file, "w", buffering=1) as out:
        for k in range(limit):
            if os.path.exists(stop_file) or time.monotonic() - start > float(max_seconds):
                break
            t = time.time()
            try:
                r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3)
                sessions, spids = r.stdout.split() if r.returncode == 0 else ("?", "?")
            except (subprocess.TimeoutExpired, ValueError):
                sessions, spids = "?", "?"
            try:
                p = proc(pid)
                rss, fds = p["VmRSS"], p["fds"]
            except (OSError, KeyError):
                rss, fds = "?", "?"
            out.write(f"{t:.3f} {sessions} {spids} {rss} {fds}\n")
            pause = start + (k + 1) * 0.5 - time.monotonic()
            if pause > 0:
                time.sleep(pause)
    return 0


def connection_log(path):
    """From a server log with log_connections/log_disconnections and
    log_line_prefix '%m [%p] ': exporter sessions opened, and the most open at
    once (in the order the server logged them)."""
    auth = re.compile(r"\[(\d+)\] LOG:\s+connection authorized: .*application_name=" + re.escape(APP) + r"(\s|$)")
    disc = re.compile(r"\[(\d+)\] LOG:\s+disconnection:")
    open_now, opened, most = set(), 0, 0
    with open(path, errors="replace") as f:
        for line in f:
            m = auth.search(line)
            if m:
                open_now.add(m[1])
                opened += 1
                most = max(most, len(open_now))
                continue
            m = disc.search(line)
            if m:
                open_now.discard(m[1])
    return opened, most


def mb(kb):
    return f"{int(kb) / 1024:.1f} MB"


def cmd_report(facts_file, samples_file, wrk_file, server_log):
    f = {}
    with open(facts_file) as fh:
        for line in fh:
            k, _, v = line.rstrip("\n").partition("=")
            f[k] = v
    pool = int(f["pool"])

    # wrk: its own text (kept verbatim) and the JSON line of report.lua's done().
    with open(wrk_file, errors="replace") as fh:
        wrk_text = fh.read()
    w = None
    for line in wrk_text.splitlines():
        if line.startswith("LOADJSON "):
            w = json.loads(line[len("LOADJSON "):])
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", wrk_text)
    non2xx = int(m[1]) if m else 0

    # Sampler.
    samples = []
    with open(samples_file) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 5:
                samples.append(parts)
    good = [s for s in samples if s[1] != "?"]
    sessions = [int(s[1]) for s in good]
    pids = set()
    for s in good:
        if s[2] not in ("-", "?"):
            pids.update(s[2].split(","))
    rss = [int(s[3]) for s in samples if s[3] != "?"]
    # RSS under load at 25/50/75/100 % of the wrk run: the last sample at or
    # before each point. A plateau means the growth is the working set of the
    # concurrent responses; a slope would be a leak.
    t0, t1 = float(f["load_start"]), float(f["load_end"])
    under = [(float(s[0]), int(s[3])) for s in samples if s[3] != "?" and t0 <= float(s[0]) <= t1]
    marks = []
    for q in (0.25, 0.5, 0.75, 1.0):
        before = [r for t, r in under if t <= t0 + q * (t1 - t0)]
        marks.append(mb(before[-1]) if before else "?")
    fds = [int(s[4]) for s in samples if s[4] != "?"]
    log_opened, log_most = connection_log(server_log)

    print()
    print("# wrk output")
    for line in wrk_text.splitlines():
        if not line.startswith("LOADJSON "):
            print("    " + line)
    print()

    rows = []
    row = lambda k, v: rows.append((k, v))
    row("exporter", f"{f['exporter_version']}, --max-connections {pool}, --collection-timeout {f['collection_timeout']}")
    row("PostgreSQL", f"{f['pg_version']}, {f['tables']} tables, {f['rows']} rows, pg_stat_statements")
    row("load", f"{f['wrk_version']} -t{f['threads']} -c{f['connections']} -d{f['duration']}s "
        f"--timeout {f['wrk_timeout']}s http://127.0.0.1:{f['port']}/metrics")
    row("machine", f"{f['cpus']} CPUs, load average before the run {f['loadavg']}")
    row("response", f"{int(f['warm_bytes']) / 1024:.0f} KiB, {f['warm_series']} series, "
        f"{f['warm_collectors_ok']}/{f['warm_collectors']} collectors ok")
    failed = None
    if w is None:
        row("requests served", "? (wrk printed no summary)")
    else:
        e = w["errors"]
        secs = w["duration_us"] / 1e6
        socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
        failed = socket_errors + max(non2xx, e["status"])
        row("requests served", f"{w['requests']} in {secs:.1f} s ({w['requests'] / secs:.0f}/s), "
            f"{w['bytes'] / 2**20:.0f} MiB")
        row("failed requests", f"{failed} (connect {e['connect']}, read {e['read']}, write {e['write']}, "
            f"timeout {e['timeout']}, non-2xx {max(non2xx, e['status'])})")
        lat = w["latency"]
        ms = lambda us: f"{us / 1000:.1f}"
        row("latency ms p50/p90/p99/p99.9/max",
            f"{ms(lat['p50'])} / {ms(lat['p90'])} / {ms(lat['p99'])} / {ms(lat['p99.9'])} / {ms(lat['max'])}"
            f" (mean {ms(lat['mean'])}, stdev {ms(lat['stdev'])})")
    collections = None
    if f.get("before_scrapes") and f.get("after_scrapes"):
        # Each of the two checking scrapes counts its own collection.
        collections = int(f["after_scrapes"]) - int(f["before_scrapes"]) - 1
        ratio = f"{w['requests'] / collections:.0f} requests per collection" if w and collections > 0 else "-"
        row("collections during the load", f"{collections} (pg_exporter_scrapes_total {f['before_scrapes']} -> "
            f"{f['after_scrapes']}); {ratio} (single-flight)")
        if w and collections > 0:
            row("collections per second", f"{collections / (w['duration_us'] / 1e6):.1f}, "
                f"last collection {float(f['after_last_duration']) * 1000:.0f} ms")
    row("exporter sessions, sampled", f"max {max(sessions) if sessions else '?'} in {len(good)} samples every 0.5 s"
        f" ({len(samples) - len(good)} failed), {len(pids)} distinct backend pids")
    row("exporter sessions, connection log", f"max {log_most} open at once, {log_opened} opened in the whole run")
    row("exporter sessions at end", f"{f.get('end_sessions', '?')} (pool size {pool})")
    row("RSS idle (before any scrape)", mb(f["idle_rss_kb"]))
    row(f"RSS start (after {f['warmups']} warm-up scrapes)", mb(f["start_rss_kb"]))
    row("RSS max seen during the load", f"{mb(max(rss))} (sampled); peak VmHWM {mb(f['end_hwm_kb'])}" if rss else "?")
    delta_kb = int(f["end_rss_kb"]) - int(f["start_rss_kb"])
    row("RSS under load at 25/50/75/100 %", " / ".join(marks))
    row("RSS end (1 s after the load)", f"{mb(f['end_rss_kb'])} ({'+' if delta_kb >= 0 else '-'}{mb(abs(delta_kb))} vs start)")
    row("open fds start / max / end", f"{f['start_fds']} / {max(fds) if fds else '?'} / {f['end_fds']}")
    row("threads start / end", f"{f['start_threads']} / {f['end_threads']}")
    row("exporter log warn / error lines", f"{f['log_warn']} / {f['log_error']}")
    width = max(len(k) for k, _ in rows)
    print("# figures")
    for k, v in rows:
        print(f"    {k:<{width}}  {v}")
    print()

    print("# verdicts")
    rc = 0
    if w is None:
        print("    FAIL    no failed request: wrk gave no summary")
        rc = 1
    elif failed == 0 and w["requests"] > 0:
        print(f"    PASS    no failed request: {w['requests']} requests, 0 socket errors, 0 non-2xx")
    else:
        print(f"    FAIL    no failed request: {failed} of {w['requests']} requests failed")
        rc = 1
    seen = max(sessions + [log_most]) if sessions else None
    if seen is None:
        print("    UNKNOWN exporter sessions <= pool size: no sample of pg_stat_activity succeeded")
        rc = max(rc, 2) if rc != 1 else 1
    elif seen <= pool:
        print(f"    PASS    exporter sessions <= pool size: max {max(sessions)} sampled, {log_most} by the "
              f"connection log, pool {pool}")
    else:
        print(f"    FAIL    exporter sessions <= pool size: max {max(sessions)} sampled, {log_most} by the "
              f"connection log, pool {pool}")
        rc = 1
    start_kb, end_kb = int(f["start_rss_kb"]), int(f["end_rss_kb"])
    flat = end_kb <= start_kb + int(f["rss_slack_mb"]) * 1024
    print(f"    REPORT  memory {'flat' if flat else 'NOT flat'}: RSS start {mb(start_kb)}, end {mb(end_kb)} "
          f"({'within' if flat else 'more than'} start + {f['rss_slack_mb']} MB); a report, not an assertion")
    print()
    print(f"load: {'PASS' if rc == 0 else 'FAIL' if rc == 1 else 'UNMEASURED'} (exit {rc})")
    return rc


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "proc":
        return cmd_proc(*args)
    if cmd == "scrape":
        try:
            return cmd_scrape(*args)
        except OSError as e:
            print(f"# scrape {args[0]} failed: {e}", file=sys.stderr)
            return 1
    if cmd == "sample":
        return cmd_sample(*args)
    if cmd == "report":
        return cmd_report(*args)
    sys.exit(f"load.py: unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main())
