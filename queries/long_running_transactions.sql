-- pg_stat_activity (PostgreSQL 10+): open transactions of non-idle sessions
-- other than autovacuum's and the exporter's own (sessions sharing its
-- application_name), and the age of the oldest, as postgres_exporter's
-- long_running_transactions collector counts them.
SELECT count(*)::float8 AS transactions,
       COALESCE(max(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)), 0)::float8 AS oldest_seconds
FROM pg_stat_activity
WHERE state IS DISTINCT FROM 'idle'
  AND query NOT LIKE 'autovacuum:%'
  AND xact_start IS NOT NULL
  AND application_name IS DISTINCT FROM current_setting('application_name')
