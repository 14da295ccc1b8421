-- pg_stat_activity (PostgreSQL 10+): every server process by backend_type,
-- plus the settings that bound client connections.
SELECT COALESCE(backend_type, '')::text AS backend_type,
       count(*)::float8 AS backends,
       current_setting('max_connections')::float8 AS max_connections,
       current_setting('superuser_reserved_connections')::float8 AS superuser_reserved_connections
FROM pg_stat_activity
GROUP BY 1
ORDER BY 1
