# shellcheck shell=bash disable=SC2034
# festival-stack.sh — shared start-up functions for the scripts that run the
# whole festival-ops stack on one machine without Docker: a throwaway
# PostgreSQL with schema/festival.sql, festival-pg-exporter, Prometheus with a
# temp copy of alerts/*.yml, Alertmanager and a small webhook receiver. Sourced
# (never run) by scripts/demo and scripts/e2e, which start that whole stack,
# by scripts/compat (PostgreSQL, any postgres_exporter-compatible exporter and
# Prometheus with postgres_exporter's mixin rules, no Alertmanager), and by
# scripts/bench, scripts/load and scripts/compare-exposition, which use only
# the PostgreSQL part (tools, temp dir, free ports, the cluster, psql) and
# their own exporter runs (see the function list below). Its Python
# lives next to it: scripts/lib/net.py (free port, HTTP wait) and
# scripts/lib/webhook.py (the webhook receiver).
#
# The caller sets FS_TMP to a temp dir of its own (fs_tmpdir makes one),
# starts things with the fs_start_* functions, and calls fs_stop_all from its
# exit trap: that stops exactly the processes recorded in FS_PIDS and the
# PostgreSQL cluster in FS_PGDATA, and waits for them (bounded). Nothing here
# installs, builds or deletes anything outside FS_TMP; every wait is bounded;
# everything listens on 127.0.0.1 only. Functions print their complaints on
# stderr and return non-zero; what to do then is the caller's business.
#
#   fs_find_tools [--pgbench] [--no-prometheus]
#                               PostgreSQL bin dir, psql (and pgbench),
#                               Prometheus, Alertmanager (not with
#                               --no-prometheus) -> FS_BINDIR, FS_PSQL,
#                               FS_PGBENCH, PROMETHEUS_BIN, ALERTMANAGER_BIN
#   fs_find_prometheus          Prometheus and Alertmanager only
#   fs_tmpdir PREFIX            mktemp -d readable by the postgres OS user -> FS_TMP
#   fs_free_port                an unused TCP port on 127.0.0.1 (stdout)
#   fs_as_pg CMD...             runs a server program as the cluster owner
#   fs_pg_init                  initdb in FS_TMP/pg/data with the test settings
#   fs_pg_start PORT            pg_ctl start (FS_PG_PORT on success)
#   fs_pg_start_any [PORT]      PORT, or up to 5 free ports until one works
#   fs_pg_stop [MODE] [SECONDS] pg_ctl stop (fast, 20 s by default; then immediate)
#   fs_psql DB ARGS...          psql -X -q -At, ON_ERROR_STOP, 60 s statement timeout
#                               (FS_PGOPTIONS, FS_APPNAME, FS_PSQL_TIMEOUT change it)
#   fs_load_schema [DB]         CREATE DATABASE festivals, schema/festival.sql, VACUUM ANALYZE
#   fs_start_exporter ADDR ARGS...   festival-pg-exporter on ADDR -> FS_EXPORTER_PID
#                               (database FS_EXPORTER_DB, default festivals;
#                               FS_EXPORTER_CLEAN_ENV=1: with PATH as its only
#                               environment variable; FS_EXPORTER_DSN_ENV=1:
#                               the DSN in DATA_SOURCE_NAME, not a flag, so any
#                               postgres_exporter-compatible binary starts)
#   fs_rules_copy DIR FOR [NAME=VALUE]...   alerts/*.yml into DIR, every `for:`
#                               set to FOR, festival_pg:threshold:NAME set to VALUE
#   fs_start_webhook LOG [PORT] webhook receiver, one JSON line per notification
#                               -> FS_WEBHOOK_PORT
#   fs_start_alertmanager PORT WEBHOOK_URL [GROUP_WAIT] [GROUP_INTERVAL]
#                               (receiver name: FS_AM_RECEIVER, default webhook)
#   fs_start_prometheus PORT TARGET AM_ADDR RULES_DIR INTERVAL [JOB] [ARGS...]
#                               (scrape timeout FS_SCRAPE_TIMEOUT, default 80 %
#                               of INTERVAL; an empty AM_ADDR: no alerting
#                               section, an empty RULES_DIR: no rule files)
#   fs_wait_http URL SECONDS [PID]  until URL answers 2xx (or PID has exited)
#   fs_stop_all                 stop everything recorded, bounded
#
# Run as root (PostgreSQL then runs as the `postgres` OS user) or as any user
# who can run initdb. Needs bash 4.3+, python3 and the repository root as the
# current directory (schema/ and alerts/ are read from there).

