#!/usr/bin/env python3
"""Checks docker/ and deploy/kubernetes/ as far as possible without Docker or a cluster.

- docker/compose.yml parses, has the festival-ops services, and every host
  path a service mounts (bind mounts, secret files, build context) exists;
- PostgreSQL preloads pg_stat_statements and initialises the festival schema;
  the exporter's DSN carries no password, which comes from a secret file;
- TLS: PostgreSQL serves docker/tls/server.crt with its key (copied private
  before the server starts), and the exporter's DSN asks for verify-full
  against the mounted CA: a TLS handshake in memory with those files and the
  DSN's host name must succeed, and the certificate must be valid 90 more days;
- Grafana: the datasource uid the dashboards use is provisioned, and the
  dashboard provider reads the directory where ../dashboards is mounted, which
  holds the shipped dashboards;
- Prometheus: docker/prometheus/prometheus.yml passes `promtool check config`,
  run on a temporary copy laid out as the container sees it (so the shipped
  rules in alerts/ are loaded and checked too), and scrapes the exporter;
- Alertmanager: `amtool check-config` (without amtool the check fails: a
  missing tool is not a pass);
- docker/Dockerfile: multi-stage, `cargo build --release --locked`, non-root,
  EXPOSE 9187, HEALTHCHECK on /healthz, ENTRYPOINT; its build command comment
  is the one in docker/README.md (each exactly once) and matches compose.yml;
  the Rust version is pinned (x.y.z, not below Cargo.toml's rust-version),
  base images carry version tags, and no image size is claimed unmeasured;
- deploy/kubernetes/: every kustomization renders with `kubectl kustomize`
  and uses only fields kustomize 2.0.3 reads; the rendered objects are
  checked: the exporter kustomizations carry no rules and the rules
  kustomizations nothing else; probes, resources (memory against the peak
  RSS of docs/performance.md, also quoted in deploy/kubernetes/README.md),
  security context, a ServiceAccount without token, the secret-mounted DSN
  and password, TLS verify-full against a mounted CA; Service/ServiceMonitor
  wiring, sampleLimit, instance relabelled to the Service's database
  annotation; NetworkPolicy (Prometheus in, DNS and PostgreSQL out) and a
  PodDisruptionBudget that does not block drains; the kube-prometheus-stack
  release labels; a second database's objects beside the first's; the
  optional files against files.example.yaml; rules/prometheusrule.yaml equals
  what generate-prometheusrule.py produces now, holds exactly the rules of
  alerts/, and passes `promtool check rules`;
- the relative links of docs/production.md and the two READMEs resolve.

Prints one line per check and `deploy: N passed, M failed`; exits 1 if M > 0.
Needs python3 with PyYAML, promtool (Debian package `prometheus`), amtool
(`prometheus-alertmanager`) and kubectl (`kubernetes-client`; KUBECTL=path
picks another).
Run from anywhere: python3 deploy/check.py
"""
import glob
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

try:
    import yaml
except ImportError:
    sys.exit("deploy/check.py: needs PyYAML, which is not installed "
             "(pip install pyyaml, or apt-get install python3-yaml)")

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
KUBE = ROOT / "deploy" / "kubernetes"
COMPOSE = DOCKER / "compose.yml"
SERVICES = {"postgres", "exporter", "prometheus", "alertmanager", "grafana"}
DASHBOARDS = {  # file in dashboards/ -> uid
    "festival-overview.json": "festival-pg-overview",
    "tables-vacuum.json": "festival-pg-tables",
    "queries-locks.json": "festival-pg-queries",
    "storage-partitions.json": "festival-pg-storage",
}
PORT = 9187


class Fail(Exception):
    pass


results = {"ok": 0, "FAIL": 0}


def run(name, fn):
    try:
        detail = fn()
        status = "ok"
    except Fail as e:
        status, detail = "FAIL", str(e)
    except Exception as e:  # a check that crashes is a failed check
        status, detail = "FAIL", f"{type(e).__name__}: {e}"
    results[status] += 1
    print(f"{status:4} {name}: {detail}")


def rel(path):
    try:
        return pathlib.Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


# ---------------------------------------------------------------- compose --

_compose = None


def compose():
    global _compose
    if _compose is None:
        _compose = load_yaml(COMPOSE)
    return _compose


def service(name):
    svc = compose().get("services", {}).get(name)
    if not isinstance(svc, dict):
        raise Fail(f"no service {name} in docker/compose.yml")
    return svc


def mounts(svc):
    """(source, target, kind) of a service's volumes; kind is bind or volume."""
    out = []
    for v in svc.get("volumes", []) or []:
        if isinstance(v, str):
            parts = v.split(":")
            if len(parts) == 1:
                out.append((None, parts[0], "volume"))
                continue
            src, dst = parts[0], parts[1]
            kind = "bind" if src.startswith((".", "/", "~")) else "volume"
        else:
            src, dst = v.get("source"), v.get("target")
            kind = v.get("type", "volume")
        out.append((src, dst, kind))
    return out


def host(src):
    return (DOCKER / src).resolve()


def bind_target_of(svc, host_path):
    """Where a service mounts a host path (absolute), or None."""
    for src, dst, kind in mounts(svc):
        if kind == "bind" and host(src) == pathlib.Path(host_path).resolve():
            return dst
    return None


def container_to_host(svc, path):
    """Host path that a container path of a service maps to via bind mounts."""
    best = None
    for src, dst, kind in mounts(svc):
        if kind != "bind":
            continue
        dst = dst.rstrip("/")
        if path == dst or path.startswith(dst + "/"):
            if best is None or len(dst) > len(best[1]):
                best = (src, dst)
    if best is None:
        return None
    return host(best[0]) / path[len(best[1]):].lstrip("/")


def check_compose_parses():
    doc = compose()
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise Fail("no services mapping")
    missing = SERVICES - set(doc["services"])
    if missing:
        raise Fail(f"missing services: {', '.join(sorted(missing))}")
    return f"{len(doc['services'])} services: {', '.join(doc['services'])}"


def check_service_paths(name):
    def fn():
        svc = service(name)
        doc = compose()
        problems, binds, volumes, secrets = [], 0, 0, 0
        for src, dst, kind in mounts(svc):
            if not dst or not dst.startswith("/"):
                problems.append(f"mount target {dst!r} is not absolute")
            if kind == "bind":
                binds += 1
                if not host(src).exists():
                    problems.append(f"{src} -> {dst}: {rel(host(src))} does not exist")
            else:
                volumes += 1
                if src and src not in (doc.get("volumes") or {}):
                    problems.append(f"named volume {src} is not declared")
        for s in svc.get("secrets", []) or []:
            sname = s if isinstance(s, str) else s.get("source")
            decl = (doc.get("secrets") or {}).get(sname)
            secrets += 1
            if not decl or "file" not in decl:
                problems.append(f"secret {sname} is not declared with a file")
            elif not host(decl["file"]).is_file():
                problems.append(f"secret {sname}: {rel(host(decl['file']))} does not exist")
        for env_file in ([svc["env_file"]] if isinstance(svc.get("env_file"), str)
                         else svc.get("env_file", []) or []):
            if not host(env_file).is_file():
                problems.append(f"env_file {env_file} does not exist")
        build = svc.get("build")
        if build is not None:
            ctx = host(build if isinstance(build, str) else build.get("context", "."))
            df = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            if not ctx.is_dir():
                problems.append(f"build context {rel(ctx)} does not exist")
            if not df.is_file():
                problems.append(f"Dockerfile {rel(df)} does not exist")
        if problems:
            raise Fail("; ".join(problems))
        return f"{binds} bind mounts, {volumes} volumes, {secrets} secrets: all present"
    return fn


