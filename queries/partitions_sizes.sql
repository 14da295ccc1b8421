-- pg_inherits with pg_total_relation_size() (PostgreSQL 10+): the size of every
-- child of a partitioned or inheritance parent (the guide's "Monitor Partition
-- Health"), leaving out children that have an ACCESS EXCLUSIVE lock held or
-- awaited on them, their TOAST table or an index, as queries/sizes_tables.sql
-- does, so the query never waits behind a VACUUM FULL or a DETACH.
WITH exclusive AS MATERIALIZED (
    SELECT DISTINCT relation
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode = 'AccessExclusiveLock'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
)
SELECT current_database()::text AS datname,
       n.nspname::text AS schemaname,
       p.relname::text AS parent,
       c.relname::text AS partition,
       pg_total_relation_size(c.oid)::float8 AS size_bytes
FROM pg_inherits i
JOIN pg_class p ON p.oid = i.inhparent
JOIN pg_namespace n ON n.oid = p.relnamespace
-- By oid, one child at a time (OFFSET 0 keeps the planner from scanning all
-- of pg_class for a few hundred partitions).
CROSS JOIN LATERAL (
    SELECT c.oid, c.relname, c.reltoastrelid
    FROM pg_class c
    WHERE c.oid = i.inhrelid
      AND c.relkind IN ('r', 'p', 'f')
    OFFSET 0
) c
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND c.oid NOT IN (SELECT relation FROM exclusive)
  AND c.reltoastrelid NOT IN (SELECT relation FROM exclusive)
  AND NOT EXISTS (
      SELECT 1 FROM pg_index x
      WHERE x.indrelid = c.oid AND x.indexrelid IN (SELECT relation FROM exclusive)
  )
ORDER BY 2, 3, 4
