-- pg_statio_user_indexes (PostgreSQL 9.6+): per user index of the database the
-- exporter connects to, blocks read from disk and found in the buffer cache,
-- as postgres_exporter's statio_user_indexes collector reads them (its labels
-- name no database, so it reads the DSN's database only).
SELECT schemaname::text AS schemaname,
       relname::text AS relname,
       indexrelname::text AS indexrelname,
       idx_blks_read::float8 AS idx_blks_read,
       idx_blks_hit::float8 AS idx_blks_hit
FROM pg_statio_user_indexes
ORDER BY schemaname, relname, indexrelname
