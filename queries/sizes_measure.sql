-- pg_class with the size functions (PostgreSQL 9.6+): the sizes of the user
-- tables in $1 (those queries/sizes_tables.sql found new, changed, being
-- written or not measured for a while) and of each of their indexes. Each
-- size is measured once: the total is table plus indexes, which is what
-- pg_total_relation_size() would measure all over again. The size functions
-- take an ACCESS SHARE lock, which would queue behind the ACCESS EXCLUSIVE of
-- a VACUUM FULL, CLUSTER or REINDEX (held or awaited): a table whose heap,
-- TOAST table or any index has one now is left out (no row), so the query
-- never waits. (Between this check and the size call a new exclusive lock can
-- still slip in; lock_timeout then bounds the wait.)
WITH exclusive AS MATERIALIZED (
    SELECT DISTINCT relation
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode = 'AccessExclusiveLock'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
tables AS MATERIALIZED (
    SELECT c.oid, n.nspname, c.relname, c.reltoastrelid
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = ANY ($1::oid[])
      AND c.relkind IN ('r', 'm')
      AND c.oid NOT IN (SELECT relation FROM exclusive)
      AND c.reltoastrelid NOT IN (SELECT relation FROM exclusive)
      AND NOT EXISTS (
          SELECT 1 FROM pg_index i
          WHERE i.indrelid = c.oid AND i.indexrelid IN (SELECT relation FROM exclusive)
      )
),
measured AS (
    SELECT oid, nspname, relname,
           pg_table_size(oid)::float8 AS table_size_bytes,
           pg_indexes_size(oid)::float8 AS index_size_bytes,
           CASE WHEN reltoastrelid = 0 THEN 0 ELSE pg_total_relation_size(reltoastrelid) END::float8 AS toast_size_bytes,
           ARRAY(SELECT ic.relname::text FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                 WHERE x.indrelid = tables.oid ORDER BY ic.relname::text) AS indexrelnames,
           ARRAY(SELECT pg_relation_size(x.indexrelid)::float8 FROM pg_index x JOIN pg_class ic ON ic.oid = x.indexrelid
                 WHERE x.indrelid = tables.oid ORDER BY ic.relname::text) AS index_sizes
    FROM tables
)
SELECT oid AS relid,
       current_database()::text AS datname,
       nspname::text AS schemaname,
       relname::text AS relname,
       table_size_bytes,
       index_size_bytes,
       toast_size_bytes,
       table_size_bytes + index_size_bytes AS total_size_bytes,
       indexrelnames,
       index_sizes
FROM measured
