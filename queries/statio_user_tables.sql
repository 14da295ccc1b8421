-- pg_statio_user_tables (PostgreSQL 9.6+): per user table, blocks read from
-- disk and found in the buffer cache for the heap, its indexes, its TOAST
-- table and the TOAST index, as postgres_exporter's statio_user_tables
-- collector reads them. Statistics only; no lock on any user table. A table
-- without indexes or TOAST has NULL there: no sample.
-- No ORDER BY: the exporter orders the rows by schema and name itself (the
-- server sorting ten thousand wide rows costs it more than the exporter).
SELECT current_database()::text AS datname,
       schemaname::text AS schemaname,
       relname::text AS relname,
       heap_blks_read::float8 AS heap_blks_read,
       heap_blks_hit::float8 AS heap_blks_hit,
       idx_blks_read::float8 AS idx_blks_read,
       idx_blks_hit::float8 AS idx_blks_hit,
       toast_blks_read::float8 AS toast_blks_read,
       toast_blks_hit::float8 AS toast_blks_hit,
       tidx_blks_read::float8 AS tidx_blks_read,
       tidx_blks_hit::float8 AS tidx_blks_hit
FROM pg_statio_user_tables
