//! `stat_bgwriter`: checkpoints and buffer writes with postgres_exporter's
//! `pg_stat_bgwriter_*` names, read from `pg_stat_bgwriter` up to PostgreSQL 16
//! and from `pg_stat_checkpointer` plus `pg_stat_bgwriter` from 17, so the same
//! dashboards work on every major. Counters that 17 removed are absent there.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_bgwriter.sql");
const SQL_17: &str = include_str!("../../queries/stat_bgwriter.v17.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "checkpoints_timed",
        Desc::counter(
            "pg_stat_bgwriter_checkpoints_timed_total",
            &[],
            "Scheduled checkpoints performed.",
        ),
    ),
    Column::new(
        "checkpoints_req",
        Desc::counter(
            "pg_stat_bgwriter_checkpoints_req_total",
            &[],
            "Requested checkpoints performed.",
        ),
    ),
    Column::new(
        "checkpoint_write_time",
        Desc::counter(
            "pg_stat_bgwriter_checkpoint_write_time_total",
            &[],
            "Time spent writing files to disk during checkpoints, in milliseconds (postgres_exporter's name and unit).",
        ),
    ),
    Column::new(
        "checkpoint_sync_time",
        Desc::counter(
            "pg_stat_bgwriter_checkpoint_sync_time_total",
            &[],
            "Time spent synchronizing files to disk during checkpoints, in milliseconds (postgres_exporter's name and unit).",
        ),
    ),
    Column::new(
        "buffers_checkpoint",
        Desc::counter(
            "pg_stat_bgwriter_buffers_checkpoint_total",
            &[],
            "Buffers written during checkpoints.",
        ),
    ),
    Column::new(
        "buffers_clean",
        Desc::counter(
            "pg_stat_bgwriter_buffers_clean_total",
            &[],
            "Buffers written by the background writer.",
        ),
    ),
    Column::new(
        "maxwritten_clean",
        Desc::counter(
            "pg_stat_bgwriter_maxwritten_clean_total",
            &[],
            "Times the background writer stopped a cleaning scan for writing too many buffers.",
        ),
    ),
    Column::new(
        "buffers_backend",
        Desc::counter(
            "pg_stat_bgwriter_buffers_backend_total",
            &[],
            "Buffers written directly by backends (PostgreSQL 13 to 16).",
        ),
    ),
    Column::new(
        "buffers_backend_fsync",
        Desc::counter(
            "pg_stat_bgwriter_buffers_backend_fsync_total",
            &[],
            "Times a backend had to execute its own fsync (PostgreSQL 13 to 16).",
        ),
    ),
    Column::new(
        "buffers_alloc",
        Desc::counter("pg_stat_bgwriter_buffers_alloc_total", &[], "Buffers allocated."),
    ),
    Column::new(
        "stats_reset",
        Desc::counter(
            "pg_stat_bgwriter_stats_reset_total",
            &[],
            "When these statistics were last reset, Unix seconds (postgres_exporter's name and type).",
        ),
    ),
]);

/// The `stat_bgwriter` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_bgwriter",
    enabled_by_default: true,
    description:
        "Checkpoints and buffer writes from pg_stat_bgwriter (pg_stat_checkpointer from 17)",
    scope: Scope::Server,
    queries: &[Query::new(&[(170000, SQL_17), (0, SQL)], &[COLUMNS])],
};
