-- Live and dead tuples of the rows of pg_stat_user_tables (PostgreSQL 13+),
-- read from pg_class and pg_namespace with pg_stat_get_live_tuples and
-- pg_stat_get_dead_tuples instead of the view (which joins pg_index and groups
-- every relation of the database): tables of the current database whose
-- dead-tuple ratio n_dead_tup / (n_live_tup + n_dead_tup) is above $1, the
-- guide's "Tables Needing VACUUM" health check (20% there). Same tables as the
-- view: tables, TOAST tables and materialized views, from PostgreSQL 14 also
-- partitioned tables, outside pg_catalog, information_schema and the pg_toast
-- schemas. Statistics reads only; no lock on any user table.
SELECT current_database()::text AS datname,
       (count(*) FILTER (WHERE pg_stat_get_dead_tuples(c.oid)::float8
                               / NULLIF(pg_stat_get_live_tuples(c.oid) + pg_stat_get_dead_tuples(c.oid), 0)
                               > $1::float8))::float8 AS tables_needing_vacuum
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (c.relkind IN ('r', 't', 'm')
       OR (c.relkind = 'p' AND current_setting('server_version_num')::int >= 140000))
  AND n.nspname <> ALL ('{pg_catalog,information_schema}'::name[])
  AND n.nspname !~ '^pg_toast'
