-- pg_stat_activity (PostgreSQL 10+): client sessions grouped as the maintenance
-- guide's "Current connections" query groups them, without the exporter's own
-- sessions ($1 is its application_name). Durations are in seconds; the query duration only for non-idle states.
SELECT COALESCE(datname, '')::text AS datname,
       COALESCE(usename, '')::text AS usename,
       COALESCE(state, 'unknown')::text AS state,
       count(*)::float8 AS count,
       COALESCE(max(EXTRACT(EPOCH FROM now() - xact_start)), 0)::float8 AS max_tx_duration,
       max(EXTRACT(EPOCH FROM now() - query_start)) FILTER (WHERE state <> 'idle')::float8 AS max_query_duration_seconds
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND application_name IS DISTINCT FROM $1::text
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
