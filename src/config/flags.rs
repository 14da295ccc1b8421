//! The command line as clap sees it, before validation: every flag with its
//! environment variable and default, the subcommands, and the per-collector
//! switches made from the collector registry.

use std::path::PathBuf;

use clap::{Arg, ArgAction, CommandFactory, Parser};

use crate::collectors::COLLECTORS;

pub(super) use super::collector_flags::CollectorFlags;

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

    #[command(flatten)]
    pub(super) collectors: CollectorFlags,

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
