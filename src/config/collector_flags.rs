//! The settings of individual collectors on the command line
//! (`--collector.<name>.<setting>`), part of [`super::flags::Flags`].

use std::path::PathBuf;

use clap::Args;

/// Per-collector settings, before validation.
#[derive(Debug, Args)]
pub(super) struct CollectorFlags {
    /// Thresholds for pg_stat_activity_long_running_queries, comma-separated durations.
    #[arg(
        long = "collector.stat_activity.long-running-thresholds",
        env = "PG_EXPORTER_COLLECTOR_STAT_ACTIVITY_LONG_RUNNING_THRESHOLDS",
        default_value = "5s,1m,5m",
        value_name = "DURATIONS"
    )]
    pub(super) long_running_thresholds: String,

    /// How many statements pg_stat_statements_* report (top by total execution time).
    #[arg(
        long = "collector.stat_statements.limit",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_LIMIT",
        default_value = "100",
        value_name = "N"
    )]
    pub(super) stat_statements_limit: String,

    /// Longest statement text in a label (pg_stat_statements_query_id, pg_stat_activity_long_running_query_seconds, pg_blocking_session_waiters), in characters; 0 exports no texts.
    #[arg(
        long = "collector.stat_statements.query-length",
        alias = "collector.stat_statements.query_length",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_QUERY_LENGTH",
        default_value = "100",
        value_name = "CHARS"
    )]
    pub(super) query_text_length: String,

    /// Most rows one custom query may return; a query returning more fails alone.
    #[arg(
        long = "collector.custom_queries.max-rows",
        env = "PG_EXPORTER_COLLECTOR_CUSTOM_QUERIES_MAX_ROWS",
        default_value = "10000",
        value_name = "N"
    )]
    pub(super) custom_query_max_rows: String,

    /// Databases whose statements stat_statements leaves out (comma-separated names).
    #[arg(
        long = "collector.stat_statements.exclude_databases",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_EXCLUDE_DATABASES",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub(super) stat_statements_exclude_databases: Vec<String>,

    /// Users whose statements stat_statements leaves out (comma-separated names).
    #[arg(
        long = "collector.stat_statements.exclude_users",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_EXCLUDE_USERS",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub(super) stat_statements_exclude_users: Vec<String>,

    /// Dead-tuple ratio above which pg_tables_needing_vacuum counts a table (0.2 or 20%).
    #[arg(
        long = "collector.health.dead-ratio",
        env = "PG_EXPORTER_COLLECTOR_HEALTH_DEAD_RATIO",
        default_value = "20%",
        value_name = "RATIO"
    )]
    pub(super) dead_ratio: String,

    /// How the bloat collector measures: estimate (catalog and pg_stats, no extension) or pgstattuple_approx.
    #[arg(
        long = "collector.bloat.method",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_METHOD",
        default_value = "estimate",
        value_name = "METHOD"
    )]
    pub(super) bloat_method: String,

    /// Smallest table or index the bloat collector reports, in bytes (0: all).
    #[arg(
        long = "collector.bloat.min-size",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_MIN_SIZE",
        default_value = "10485760",
        value_name = "BYTES"
    )]
    pub(super) bloat_min_size: String,

    /// With pgstattuple_approx: how many of the largest tables and indexes are measured.
    #[arg(
        long = "collector.bloat.pgstattuple-limit",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_PGSTATTUPLE_LIMIT",
        default_value = "20",
        value_name = "N"
    )]
    pub(super) bloat_pgstattuple_limit: String,

    /// Only tables whose schemaname.relname matches this regular expression (the whole name) get per-table, per-partition and per-index series.
    #[arg(
        long = "collector.tables.include",
        env = "PG_EXPORTER_COLLECTOR_TABLES_INCLUDE",
        value_name = "REGEX"
    )]
    pub(super) tables_include: Option<String>,

    /// Tables whose schemaname.relname matches this regular expression (the whole name) get no per-table, per-partition or per-index series.
    #[arg(
        long = "collector.tables.exclude",
        env = "PG_EXPORTER_COLLECTOR_TABLES_EXCLUDE",
        value_name = "REGEX"
    )]
    pub(super) tables_exclude: Option<String>,

    /// Tables smaller than this in all (table, TOAST, indexes; as the sizes collector measures) get no per-table, per-partition or per-index series (0: every table).
    #[arg(
        long = "collector.tables.min-size",
        env = "PG_EXPORTER_COLLECTOR_TABLES_MIN_SIZE",
        default_value = "0",
        value_name = "BYTES"
    )]
    pub(super) tables_min_size: String,

    /// Most series a collector exports: N for each collector, NAME=N for one (repeatable; comma-separated in the environment); the rest are dropped with a warning.
    #[arg(
        long = "collector.max-series",
        env = "PG_EXPORTER_COLLECTOR_MAX_SERIES",
        value_delimiter = ',',
        value_name = "[NAME=]N"
    )]
    pub(super) max_series: Vec<String>,

    /// File of custom queries in postgres_exporter's queries.yaml format (repeatable).
    #[arg(
        long = "extend.query-path",
        env = "PG_EXPORTER_EXTEND_QUERY_PATH",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub(super) query_paths: Vec<PathBuf>,

    /// Glob of backup files for the backup collector (repeatable; comma-separated in the environment).
    #[arg(
        long = "collector.backup.path",
        env = "PG_EXPORTER_COLLECTOR_BACKUP_PATH",
        value_delimiter = ',',
        value_name = "GLOB"
    )]
    pub(super) backup_paths: Vec<String>,

    /// The server's log directory (or its log file) for the logs collector (default: read through the session).
    #[arg(
        long = "collector.logs.directory",
        env = "PG_EXPORTER_COLLECTOR_LOGS_DIRECTORY",
        value_name = "DIR"
    )]
    pub(super) logs_directory: Option<PathBuf>,

    /// Most bytes of server log the logs collector reads in one scrape.
    #[arg(
        long = "collector.logs.max-read-bytes",
        env = "PG_EXPORTER_COLLECTOR_LOGS_MAX_READ_BYTES",
        default_value = "8388608",
        value_name = "BYTES"
    )]
    pub(super) logs_max_read_bytes: String,

    /// stat_statements: how many statements with the most execution time since the last scrape are added.
    #[arg(
        long = "collector.stat_statements.recent-limit",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_RECENT_LIMIT",
        default_value = "20",
        value_name = "N"
    )]
    pub(super) stat_statements_recent_limit: String,

    /// stat_statements: how long a statement added for its recent time stays after it stops running.
    #[arg(
        long = "collector.stat_statements.recent-hold",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_RECENT_HOLD",
        default_value = "15m",
        value_name = "DURATION"
    )]
    pub(super) stat_statements_recent_hold: String,

    /// database: about how long a database's measured size is served before it is measured again (0s: every scrape).
    #[arg(
        long = "collector.database.size-interval",
        env = "PG_EXPORTER_COLLECTOR_DATABASE_SIZE_INTERVAL",
        default_value = "5m",
        value_name = "DURATION"
    )]
    pub(super) database_size_interval: String,
}
