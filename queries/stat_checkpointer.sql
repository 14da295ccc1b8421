-- pg_stat_checkpointer (PostgreSQL 17+): checkpoints and restartpoints, as
-- postgres_exporter's stat_checkpointer collector reads them. Times in
-- milliseconds, stats_reset in Unix seconds.
SELECT num_timed::float8 AS num_timed,
       num_requested::float8 AS num_requested,
       restartpoints_timed::float8 AS restartpoints_timed,
       restartpoints_req::float8 AS restartpoints_req,
       restartpoints_done::float8 AS restartpoints_done,
       write_time::float8 AS write_time,
       sync_time::float8 AS sync_time,
       buffers_written::float8 AS buffers_written,
       EXTRACT(EPOCH FROM stats_reset)::float8 AS stats_reset
FROM pg_stat_checkpointer
