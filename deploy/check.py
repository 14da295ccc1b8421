#!/usr/bin/env python3
"""Checks docker/ and deploy/kubernetes/ as far as possible without Docker or a cluster.

- docker/compose.yml parses, has the festival-ops services, and every host
  path a service mounts (bind mounts, secret files, build context) exists;
- PostgreSQL preloads pg_stat_statements and initialises the festival schema;
  the exporter's DSN carries no password, which comes from a secret file;
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
- deploy/kubernetes/: probes, resources, security context, secret-mounted
  DSN, Service/ServiceMonitor wiring; prometheusrule.yaml equals what
  generate-prometheusrule.py produces now, holds exactly the rules of alerts/,
  and passes `promtool check rules`.

Prints one line per check and `deploy: N passed, M failed`; exits 1 if M > 0.
Needs python3 with PyYAML, and promtool (Debian package `prometheus`).
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
    g = doc.get("global", {})
    if parse_duration(g.get("scrape_interval", "1m")) > 60:
        problems.append("scrape_interval over 1m (the rules' rate() windows are 5m)")
    if problems:
        raise Fail("; ".join(problems))
    return f"scrapes exporter:{PORT}, alerts to alertmanager:9093"


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


_kube = None


def kube():
    """kind -> manifest for every YAML document in deploy/kubernetes/."""
    global _kube
    if _kube is None:
        _kube = {}
        for path in sorted(KUBE.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if doc:
                    _kube.setdefault(doc["kind"], (path.name, doc))
    return _kube


def manifest(kind):
    if kind not in kube():
        raise Fail(f"no {kind} in deploy/kubernetes/")
    return kube()[kind][1]


def check_kustomization():
    kust = load_yaml(KUBE / "kustomization.yaml")
    listed = kust.get("resources", [])
    problems = [f"{r} does not exist" for r in listed if not (KUBE / r).is_file()]
    for kind in ("Deployment", "Service", "ServiceMonitor", "PrometheusRule"):
        if kind not in kube():
            problems.append(f"no {kind}")
        elif kube()[kind][0] not in listed:
            problems.append(f"{kube()[kind][0]} ({kind}) not in kustomization.yaml")
    if problems:
        raise Fail("; ".join(problems))
    return f"parses; resources {', '.join(listed)}"


def check_deployment():
    dep = manifest("Deployment")
    pod = dep["spec"]["template"]["spec"]
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
    env = {e["name"]: e for e in c.get("env", [])}
    dsn = env.get("DATA_SOURCE_NAME", {})
    if "secretKeyRef" not in dsn.get("valueFrom", {}):
        problems.append("DATA_SOURCE_NAME is not from a Secret key")
    pass_file = env.get("DATA_SOURCE_PASS_FILE", {}).get("value", "")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    found = False
    for m in c.get("volumeMounts", []):
        vol = volumes.get(m["name"], {})
        if "secret" in vol and pass_file.startswith(m["mountPath"].rstrip("/") + "/"):
            item = pass_file[len(m["mountPath"].rstrip("/")) + 1:]
            items = vol["secret"].get("items")
            found = items is None or item in [i["path"] for i in items]
    if not found:
        problems.append(f"DATA_SOURCE_PASS_FILE {pass_file!r} is not a file of a mounted Secret")
    if problems:
        raise Fail("; ".join(problems))
    return (f"probes /healthz + /readyz, resources {res['requests']['cpu']}/{res['requests']['memory']}"
            f" - {res['limits']['cpu']}/{res['limits']['memory']}, non-root, read-only root,"
            f" DSN from secret, password file {pass_file}")


def check_service_monitor():
    dep, svc, sm = manifest("Deployment"), manifest("Service"), manifest("ServiceMonitor")
    problems = []
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    sel = svc["spec"].get("selector", {})
    if not sel or any(pod_labels.get(k) != v for k, v in sel.items()):
        problems.append("Service selector does not match the pod labels")
    ports = {p.get("name"): p for p in svc["spec"].get("ports", [])}
    if ports.get("http-metrics", {}).get("port") != PORT:
        problems.append(f"Service has no port http-metrics = {PORT}")
    if sm.get("apiVersion") != "monitoring.coreos.com/v1":
        problems.append(f"ServiceMonitor apiVersion {sm.get('apiVersion')}")
    match = sm["spec"].get("selector", {}).get("matchLabels", {})
    if not match or any(svc["metadata"].get("labels", {}).get(k) != v for k, v in match.items()):
        problems.append("ServiceMonitor selector does not match the Service labels")
    for ep in sm["spec"].get("endpoints", []):
        if ep.get("port") not in ports:
            problems.append(f"ServiceMonitor port {ep.get('port')} is not a Service port")
        interval, timeout = ep.get("interval", "30s"), ep.get("scrapeTimeout", "10s")
        if parse_duration(timeout) >= parse_duration(interval):
            problems.append(f"scrapeTimeout {timeout} is not below interval {interval}")
        if parse_duration(interval) > 60:
            problems.append(f"interval {interval} over 1m (the rules' rate() windows are 5m)")
    if problems:
        raise Fail("; ".join(problems))
    ep = sm["spec"]["endpoints"][0]
    return f"Service port http-metrics={PORT}; ServiceMonitor every {ep['interval']}, timeout {ep['scrapeTimeout']}"


def check_prometheusrule_fresh():
    script = KUBE / "generate-prometheusrule.py"
    p = subprocess.run([sys.executable, str(script), "--stdout"], capture_output=True, text=True)
    if p.returncode != 0:
        raise Fail(f"generate-prometheusrule.py failed: {p.stderr.strip()}")
    again = subprocess.run([sys.executable, str(script), "--stdout"], capture_output=True, text=True)
    if again.stdout != p.stdout:
        raise Fail("generate-prometheusrule.py output is not deterministic")
    current = (KUBE / "prometheusrule.yaml").read_text()
    if current != p.stdout:
        raise Fail("prometheusrule.yaml differs from generate-prometheusrule.py's output: "
                   "run python3 deploy/kubernetes/generate-prometheusrule.py")
    if not current.startswith("# GENERATED by deploy/kubernetes/generate-prometheusrule.py"):
        raise Fail("prometheusrule.yaml has no generated-by header")
    return "up to date with alerts/*.rules.yml"


def check_prometheusrule_rules():
    rule = manifest("PrometheusRule")
    if rule.get("apiVersion") != "monitoring.coreos.com/v1":
        raise Fail(f"apiVersion {rule.get('apiVersion')}")
    groups = []
    for path in sorted(glob.glob(str(ROOT / "alerts" / "*.rules.yml"))):
        groups += load_yaml(path)["groups"]
    if rule["spec"]["groups"] != groups:
        raise Fail("spec.groups differ from the groups of alerts/*.rules.yml")
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


CHECKS = [
    ("compose.yml parses", check_compose_parses),
    *[(f"compose {name}: mounted paths exist", check_service_paths(name))
      for name in ("postgres", "exporter", "prometheus", "alertmanager", "grafana")],
    ("compose postgres: pg_stat_statements, festivals, schema", check_postgres),
    ("compose exporter: DSN and password file", check_exporter_service),
    ("grafana datasource", check_grafana_datasource),
    ("grafana dashboards", check_grafana_dashboards),
    ("prometheus promtool check config", check_promtool_config),
    ("prometheus targets", check_prometheus_targets),
    ("alertmanager amtool check-config", check_amtool),
    ("Dockerfile build command", check_build_command),
    ("Dockerfile", check_dockerfile),
    ("kubernetes kustomization", check_kustomization),
    ("kubernetes Deployment", check_deployment),
    ("kubernetes Service + ServiceMonitor", check_service_monitor),
    ("kubernetes prometheusrule.yaml generated", check_prometheusrule_fresh),
    ("kubernetes PrometheusRule rules", check_prometheusrule_rules),
]


def main():
    for name, fn in CHECKS:
        run(name, fn)
    print(f"deploy: {results['ok']} passed, {results['FAIL']} failed")
    return 1 if results["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
