-- pg_stat_database (PostgreSQL 14+): as stat_database.sql, plus the session
-- counters and times that PostgreSQL 14 added. Times in seconds, but blk_read_time and blk_write_time in
-- milliseconds as postgres_exporter serves them.
SELECT d.datid::text AS datid,
       d.datname::text AS datname,
       d.numbackends::float8 AS numbackends,
       d.xact_commit::float8 AS xact_commit,
       d.xact_rollback::float8 AS xact_rollback,
       d.blks_read::float8 AS blks_read,
       d.blks_hit::float8 AS blks_hit,
       d.tup_returned::float8 AS tup_returned,
       d.tup_fetched::float8 AS tup_fetched,
       d.tup_inserted::float8 AS tup_inserted,
       d.tup_updated::float8 AS tup_updated,
       d.tup_deleted::float8 AS tup_deleted,
       d.conflicts::float8 AS conflicts,
       d.temp_files::float8 AS temp_files,
       d.temp_bytes::float8 AS temp_bytes,
       d.deadlocks::float8 AS deadlocks,
       d.blk_read_time::float8 AS blk_read_time,
       d.blk_write_time::float8 AS blk_write_time,
       COALESCE(EXTRACT(EPOCH FROM d.stats_reset), 0)::float8 AS stats_reset,
       d.sessions::float8 AS sessions,
       d.sessions_abandoned::float8 AS sessions_abandoned,
       d.sessions_fatal::float8 AS sessions_fatal,
       d.sessions_killed::float8 AS sessions_killed,
       (d.session_time / 1000)::float8 AS session_seconds,
       (d.active_time / 1000)::float8 AS active_seconds,
       (d.idle_in_transaction_time / 1000)::float8 AS idle_in_transaction_seconds,
       c.confl_tablespace::float8 AS confl_tablespace,
       c.confl_lock::float8 AS confl_lock,
       c.confl_snapshot::float8 AS confl_snapshot,
       c.confl_bufferpin::float8 AS confl_bufferpin,
       c.confl_deadlock::float8 AS confl_deadlock
FROM pg_stat_database d
JOIN pg_stat_database_conflicts c ON c.datid = d.datid
WHERE d.datname IS NOT NULL
ORDER BY d.datname
