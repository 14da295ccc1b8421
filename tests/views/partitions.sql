-- The reference for queries/partitions.sql: the same rows, read the plain way
-- (through PostgreSQL's statistics views where there is one); tests/queries.rs
-- compares the two on every major.
-- pg_inherits with pg_partitioned_table (PostgreSQL 10+): per partitioned or
-- inheritance parent of the current database (the guide's "Monitor Partition
-- Health"), the number of direct children; for a range partitioning on one
-- date or timestamp column, the highest upper bound (future coverage is this
-- minus now) and the lowest lower bound (retention), in Unix seconds (the
-- session runs in UTC); and the estimated live rows of its DEFAULT partition
-- (rows that fit no range). A MAXVALUE upper bound gives +Inf (covered
-- forever); MINVALUE lower bounds are ignored. Nested, list and hash
-- partitions only count.
-- Catalog and statistics reads only: no lock on any table. (pg_get_expr is
-- given no relation: with one it would open it, waiting behind an ACCESS
-- EXCLUSIVE lock; a partition bound holds constants only.)
WITH children AS (
    SELECT i.inhparent AS parent, c.oid,
           pg_get_expr(c.relpartbound, 0) AS bound
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    -- Tables only: partitioned indexes also inherit.
    WHERE c.relkind IN ('r', 'p', 'f')
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
ranges AS (
    SELECT c.parent, c.oid, c.bound,
           regexp_match(c.bound, '^FOR VALUES FROM \((''[^'']*''|MINVALUE|MAXVALUE)\) TO \((''[^'']*''|MINVALUE|MAXVALUE)\)$') AS m
    FROM children c
),
bounds AS (
    -- MAXVALUE as an upper bound covers forever (+Inf); MINVALUE is no date.
    SELECT parent, oid, bound,
           CASE WHEN m[1] LIKE '''%' THEN btrim(m[1], '''') END AS lower_bound,
           CASE WHEN m[2] = 'MAXVALUE' THEN 'infinity'
                WHEN m[2] LIKE '''%' THEN btrim(m[2], '''') END AS upper_bound
    FROM ranges
)
SELECT current_database()::text AS datname,
       p.nspname::text AS schemaname,
       p.relname::text AS parent,
       count(*)::float8 AS partitions,
       EXTRACT(EPOCH FROM max(CASE WHEN p.dated THEN r.upper_bound::timestamptz END))::float8 AS newest_bound,
       EXTRACT(EPOCH FROM min(CASE WHEN p.dated THEN r.lower_bound::timestamptz END))::float8 AS oldest_bound,
       sum(CASE WHEN r.bound = 'DEFAULT' THEN pg_stat_get_live_tuples(r.oid) END)::float8 AS default_rows
FROM parents p
JOIN bounds r ON r.parent = p.oid
GROUP BY p.nspname, p.relname
ORDER BY 2, 3
