-- Per index of a user table (PostgreSQL 13+), the columns of
-- pg_stat_user_indexes with pg_index: the guide's "Check index usage
-- statistics" and "Review and clean up unused indexes": scans per index and
-- whether it is unique, a primary key, and valid (a failed CREATE INDEX
-- CONCURRENTLY leaves an invalid index behind). Read from pg_index, pg_class
-- and pg_namespace with the pg_stat_get_* statistics functions instead of the
-- view joined to pg_index again. Same rows as the view: indexes of tables,
-- TOAST tables and materialized views outside pg_catalog, information_schema
-- and the pg_toast schemas. Catalog and statistics reads only; no lock on any
-- user table.
-- No ORDER BY: the exporter orders the rows by schema and name itself (the
-- server sorting ten thousand wide rows costs it more than the exporter).
SELECT current_database()::text AS datname,
       n.nspname::text AS schemaname,
       c.relname::text AS relname,
       ic.relname::text AS indexrelname,
       x.indisunique::text AS "unique",
       x.indisprimary::text AS "primary",
       x.indisvalid::text AS valid,
       pg_stat_get_numscans(x.indexrelid)::float8 AS idx_scan,
       pg_stat_get_tuples_returned(x.indexrelid)::float8 AS idx_tup_read,
       pg_stat_get_tuples_fetched(x.indexrelid)::float8 AS idx_tup_fetch,
       1::float8 AS info
FROM pg_index x
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_class ic ON ic.oid = x.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 't', 'm')
  AND n.nspname <> ALL ('{pg_catalog,information_schema}'::name[])
  AND n.nspname !~ '^pg_toast'
