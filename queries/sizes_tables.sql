-- pg_class and pg_locks with the statistics functions (PostgreSQL 9.6+), on
-- every scrape: each user table and materialized view of the current
-- database (the guide's "Table Sizes") with what tells whether its files may
-- have changed since it was last measured (queries/sizes_measure.sql), so
-- that only those are measured again:
--  * filenode (VACUUM FULL, CLUSTER, TRUNCATE and SET TABLESPACE give a new
--    one), the rows inserted, updated and deleted and the maintenance count:
--    (auto)vacuums of the table and of its TOAST table (vacuumed on its own)
--    and (auto)analyzes of the table (which flush GIN pending lists), as the
--    statistics have them (they show a transaction's writes once it has
--    ended);
--  * written: a lock stronger than ROW SHARE (one that writes, or DDL) is held
--    or awaited on the table, its TOAST table or an index, by a transaction
--    still open; or the table is temporary (another session's work table,
--    whose new index no signature shows: measured on every scrape);
--  * exclusive: an ACCESS EXCLUSIVE lock (VACUUM FULL, CLUSTER, REINDEX,
--    TRUNCATE) is held or awaited on one of them: a size function would queue
--    behind it, so the table is left out of this scrape.
-- Index changes are read by queries/sizes_indexes.sql. No size function runs
-- here and no lock is taken on any user table.
-- No ORDER BY: the collector orders the tables by schema and name itself
-- (the server sorting ten thousand rows costs it more than the exporter).
WITH locks AS MATERIALIZED (
    SELECT relation, bool_or(mode = 'AccessExclusiveLock') AS exclusive
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode NOT IN ('AccessShareLock', 'RowShareLock')
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    GROUP BY relation
),
-- The locked relations as the tables they belong to.
locked AS (
    SELECT relation AS oid, exclusive FROM locks
    UNION ALL
    SELECT x.indrelid, l.exclusive FROM locks l JOIN pg_index x ON x.indexrelid = l.relation
    UNION ALL
    SELECT t.oid, l.exclusive FROM locks l JOIN pg_class t ON t.reltoastrelid = l.relation
)
SELECT c.oid AS relid,
       n.nspname::text AS schemaname,
       c.relname::text AS relname,
       COALESCE(l.exclusive, false) AS exclusive,
       l.oid IS NOT NULL OR c.relpersistence = 't' AS written,
       c.relfilenode::int8 AS filenode,
       pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
           + pg_stat_get_tuples_deleted(c.oid) AS writes,
       pg_stat_get_vacuum_count(c.oid) + pg_stat_get_autovacuum_count(c.oid)
           + pg_stat_get_vacuum_count(c.reltoastrelid)
           + pg_stat_get_autovacuum_count(c.reltoastrelid)
           + pg_stat_get_analyze_count(c.oid) + pg_stat_get_autoanalyze_count(c.oid) AS maintenance
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN (SELECT oid, bool_or(exclusive) AS exclusive FROM locked GROUP BY oid) l ON l.oid = c.oid
WHERE c.relkind IN ('r', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
