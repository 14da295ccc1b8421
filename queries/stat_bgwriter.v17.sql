-- pg_stat_checkpointer and pg_stat_bgwriter (PostgreSQL 17+): the same
-- quantities as stat_bgwriter.sql under their new columns (num_timed,
-- num_requested, write_time, sync_time, buffers_written). buffers_backend and
-- buffers_backend_fsync no longer exist (pg_stat_io has them) and are absent.
SELECT c.num_timed::float8 AS checkpoints_timed,
       c.num_requested::float8 AS checkpoints_req,
       c.write_time::float8 AS checkpoint_write_time,
       c.sync_time::float8 AS checkpoint_sync_time,
       c.buffers_written::float8 AS buffers_checkpoint,
       b.buffers_clean::float8 AS buffers_clean,
       b.maxwritten_clean::float8 AS maxwritten_clean,
       b.buffers_alloc::float8 AS buffers_alloc,
       EXTRACT(EPOCH FROM b.stats_reset)::float8 AS stats_reset
FROM pg_stat_checkpointer c CROSS JOIN pg_stat_bgwriter b
