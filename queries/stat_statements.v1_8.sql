-- pg_stat_statements extension 1.8 to 1.10 (PostgreSQL 13+): the top statements
-- by total execution time, per user, database and queryid, read WITHOUT their
-- texts ({schema}.pg_stat_statements(false)) so no query text file is loaded
-- or sorted. Rows of one statement at several nesting levels (toplevel, 1.9+)
-- are added up. $1 = how many rows to return; $2 and $3 the databases and
-- users left out. Times in seconds.
SELECT r.rolname::text AS "user",
       d.datname::text AS datname,
       s.queryid::text AS queryid,
       sum(s.calls)::float8 AS calls,
       (sum(s.total_exec_time) / 1000)::float8 AS seconds,
       (sum(s.total_exec_time) / NULLIF(sum(s.calls), 0) / 1000)::float8 AS mean_seconds,
       sum(s.rows)::float8 AS rows,
       (sum(s.blk_read_time) / 1000)::float8 AS block_read_seconds,
       (sum(s.blk_write_time) / 1000)::float8 AS block_write_seconds,
       sum(s.shared_blks_hit)::float8 AS shared_blks_hit,
       sum(s.shared_blks_read)::float8 AS shared_blks_read,
       sum(s.temp_blks_written)::float8 AS temp_blks_written,
       (sum(s.total_plan_time) / 1000)::float8 AS plan_seconds
FROM {schema}.pg_stat_statements(false) s
JOIN pg_roles r ON r.oid = s.userid
JOIN pg_database d ON d.oid = s.dbid
WHERE s.queryid IS NOT NULL
  AND d.datname <> ALL($2::text[])
  AND r.rolname <> ALL($3::text[])
GROUP BY r.rolname, d.datname, s.queryid
ORDER BY sum(s.total_exec_time) DESC, 1, 2, 3
LIMIT $1