def check_postgres():
    svc = service("postgres")
    problems = []
    if not str(svc.get("image", "")).startswith("postgres:"):
        problems.append(f"image {svc.get('image')} is not the official postgres image")
    cmd = svc.get("command")
    cmd = " ".join(cmd) if isinstance(cmd, list) else str(cmd or "")
    m = re.search(r"shared_preload_libraries=(\S+)", cmd)
    if not m or "pg_stat_statements" not in m.group(1).strip("'\"").split(","):
        problems.append("command does not preload pg_stat_statements")
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    if env.get("POSTGRES_DB") != "festivals":
        problems.append("POSTGRES_DB is not festivals")
    if "POSTGRES_PASSWORD" in env:
        problems.append("POSTGRES_PASSWORD in the environment; use POSTGRES_PASSWORD_FILE")
    target = bind_target_of(svc, ROOT / "schema" / "festival.sql")
    if not target or not target.startswith("/docker-entrypoint-initdb.d/"):
        problems.append("schema/festival.sql is not mounted into /docker-entrypoint-initdb.d")
    if problems:
        raise Fail("; ".join(problems))
    return f"pg_stat_statements preloaded, POSTGRES_DB=festivals, schema/festival.sql -> {target}"


def check_exporter_service():
    svc = service("exporter")
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    dsn = env.get("DATA_SOURCE_NAME", "")
    problems = []
    if not dsn:
        problems.append("no DATA_SOURCE_NAME")
    elif "://" in dsn:
        if urllib.parse.urlsplit(dsn).password is not None:
            problems.append("DATA_SOURCE_NAME carries a password")
    elif re.search(r"(^|\s)password\s*=", dsn):
        problems.append("DATA_SOURCE_NAME carries a password")
    pass_file = env.get("DATA_SOURCE_PASS_FILE", "")
    names = [s if isinstance(s, str) else s.get("target") or s.get("source")
             for s in svc.get("secrets", []) or []]
    if pass_file not in [f"/run/secrets/{n}" for n in names]:
        problems.append(f"DATA_SOURCE_PASS_FILE {pass_file!r} is not one of its secrets")
    ports = [str(p) for p in svc.get("ports", []) or []]
    if not any(p.endswith(f":{PORT}") for p in ports):
        problems.append(f"port {PORT} not published")
    if problems:
        raise Fail("; ".join(problems))
    return f"DSN without password, password from {pass_file}"


# ---------------------------------------------------------------- grafana --

