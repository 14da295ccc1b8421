-- pg_class and pg_index with the statistics functions, pg_locks and
-- pg_settings (PostgreSQL 13+): one pass over the user tables for the
-- per-table queries of several collectors, used when stat_user_tables,
-- statio_user_tables and at least one of autovacuum and sizes run in a
-- scrape (src/collectors/table_statistics.rs). Each row carries the columns
-- of queries/stat_user_tables.sql, queries/statio_user_tables.sql,
-- queries/autovacuum_tables.sql and queries/sizes_tables.sql under the same
-- names, types and NULLs, computed as those views and queries do. The rows
-- are pg_stat_user_tables': tables, TOAST tables, materialized views and,
-- from PostgreSQL 14, partitioned tables, outside pg_catalog,
-- information_schema and the pg_toast schemas (as queries/health.sql); the
-- other three queries have no partitioned table, whose row has NULL in their
-- columns (no sample; no table for sizes). Each table's indexes and its
-- TOAST table's index are read once, in one index scan, for both views; the
-- statistics of a table are fetched once for all. The TOAST index sums are
-- those of pg_statio_user_tables as PostgreSQL 16 defines it; the older
-- definition (13 and 14, some 15 clusters) repeats a table whose TOAST table
-- has two indexes (an invalid one left by a failed REINDEX CONCURRENTLY),
-- where this gives one row with their sum. The locks are read as
-- queries/sizes_tables.sql reads them. Statistics, catalog and pg_locks
-- reads only; no lock on any user table.
-- No ORDER BY: the exporter orders the rows by schema and name itself (the
-- server sorting ten thousand wide rows costs it more than the exporter).
WITH held AS MATERIALIZED (
    SELECT relation, bool_or(mode = 'AccessExclusiveLock') AS exclusive
    FROM pg_locks
    WHERE locktype = 'relation'
      AND mode NOT IN ('AccessShareLock', 'RowShareLock')
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    GROUP BY relation
),
-- The locked relations as the tables they belong to (index, TOAST table).
held_by_table AS (
    SELECT oid, bool_or(exclusive) AS exclusive
    FROM (SELECT relation AS oid, exclusive FROM held
          UNION ALL
          SELECT x.indrelid, h.exclusive FROM held h JOIN pg_index x ON x.indexrelid = h.relation
          UNION ALL
          SELECT t.oid, h.exclusive FROM held h JOIN pg_class t ON t.reltoastrelid = h.relation) r
    GROUP BY oid
),
server AS MATERIALIZED (
    SELECT current_setting('autovacuum')::bool AND current_setting('track_counts')::bool AS enabled,
           current_setting('autovacuum_vacuum_threshold')::float8 AS vacuum_threshold,
           current_setting('autovacuum_vacuum_scale_factor')::float8 AS vacuum_scale_factor,
           current_setting('autovacuum_analyze_threshold')::float8 AS analyze_threshold,
           current_setting('autovacuum_analyze_scale_factor')::float8 AS analyze_scale_factor,
           current_setting('autovacuum_vacuum_max_threshold', true)::float8 AS vacuum_max_threshold
),
tables AS MATERIALIZED (
    SELECT c.oid, n.nspname, c.relname, c.relkind <> 'p' AS has_storage, c.reltoastrelid, c.relfrozenxid, c.relfilenode,
           h.oid IS NOT NULL OR c.relpersistence = 't' AS written, COALESCE(h.exclusive, false) AS exclusive,
           GREATEST(c.reltuples, 0)::float8 AS reltuples,
           CASE WHEN c.reloptions IS NOT NULL THEN (SELECT jsonb_object_agg(o.option_name, o.option_value) FROM pg_options_to_table(c.reloptions) o) END AS opts,
           i.*
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN held_by_table h ON h.oid = c.oid
    LEFT JOIN LATERAL (
        SELECT sum(pg_stat_get_numscans(indexrelid)) FILTER (WHERE indrelid = c.oid)::bigint AS idx_scan,
               sum(pg_stat_get_tuples_fetched(indexrelid)) FILTER (WHERE indrelid = c.oid)::bigint AS idx_tup_fetch,
               sum(pg_stat_get_blocks_fetched(indexrelid) - pg_stat_get_blocks_hit(indexrelid)) FILTER (WHERE indrelid = c.oid)::bigint AS idx_blks_read,
               sum(pg_stat_get_blocks_hit(indexrelid)) FILTER (WHERE indrelid = c.oid)::bigint AS idx_blks_hit,
               sum(pg_stat_get_blocks_fetched(indexrelid) - pg_stat_get_blocks_hit(indexrelid)) FILTER (WHERE indrelid = c.reltoastrelid)::bigint AS tidx_blks_read,
               sum(pg_stat_get_blocks_hit(indexrelid)) FILTER (WHERE indrelid = c.reltoastrelid)::bigint AS tidx_blks_hit
        FROM pg_index WHERE indrelid IN (c.oid, c.reltoastrelid)
    ) i ON true
    WHERE (c.relkind IN ('r', 't', 'm')
           OR (c.relkind = 'p' AND current_setting('server_version_num')::int >= 140000))
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast'
),
policy AS (
    SELECT t.*,
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
       -- pg_stat_user_tables
       pg_stat_get_live_tuples(oid)::float8 AS n_live_tup,
       pg_stat_get_dead_tuples(oid)::float8 AS n_dead_tup,
       pg_stat_get_mod_since_analyze(oid)::float8 AS n_mod_since_analyze,
       pg_stat_get_numscans(oid)::float8 AS seq_scan,
       pg_stat_get_tuples_returned(oid)::float8 AS seq_tup_read,
       idx_scan::float8 AS idx_scan,
       (idx_tup_fetch + pg_stat_get_tuples_fetched(oid))::float8 AS idx_tup_fetch,
       pg_stat_get_tuples_inserted(oid)::float8 AS n_tup_ins,
       pg_stat_get_tuples_updated(oid)::float8 AS n_tup_upd,
       pg_stat_get_tuples_deleted(oid)::float8 AS n_tup_del,
       pg_stat_get_tuples_hot_updated(oid)::float8 AS n_tup_hot_upd,
       pg_stat_get_vacuum_count(oid)::float8 AS vacuum_count,
       pg_stat_get_autovacuum_count(oid)::float8 AS autovacuum_count,
       pg_stat_get_analyze_count(oid)::float8 AS analyze_count,
       pg_stat_get_autoanalyze_count(oid)::float8 AS autoanalyze_count,
       COALESCE(EXTRACT(EPOCH FROM pg_stat_get_last_vacuum_time(oid)), 0)::float8 AS last_vacuum,
       COALESCE(EXTRACT(EPOCH FROM pg_stat_get_last_autovacuum_time(oid)), 0)::float8 AS last_autovacuum,
       COALESCE(EXTRACT(EPOCH FROM pg_stat_get_last_analyze_time(oid)), 0)::float8 AS last_analyze,
       COALESCE(EXTRACT(EPOCH FROM pg_stat_get_last_autoanalyze_time(oid)), 0)::float8 AS last_autoanalyze,
       -- pg_statio_user_tables
       CASE WHEN has_storage THEN (pg_stat_get_blocks_fetched(oid) - pg_stat_get_blocks_hit(oid))::float8 END AS heap_blks_read,
       CASE WHEN has_storage THEN pg_stat_get_blocks_hit(oid)::float8 END AS heap_blks_hit,
       CASE WHEN has_storage THEN idx_blks_read::float8 END AS idx_blks_read,
       CASE WHEN has_storage THEN idx_blks_hit::float8 END AS idx_blks_hit,
       CASE WHEN has_storage AND reltoastrelid <> 0 THEN (pg_stat_get_blocks_fetched(reltoastrelid) - pg_stat_get_blocks_hit(reltoastrelid))::float8 END AS toast_blks_read,
       CASE WHEN has_storage AND reltoastrelid <> 0 THEN pg_stat_get_blocks_hit(reltoastrelid)::float8 END AS toast_blks_hit,
       CASE WHEN has_storage THEN tidx_blks_read::float8 END AS tidx_blks_read,
       CASE WHEN has_storage THEN tidx_blks_hit::float8 END AS tidx_blks_hit,
       -- the autovacuum policy
       CASE WHEN has_storage THEN enabled::int::float8 END AS enabled,
       CASE WHEN has_storage THEN vacuum_threshold END AS vacuum_threshold,
       CASE WHEN has_storage THEN vacuum_scale_factor END AS vacuum_scale_factor,
       CASE WHEN has_storage THEN analyze_threshold END AS analyze_threshold,
       CASE WHEN has_storage THEN analyze_scale_factor END AS analyze_scale_factor,
       CASE WHEN has_storage THEN LEAST(vacuum_threshold + vacuum_scale_factor * reltuples, vacuum_max_threshold) END AS vacuum_trigger_tuples,
       CASE WHEN has_storage THEN analyze_threshold + analyze_scale_factor * reltuples END AS analyze_trigger_tuples,
       CASE WHEN has_storage THEN age(relfrozenxid)::float8 END AS frozen_xid_age,
       -- what tells whether the table's files may have changed (sizes)
       CASE WHEN has_storage THEN oid END AS relid,
       CASE WHEN has_storage THEN exclusive END AS exclusive,
       CASE WHEN has_storage THEN written END AS written,
       CASE WHEN has_storage THEN relfilenode::int8 END AS filenode,
       CASE WHEN has_storage THEN pg_stat_get_tuples_inserted(oid) + pg_stat_get_tuples_updated(oid)
           + pg_stat_get_tuples_deleted(oid) END AS writes,
       CASE WHEN has_storage THEN pg_stat_get_vacuum_count(oid) + pg_stat_get_autovacuum_count(oid)
           + pg_stat_get_vacuum_count(reltoastrelid) + pg_stat_get_autovacuum_count(reltoastrelid)
           + pg_stat_get_analyze_count(oid) + pg_stat_get_autoanalyze_count(oid) END AS maintenance
FROM policy
