-- pg_buffercache_summary() (pg_buffercache 1.4+, PostgreSQL 16+): the shared
-- buffer cache in one row, as postgres_exporter's buffercache_summary
-- collector reads it; {schema} is the extension's schema. The summary takes
-- no buffer locks.
SELECT buffers_used::float8 AS buffers_used,
       buffers_unused::float8 AS buffers_unused,
       buffers_dirty::float8 AS buffers_dirty,
       buffers_pinned::float8 AS buffers_pinned,
       usagecount_avg::float8 AS usagecount_avg
FROM {schema}.pg_buffercache_summary()
