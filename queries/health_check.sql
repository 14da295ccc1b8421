-- The guide's "Health Checks" (run before and after major events) in one row,
-- for the `health` subcommand: database size, connections, active queries,
-- tables needing VACUUM (dead ratio above $1), blocked sessions, the oldest
-- open transaction and whether pg_stat_statements is installed. $2 is the
-- exporter's application_name, left out of the session counts.
SELECT current_database()::text AS datname,
       pg_database_size(current_database())::float8 AS database_size_bytes,
       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name IS DISTINCT FROM $2::text)::float8 AS connections,
       (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int)::float8 AS usable_connections,
       (SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND backend_type = 'client backend' AND application_name IS DISTINCT FROM $2::text)::float8 AS active_queries,
       (SELECT count(*) FROM pg_stat_user_tables WHERE n_dead_tup::float8 / NULLIF(n_live_tup + n_dead_tup, 0) > $1::float8)::float8 AS tables_needing_vacuum,
       (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND cardinality(pg_blocking_pids(pid)) > 0)::float8 AS blocked_sessions,
       COALESCE((SELECT max(EXTRACT(EPOCH FROM now() - xact_start)) FROM pg_stat_activity
                 WHERE backend_type = 'client backend' AND application_name IS DISTINCT FROM $2::text), 0)::float8 AS oldest_transaction_seconds,
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS pg_stat_statements
