-- pg_class reloptions and pg_settings (PostgreSQL 13+): per table, the
-- EFFECTIVE autovacuum policy (the guide's "Tune Autovacuum for High-Traffic
-- Tables"): each per-table setting from ALTER TABLE ... SET (...) falling back
-- to the server setting, and the dead-tuple count at which autovacuum will
-- vacuum it: threshold + scale_factor * reltuples, capped from PostgreSQL 18 by
-- autovacuum_vacuum_max_threshold (-1 = no cap). Also the table's transaction
-- ID age. Catalog reads only: no lock on any table. The server settings are
-- read once (MATERIALIZED), not once per table; the reloptions are turned into
-- JSON once per table that has any (MATERIALIZED), not once per setting.
-- No ORDER BY: the exporter orders the rows by schema and name itself (the
-- server sorting ten thousand wide rows costs it more than the exporter).
WITH server AS MATERIALIZED (
    SELECT current_setting('autovacuum')::bool AND current_setting('track_counts')::bool AS enabled,
           current_setting('autovacuum_vacuum_threshold')::float8 AS vacuum_threshold,
           current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale_factor,
           current_setting('autovacuum_analyze_threshold')::float8 AS analyze_threshold,
           current_setting('autovacuum_analyze_scale_factor')::float8 AS analyze_scale_factor,
           current_setting('autovacuum_vacuum_max_threshold', true)::float8 AS vacuum_max_threshold
),
tables AS MATERIALIZED (
    SELECT n.nspname, c.relname, c.relfrozenxid, GREATEST(c.reltuples, 0)::float8 AS reltuples,
           CASE WHEN c.reloptions IS NOT NULL THEN (SELECT jsonb_object_agg(o.option_name, o.option_value) FROM pg_options_to_table(c.reloptions) o) END AS opts
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_toast%'
),
policy AS (
    SELECT t.nspname, t.relname, t.relfrozenxid, t.reltuples,
           s.enabled AND COALESCE((t.opts ->> 'autovacuum_enabled')::bool, true) AS enabled,
           COALESCE((t.opts ->> 'autovacuum_vacuum_threshold')::float8, s.vacuum_threshold) AS vacuum_threshold,
           COALESCE((t.opts ->> 'autovacuum_vacuum_scale_factor')::float8, s.vacuum_scale_factor) AS vacuum_scale_factor,
           COALESCE((t.opts ->> 'autovacuum_analyze_threshold')::float8, s.analyze_threshold) AS analyze_threshold,
           COALESCE((t.opts ->> 'autovacuum_analyze_scale_factor')::float8, s.analyze_scale_factor) AS analyze_scale_factor,
           NULLIF(COALESCE((t.opts ->> 'autovacuum_vacuum_max_threshold')::float8, s.vacuum_max_threshold), -1) AS vacuum_max_threshold
    FROM tables t CROSS JOIN server s
)
SELECT current_database()::text AS datname,
       nspname::text AS schemaname,
       relname::text AS relname,
       enabled::int::float8 AS enabled,
       vacuum_threshold,
       vacuum_scale_factor,
       analyze_threshold,
       analyze_scale_factor,
       LEAST(vacuum_threshold + vacuum_scale_factor * reltuples, vacuum_max_threshold) AS vacuum_trigger_tuples,
       analyze_threshold + analyze_scale_factor * reltuples AS analyze_trigger_tuples,
       age(relfrozenxid)::float8 AS frozen_xid_age
FROM policy