FS_TMP=${FS_TMP:-}
FS_BINDIR=${FS_BINDIR:-}
FS_PSQL=${FS_PSQL:-}
FS_PGBENCH=${FS_PGBENCH:-}
FS_PGDATA=${FS_PGDATA:-}
FS_PG_PORT=${FS_PG_PORT:-}
FS_EXPORTER_PID=""
FS_WEBHOOK_PORT=""
FS_PIDS=()   # every background process started through these functions

fs_err() { printf '%s\n' "$*" >&2; }

fs_find_tools() { # [--pgbench] [--no-prometheus]
  local want_pgbench=0 want_prometheus=1 arg
  for arg in "$@"; do
    case $arg in
      --pgbench) want_pgbench=1 ;;
      --no-prometheus) want_prometheus=0 ;;
      *) fs_err "fs_find_tools: unknown option $arg"; return 1 ;;
    esac
  done
  command -v python3 >/dev/null || { fs_err "python3 not found"; return 1; }
  FS_BINDIR=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}
  if [[ -z $FS_BINDIR || ! -x $FS_BINDIR/initdb ]]; then
    # Debian's postgresql package keeps the server programs out of PATH.
    local d
    for d in /usr/lib/postgresql/*/bin; do [[ -x $d/initdb ]] && FS_BINDIR=$d; done
  fi
  if [[ -z $FS_BINDIR || ! -x $FS_BINDIR/initdb || ! -x $FS_BINDIR/pg_ctl ]]; then
    fs_err "no PostgreSQL server binaries (initdb, pg_ctl): install postgresql or set PG_BINDIR"
    return 1
  fi
  FS_PSQL=${PSQL:-}
  if [[ -z $FS_PSQL ]]; then
    if [[ -x $FS_BINDIR/psql ]]; then FS_PSQL=$FS_BINDIR/psql; else FS_PSQL=$(command -v psql || true); fi
  fi
  [[ -n $FS_PSQL && -x $FS_PSQL ]] || { fs_err "psql not found: install postgresql-client or set PSQL"; return 1; }
  if ((want_pgbench)); then
    FS_PGBENCH=${PGBENCH:-}
    if [[ -z $FS_PGBENCH ]]; then
      if [[ -x $FS_BINDIR/pgbench ]]; then FS_PGBENCH=$FS_BINDIR/pgbench; else FS_PGBENCH=$(command -v pgbench || true); fi
    fi
    [[ -n $FS_PGBENCH && -x $FS_PGBENCH ]] ||
      { fs_err "pgbench not found (Debian: package postgresql-contrib/postgresql, in $FS_BINDIR): set PGBENCH"; return 1; }
  fi
  if ((want_prometheus)); then
    fs_find_prometheus || return 1
  fi
  if ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    fs_err "running as root needs a postgres OS user to run PostgreSQL as"
    return 1
  fi
}

fs_find_prometheus() { # -> PROMETHEUS_BIN, ALERTMANAGER_BIN
  PROMETHEUS_BIN=${PROMETHEUS_BIN:-}
  if [[ -z $PROMETHEUS_BIN ]]; then
    if [[ -x /usr/bin/prometheus ]]; then PROMETHEUS_BIN=/usr/bin/prometheus
    else PROMETHEUS_BIN=$(command -v prometheus || true); fi
  fi
  [[ -n $PROMETHEUS_BIN && -x $PROMETHEUS_BIN ]] ||
    { fs_err "Prometheus not found: install the Debian package prometheus or set PROMETHEUS_BIN"; return 1; }
  ALERTMANAGER_BIN=${ALERTMANAGER_BIN:-}
  if [[ -z $ALERTMANAGER_BIN ]]; then
    if [[ -x /usr/bin/prometheus-alertmanager ]]; then ALERTMANAGER_BIN=/usr/bin/prometheus-alertmanager
    else ALERTMANAGER_BIN=$(command -v alertmanager || true); fi
  fi
  [[ -n $ALERTMANAGER_BIN && -x $ALERTMANAGER_BIN ]] ||
    { fs_err "Alertmanager not found: install the Debian package prometheus-alertmanager or set ALERTMANAGER_BIN"; return 1; }
}

fs_tmpdir() { # PREFIX
  FS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || return 1
  chmod 755 "$FS_TMP"   # the postgres OS user writes its data dir below it
}

fs_free_port() {
  python3 -B scripts/lib/net.py free-port
}

fs_as_pg() { # runs a PostgreSQL server program as the cluster owner
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# initdb with the settings the throwaway clusters share: loopback only,
# pg_stat_statements preloaded, durability off (nothing here is worth an
# fsync), track_io_timing and log_lock_waits on. The caller may append more
# settings to $FS_PGDATA/postgresql.conf before fs_pg_start: later lines win.
fs_pg_init() {
  mkdir -p "$FS_TMP/pg"
  ((EUID == 0)) && chown postgres:postgres "$FS_TMP/pg"
  FS_PGDATA=$FS_TMP/pg/data
  if ! fs_as_pg "$FS_BINDIR/initdb" -D "$FS_PGDATA" -U postgres --auth=trust --no-locale -E UTF8 --no-sync \
    >"$FS_TMP/initdb.log" 2>&1; then
    cat "$FS_TMP/initdb.log" >&2
    fs_err "initdb failed"
    return 1
  fi
  cat >>"$FS_PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$FS_TMP/pg'
shared_preload_libraries = 'pg_stat_statements'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 16MB
autovacuum_naptime = 1
track_io_timing = on
log_lock_waits = on
EOF
}

fs_pg_start() { # PORT
  fs_as_pg "$FS_BINDIR/pg_ctl" -D "$FS_PGDATA" -l "$FS_TMP/pg/server.log" -o "-p $1" -w -t 60 start \
    >/dev/null 2>&1 || return 1
  FS_PG_PORT=$1
}

fs_pg_start_any() { # [PORT]: that port, or the first of up to 5 free ones that works
  if [[ -n ${1:-} ]]; then
    fs_pg_start "$1" || { fs_err "PostgreSQL did not start on port $1 (see $FS_TMP/pg/server.log)"; return 1; }
    return 0
  fi
  local _ port
  for _ in 1 2 3 4 5; do
    port=$(fs_free_port) || return 1
    fs_pg_start "$port" && return 0
  done
  fs_err "PostgreSQL did not start: $(tail -n 3 "$FS_TMP/pg/server.log" 2>/dev/null)"
  return 1
}

fs_pg_stop() { # [MODE] [SECONDS]: then immediate (20 s) if that did not stop it
  [[ -n $FS_PGDATA && -f $FS_PGDATA/postmaster.pid ]] || return 0
  fs_as_pg "$FS_BINDIR/pg_ctl" -D "$FS_PGDATA" -m "${1:-fast}" -w -t "${2:-20}" stop >/dev/null 2>&1 ||
    fs_as_pg "$FS_BINDIR/pg_ctl" -D "$FS_PGDATA" -m immediate -w -t 20 stop >/dev/null 2>&1
}

# FS_PGOPTIONS replaces the statement timeout (PGOPTIONS), FS_APPNAME names
# the session (application_name), FS_PSQL_TIMEOUT (seconds) bounds the whole
# psql run with timeout(1).
fs_psql() { # DB ARGS...: quiet, unaligned, stops on the first error
  local db=$1 bound=()
  shift
  [[ -n ${FS_PSQL_TIMEOUT:-} ]] && bound=(timeout -k 5 "$FS_PSQL_TIMEOUT")
  PGOPTIONS=${FS_PGOPTIONS:-'-c statement_timeout=60s'} PGCONNECT_TIMEOUT=5 PGAPPNAME=${FS_APPNAME:-festival-stack} \
    ${bound[@]+"${bound[@]}"} "$FS_PSQL" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$FS_PG_PORT" -U postgres -d "$db" "$@"
}

fs_load_schema() { # [DB]: creates DB (festivals) and loads schema/festival.sql into it
  local db=${1:-festivals}
  fs_psql postgres -c "CREATE DATABASE $db" || { fs_err "CREATE DATABASE $db failed"; return 1; }
  if ! { fs_psql "$db" -f schema/festival.sql && fs_psql "$db" -c "VACUUM ANALYZE"; } >"$FS_TMP/schema.log" 2>&1; then
    sed 's/^/    /' "$FS_TMP/schema.log" >&2
    fs_err "schema/festival.sql failed to load"
    return 1
  fi
}

fs_start_exporter() { # ADDR [ARGS...]: against FS_PG_PORT's festivals, log in FS_TMP/exporter.log
  local addr=$1 run=(env) dsn dsn_flag=()
  shift
  dsn="postgresql://postgres@127.0.0.1:$FS_PG_PORT/${FS_EXPORTER_DB:-festivals}?sslmode=disable"
  [[ ${FS_EXPORTER_CLEAN_ENV:-0} == 1 ]] && run=(env -i PATH="$PATH")
  if [[ ${FS_EXPORTER_DSN_ENV:-0} == 1 ]]; then run+=(DATA_SOURCE_NAME="$dsn"); else dsn_flag=(--data-source-name "$dsn"); fi
  "${run[@]}" "$EXPORTER_BIN" ${dsn_flag[@]+"${dsn_flag[@]}"} \
    --web.listen-address "$addr" "$@" >>"$FS_TMP/exporter.log" 2>&1 &
  FS_EXPORTER_PID=$!
  FS_PIDS+=("$FS_EXPORTER_PID")
}

# The shipped rules with every `for:` set to FOR and some thresholds changed
# through their festival_pg:threshold:NAME recording rules; the alert
# expressions stay the shipped ones.
fs_rules_copy() { # DIR FOR [NAME=VALUE]...
  local dir=$1 for=$2 kv name value
  shift 2
  mkdir -p "$dir"
  cp alerts/*.yml "$dir/"
  sed -i -E "s/^([[:space:]]+for:[[:space:]]*)[0-9][0-9a-z]*[[:space:]]*$/\1$for/" "$dir/"*.yml
  for kv in "$@"; do
    name=${kv%%=*} value=${kv#*=}
    grep -q "record: festival_pg:threshold:$name\$" "$dir/festival-pg-thresholds.rules.yml" ||
      { fs_err "no threshold festival_pg:threshold:$name in alerts/"; return 1; }
    sed -i -E "/record: festival_pg:threshold:$name\$/{n;s/vector\([^)]*\)/vector($value)/}" \
      "$dir/festival-pg-thresholds.rules.yml"
  done
}

# A webhook receiver for Alertmanager: appends every notification it gets to
# LOG as one JSON object per line (with "received" added, Unix seconds).
fs_start_webhook() { # LOG [PORT]
  local log=$1 port=${2:-0} i
  rm -f "$FS_TMP/webhook.port"
  python3 -B scripts/lib/webhook.py "$log" "$FS_TMP/webhook.port" "$port" >"$FS_TMP/webhook.log" 2>&1 &
  FS_PIDS+=($!)
  for ((i = 0; i < 100; i++)); do [[ -s $FS_TMP/webhook.port ]] && break; sleep 0.1; done
  [[ -s $FS_TMP/webhook.port ]] || { fs_err "the webhook receiver did not start: $(cat "$FS_TMP/webhook.log")"; return 1; }
  FS_WEBHOOK_PORT=$(<"$FS_TMP/webhook.port")
}

fs_start_alertmanager() { # PORT WEBHOOK_URL [GROUP_WAIT] [GROUP_INTERVAL]
  local port=$1 url=$2 receiver=${FS_AM_RECEIVER:-webhook}
  cat >"$FS_TMP/alertmanager.yml" <<EOF
# One receiver, the webhook. Grouping as in alerts/README.md; short waits.
route:
  receiver: $receiver
  group_by: [alertname, instance, datname]
  group_wait: ${3:-1s}
  group_interval: ${4:-1s}
  repeat_interval: 1h
receivers:
  - name: $receiver
    webhook_configs:
      - url: $url
        send_resolved: true
EOF
  mkdir -p "$FS_TMP/alertmanager"
  "$ALERTMANAGER_BIN" --config.file="$FS_TMP/alertmanager.yml" --storage.path="$FS_TMP/alertmanager" \
    --web.listen-address="127.0.0.1:$port" --cluster.listen-address= --log.level=warn \
    >"$FS_TMP/alertmanager.log" 2>&1 &
  FS_PIDS+=($!)
}

fs_start_prometheus() { # PORT TARGET AM_ADDR RULES_DIR INTERVAL [JOB] [ARGS...]
  local port=$1 target=$2 am=$3 rules=$4 interval=$5 job=${6:-festival-pg} timeout ms
  shift 6 2>/dev/null || shift $#
  # The scrape timeout may not exceed the interval: 80 % of it, in ms, unless
  # FS_SCRAPE_TIMEOUT says otherwise.
  timeout=${FS_SCRAPE_TIMEOUT:-}
  if [[ -z $timeout ]]; then
    [[ $interval =~ ^([0-9]+)(ms|s|m)$ ]] ||
      { fs_err "fs_start_prometheus: interval $interval is not Nms, Ns or Nm"; return 1; }
    ms=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in s) ms=$((ms * 1000)) ;; m) ms=$((ms * 60000)) ;; esac
    timeout=$((ms * 4 / 5))ms
  fi
  {
    cat <<EOF
global:
  scrape_interval: $interval
  scrape_timeout: $timeout
  evaluation_interval: $interval
EOF
    [[ -z $rules ]] || printf 'rule_files:\n  - %s/*.yml\n' "$rules"
    [[ -z $am ]] || printf "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['%s']\n" "$am"
    cat <<EOF
scrape_configs:
  - job_name: $job
    static_configs:
      - targets: ['$target']
EOF
  } >"$FS_TMP/prometheus.yml"
  "$PROMETHEUS_BIN" --config.file="$FS_TMP/prometheus.yml" --storage.tsdb.path="$FS_TMP/prometheus" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn "$@" >"$FS_TMP/prometheus.log" 2>&1 &
  FS_PIDS+=($!)
}

fs_wait_http() { # URL SECONDS [PID]: gives up early when process PID has exited
  python3 -B scripts/lib/net.py wait-http "$1" "$2" "${3:-0}"
}

# Stops exactly what was started: TERM to every recorded process, the cluster
# stopped with pg_ctl, then up to 5 s per process before KILL.
fs_stop_all() {
  local pid n
  for pid in "${FS_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  fs_pg_stop fast || true
  for pid in "${FS_PIDS[@]}"; do
    for ((n = 0; n < 50; n++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  FS_PIDS=()
}