def check_grafana_datasource():
    svc = service("grafana")
    prov = bind_target_of(svc, DOCKER / "grafana" / "provisioning")
    if prov != "/etc/grafana/provisioning":
        raise Fail(f"docker/grafana/provisioning is mounted at {prov}, not /etc/grafana/provisioning")
    doc = load_yaml(DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    sources = {d.get("uid"): d for d in doc.get("datasources", [])}
    prom = sources.get("prometheus")
    if not prom or prom.get("type") != "prometheus":
        raise Fail("no datasource of type prometheus with uid prometheus")
    url = urllib.parse.urlsplit(prom.get("url", ""))
    prom_cmd = " ".join(service("prometheus").get("command") or [])
    listen = re.search(r"--web\.listen-address=\S*:(\d+)", prom_cmd)
    if url.hostname != "prometheus" or url.port != int(listen.group(1) if listen else 9090):
        raise Fail(f"datasource url {prom.get('url')} is not the prometheus service")
    return f"uid prometheus -> {prom['url']}"


def dashboard_datasource_uids(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource":
                uid = v.get("uid") if isinstance(v, dict) else v
                if isinstance(uid, str):
                    out.add(uid)
            dashboard_datasource_uids(v, out)
    elif isinstance(node, list):
        for v in node:
            dashboard_datasource_uids(v, out)


def check_grafana_dashboards():
    svc = service("grafana")
    target = bind_target_of(svc, ROOT / "dashboards")
    if not target:
        raise Fail("../dashboards is not mounted into grafana")
    doc = load_yaml(DOCKER / "grafana" / "provisioning" / "dashboards" / "festival.yml")
    paths = [p.get("options", {}).get("path") for p in doc.get("providers", [])]
    if target not in [str(p).rstrip("/") for p in paths]:
        raise Fail(f"no dashboard provider reads {target} (providers read {paths})")
    problems = []
    shipped = sorted(os.path.basename(p) for p in glob.glob(str(ROOT / "dashboards" / "*.json")))
    for name, uid in DASHBOARDS.items():
        if name not in shipped:
            problems.append(f"dashboards/{name} missing")
    provisioned = {d.get("uid") for d in load_yaml(
        DOCKER / "grafana" / "provisioning" / "datasources" / "prometheus.yml").get("datasources", [])}
    uids = {}
    for name in shipped:
        try:
            dash = json.load(open(ROOT / "dashboards" / name))
        except ValueError as e:
            problems.append(f"dashboards/{name} is not JSON: {e}")
            continue
        uid = dash.get("uid")
        if uid in uids:
            problems.append(f"dashboards/{name}: uid {uid} also in {uids[uid]}")
        uids[uid] = name
        if name in DASHBOARDS and uid != DASHBOARDS[name]:
            problems.append(f"dashboards/{name}: uid {uid}, expected {DASHBOARDS[name]}")
        used = set()
        dashboard_datasource_uids(dash, used)
        unknown = {u for u in used if not u.startswith("$") and not u.startswith("-- ")
                   and u not in ("grafana", "prometheus") and u not in provisioned}
        if unknown:
            problems.append(f"dashboards/{name}: datasource uid(s) {', '.join(sorted(unknown))} not provisioned")
    home = (svc.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        h = container_to_host(svc, home)
        if h is None or not h.is_file():
            problems.append(f"home dashboard {home} does not exist ({rel(h) if h else 'not mounted'})")
    if problems:
        raise Fail("; ".join(problems))
    return f"provider reads {target} = ../dashboards: {', '.join(shipped)}"


# ------------------------------------------------------------- prometheus --

def container_layout(svc, tmp):
    """Copy a service's bind mounts into tmp as the container sees them."""
    for src, dst, kind in mounts(svc):
        if kind != "bind":
            continue
        dest = pathlib.Path(tmp) / dst.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if host(src).is_dir():
            shutil.copytree(host(src), dest)
        else:
            shutil.copy2(host(src), dest)


def flag(cmd, name, default):
    for arg in cmd or []:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


def need(tool, package):
    path = shutil.which(tool) or (f"/usr/bin/{tool}" if os.access(f"/usr/bin/{tool}", os.X_OK) else None)
    if not path:
        raise Fail(f"{tool} not found (Debian package {package})")
    return path


def check_promtool_config():
    promtool = need("promtool", "prometheus")
    svc = service("prometheus")
    config = flag(svc.get("command"), "config.file", "/etc/prometheus/prometheus.yml")
    if container_to_host(svc, config) != (DOCKER / "prometheus" / "prometheus.yml").resolve():
        raise Fail(f"{config} in the container is not docker/prometheus/prometheus.yml")
    with tempfile.TemporaryDirectory() as tmp:
        container_layout(svc, tmp)
        path = os.path.join(tmp, config.lstrip("/"))
        p = subprocess.run([promtool, "check", "config", path], capture_output=True, text=True)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            raise Fail("promtool check config: " + " | ".join(l.strip() for l in out.splitlines() if l.strip()))
        checked = {os.path.basename(m) for m in re.findall(r"^Checking (.+)$", out, re.M)}
    shipped = {os.path.basename(p) for p in glob.glob(str(ROOT / "alerts" / "*.rules.yml"))}
    if not shipped <= checked:
        raise Fail(f"rule files not loaded: {', '.join(sorted(shipped - checked))}")
    return f"valid; loads {', '.join(sorted(shipped))}"


def check_prometheus_targets():
    doc = load_yaml(DOCKER / "prometheus" / "prometheus.yml")
    targets = {t for job in doc.get("scrape_configs", [])
               for sc in job.get("static_configs", []) for t in sc.get("targets", [])}
    problems = []
    if f"exporter:{PORT}" not in targets:
        problems.append(f"does not scrape exporter:{PORT}")
    am = {t for a in (doc.get("alerting") or {}).get("alertmanagers", [])
          for sc in a.get("static_configs", []) for t in sc.get("targets", [])}
    if "alertmanager:9093" not in am:
        problems.append("alerts are not sent to alertmanager:9093")
    dsn = urllib.parse.urlsplit((service("exporter").get("environment") or {}).get("DATA_SOURCE_NAME", ""))
    database = f"{dsn.hostname}:{dsn.port or 5432}{dsn.path}"
    jobs = [job for job in doc.get("scrape_configs", [])
            if any(f"exporter:{PORT}" in sc.get("targets", []) for sc in job.get("static_configs", []))]
    for job in jobs:
        instance = [r.get("replacement") for r in job.get("relabel_configs", [])
                    if r.get("target_label") == "instance" and not r.get("source_labels")]
        if instance != [database]:
            problems.append(f"job {job.get('job_name')}: instance is {instance or 'the exporter address'}, "
                            f"not the watched database {database}")
    g = doc.get("global", {})
    if parse_duration(g.get("scrape_interval", "1m")) > 60:
        problems.append("scrape_interval over 1m (the rules' rate() windows are 5m)")
    if problems:
        raise Fail("; ".join(problems))
    return f"scrapes exporter:{PORT} as instance {database}, alerts to alertmanager:9093"


def check_amtool():
    amtool = shutil.which("amtool") or ("/usr/bin/amtool" if os.access("/usr/bin/amtool", os.X_OK) else None)
    if not amtool:
        raise Fail("amtool not installed (Debian package prometheus-alertmanager, which .ci/run installs)")
    svc = service("alertmanager")
    config = flag(svc.get("command"), "config.file", "/etc/alertmanager/alertmanager.yml")
    path = container_to_host(svc, config)
    if path != (DOCKER / "alertmanager" / "alertmanager.yml").resolve():
        raise Fail(f"{config} in the container is not docker/alertmanager/alertmanager.yml")
    p = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True)
    if p.returncode != 0:
        raise Fail("amtool check-config: " + " | ".join(l.strip() for l in (p.stdout + p.stderr).splitlines() if l.strip()))
    return "amtool check-config: SUCCESS"


# ------------------------------------------------------------- Dockerfile --

BUILD_RE = re.compile(r"docker build[^`\n]*")


def check_build_command():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    readme = (DOCKER / "README.md").read_text()
    in_df = [m.group(0).strip() for m in BUILD_RE.finditer(dockerfile)]
    in_readme = [m.group(0).strip() for m in BUILD_RE.finditer(readme)]
    if len(in_df) != 1:
        raise Fail(f"docker/Dockerfile has {len(in_df)} build commands, expected 1")
    if len(in_readme) != 1:
        raise Fail(f"docker/README.md has {len(in_readme)} build commands, expected 1")
    line = next(l for l in dockerfile.splitlines() if "docker build" in l)
    if not line.lstrip().startswith("#"):
        raise Fail("the build command in docker/Dockerfile is not a comment")
    head = [l for l in dockerfile.splitlines()[:5]]
    if line not in head:
        raise Fail("the build command comment is not at the top of docker/Dockerfile")
    if in_df[0] != in_readme[0]:
        raise Fail(f"Dockerfile says `{in_df[0]}`, docker/README.md says `{in_readme[0]}`")
    args = in_df[0].split()
    f = args[args.index("-f") + 1] if "-f" in args else "Dockerfile"
    ctx = args[-1]
    if (ROOT / ctx / f).resolve() != (DOCKER / "Dockerfile").resolve():
        raise Fail(f"`{in_df[0]}` (from the repository root) does not build docker/Dockerfile")
    build = service("exporter").get("build") or {}
    if (host(build.get("context", ".")) != (ROOT / ctx).resolve()
            or (host(build.get("context", ".")) / build.get("dockerfile", "Dockerfile")).resolve()
            != (DOCKER / "Dockerfile").resolve()):
        raise Fail("compose.yml builds the exporter from another context or Dockerfile")
    return f"`{in_df[0]}` in Dockerfile, docker/README.md and compose.yml"


def dockerfile_instructions():
    text = (DOCKER / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def check_dockerfile():
    ins = dockerfile_instructions()
    problems = []
    froms = [r for w, r in ins if w == "FROM"]
    stages = [f.split()[-1] for f in froms if " as " in f.lower()]
    final = len(ins) - 1 - [w for w, _ in reversed(ins)].index("FROM")
    tail = ins[final:]
    if len(froms) < 2:
        problems.append("not multi-stage")
    builds = [r for w, r in ins[:final] if w == "RUN" and "cargo build" in r]
    if not any("--release" in r and "--locked" in r for r in builds):
        problems.append("no `cargo build --release --locked` in a build stage")
    if not any(w == "COPY" and "--from=" in r for w, r in tail):
        problems.append("the runtime stage copies nothing from a build stage")
    users = [r for w, r in tail if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("the runtime stage does not switch to a non-root USER")
    if not any(w == "EXPOSE" and str(PORT) in r.split() for w, r in tail):
        problems.append(f"no EXPOSE {PORT}")
    hc = [r for w, r in tail if w == "HEALTHCHECK"]
    if not hc or "/healthz" not in hc[-1]:
        problems.append("no HEALTHCHECK on /healthz")
    else:
        m = re.search(r'CMD\s+\[\s*"([^"]+)"', hc[-1])
        tool = m.group(1) if m else None
        if not tool or not any(w == "COPY" and r.split()[-1] == tool for w, r in tail):
            problems.append(f"the HEALTHCHECK command {tool} is not copied into the runtime image")
    ep = [r for w, r in tail if w == "ENTRYPOINT"]
    if not ep or "festival-pg-exporter" not in ep[-1]:
        problems.append("ENTRYPOINT is not the exporter")
    ignore = DOCKER / "Dockerfile.dockerignore"
    if ignore.is_file():
        keep = {l.strip()[1:].rstrip("/") for l in ignore.read_text().splitlines() if l.strip().startswith("!")}
        for w, r in ins:
            if w == "COPY" and "--from=" not in r:
                for src in r.split()[:-1]:
                    if not src.startswith("--") and src.rstrip("/") not in keep:
                        problems.append(f"COPY {src}: excluded by docker/Dockerfile.dockerignore")
    if problems:
        raise Fail("; ".join(problems))
    return (f"{len(froms)} stages ({', '.join(stages)}, runtime {froms[-1].split()[0]}), "
            f"--locked, USER {users[-1]}, EXPOSE {PORT}, HEALTHCHECK /healthz")


CERT_MIN_DAYS = 90


def cert_not_after(path):
    import ssl
    info = ssl._ssl._test_decode_cert(str(path))
    import email.utils
    return email.utils.parsedate_to_datetime(info["notAfter"].replace("  ", " ")), info


def handshake(cert, key, ca, hostname):
    """A TLS handshake in memory: the client checks cert against ca and hostname."""
    import ssl
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(cert), str(key))
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(str(ca))
    s_in, s_out, c_in, c_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    s = server.wrap_bio(s_in, s_out, server_side=True)
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    done = {"c": False, "s": False}
    for _ in range(20):
        for side, obj in (("c", c), ("s", s)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return c.version()
    raise Fail("TLS handshake did not finish")


def check_compose_tls():
    import datetime
    pg, exp = service("postgres"), service("exporter")
    cmd = pg.get("command") or []
    settings = dict(a.split("=", 1) for a in cmd if isinstance(a, str) and "=" in a)
    problems = []
    if settings.get("ssl") != "on":
        problems.append("postgres: command does not set ssl=on")
    cert = container_to_host(pg, settings.get("ssl_cert_file", ""))
    if not cert or not cert.is_file():
        problems.append(f"postgres: ssl_cert_file {settings.get('ssl_cert_file')} is not a mounted file")
    key_path = settings.get("ssl_key_file", "")
    key = container_to_host(pg, key_path)
    entry = " ".join(pg.get("entrypoint") or [])
    m = re.search(r"install -m 0600 -o postgres -g postgres (\S+) (\S+) && exec docker-entrypoint\.sh \"\$\$@\"", entry)
    if m and m.group(2) == key_path:
        key = container_to_host(pg, m.group(1))   # copied to a private file before the server starts
    elif key:
        problems.append("postgres: ssl_key_file is a bind mount, which PostgreSQL refuses unless it is private to the postgres user")
    if not key or not key.is_file():
        problems.append(f"postgres: ssl_key_file {key_path} does not come from a mounted file")
    env = exp.get("environment") or {}
    dsn = env.get("DATA_SOURCE_NAME", "")
    params = dsn_params(dsn)
    if params.get("sslmode") != "verify-full":
        problems.append(f"exporter: the DSN's sslmode is {params.get('sslmode')}, not verify-full")
    ca = container_to_host(exp, params.get("sslrootcert", ""))
    if not ca or not ca.is_file():
        problems.append(f"exporter: sslrootcert {params.get('sslrootcert')} is not a mounted file")
    if problems:
        raise Fail("; ".join(problems))
    host_ = urllib.parse.urlsplit(dsn).hostname
    try:
        version = handshake(cert, key, ca, host_)
    except Fail:
        raise
    except Exception as e:
        raise Fail(f"{rel(cert)} with {rel(key)} fails verify-full against {rel(ca)} for host {host_}: {e}")
    not_after, _ = cert_not_after(cert)
    left = (not_after - datetime.datetime.now(datetime.timezone.utc)).days
    if left < CERT_MIN_DAYS:
        raise Fail(f"{rel(cert)} expires in {left} days: run docker/tls/generate.sh")
    return (f"ssl=on; the exporter verifies {rel(cert)} against {rel(ca)} for host {host_} "
            f"({version} handshake in memory); valid {left} more days")


# ------------------------------------------------------------- base images --

# Images that publish no version tag: only a digest would pin them.
NO_VERSION_TAGS = {"gcr.io/distroless/cc-debian12"}
SIZE_CLAIM = re.compile(r"\b\d+(?:\.\d+)?\s?(?:[KMG]B|[KMG]iB)\b")


def check_base_images():
    ins = dockerfile_instructions()
    args = {}
    for w, r in ins:
        if w == "ARG" and "=" in r:
            k, v = r.split("=", 1)
            args[k.strip()] = v.strip()
    problems, shown = [], []
    rust = args.get("RUST_VERSION", "")
    msrv = re.search(r'^rust-version\s*=\s*"([\d.]+)"', (ROOT / "Cargo.toml").read_text(), re.M)
    if not re.fullmatch(r"\d+\.\d+\.\d+", rust):
        problems.append(f"RUST_VERSION {rust!r} is not a full version (x.y.z)")
    elif msrv and tuple(map(int, rust.split("."))) < tuple(map(int, msrv.group(1).split("."))):
        problems.append(f"RUST_VERSION {rust} is older than Cargo.toml's rust-version {msrv.group(1)}")
    for w, r in ins:
        if w != "FROM":
            continue
        image = re.sub(r"\$\{(\w+)\}", lambda g: args.get(g.group(1), g.group(0)), r.split()[0])
        if "@sha256:" in image:
            shown.append(image)
            continue
        name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
        if not tag or tag == "latest":
            problems.append(f"FROM {image}: no version tag")
        elif name in NO_VERSION_TAGS:
            shown.append(f"{image} (no version tags exist)")
        elif not re.match(r"\d+\.\d+\.\d+(-|$)", tag):
            problems.append(f"FROM {image}: tag {tag} is not a full version (x.y.z)")
        else:
            shown.append(image)
    for p in (DOCKER / "Dockerfile", DOCKER / "README.md"):
        for m in SIZE_CLAIM.finditer(p.read_text()):
            problems.append(f"{rel(p)} states a size ({m.group(0)}) that no build here measured")
    if problems:
        raise Fail("; ".join(problems))
    return f"Rust {rust} (rust-version {msrv.group(1) if msrv else '?'}); " + ", ".join(shown)


# ------------------------------------------------------------- Kubernetes --

def parse_duration(text):
    total, pos = 0.0, 0
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    for m in re.finditer(r"(\d+)(ms|s|m|h|d|w|y)", str(text)):
        if m.start() != pos:
            raise ValueError(f"bad duration {text}")
        total += int(m.group(1)) * units[m.group(2)]
        pos = m.end()
    if pos != len(str(text)) or pos == 0:
        raise ValueError(f"bad duration {text}")
    return total


# Every kustomization under deploy/kubernetes/, rendered by `kubectl kustomize`
# (the checks below read what would be applied, not the raw files).
EXPORTER = "exporter"                                # one per database
RULES = "rules"                                      # once per cluster
KPS_EXPORTER = "kube-prometheus-stack/exporter"
KPS_RULES = "kube-prometheus-stack/rules"
SECOND = "examples/second-database"
EXPORTER_OVERLAYS = (EXPORTER, KPS_EXPORTER, SECOND)
RULES_OVERLAYS = (RULES, KPS_RULES)
KPS_LABELS = {"release": "kube-prometheus-stack"}    # a default kube-prometheus-stack's selectors
# Labels prometheus-operator puts on a Prometheus pod, and on some other pod.
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus", "prometheus": "kube-prometheus-stack-prometheus"}
OTHER_POD = {"app.kubernetes.io/name": "grafana"}
# Kustomization fields that kustomize 2.0.3 (kubectl 1.20, Debian's
# kubernetes-client) reads as kustomize 5 does.
KUSTOMIZE_2_FIELDS = {"apiVersion", "kind", "resources", "bases", "patchesStrategicMerge",
                      "patchesJson6902", "commonLabels", "commonAnnotations", "namePrefix",
                      "nameSuffix", "namespace", "images", "configMapGenerator",
                      "secretGenerator", "generatorOptions"}
MEMORY_MARGIN = 2.0     # memory limit / the largest peak RSS docs/performance.md measured
SAMPLE_MARGIN = 1.2     # sampleLimit / the series of that scrape


def kubectl():
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        raise Fail("kubectl not found (Debian package kubernetes-client, which .ci/run installs)")
    return path


_rendered = {}


def rendered(name):
    """The manifests `kubectl kustomize deploy/kubernetes/<name>` renders."""
    if name not in _rendered:
        p = subprocess.run([kubectl(), "kustomize", str(KUBE / name)], capture_output=True, text=True)
        if p.returncode != 0:
            raise Fail(f"kubectl kustomize deploy/kubernetes/{name}: {p.stderr.strip()}")
        _rendered[name] = [d for d in yaml.safe_load_all(p.stdout) if d]
    return _rendered[name]


def kustomizations():
    return sorted(p.parent.relative_to(KUBE).as_posix() for p in KUBE.rglob("kustomization.yaml"))


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def one(docs, kind, where):
    found = of_kind(docs, kind)
    if len(found) != 1:
        raise Fail(f"{where}: {len(found)} {kind}, expected 1")
    return found[0]


def selects(selector, labels):
    """Whether a label selector (matchLabels/matchExpressions, or a plain map) selects labels."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def k8s_bytes(q):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?|)", str(q))
    if not m:
        raise Fail(f"cannot read quantity {q}")
    mult = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
            "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4}[m.group(2)]
    return float(m.group(1)) * mult


def mib(text):
    m = re.fullmatch(r"([\d.]+) (KiB|MiB|GiB)", text.strip())
    if not m:
        raise Fail(f"cannot read size {text!r}")
    return float(m.group(1)) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[m.group(2)]


def benchmark():
    """(tables, peak RSS in MiB as written, series) per size from docs/performance.md's growth table."""
    text = (ROOT / "docs" / "performance.md").read_text()

    def row(label):
        m = re.search(rf"^{re.escape(label)}\s{{2,}}(.+)$", text, re.M)
        if not m:
            raise Fail(f"docs/performance.md: no row {label!r} in the growth table")
        return re.split(r"\s{2,}", m.group(1).strip())[:3]

    tables = [int(v.replace(",", "")) for v in row("user tables")]
    rss = row("festival-pg-exporter peak RSS")
    series = [int(v.replace(",", "")) for v in row("festival-pg-exporter series")]
    return list(zip(tables, rss, series))


def pod_of(docs, where):
    dep = one(docs, "Deployment", where)
    return dep, dep["spec"]["template"]["spec"], dep["spec"]["template"]["metadata"].get("labels", {})


def mounted_file(pod, container, path):
    """(volume, key) of the ConfigMap or Secret file a container sees at path, or None."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in container.get("volumeMounts", []):
        base = m["mountPath"].rstrip("/") + "/"
        if not path.startswith(base):
            continue
        vol = volumes.get(m["name"], {})
        src = vol.get("secret") or vol.get("configMap")
        if src is None:
            continue
        rest = path[len(base):]
        items = src.get("items")
        if items is None:
            return vol, rest
        for i in items:
            if i["path"] == rest:
                return vol, i["key"]
    return None


def check_kustomizations():
    names = kustomizations()
    problems = [f"no deploy/kubernetes/{n}/kustomization.yaml"
                for n in EXPORTER_OVERLAYS + RULES_OVERLAYS if n not in names]
    if (KUBE / "kustomization.yaml").exists():
        problems.append("deploy/kubernetes/kustomization.yaml would apply exporter and rules together")
    out = []
    for n in names:
        kust = load_yaml(KUBE / n / "kustomization.yaml")
        unknown = set(kust) - KUSTOMIZE_2_FIELDS
        if unknown:
            problems.append(f"{n}: {', '.join(sorted(unknown))} (not read by kustomize 2.0.3 of kubectl 1.20)")
        for r in kust.get("resources", []) or []:
            if not (KUBE / n / r).is_file():
                problems.append(f"{n}: resource {r} is not a file (kustomize 2.0.3 takes directories under bases)")
        for b in kust.get("bases", []) or []:
            if not (KUBE / n / b / "kustomization.yaml").is_file():
                problems.append(f"{n}: base {b} has no kustomization.yaml")
        try:
            out.append(f"{n} ({len(rendered(n))})")
        except Fail as e:
            problems.append(str(e))
    if problems:
        raise Fail("; ".join(problems))
    v = subprocess.run([kubectl(), "version", "--client"], capture_output=True, text=True).stdout
    m = re.search(r"v\d+\.\d+\.\d+", v)
    return f"kubectl {m.group(0) if m else '?'} kustomize renders {', '.join(out)}"


def check_apart():
    problems, counts = [], []
    for n in EXPORTER_OVERLAYS:
        docs = rendered(n)
        kinds = sorted(d["kind"] for d in docs)
        if of_kind(docs, "PrometheusRule"):
            problems.append(f"{n} carries a PrometheusRule (rules are applied once per cluster, from {RULES})")
        for kind in ("Deployment", "Service", "ServiceMonitor", "ServiceAccount",
                     "NetworkPolicy", "PodDisruptionBudget"):
            if len(of_kind(docs, kind)) != 1:
                problems.append(f"{n}: {len(of_kind(docs, kind))} {kind}, expected 1")
        counts.append(f"{n}: {', '.join(kinds)}")
    for n in RULES_OVERLAYS:
        kinds = [d["kind"] for d in rendered(n)]
        if kinds != ["PrometheusRule"]:
            problems.append(f"{n} renders {', '.join(kinds)}, expected one PrometheusRule alone")
    if problems:
        raise Fail("; ".join(problems))
    return f"rules only in {', '.join(RULES_OVERLAYS)}; " + "; ".join(counts[:1])


def check_deployment(n):
    def fn():
        docs = rendered(n)
        dep, pod, pod_labels = pod_of(docs, n)
        c = pod["containers"][0]
        problems = []
        probes = {k: (c.get(k) or {}).get("httpGet", {}) for k in ("livenessProbe", "readinessProbe")}
        if probes["livenessProbe"].get("path") != "/healthz":
            problems.append("livenessProbe is not GET /healthz")
        if probes["readinessProbe"].get("path") != "/readyz":
            problems.append("readinessProbe is not GET /readyz")
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        for k, g in probes.items():
            if g.get("port") not in ports and g.get("port") != PORT:
                problems.append(f"{k} port {g.get('port')} is not a container port")
        if ports.get("http-metrics") != PORT:
            problems.append(f"no container port http-metrics = {PORT}")
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(part, {}):
                    problems.append(f"no resources.{part}.{r}")
        psc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
        if not (psc.get("runAsNonRoot") or csc.get("runAsNonRoot")):
            problems.append("runAsNonRoot not set")
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append("readOnlyRootFilesystem not set")
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation not false")
        # service account: its own, no token
        sa = one(docs, "ServiceAccount", n)
        if pod.get("serviceAccountName") != sa["metadata"]["name"]:
            problems.append(f"serviceAccountName {pod.get('serviceAccountName')} is not the ServiceAccount {sa['metadata']['name']}")
        if sa.get("automountServiceAccountToken") is not False or pod.get("automountServiceAccountToken") is not False:
            problems.append("automountServiceAccountToken is not false on the ServiceAccount and the pod")
        # DSN and password from the Secret
        env = {e["name"]: e for e in c.get("env", [])}
        if "secretKeyRef" not in env.get("DATA_SOURCE_NAME", {}).get("valueFrom", {}):
            problems.append("DATA_SOURCE_NAME is not from a Secret key")
        pass_file = env.get("DATA_SOURCE_PASS_FILE", {}).get("value", "")
        found = mounted_file(pod, c, pass_file)
        if not found or "secret" not in found[0]:
            problems.append(f"DATA_SOURCE_PASS_FILE {pass_file!r} is not a file of a mounted Secret")
        # TLS to PostgreSQL: verify-full against a mounted CA
        if env.get("PGSSLMODE", {}).get("value") != "verify-full":
            problems.append("PGSSLMODE is not verify-full")
        ca = env.get("PGSSLROOTCERT", {}).get("value", "")
        found = mounted_file(pod, c, ca)
        if not found:
            problems.append(f"PGSSLROOTCERT {ca!r} is not a file of a mounted ConfigMap or Secret")
        elif (found[0].get("configMap") or found[0].get("secret")).get("optional"):
            problems.append(f"the CA volume {found[0]['name']} is optional: a missing CA must stop the pod")
        # optional files: volumes optional, settings from an optional ConfigMap
        for m in c.get("volumeMounts", []):
            if m.get("readOnly") is not True:
                problems.append(f"volume mount {m['mountPath']} is not read-only")
        if not any((e.get("configMapRef") or {}).get("optional") for e in c.get("envFrom", [])):
            problems.append("no optional ConfigMap in envFrom for PG_EXPORTER_* settings")
        # memory: sized from docs/performance.md
        sizes = benchmark()
        tables, rss, series = max(sizes)
        peak = mib(rss) * 1024**2
        limit, request = k8s_bytes(res["limits"]["memory"]), k8s_bytes(res["requests"]["memory"])
        if limit < MEMORY_MARGIN * peak:
            problems.append(f"limits.memory {res['limits']['memory']} is below {MEMORY_MARGIN} x the peak RSS "
                            f"of {rss} at {tables:,} tables (docs/performance.md)")
        if request < peak:
            problems.append(f"requests.memory {res['requests']['memory']} is below the peak RSS of {rss} "
                            f"at {tables:,} tables (docs/performance.md)")
        if problems:
            raise Fail("; ".join(problems))
        return (f"probes, non-root, read-only root, SA {sa['metadata']['name']} without token, "
                f"DSN from secret, PGSSLMODE verify-full with CA {ca}, memory "
                f"{res['requests']['memory']}/{res['limits']['memory']} for a peak of {rss} at {tables:,} tables")
    return fn


def check_memory_docs():
    """deploy/kubernetes/README.md's Memory table: a row per measured size with
    its figures from docs/performance.md, and the defaults in the largest one."""
    dep, pod, _ = pod_of(rendered(EXPORTER), EXPORTER)
    res = pod["containers"][0]["resources"]
    sm = one(rendered(EXPORTER), "ServiceMonitor", EXPORTER)
    readme = (KUBE / "README.md").read_text()
    m = re.search(r"^## Memory\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if not m:
        raise Fail("deploy/kubernetes/README.md has no section '## Memory'")
    rows = [[c.replace("`", "").strip() for c in line.strip().strip("|").split("|")]
            for line in m.group(1).splitlines() if line.startswith("|") and not line.startswith("|---")]
    if not rows or rows[0][:3] != ["Tables in pg_stat_user_tables", "Series per scrape", "Peak RSS"]:
        raise Fail("the Memory section has no table 'Tables in pg_stat_user_tables | Series per scrape | Peak RSS | ...'")
    head, rows = rows[0], rows[1:]
    by_tables = {r[0].split()[0]: dict(zip(head, r)) for r in rows}
    problems = []
    sizes = benchmark()
    for tables, rss, series in sizes:
        row = by_tables.get(f"{tables:,}")
        if row is None:
            problems.append(f"no row for {tables:,} tables (docs/performance.md)")
            continue
        if row["Series per scrape"] != f"{series:,}" or row["Peak RSS"] != rss:
            problems.append(f"{tables:,} tables: {row['Series per scrape']} series, {row['Peak RSS']} peak; "
                            f"docs/performance.md: {series:,}, {rss}")
        if k8s_bytes(row.get("limits.memory", "0")) < MEMORY_MARGIN * mib(rss) * 1024**2:
            problems.append(f"{tables:,} tables: limits.memory {row.get('limits.memory')} is below "
                            f"{MEMORY_MARGIN} x {rss}")
        if int(row.get("sampleLimit", "0").replace(",", "")) < SAMPLE_MARGIN * series:
            problems.append(f"{tables:,} tables: sampleLimit {row.get('sampleLimit')} is below "
                            f"{SAMPLE_MARGIN} x {series:,}")
    tables = max(sizes)[0]
    default = by_tables.get(f"{tables:,}", {})
    want = {"requests.memory": res["requests"]["memory"], "limits.memory": res["limits"]["memory"],
            "sampleLimit": f"{sm['spec'].get('sampleLimit', 0):,}"}
    for k, v in want.items():
        if default.get(k) != v:
            problems.append(f"{tables:,} tables: {k} {default.get(k)}, the manifests' default is {v}")
    if problems:
        raise Fail("; ".join(problems))
    return (f"{len(sizes)} measured sizes with docs/performance.md's figures; "
            f"defaults {want['requests.memory']}/{want['limits.memory']}, sampleLimit {want['sampleLimit']}")


def annotation_meta(name):
    return "__meta_kubernetes_service_annotation_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)


def check_service_monitor(n):
    def fn():
        docs = rendered(n)
        dep, pod, pod_labels = pod_of(docs, n)
        svc, sm = one(docs, "Service", n), one(docs, "ServiceMonitor", n)
        problems = []
        if not svc["spec"].get("selector") or not selects(svc["spec"]["selector"], pod_labels):
            problems.append("Service selector does not match the pod labels")
        ports = {p.get("name"): p for p in svc["spec"].get("ports", [])}
        if ports.get("http-metrics", {}).get("port") != PORT:
            problems.append(f"Service has no port http-metrics = {PORT}")
        if sm.get("apiVersion") != "monitoring.coreos.com/v1":
            problems.append(f"ServiceMonitor apiVersion {sm.get('apiVersion')}")
        if not selects(sm["spec"].get("selector"), svc["metadata"].get("labels", {})):
            problems.append("ServiceMonitor selector does not match the Service labels")
        sizes = benchmark()
        tables, rss, series = max(sizes)
        limit = sm["spec"].get("sampleLimit")
        if not isinstance(limit, int) or limit <= 0:
            problems.append("no sampleLimit")
        elif limit < SAMPLE_MARGIN * series:
            problems.append(f"sampleLimit {limit} is below {SAMPLE_MARGIN} x the {series:,} series "
                            f"at {tables:,} tables the memory is sized for")
        annotations = svc["metadata"].get("annotations", {})
        for ep in sm["spec"].get("endpoints", []):
            if ep.get("port") not in ports:
                problems.append(f"ServiceMonitor port {ep.get('port')} is not a Service port")
            interval, timeout = ep.get("interval", "30s"), ep.get("scrapeTimeout", "10s")
            if parse_duration(timeout) >= parse_duration(interval):
                problems.append(f"scrapeTimeout {timeout} is not below interval {interval}")
            if parse_duration(interval) > 60:
                problems.append(f"interval {interval} over 1m (the rules' rate() windows are 5m)")
            # instance: the Service's annotation naming the database
            instance = None
            for r in ep.get("relabelings", []):
                if r.get("targetLabel") != "instance" or r.get("action", "replace") != "replace":
                    continue
                src = r.get("sourceLabels", [])
                value = next((v for k, v in annotations.items() if [annotation_meta(k)] == src), None)
                if value is None:
                    problems.append(f"instance comes from {src}, not an annotation of the Service")
                    continue
                mt = re.fullmatch(r.get("regex", "(.*)"), value)
                if not mt or not value:
                    problems.append(f"the relabeling's regex does not match the annotation {value!r}")
                    continue
                instance = re.sub(r"\$\{?(\d+)\}?", lambda g: mt.group(int(g.group(1))),
                                  r.get("replacement", "$1"))
            if not instance:
                problems.append("instance is not relabelled to the watched database (it would be the pod's address)")
            elif re.fullmatch(r"[\d.]+(:\d+)?", instance):
                problems.append(f"instance {instance} is an address, not a database name")
        if problems:
            raise Fail("; ".join(problems))
        ep = sm["spec"]["endpoints"][0]
        return (f"every {ep['interval']}, timeout {ep['scrapeTimeout']}, sampleLimit {limit:,}, "
                f"instance={instance}")
    return fn


def check_network_policy(n):
    def fn():
        docs = rendered(n)
        dep, pod, pod_labels = pod_of(docs, n)
        np_, pdb = one(docs, "NetworkPolicy", n), one(docs, "PodDisruptionBudget", n)
        c = pod["containers"][0]
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        problems = []
        spec = np_["spec"]
        if not selects(spec.get("podSelector"), pod_labels):
            problems.append("NetworkPolicy podSelector does not select the exporter's pods")
        if set(spec.get("policyTypes", [])) != {"Ingress", "Egress"}:
            problems.append(f"policyTypes {spec.get('policyTypes')}, expected Ingress and Egress")
        prom_ok, other_ok = False, False
        for rule in spec.get("ingress", []):
            rule_ports = [ports.get(p.get("port"), p.get("port")) for p in rule.get("ports", [])]
            if rule.get("ports") and PORT not in rule_ports:
                continue
            for peer in rule.get("from", []) or [{}]:
                if "ipBlock" in peer:
                    other_ok = True
                    continue
                if "podSelector" not in peer:
                    other_ok = True     # a whole namespace, or everyone
                    continue
                if selects(peer["podSelector"], PROMETHEUS_POD):
                    prom_ok = True
                if selects(peer["podSelector"], OTHER_POD):
                    other_ok = True
            if not rule.get("from"):
                other_ok = True
        if not prom_ok:
            problems.append(f"Prometheus pods ({PROMETHEUS_POD}) may not reach port {PORT}")
        if other_ok:
            problems.append(f"pods other than Prometheus ({OTHER_POD}) may reach port {PORT}")
        dsn = next(d for d in yaml.safe_load_all((KUBE / "secret.example.yaml").read_text())
                   if d and d["kind"] == "Secret")["stringData"]["data-source-name"]
        db_port = urllib.parse.urlsplit(dsn).port or 5432
        egress = [(p.get("protocol", "TCP"), p.get("port")) for r in spec.get("egress", [])
                  for p in r.get("ports", [])]
        for need_ in (("UDP", 53), ("TCP", db_port)):
            if need_ not in egress:
                problems.append(f"egress does not allow {need_[0]} {need_[1]}")
        replicas = dep["spec"].get("replicas", 1)
        if not selects(pdb["spec"].get("selector"), pod_labels):
            problems.append("PodDisruptionBudget does not select the exporter's pods")
        mu, ma = pdb["spec"].get("maxUnavailable"), pdb["spec"].get("minAvailable")
        if (mu is None) == (ma is None):
            problems.append("PodDisruptionBudget needs exactly one of maxUnavailable, minAvailable")
        elif ma is not None and int(ma) >= replicas or mu is not None and int(mu) < 1:
            problems.append(f"PodDisruptionBudget blocks every eviction of {replicas} replica(s): node drains would hang")
        if problems:
            raise Fail("; ".join(problems))
        return (f"ingress only from Prometheus to {PORT}, egress DNS + TCP {db_port}; "
                f"PDB maxUnavailable {mu} of {replicas}")
    return fn


def check_kps_labels():
    problems = []
    for n, kind in ((KPS_EXPORTER, "ServiceMonitor"), (SECOND, "ServiceMonitor"), (KPS_RULES, "PrometheusRule")):
        labels = one(rendered(n), kind, n)["metadata"].get("labels", {})
        for k, v in KPS_LABELS.items():
            if labels.get(k) != v:
                problems.append(f"{n}: the {kind} has {k}={labels.get(k)}, not {v}")
    if problems:
        raise Fail("; ".join(problems))
    return f"{', '.join(f'{k}: {v}' for k, v in KPS_LABELS.items())} on the ServiceMonitor and PrometheusRule of {KPS_EXPORTER}, {KPS_RULES}, {SECOND}"


def check_second_database():
    docs = rendered(EXPORTER) + rendered(SECOND)
    problems = []
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    dups = {x for x in names if names.count(x) > 1}
    if dups:
        problems.append(f"both define {', '.join(f'{k} {n}' for k, n in sorted(dups))}")
    deps = of_kind(docs, "Deployment")
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in deps]
    for kind, sel in (("Service", lambda d: d["spec"].get("selector")),
                      ("NetworkPolicy", lambda d: d["spec"].get("podSelector")),
                      ("PodDisruptionBudget", lambda d: d["spec"].get("selector"))):
        for d in of_kind(docs, kind):
            hit = sum(selects(sel(d), p) for p in pods)
            if hit != 1:
                problems.append(f"{kind} {d['metadata']['name']} selects the pods of {hit} Deployments")
    for d in deps:
        other = [p for p in pods if p is not d["spec"]["template"]["metadata"]["labels"]]
        if any(selects(d["spec"]["selector"], p) for p in other):
            problems.append(f"Deployment {d['metadata']['name']}'s selector matches the other's pods")
    services = of_kind(docs, "Service")
    for sm in of_kind(docs, "ServiceMonitor"):
        hit = sum(selects(sm["spec"].get("selector"), s["metadata"].get("labels", {})) for s in services)
        if hit != 1:
            problems.append(f"ServiceMonitor {sm['metadata']['name']} selects {hit} Services")
    instances = [tuple(sorted(s["metadata"].get("annotations", {}).items())) for s in services]
    if len(set(instances)) != len(instances):
        problems.append("both Services name the same database")
    secrets = [e["valueFrom"]["secretKeyRef"]["name"] for d in deps
               for e in d["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "DATA_SOURCE_NAME"]
    if len(set(secrets)) != len(secrets):
        problems.append("both read the same Secret")
    if problems:
        raise Fail("; ".join(problems))
    return f"{EXPORTER} + {SECOND}: {len(docs)} objects, distinct names, no selector crosses"


def dsn_params(dsn):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(dsn).query))


WEAK_SSLMODE = re.compile(r"sslmode=(disable|allow|prefer|require)\b|no TLS|without TLS")


def check_kube_tls():
    problems = []
    docs = [d for d in yaml.safe_load_all((KUBE / "secret.example.yaml").read_text()) if d]
    secret = next((d for d in docs if d["kind"] == "Secret"), None)
    dsn = (secret or {}).get("stringData", {}).get("data-source-name", "")
    params = dsn_params(dsn)
    dep, pod, _ = pod_of(rendered(EXPORTER), EXPORTER)
    c = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if params.get("sslmode") != "verify-full":
        problems.append(f"secret.example.yaml: the DSN's sslmode is {params.get('sslmode')}, not verify-full")
    if params.get("sslrootcert") != env.get("PGSSLROOTCERT"):
        problems.append(f"secret.example.yaml: sslrootcert {params.get('sslrootcert')} is not the mounted CA {env.get('PGSSLROOTCERT')}")
    vol, key = mounted_file(pod, c, env.get("PGSSLROOTCERT", "")) or ({}, None)
    src = vol.get("configMap") or vol.get("secret") or {}
    ca_obj = next((d for d in docs if d["metadata"]["name"] in (src.get("name"), src.get("secretName"))), None)
    if ca_obj is None or key not in (ca_obj.get("data") or ca_obj.get("stringData") or {}):
        problems.append(f"secret.example.yaml has no {('ConfigMap ' + str(src.get('name'))) if src else 'CA object'} with key {key}")
    texts = sorted(p for p in KUBE.rglob("*") if p.is_file() and p.suffix in (".yaml", ".md", ".py"))
    texts += [DOCKER / "README.md", COMPOSE, ROOT / "docs" / "production.md"]
    for p in texts:
        if p.is_file() and p.name != "prometheusrule.yaml":
            for m in WEAK_SSLMODE.finditer(p.read_text()):
                problems.append(f"{rel(p)} says {m.group(0)!r}")
    if problems:
        raise Fail("; ".join(problems))
    return f"DSN sslmode=verify-full, sslrootcert={params['sslrootcert']} from {ca_obj['kind']} {ca_obj['metadata']['name']}; no weaker sslmode in the docs"


OPTIONAL_SETTINGS = ("PG_EXPORTER_CONFIG_FILE", "PG_EXPORTER_EXTEND_QUERY_PATH", "PG_EXPORTER_WEB_CONFIG_FILE")


def check_optional_files():
    dep, pod, _ = pod_of(rendered(EXPORTER), EXPORTER)
    c = pod["containers"][0]
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all((KUBE / "files.example.yaml").read_text()) if d}
    problems = []
    env_refs = [e["configMapRef"]["name"] for e in c.get("envFrom", []) if "configMapRef" in e]
    env_cm = next((docs[n] for n in env_refs if n in docs), None)
    if env_cm is None:
        raise Fail(f"files.example.yaml has none of the envFrom ConfigMaps {env_refs}")
    readme = (ROOT / "README.md").read_text()
    shown = []
    for name in OPTIONAL_SETTINGS:
        if f"`{name}`" not in readme:
            problems.append(f"{name} is not a setting in README.md's flag table")
        path = env_cm["data"].get(name)
        if not path:
            problems.append(f"{env_cm['metadata']['name']} does not set {name}")
            continue
        found = mounted_file(pod, c, path)
        if not found:
            problems.append(f"{name}={path} is not in a mounted ConfigMap or Secret")
            continue
        vol, key = found
        src = vol.get("configMap") or vol.get("secret")
        if not src.get("optional"):
            problems.append(f"volume {vol['name']} is not optional")
        obj = docs.get(src.get("name") or src.get("secretName"))
        data = (obj or {}).get("data") or (obj or {}).get("stringData") or {}
        if key not in data:
            problems.append(f"{name}={path}: files.example.yaml has no {src.get('name') or src.get('secretName')} with {key}")
            continue
        try:
            yaml.safe_load(data[key])
        except yaml.YAMLError as e:
            problems.append(f"{key} in files.example.yaml is not YAML: {e}")
        shown.append(f"{name} -> {vol['name']}")
    if problems:
        raise Fail("; ".join(problems))
    return f"optional volumes and envFrom: {', '.join(shown)}"


def check_prometheusrule_fresh():
    script = KUBE / "generate-prometheusrule.py"
    p = subprocess.run([sys.executable, str(script), "--stdout"], capture_output=True, text=True)
    if p.returncode != 0:
        raise Fail(f"generate-prometheusrule.py failed: {p.stderr.strip()}")
    again = subprocess.run([sys.executable, str(script), "--stdout"], capture_output=True, text=True)
    if again.stdout != p.stdout:
        raise Fail("generate-prometheusrule.py output is not deterministic")
    current = (KUBE / RULES / "prometheusrule.yaml").read_text()
    if current != p.stdout:
        raise Fail("rules/prometheusrule.yaml differs from generate-prometheusrule.py's output: "
                   "run python3 deploy/kubernetes/generate-prometheusrule.py")
    if not current.startswith("# GENERATED by deploy/kubernetes/generate-prometheusrule.py"):
        raise Fail("rules/prometheusrule.yaml has no generated-by header")
    return "rules/prometheusrule.yaml up to date with alerts/*.rules.yml"


def check_prometheusrule_rules():
    rule = one(rendered(RULES), "PrometheusRule", RULES)
    if rule.get("apiVersion") != "monitoring.coreos.com/v1":
        raise Fail(f"apiVersion {rule.get('apiVersion')}")
    groups = []
    for path in sorted(glob.glob(str(ROOT / "alerts" / "*.rules.yml"))):
        groups += load_yaml(path)["groups"]
    for n in RULES_OVERLAYS:
        if one(rendered(n), "PrometheusRule", n)["spec"]["groups"] != groups:
            raise Fail(f"{n}: spec.groups differ from the groups of alerts/*.rules.yml")
    promtool = need("promtool", "prometheus")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "prometheusrule-spec.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": rule["spec"]["groups"]}, f, sort_keys=False)
        p = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    if p.returncode != 0:
        raise Fail("promtool check rules: " + " | ".join(l.strip() for l in (p.stdout + p.stderr).splitlines() if l.strip()))
    n = sum(len(g["rules"]) for g in groups)
    alerts = sum(1 for g in groups for r in g["rules"] if "alert" in r)
    return f"{len(groups)} groups, {n} rules ({alerts} alerts), same as alerts/; promtool check rules: SUCCESS"


# ------------------------------------------------------------------- docs --

def slug(heading):
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def check_doc_links():
    pages = [ROOT / "docs" / "production.md", KUBE / "README.md", DOCKER / "README.md"]
    problems, count = [], 0
    for page in pages:
        if not page.is_file():
            problems.append(f"{rel(page)} does not exist")
            continue
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            count += 1
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                problems.append(f"{rel(page)}: link {target}: {rel(dest)} does not exist")
            elif anchor and dest.suffix == ".md":
                heads = {slug(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(), re.M)}
                if anchor not in heads:
                    problems.append(f"{rel(page)}: link {target}: no heading #{anchor} in {rel(dest)}")
    if problems:
        raise Fail("; ".join(problems))
    return f"{count} relative links in {', '.join(rel(p) for p in pages)} resolve"


CHECKS = [
    ("compose.yml parses", check_compose_parses),
    *[(f"compose {name}: mounted paths exist", check_service_paths(name))
      for name in ("postgres", "exporter", "prometheus", "alertmanager", "grafana")],
    ("compose postgres: pg_stat_statements, festivals, schema", check_postgres),
    ("compose exporter: DSN and password file", check_exporter_service),
    ("compose TLS: PostgreSQL serves it, the exporter verifies it", check_compose_tls),
    ("grafana datasource", check_grafana_datasource),
    ("grafana dashboards", check_grafana_dashboards),
    ("prometheus promtool check config", check_promtool_config),
    ("prometheus targets", check_prometheus_targets),
    ("alertmanager amtool check-config", check_amtool),
    ("Dockerfile build command", check_build_command),
    ("Dockerfile", check_dockerfile),
    ("Dockerfile base images and Rust version", check_base_images),
    ("kubernetes kustomizations render", check_kustomizations),
    ("kubernetes exporter and rules apart", check_apart),
    *[(f"kubernetes {n}: Deployment", check_deployment(n)) for n in EXPORTER_OVERLAYS],
    *[(f"kubernetes {n}: Service + ServiceMonitor", check_service_monitor(n)) for n in EXPORTER_OVERLAYS],
    *[(f"kubernetes {n}: NetworkPolicy + PodDisruptionBudget", check_network_policy(n))
      for n in EXPORTER_OVERLAYS],
    ("kubernetes memory sizing in README.md", check_memory_docs),
    ("kubernetes kube-prometheus-stack labels", check_kps_labels),
    ("kubernetes second database beside the first", check_second_database),
    ("kubernetes TLS to PostgreSQL", check_kube_tls),
    ("kubernetes optional files", check_optional_files),
    ("kubernetes rules/prometheusrule.yaml generated", check_prometheusrule_fresh),
    ("kubernetes PrometheusRule rules", check_prometheusrule_rules),
    ("docs links", check_doc_links),
]


def main():
    for name, fn in CHECKS:
        run(name, fn)
    print(f"deploy: {results['ok']} passed, {results['FAIL']} failed")
    return 1 if results["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
