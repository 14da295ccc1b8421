//! `buffercache_summary`: postgres_exporter's summary of the shared buffer
//! cache from `pg_buffercache_summary()` (the pg_buffercache extension,
//! PostgreSQL 16+; nothing before). Without the extension the collector
//! reports its failure.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/buffercache_summary.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "buffers_used",
        Desc::gauge(
            "pg_buffercache_summary_buffers_used",
            &[],
            "Shared buffers in use.",
        ),
    ),
    Column::new(
        "buffers_unused",
        Desc::gauge(
            "pg_buffercache_summary_buffers_unused",
            &[],
            "Shared buffers not in use.",
        ),
    ),
    Column::new(
        "buffers_dirty",
        Desc::gauge(
            "pg_buffercache_summary_buffers_dirty",
            &[],
            "Dirty shared buffers.",
        ),
    ),
    Column::new(
        "buffers_pinned",
        Desc::gauge(
            "pg_buffercache_summary_buffers_pinned",
            &[],
            "Pinned shared buffers.",
        ),
    ),
    Column::new(
        "usagecount_avg",
        Desc::gauge(
            "pg_buffercache_summary_usagecount_avg",
            &[],
            "Average usage count of the shared buffers in use.",
        ),
    ),
]);

/// The `buffercache_summary` collector (off unless `--collector.buffercache_summary`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "buffercache_summary",
    enabled_by_default: false,
    description: "Shared buffer cache summary from pg_buffercache, PostgreSQL 16+ (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(160000, SQL)], &[COLUMNS])],
};
