//! `statio_user_indexes`: postgres_exporter's per-index block reads and
//! buffer hits from `pg_statio_user_indexes`, with its labels (no database:
//! only the DSN's database is read).

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/statio_user_indexes.sql");

const INDEX: &[&str] = &["schemaname", "relname", "indexrelname"];

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "idx_blks_read",
        Desc::counter(
            "pg_statio_user_indexes_idx_blks_read_total",
            INDEX,
            "Disk blocks read from this index.",
        ),
    ),
    Column::new(
        "idx_blks_hit",
        Desc::counter(
            "pg_statio_user_indexes_idx_blks_hit_total",
            INDEX,
            "Buffer hits in this index.",
        ),
    ),
]);

/// The `statio_user_indexes` collector (off unless `--collector.statio_user_indexes`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "statio_user_indexes",
    enabled_by_default: false,
    description: "Per-index block reads and buffer hits from pg_statio_user_indexes (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
