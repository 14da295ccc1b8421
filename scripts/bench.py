"""scripts/bench's measuring and reporting half (python3 standard library only).

  bench.py sessions PORT DB           hold 150 client sessions open until SIGTERM
  bench.py measure  --size ... --out F  measure one fixture, write JSON
  bench.py report   F...              print the tables

Talks to PostgreSQL itself (simple query protocol, trust authentication over
127.0.0.1: the bench cluster's only kind), so that neither the 150 sessions
nor the statistics queries need psql processes.
"""
import argparse
import gzip
import http.client
import json
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
MARKER = "/* festival-pg-exporter */"
FESTIVAL_ROLE = "festival_exporter"
PGE_ROLE = "postgres_exporter_bench"


def note(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


# --- a minimal PostgreSQL client ----------------------------------------------

class PgError(Exception):
    pass


class Pg:
    def __init__(self, port, db, user="postgres", app="bench", host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=60)
        self.sock.settimeout(None)
        self.rfile = self.sock.makefile("rb")
        params = b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                          for k, v in (("user", user), ("database", db), ("application_name", app))) + b"\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self.ready = False
        self._until_ready()
        self.ready = True

    def _message(self):
        head = self.rfile.read(5)
        if len(head) < 5:
            raise PgError("the server closed the connection")
        (length,) = struct.unpack("!i", head[1:])
        return head[:1], self.rfile.read(length - 4)

    def _until_ready(self):
        rows, error = [], None
        while True:
            kind, body = self._message()
            if kind == b"R":
                (code,) = struct.unpack("!i", body[:4])
                if code != 0:
                    raise PgError(f"authentication method {code} requested; the bench cluster uses trust")
            elif kind == b"D":
                (count,) = struct.unpack("!h", body[:2])
                pos, row = 2, []
                for _ in range(count):
                    (n,) = struct.unpack("!i", body[pos:pos + 4])
                    pos += 4
                    if n < 0:
                        row.append(None)
                    else:
                        row.append(body[pos:pos + n].decode())
                        pos += n
                rows.append(row)
            elif kind == b"E":
                fields = {f[:1].decode(): f[1:].decode(errors="replace") for f in body.split(b"\0") if f}
                error = fields.get("M", "error")
                if not self.ready:
                    raise PgError(error)
            elif kind == b"Z":
                if error:
                    raise PgError(error)
                return rows

    def query(self, sql):
        data = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", 4 + len(data)) + data)
        return self._until_ready()

    def value(self, sql):
        return self.query(sql)[0][0]

    def send(self, sql):
        """Sends a statement and never reads its answer (a session left active or waiting)."""
        data = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", 4 + len(data)) + data)

    def close(self):
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()


# --- the 150 client sessions -----------------------------------------------------

SESSION_MIX = (("idle", 60), ("idle in transaction", 38), ("lock holders", 2), ("active pg_sleep", 40),
               ("waiting on locks", 10))


