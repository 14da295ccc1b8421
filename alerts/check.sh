#!/usr/bin/env bash
# Checks the alert rules: promtool syntax check, promtool unit tests, and the
# consistency checks promtool cannot do:
#   - every alert has a severity (critical: pages; warning: working hours),
#     the overridable team and service labels, a summary, description and a
#     runbook_url whose anchor is a heading of docs/runbooks.md (GitHub slugs);
#   - no alert label carries statement text (no `query` label in a test's
#     expected alert labels);
#   - rules over every table (or index) with ranges of an hour or more are in
#     a group evaluated at most every 5 minutes;
#   - every runbook heading that looks like an alert name belongs to an alert,
#     and the runbook's links to its own sections resolve;
#   - every alert has a unit test where it fires and one where it must not;
#   - every festival_pg:threshold:* series is used by an alert and watched by
#     PostgresAlertThresholdMissing;
#   - docker/alertmanager/alertmanager.yml passes `amtool check-config`, routes
#     critical alerts to the pager and warnings to tickets, and its
#     inhibit_rules name existing alerts with their severities.
# Needs promtool (Debian package `prometheus`), amtool (Debian package
# `prometheus-alertmanager`) and python3 with PyYAML. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool check rules alerts/*.yml
promtool test rules alerts/tests/*.yml

am=docker/alertmanager/alertmanager.yml
amtool check-config "$am" >/dev/null
for want in "severity=critical team=festival-ops:festival-ops-pager" \
            "severity=warning team=festival-ops:festival-ops-tickets" \
            "severity=critical team=another-team:festival-ops-pager" \
            "severity=warning team=another-team:festival-ops-tickets"; do
  labels=${want%%:*} receiver=${want#*:}
  # shellcheck disable=SC2086
  got=$(amtool config routes test --config.file="$am" $labels 2>/dev/null)
  if [[ $got != "$receiver" ]]; then
    echo "ERROR: $am routes {$labels} to '$got', expected $receiver" >&2
    exit 1
  fi
done

python3 - <<'EOF'
import glob, re, sys

RUNBOOK_BASE = "https://github.com/festival-platform/festival-pg-exporter/blob/main/docs/runbooks.md#"
errors = []

def slug(heading):
    # GitHub: lowercase, drop punctuation except '-' and '_', spaces to '-'.
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")

runbook = open("docs/runbooks.md").read()
anchors = {slug(h) for h in re.findall(r"^#{1,6} (.+)$", runbook, re.M)}

rules = open("alerts/festival-pg.rules.yml").read()
# Split into alert blocks: from "- alert:" to the next rule.
blocks = re.split(r"\n(?=      - (?:alert|record): )", rules)
alerts = {}
for b in blocks:
    m = re.match(r"\s*- alert: (\w+)", b)
    if not m:
        continue
    name = m.group(1)
    if name in alerts:
        errors.append(f"{name}: defined twice")
    alerts[name] = b
    sev = re.search(r"\n\s+severity: (\S+)", b)
    if not sev or sev.group(1) not in ("critical", "warning"):
        errors.append(f"{name}: severity must be critical or warning")
    for label, default in (("team", "festival-ops"), ("service", "postgresql")):
        want = f"{label}: '{{{{ with $labels.{label} }}}}{{{{ . }}}}{{{{ else }}}}{default}{{{{ end }}}}'"
        if want not in b:
            errors.append(f"{name}: no label {want} (the target's {label}, else the default)")
    for key in ("summary", "description", "runbook_url"):
        if not re.search(rf"\n\s+{key}: ", b):
            errors.append(f"{name}: no {key} annotation")
    url = re.search(r"runbook_url: \"([^\"]+)\"", b)
    if url:
        u = url.group(1)
        if not u.startswith(RUNBOOK_BASE):
            errors.append(f"{name}: runbook_url does not point to docs/runbooks.md: {u}")
        elif u[len(RUNBOOK_BASE):] not in anchors:
            errors.append(f"{name}: runbook anchor #{u[len(RUNBOOK_BASE):]} is not a heading of docs/runbooks.md")
        elif u[len(RUNBOOK_BASE):] != slug(name):
            errors.append(f"{name}: runbook anchor should be #{slug(name)}")

for link in set(re.findall(r"\]\(#([^)]+)\)", runbook)):
    if link not in anchors:
        errors.append(f"docs/runbooks.md: link to #{link}, which is no heading")

for h in re.findall(r"^## (Postgres\w+)$", runbook, re.M):
    if h not in alerts:
        errors.append(f"docs/runbooks.md: section {h} has no alert")

# Unit test coverage: a firing case and a quiet case per alert.
fires, quiet = set(), set()
for path in glob.glob("alerts/tests/*.yml"):
    text = open(path).read()
    for m in re.finditer(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?", text):
        (quiet if m.group(2) else fires).add(m.group(1))
for name in alerts:
    if name not in fires:
        errors.append(f"{name}: no unit test where it fires")
    if name not in quiet:
        errors.append(f"{name}: no unit test where it must not fire")

# Statement text belongs in annotations, never in an alert's labels.
for path in glob.glob("alerts/tests/*.yml"):
    for m in re.finditer(r"exp_labels:\n((?:\s+\w+: .*\n)+)", open(path).read()):
        if re.search(r"^\s+query: ", m.group(1), re.M):
            errors.append(f"{path}: an alert with a query label (statement text): {m.group(1).split()}")

# Heavy rules: a range of 1h or more over a per-table or per-index family is
# evaluated in a group with an interval of at least 5 minutes.
import yaml
def seconds(d):
    return sum(int(n) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[u] for n, u in re.findall(r"(\d+)([smhdw])", d))
for g in yaml.safe_load(rules)["groups"]:
    interval = seconds(g.get("interval", "0s"))
    for r in g["rules"]:
        expr = r["expr"]
        for m in re.finditer(r"(pg_(?:stat_user_tables|statio_user_tables|table|index|stat_user_indexes|statio_user_indexes)\w*)(?:\{[^}]*\})?\[(\d+[smhdw])\]", expr):
            if seconds(m.group(2)) >= 3600 and interval < 300:
                errors.append(f"{r.get('alert') or r.get('record')}: {m.group(1)}[{m.group(2)}] over every table in group {g['name']}, "
                              f"evaluated every {g.get('interval', 'evaluation_interval')}: move it to a group with interval >= 5m")

# Alertmanager inhibitions: the alerts they name exist, with the severity the
# rule matches.
am = yaml.safe_load(open("docker/alertmanager/alertmanager.yml"))
severity = {n: re.search(r"\n\s+severity: (\S+)", b).group(1) for n, b in alerts.items() if re.search(r"\n\s+severity: (\S+)", b)}
for i, rule in enumerate(am.get("inhibit_rules", [])):
    for side in ("source_matchers", "target_matchers"):
        ms = dict(re.match(r'\s*(\w+)\s*(=~|=)\s*"([^"]*)"', m).group(1, 3) for m in rule.get(side, []))
        names = ms.get("alertname")
        if names is None:
            continue
        for n in names.split("|"):
            if n not in alerts:
                errors.append(f"alertmanager.yml inhibit_rules[{i}] {side}: no alert {n}")
            elif "severity" in ms and severity.get(n) != ms["severity"]:
                errors.append(f"alertmanager.yml inhibit_rules[{i}] {side}: {n} has severity {severity.get(n)}, not {ms['severity']}")

# Thresholds: used, and watched for absence.
thresholds = re.findall(r"record: festival_pg:threshold:(\w+)", open("alerts/festival-pg-thresholds.rules.yml").read())
missing_rule = alerts.get("PostgresAlertThresholdMissing", "")
for t in thresholds:
    uses = [a for a, b in alerts.items() if a != "PostgresAlertThresholdMissing" and f"festival_pg:threshold:{t}" in b]
    if not uses:
        errors.append(f"threshold {t}: used by no alert")
    if f'absent(festival_pg:threshold:{t}), "threshold", "{t}"' not in missing_rule:
        errors.append(f"threshold {t}: not watched by PostgresAlertThresholdMissing")
for t in re.findall(r"festival_pg:threshold:(\w+)", rules):
    if t not in thresholds:
        errors.append(f"threshold {t}: used in festival-pg.rules.yml but not defined")

for e in errors:
    print("ERROR:", e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"consistency: {len(alerts)} alerts, {len(thresholds)} thresholds, {len(anchors)} runbook headings: OK")
EOF
