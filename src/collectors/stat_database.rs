//! `stat_database`: per-database activity from `pg_stat_database` and
//! `pg_stat_database_conflicts` (PostgreSQL 13+, session counters from 14),
//! with postgres_exporter's names so its dashboards keep working: commits,
//! rollbacks, cache hits and reads (the cache hit ratio), tuples, temp files,
//! deadlocks and recovery conflicts. Times are seconds where the name says so;
//! `blk_read_time` and `blk_write_time` keep postgres_exporter's milliseconds.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_database.sql");
const SQL_14: &str = include_str!("../../queries/stat_database.v14.sql");

/// postgres_exporter's labels: the database's oid and name.
const DB: &[&str] = &["datid", "datname"];

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "numbackends",
        Desc::gauge(
            "pg_stat_database_numbackends",
            DB,
            "Backends currently connected to this database.",
        ),
    ),
    Column::new(
        "xact_commit",
        Desc::counter(
            "pg_stat_database_xact_commit",
            DB,
            "Transactions committed.",
        ),
    ),
    Column::new(
        "xact_rollback",
        Desc::counter(
            "pg_stat_database_xact_rollback",
            DB,
            "Transactions rolled back.",
        ),
    ),
    Column::new(
        "blks_read",
        Desc::counter("pg_stat_database_blks_read", DB, "Disk blocks read."),
    ),
    Column::new(
        "blks_hit",
        Desc::counter(
            "pg_stat_database_blks_hit",
            DB,
            "Disk blocks found in the buffer cache.",
        ),
    ),
    Column::new(
        "tup_returned",
        Desc::counter(
            "pg_stat_database_tup_returned",
            DB,
            "Rows returned by queries.",
        ),
    ),
    Column::new(
        "tup_fetched",
        Desc::counter(
            "pg_stat_database_tup_fetched",
            DB,
            "Rows fetched by queries.",
        ),
    ),
    Column::new(
        "tup_inserted",
        Desc::counter("pg_stat_database_tup_inserted", DB, "Rows inserted."),
    ),
    Column::new(
        "tup_updated",
        Desc::counter("pg_stat_database_tup_updated", DB, "Rows updated."),
    ),
    Column::new(
        "tup_deleted",
        Desc::counter("pg_stat_database_tup_deleted", DB, "Rows deleted."),
    ),
    Column::new(
        "conflicts",
        Desc::counter(
            "pg_stat_database_conflicts",
            DB,
            "Queries cancelled by recovery conflicts (standbys only).",
        ),
    ),
    Column::new(
        "temp_files",
        Desc::counter(
            "pg_stat_database_temp_files",
            DB,
            "Temporary files created by queries.",
        ),
    ),
    Column::new(
        "temp_bytes",
        Desc::counter(
            "pg_stat_database_temp_bytes",
            DB,
            "Data written to temporary files, in bytes.",
        ),
    ),
    Column::new(
        "deadlocks",
        Desc::counter("pg_stat_database_deadlocks", DB, "Deadlocks detected."),
    ),
    Column::new(
        "blk_read_time",
        Desc::counter(
            "pg_stat_database_blk_read_time",
            DB,
            "Time spent reading data file blocks, in milliseconds (postgres_exporter's name and unit; needs track_io_timing).",
        ),
    ),
    Column::new(
        "blk_write_time",
        Desc::counter(
            "pg_stat_database_blk_write_time",
            DB,
            "Time spent writing data file blocks, in milliseconds (postgres_exporter's name and unit; needs track_io_timing).",
        ),
    ),
    Column::new(
        "stats_reset",
        Desc::counter(
            "pg_stat_database_stats_reset",
            DB,
            "When these statistics were last reset, Unix seconds; 0 if never (postgres_exporter's type).",
        ),
    ),
    Column::new(
        "sessions",
        Desc::counter(
            "pg_stat_database_sessions_total",
            DB,
            "Sessions established (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "sessions_abandoned",
        Desc::counter(
            "pg_stat_database_sessions_abandoned_total",
            DB,
            "Sessions ended because the client disconnected (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "sessions_fatal",
        Desc::counter(
            "pg_stat_database_sessions_fatal_total",
            DB,
            "Sessions ended by fatal errors (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "sessions_killed",
        Desc::counter(
            "pg_stat_database_sessions_killed_total",
            DB,
            "Sessions terminated by operator intervention (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "session_seconds",
        Desc::counter(
            "pg_stat_database_session_time_seconds_total",
            DB,
            "Time spent by sessions, in seconds (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "active_seconds",
        Desc::counter(
            "pg_stat_database_active_time_seconds_total",
            DB,
            "Time spent executing statements, in seconds (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "idle_in_transaction_seconds",
        Desc::counter(
            "pg_stat_database_idle_in_transaction_time_seconds_total",
            DB,
            "Time spent idle in transaction, in seconds (PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "confl_tablespace",
        Desc::counter(
            "pg_stat_database_conflicts_confl_tablespace",
            DB,
            "Queries cancelled due to dropped tablespaces.",
        ),
    ),
    Column::new(
        "confl_lock",
        Desc::counter(
            "pg_stat_database_conflicts_confl_lock",
            DB,
            "Queries cancelled due to lock timeouts.",
        ),
    ),
    Column::new(
        "confl_snapshot",
        Desc::counter(
            "pg_stat_database_conflicts_confl_snapshot",
            DB,
            "Queries cancelled due to old snapshots.",
        ),
    ),
    Column::new(
        "confl_bufferpin",
        Desc::counter(
            "pg_stat_database_conflicts_confl_bufferpin",
            DB,
            "Queries cancelled due to pinned buffers.",
        ),
    ),
    Column::new(
        "confl_deadlock",
        Desc::counter(
            "pg_stat_database_conflicts_confl_deadlock",
            DB,
            "Queries cancelled due to deadlocks.",
        ),
    ),
]);

/// The `stat_database` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_database",
    enabled_by_default: true,
    description:
        "Per-database transactions, cache hits, tuples, temp files, deadlocks and conflicts",
    scope: Scope::Server,
    queries: &[Query::new(&[(140000, SQL_14), (0, SQL)], &[COLUMNS])],
};
