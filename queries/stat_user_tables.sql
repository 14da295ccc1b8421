-- pg_stat_user_tables (PostgreSQL 13+): per user table, tuple counts, scans and
-- the (auto)vacuum/analyze history. Reads statistics only; takes no lock on any
-- user table. Timestamps are Unix seconds, 0 when the event never happened.
-- No ORDER BY: the exporter orders the rows by schema and name itself (the
-- server sorting ten thousand wide rows costs it more than the exporter).
SELECT current_database()::text AS datname,
       schemaname::text AS schemaname,
       relname::text AS relname,
       n_live_tup::float8 AS n_live_tup,
       n_dead_tup::float8 AS n_dead_tup,
       n_mod_since_analyze::float8 AS n_mod_since_analyze,
       seq_scan::float8 AS seq_scan,
       seq_tup_read::float8 AS seq_tup_read,
       idx_scan::float8 AS idx_scan,
       idx_tup_fetch::float8 AS idx_tup_fetch,
       n_tup_ins::float8 AS n_tup_ins,
       n_tup_upd::float8 AS n_tup_upd,
       n_tup_del::float8 AS n_tup_del,
       n_tup_hot_upd::float8 AS n_tup_hot_upd,
       vacuum_count::float8 AS vacuum_count,
       autovacuum_count::float8 AS autovacuum_count,
       analyze_count::float8 AS analyze_count,
       autoanalyze_count::float8 AS autoanalyze_count,
       COALESCE(EXTRACT(EPOCH FROM last_vacuum), 0)::float8 AS last_vacuum,
       COALESCE(EXTRACT(EPOCH FROM last_autovacuum), 0)::float8 AS last_autovacuum,
       COALESCE(EXTRACT(EPOCH FROM last_analyze), 0)::float8 AS last_analyze,
       COALESCE(EXTRACT(EPOCH FROM last_autoanalyze), 0)::float8 AS last_autoanalyze
FROM pg_stat_user_tables
