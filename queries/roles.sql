-- pg_roles (PostgreSQL 9.6+): every role's connection limit (-1: none), as
-- postgres_exporter's roles collector reads it. Compare with
-- pg_stat_activity_count by usename before a ticket sale.
SELECT rolname::text AS rolname,
       rolconnlimit::float8 AS connection_limit
FROM pg_roles
ORDER BY rolname
