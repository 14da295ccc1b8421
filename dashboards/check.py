#!/usr/bin/env python3
"""Checks the festival Grafana dashboards (and, for metric names, the alert rules).

Live mode: runs every panel's PromQL against a Prometheus that scrapes
festival-pg-exporter and fails when a query errors or a panel returns no data:

    dashboards/check.py --prometheus http://127.0.0.1:9090 \\
        [--instance VALUE] [--datname VALUE] \\
        [--allow-empty-file dashboards/allowed-empty.txt] dashboards/*.json

Template variables are resolved the way Grafana does on first load: each
query variable (`label_values(...)`) is asked of Prometheus, its `regex`
applied; a single-value variable takes its first value, a multi-value one
with "All" becomes `(v1|v2|...)` (or its allValue). --instance, --datname
and --var NAME=VALUE override that (the value is used as typed: a regex is
fine). $__rate_interval, $__interval, $__range and friends get the values of
--rate-interval, --interval and --range. Each target is run as an instant
query at the current time; a time-series target that has nothing now but had
data within --lookback counts as having data (Grafana would draw it).

A panel fails when any of its queries errors, or when none of its queries
returns data, unless the allow-empty file lists it as `dashboard-uid/panel
title  # why it may be empty` (the comment is required). Panels listed there
are still run and still fail on a query error.

Names-only mode: without Prometheus, checks that every metric name used in the
dashboards (panel queries and template variables) and in the alert rules
(expressions, and queries inside annotation templates) exists in the
exporter's catalogue:

    target/debug/festival-pg-exporter metrics > /tmp/catalogue.tsv
    dashboards/check.py --names-only --catalogue /tmp/catalogue.tsv dashboards/*.json

Names checked are the tokens `pg_...` and `process_...`; recording-rule names
(they contain ':') and names defined by `record:` in the rule files are left
out. `pg_settings_<name>` in the catalogue stands for every `pg_settings_...`
name. With the catalogue, the label check below also knows which metrics have
a `datname` label.

Both modes also check the dashboard structure: JSON that parses, no
`__inputs`, a `datasource` template variable of type datasource (prometheus),
a uid, every panel and target on {"type": "prometheus", "uid":
"${datasource}"}, a unit on every panel, a default refresh of at least 1m, and:

- Variables: `job`, `instance` and `datname`, in that order, each
  label_values(<selector>, itself) filtering on the ones before it; job and
  instance list the targets of a metric festival-pg-exporter serves and
  postgres_exporter does not (--other-exporter-catalogue, default
  tests/compat/postgres_exporter-catalogue.tsv), so neither a postgres_exporter
  in the same Prometheus nor pod IPs as instances mix in. Every metric
  selector filters on job=~"$job" and instance=~"$instance" (and on
  datname=~"$datname" where the metric has a datname label, known from the
  catalogue; datname=~"$datname|" also keeps the series without one, such as
  server log messages of no database).
- Bounds (with the catalogue): a query over a metric with a series per table,
  index, partition, partitioned table or statement (a relname, indexrelname,
  partition, parent or queryid label) must return a fixed number of series
  however many there are: topk/bottomk bound it, or an aggregation by labels
  without those, or `and`/one-to-one matching with a bounded side (a small
  PromQL parser decides). Its legend names {{datname}}, a table does not hide
  the datname column, and a time series panel over such metrics has a
  minimum interval (`interval`) of at least 1m. In a target Grafana runs as a
  range query (not `instant` alone), a topk/bottomk over such series is
  evaluated at every step and may pick other objects at each: the panel then
  draws up to k series a step. So what it ranks must be pinned with an @
  modifier on every selector and subquery in it, e.g.
  `X and on (job, instance, datname, schemaname, relname)
  topk(20, max_over_time(X[$__range] @ end()))`: the k objects are chosen once
  for the whole range.
- Alert rules (alerts/*.yml, read with PyYAML at check time; --alerts): what
  an alert fires on is the metrics of its expression's first clause (up to a
  top-level and/unless/or, and the right side of any and/unless within it;
  recording rules expanded, festival_pg:threshold:* left out). A panel whose queries show all of them (leaving out the right
  side of and/unless, which only filters) links to that alert's runbook_url;
  every runbook link names a heading of docs/runbooks.md (--runbooks) and an
  alert whose metrics the panel shows. When the first clause ends in
  `<op> on () group_left () festival_pg:threshold:NAME`, a panel (or a
  column override `Value #X`, for query X) with coloured threshold steps must
  have a step at that value (from alerts/festival-pg-thresholds.rules.yml),
  coloured red for a critical alert and orange for a warning on the side
  where it fires, and no step at any other value.

Live mode, besides: each query's series count, time and bound (the sum of its
topk/bottomk k's, else --max-series), failing when it returns more series
than that, or a per-object series without datname. A target Grafana runs as
a range query is also run as one, over --range ending now in --range-steps
steps, and fails when the distinct series of all steps together (what the
panel draws) are more than its bound; --series-detail prints
them per query, and the slowest queries close the report. --empty-ok reports
empty panels without failing them (for synthetic fixtures, see
scripts/dashboards-large and dashboards/large_fixture.py).

Exit status: 0 all good, 1 a check failed, 2 usage or setup error.
Python 3 standard library, and PyYAML for the rule files.
"""
import argparse
import glob
import json
import math
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
CHECKED_NAME = re.compile(r"^(pg_[a-z0-9_]+|process_[a-z0-9_]+)$")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# --------------------------------------------------------------------------
# PromQL scanning (enough to find metric selectors and their matchers)
# --------------------------------------------------------------------------
TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\])
  | (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<lbrack>\[) | (?P<rbrack>\])
  | (?P<lparen>\() | (?P<rparen>\))
  | (?P<num>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?:ms|[smhdwy])?(?:\d+(?:ms|[smhdwy]))*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>.)