def cmd_sessions(args):
    """60 idle, 40 idle in transaction (2 of them holding the locks), 40 active
    (pg_sleep) and 10 waiting on locks: 5 on the ACCESS EXCLUSIVE lock of
    bench_locks.hot, 5 on a row of bench_locks.counter. Prints `ready` once
    the server shows them so, then holds them until SIGTERM."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conns = []

    def session():
        conn = Pg(args.port, args.db, app="festival-app")
        conns.append(conn)
        return conn

    for _ in range(60):
        session().query("SELECT 1")
    for _ in range(38):
        session().query("BEGIN; SELECT 1")
    session().query("BEGIN; LOCK TABLE bench_locks.hot IN ACCESS EXCLUSIVE MODE")
    session().query("BEGIN; UPDATE bench_locks.counter SET n = n + 1 WHERE id = 1")
    for _ in range(40):
        session().send("SELECT pg_sleep(86400)")
    for _ in range(5):
        session().send("SELECT count(*) FROM bench_locks.hot")
    for _ in range(5):
        session().send("UPDATE bench_locks.counter SET n = n + 1 WHERE id = 1")
    control = Pg(args.port, args.db, app="bench")
    deadline = time.monotonic() + 60
    while True:
        state = control.query(
            "SELECT count(*) FILTER (WHERE state = 'idle'),"
            " count(*) FILTER (WHERE state = 'idle in transaction'),"
            " count(*) FILTER (WHERE state = 'active' AND wait_event = 'PgSleep'),"
            " count(*) FILTER (WHERE wait_event_type = 'Lock'), count(*)"
            " FROM pg_stat_activity WHERE application_name = 'festival-app'")[0]
        if [int(v) for v in state] == [60, 40, 40, 10, 150]:
            break
        if time.monotonic() > deadline:
            sys.exit(f"bench sessions: the sessions did not settle (idle, idle in transaction,"
                     f" sleeping, waiting, all: {state})")
        time.sleep(0.2)
    control.close()
    print("ready", flush=True)
    while True:
        signal.pause()


# --- processes, HTTP, /proc ---------------------------------------------------------

CHILDREN = []


def pid_file_add(pid):
    path = os.environ.get("BENCH_PID_FILE")
    if path:
        with open(path, "a") as f:
            f.write(f"{pid}\n")


def stop_children():
    for proc in CHILDREN:
        if proc.poll() is None:
            proc.terminate()
    for proc in CHILDREN:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    CHILDREN.clear()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def http_get(addr, path="/metrics", timeout=900, gzip_ok=True):
    """GET as Prometheus does (Accept-Encoding: gzip unless gzip_ok is False):
    (seconds to the last byte, the body as text, the bytes on the wire)."""
    host, port = addr.rsplit(":", 1)
    started = time.perf_counter()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip_ok else {})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    if resp.status != 200:
        raise RuntimeError(f"GET http://{addr}{path}: HTTP {resp.status}: {raw[:300]!r}")
    body = gzip.decompress(raw) if resp.getheader("Content-Encoding") == "gzip" else raw
    return elapsed, body, len(raw)


def series_count(body):
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    comments = body.count(b"\n#") + (1 if body.startswith(b"#") else 0)
    return lines - comments


def metric_values(body, name):
    """{label text: value} of the series of one family (labels as written)."""
    pat = re.compile(rb"^" + re.escape(name.encode()) + rb"(\{[^}]*\})? (\S+)", re.M)
    return {(m[1] or b"").decode(): float(m[2]) for m in pat.finditer(body)}


def collector_label(labels):
    m = re.search(r'collector="([^"]+)"', labels)
    return m[1] if m else labels


class Exporter:
    def __init__(self, kind, cmd, env, log_path):
        self.kind, self.log_path = kind, log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        CHILDREN.append(self.proc)
        pid_file_add(self.proc.pid)
        self.pid = self.proc.pid

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def wait_listening(self, addr=None):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}: {self.log_tail()}")
            if addr is None:
                with open(self.log_path, "rb") as f:
                    m = re.search(rb"msg=listening address=(\S+)", f.read())
                if m:
                    self.addr = m[1].decode()
                    return
            else:
                try:
                    http_get(addr, "/", timeout=5)
                    self.addr = addr
                    return
                except (OSError, RuntimeError):
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start listening: {self.log_tail()}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc in CHILDREN:
            CHILDREN.remove(self.proc)
        self.log.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    """Nearest-rank quantile."""
    s = sorted(values)
    if not s:
        return None
    rank = min(max(int(-(-q * len(s) // 1)), 1), len(s))
    return s[rank - 1]


# --- database time from pg_stat_statements ---------------------------------------

class Stats:
    def __init__(self, port, db):
        self.pg = Pg(port, db, app="bench-stats")

    def reset(self, role):
        self.pg.query(f"SELECT pg_stat_statements_reset((SELECT oid FROM pg_roles WHERE rolname = '{role}'), 0, 0)")

    def _where(self, role):
        where = f"s.userid = (SELECT oid FROM pg_roles WHERE rolname = '{role}')"
        if role == FESTIVAL_ROLE:
            where += f" AND left(s.query, {len(MARKER)}) = '{MARKER}'"
        return where

    def total(self, role):
        """(milliseconds of execution + planning, calls) of the role's statements."""
        ms, calls = self.pg.query(
            "SELECT coalesce(sum(total_exec_time + total_plan_time), 0), coalesce(sum(calls), 0)"
            f" FROM pg_stat_statements s WHERE {self._where(role)}")[0]
        return float(ms), int(calls)

    def calls_like(self, role, needle):
        return int(self.pg.value(
            f"SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s WHERE {self._where(role)}"
            f" AND strpos(s.query, '{needle}') > 0"))

    def statements(self, role):
        rows = self.pg.query(
            "SELECT query, sum(calls), sum(total_exec_time), sum(total_plan_time)"
            f" FROM pg_stat_statements s WHERE {self._where(role)} GROUP BY query ORDER BY 3 DESC")
        return [(q, int(c), float(e), float(p)) for q, c, e, p in rows]


def query_files(queries_dir):
    out = {}
    for name in sorted(os.listdir(queries_dir)):
        if name.endswith(".sql"):
            with open(os.path.join(queries_dir, name)) as f:
                out[name] = f.read()
    return out


def statement_name(text, files):
    """The queries/*.sql file a festival statement came from (longest common prefix)."""
    body = text[len(MARKER):].lstrip()
    best, best_len = None, 0
    for name, sql in files.items():
        n = 0
        for a, b in zip(body, sql.lstrip()):
            if a != b:
                break
            n += 1
        if n > best_len:
            best, best_len = name, n
    return best if best_len >= 40 else " ".join(body.split())[:60]


def short_sql(text):
    return " ".join(text.split())[:70]


# --- the phases ---------------------------------------------------------------------

def sequential(exp, stats, role, scrapes, warmup, festival):
    for _ in range(warmup):
        http_get(exp.addr)
    stats.reset(role)
    cpu0 = cpu_seconds(exp.pid)
    lat, sizes, wire, series, durations, cache_ages, counters = [], [], [], [], {}, {}, []
    for _ in range(scrapes):
        dt, body, on_wire = http_get(exp.addr)
        lat.append(dt)
        sizes.append(len(body))
        wire.append(on_wire)
        series.append(series_count(body))
        if festival:
            for labels, v in metric_values(body, "pg_scrape_collector_duration_seconds").items():
                durations.setdefault(collector_label(labels), []).append(v)
            for labels, v in metric_values(body, "pg_scrape_collector_cache_age_seconds").items():
                cache_ages.setdefault(collector_label(labels), []).append(v)
            counters.append(metric_values(body, "pg_exporter_scrapes_total").get("", -1))
        else:
            for labels, v in metric_values(body, "pg_exporter_last_scrape_duration_seconds").items():
                durations.setdefault("collection (pg_exporter_last_scrape_duration_seconds)", []).append(v)
    cpu = cpu_seconds(exp.pid) - cpu0
    db_ms, calls = stats.total(role)
    return {
        "scrapes": scrapes,
        "median": pct(lat, 0.5), "p95": pct(lat, 0.95), "min": min(lat), "max": max(lat),
        "cpu_per_scrape": cpu / scrapes, "cpu_share": cpu / sum(lat),
        "rss_peak": proc_status(exp.pid, "VmHWM"), "rss_now": proc_status(exp.pid, "VmRSS"),
        "bytes": pct(sizes, 0.5), "wire_bytes": pct(wire, 0.5), "series": pct(series, 0.5),
        "db_ms_per_scrape": db_ms / scrapes, "calls_per_scrape": calls / scrapes,
        "collector_median": {k: pct(v, 0.5) for k, v in durations.items()},
        "cache_age_max": {k: max(v) for k, v in cache_ages.items()},
        "collections": (counters[-1] - counters[0] + 1) if counters and counters[0] >= 0 else None,
        "load": os.getloadavg()[0],
    }


