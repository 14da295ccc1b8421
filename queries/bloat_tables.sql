-- pg_class, pg_attribute and pg_stats (PostgreSQL 9.6+): estimated wasted
-- space per table, without any extension and without touching the tables
-- (catalog reads only, so no lock). The expected size is what the table's
-- rows would need packed at its fillfactor:
--   tuple     = MAXALIGN(23-byte header + null bitmap) + MAXALIGN(sum of the
--               columns' avg_width * (1 - null_frac)) + 4-byte line pointer
--   pages     = ceil(reltuples * tuple / ((block_size - 24) * fillfactor / 100))
--   bloat     = relpages - pages, at least 0, in bytes; ratio = bloat / size
-- relpages and reltuples are as of the last VACUUM or ANALYZE. Tables never
-- analyzed (no statistics for every column) are left out rather than guessed.
-- pg_stats shows only tables the role may SELECT (or pg_read_all_data).
-- $1 = the smallest table size reported, in bytes.
WITH constants AS (
    SELECT current_setting('block_size')::float8 AS block_size, 8::float8 AS maxalign
),
tables AS (
    SELECT c.oid, n.nspname, c.relname, c.reltuples::float8 AS reltuples, c.relpages::float8 AS relpages,
           COALESCE((SELECT o.option_value::float8 FROM pg_options_to_table(c.reloptions) o
                     WHERE o.option_name = 'fillfactor'), 100) AS fillfactor
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND c.relpages > 0
      AND c.reltuples >= 0
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
),
widths AS (
    SELECT t.oid,
           count(*)::float8 AS columns,
           count(s.attname)::float8 AS columns_with_stats,
           COALESCE(sum((1 - s.null_frac) * s.avg_width), 0)::float8 AS data_width,
           COALESCE(bool_or(s.null_frac > 0), false) AS has_nulls
    FROM tables t
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_stats s ON s.schemaname = t.nspname AND s.tablename = t.relname
                        AND s.attname = a.attname AND NOT s.inherited
    GROUP BY t.oid
),
estimates AS (
    SELECT t.nspname, t.relname, t.relpages * k.block_size AS size_bytes,
           ceil(t.reltuples
                * (ceil((23 + CASE WHEN w.has_nulls THEN ceil(w.columns / 8) ELSE 0 END) / k.maxalign) * k.maxalign
                   + ceil(w.data_width / k.maxalign) * k.maxalign
                   + 4)
                / ((k.block_size - 24) * t.fillfactor / 100)) * k.block_size AS expected_bytes
    FROM tables t
    JOIN widths w ON w.oid = t.oid
    CROSS JOIN constants k
    WHERE w.columns = w.columns_with_stats
)
SELECT current_database()::text AS datname,
       nspname::text AS schemaname,
       relname::text AS relname,
       GREATEST(size_bytes - expected_bytes, 0)::float8 AS bloat_bytes,
       (GREATEST(size_bytes - expected_bytes, 0) / size_bytes)::float8 AS bloat_ratio
FROM estimates
WHERE size_bytes >= $1::float8
ORDER BY 2, 3