""", re.X | re.S)

AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan", "Inf", "NaN"}
LABEL_VALUES = re.compile(r"\s*label_values\(\s*(?:(.*),\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", re.S)
MATCHER = re.compile(r"""([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)""")


def tokens(expr):
    out = []
    for m in TOKEN.finditer(expr):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        out.append((kind, m.group(), m.start()))
    return out


def selectors(expr):
    """[(metric name, {label: [(op, value)]})] for every named vector selector."""
    toks = tokens(expr)
    result = []
    i = 0
    n = len(toks)
    while i < n:
        kind, text, pos = toks[i]
        if kind == "lbrack":  # range or subquery: skip
            depth = 1
            i += 1
            while i < n and depth:
                if toks[i][0] == "lbrack":
                    depth += 1
                elif toks[i][0] == "rbrack":
                    depth -= 1
                i += 1
            continue
        if kind == "lbrace":  # selector without a name: {__name__=...}
            j = i + 1
            while j < n and toks[j][0] != "rbrace":
                j += 1
            i = j + 1
            continue
        if kind != "ident":
            i += 1
            continue
        nxt = toks[i + 1] if i + 1 < n else (None, None, None)
        if text in GROUPING:
            i += 1
            if nxt[0] == "lparen":  # label list
                while i < n and toks[i][0] != "rparen":
                    i += 1
                i += 1
            continue
        if text in AGGREGATIONS or text in KEYWORDS or nxt[0] == "lparen":
            i += 1
            continue
        # a metric name
        matchers = {}
        i += 1
        if nxt[0] == "lbrace":
            j = i + 1
            while j < n and toks[j][0] != "rbrace":
                j += 1
            inner = expr[nxt[2] + 1:toks[j][2]] if j < n else expr[nxt[2] + 1:]
            for lm in MATCHER.finditer(inner):
                matchers.setdefault(lm.group(1), []).append((lm.group(2), lm.group(3)[1:-1]))
            i = j + 1
        result.append((text, matchers))
    return result


def variable_filter_ok(matchers, label, var):
    """True when the selector has label=~"$var" (or ${var}, ${var:fmt}).
    For datname also datname=~"$datname|": the selected databases and the
    series without a datname (server log messages of no database)."""
    empty_ok = "\\|?" if label == "datname" else ""
    for op, value in matchers.get(label, []):
        if op == "=~" and re.fullmatch(r"(?:\$%s|\$\{%s(:[a-z]+)?\}|\[\[%s\]\])%s" % (var, var, var, empty_ok), value):
            return True
    return False


# --------------------------------------------------------------------------
# Dashboards
# --------------------------------------------------------------------------
class Dashboard:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.data = json.load(f)
        self.uid = self.data.get("uid", "")
        self.variables = self.data.get("templating", {}).get("list", [])

    def panels(self):
        """Every panel that is not a row, including panels inside collapsed rows."""
        def walk(panels):
            for p in panels or []:
                if p.get("type") == "row":
                    yield from walk(p.get("panels"))
                    continue
                yield p
                if p.get("panels"):  # anything else that nests panels
                    yield from walk(p.get("panels"))
        return list(walk(self.data.get("panels")))

    def variable_queries(self):
        """(name, PromQL) of the query variables: the selector of label_values(selector, label)."""
        for v in self.variables:
            if v.get("type") != "query":
                continue
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            q = q or v.get("definition", "")
            m = LABEL_VALUES.fullmatch(q)
            if m:
                q = m.group(1) or ""
            yield v["name"], q


# Time series panels over per-object metrics ask for no more than one point a minute.
MIN_OBJECT_INTERVAL = 60
MIN_REFRESH = 60
VARIABLE_CHAIN = ("job", "instance", "datname")


def lint(dash, catalogue, alerts=None, anchors=None, other_exporter=None):
    """Structural checks; returns a list of problems. alerts (load_alerts)
    adds the runbook-link and threshold checks; other_exporter (names
    postgres_exporter serves) the check that job and instance list this
    exporter's targets alone."""
    problems = []
    d = dash.data
    where = os.path.basename(dash.path)
    if "__inputs" in d:
        problems.append(f"{where}: has __inputs (breaks file provisioning); use the datasource variable")
    if not dash.uid:
        problems.append(f"{where}: no uid")
    refresh = d.get("refresh")
    if not refresh or not re.fullmatch(r"(\d+(ms|[smhdwy]))+", str(refresh)) or duration_seconds(str(refresh)) < MIN_REFRESH:
        problems.append(f"{where}: default refresh {refresh!r} is not at least {MIN_REFRESH}s")
    names = {v.get("name"): v for v in dash.variables}
    ds = names.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{where}: no template variable `datasource` of type datasource with query prometheus")
    queries = dict(dash.variable_queries())
    order = [v.get("name") for v in dash.variables]
    for i, var in enumerate(VARIABLE_CHAIN):
        v = names.get(var)
        if not v or v.get("type") != "query":
            problems.append(f"{where}: no query template variable `{var}`")
            continue
        if v.get("datasource") != DATASOURCE:
            problems.append(f"{where}: variable {var}: datasource is not {json.dumps(DATASOURCE)}")
        if i and VARIABLE_CHAIN[i - 1] in order and order.index(var) < order.index(VARIABLE_CHAIN[i - 1]):
            problems.append(f"{where}: variable {var} comes before {VARIABLE_CHAIN[i - 1]}")
        m = LABEL_VALUES.fullmatch(v.get("query") if isinstance(v.get("query"), str) else v.get("definition", ""))
        if not m or m.group(2) != var or not m.group(1):
            problems.append(f"{where}: variable {var} is not label_values(<selector>, {var})")
            continue
        sels = selectors(m.group(1))
        for before in VARIABLE_CHAIN[:i]:
            if not sels or not all(variable_filter_ok(mt, before, before) for _, mt in sels):
                problems.append(f'{where}: variable {var} does not filter on {before}=~"${before}"')
        if var in ("job", "instance") and other_exporter is not None:
            for metric, _ in sels:
                if metric in other_exporter or (catalogue is not None and not catalogue.has(metric)):
                    problems.append(f"{where}: variable {var} lists the targets exporting {metric}, which is not "
                                    f"a metric festival-pg-exporter alone serves (postgres_exporter's catalogue has it, "
                                    f"or ours does not)")
    for p in dash.panels():
        title = p.get("title", "")
        key = f"{dash.uid}/{title}"
        if p.get("datasource") != DATASOURCE:
            problems.append(f"{key}: panel datasource is not {json.dumps(DATASOURCE)}")
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{key}: no unit in fieldConfig.defaults.unit")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{key}: no targets")
        per_object = False
        for t in targets:
            ref = t.get("refId", "?")
            if t.get("datasource") != DATASOURCE:
                problems.append(f"{key} [{ref}]: target datasource is not {json.dumps(DATASOURCE)}")
            expr = t.get("expr", "")
            if not expr.strip():
                problems.append(f"{key} [{ref}]: empty expr")
            problems.extend(f"{key} [{ref}]: {msg}" for msg in selector_problems(expr, catalogue))
            if catalogue is None or not expr.strip():
                continue
            objects = object_metrics(expr, catalogue)
            if not objects:
                continue
            per_object = True
            try:
                bound = query_bound(expr, catalogue)
            except ValueError as e:
                problems.append(f"{key} [{ref}]: cannot parse the query: {e}")
                continue
            if not bound.scalar and not bound.bounded:
                problems.append(f"{key} [{ref}]: returns a series per object of {', '.join(sorted(set(objects)))} "
                                f"(no topk/bottomk bounds it, nor an aggregation without "
                                f"{'/'.join(sorted(OBJECT_LABELS))})")
            if range_target(p, t):
                for r in query_ranks(expr, catalogue):
                    if r.per_step():
                        problems.append(
                            f"{key} [{ref}]: {r.name} over per-object series in a range query ranks anew at "
                            f"every step (up to k series a step, not k): choose the objects once for the range, "
                            f"e.g. `X and on (<object labels>) {r.name}(k, max_over_time(X[$__range] @ end()))` "
                            f"(every selector or subquery it ranks needs an @ modifier): {r.text[:80]}")
            if t.get("format") != "table" and p.get("type") in ("timeseries", "bargauge", "stat", "gauge") \
                    and bound.limit and "{{datname}}" not in (t.get("legendFormat") or ""):
                problems.append(f"{key} [{ref}]: per-object legend {t.get('legendFormat')!r} lacks {{{{datname}}}}")
        if per_object and p.get("type") == "table":
            for tr in p.get("transformations") or []:
                if tr.get("id") == "organize" and (tr.get("options") or {}).get("excludeByName", {}).get("datname"):
                    problems.append(f"{key}: the table hides the datname column")
        if per_object and p.get("type") == "timeseries":
            iv = p.get("interval")
            if not iv or duration_seconds(iv) < MIN_OBJECT_INTERVAL:
                problems.append(f"{key}: per-object time series without a minimum interval of at least "
                                f"{MIN_OBJECT_INTERVAL}s (panel `interval`)")
    for name, q in dash.variable_queries():
        if name in VARIABLE_CHAIN:
            continue  # checked above
        problems.extend(f"{dash.uid}: variable {name}: {msg}" for msg in selector_problems(q, None))
    if alerts is not None:
        problems.extend(alert_problems(dash, alerts, anchors or set()))
    return problems


