-- pg_stat_wal (PostgreSQL 14+): WAL generated since the statistics reset.
SELECT wal_records::float8 AS wal_records,
       wal_fpi::float8 AS wal_fpi,
       wal_bytes::float8 AS wal_bytes
FROM pg_stat_wal
