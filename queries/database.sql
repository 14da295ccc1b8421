-- pg_database with pg_database_size() (PostgreSQL 9.6+): the guide's "Check
-- Database Size" for every database (needs CONNECT or pg_read_all_stats,
-- which pg_monitor has), with its connection limit (-1: none) as
-- postgres_exporter's database collector reads both. Every database is listed
-- on every scrape; pg_database_size(), which finds a size by a stat() of each
-- of the database's files, runs only for the databases not in $1: those whose
-- size the exporter measured less than --collector.database.size-interval ago
-- (NULL for them). No lock is taken.
SELECT oid,
       datname::text AS datname,
       datconnlimit::float8 AS connection_limit,
       CASE WHEN oid <> ALL ($1::oid[]) THEN pg_database_size(oid)::float8 END AS size_bytes
FROM pg_database
ORDER BY datname
