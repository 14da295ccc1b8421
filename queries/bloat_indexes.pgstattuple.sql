-- pgstatindex() (pgstattuple extension, PostgreSQL 9.6+): for the $2 largest
-- B-tree indexes of at least $1 bytes, the share of leaf space not used at
-- the index's fillfactor: bloat ratio = 1 - avg_leaf_density / fillfactor,
-- at least 0. It reads the whole index under an ACCESS SHARE lock, so indexes
-- (or their tables) with an ACCESS EXCLUSIVE lock held or awaited are left
-- out. Needs pg_stat_scan_tables (part of pg_monitor).
WITH exclusive AS MATERIALIZED (
    SELECT DISTINCT relation
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode = 'AccessExclusiveLock'
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
),
largest AS MATERIALIZED (
    SELECT ic.oid, n.nspname, t.relname, ic.relname AS indexrelname,
           COALESCE((SELECT o.option_value::float8 FROM pg_options_to_table(ic.reloptions) o
                     WHERE o.option_name = 'fillfactor'), 90) AS fillfactor
    FROM pg_index x
    JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE am.amname = 'btree'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
      AND ic.relpages::float8 * current_setting('block_size')::float8 >= $1::float8
      AND ic.oid NOT IN (SELECT relation FROM exclusive)
      AND t.oid NOT IN (SELECT relation FROM exclusive)
    ORDER BY ic.relpages DESC, ic.oid
    LIMIT $2
),
measured AS (
    SELECT l.*, s.index_size::float8 AS size_bytes,
           GREATEST(1 - COALESCE(NULLIF(s.avg_leaf_density, 'NaN'), l.fillfactor) / l.fillfactor, 0) AS ratio
    FROM largest l
    CROSS JOIN LATERAL {schema}.pgstatindex(l.oid::regclass) s
)
SELECT current_database()::text AS datname,
       nspname::text AS schemaname,
       relname::text AS relname,
       indexrelname::text AS indexrelname,
       (size_bytes * ratio)::float8 AS bloat_bytes,
       ratio::float8 AS bloat_ratio
FROM measured
ORDER BY 2, 3, 4
