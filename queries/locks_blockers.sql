-- pg_stat_activity with pg_blocking_pids() (PostgreSQL 9.6+): the five sessions
-- that block the most others, counting sessions blocked directly or through a
-- chain of waiters (A blocks B, B blocks C: A blocks 2). These are the pids
-- the guide's "Release Locks" procedure would cancel or terminate.
WITH RECURSIVE
waiting AS MATERIALIZED (
    SELECT pid, pg_blocking_pids(pid) AS blockers
    FROM pg_stat_activity
    WHERE wait_event_type = 'Lock'
),
edges AS (
    SELECT blocker, w.pid AS victim
    FROM waiting w, unnest(w.blockers) AS blocker
),
chain(blocker, victim) AS (
    SELECT blocker, victim FROM edges
    UNION
    SELECT c.blocker, e.victim FROM chain c JOIN edges e ON e.blocker = c.victim
),
ranked AS (
    SELECT blocker, count(DISTINCT victim) AS blocked
    FROM chain
    WHERE victim <> blocker
    GROUP BY blocker
    ORDER BY blocked DESC, blocker
    LIMIT 5
)
SELECT r.blocker::text AS pid,
       COALESCE(a.datname, '')::text AS datname,
       COALESCE(a.usename, '')::text AS usename,
       COALESCE(a.state, '')::text AS state,
       COALESCE(a.query, '')::text AS query,
       r.blocked::float8 AS blocked
FROM ranked r
LEFT JOIN pg_stat_activity a ON a.pid = r.blocker
ORDER BY r.blocked DESC, r.blocker
