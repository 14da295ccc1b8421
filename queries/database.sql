-- pg_database with pg_database_size() (PostgreSQL 9.6+): the guide's "Check
-- Database Size" for every database, with its connection limit (-1: none),
-- as postgres_exporter's database collector reads both. Every database is
-- listed on every scrape; pg_database_size() (a stat() of each of the
-- database's files) runs only where the database's version, its oid and the
-- row version of its pg_database entry (a new database, even one given a
-- dropped database's oid, or a renamed or altered one, has a new one), is not
-- in $1: the versions whose size the exporter measured less than
-- --collector.database.size-interval ago. It also runs only where the role
-- may read the size (CONNECT on the database, or pg_read_all_stats, which
-- pg_monitor has) and the database still exists, so that a database locked
-- away from the role (rdsadmin on Amazon RDS) or dropped meanwhile leaves its
-- size out instead of failing the statement. No lock is taken.
SELECT datname,
       connection_limit,
       version,
       CASE WHEN version <> ALL ($1::text[])
                 -- NULL: dropped since the snapshot of pg_database was taken
                 AND has_database_privilege(oid, 'CONNECT') IS NOT NULL
                 AND (has_database_privilege(oid, 'CONNECT')
                      OR pg_has_role('pg_read_all_stats', 'USAGE'))
            THEN pg_database_size(oid)::float8
       END AS size_bytes
FROM (
    SELECT oid,
           datname::text AS datname,
           datconnlimit::float8 AS connection_limit,
           oid::text || '/' || xmin::text AS version
    FROM pg_database
) d
ORDER BY datname
