-- pg_ls_waldir() (PostgreSQL 10+; superuser or pg_monitor): the WAL segment
-- files in pg_wal and their total size, as postgres_exporter's wal collector
-- reads them. A directory listing: no lock, no table read.
SELECT count(*)::float8 AS segments,
       sum(size)::float8 AS size_bytes
FROM pg_ls_waldir()
WHERE name ~ '^[0-9A-F]{24}$'
