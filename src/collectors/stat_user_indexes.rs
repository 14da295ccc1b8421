//! `stat_user_indexes`: the guide's "Check index usage statistics" and "Review
//! and clean up unused indexes" from `pg_stat_user_indexes` and `pg_index`
//! (PostgreSQL 9.6+): scans and tuples per index, and `pg_index_info` saying
//! whether an index is unique, a primary key and valid, so unused non-unique
//! indexes and invalid ones (a failed CREATE INDEX CONCURRENTLY) are one query
//! away.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_user_indexes.sql");

const INDEX: &[&str] = &["datname", "schemaname", "relname", "indexrelname"];

const COUNTER_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "idx_scan",
        Desc::counter(
            "pg_stat_user_indexes_idx_scan_total",
            INDEX,
            "Number of index scans initiated on this index.",
        ),
    ),
    Column::new(
        "idx_tup_read",
        Desc::counter(
            "pg_stat_user_indexes_idx_tup_read_total",
            INDEX,
            "Number of index entries returned by scans on this index.",
        ),
    ),
    Column::new(
        "idx_tup_fetch",
        Desc::counter(
            "pg_stat_user_indexes_idx_tup_fetch_total",
            INDEX,
            "Number of live table rows fetched by simple index scans using this index.",
        ),
    ),
]);

const INFO_COLUMNS: Columns = Columns::new(&[Column::new(
    "info",
    Desc::gauge(
        "pg_index_info",
        &[
            "datname",
            "schemaname",
            "relname",
            "indexrelname",
            "unique",
            "primary",
            "valid",
        ],
        "Properties of the index (unique, primary, valid: true or false); the value is always 1.",
    ),
)]);

/// The `stat_user_indexes` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_user_indexes",
    enabled_by_default: true,
    description:
        "Per-index scans and tuples from pg_stat_user_indexes, and index properties from pg_index",
    scope: Scope::Database,
    queries: &[Query::new(&[(0, SQL)], &[COUNTER_COLUMNS, INFO_COLUMNS]).ordered_by_labels()],
};
