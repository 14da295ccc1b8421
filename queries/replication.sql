-- pg_is_in_recovery() and pg_last_xact_replay_timestamp() (PostgreSQL 9.6+):
-- whether this server is a standby and, on a standby, how long ago the last
-- replayed transaction committed on the primary. Raw: no lag is forced to 0
-- when positions match (an idle primary also looks like lag here, which is
-- honest); NULL (no sample) on a primary or before the first replay.
SELECT pg_is_in_recovery()::int::float8 AS is_replica,
       CASE WHEN pg_is_in_recovery()
            THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END::float8 AS lag_seconds
