"""scripts/compat's checks: postgres_exporter's mixin (dashboard and alert
rules, tests/compat/postgres_mixin/) against a Prometheus that scrapes the
exporter under test, and a name/type/label diff of one scrape against
postgres_exporter's family catalogue.

Subcommands (each prints one line per check: "ok   ...", "FAIL ..." or
"known ..." for a listed exception, and "# ..." notes; exit 1 on a FAIL):

  wait-scrapes --prometheus URL --job JOB --count N --timeout S
      until Prometheus has N successful scrapes of JOB.
  rules --prometheus URL --rules FILE --timeout S
      every rule of FILE is loaded and, after an evaluation, has health "ok".
  mixin --prometheus URL --dashboard FILE --rules FILE --exceptions FILE --interval D
      the dashboard's query variables have options; every panel query
      returns data (a series with a value that is not NaN, at the last
      instant or else within the last 5 minutes), with $datasource
      dropped, each query variable replaced by the regex of all its options
      ("(a|b)", as Grafana does with every option selected),
      $__rate_interval by 4 x the scrape interval (Grafana's value when the
      data source's scrape interval is Prometheus'), $__interval by the scrape
      interval and $__range by 1h; for every alert rule, every metric
      selector of its expression has a series within 5 minutes
      (present_over_time(SELECTOR[5m])). Prints "panels with data: N of M",
      "variables with options: N of M", "alerts with inputs: N of M".
  diff --metrics URL --catalogue TSV --settings TXT --migration MD
       (--our-catalogue TSV | --informative)
      scrapes URL once (text format, as Prometheus asks for it) and compares
      every family of postgres_exporter's catalogue by name, type and label
      names (its constant label `server` ignored): in the scrape when the
      family has series there, else in the exporter's own catalogue
      (`festival-pg-exporter metrics`). pg_settings_<name> stands for the
      names in --settings (the families postgres_exporter derives on this
      PostgreSQL major), when that file exists. A family that is not served
      identically must be listed in the table under "## Remaining
      differences" of --migration (`| \\`family\\` | difference | reason |`),
      and every family listed there must still differ. --informative (an
      exporter other than festival-pg-exporter): the differences are printed,
      nothing fails.

The PromQL tokenizer, the dashboard model, the template-variable
substitution and the Prometheus client are dashboards/check.py's. Python 3 with PyYAML.
Run from the repository root: python3 -B scripts/compat.py SUBCOMMAND ..."""
import argparse
import importlib.util
import os
import re
import sys
import time
import urllib.request
from datetime import datetime

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("dashboards_check", os.path.join(REPO, "dashboards", "check.py"))
dcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dcheck)

# What Prometheus 2.x sends when it scrapes.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")


class Results:
    def __init__(self):
        self.failed = 0

    def ok(self, msg):
        print(f"ok   {msg}")

    def fail(self, msg):
        self.failed += 1
        print(f"FAIL {msg}")

    def known(self, msg):
        print(f"known {msg}")

    @staticmethod
    def note(msg):
        print(f"# {msg}")


def one_line(expr):
    return re.sub(r"\s+", " ", expr).strip()


# --------------------------------------------------------------------------
# wait-scrapes, rules
# --------------------------------------------------------------------------
def wait_scrapes(a, res):
    prom = dcheck.Prometheus(a.prometheus, 10)
    query = f'sum_over_time(up{{job="{a.job}"}}[10m])'
    end = time.monotonic() + a.timeout
    got = 0
    while True:
        data, err = prom.get("/api/v1/query", {"query": query})
        if not err and data["result"]:
            got = int(float(data["result"][0]["value"][1]))
        if got >= a.count:
            res.ok(f"prometheus: {got} successful scrapes of job {a.job}")
            return
        if time.monotonic() > end:
            res.fail(f"prometheus: {got} successful scrapes of job {a.job} after {a.timeout}s, wanted {a.count}"
                     + (f" ({err})" if err else ""))
            return
        time.sleep(0.5)


