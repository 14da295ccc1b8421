-- pg_stat_user_indexes with pg_relation_size() (PostgreSQL 9.6+): the size of
-- every user index, leaving out indexes (or indexes of tables) that have an
-- ACCESS EXCLUSIVE lock held or awaited, as queries/sizes_tables.sql does.
WITH exclusive AS MATERIALIZED (
    SELECT DISTINCT relation
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode = 'AccessExclusiveLock'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT current_database()::text AS datname,
       schemaname::text AS schemaname,
       relname::text AS relname,
       indexrelname::text AS indexrelname,
       pg_relation_size(indexrelid)::float8 AS size_bytes
FROM pg_stat_user_indexes
WHERE indexrelid NOT IN (SELECT relation FROM exclusive)
  AND relid NOT IN (SELECT relation FROM exclusive)
ORDER BY 2, 3, 4
