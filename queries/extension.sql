-- pg_extension (PostgreSQL 9.1+): the installed version of extension $1 and
-- the schema its objects live in. No row: not installed in this database.
SELECT e.extversion::text AS version,
       n.nspname::text AS schemaname
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = $1::text
