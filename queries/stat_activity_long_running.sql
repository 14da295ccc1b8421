-- pg_stat_activity (PostgreSQL 10+): per database and threshold ($1, seconds),
-- the non-idle client queries running longer than the threshold (the guide's
-- "Long-running queries", state != 'idle'). 0 rows become 0, so alerts and
-- dashboards always have a series. The exporter's sessions ($2 is its
-- application_name) are left out.
WITH running AS MATERIALIZED (
    SELECT datname, EXTRACT(EPOCH FROM now() - query_start)::float8 AS seconds
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
      AND state <> 'idle'
      AND application_name IS DISTINCT FROM $2::text
)
SELECT d.datname::text AS datname,
       t.threshold::text AS threshold_seconds,
       count(r.seconds)::float8 AS long_running_queries
FROM pg_database d
CROSS JOIN unnest($1::float8[]) AS t(threshold)
LEFT JOIN running r ON r.datname = d.datname AND r.seconds > t.threshold
WHERE NOT d.datistemplate
GROUP BY d.datname, t.threshold
ORDER BY d.datname, t.threshold
