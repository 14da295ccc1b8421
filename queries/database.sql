-- pg_database (PostgreSQL 10+): every database, with its connection limit
-- (-1: none) as postgres_exporter's database collector reads it, its version
-- (its oid and the row version of its pg_database entry, which is new for a
-- new database, even one given a dropped database's oid, and after a rename,
-- a new connection limit or a GRANT or REVOKE on it), and whether the role
-- may read its size: CONNECT on it, or pg_read_all_stats (which pg_monitor
-- has; checked with PostgreSQL 15's rule, which asks that the role inherit
-- it, so a NOINHERIT member on 13 and 14 gets no size rather than an error).
-- Read on every scrape; the sizes are queries/database_size.sql's. No lock is
-- taken.
SELECT oid,
       datname::text AS datname,
       datconnlimit::float8 AS connection_limit,
       oid::text || '/' || xmin::text AS version,
       COALESCE(CASE has_database_privilege(oid, 'CONNECT')
                    WHEN true THEN true
                    WHEN false THEN pg_has_role('pg_read_all_stats', 'USAGE')
                END, false) AS readable
FROM pg_database
ORDER BY datname
