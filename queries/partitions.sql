-- pg_inherits with pg_partitioned_table (PostgreSQL 10+): per partitioned or
-- inheritance parent of the current database (the guide's "Monitor Partition
-- Health"), the number of direct children; for a range partitioning on one
-- date or timestamp column, the highest upper bound (future coverage is this
-- minus now) and the lowest lower bound (retention), in Unix seconds (the
-- session runs in UTC); and the estimated live rows of its DEFAULT partition
-- (rows that fit no range). A MAXVALUE upper bound gives +Inf (covered
-- forever); MINVALUE lower bounds are ignored. Nested, list and hash
-- partitions only count. Each child is looked up in pg_class by its oid
-- (OFFSET 0 keeps the planner from scanning all of pg_class for a few
-- hundred partitions) and its bound deparsed once (MATERIALIZED); a bound's
-- two values are cut out of its text with split_part, read only for the
-- parents whose key is one date or timestamp column, where a bound is a
-- quoted literal, MINVALUE or MAXVALUE.
-- Catalog and statistics reads only: no lock on any table. (pg_get_expr is
-- given no relation: with one it would open it, waiting behind an ACCESS
-- EXCLUSIVE lock; a partition bound holds constants only.)
WITH children AS MATERIALIZED (
    SELECT i.inhparent AS parent, c.oid, c.bound
    FROM pg_inherits i
    CROSS JOIN LATERAL (
        SELECT c.oid, pg_get_expr(c.relpartbound, 0) AS bound
        FROM pg_class c
        WHERE c.oid = i.inhrelid
          AND c.relkind IN ('r', 'p', 'f')
        OFFSET 0
    ) c
),
parents AS (
    SELECT p.oid, n.nspname, p.relname,
           COALESCE(pt.partstrat = 'r' AND pt.partnatts = 1 AND (
               SELECT a.atttypid IN ('date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype)
               FROM pg_attribute a
               WHERE a.attrelid = p.oid AND a.attnum = pt.partattrs[0]
           ), false) AS dated
    FROM pg_class p
    JOIN pg_namespace n ON n.oid = p.relnamespace
    LEFT JOIN pg_partitioned_table pt ON pt.partrelid = p.oid
    WHERE p.oid IN (SELECT parent FROM children)
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
),
bounds AS (
    SELECT parent, oid, bound,
           split_part(split_part(bound, 'FOR VALUES FROM (', 2), ') TO (', 1) AS lo,
           rtrim(split_part(bound, ') TO (', 2), ')') AS hi
    FROM children
)
SELECT current_database()::text AS datname,
       p.nspname::text AS schemaname,
       p.relname::text AS parent,
       count(*)::float8 AS partitions,
       EXTRACT(EPOCH FROM max(CASE WHEN p.dated THEN
           CASE WHEN r.hi = 'MAXVALUE' THEN 'infinity' WHEN r.hi LIKE '''%' THEN btrim(r.hi, '''') END::timestamptz END))::float8 AS newest_bound,
       EXTRACT(EPOCH FROM min(CASE WHEN p.dated AND r.lo LIKE '''%' THEN btrim(r.lo, '''')::timestamptz END))::float8 AS oldest_bound,
       sum(CASE WHEN r.bound = 'DEFAULT' THEN pg_stat_get_live_tuples(r.oid) END)::float8 AS default_rows
FROM parents p
JOIN bounds r ON r.parent = p.oid
GROUP BY p.nspname, p.relname
ORDER BY 2, 3