def rule_names(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    return [(g["name"], r.get("alert") or r.get("record"), r["expr"]) for g in doc["groups"] for r in g["rules"]]


def rules(a, res):
    prom = dcheck.Prometheus(a.prometheus, 10)
    want = rule_names(a.rules)
    start = time.time()
    end = time.monotonic() + a.timeout
    while True:
        data, err = prom.get("/api/v1/rules", {})
        loaded = {}
        for g in (data or {}).get("groups", []):
            for r in g.get("rules", []):
                loaded[(g["name"], r["name"])] = r
        evaluated = [k for k, r in loaded.items() if _after(r.get("lastEvaluation"), start)]
        if len(evaluated) >= len(want) or time.monotonic() > end:
            break
        time.sleep(0.5)
    for group, name, _ in want:
        r = loaded.get((group, name))
        if r is None:
            res.fail(f"rule {name}: not loaded by Prometheus ({err or 'not in /api/v1/rules'})")
        elif r.get("health") == "ok" and _after(r.get("lastEvaluation"), start):
            res.ok(f"rule {name}: health ok (state {r.get('state', '-')})")
        elif r.get("health") == "err":
            res.fail(f"rule {name}: health err: {r.get('lastError')}")
        else:
            res.fail(f"rule {name}: not evaluated within {a.timeout}s (health {r.get('health')})")


def _after(stamp, t):
    # "2024-01-01T00:00:00.123456789Z"; the zero time means never evaluated
    if not stamp or stamp.startswith("0001-"):
        return False
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
    if not m:
        return True
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.fromisoformat(m.group(1) + tz).timestamp() + 1 >= t


# --------------------------------------------------------------------------
# mixin
# --------------------------------------------------------------------------
def load_exceptions(path):
    known = {}
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"((?:panel|variable|alert)/\S(?:.*?\S)?)\s+#\s+(\S.*)", line)
            if not m:
                sys.exit(f"{path}:{no}: expected `panel/TITLE`, `variable/NAME` or `alert/NAME/METRIC`, "
                         f"then `  # reason`: {line}")
            known[m.group(1)] = m.group(2)
    return known


def selector_spans(expr):
    """The text of every named vector selector of a PromQL expression
    (metric name and its {...} matchers), in order."""
    toks = dcheck.tokens(expr)
    out, i, n = [], 0, len(toks)
    while i < n:
        kind, text, pos = toks[i]
        if kind == "lbrack":  # range or subquery
            depth, i = 1, i + 1
            while i < n and depth:
                depth += {"lbrack": 1, "rbrack": -1}.get(toks[i][0], 0)
                i += 1
            continue
        if kind != "ident":
            i += 1
            continue
        nxt = toks[i + 1] if i + 1 < n else (None, None, None)
        if text in dcheck.GROUPING:
            i += 1
            if nxt[0] == "lparen":  # label list
                while i < n and toks[i][0] != "rparen":
                    i += 1
                i += 1
            continue
        if text in dcheck.AGGREGATIONS or text in dcheck.KEYWORDS or nxt[0] == "lparen":
            i += 1
            continue
        end = pos + len(text)
        i += 1
        if nxt[0] == "lbrace":
            while i < n and toks[i][0] != "rbrace":
                i += 1
            end = toks[i][2] + 1 if i < n else len(expr)
            i += 1
        out.append((text, expr[pos:end]))
    return out


