//! `stat_checkpointer`: postgres_exporter's `pg_stat_checkpointer_*`
//! families (PostgreSQL 17+; nothing before). The same checkpoint counters
//! are always served under their `pg_stat_bgwriter_*` names by the
//! `stat_bgwriter` collector, on every version.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_checkpointer.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "num_timed",
        Desc::counter(
            "pg_stat_checkpointer_num_timed_total",
            &[],
            "Scheduled checkpoints performed.",
        ),
    ),
    Column::new(
        "num_requested",
        Desc::counter(
            "pg_stat_checkpointer_num_requested_total",
            &[],
            "Requested checkpoints performed.",
        ),
    ),
    Column::new(
        "restartpoints_timed",
        Desc::counter(
            "pg_stat_checkpointer_restartpoints_timed_total",
            &[],
            "Scheduled restartpoints (standby only).",
        ),
    ),
    Column::new(
        "restartpoints_req",
        Desc::counter(
            "pg_stat_checkpointer_restartpoints_req_total",
            &[],
            "Requested restartpoints (standby only).",
        ),
    ),
    Column::new(
        "restartpoints_done",
        Desc::counter(
            "pg_stat_checkpointer_restartpoints_done_total",
            &[],
            "Restartpoints performed (standby only).",
        ),
    ),
    Column::new(
        "write_time",
        Desc::counter(
            "pg_stat_checkpointer_write_time_total",
            &[],
            "Time spent writing files during checkpoints and restartpoints, in milliseconds.",
        ),
    ),
    Column::new(
        "sync_time",
        Desc::counter(
            "pg_stat_checkpointer_sync_time_total",
            &[],
            "Time spent synchronizing files during checkpoints and restartpoints, in milliseconds.",
        ),
    ),
    Column::new(
        "buffers_written",
        Desc::counter(
            "pg_stat_checkpointer_buffers_written_total",
            &[],
            "Buffers written during checkpoints and restartpoints.",
        ),
    ),
    Column::new(
        "stats_reset",
        Desc::counter(
            "pg_stat_checkpointer_stats_reset_total",
            &[],
            "When these statistics were last reset, Unix seconds (postgres_exporter's type).",
        ),
    ),
]);

/// The `stat_checkpointer` collector (off unless `--collector.stat_checkpointer`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_checkpointer",
    enabled_by_default: false,
    description: "Checkpoints and restartpoints from pg_stat_checkpointer, PostgreSQL 17+ (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(170000, SQL)], &[COLUMNS])],
};
