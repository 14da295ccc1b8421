#!/usr/bin/env python3
"""Serves a festival-pg-exporter exposition grown to many tables, for running
the dashboards' queries against a Prometheus that holds as many series as a
server with that many tables (scripts/dashboards-large).

    dashboards/large_fixture.py --template real.prom --tables 10000 --port 0

--template is a real /metrics exposition of festival-pg-exporter. Every series
naming a table, index or partition (a relname, indexrelname, parent or
partition label) is copied until there are --tables distinct tables: copy c
of table T is T_cC in the same database and schema, its indexes and
partitions renamed the same way, so the metric families, their types and
labels are the exporter's own. Values vary between copies: gauges are scaled
by a factor per copy that moves on at every scrape, so which tables are
largest (most dead tuples, ...) changes from scrape to scrape, as on a busy
server, and a time series panel whose top k is chosen anew at every step
draws more than k series; counters are scaled by a fixed factor per copy and
grow by a step per copy at every scrape, so rate(), increase() and delta()
have something to show. Series that name no table are served as they are.

The server answers GET /metrics (a new body per scrape, built in about a
second for 10,000 tables) and prints `listening on PORT` once it listens.
Python 3 standard library only.
"""
import argparse
import http.server
import re
import sys
import threading

LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')
OBJECT_LABELS = ("relname", "indexrelname", "parent", "partition")


def parse(path):
    """(lines, per-object series, types): lines keeps the exposition's order,
    with each family's per-object series replaced by one marker (the family
    name as an int index into families) where they stood."""
    types, lines, objects, seen = {}, [], [], set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                _, _, name, mtype = line.split(" ", 3)
                types[name] = mtype
            m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{.*\})?\s+(\S+)(\s+\d+)?$", line)
            if not line or line.startswith("#") or not m:
                lines.append(line)
                continue
            name, labels, value = m.group(1), m.group(2) or "", m.group(3)
            pairs = LABEL.findall(labels)
            if any(k in OBJECT_LABELS for k, _ in pairs):
                objects.append((name, pairs, float(value)))
                if name not in seen:
                    seen.add(name)
                    lines.append((name,))
            else:
                lines.append(f"{name}{labels} {value}")
    return lines, objects, types


def family(name, types):
    for suffix in ("", "_total", "_count", "_sum", "_bucket"):
        if suffix and name.endswith(suffix) and name[:-len(suffix)] in types:
            return types[name[:-len(suffix)]]
    return types.get(name, "untyped")


def gauge_factor(copy, scrape):
    """1 to 4 in 97 steps; copy c has at scrape k what copy c + 13 had at k - 1."""
    return 1 + ((copy + 13 * scrape) % 97) / 32


class Fixture:
    def __init__(self, template, tables):
        self.lines, objects, types = parse(template)
        self.plain = [l for l in self.lines if isinstance(l, str)]
        found = sorted({(dict(p).get("schemaname", ""), dict(p).get("relname") or dict(p).get("parent"))
                        for _, p, _ in objects if dict(p).get("relname") or dict(p).get("parent")})
        if not found:
            raise SystemExit(f"error: {template}: no series names a table")
        self.base_tables = len(found)
        copies = -(-tables // len(found))
        keep = {t: n for n, t in enumerate(found)}
        # Rows: (prefix 'name{labels} ', base value, step per scrape, copy):
        # a counter's base is scaled once and grows by step; a gauge (copy not
        # None) is scaled per scrape by gauge_factor. The last copy only for as
        # many tables as make up --tables.
        self.rows = {}
        for c in range(copies):
            limit = tables - c * len(found)
            for name, pairs, value in objects:
                d = dict(pairs)
                table = (d.get("schemaname", ""), d.get("relname") or d.get("parent"))
                if keep.get(table, 0) >= limit:
                    continue
                labels = ",".join(f'{k}="{v}_c{c}"' if k in OBJECT_LABELS else f'{k}="{v}"' for k, v in pairs)
                row = f"{name}{{{labels}}} "
                if family(name, types) == "counter":
                    self.rows.setdefault(name, []).append((row, value * (1 + (c % 97) / 32), c % 7 + 1, None))
                else:
                    self.rows.setdefault(name, []).append((row, value, 0, c))
        self.tables = min(tables, copies * len(found))
        self.scrapes = 0
        self.lock = threading.Lock()

    def body(self):
        with self.lock:
            k = self.scrapes
            self.scrapes += 1
        out = []
        for line in self.lines:
            if isinstance(line, str):
                out.append(line + "\n")
            else:
                out.extend(f"{prefix}{base + step * k if c is None else base * gauge_factor(c, k):.17g}\n"
                           for prefix, base, step, c in self.rows.get(line[0], ()))
        return "".join(out).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--template", required=True, help="a real /metrics exposition of festival-pg-exporter")
    ap.add_argument("--tables", type=int, default=10000, help="distinct tables to serve (default 10000)")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    ap.add_argument("--write", metavar="FILE", help="write one body to FILE and exit instead of serving")
    args = ap.parse_args()
    fx = Fixture(args.template, args.tables)
    summary = (f"{fx.tables} tables from {fx.base_tables} in {args.template}: "
               f"{sum(len(r) for r in fx.rows.values())} per-object series, {sum(1 for l in fx.plain if l and not l.startswith('#'))} others")
    if args.write:
        with open(args.write, "wb") as f:
            f.write(fx.body())
        print(summary)
        return 0

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = fx.body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(summary, flush=True)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