def concurrent_get(addr, n, path="/metrics", timeout=900):
    """n GET requests on n connections opened beforehand, sent back to back
    from one thread and read with a selector, so the client adds little work
    of its own; per request: (seconds from the first send to the last byte,
    HTTP status, body bytes, pg_exporter_scrapes_total or None)."""
    host, port = addr.rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), timeout=30) for _ in range(n)]
    request = f"GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    counter_re = re.compile(rb"\npg_exporter_scrapes_total (\S+)\n")
    state = [{"chunks": [], "bytes": 0, "done": None} for _ in range(n)]
    started = time.perf_counter()
    for i, s in enumerate(socks):
        s.sendall(request)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, i)
    left = n
    try:
        while left:
            events = sel.select(timeout=max(0.0, started + timeout - time.perf_counter()))
            if not events:
                raise RuntimeError(f"{left} of {n} concurrent requests unanswered after {timeout} s")
            for key, _ in events:
                i, st = key.data, state[key.data]
                try:
                    chunk = key.fileobj.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                if chunk:
                    st["bytes"] += len(chunk)
                    st["chunks"].append(chunk)
                else:
                    st["done"] = time.perf_counter() - started
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    left -= 1
    finally:
        for s in socks:
            s.close()
        sel.close()
    out = []
    for st in state:
        raw = b"".join(st["chunks"])
        head, _, body = raw.partition(b"\r\n\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d+)", head)
        if re.search(rb"(?im)^transfer-encoding: *chunked", head):
            body = dechunk(body)
        if re.search(rb"(?im)^content-encoding: *gzip", head):
            body = gzip.decompress(body)
        c = counter_re.search(body)
        out.append((st["done"], int(m[1]) if m else None, st["bytes"], float(c[1]) if c else None))
    return out


