-- pg_is_in_recovery() and pg_last_xact_replay_timestamp() (PostgreSQL 10+):
-- whether this server is a standby and how long ago the last replayed
-- transaction committed on the primary, as postgres_exporter defines them:
-- the lag is 0 on a primary and when all received WAL is replayed (an idle
-- primary is not lag); last_replay_seconds is the raw age, 0 on a primary.
SELECT pg_is_in_recovery()::int::float8 AS is_replica,
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()))
       END::float8 AS lag_seconds,
       COALESCE(GREATEST(0, EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())), 0)::float8 AS last_replay_seconds
