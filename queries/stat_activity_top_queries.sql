-- pg_stat_activity (PostgreSQL 10+): the 10 longest non-idle client queries
-- running longer than $1 seconds, with the pid the on-call engineer would pass
-- to pg_cancel_backend(). The text is shortened in Rust; the exporter's
-- sessions ($2 is its application_name) are left out.
SELECT pid::text AS pid,
       COALESCE(datname, '')::text AS datname,
       COALESCE(usename, '')::text AS usename,
       state::text AS state,
       COALESCE(query, '')::text AS query,
       EXTRACT(EPOCH FROM now() - query_start)::float8 AS seconds
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND state <> 'idle'
  AND application_name IS DISTINCT FROM $2::text
  AND now() - query_start > make_interval(secs => $1::float8)
ORDER BY seconds DESC, pid
LIMIT 10