def dechunk(body):
    """An HTTP/1.1 chunked body (postgres_exporter's) as its bytes."""
    out, at = [], 0
    while True:
        eol = body.index(b"\r\n", at)
        size = int(body[at:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(body[eol + 2:eol + 2 + size])
        at = eol + 2 + size + 2


def waves(exp, stats, role, n_waves, concurrency, marker, festival, rss_limit):
    out = []
    for w in range(n_waves):
        db0, _ = stats.total(role)
        m0 = stats.calls_like(role, marker)
        cpu0 = cpu_seconds(exp.pid)
        result, peak, killed = {}, [0], [False]

        def watch():
            while "r" not in result:
                try:
                    rss = proc_status(exp.pid, "VmRSS")
                except OSError:
                    return
                peak[0] = max(peak[0], rss)
                if rss_limit and rss > rss_limit and not killed[0]:
                    note(f"{exp.kind}: RSS {rss >> 20} MiB above BENCH_RSS_LIMIT_MB during a wave: killing it")
                    killed[0] = True
                    exp.proc.kill()
                    return
                time.sleep(0.05)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            result["r"] = concurrent_get(exp.addr, concurrency)
            error = None
        except Exception as e:  # noqa: BLE001 - reported per wave
            result["r"], error = [], f"{type(e).__name__}: {e}"
        watcher.join()
        try:
            cpu = cpu_seconds(exp.pid) - cpu0
        except OSError:
            cpu = None
        res = result["r"]
        lat = [r[0] for r in res if r[1] == 200]
        errors = (concurrency - len(lat))
        db1, _ = stats.total(role)
        m1 = stats.calls_like(role, marker)
        wave = {
            "wave": w + 1, "ok": len(lat), "errors": errors,
            "error": error or next((f"HTTP {r[1]}" for r in res if r[1] != 200), None),
            "p50": pct(lat, 0.5), "p95": pct(lat, 0.95), "max": max(lat) if lat else None,
            "db_ms": db1 - db0, "collections_db": m1 - m0, "rss_peak_sampled": peak[0], "killed": killed[0],
            "cpu": cpu, "bytes": sum(r[2] for r in res),
        }
        if festival:
            wave["collections_counter"] = len({r[3] for r in res if r[3] is not None})
        out.append(wave)
        note(f"{exp.kind} wave {w + 1}: p50 {fmt_s(wave['p50'])}, {wave['collections_db']} collection(s),"
             f" DB {wave['db_ms']:.0f} ms, CPU {fmt_s(cpu)}, {errors} error(s)")
        if killed[0]:
            break
        time.sleep(1)
    return out


def baseline(bin_, env, rounds, extra, stats, warmup):
    """sql-baseline with warm-up + measured rounds in ONE process (one session,
    so the measured rounds find the session's caches warm as a long-running
    exporter does); the database time of the measured rounds is the growth of
    pg_stat_statements after the last warm-up round's line."""
    cmd = [bin_, *extra, "sql-baseline", "--rounds", str(warmup + rounds)]
    stats.reset(FESTIVAL_ROLE)
    db0 = (0.0, 0)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    CHILDREN.append(proc)
    pid_file_add(proc.pid)
    rows = []
    for raw in proc.stdout:
        line = raw.decode()
        if line.startswith("round="):
            row = dict(kv.split("=", 1) for kv in line.split())
            if int(row["round"]) == warmup:
                db0 = stats.total(FESTIVAL_ROLE)
            if int(row["round"]) > warmup:
                rows.append(row)
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    CHILDREN.remove(proc)
    if proc.returncode != 0 or len(rows) != rounds:
        raise RuntimeError(f"sql-baseline exited with {proc.returncode}: {err.strip()}")
    walls = [float(r["wall_seconds"]) for r in rows]
    cpus = [float(r["cpu_seconds"]) for r in rows]
    failed = max(int(r.get("failed_collectors", 0)) for r in rows)
    db_ms, calls = stats.total(FESTIVAL_ROLE)
    return {
        "scrapes": rounds, "median": pct(walls, 0.5), "p95": pct(walls, 0.95), "min": min(walls), "max": max(walls),
        "cpu_per_scrape": sum(cpus) / rounds, "cpu_share": sum(cpus) / sum(walls),
        "rss_peak": usage.ru_maxrss * 1024, "bytes": None,
        "series": pct([int(r["samples"]) for r in rows], 0.5),
        "db_ms_per_scrape": (db_ms - db0[0]) / rounds, "calls_per_scrape": (calls - db0[1]) / rounds,
        "failed_collectors": failed, "load": os.getloadavg()[0],
    }


# The phases that measure on every scrape what a default scrape measures at
# most every 5 minutes: database sizes (--collector.database.size-interval) and
# bloat (--collector.bloat.min-interval).
EVERY_SCRAPE = ("database sizes every scrape (bloat 5m)", "bloat every scrape (database sizes 5m)")


# festival-pg-exporter limited to the data postgres_exporter 0.11 with the example
# queries.yaml delivers on PostgreSQL 13+ (whose pg_stat_statements query fails
# there on a column renamed in 13): no per-table sizes, autovacuum policy,
# per-index statistics, partitions, health, bloat or statements.
COMPARABLE = ["--no-collector.sizes", "--no-collector.autovacuum", "--no-collector.stat_user_indexes",
              "--no-collector.partitions", "--no-collector.health", "--no-collector.bloat",
              "--no-collector.stat_statements"]


def cmd_measure(args):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = measure(args)
    finally:
        stop_children()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


def measure(a):
    stats = Stats(a.port, a.db)
    files = query_files(a.queries_dir)
    fe_dsn = f"postgresql://{FESTIVAL_ROLE}@127.0.0.1:{a.port}/{a.db}?sslmode=disable"
    pge_dsn = f"postgresql://{PGE_ROLE}@127.0.0.1:{a.port}/{a.db}?sslmode=disable"
    fe_env = {"PATH": os.environ["PATH"], "DATA_SOURCE_NAME": fe_dsn}
    pge_env = {"PATH": os.environ["PATH"], "DATA_SOURCE_NAME": pge_dsn}
    res = {"size": a.size, "scrapes": a.scrapes, "warmup": a.warmup, "concurrency": a.concurrency}
    fixture = stats.pg.query(
        "SELECT (SELECT count(*) FROM pg_stat_user_tables),"
        " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "   WHERE c.relkind = 'r' AND n.nspname LIKE 'app\\_%'),"
        " (SELECT count(*) FROM pg_inherits),"
        " (SELECT count(*) FROM pg_class),"
        " (SELECT count(*) FROM pg_stat_statements WHERE userid = 10),"
        " (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-app'),"
        " (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'),"
        " pg_database_size(current_database())")[0]
    res["fixture"] = dict(zip(("user_tables", "app_tables", "partitions", "pg_class", "statements", "sessions",
                               "waiting", "db_bytes"), (int(v) for v in fixture)))
    res["fixture"]["build_seconds"] = a.fixture_seconds
    note(f"{a.size}: {res['fixture']}")

    def festival(extra, log):
        exp = Exporter("festival-pg-exporter", [a.exporter, "--web.listen-address", "127.0.0.1:0", *extra],
                       fe_env, os.path.join(a.tmp, log))
        exp.wait_listening()
        return exp

    def pge(queries, log):
        port = free_port()
        exp = Exporter("postgres_exporter", [a.pge, f"--web.listen-address=127.0.0.1:{port}",
                                             f"--extend.query-path={queries}"], pge_env, os.path.join(a.tmp, log))
        exp.wait_listening(f"127.0.0.1:{port}")
        return exp

    # (a) festival-pg-exporter: sequential scrapes, then the concurrent waves.
    note(f"{a.size}: festival-pg-exporter, {a.warmup} warm-up + {a.scrapes} scrapes")
    exp = festival([], f"festival-{a.size}.log")
    res["festival"] = sequential(exp, stats, FESTIVAL_ROLE, a.scrapes, a.warmup, True)
    res["festival"]["statements"] = [
        (statement_name(q, files), c / a.scrapes, (e + p) / a.scrapes) for q, c, e, p in stats.statements(FESTIVAL_ROLE)]
    note(f"{a.size}: festival-pg-exporter, {a.waves} waves of {a.concurrency} concurrent scrapes")
    res["festival_waves"] = waves(exp, stats, FESTIVAL_ROLE, a.waves, a.concurrency, "pg_postmaster_start_time()",
                                  True, a.rss_limit)
    res["festival_waves_rss_peak"] = proc_status(exp.pid, "VmHWM")
    exp.stop()

    note(f"{a.size}: festival-pg-exporter, postgres_exporter's coverage: {' '.join(COMPARABLE)}")
    exp = festival(COMPARABLE, f"festival-cmp-{a.size}.log")
    res["festival_cmp"] = sequential(exp, stats, FESTIVAL_ROLE, a.scrapes, a.warmup, True)
    exp.stop()

    # (b) the limit: the same SQL on one session, no HTTP, no encoding. bloat is
    # left out of the main row because a default scrape serves it from its 5m cache.
    note(f"{a.size}: limit (sql-baseline --no-collector.bloat), {a.warmup} + {a.scrapes} rounds")
    res["limit"] = baseline(a.exporter, fe_env, a.scrapes, ["--no-collector.bloat"], stats, a.warmup)
    res["limit"]["statements"] = [
        (statement_name(q, files), c / (a.scrapes + a.warmup), (e + p) / (a.scrapes + a.warmup))
        for q, c, e, p in stats.statements(FESTIVAL_ROLE)]
    note(f"{a.size}: limit with bloat (sql-baseline), {a.warmup} + {a.scrapes} rounds")
    res["limit_bloat"] = baseline(a.exporter, fe_env, a.scrapes, [], stats, a.warmup)

    # (c) postgres_exporter with Debian's example queries.yaml.
    note(f"{a.size}: postgres_exporter, {a.warmup} warm-up + {a.scrapes} scrapes")
    exp = pge(a.pge_queries, f"pge-{a.size}.log")
    res["pge"] = sequential(exp, stats, PGE_ROLE, a.scrapes, a.warmup, False)
    res["pge"]["statements"] = [(short_sql(q), c / a.scrapes, (e + p) / a.scrapes) for q, c, e, p in stats.statements(PGE_ROLE)]
    with open(os.path.join(a.tmp, f"pge-{a.size}.log"), "rb") as f:
        res["pge"]["log_errors"] = sorted({m.decode().replace('\\"', '"') for m in re.findall(rb'err="((?:[^"\\]|\\.){0,200})', f.read())})
    note(f"{a.size}: postgres_exporter, {a.waves} waves of {a.concurrency} concurrent scrapes")
    res["pge_waves"] = waves(exp, stats, PGE_ROLE, a.waves, a.concurrency, "pg_statio_user_tables", False, a.rss_limit)
    exp.stop()

    if a.pge_queries_pg13:
        note(f"{a.size}: postgres_exporter with the queries.yaml adapted to PostgreSQL 13+ column names")
        exp = pge(a.pge_queries_pg13, f"pge13-{a.size}.log")
        res["pge13"] = sequential(exp, stats, PGE_ROLE, a.scrapes, a.warmup, False)
        exp.stop()

    # Memory over many consecutive scrapes.
    if a.soak:
        note(f"{a.size}: festival-pg-exporter, {a.soak} consecutive scrapes for the memory check")
        exp = festival([], f"festival-soak-{a.size}.log")
        for _ in range(a.warmup):
            http_get(exp.addr)
        points = [(0, proc_status(exp.pid, "VmRSS"))]
        lat = []
        step = max(1, a.soak // 10)
        for i in range(1, a.soak + 1):
            lat.append(http_get(exp.addr)[0])
            if i % step == 0 or i == a.soak:
                points.append((i, proc_status(exp.pid, "VmRSS")))
        res["soak"] = {"scrapes": a.soak, "rss": points, "rss_peak": proc_status(exp.pid, "VmHWM"),
                       "median": pct(lat, 0.5), "p95": pct(lat, 0.95)}
        exp.stop()

    # Minimum refresh intervals of the expensive collectors.
    if a.min_interval:
        res["min_interval"] = {}
        for label, extra in (("sizes 1m (database sizes, bloat 5m: the default)", ["--collector.sizes.min-interval=1m"]),
                             (EVERY_SCRAPE[0], ["--collector.database.size-interval=0s"]),
                             (EVERY_SCRAPE[1], ["--collector.bloat.min-interval=0s"])):
            note(f"{a.size}: festival-pg-exporter {' '.join(extra)}")
            stats.reset(FESTIVAL_ROLE)
            exp = festival(extra, f"festival-mi-{len(res['min_interval'])}-{a.size}.log")
            first = http_get(exp.addr)[0]
            first_db_ms = stats.total(FESTIVAL_ROLE)[0]
            r = sequential(exp, stats, FESTIVAL_ROLE, a.scrapes, max(0, a.warmup - 1), True)
            r["first_scrape"], r["first_db_ms"] = first, first_db_ms
            r["flags"] = " ".join(extra)
            res["min_interval"][label] = r
            exp.stop()
    return res


# --- the report ------------------------------------------------------------------------

def fmt_s(v):
    if v is None:
        return "-"
    if v >= 10:
        return f"{v:.1f} s"
    if v >= 1:
        return f"{v:.2f} s"
    if v >= 0.01:
        return f"{v * 1000:.0f} ms"
    return f"{v * 1000:.1f} ms"


def fmt_ms(v):
    return "-" if v is None else fmt_s(v / 1000)


def fmt_b(v):
    if v is None:
        return "-"
    if v >= 1 << 20:
        return f"{v / (1 << 20):.1f} MiB"
    if v >= 1 << 10:
        return f"{v / (1 << 10):.0f} KiB"
    return f"{v} B"


def fmt_n(v):
    return "-" if v is None else f"{v:,}"


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def table(headers, rows, align=None):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    align = align or ["<"] + [">"] * (len(headers) - 1)
    out = ["  ".join(f"{h:{a}{w}}" for h, a, w in zip(headers, align, widths))]
    out.append("  ".join("-" * w for w in widths))
    for r in rows:
        out.append("  ".join(f"{str(x):{a}{w}}" for x, a, w in zip(r, align, widths)))
    return "\n".join(out)


ROWS = (("festival", "festival-pg-exporter"), ("festival_cmp", "festival, pge's coverage"), ("limit", "limit (sql-baseline, no bloat)"),
        ("limit_bloat", "limit incl. bloat"), ("pge", "postgres_exporter 0.11"),
        ("pge13", "postgres_exporter, PG13+ queries"))


def main_row(name, r):
    return [name, fmt_s(r["median"]), fmt_s(r["p95"]), fmt_s(r["cpu_per_scrape"]), f"{100 * r['cpu_share']:.0f}%",
            fmt_b(r["rss_peak"]), fmt_b(r.get("wire_bytes")), fmt_b(r["bytes"]), fmt_n(r["series"]),
            fmt_ms(r["db_ms_per_scrape"])]


def wave_summary(ws):
    ok = [w for w in ws if w["p50"] is not None]
    if not ok:
        return None
    return {
        "p50": pct([w["p50"] for w in ok], 0.5), "max": max(w["max"] for w in ok),
        "db_ms": sum(w["db_ms"] for w in ok) / len(ok),
        "collections_db": [w["collections_db"] for w in ws],
        "collections_counter": [w.get("collections_counter") for w in ws],
        "errors": sum(w["errors"] for w in ws), "killed": any(w["killed"] for w in ws),
        "rss_peak": max(w["rss_peak_sampled"] for w in ws),
        "cpu": pct([w["cpu"] for w in ok if w.get("cpu") is not None], 0.5),
    }


def report_size(r, lines):
    f = r["fixture"]
    lines.append("")
    lines.append(f"== {r['size']}: {f['app_tables']:,} tables + {f['partitions']:,} partitions"
                 f" ({f['user_tables']:,} in pg_stat_user_tables, {f['pg_class']:,} pg_class rows,"
                 f" {fmt_b(f['db_bytes'])}), {f['statements']:,} statements, {f['sessions']} sessions"
                 f" ({f['waiting']} waiting on locks); fixture built in {f['build_seconds']:.0f} s;"
                 f" {r['scrapes']} scrapes after {r['warmup']} warm-up; load average {load_range(r)} ==")
    rows = [main_row(name, r[key]) for key, name in ROWS if key in r]
    lines.append(table(["", "median", "p95", "CPU/scrape", "CPU % wall", "peak RSS", "bytes on wire (gzip)",
                        "bytes (text)", "series", "DB time/scrape"], rows))
    fe, lim, pg = r["festival"], r["limit"], r["pge"]
    lines.append(f"exporter / limit (median): {ratio(fe['median'], lim['median'])}"
                 f"  (/ limit incl. bloat: {ratio(fe['median'], r['limit_bloat']['median'])});"
                 f"  DB time exporter / limit: {ratio(fe['db_ms_per_scrape'], lim['db_ms_per_scrape'])}")
    lines.append(f"postgres_exporter / festival-pg-exporter: median {ratio(pg['median'], fe['median'])},"
                 f" DB time {ratio(pg['db_ms_per_scrape'], fe['db_ms_per_scrape'])},"
                 f" CPU {ratio(pg['cpu_per_scrape'], fe['cpu_per_scrape'])},"
                 f" peak RSS {ratio(pg['rss_peak'], fe['rss_peak'])}")
    if "festival_cmp" in r:
        lines.append(f"postgres_exporter / festival-pg-exporter with postgres_exporter's coverage"
                     f" ({' '.join(COMPARABLE)}): median {ratio(pg['median'], r['festival_cmp']['median'])},"
                     f" DB time {ratio(pg['db_ms_per_scrape'], r['festival_cmp']['db_ms_per_scrape'])}")
    if "pge13" in r:
        lines.append(f"postgres_exporter with PG13+ queries (all {r['fixture']['statements']:,} statements)"
                     f" / festival-pg-exporter (default, top 100 statements): median {ratio(r['pge13']['median'], fe['median'])},"
                     f" DB time {ratio(r['pge13']['db_ms_per_scrape'], fe['db_ms_per_scrape'])}")
    if pg.get("log_errors"):
        lines.append(f"postgres_exporter logged: {'; '.join(pg['log_errors'][:3])}")
    lines.append("")
    lines.append(f"{r['concurrency']} concurrent scrapers, {len(r['festival_waves'])} waves each:")
    rows = []
    for key, name in (("festival_waves", "festival-pg-exporter"), ("pge_waves", "postgres_exporter 0.11")):
        s = wave_summary(r[key])
        lone = r["festival" if key == "festival_waves" else "pge"]["median"]
        if s is None:
            rows.append([name, "-", "-", "-", "-", "-", "-", "-"])
            continue
        coll = "/".join(str(c) for c in s["collections_db"])
        if key == "festival_waves":
            coll += " (counter: " + "/".join(str(c) for c in s["collections_counter"]) + ")"
        rows.append([name, fmt_s(s["p50"]), ratio(s["p50"], lone), fmt_s(s["max"]), fmt_ms(s["db_ms"]),
                     fmt_s(s["cpu"]), coll, fmt_b(s["rss_peak"]),
                     f"{s['errors']}" + (" (killed: RSS limit)" if s["killed"] else "")])
    lines.append(table(["", "p50", "p50 / lone median", "slowest", "DB time/wave", "CPU/wave",
                        "collections per wave", "RSS during waves", "errors"], rows))
    lines.append("")
    lines.append("festival-pg-exporter, where the time goes (median pg_scrape_collector_duration_seconds;"
                 " DB time per scrape from pg_stat_statements):")
    by_file = {}
    for name, calls, ms in fe["statements"]:
        by_file[name] = (by_file.get(name, (0, 0))[0] + calls, by_file.get(name, (0, 0))[1] + ms)
    cols = sorted(fe["collector_median"].items(), key=lambda kv: -kv[1])
    lines.append("  collectors: " + ", ".join(f"{k} {fmt_s(v)}" for k, v in cols))
    lim_by_file = {}
    for name, calls, ms in r["limit"].get("statements", []):
        lim_by_file[name] = lim_by_file.get(name, 0) + ms
    top = sorted(by_file.items(), key=lambda kv: -kv[1][1])[:10]
    lines.append("  statements (limit's DB time per round in brackets): " + ", ".join(
        f"{k} {fmt_ms(v[1])} ({fmt_ms(lim_by_file.get(k))})" for k, v in top))
    lines.append("postgres_exporter statements: " + ", ".join(
        f"{q[:40]}... {fmt_ms(ms)}" for q, _, ms in sorted(pg["statements"], key=lambda s: -s[2])[:4]))


def report(results):
    lines = []
    for r in results:
        report_size(r, lines)
    if len(results) > 1:
        lines.append("")
        lines.append("== growth " + " -> ".join(r["size"] for r in results) + " ==")
        rows = []
        tables = [r["fixture"]["user_tables"] for r in results]
        rows.append(["user tables"] + [fmt_n(t) for t in tables] + step_ratios(tables))
        for key, name in (("festival", "festival-pg-exporter"), ("limit", "limit"), ("pge", "postgres_exporter")):
            for metric, label, f in (("median", "median", fmt_s), ("cpu_per_scrape", "CPU/scrape", fmt_s),
                                     ("db_ms_per_scrape", "DB time/scrape", fmt_ms), ("rss_peak", "peak RSS", fmt_b),
                                     ("series", "series", fmt_n)):
                vals = [r[key][metric] for r in results]
                if None in vals:
                    continue
                rows.append([f"{name} {label}"] + [f(v) for v in vals] + step_ratios(vals))
        for key, name in (("festival", "festival-pg-exporter"), ("limit", "limit"), ("pge", "postgres_exporter")):
            marg = [1000 * (b[key]["median"] - a[key]["median"]) / (b["fixture"]["user_tables"] - a["fixture"]["user_tables"])
                    for a, b in zip(results, results[1:]) if b["fixture"]["user_tables"] != a["fixture"]["user_tables"]]
            if len(marg) == len(results) - 1:
                rows.append([f"{name} median per 1,000 extra tables"] + ["" for _ in results] + [fmt_s(m) for m in marg])
        heads = [""] + [r["size"] for r in results] + [f"{a['size']}->{b['size']}" for a, b in zip(results, results[1:])]
        lines.append(table(heads, rows))
        lines.append("(a growth ratio at or below the user-table ratio of the same step is linear or better)")
    for r in results:
        if r.get("soak"):
            s = r["soak"]
            pts = ", ".join(f"{i}: {fmt_b(v)}" for i, v in s["rss"])
            lines.append("")
            lines.append(f"== memory over {s['scrapes']:,} consecutive scrapes ({r['size']}) ==")
            lines.append(f"RSS after scrape n: {pts}; peak {fmt_b(s['rss_peak'])};"
                         f" growth start -> end {fmt_b(s['rss'][-1][1] - s['rss'][0][1])};"
                         f" scrape median {fmt_s(s['median'])}, p95 {fmt_s(s['p95'])}")
        if r.get("min_interval"):
            lines.append("")
            lines.append(f"== minimum refresh intervals ({r['size']}) ==")
            rows = [["default (sizes every scrape, database sizes and bloat 5m)", fmt_s(r["festival"]["median"]),
                     fmt_s(r["festival"]["p95"]), fmt_ms(r["festival"]["db_ms_per_scrape"]),
                     fmt_s(r["festival"]["cpu_per_scrape"]), "-",
                     cache_text(r["festival"]["cache_age_max"])]]
            for label, m in r["min_interval"].items():
                rows.append([f"{label}: {m['flags']}", fmt_s(m["median"]), fmt_s(m["p95"]), fmt_ms(m["db_ms_per_scrape"]),
                             fmt_s(m["cpu_per_scrape"]), fmt_s(m["first_scrape"]), cache_text(m["cache_age_max"])])
            lines.append(table(["festival-pg-exporter", "median", "p95", "DB time/scrape", "CPU/scrape",
                                "first scrape", "max cache age seen"], rows))
    lines.append("")
    lines.append("== targets (informative, never asserted) ==")
    big = results[-1]
    fe, lim, pg = big["festival"], big["limit"], big["pge"]
    ws = wave_summary(big["festival_waves"])
    soak = next((r["soak"] for r in results if r.get("soak")), None)
    checks = [
        (f"scrape <= 1.25 x limit ({big['size']})", f"{fe['median'] / lim['median']:.2f}x", fe["median"] <= 1.25 * lim["median"]),
        (f"CPU <= 25% of wall ({big['size']})", f"{100 * fe['cpu_share']:.0f}%", fe["cpu_share"] <= 0.25),
        (f">= 3 x faster than postgres_exporter, default collectors ({big['size']})",
         f"{pg['median'] / fe['median']:.2f}x", pg["median"] >= 3 * fe["median"]),
        (f"less DB time than postgres_exporter, default collectors ({big['size']})",
         f"{fmt_ms(fe['db_ms_per_scrape'])} vs {fmt_ms(pg['db_ms_per_scrape'])}", fe["db_ms_per_scrape"] < pg["db_ms_per_scrape"]),
    ] + ([
        (f">= 3 x faster than postgres_exporter, its coverage ({big['size']})",
         f"{pg['median'] / big['festival_cmp']['median']:.2f}x", pg["median"] >= 3 * big["festival_cmp"]["median"]),
        (f"less DB time than postgres_exporter, its coverage ({big['size']})",
         f"{fmt_ms(big['festival_cmp']['db_ms_per_scrape'])} vs {fmt_ms(pg['db_ms_per_scrape'])}",
         big["festival_cmp"]["db_ms_per_scrape"] < pg["db_ms_per_scrape"]),
    ] if "festival_cmp" in big else []) + [
        (f"peak RSS <= 30 MB ({big['size']})", fmt_b(fe["rss_peak"]), fe["rss_peak"] <= 30e6),
    ]
    amortized = amortized_db_ms(big)
    if amortized is not None:
        checks.insert(4, (f"less DB time than postgres_exporter, default collectors at a 1m scrape interval ({big['size']})",
                          f"{fmt_ms(amortized)} vs {fmt_ms(pg['db_ms_per_scrape'])}", amortized < pg["db_ms_per_scrape"]))
    if ws:
        one = all(c == 1 for c in ws["collections_db"])
        checks.append((f"one collection per wave of {big['concurrency']} ({big['size']})",
                       "/".join(map(str, ws["collections_db"])), one))
        checks.append((f"wave p50 <= 1.5 x lone scrape ({big['size']})", f"{ws['p50'] / fe['median']:.2f}x",
                       ws["p50"] <= 1.5 * fe["median"]))
    if soak:
        grow = soak["rss"][-1][1] - soak["rss"][1][1] if len(soak["rss"]) > 2 else 0
        checks.append((f"memory flat over {soak['scrapes']} scrapes", f"{fmt_b(grow)} after the first 10%",
                       grow <= max(1 << 20, 0.05 * soak["rss"][1][1])))
    for a, b in zip(results, results[1:]):
        t = b["fixture"]["user_tables"] / a["fixture"]["user_tables"]
        g = b["festival"]["median"] / a["festival"]["median"]
        d = b["festival"]["db_ms_per_scrape"] / a["festival"]["db_ms_per_scrape"]
        checks.append((f"growth no worse than linear ({a['size']} -> {b['size']})",
                       f"latency x{g:.1f}, DB time x{d:.1f} for tables x{t:.1f}", g <= t and d <= t))
    rows = [[what, value, "met" if ok else "NOT met"] for what, value, ok in checks]
    lines.append(table(["target", "measured", ""], rows, ["<", ">", "<"]))
    return "\n".join(lines)


def amortized_db_ms(r):
    """Database time per scrape of the default collectors when Prometheus
    scrapes every minute (its default), which back-to-back scrapes do not
    show. Each cost is what a phase measuring it on every scrape spends above
    the default: (1) database sizes, measured every fifth scrape (due a
    twentieth of their 5 minutes early); (2) bloat, every sixth (a
    minimum interval is counted from the end of a run, so 5 minutes have not
    quite passed at the fifth); (3) sizes measures every table again after
    REMEASURE_AFTER (src/collectors/relation_sizes.rs) to twice that, spread
    by table, at the next scrape: each table on average every 1.5 times that
    plus half a minute, the cost of measuring them all being a fresh
    exporter's first scrape in the bloat phase minus that phase's steady
    scrape and database sizes (the first scrape's other one-offs stay in, so
    this errs high). None unless both phases ran."""
    phases = r.get("min_interval") or {}
    every = [phases[label] for label in EVERY_SCRAPE if label in phases]
    if len(every) != len(EVERY_SCRAPE):
        return None
    base = r["festival"]["db_ms_per_scrape"]
    database, bloat = (max(0.0, m["db_ms_per_scrape"] - base) for m in every)
    bloat_phase = every[1]
    all_tables = max(0.0, bloat_phase["first_db_ms"] - bloat_phase["db_ms_per_scrape"] - database)
    return base + database / 5 + bloat / 6 + all_tables / (1.5 * remeasure_minutes() + 0.5)


def remeasure_minutes():
    """REMEASURE_AFTER of src/collectors/relation_sizes.rs, in minutes."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "collectors", "relation_sizes.rs")
    with open(path) as f:
        found = re.search(r"REMEASURE_AFTER: Duration = Duration::from_secs\((\d+)\)", f.read())
    return int(found.group(1)) / 60


def load_range(r):
    loads = [v["load"] for v in r.values() if isinstance(v, dict) and "load" in v]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def cache_text(d):
    return ", ".join(f"{k} {v:.0f}s" for k, v in sorted(d.items())) or "-"


def step_ratios(vals):
    return [ratio(b, a) for a, b in zip(vals, vals[1:])]


def cmd_report(args):
    results = []
    for path in args.files:
        with open(path) as f:
            data = json.load(f)
        results.extend(data if isinstance(data, list) else [data])
    text = report(results)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sessions")
    s.add_argument("port", type=int)
    s.add_argument("db")
    m = sub.add_parser("measure")
    for name in ("size", "db", "exporter", "pge", "pge_queries", "queries_dir", "tmp", "out"):
        m.add_argument("--" + name.replace("_", "-"), required=True)
    m.add_argument("--pge-queries-pg13", default="")
    m.add_argument("--port", type=int, required=True)
    for name in ("scrapes", "warmup", "waves", "concurrency", "soak"):
        m.add_argument("--" + name, type=int, required=True)
    m.add_argument("--rss-limit", type=int, default=0)
    m.add_argument("--fixture-seconds", type=float, default=0)
    m.add_argument("--min-interval", action="store_true")
    r = sub.add_parser("report")
    r.add_argument("files", nargs="+")
    r.add_argument("--json", default="")
    args = p.parse_args()
    {"sessions": cmd_sessions, "measure": cmd_measure, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
