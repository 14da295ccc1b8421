#!/usr/bin/env bash
# Runs after the festival schema on an empty data volume: creates the
# exporter's login role with pg_monitor (enough for every collector) and the
# password of the exporter_password secret. The postgres image executes this
# file, or sources it when it is not executable, so it changes no shell options.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=exporter_password="$(cat /run/secrets/exporter_password)" <<'SQL'
CREATE ROLE festival_exporter LOGIN CONNECTION LIMIT 5 IN ROLE pg_monitor
  PASSWORD :'exporter_password';
SQL
