-- The reference for queries/health.sql: the same rows, read the plain way
-- (through PostgreSQL's statistics views where there is one); tests/queries.rs
-- compares the two on every major.
-- pg_stat_user_tables (PostgreSQL 9.6+): tables of the current database whose
-- dead-tuple ratio n_dead_tup / (n_live_tup + n_dead_tup) is above $1, the
-- guide's "Tables Needing VACUUM" health check (20% there).
SELECT current_database()::text AS datname,
       (count(*) FILTER (WHERE n_dead_tup::float8 / NULLIF(n_live_tup + n_dead_tup, 0) > $1::float8))::float8 AS tables_needing_vacuum
FROM pg_stat_user_tables
