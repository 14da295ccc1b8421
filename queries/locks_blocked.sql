-- pg_stat_activity with pg_blocking_pids() (PostgreSQL 9.6+): per database,
-- sessions waiting on a lock held by another session (the guide's "Blocked
-- queries"), and how long the longest has waited, measured from the start of
-- its current statement. Only sessions waiting on a lock are inspected, since
-- pg_blocking_pids() takes the lock manager's partition locks.
WITH blocked AS MATERIALIZED (
    SELECT datname, EXTRACT(EPOCH FROM now() - query_start)::float8 AS waited
    FROM pg_stat_activity
    WHERE wait_event_type = 'Lock'
      AND cardinality(pg_blocking_pids(pid)) > 0
)
SELECT d.datname::text AS datname,
       count(b.datname)::float8 AS blocked_sessions,
       COALESCE(max(b.waited), 0)::float8 AS max_wait_seconds
FROM pg_database d
LEFT JOIN blocked b ON b.datname = d.datname
WHERE NOT d.datistemplate
GROUP BY d.datname
ORDER BY d.datname
