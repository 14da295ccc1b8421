-- pg_database (PostgreSQL 9.6+): the databases --auto-discover-databases may
-- open a session to: not templates, connections allowed, and CONNECT granted
-- to the exporter's role. The DSN's own database is scraped anyway.
SELECT datname::text AS datname
FROM pg_database
WHERE datallowconn
  AND NOT datistemplate
  AND has_database_privilege(oid, 'CONNECT')
  AND datname <> current_database()
ORDER BY datname