def selector_problems(expr, catalogue):
    out = []
    for metric, matchers in selectors(expr):
        for var in ("job", "instance"):
            if not variable_filter_ok(matchers, var, var):
                out.append(f'{metric} does not filter on {var}=~"${var}"')
        if catalogue is not None and "datname" in catalogue.labels(metric) \
                and not variable_filter_ok(matchers, "datname", "datname"):
            out.append(f'{metric} has a datname label but does not filter on datname=~"$datname"')
    return out


# --------------------------------------------------------------------------
# Catalogue and names
# --------------------------------------------------------------------------
class Catalogue:
    def __init__(self, path):
        self.exact = {}
        self.prefixes = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                cols = line.split("\t")
                name = cols[0].strip()
                labels = set()
                if len(cols) > 2 and cols[2].strip() not in ("", "-"):
                    labels = {l.strip() for l in cols[2].split(",")}
                mtype = cols[1].strip() if len(cols) > 1 else ""
                if "<" in name:
                    self.prefixes[name.split("<", 1)[0]] = labels
                    continue
                self.exact[name] = labels
                if mtype in ("histogram", "summary"):
                    for suffix in ("_sum", "_count") + (("_bucket",) if mtype == "histogram" else ()):
                        self.exact[name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
        if not self.exact:
            raise ValueError(f"{path}: no metric names (expected `festival-pg-exporter metrics` output)")

    def has(self, name):
        return name in self.exact or any(name.startswith(p) for p in self.prefixes)

    def labels(self, name):
        if name in self.exact:
            return self.exact[name]
        for p, labels in self.prefixes.items():
            if name.startswith(p):
                return labels
        return set()


# --------------------------------------------------------------------------
# Series bounds: a small PromQL parser that tells whether a query's result
# can grow with the number of tables, indexes, partitions or statements
# --------------------------------------------------------------------------
# Labels that name one object among many: a metric carrying one has a series
# per table (index, partition, partitioned table, statement).
OBJECT_LABELS = {"relname", "indexrelname", "partition", "parent", "queryid"}
BINARY_PREC = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, ">": 3, "<": 3, ">=": 3, "<=": 3,
               "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6}
RANK_AGGREGATIONS = {"topk", "bottomk", "limitk"}


class Bound:
    """What a (sub)query can return: `scalar`, or a vector whose series are
    bounded (`limit`: the sum of the topk/bottomk/limitk k's that bound it,
    0 when it is bounded by being per server/database/state) or unbounded
    (it has a series per object). `pinned`: every selector and subquery in it
    has an @ modifier, so it has the same series and values at every step of
    a range query."""
    def __init__(self, scalar=False, bounded=True, limit=0, pinned=False):
        self.scalar, self.bounded, self.limit = scalar, bounded, limit
        self.pinned = pinned or scalar

    def with_(self, **kw):
        b = Bound(self.scalar, self.bounded, self.limit, self.pinned)
        for k, v in kw.items():
            setattr(b, k, v)
        return b

    def __repr__(self):
        return "scalar" if self.scalar else (f"bounded({self.limit})" if self.bounded else "unbounded")


SCALAR = Bound(scalar=True)


class Rank:
    """A topk/bottomk/limitk of a query: its k (None unless a number), the
    Bound of what it ranks, and its text."""
    def __init__(self, name, k, inner, pos, text):
        self.name, self.k, self.inner, self.pos, self.text = name, k, inner, pos, text

    def per_step(self):
        """True when it ranks per-object series anew at every step of a range
        query: what it ranks has a series per object and is not pinned by @."""
        return not self.inner.bounded and not self.inner.pinned


class PromQLParser:
    """Recursive descent over tokens(); enough of PromQL for the dashboards.
    object_metric(name) says whether a metric has a series per object.
    After parse(), `ranks` holds a Rank for every topk/bottomk/limitk."""
    def __init__(self, expr, object_metric):
        self.toks = [t for t in tokens(expr)]
        self.i = 0
        self.object_metric = object_metric
        self.expr = expr
        self.ranks = []

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else (None, None, None)

    def take(self, text=None):
        tok = self.peek()
        if tok[0] is None or (text is not None and tok[1] != text):
            raise ValueError(f"expected {text or 'more'} at {tok[2]} in {self.expr!r}")
        self.i += 1
        return tok

    def parse(self):
        b = self.binary(0)
        if self.peek()[0] is not None:
            raise ValueError(f"unexpected {self.peek()[1]!r} at {self.peek()[2]}")
        return b

    def label_list(self):
        labels = []
        self.take("(")
        while self.peek()[1] != ")":
            kind, text, _ = self.take()
            if kind == "ident":
                labels.append(text)
        self.take(")")
        return labels

    def binary(self, min_prec):
        left = self.unary()
        while True:
            kind, text, _ = self.peek()
            op = text if kind in ("op", "ident") else None
            if kind == "op" and text in "=!<>" and self.peek(1)[1] == "=":
                op = text + "="
            if op not in BINARY_PREC or BINARY_PREC[op] < min_prec:
                return left
            self.take()
            if len(op) == 2 and op[1] == "=":
                self.take()
            group = None
            while self.peek()[1] in ("bool", "on", "ignoring", "group_left", "group_right"):
                word = self.take()[1]
                if word in ("group_left", "group_right"):
                    group = word
                if word != "bool" and self.peek()[1] == "(":
                    self.label_list()
            prec = BINARY_PREC[op]
            right = self.binary(prec if op == "^" else prec + 1)
            left = self.combine(op, left, right, group)

    @classmethod
    def combine(cls, op, left, right, group):
        b = cls.combine_bound(op, left, right, group)
        return b.with_(pinned=left.pinned and right.pinned) if not b.scalar else b

    @staticmethod
    def combine_bound(op, left, right, group):
        if left.scalar and right.scalar:
            return SCALAR
        if left.scalar:
            return right
        if right.scalar:
            return left
        if op == "or":
            return Bound(bounded=left.bounded and right.bounded, limit=left.limit + right.limit)
        if op == "unless" or group == "group_left":
            return left
        if group == "group_right":
            return right
        # one-to-one matching and `and`: no more series than the smaller side
        bounded = [b for b in (left, right) if b.bounded]
        if not bounded:
            return Bound(bounded=False)
        return min(bounded, key=lambda b: (b.limit == 0, b.limit))

    def unary(self):
        if self.peek()[1] in ("-", "+"):
            self.take()
            return self.unary()
        b = self.primary()
        while True:
            kind, text, _ = self.peek()
            if kind == "lbrack":  # range or subquery
                depth = 0
                while True:
                    k = self.take()[0]
                    depth += {"lbrack": 1, "rbrack": -1}.get(k, 0)
                    if depth == 0:
                        break
            elif text == "offset":
                self.take()
                if self.peek()[1] == "-":
                    self.take()
                self.take()
            elif text == "@":
                self.take()
                if self.peek()[1] in ("-", "+"):
                    self.take()
                self.take()
                if self.peek()[0] == "lparen":
                    self.take("(")
                    self.take(")")
                if not b.scalar:
                    b = b.with_(pinned=True)
            else:
                return b

    def primary(self):
        kind, text, pos = self.peek()
        if kind in ("num", "str"):
            self.take()
            return SCALAR
        if kind == "var":  # $__range_s and friends stand for numbers
            self.take()
            return SCALAR
        if kind == "lparen":
            self.take()
            b = self.binary(0)
            self.take(")")
            return b
        if kind == "lbrace":
            self.selector_body()
            return Bound(bounded=False)
        if kind != "ident":
            raise ValueError(f"unexpected {text!r} at {pos} in {self.expr!r}")
        if text.lower() in ("inf", "nan"):
            self.take()
            return SCALAR
        self.take()
        if text in AGGREGATIONS:
            grouping = None
            if self.peek()[1] in ("by", "without"):
                grouping = (self.take()[1], self.label_list())
            start = self.i
            args = self.call_args()
            if self.peek()[1] in ("by", "without"):
                grouping = (self.take()[1], self.label_list())
            inner = args[-1]
            pinned = inner.pinned
            if text in RANK_AGGREGATIONS:
                k = args[0]
                limit = getattr(k, "number", None)
                self.ranks.append(Rank(text, limit, inner, pos,
                                       self.expr[pos:self.toks[self.i - 1][2] + 1] if self.i > start else text))
                if limit is None:
                    return Bound(bounded=False, pinned=pinned)
                return Bound(limit=limit, pinned=pinned)
            if text == "count_values":
                return Bound(bounded=inner.bounded, limit=inner.limit, pinned=pinned)
            if grouping is None:
                return Bound(pinned=pinned)
            if grouping[0] == "by" and not OBJECT_LABELS & set(grouping[1]):
                return Bound(pinned=pinned)
            return inner
        if self.peek()[0] == "lparen":  # a function
            args = [a for a in self.call_args() if not a.scalar]
            if text in ("time", "scalar", "pi") or not args:
                return SCALAR if text != "vector" else Bound()
            if text in ("vector", "absent", "absent_over_time"):
                return Bound(pinned=all(a.pinned for a in args))
            if text == "histogram_quantile":
                return args[-1]
            out = args[0]
            for a in args[1:]:
                out = Bound(bounded=out.bounded and a.bounded, limit=max(out.limit, a.limit),
                            pinned=out.pinned and a.pinned)
            return out
        # a metric name
        if self.peek()[0] == "lbrace":
            self.selector_body()
        return Bound(bounded=not self.object_metric(text))

    def selector_body(self):
        self.take()
        while self.peek()[0] not in ("rbrace", None):
            self.take()
        self.take()

    def call_args(self):
        self.take("(")
        args = []
        while self.peek()[0] != "rparen":
            start = self.peek()
            b = self.binary(0)
            if start[0] == "num" and self.toks[self.i - 1] is start:
                try:
                    b = Bound(scalar=True)
                    b.number = int(float(start[1]))
                except ValueError:
                    pass
            args.append(b)
            if self.peek()[1] == ",":
                self.take()
        self.take(")")
        return args


def query_parser(expr, catalogue):
    def object_metric(name):
        return catalogue is not None and bool(OBJECT_LABELS & catalogue.labels(name))
    return PromQLParser(expr, object_metric)


def query_bound(expr, catalogue):
    """Bound of a query's result, using the catalogue's labels."""
    return query_parser(expr, catalogue).parse()


def query_ranks(expr, catalogue):
    """The Ranks (topk/bottomk/limitk) of a query."""
    parser = query_parser(expr, catalogue)
    parser.parse()
    return parser.ranks


def range_target(panel, target):
    """True when Grafana runs the target as a range query (as well)."""
    return bool(target.get("range")) or not target.get("instant", False)


def object_metrics(expr, catalogue):
    return [m for m, _ in selectors(expr) if catalogue is not None and OBJECT_LABELS & catalogue.labels(m)]


# --------------------------------------------------------------------------
# Alert rules: which panels show what an alert fires on, and its threshold
# --------------------------------------------------------------------------
SEVERITY_COLOR = {"critical": "red", "page": "red", "warning": "orange", "ticket": "orange"}


class Alert:
    def __init__(self, name, metrics, runbook_url, severity, threshold, op):
        self.name, self.metrics, self.runbook_url = name, metrics, runbook_url
        self.severity, self.threshold, self.op = severity, threshold, op


def split_top(expr, words):
    """Splits expr at the given keywords where they stand outside parentheses."""
    parts, start, depth = [], 0, 0
    for kind, text, pos in tokens(expr):
        if kind in ("lparen", "lbrack", "lbrace"):
            depth += 1
        elif kind in ("rparen", "rbrack", "rbrace"):
            depth -= 1
        elif depth == 0 and kind == "ident" and text in words:
            parts.append(expr[start:pos])
            start = pos + len(text)
    parts.append(expr[start:])
    return parts


def load_alerts(patterns):
    """Alerts of the rule files, each with the metrics of what it fires on:
    the selectors of the first clause of its expression (up to a top-level
    and/unless/or; within it, the right side of a nested and/unless left out
    as in shown_part), recording rules expanded to the metrics they read,
    threshold series (festival_pg:threshold:*) left out, and its threshold
    when that clause ends in `<op> on () group_left () festival_pg:threshold:NAME`."""
    try:
        import yaml
    except ImportError:
        raise SystemExit("error: the alert rule checks need PyYAML (python3-yaml)")
    files = []
    for pattern in patterns:
        files.extend(sorted(glob.glob(pattern)))
    records, alerts_raw = {}, []
    for path in files:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "record" in rule:
                    records[rule["record"]] = str(rule["expr"])
                elif "alert" in rule:
                    alerts_raw.append(rule)
    thresholds = {}
    for name, expr in records.items():
        m = re.fullmatch(r"\s*vector\(\s*([-+0-9.eE]+)\s*\)\s*", expr)
        if name.startswith("festival_pg:threshold:") and m:
            thresholds[name[len("festival_pg:threshold:"):]] = float(m.group(1))

    def metrics_of(expr, seen=()):
        out = set()
        for name, _ in selectors(expr):
            if name.startswith("festival_pg:"):
                continue
            if name in records and name not in seen:
                out |= metrics_of(records[name], seen + (name,))
            elif ":" not in name:
                out.add(name)
        return out

    alerts = []
    for rule in alerts_raw:
        expr = str(rule["expr"])
        first = split_top(expr, {"and", "unless", "or"})[0]
        threshold = op = None
        m = re.search(r"(>=|<=|>|<)\s*on\s*\(\s*\)\s*group_left\s*\(\s*\)\s*festival_pg:threshold:(\w+)\s*$", first)
        if m and m.group(2) in thresholds:
            op, threshold = m.group(1), thresholds[m.group(2)]
        alerts.append(Alert(rule["alert"], metrics_of(shown_part(first)),
                            (rule.get("annotations") or {}).get("runbook_url", ""),
                            (rule.get("labels") or {}).get("severity", ""), threshold, op))
    return alerts, files


def shown_part(expr):
    """expr without what only filters: the right operand of every `and` and
    `unless` (up to the next `or` or closing parenthesis at its depth), and
    `0 * <selector>` (the zero a stat falls back to)."""
    expr = re.sub(r"\b0\s*\*\s*[A-Za-z_:][A-Za-z0-9_:]*(\{[^}]*\})?", "0", expr)
    out, depth, skip_at, last = [], 0, None, 0
    for kind, text, pos in tokens(expr):
        if kind in ("lparen", "lbrack", "lbrace"):
            depth += 1
            continue
        if kind in ("rparen", "rbrack", "rbrace"):
            if skip_at is not None and depth == skip_at:
                last = pos
                skip_at = None
            depth -= 1
            continue
        if skip_at is None and depth >= 0 and kind == "ident" and text in ("and", "unless"):
            out.append(expr[last:pos])
            skip_at = depth
        elif skip_at is not None and depth == skip_at and kind == "ident" and text == "or":
            last = pos
            skip_at = None
    if skip_at is None:
        out.append(expr[last:])
    return " ".join(out)


def panel_metrics(panel):
    """Metric names a panel shows (see shown_part)."""
    out = set()
    for t in panel.get("targets") or []:
        out |= {m for m, _ in selectors(shown_part(t.get("expr", "")))}
    return out


def panel_alerts(panel, alerts):
    shown = panel_metrics(panel)
    return [a for a in alerts if a.metrics and a.metrics <= shown]


def threshold_steps(panel):
    """[(where, steps)] of the panel's thresholds: defaults and overrides."""
    out = []
    fc = panel.get("fieldConfig") or {}
    steps = ((fc.get("defaults") or {}).get("thresholds") or {}).get("steps")
    if steps:
        out.append(("defaults", steps))
    for o in fc.get("overrides") or []:
        for prop in o.get("properties") or []:
            if prop.get("id") == "thresholds":
                out.append((f"override {o.get('matcher', {}).get('options')}", (prop.get("value") or {}).get("steps") or []))
    return out


def alert_problems(dash, alerts, runbook_anchors):
    """Runbook links and thresholds of every panel against the alert rules."""
    problems = []
    names = {a.name for a in alerts}
    bases = {a.runbook_url.split("#")[0] for a in alerts if a.runbook_url}
    for p in dash.panels():
        key = f"{dash.uid}/{p.get('title', '')}"
        matched = panel_alerts(p, alerts)
        urls = [l.get("url", "") for l in p.get("links") or []]
        for a in matched:
            if not a.runbook_url:
                problems.append(f"{key}: alert {a.name} has no runbook_url annotation")
            elif a.runbook_url not in urls:
                problems.append(f"{key}: shows {', '.join(sorted(a.metrics))}, which {a.name} fires on, "
                                f"but has no link to {a.runbook_url}")
        for url in urls:
            if "runbooks.md" not in url:
                continue
            base, _, anchor = url.partition("#")
            if base not in bases:
                problems.append(f"{key}: runbook link {url} is not on the base the alert rules use ({', '.join(sorted(bases))})")
            if anchor not in runbook_anchors:
                problems.append(f"{key}: runbook link {url}: docs/runbooks.md has no section #{anchor}")
            linked = [a for a in alerts if a.runbook_url == url]
            if not linked:
                problems.append(f"{key}: runbook link {url} belongs to no alert of the rule files")
            elif not any(a in matched for a in linked):
                problems.append(f"{key}: links to {url} but shows none of what {linked[0].name} fires on")
        by_ref = {t.get("refId"): panel_alerts({"targets": [t]}, alerts) for t in p.get("targets") or []}
        for where, steps in threshold_steps(p):
            # an override for one column (`Value #B`) answers to that query's alerts
            m = re.fullmatch(r"override Value #(\w+)", where)
            column = by_ref.get(m.group(1), []) if m else matched
            with_threshold = [a for a in column if a.threshold is not None]
            extra = steps[1:]
            if not extra or not with_threshold:
                continue  # no coloured steps, or no alert threshold: nothing to disagree with
            values = [s.get("value") for s in steps]
            for a in with_threshold:
                want = SEVERITY_COLOR.get(a.severity)
                idx = [i for i, v in enumerate(values) if v is not None and math.isclose(v, a.threshold, rel_tol=1e-9)]
                if not idx:
                    problems.append(f"{key}: thresholds ({where}) {values[1:]} lack {a.name}'s "
                                    f"{a.op} {a.threshold:g} (alerts/)")
                    continue
                i = idx[0]
                # above the threshold for > and >=, below it for < and <=
                color = steps[i]["color"] if a.op in (">", ">=") else steps[i - 1]["color"]
                if want and color != want:
                    problems.append(f"{key}: thresholds ({where}): the side of {a.threshold:g} where {a.name} "
                                    f"({a.severity}) fires is {color}, not {want}")
            for s in extra:
                if not any(math.isclose(s.get("value") or 0, a.threshold, rel_tol=1e-9) for a in with_threshold):
                    problems.append(f"{key}: threshold step {s.get('value')} ({where}) is no threshold of "
                                    f"{', '.join(a.name for a in with_threshold)} (alerts/festival-pg-thresholds.rules.yml)")
    del names
    return problems


def runbook_anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    anchors = set()
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = re.match(r"^#+\s+(.*?)\s*$", line)
                if m:
                    a = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
                    anchors.add(a)
    except OSError:
        pass
    return anchors


def checked_names(expr):
    return [m for m, _ in selectors(expr) if ":" not in m and CHECKED_NAME.match(m)]


def rule_file_names(path):
    """(names used, names recorded) in a Prometheus rule file, without a YAML
    parser: `expr:` values (inline or block scalars) are scanned as PromQL,
    strings inside annotation/label templates ({{ ... }}) as PromQL too
    (e.g. `printf "pg_x{...}" | query`). Comments and prose are not scanned."""
    used, recorded = [], set()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if stripped.startswith("#"):
            i += 1
            continue
        m = re.match(r"^(\s*)(?:-\s+)?record:\s*['\"]?([^'\"#\s]+)", line)
        if m:
            recorded.add(m.group(2))
        m = re.match(r"^(\s*)(?:-\s+)?expr:\s*(.*)$", line)
        if m:
            where = f"{os.path.basename(path)}:{i + 1}"
            indent = len(m.group(1))
            value = m.group(2).strip()
            body = []
            if value[:1] in ("|", ">") or value == "":
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    body.append(lines[i])
                    i += 1
            else:
                if value[:1] in ("'", '"') and value[-1:] == value[:1]:
                    value = value[1:-1]
                body.append(value)
                i += 1
            expr = "\n".join(body)
            used.extend((n, where) for n in checked_names(expr))
            continue
        i += 1
    text = "\n".join("" if l.lstrip().startswith("#") else l for l in lines)
    for tpl in re.finditer(r"\{\{(.*?)\}\}", text, re.S):
        for s in re.finditer(r'"((?:\\.|[^"\\])*)"|`([^`]*)`', tpl.group(1)):
            inner = s.group(1) if s.group(1) is not None else s.group(2)
            inner = re.sub(r"%[-+# 0-9.]*[a-zA-Z]", '""', inner)  # printf verbs
            line_no = text[:tpl.start()].count("\n") + 1
            used.extend((n, f"{os.path.basename(path)}:{line_no} (template)")
                        for n in re.findall(r"\b(?:pg|process)_[a-z0-9_]+\b", inner))
    return used, recorded


def rule_context(args):
    """(alerts, runbook anchors, postgres_exporter's metric names) for lint()."""
    alerts, _ = load_alerts(args.alerts or [os.path.join(REPO, "alerts", "*.yml")])
    anchors = runbook_anchors(args.runbooks)
    other = set()
    try:
        with open(args.other_exporter_catalogue, encoding="utf-8") as f:
            other = {l.split("\t", 1)[0].strip() for l in f if l.strip() and not l.startswith("#")}
    except OSError as e:
        raise SystemExit(f"error: {e}")
    return alerts, anchors, other


def names_only(args, dashboards):
    try:
        catalogue = Catalogue(args.catalogue)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failures = []
    alerts, anchors, other = rule_context(args)
    for dash in dashboards:
        failures.extend(lint(dash, catalogue, alerts, anchors, other))
    used = []  # (name, where)
    for dash in dashboards:
        for p in dash.panels():
            for t in p.get("targets") or []:
                used.extend((n, f"{dash.uid}/{p.get('title', '')} [{t.get('refId', '?')}]")
                            for n in checked_names(t.get("expr", "")))
        for var, q in dash.variable_queries():
            used.extend((n, f"{dash.uid}: variable {var}") for n in checked_names(q))
    rule_files = []
    for pattern in args.alerts or [os.path.join(REPO, "alerts", "*.yml")]:
        rule_files.extend(sorted(glob.glob(pattern)))
    recorded = set()
    for path in rule_files:
        u, r = rule_file_names(path)
        used.extend(u)
        recorded |= r
    unknown = {}
    for name, where in used:
        if name in recorded or catalogue.has(name):
            continue
        unknown.setdefault(name, []).append(where)
    distinct = {n for n, _ in used}
    print(f"checked {len(distinct)} metric names in {len(dashboards)} dashboards and "
          f"{len(rule_files)} rule files against {args.catalogue}")
    for problem in failures:
        print(f"FAIL {problem}")
    for name in sorted(unknown):
        print(f"UNKNOWN {name}  used in {', '.join(sorted(set(unknown[name])))}")
    if unknown or failures:
        print(f"{len(unknown)} unknown metric names, {len(failures)} structure problems")
        return 1
    print("all metric names are in the catalogue")
    return 0


# --------------------------------------------------------------------------
# Live mode
# --------------------------------------------------------------------------
class Prometheus:
    def __init__(self, url, timeout):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def get(self, path, params):
        url = f"{self.url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            try:
                body = json.load(e)
            except (ValueError, OSError):
                return None, f"HTTP {e.code}"
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise SystemExit(f"error: cannot query Prometheus at {self.url}: {e}")
        if body.get("status") != "success":
            return None, f"{body.get('errorType', 'error')}: {body.get('error', body)}"
        return body["data"], None


def duration_seconds(s):
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|[smhdwy])", s):
        total += float(num) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[unit]
    if total <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {s}")
    return total


