-- pgstattuple_approx() (pgstattuple extension 1.4+, PostgreSQL 9.5+): measured
-- free space plus dead tuples of the $2 largest tables of at least $1 bytes.
-- It reads the table (skipping all-visible pages) under an ACCESS SHARE lock,
-- so tables with an ACCESS EXCLUSIVE lock held or awaited are left out, as in
-- sizes_tables.sql. Needs pg_stat_scan_tables (part of pg_monitor).
WITH exclusive AS MATERIALIZED (
    SELECT DISTINCT relation
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode = 'AccessExclusiveLock'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
largest AS MATERIALIZED (
    SELECT c.oid, n.nspname, c.relname
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND c.relpages::float8 * current_setting('block_size')::float8 >= $1::float8
      AND c.oid NOT IN (SELECT relation FROM exclusive)
    ORDER BY c.relpages DESC, c.oid
    LIMIT $2
)
SELECT current_database()::text AS datname,
       l.nspname::text AS schemaname,
       l.relname::text AS relname,
       (s.approx_free_space + s.dead_tuple_len)::float8 AS bloat_bytes,
       LEAST((s.approx_free_space + s.dead_tuple_len)::float8 / NULLIF(s.table_len, 0), 1)::float8 AS bloat_ratio
FROM largest l
CROSS JOIN LATERAL {schema}.pgstattuple_approx(l.oid) s
ORDER BY 2, 3
