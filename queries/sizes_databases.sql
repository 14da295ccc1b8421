-- pg_database with pg_database_size() (PostgreSQL 9.6+): the guide's "Check
-- Database Size" for every database (needs CONNECT or pg_read_all_stats,
-- which pg_monitor has), with its connection limit (-1: none) as
-- postgres_exporter's database collector reads both. Sizes are read from the
-- files; no lock is taken.
SELECT datname::text AS datname,
       pg_database_size(oid)::float8 AS size_bytes,
       datconnlimit::float8 AS connection_limit
FROM pg_database
ORDER BY datname