def substitute(expr, values):
    missing = []

    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in values:
            return values[name]
        missing.append(name)
        return m.group(0)
    out = re.sub(r"\$\{(\w+)(?::[^}]*)?\}|\$(\w+)|\[\[(\w+)(?::[^\]]*)?\]\]", repl, expr)
    return out, missing


def regex_escape(value):
    # Grafana's prometheusSpecialRegexEscape for multi-value variables
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\1", value)


def resolve_variables(dash, prom, overrides, builtins, now, lookback):
    values = dict(builtins)
    problems = []
    for v in dash.variables:
        name = v.get("name")
        if v.get("type") == "datasource":
            values[name] = "prometheus"
            continue
        if name in overrides:
            values[name] = overrides[name]
            continue
        if v.get("type") == "constant":
            values[name] = str(v.get("query", ""))
            continue
        if v.get("type") == "custom":
            opts = [o.strip() for o in str(v.get("query", "")).split(",") if o.strip()]
            found = opts
        elif v.get("type") == "query":
            q = v.get("query")
            if isinstance(q, dict):
                q = q.get("query", "")
            q = q or v.get("definition", "")
            q, missing = substitute(q, values)
            if missing:
                problems.append(f"variable {name}: unresolved ${', $'.join(missing)} in {q}")
                continue
            m = LABEL_VALUES.fullmatch(q)
            if not m:
                problems.append(f"variable {name}: cannot evaluate {q!r}; pass --var {name}=VALUE")
                continue
            params = {"start": f"{now - lookback:.3f}", "end": f"{now:.3f}"}
            if m.group(1):
                params["match[]"] = m.group(1)
            data, err = prom.get(f"/api/v1/label/{m.group(2)}/values", params)
            if err:
                problems.append(f"variable {name}: {q}: {err}")
                continue
            found = sorted(data or [])
        else:
            problems.append(f"variable {name}: type {v.get('type')} not supported; pass --var {name}=VALUE")
            continue
        regex = v.get("regex") or ""
        if regex:
            rm = re.fullmatch(r"/(.*)/([a-z]*)", regex, re.S)
            pattern = re.compile(rm.group(1) if rm else regex, re.I if rm and "i" in rm.group(2) else 0)
            kept = []
            for val in found:
                mm = pattern.search(val)
                if not mm:
                    continue
                if "value" in pattern.groupindex and mm.group("value") is not None:
                    kept.append(mm.group("value"))
                elif mm.groups() and mm.group(1) is not None:
                    kept.append(mm.group(1))
                else:
                    kept.append(val)
            found = kept
        if not found:
            problems.append(f"variable {name}: no values (query {v.get('definition') or v.get('query')})")
            continue
        if v.get("includeAll") or v.get("multi"):
            if v.get("includeAll") and v.get("allValue"):
                values[name] = v["allValue"]
            elif v.get("includeAll"):
                values[name] = "(" + "|".join(regex_escape(x) for x in found) + ")"
            else:
                values[name] = regex_escape(found[0])
        else:
            values[name] = found[0]
    return values, problems


