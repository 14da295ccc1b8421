-- pg_extension (PostgreSQL 9.1+): the installed pg_stat_statements version and
-- the schema its view and function live in. No row: not installed here.
SELECT e.extversion::text AS version,
       n.nspname::text AS schemaname
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
