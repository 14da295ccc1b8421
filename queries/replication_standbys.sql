-- pg_stat_replication (PostgreSQL 10+): per connected standby, with
-- postgres_exporter's labels (client_addr as inet text, the slot the standby
-- uses, its pid), the lag times the server measured (NULL, no sample, when it
-- has none) and the distance in bytes from this server's current WAL position
-- (the last received one on a cascading standby) to what the standby has
-- received, written, flushed and replayed.
WITH here AS (
    SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END AS lsn
)
SELECT COALESCE(r.application_name, '')::text AS application_name,
       COALESCE(r.client_addr::text, '')::text AS client_addr,
       COALESCE(r.state, '')::text AS state,
       COALESCE(s.slot_name, '')::text AS slot_name,
       r.pid::text AS pid,
       EXTRACT(EPOCH FROM r.write_lag)::float8 AS write_lag_seconds,
       EXTRACT(EPOCH FROM r.flush_lag)::float8 AS flush_lag_seconds,
       EXTRACT(EPOCH FROM r.replay_lag)::float8 AS replay_lag_seconds,
       pg_wal_lsn_diff(here.lsn, r.sent_lsn)::float8 AS sent_lag_bytes,
       pg_wal_lsn_diff(here.lsn, r.write_lsn)::float8 AS write_lag_bytes,
       pg_wal_lsn_diff(here.lsn, r.flush_lsn)::float8 AS flush_lag_bytes,
       pg_wal_lsn_diff(here.lsn, r.replay_lsn)::float8 AS pg_wal_lsn_diff,
       pg_wal_lsn_diff(here.lsn, '0/0')::float8 AS pg_current_wal_lsn_bytes
FROM pg_stat_replication r CROSS JOIN here
LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
ORDER BY 1, 2, r.pid