def series_count(data):
    if data is None:
        return 0, False
    rtype = data.get("resultType")
    result = data.get("result")
    if rtype in ("scalar", "string"):
        return 1, not _is_nan(result[1])
    samples = []
    for s in result or []:
        if "value" in s:
            samples.append(s["value"][1])
        samples.extend(v[1] for v in s.get("values", []))
    return len(result or []), any(not _is_nan(x) for x in samples)


def _is_nan(v):
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def load_allowed(path):
    allowed = {}
    problems = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^(?P<key>[^/#\s][^/]*/.+?)\s+#\s*(?P<why>\S.*)$", line)
            if not m:
                problems.append(f"{path}:{no}: expected `dashboard-uid/panel title  # why it may be empty`: {line}")
                continue
            allowed[m.group("key")] = m.group("why")
    return allowed, problems


def live(args, dashboards):
    prom = Prometheus(args.prometheus, args.timeout)
    catalogue = None
    if args.catalogue:
        try:
            catalogue = Catalogue(args.catalogue)
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    alerts, anchors, other = rule_context(args)
    allowed = {}
    if args.allow_empty_file:
        allowed, problems = load_allowed(args.allow_empty_file)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
    overrides = dict(args.var or [])
    if args.instance is not None:
        overrides["instance"] = args.instance
    if args.datname is not None:
        overrides["datname"] = args.datname
    rng = args.range
    builtins = {
        "__rate_interval": args.rate_interval,
        "__interval": args.interval,
        "__interval_ms": str(int(duration_seconds(args.interval) * 1000)),
        "__range": rng,
        "__range_s": str(int(duration_seconds(rng))),
        "__range_ms": str(int(duration_seconds(rng) * 1000)),
    }
    now = time.time()
    lookback = duration_seconds(args.lookback)
    failed, empty_allowed, seen, timings = [], [], set(), []
    n_panels = n_queries = 0
    for dash in dashboards:
        problems = lint(dash, catalogue, alerts, anchors, other)
        values, var_problems = resolve_variables(dash, prom, overrides, builtins, now, lookback)
        print(f"== {dash.uid} ({os.path.basename(dash.path)})")
        print("   variables: " + ", ".join(f"{k}={values[k]}" for k in ("job", "instance", "datname") if k in values))
        for p in problems + var_problems:
            print(f"   FAIL {p}")
            failed.append(f"{dash.uid}: {p}")
        for panel in dash.panels():
            title = panel.get("title", "")
            key = f"{dash.uid}/{title}"
            seen.add(key)
            n_panels += 1
            errors, with_data, notes, empty = [], 0, [], []
            sizes, panel_series, panel_seconds = [], 0, 0.0
            targets = panel.get("targets") or []
            for t in targets:
                ref = t.get("refId", "?")
                expr, missing = substitute(t.get("expr", ""), values)
                if missing:
                    errors.append(f"[{ref}] unresolved variable ${', $'.join(missing)}")
                    continue
                n_queries += 1
                started = time.monotonic()
                data, err = prom.get("/api/v1/query", {"query": expr, "time": f"{now:.3f}"})
                elapsed = time.monotonic() - started
                panel_seconds += elapsed
                if err:
                    errors.append(f"[{ref}] {err}")
                    continue
                count, real = series_count(data)
                panel_series += count
                try:
                    limit = query_bound(t.get("expr", ""), catalogue).limit
                except ValueError:
                    limit = 0
                bound = limit or args.max_series
                sizes.append(f"[{ref}] {count}/{bound} series {elapsed * 1000:.0f} ms")
                timings.append((elapsed, count, key, ref))
                if count > bound:
                    errors.append(f"[{ref}] {count} series, more than its bound of {bound}"
                                  f" ({'topk/bottomk' if limit else '--max-series'})")
                if range_target(panel, t):
                    # What a time series panel draws: every series of any step.
                    rng_s = duration_seconds(rng)
                    step = rng_s / args.range_steps
                    started = time.monotonic()
                    rdata, rerr = prom.get("/api/v1/query_range", {
                        "query": expr, "start": f"{now - rng_s:.3f}", "end": f"{now:.3f}", "step": f"{step:.3f}"})
                    elapsed = time.monotonic() - started
                    panel_seconds += elapsed
                    if rerr:
                        errors.append(f"[{ref}] range query: {rerr}")
                    else:
                        rcount, _ = series_count(rdata)
                        sizes.append(f"[{ref}] range {rcount}/{bound} series {elapsed * 1000:.0f} ms")
                        timings.append((elapsed, rcount, key, f"{ref} range"))
                        if rcount > bound:
                            errors.append(f"[{ref}] {rcount} series over the range {rng} (step {step:g}s), more than "
                                          f"its bound of {bound} ({'topk/bottomk' if limit else '--max-series'})")
                for series in (data or {}).get("result") or []:
                    labels = series.get("metric", {}) if isinstance(series, dict) else {}
                    if OBJECT_LABELS & set(labels) and "datname" not in labels and "queryid" not in labels:
                        errors.append(f"[{ref}] series {labels} names an object but has no datname label")
                        break
                if count == 0 and not t.get("instant", False):
                    step = max(1, int(lookback / 200))
                    rdata, rerr = prom.get("/api/v1/query_range", {
                        "query": expr, "start": f"{now - lookback:.3f}", "end": f"{now:.3f}", "step": str(step)})
                    if rerr:
                        errors.append(f"[{ref}] {rerr}")
                        continue
                    count, real = series_count(rdata)
                    if count:
                        notes.append(f"[{ref}] no data now, {count} series within the last {args.lookback}")
                if count:
                    with_data += 1
                    if not real:
                        notes.append(f"[{ref}] only NaN values")
                else:
                    notes.append(f"[{ref}] no data")
                    empty.append(ref)
            # Every query must return data, not just one of the panel's: a
            # listed panel may be wholly empty, a listed `panel [refId]` query alone.
            unexpected = [ref for ref in empty if key not in allowed and f"{key} [{ref}]" not in allowed]
            seen.update(f"{key} [{ref}]" for ref in empty)
            if errors:
                status = "FAIL"
                failed.append(f"{key}: " + "; ".join(errors))
            elif with_data == 0:
                if key in allowed or args.empty_ok:
                    status = "EMPTY (allowed)"
                    empty_allowed.append(key)
                else:
                    status = "FAIL"
                    failed.append(f"{key}: no data")
            elif unexpected and args.empty_ok:
                status = "ok (some empty)"
            elif unexpected:
                status = "FAIL"
                failed.append(f"{key}: no data from " + ", ".join(f"[{ref}]" for ref in unexpected))
            else:
                status = "ok"
            detail = "; ".join(errors + notes) if (errors or notes) else ""
            print(f"   {status:<16} {title}  ({with_data}/{len(targets)} queries with data, {panel_series} series, "
                  f"{panel_seconds * 1000:.0f} ms){'  ' + detail if detail else ''}")
            if args.series_detail:
                print("        " + "; ".join(sizes))
            if verbose_exprs(args) and status != "ok":
                for t in targets:
                    print("        " + substitute(t.get("expr", ""), values)[0].replace("\n", "\n        "))
    for key in sorted(set(allowed) - seen):
        print(f"warning: allow-empty entry matches no panel of the checked dashboards: {key}")
    if timings:
        slowest = sorted(timings, reverse=True)[:5]
        print("\nslowest queries: " + "; ".join(f"{k} [{r}] {e * 1000:.0f} ms ({c} series)" for e, c, k, r in slowest))
        print(f"largest result: {max(c for _, c, _, _ in timings)} series; all queries together "
              f"{sum(e for e, _, _, _ in timings):.1f} s")
    print(f"\n{n_panels} panels, {n_queries} queries, {len(empty_allowed)} allowed empty, {len(failed)} failed")
    if failed:
        print("Failed:")
        for f in failed:
            print(f"  {f}")
        return 1
    return 0


def verbose_exprs(args):
    return args.verbose


def name_value(s):
    if "=" not in s:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return tuple(s.split("=", 1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (head -60 dashboards/check.py) for details.")
    ap.add_argument("dashboards", nargs="+", help="dashboard JSON files")
    ap.add_argument("--prometheus", help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--instance", help="value for $instance (default: the first of label_values(pg_up, instance))")
    ap.add_argument("--datname", help="value for $datname (default: All)")
    ap.add_argument("--var", action="append", type=name_value, metavar="NAME=VALUE",
                    help="value for another template variable")
    ap.add_argument("--allow-empty-file", help="panels that may return no data, `uid/title  # why` per line")
    ap.add_argument("--rate-interval", default="1m", help="$__rate_interval (default 1m)")
    ap.add_argument("--interval", default="30s", help="$__interval (default 30s)")
    ap.add_argument("--range", default="6h", help="$__range, the dashboard time range (default 6h)")
    ap.add_argument("--lookback", default="15m",
                    help="a time-series query with no data now passes if it had data this recently (default 15m)")
    ap.add_argument("--timeout", type=float, default=30, help="HTTP timeout in seconds")
    ap.add_argument("--names-only", action="store_true", help="only check metric names against --catalogue")
    ap.add_argument("--catalogue", help="output of `festival-pg-exporter metrics`")
    ap.add_argument("--alerts", action="append", metavar="GLOB",
                    help="rule files for --names-only (default: alerts/*.yml of this repository)")
    ap.add_argument("--runbooks", default=os.path.join(REPO, "docs", "runbooks.md"),
                    help="runbooks whose sections the panels' runbook links must name (default docs/runbooks.md)")
    ap.add_argument("--other-exporter-catalogue",
                    default=os.path.join(REPO, "tests", "compat", "postgres_exporter-catalogue.tsv"),
                    help="postgres_exporter's metric names: the job and instance variables must use none of them")
    ap.add_argument("--max-series", type=int, default=50,
                    help="live mode: most series a query not bounded by topk/bottomk may return (default 50)")
    ap.add_argument("--range-steps", type=int, default=50,
                    help="live mode: steps of the range query run for each time series target over --range "
                         "(default 50)")
    ap.add_argument("--empty-ok", action="store_true",
                    help="live mode: report empty panels without failing (for a synthetic fixture, where no "
                         "lock, query or VACUUM is under way)")
    ap.add_argument("--series-detail", action="store_true",
                    help="live mode: print each query's series count, bound and time")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the substituted queries of failing panels")
    args = ap.parse_args()
    for d in (args.rate_interval, args.interval, args.range, args.lookback):
        duration_seconds(d)

    dashboards = []
    bad = False
    for path in args.dashboards:
        try:
            dashboards.append(Dashboard(path))
        except (OSError, ValueError) as e:
            print(f"FAIL {path}: {e}")
            bad = True
    uids = [d.uid for d in dashboards]
    for u in sorted({u for u in uids if uids.count(u) > 1}):
        print(f"FAIL uid {u} is used by more than one dashboard")
        bad = True

    if args.names_only:
        if not args.catalogue:
            ap.error("--names-only needs --catalogue FILE")
        rc = names_only(args, dashboards)
    else:
        if not args.prometheus:
            ap.error("--prometheus URL is required (or --names-only --catalogue FILE)")
        rc = live(args, dashboards)
    return 1 if bad and rc == 0 else rc


if __name__ == "__main__":
    sys.exit(main())
