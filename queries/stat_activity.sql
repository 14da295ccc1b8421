-- pg_stat_activity (PostgreSQL 10+): sessions as postgres_exporter counts them,
-- by database, state, user, application, backend type and wait event, the
-- guide's "Current connections" in finer groups. Every database and state
-- without a session still has a row with a 0 count and empty labels, so
-- alerts and dashboards that average or test for absence see every
-- combination. Sessions without a database (background processes) or a state
-- are not counted; nor are the exporter's own ($1 is its application_name).
-- Durations are in seconds; the query duration only for non-idle states.
WITH sessions AS (
    SELECT datname, state, usename, application_name, backend_type,
           wait_event_type, wait_event,
           count(*) AS count,
           max(EXTRACT(EPOCH FROM now() - xact_start)) AS max_tx_duration,
           max(EXTRACT(EPOCH FROM now() - query_start)) FILTER (WHERE state <> 'idle') AS max_query_duration_seconds
    FROM pg_stat_activity
    WHERE application_name IS DISTINCT FROM $1::text
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT d.datname::text AS datname,
       t.state::text AS state,
       COALESCE(s.usename, '')::text AS usename,
       COALESCE(s.application_name, '')::text AS application_name,
       COALESCE(s.backend_type, '')::text AS backend_type,
       COALESCE(s.wait_event_type, '')::text AS wait_event_type,
       COALESCE(s.wait_event, '')::text AS wait_event,
       COALESCE(s.count, 0)::float8 AS count,
       COALESCE(s.max_tx_duration, 0)::float8 AS max_tx_duration,
       s.max_query_duration_seconds::float8 AS max_query_duration_seconds
FROM (VALUES ('active'), ('idle'), ('idle in transaction'),
             ('idle in transaction (aborted)'), ('fastpath function call'),
             ('disabled')) AS t(state)
CROSS JOIN pg_database d
LEFT JOIN sessions s ON s.datname = d.datname AND s.state = t.state
ORDER BY 1, 2, 3, 4, 5, 6, 7
