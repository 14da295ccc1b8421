//! `stat_user_tables`: per-table statistics from `pg_stat_user_tables`
//! (PostgreSQL 13+), the numbers behind the maintenance guide's "Monitor Table
//! Bloat" query and its VACUUM/ANALYZE checks: live and dead tuples, changes
//! since the last ANALYZE, scans, row operations, and when each table was last
//! (auto)vacuumed and (auto)analyzed. Names and labels are postgres_exporter's.

use futures::future::BoxFuture;

use super::{families_from_rows, Collector, Column, Context};
use crate::db::Conn;
use crate::metrics::Family;

const SQL: &str = include_str!("../../queries/stat_user_tables.sql");

const LABELS: &[&str] = &["datname", "schemaname", "relname"];

const COLUMNS: &[Column] = &[
    Column::gauge("n_live_tup", "pg_stat_user_tables_n_live_tup", "Estimated number of live rows."),
    Column::gauge("n_dead_tup", "pg_stat_user_tables_n_dead_tup", "Estimated number of dead rows."),
    Column::gauge(
        "n_mod_since_analyze",
        "pg_stat_user_tables_n_mod_since_analyze",
        "Estimated number of rows changed since this table was last analyzed.",
    ),
    Column::counter("seq_scan", "pg_stat_user_tables_seq_scan", "Number of sequential scans initiated on this table."),
    Column::counter("seq_tup_read", "pg_stat_user_tables_seq_tup_read", "Number of live rows fetched by sequential scans."),
    Column::counter("idx_scan", "pg_stat_user_tables_idx_scan", "Number of index scans initiated on this table."),
    Column::counter("idx_tup_fetch", "pg_stat_user_tables_idx_tup_fetch", "Number of live rows fetched by index scans."),
    Column::counter("n_tup_ins", "pg_stat_user_tables_n_tup_ins", "Number of rows inserted."),
    Column::counter("n_tup_upd", "pg_stat_user_tables_n_tup_upd", "Number of rows updated (includes HOT updates)."),
    Column::counter("n_tup_del", "pg_stat_user_tables_n_tup_del", "Number of rows deleted."),
    Column::counter("n_tup_hot_upd", "pg_stat_user_tables_n_tup_hot_upd", "Number of rows HOT updated (no separate index update)."),
    Column::counter("vacuum_count", "pg_stat_user_tables_vacuum_count", "Number of times this table has been manually vacuumed (not counting VACUUM FULL)."),
    Column::counter("autovacuum_count", "pg_stat_user_tables_autovacuum_count", "Number of times this table has been vacuumed by the autovacuum daemon."),
    Column::counter("analyze_count", "pg_stat_user_tables_analyze_count", "Number of times this table has been manually analyzed."),
    Column::counter("autoanalyze_count", "pg_stat_user_tables_autoanalyze_count", "Number of times this table has been analyzed by the autovacuum daemon."),
    Column::gauge("last_vacuum", "pg_stat_user_tables_last_vacuum", "Last time this table was manually vacuumed (not counting VACUUM FULL), Unix seconds; 0 when never."),
    Column::gauge("last_autovacuum", "pg_stat_user_tables_last_autovacuum", "Last time this table was vacuumed by the autovacuum daemon, Unix seconds; 0 when never."),
    Column::gauge("last_analyze", "pg_stat_user_tables_last_analyze", "Last time this table was manually analyzed, Unix seconds; 0 when never."),
    Column::gauge("last_autoanalyze", "pg_stat_user_tables_last_autoanalyze", "Last time this table was analyzed by the autovacuum daemon, Unix seconds; 0 when never."),
];

#[derive(Debug)]
pub struct StatUserTables;

impl Collector for StatUserTables {
    fn name(&self) -> &'static str {
        "stat_user_tables"
    }

    fn description(&self) -> &'static str {
        "Per-table tuples, scans and (auto)vacuum/analyze history from pg_stat_user_tables"
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, tokio_postgres::Error>> {
        Box::pin(async move {
            let rows = conn.query(SQL, &[]).await?;
            families_from_rows(&rows, LABELS, COLUMNS)
        })
    }
}
