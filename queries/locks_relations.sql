-- pg_locks joined to pg_class (PostgreSQL 9.6+): locks held or awaited on the
-- current database's own relations (the guide's "Active locks"), by mode and
-- whether granted. Catalog and TOAST relations and the exporter's own session
-- are left out. Reading pg_class rows takes no lock on the relations.
SELECT current_database()::text AS datname,
       n.nspname::text AS schemaname,
       c.relname::text AS relname,
       lower(l.mode)::text AS mode,
       l.granted::text AS granted,
       count(*)::float8 AS count
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.pid IS DISTINCT FROM pg_backend_pid()
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2, 3, 4, 5