def grafana_regex_escape(value):
    """Grafana's prometheusSpecialRegexEscape, for a multi-value variable
    inside a double-quoted PromQL string: two backslashes before each regex
    metacharacter (one is the string's escape), four for a backslash."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"([$^*{}\[\]'+?.()|])", r"\\\\\1", value)


def duration_seconds(s):
    return dcheck.duration_seconds(s)


def fmt_duration(seconds):
    return f"{int(seconds)}s" if seconds >= 1 else f"{int(seconds * 1000)}ms"


def mixin(a, res):
    prom = dcheck.Prometheus(a.prometheus, 30)
    known = load_exceptions(a.exceptions)
    used_known = set()
    dash = dcheck.Dashboard(a.dashboard)
    interval = duration_seconds(a.interval)
    values = {
        "__rate_interval": fmt_duration(4 * interval),
        "__interval": fmt_duration(interval),
        "__interval_ms": str(int(interval * 1000)),
        "__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
    }
    now = time.time()

    # Template variables, in order: each one's query sees the ones before it.
    n_vars = vars_ok = 0
    for v in dash.variables:
        name = v.get("name")
        if v.get("type") == "datasource":
            values[name] = ""  # only used in datasource fields
            continue
        if v.get("type") != "query":
            res.note(f"variable {name}: type {v.get('type')}, not a query: skipped")
            continue
        n_vars += 1
        q = v.get("query")
        q = (q.get("query", "") if isinstance(q, dict) else q) or v.get("definition", "")
        expr, missing = dcheck.substitute(q, values)
        m = dcheck.LABEL_VALUES.fullmatch(expr)
        options, problem = [], None
        if missing:
            problem = f"unresolved ${', $'.join(missing)}"
        elif not m:
            problem = "not a label_values(...) query"
        else:
            params = {"start": f"{now - 3600:.3f}", "end": f"{now:.3f}"}
            if m.group(1):
                params["match[]"] = m.group(1)
            data, err = prom.get(f"/api/v1/label/{m.group(2)}/values", params)
            options = sorted(data or [])
            problem = err
        if v.get("regex"):
            rx = re.compile(v["regex"].strip("/"))
            options = [o for o in options if rx.search(o)]
        key = f"variable/{name}"
        if options and not problem:
            vars_ok += 1
            values[name] = "(" + "|".join(grafana_regex_escape(o) for o in options) + ")"
            res.ok(f"variable {name}: {q} -> {len(options)} option(s): {', '.join(options)}")
        else:
            values[name] = ".*"
            why = problem or "no options"
            if key in known:
                used_known.add(key)
                res.known(f"variable {name}: {q} -> {why} ({known[key]})")
            else:
                res.fail(f"variable {name}: {q} -> {why}")

    # Panels: every query must return data.
    n_panels = panels_ok = 0
    for p in dash.panels():
        title = p.get("title", "")
        targets = [t for t in p.get("targets") or [] if t.get("expr", "").strip()]
        if not targets:
            continue
        n_panels += 1
        lines, all_data, errors = [], True, []
        for t in targets:
            expr, missing = dcheck.substitute(t["expr"], values)
            if missing:
                errors.append(f"unresolved ${', $'.join(missing)}")
                all_data = False
                lines.append(f"     [{t.get('refId', '?')}] unresolved variables: {one_line(t['expr'])}")
                continue
            data, err = prom.get("/api/v1/query", {"query": expr, "time": f"{now:.3f}"})
            count, real = dcheck.series_count(data)
            late = ""
            if not err and not (count and real):
                # Grafana draws the whole time range: data earlier in the run
                # counts (a scrape may have been slow just now).
                rdata, err = prom.get("/api/v1/query_range", {
                    "query": expr, "start": f"{now - 300:.3f}", "end": f"{now:.3f}", "step": a.interval})
                count, real = dcheck.series_count(rdata)
                late = " (none at the last instant; within the last 5 minutes)"
            if err:
                errors.append(err)
                what = f"error: {err}"
            elif not count:
                what = "no series"
            elif not real:
                what = f"{count} series, all NaN"
            else:
                what = f"{count} series{late}"
            if err or not count or not real:
                all_data = False
            lines.append(f"     [{t.get('refId', '?')}] {what}: {one_line(expr)}")
        key = f"panel/{title}"
        head = f'panel "{title}" ({len(targets)} quer{"y" if len(targets) == 1 else "ies"})'
        if all_data:
            panels_ok += 1
            res.ok(head)
        elif key in known and not errors:
            used_known.add(key)
            res.known(f"{head}: {known[key]}")
        else:
            res.fail(head)
        for line in lines:
            print(line)

    # Alerts: every selector of the expression has series.
    n_alerts = alerts_ok = 0
    for group, name, expr in rule_names(a.rules):
        n_alerts += 1
        parts, bad, excused = [], [], []
        seen = set()
        for metric, sel in selector_spans(expr):
            if sel in seen:
                continue
            seen.add(sel)
            data, err = prom.get("/api/v1/query", {"query": f"present_over_time({sel}[5m])", "time": f"{now:.3f}"})
            count = len((data or {}).get("result") or [])
            parts.append(f"{sel} ({'error: ' + err if err else count})")
            if err or not count:
                key = f"alert/{name}/{metric}"
                if key in known and not err:
                    used_known.add(key)
                    excused.append(f"{sel}: {known[key]}")
                else:
                    bad.append(sel)
        if not seen:
            res.fail(f"alert {name}: no metric selector found in {one_line(expr)}")
        elif bad:
            res.fail(f"alert {name}: no series for {', '.join(bad)}; selectors: {', '.join(parts)}")
        elif excused:
            res.known(f"alert {name}: selectors: {', '.join(parts)}; " + "; ".join(excused))
        else:
            alerts_ok += 1
            res.ok(f"alert {name}: selectors: {', '.join(parts)}")

    for key in sorted(set(known) - used_known):
        res.note(f"exception not needed with this exporter: {key} ({known[key]})")
    print(f"panels with data: {panels_ok} of {n_panels}")
    print(f"variables with options: {vars_ok} of {n_vars}")
    print(f"alerts with inputs: {alerts_ok} of {n_alerts}")


# --------------------------------------------------------------------------
# diff
# --------------------------------------------------------------------------
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+\S+(\s+\S+)?\s*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:\\.|[^"\\])*)"\s*,?')
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count"),
            "counter": ("_total", "_created"), "gaugehistogram": ("_gsum", "_gcount", "_bucket")}
IGNORED_LABELS = {"server"}  # postgres_exporter's constant label of its legacy families


def scrape(url):
    req = urllib.request.Request(url, headers={"Accept": PROMETHEUS_ACCEPT})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Content-Type", ""), r.read().decode("utf-8")


def parse_text(text):
    """{family: {"type": t, "labels": set, "samples": n}} from the text format."""
    fams, types = {}, {}
    for line in text.split("\n"):
        if line.startswith("#"):
            m = re.match(r"#\s+TYPE\s+(\S+)\s+(\S+)", line)
            if m:
                types[m.group(1)] = m.group(2)
                fams.setdefault(m.group(1), {"type": m.group(2), "labels": set(), "samples": 0})
            continue
        if not line.strip():
            continue
        m = SAMPLE.match(line)
        if not m:
            continue
        name, block = m.group(1), m.group(2) or ""
        family = name
        if name not in types:
            for fam, t in types.items():
                if name.startswith(fam) and name[len(fam):] in SUFFIXES.get(t, ()):
                    family = fam
                    break
        f = fams.setdefault(family, {"type": types.get(family, "untyped"), "labels": set(), "samples": 0})
        f["samples"] += 1
        f["labels"] |= {k for k, _ in LABEL.findall(block[1:-1])} - {"le", "quantile"}
    return fams


def read_catalogue(path):
    """[(name, type, labels set, default)] of a catalogue TSV (theirs or ours)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            labels = set() if cols[2].strip() in ("", "-") else {x.strip() for x in cols[2].split(",")}
            default = cols[4].strip() if len(cols) > 4 else ""
            out.append((cols[0].strip(), cols[1].strip(), labels, default))
    return out


