//! `stat_user_tables`: per-table statistics from `pg_stat_user_tables`
//! (PostgreSQL 13+), the numbers behind the maintenance guide's "Monitor Table
//! Bloat" query and its VACUUM/ANALYZE checks: live and dead tuples, changes
//! since the last ANALYZE, scans, row operations, and when each table was last
//! (auto)vacuumed and (auto)analyzed. Names and labels are postgres_exporter's.

use super::{Column, Columns, Query, QueryCollector, Scope, TABLE_LABELS};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_user_tables.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new("n_live_tup", Desc::gauge("pg_stat_user_tables_n_live_tup", TABLE_LABELS, "Estimated number of live rows.")),
    Column::new("n_dead_tup", Desc::gauge("pg_stat_user_tables_n_dead_tup", TABLE_LABELS, "Estimated number of dead rows.")),
    Column::new("n_mod_since_analyze", Desc::gauge("pg_stat_user_tables_n_mod_since_analyze", TABLE_LABELS, "Estimated number of rows changed since this table was last analyzed.")),
    Column::new("seq_scan", Desc::counter("pg_stat_user_tables_seq_scan", TABLE_LABELS, "Number of sequential scans initiated on this table.")),
    Column::new("seq_tup_read", Desc::counter("pg_stat_user_tables_seq_tup_read", TABLE_LABELS, "Number of live rows fetched by sequential scans.")),
    Column::new("idx_scan", Desc::counter("pg_stat_user_tables_idx_scan", TABLE_LABELS, "Number of index scans initiated on this table.")),
    Column::new("idx_tup_fetch", Desc::counter("pg_stat_user_tables_idx_tup_fetch", TABLE_LABELS, "Number of live rows fetched by index scans.")),
    Column::new("n_tup_ins", Desc::counter("pg_stat_user_tables_n_tup_ins", TABLE_LABELS, "Number of rows inserted.")),
    Column::new("n_tup_upd", Desc::counter("pg_stat_user_tables_n_tup_upd", TABLE_LABELS, "Number of rows updated (includes HOT updates).")),
    Column::new("n_tup_del", Desc::counter("pg_stat_user_tables_n_tup_del", TABLE_LABELS, "Number of rows deleted.")),
    Column::new("n_tup_hot_upd", Desc::counter("pg_stat_user_tables_n_tup_hot_upd", TABLE_LABELS, "Number of rows HOT updated (no separate index update).")),
    Column::new("vacuum_count", Desc::counter("pg_stat_user_tables_vacuum_count", TABLE_LABELS, "Number of times this table has been manually vacuumed (not counting VACUUM FULL).")),
    Column::new("autovacuum_count", Desc::counter("pg_stat_user_tables_autovacuum_count", TABLE_LABELS, "Number of times this table has been vacuumed by the autovacuum daemon.")),
    Column::new("analyze_count", Desc::counter("pg_stat_user_tables_analyze_count", TABLE_LABELS, "Number of times this table has been manually analyzed.")),
    Column::new("autoanalyze_count", Desc::counter("pg_stat_user_tables_autoanalyze_count", TABLE_LABELS, "Number of times this table has been analyzed by the autovacuum daemon.")),
    Column::new("last_vacuum", Desc::gauge("pg_stat_user_tables_last_vacuum", TABLE_LABELS, "Last time this table was manually vacuumed (not counting VACUUM FULL), Unix seconds; 0 when never.")),
    Column::new("last_autovacuum", Desc::gauge("pg_stat_user_tables_last_autovacuum", TABLE_LABELS, "Last time this table was vacuumed by the autovacuum daemon, Unix seconds; 0 when never.")),
    Column::new("last_analyze", Desc::gauge("pg_stat_user_tables_last_analyze", TABLE_LABELS, "Last time this table was manually analyzed, Unix seconds; 0 when never.")),
    Column::new("last_autoanalyze", Desc::gauge("pg_stat_user_tables_last_autoanalyze", TABLE_LABELS, "Last time this table was analyzed by the autovacuum daemon, Unix seconds; 0 when never.")),
]);

/// The `stat_user_tables` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_user_tables",
    enabled_by_default: true,
    description:
        "Per-table tuples, scans and (auto)vacuum/analyze history from pg_stat_user_tables",
    scope: Scope::Database,
    queries: std::slice::from_ref(&QUERY),
};

/// Its query, which [`super::table_statistics`] may stand in for.
pub static QUERY: Query = Query::new(&[(0, SQL)], &[COLUMNS]).ordered_by_labels();
