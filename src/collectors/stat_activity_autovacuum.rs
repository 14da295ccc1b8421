//! `stat_activity_autovacuum`: postgres_exporter's start time of each
//! running autovacuum by table name. The `autovacuum` collector's
//! `pg_stat_progress_vacuum_*` families say more (schema, phase, progress).

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_activity_autovacuum.sql");

const COLUMNS: Columns = Columns::new(&[Column::new(
    "timestamp_seconds",
    Desc::gauge(
        "pg_stat_activity_autovacuum_timestamp_seconds",
        &["relname"],
        "When the running autovacuum's transaction started, Unix seconds.",
    ),
)]);

/// The `stat_activity_autovacuum` collector (off unless `--collector.stat_activity_autovacuum`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_activity_autovacuum",
    enabled_by_default: false,
    description:
        "Start time of each running autovacuum by table (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
