-- pg_stat_bgwriter (PostgreSQL 13 to 16): checkpoints and buffer writes.
-- Checkpoint times in milliseconds, as postgres_exporter serves them.
-- PostgreSQL 17 moved the checkpoint columns to
-- pg_stat_checkpointer: see stat_bgwriter.v17.sql.
SELECT checkpoints_timed::float8 AS checkpoints_timed,
       checkpoints_req::float8 AS checkpoints_req,
       checkpoint_write_time::float8 AS checkpoint_write_time,
       checkpoint_sync_time::float8 AS checkpoint_sync_time,
       buffers_checkpoint::float8 AS buffers_checkpoint,
       buffers_clean::float8 AS buffers_clean,
       maxwritten_clean::float8 AS maxwritten_clean,
       buffers_backend::float8 AS buffers_backend,
       buffers_backend_fsync::float8 AS buffers_backend_fsync,
       buffers_alloc::float8 AS buffers_alloc,
       EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset
FROM pg_stat_bgwriter
