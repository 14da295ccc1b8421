//! The command line as clap sees it, before validation: every flag with its
//! environment variable and default, the subcommands, and the per-collector
//! switches made from the collector registry.

use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory, Parser};

use crate::collectors::COLLECTORS;

/// The flags as clap sees them, before validation.
#[derive(Debug, Parser)]
#[command(
    name = "festival-pg-exporter",
    version,
    about = "Prometheus exporter for PostgreSQL",
    long_about = "Prometheus exporter for PostgreSQL. Every request to the telemetry path \
                  queries the server afresh; concurrent requests share one collection."
)]
pub(super) struct Flags {
    /// PostgreSQL to watch: a libpq URL (postgresql://user@host:port/db?sslmode=disable) or a
    /// key=value string. Without it the DSN is built from PGHOST, PGPORT, PGUSER, PGPASSWORD,
    /// PGDATABASE and PGSSLMODE, defaulting to postgresql://postgres@localhost:5432/postgres.
    #[arg(
        long = "data-source-name",
        env = "DATA_SOURCE_NAME",
        value_name = "DSN",
        hide_env_values = true
    )]
    pub(super) data_source_name: Option<String>,

    /// File holding the password (a trailing newline is ignored); wins over any other password.
    #[arg(
        long = "data-source-pass-file",
        env = "DATA_SOURCE_PASS_FILE",
        value_name = "FILE"
    )]
    pub(super) data_source_pass_file: Option<PathBuf>,

    /// Address to listen on for HTTP requests.
    #[arg(
        long = "web.listen-address",
        env = "PG_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":9187",
        value_name = "[HOST]:PORT"
    )]
    pub(super) listen_address: String,

    /// Most HTTP connections open at once; more wait in the kernel's backlog.
    #[arg(
        long = "web.max-connections",
        env = "PG_EXPORTER_WEB_MAX_CONNECTIONS",
        default_value = "128",
        value_name = "N"
    )]
    pub(super) web_max_connections: String,

    /// Time a client has to send a request's headers; also how long a kept-alive connection may stay idle.
    #[arg(
        long = "web.read-header-timeout",
        env = "PG_EXPORTER_WEB_READ_HEADER_TIMEOUT",
        default_value = "30s",
        value_name = "DURATION"
    )]
    pub(super) web_read_header_timeout: String,

    /// Configuration file (YAML): servers for /probe with their credentials, auth modules, custom query files.
    #[arg(
        long = "config.file",
        env = "PG_EXPORTER_CONFIG_FILE",
        value_name = "FILE"
    )]
    pub(super) config_file: Option<PathBuf>,

    /// Prometheus exporter-toolkit web configuration file: TLS and basic auth for the HTTP endpoint.
    #[arg(
        long = "web.config.file",
        env = "PG_EXPORTER_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    pub(super) web_config_file: Option<PathBuf>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "PG_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    pub(super) telemetry_path: String,

    /// Serve OpenMetrics to scrapers that prefer it (counter samples then end in _total); off: text format 0.0.4 only, as postgres_exporter serves.
    #[arg(
        long = "web.enable-openmetrics",
        env = "PG_EXPORTER_WEB_ENABLE_OPENMETRICS",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub(super) enable_openmetrics: bool,

    /// Deadline of one scrape (e.g. 10s, 500ms); a shorter Prometheus scrape timeout wins.
    #[arg(
        long = "collection-timeout",
        env = "PG_EXPORTER_COLLECTION_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    pub(super) collection_timeout: String,

    /// Most connections the exporter opens to the server, shared by all collectors.
    #[arg(
        long = "max-connections",
        env = "PG_EXPORTER_MAX_CONNECTIONS",
        default_value = "2",
        value_name = "N"
    )]
    pub(super) max_connections: String,

    /// Also run the per-database collectors (tables, indexes, sizes, partitions, bloat, custom
    /// queries) in every other database of the server that accepts connections.
    #[arg(
        long = "auto-discover-databases",
        env = "PG_EXPORTER_AUTO_DISCOVER_DATABASES",
        num_args = 0..=1,
        require_equals = true,
        default_value = "false",
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
        value_name = "BOOL"
    )]
    pub(super) auto_discover_databases: bool,

    /// With --auto-discover-databases: only these databases (comma-separated names or regular
    /// expressions matching the whole name).
    #[arg(
        long = "include-databases",
        env = "PG_EXPORTER_INCLUDE_DATABASES",
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    pub(super) include_databases: Vec<String>,

    /// With --auto-discover-databases: not these databases (comma-separated names or regular
    /// expressions matching the whole name).
    #[arg(
        long = "exclude-databases",
        env = "PG_EXPORTER_EXCLUDE_DATABASES",
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    pub(super) exclude_databases: Vec<String>,

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

    /// Directory of the server's log files for the logs collector (default: read through the session).
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

    /// Only log messages with the given severity or above: error, warn, info, debug.
    #[arg(
        long = "log.level",
        env = "PG_EXPORTER_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    pub(super) log_level: String,

    #[command(subcommand)]
    pub(super) subcommand: Option<Subcommand>,

    /// Output format of log messages: logfmt or json.
    #[arg(
        long = "log.format",
        env = "PG_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        value_name = "FORMAT"
    )]
    pub(super) log_format: String,
}

/// Commands besides running the exporter.
#[derive(Debug, clap::Subcommand)]
pub(super) enum Subcommand {
    /// Print the catalogue of metric families, one per line: name, type, labels, help.
    Metrics,
    /// Check a configuration file (and the query files it names) and exit: 0 when it is fine, 2 with the first mistake.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Connect once, print the maintenance guide's health table and exit 1 when a check fails.
    Health {
        /// text (an aligned table) or json.
        #[arg(long = "output", default_value = "text", value_name = "FORMAT")]
        output: String,
    },
    /// Run the enabled collectors' SQL back to back on one session, without HTTP or encoding, and print each round's time (the benchmark's floor).
    SqlBaseline {
        /// How many rounds.
        #[arg(long = "rounds", default_value = "20", value_name = "N")]
        rounds: String,
    },
}

fn collector_env(name: &str) -> String {
    format!("PG_EXPORTER_COLLECTOR_{}", name.to_ascii_uppercase())
}

pub(super) fn command() -> clap::Command {
    let mut command = Flags::command().args(super::compat::args());
    for collector in COLLECTORS {
        let name = collector.name();
        let default = if collector.enabled_by_default() {
            "enabled"
        } else {
            "disabled"
        };
        command = command
            .arg(super::compat::switch(
                &format!("collector.{name}"),
                &collector_env(name),
                &format!(
                    "Enable the {name} collector ({default} by default): {}",
                    collector.description()
                ),
            ))
            .arg(
                Arg::new(format!("no-collector.{name}"))
                    .long(format!("no-collector.{name}"))
                    .action(ArgAction::SetTrue)
                    .help(format!("Disable the {name} collector")),
            )
            .arg(
                Arg::new(format!("collector.{name}.min-interval"))
                    .long(format!("collector.{name}.min-interval"))
                    .env(format!("{}_MIN_INTERVAL", collector_env(name)))
                    .default_value(format!("{}s", collector.default_min_interval().as_secs()))
                    .value_name("DURATION")
                    .help(format!(
                        "Run the {name} collector at most this often, serving its last result in between (0s: every scrape)"
                    )),
            );
    }
    command
}
