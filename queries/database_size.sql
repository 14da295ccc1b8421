-- pg_database_size() (PostgreSQL 10+): the guide's "Check Database Size", for
-- the databases in $1 only: those queries/database.sql listed as readable
-- whose size is new to the exporter or was measured
-- --collector.database.size-interval ago (a stat() of each of the database's
-- files: at ten thousand tables about as costly as reading
-- pg_stat_user_tables). A database dropped since it was listed is not found,
-- or has no privilege (NULL) in this statement's catalog snapshot, instead of
-- failing the statement. No lock is taken.
SELECT oid,
       pg_database_size(oid)::float8 AS size_bytes
FROM pg_database
WHERE oid = ANY ($1::oid[])
  AND has_database_privilege(oid, 'CONNECT') IS NOT NULL
