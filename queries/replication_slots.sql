-- pg_replication_slots (PostgreSQL 10+): per slot, whether a consumer is
-- attached and how much WAL the slot holds back from removal (from its
-- restart_lsn to this server's current position).
WITH here AS (
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn
)
SELECT s.slot_name::text AS slot_name,
       s.slot_type::text AS slot_type,
       COALESCE(s.database, '')::text AS datname,
       s.active::int::float8 AS active,
       pg_wal_lsn_diff(here.lsn, s.restart_lsn)::float8 AS retained_wal_bytes
FROM pg_replication_slots s CROSS JOIN here
ORDER BY 1
