-- pg_index, pg_class and pg_stats (PostgreSQL 9.6+): estimated wasted space
-- per B-tree index on plain columns (expression indexes are left out), from
-- the catalog only (no lock). The expected size is what its entries would
-- need at the B-tree leaf fillfactor (default 90):
--   entry  = MAXALIGN(8-byte index tuple header + null bitmap + sum of the key
--            columns' avg_width * (1 - null_frac)) + 4-byte line pointer
--   pages  = ceil(reltuples * entry / ((block_size - 24 - 16) * fillfactor / 100)) + 1 metapage
--   bloat  = relpages - pages, at least 0, in bytes; ratio = bloat / size
-- Deduplication (PostgreSQL 13+) can make an index smaller than this estimate;
-- that shows as 0, never as a negative number. $1 = the smallest index size
-- reported, in bytes.
WITH constants AS (
    SELECT current_setting('block_size')::float8 AS block_size, 8::float8 AS maxalign
),
indexes AS (
    SELECT x.indexrelid, x.indrelid, n.nspname, t.relname, ic.relname AS indexrelname,
           ic.reltuples::float8 AS reltuples, ic.relpages::float8 AS relpages, x.indkey,
           COALESCE((SELECT o.option_value::float8 FROM pg_options_to_table(ic.reloptions) o
                     WHERE o.option_name = 'fillfactor'), 90) AS fillfactor
    FROM pg_index x
    JOIN pg_class ic ON ic.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = ic.relam
    WHERE am.amname = 'btree'
      AND x.indexprs IS NULL
      AND ic.relpages > 1
      AND ic.reltuples >= 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
),
widths AS (
    SELECT i.indexrelid,
           count(*)::float8 AS keys,
           count(s.attname)::float8 AS keys_with_stats,
           COALESCE(sum((1 - s.null_frac) * s.avg_width), 0)::float8 AS data_width,
           COALESCE(bool_or(s.null_frac > 0), false) AS has_nulls
    FROM indexes i
    CROSS JOIN LATERAL unnest(i.indkey::int2[]) AS k(attnum)
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
    LEFT JOIN pg_stats s ON s.schemaname = i.nspname AND s.tablename = i.relname
                        AND s.attname = a.attname AND NOT s.inherited
    GROUP BY i.indexrelid
),
estimates AS (
    SELECT i.nspname, i.relname, i.indexrelname, i.relpages * k.block_size AS size_bytes,
           (ceil(i.reltuples
                 * (ceil((8 + CASE WHEN w.has_nulls THEN 4 ELSE 0 END + w.data_width) / k.maxalign) * k.maxalign + 4)
                 / ((k.block_size - 24 - 16) * i.fillfactor / 100)) + 1) * k.block_size AS expected_bytes
    FROM indexes i
    JOIN widths w ON w.indexrelid = i.indexrelid
    CROSS JOIN constants k
    WHERE w.keys = w.keys_with_stats
)
SELECT current_database()::text AS datname,
       nspname::text AS schemaname,
       relname::text AS relname,
       indexrelname::text AS indexrelname,
       GREATEST(size_bytes - expected_bytes, 0)::float8 AS bloat_bytes,
       (GREATEST(size_bytes - expected_bytes, 0) / size_bytes)::float8 AS bloat_ratio
FROM estimates
WHERE size_bytes >= $1::float8
ORDER BY 2, 3, 4