def read_remaining(path):
    """{family: difference} from the table under '## Remaining differences'."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Remaining differences[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        sys.exit(f"{path}: no section '## Remaining differences'")
    rows = {}
    for line in m.group(1).split("\n"):
        r = re.match(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|([^|]*)\|\s*$", line)
        if r:
            if not r.group(3).strip():
                sys.exit(f"{path}: row for {r.group(1)} has no reason")
            rows[r.group(1)] = r.group(2).strip()
    return rows


def compare(theirs_type, theirs_labels, ours_type, ours_labels):
    diffs = []
    if theirs_type != ours_type:
        diffs.append(f"type {ours_type}, theirs {theirs_type}")
    t, o = theirs_labels - IGNORED_LABELS, ours_labels - IGNORED_LABELS
    if t != o:
        parts = []
        if t - o:
            parts.append("without " + ",".join(sorted(t - o)))
        if o - t:
            parts.append("with " + ",".join(sorted(o - t)))
        diffs.append("labels " + " and ".join(parts))
    return "; ".join(diffs)


def diff(a, res):
    ctype, text = scrape(a.metrics)
    if a.save:
        with open(a.save, "w", encoding="utf-8") as f:
            f.write(text)
    if a.informative:
        report_fail = lambda m: print(f"diff {m}")  # noqa: E731
    else:
        report_fail = res.fail
    if ctype.startswith("text/plain"):
        res.ok(f"scrape: {ctype} to Prometheus' Accept header")
    else:
        report_fail(f"scrape: {ctype or 'no Content-Type'} to Prometheus' Accept header, not text/plain; version=0.0.4")
    scraped = parse_text(text)
    ours = {}
    if a.our_catalogue:
        ours = {name: (t, labels) for name, t, labels, _ in read_catalogue(a.our_catalogue) if "<" not in name}
    listed = {} if a.informative else read_remaining(a.migration)

    theirs = {}
    for name, t, labels, default in read_catalogue(a.catalogue):
        theirs[name] = (t, labels, default)
    settings = []
    if os.path.exists(a.settings):
        with open(a.settings, encoding="utf-8") as f:
            settings = [x.strip() for x in f if x.strip() and not x.startswith("#")]
        for s in settings:
            theirs.setdefault(s, ("gauge", set(), theirs.get("pg_settings_<name>", ("", set(), "enabled"))[2]))
    else:
        res.note(f"{a.settings} missing: the pg_settings_* families are checked by type and labels only")

    identical = by_scrape = by_catalogue = 0
    catalogued = []  # no series in the scrape: compared with the exporter's catalogue
    differ = {}  # family -> difference (what a migration table row must exist for)
    for name, (t, labels, default) in sorted(theirs.items()):
        if name == "pg_settings_<name>":
            for fam, f in sorted(scraped.items()):
                if fam.startswith("pg_settings_") and f["samples"]:
                    d = compare("gauge", set(), f["type"], f["labels"])
                    if d and fam not in theirs:
                        differ[fam] = d
            continue
        if "<" in name:
            res.note(f"{name}: a pattern of custom-query names; not comparable by name")
            continue
        if "*" in name:
            prefix = name.split("*", 1)[0]
            if not any(f.startswith(prefix) and v["samples"] for f, v in scraped.items()):
                differ[name] = "not served"
            else:
                identical += 1
            continue
        f = scraped.get(name)
        if f and f["samples"]:
            d = compare(t, labels, f["type"], f["labels"])
            by_scrape += 0 if d else 1
        elif name in ours:
            d = compare(t, labels, *ours[name])
            d = d and d + " (by the catalogue)"
            by_catalogue += 0 if d else 1
            catalogued.append(name)
        else:
            d = "not served"
        if d:
            differ[name] = d + ("" if default == "enabled" else f" (collector off by default in postgres_exporter)")
        else:
            identical += 1

    known = []
    for name, d in sorted(differ.items()):
        if a.informative:
            print(f"diff {name}: {d}")
        elif name not in listed:
            report_fail(f"{name}: {d}; not listed in {a.migration}'s Remaining differences")
        elif d.startswith("not served") != listed[name].startswith("not served"):
            res.fail(f"{name}: {d}, but {a.migration}'s Remaining differences says: {listed[name]}: update the row")
        else:
            known.append(name)
    if known:
        res.known(f"{len(known)} families as listed in {a.migration}'s Remaining differences: {', '.join(known)}")
    for name in sorted(set(listed) - set(differ)):
        if name in theirs or name.startswith("pg_settings_"):
            res.fail(f"{name}: listed in {a.migration}'s Remaining differences, but served identically now: "
                     "remove the row")
        else:
            res.fail(f"{name}: listed in {a.migration}'s Remaining differences, but not a postgres_exporter family")
    if catalogued:
        res.note(f"no series in this scrape, compared with the exporter's catalogue: {', '.join(catalogued)}")
    msg = (f"diff: {identical} of {identical + len(differ)} postgres_exporter families served identically "
           f"({by_scrape} compared in the scrape, {by_catalogue} by the catalogue); "
           f"{len(differ)} differ, {len(set(differ) & set(listed))} of them listed in {a.migration}")
    if a.informative:
        res.note(msg + " (informative: the table describes festival-pg-exporter)")
    else:
        res.ok(msg)


def main():
    ap = argparse.ArgumentParser(prog="compat.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait-scrapes")
    p.add_argument("--prometheus", required=True)
    p.add_argument("--job", required=True)
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(fn=wait_scrapes)
    p = sub.add_parser("rules")
    p.add_argument("--prometheus", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--timeout", type=float, default=30)
    p.set_defaults(fn=rules)
    p = sub.add_parser("mixin")
    p.add_argument("--prometheus", required=True)
    p.add_argument("--dashboard", required=True)
    p.add_argument("--rules", required=True)
    p.add_argument("--exceptions", required=True)
    p.add_argument("--interval", default="2s")
    p.set_defaults(fn=mixin)
    p = sub.add_parser("diff")
    p.add_argument("--metrics", required=True)
    p.add_argument("--catalogue", required=True)
    p.add_argument("--settings", required=True)
    p.add_argument("--migration", required=True)
    p.add_argument("--save", help="write the scrape to this file")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--our-catalogue")
    g.add_argument("--informative", action="store_true")
    p.set_defaults(fn=diff)
    a = ap.parse_args()
    res = Results()
    a.fn(a, res)
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
