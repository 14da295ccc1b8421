//! `long_running_transactions`: postgres_exporter's count of open
//! transactions in non-idle sessions and the age of the oldest; the guide's
//! per-session view is `stat_activity`.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/long_running_transactions.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new("transactions", Desc::gauge("pg_long_running_transactions", &[], "Open transactions of non-idle sessions (autovacuum and the exporter's own excluded).")),
    Column::new("oldest_seconds", Desc::gauge("pg_long_running_transactions_oldest_timestamp_seconds", &[], "Age of the oldest of those transactions, in seconds; 0 when there is none (postgres_exporter's name).")),
]);

/// The `long_running_transactions` collector (off unless `--collector.long_running_transactions`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "long_running_transactions",
    enabled_by_default: false,
    description: "Open transactions of non-idle sessions and the oldest one's age (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
