#!/usr/bin/env bash
# Runs after the festival schema on an empty data volume: creates the
# exporter's login role with pg_monitor (enough for every collector but logs)
# and the password of the exporter_password secret, and lets it read the
# server log through its session for the logs collector (these two functions
# can read any file in the data directory: docs/setup.md "Server log"). The postgres image executes this
# file, or sources it when it is not executable, so it changes no shell options.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=exporter_password="$(cat /run/secrets/exporter_password)" <<'SQL'
CREATE ROLE festival_exporter LOGIN CONNECTION LIMIT 5 IN ROLE pg_monitor
  PASSWORD :'exporter_password';
GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO festival_exporter;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO festival_exporter;
SQL
