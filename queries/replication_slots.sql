-- pg_replication_slots (PostgreSQL 13+): per slot, whether a consumer is
-- attached, how much WAL the slot holds back from removal (from its
-- restart_lsn to this server's current position, or the last received one on
-- a standby, as postgres_exporter computes it), the positions, the WAL still
-- safe to write and the WAL status.
WITH here AS (
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn
)
SELECT s.slot_name::text AS slot_name,
       COALESCE(s.database, '')::text AS database,
       s.slot_type::text AS slot_type,
       s.active::int::float8 AS active,
       pg_wal_lsn_diff(here.lsn, s.restart_lsn)::float8 AS pg_wal_lsn_diff,
       pg_wal_lsn_diff(here.lsn, '0/0')::float8 AS current_wal_lsn,
       CASE WHEN s.active THEN pg_wal_lsn_diff(COALESCE(s.confirmed_flush_lsn, '0/0'), '0/0') END::float8 AS confirmed_flush_lsn,
       s.safe_wal_size::float8 AS safe_wal_size,
       COALESCE(s.wal_status, '')::text AS wal_status,
       CASE WHEN s.wal_status IS NOT NULL THEN 1 END::float8 AS wal_status_present
FROM pg_replication_slots s CROSS JOIN here
ORDER BY 1
