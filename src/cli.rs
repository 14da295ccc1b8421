//! Flags and environment variables, turned into a validated [`Config`] once.
//!
//! Names follow postgres_exporter so that its users feel at home: every flag
//! can also come from the environment (`PG_EXPORTER_<FLAG>` with dots and dashes
//! as underscores, and the established `DATA_SOURCE_NAME`,
//! `DATA_SOURCE_PASS_FILE`). The `--collector.<name>` and
//! `--no-collector.<name>` flags are made from the collector registry.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};

use crate::collectors::{Options, COLLECTORS};
use crate::config::{
    build_target, build_tls, parse_duration, parse_listen_address, Config, LibpqEnv, LogFormat,
};

/// The flags as clap sees them, before validation.
#[derive(Debug, Parser)]
#[command(
    name = "festival-pg-exporter",
    version,
    about = "Prometheus exporter for PostgreSQL",
    long_about = "Prometheus exporter for PostgreSQL. Every request to the telemetry path \
                  queries the server afresh; concurrent requests share one collection."
)]
struct Flags {
    /// PostgreSQL to watch: a libpq URL (postgresql://user@host:port/db?sslmode=disable) or a
    /// key=value string. Without it the DSN is built from PGHOST, PGPORT, PGUSER, PGPASSWORD,
    /// PGDATABASE and PGSSLMODE, defaulting to postgresql://postgres@localhost:5432/postgres.
    #[arg(
        long = "data-source-name",
        env = "DATA_SOURCE_NAME",
        value_name = "DSN",
        hide_env_values = true
    )]
    data_source_name: Option<String>,

    /// File holding the password (a trailing newline is ignored); wins over any other password.
    #[arg(
        long = "data-source-pass-file",
        env = "DATA_SOURCE_PASS_FILE",
        value_name = "FILE"
    )]
    data_source_pass_file: Option<PathBuf>,

    /// Address to listen on for HTTP requests.
    #[arg(
        long = "web.listen-address",
        env = "PG_EXPORTER_WEB_LISTEN_ADDRESS",
        default_value = ":9187",
        value_name = "[HOST]:PORT"
    )]
    listen_address: String,

    /// Configuration file (YAML): servers for /probe with their credentials, auth modules, custom query files.
    #[arg(
        long = "config.file",
        env = "PG_EXPORTER_CONFIG_FILE",
        value_name = "FILE"
    )]
    config_file: Option<PathBuf>,

    /// Prometheus exporter-toolkit web configuration file: TLS and basic auth for the HTTP endpoint.
    #[arg(
        long = "web.config.file",
        env = "PG_EXPORTER_WEB_CONFIG_FILE",
        value_name = "FILE"
    )]
    web_config_file: Option<PathBuf>,

    /// Path under which to expose metrics.
    #[arg(
        long = "web.telemetry-path",
        env = "PG_EXPORTER_WEB_TELEMETRY_PATH",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    telemetry_path: String,

    /// Deadline of one scrape (e.g. 10s, 500ms); a shorter Prometheus scrape timeout wins.
    #[arg(
        long = "collection-timeout",
        env = "PG_EXPORTER_COLLECTION_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    collection_timeout: String,

    /// Most connections the exporter opens to the server, shared by all collectors.
    #[arg(
        long = "max-connections",
        env = "PG_EXPORTER_MAX_CONNECTIONS",
        default_value = "2",
        value_name = "N"
    )]
    max_connections: String,

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
    auto_discover_databases: bool,

    /// With --auto-discover-databases: only these databases (comma-separated names or regular
    /// expressions matching the whole name).
    #[arg(
        long = "include-databases",
        env = "PG_EXPORTER_INCLUDE_DATABASES",
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    include_databases: Vec<String>,

    /// With --auto-discover-databases: not these databases (comma-separated names or regular
    /// expressions matching the whole name).
    #[arg(
        long = "exclude-databases",
        env = "PG_EXPORTER_EXCLUDE_DATABASES",
        value_delimiter = ',',
        value_name = "PATTERNS"
    )]
    exclude_databases: Vec<String>,

    /// Thresholds for pg_stat_activity_long_running_queries, comma-separated durations.
    #[arg(
        long = "collector.stat_activity.long-running-thresholds",
        env = "PG_EXPORTER_COLLECTOR_STAT_ACTIVITY_LONG_RUNNING_THRESHOLDS",
        default_value = "5s,1m,5m",
        value_name = "DURATIONS"
    )]
    long_running_thresholds: String,

    /// How many statements pg_stat_statements_* report (top by total execution time).
    #[arg(
        long = "collector.stat_statements.limit",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_LIMIT",
        default_value = "100",
        value_name = "N"
    )]
    stat_statements_limit: String,

    /// Longest statement text in pg_stat_statements_query_id, in characters; 0 exports no texts.
    #[arg(
        long = "collector.stat_statements.query-length",
        env = "PG_EXPORTER_COLLECTOR_STAT_STATEMENTS_QUERY_LENGTH",
        default_value = "100",
        value_name = "CHARS"
    )]
    stat_statements_query_length: String,

    /// Dead-tuple ratio above which pg_tables_needing_vacuum counts a table (0.2 or 20%).
    #[arg(
        long = "collector.health.dead-ratio",
        env = "PG_EXPORTER_COLLECTOR_HEALTH_DEAD_RATIO",
        default_value = "20%",
        value_name = "RATIO"
    )]
    dead_ratio: String,

    /// How the bloat collector measures: estimate (catalog and pg_stats, no extension) or pgstattuple_approx.
    #[arg(
        long = "collector.bloat.method",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_METHOD",
        default_value = "estimate",
        value_name = "METHOD"
    )]
    bloat_method: String,

    /// Smallest table or index the bloat collector reports, in bytes (0: all).
    #[arg(
        long = "collector.bloat.min-size",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_MIN_SIZE",
        default_value = "10485760",
        value_name = "BYTES"
    )]
    bloat_min_size: String,

    /// With pgstattuple_approx: how many of the largest tables and indexes are measured.
    #[arg(
        long = "collector.bloat.pgstattuple-limit",
        env = "PG_EXPORTER_COLLECTOR_BLOAT_PGSTATTUPLE_LIMIT",
        default_value = "20",
        value_name = "N"
    )]
    bloat_pgstattuple_limit: String,

    /// File of custom queries in postgres_exporter's queries.yaml format (repeatable).
    #[arg(
        long = "extend.query-path",
        env = "PG_EXPORTER_EXTEND_QUERY_PATH",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    query_paths: Vec<PathBuf>,

    /// Glob of backup files for the backup collector (repeatable; comma-separated in the environment).
    #[arg(
        long = "collector.backup.path",
        env = "PG_EXPORTER_COLLECTOR_BACKUP_PATH",
        value_delimiter = ',',
        value_name = "GLOB"
    )]
    backup_paths: Vec<String>,

    /// Only log messages with the given severity or above: error, warn, info, debug.
    #[arg(
        long = "log.level",
        env = "PG_EXPORTER_LOG_LEVEL",
        default_value = "info",
        value_name = "LEVEL"
    )]
    log_level: String,

    #[command(subcommand)]
    subcommand: Option<Subcommand>,

    /// Output format of log messages: logfmt or json.
    #[arg(
        long = "log.format",
        env = "PG_EXPORTER_LOG_FORMAT",
        default_value = "logfmt",
        value_name = "FORMAT"
    )]
    log_format: String,
}

/// Commands besides running the exporter.
#[derive(Debug, clap::Subcommand)]
enum Subcommand {
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

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run the exporter.
    Run(Config),
    /// Run the SQL baseline this many rounds with this configuration.
    Baseline(Config, usize),
    /// Run the health check once with this configuration.
    Health(Config, crate::health::Output),
    /// Print this (help or version) and exit successfully.
    Print(String),
}

/// A usage error: one line naming the flag or variable and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

fn collector_env(name: &str) -> String {
    format!("PG_EXPORTER_COLLECTOR_{}", name.to_ascii_uppercase())
}

fn command() -> clap::Command {
    let mut command = Flags::command();
    for collector in COLLECTORS {
        let name = collector.name();
        let default = if collector.enabled_by_default() {
            "enabled"
        } else {
            "disabled"
        };
        command = command
            .arg(
                Arg::new(format!("collector.{name}"))
                    .long(format!("collector.{name}"))
                    .env(collector_env(name))
                    .action(ArgAction::Set)
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
                    .value_parser(clap::builder::BoolishValueParser::new())
                    .value_name("BOOL")
                    .help(format!(
                        "Enable the {name} collector ({default} by default): {}",
                        collector.description()
                    )),
            )
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

/// Parses the process arguments (the first is the program name).
pub fn parse<I, T>(args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = match command().try_get_matches_from(args) {
        Ok(matches) => matches,
        Err(err) => {
            use clap::error::ErrorKind;
            return match err.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    Ok(Parsed::Print(err.render().to_string()))
                }
                _ => Err(UsageError(first_line(&err.render().to_string()))),
            };
        }
    };
    let mut flags = Flags::from_arg_matches(&matches)
        .map_err(|err| UsageError(first_line(&err.to_string())))?;
    let subcommand = flags.subcommand.take();
    // A configuration file is checked on its own, whatever the other flags say.
    if let Some(Subcommand::CheckConfig { file }) = &subcommand {
        return check_config(file);
    }
    let config = validate(flags, &matches, &LibpqEnv::from_process_env()).map_err(UsageError)?;
    match subcommand {
        None => Ok(Parsed::Run(config)),
        Some(Subcommand::Metrics) => Ok(Parsed::Print(crate::scrape::catalogue_text())),
        Some(Subcommand::CheckConfig { file }) => check_config(&file),
        Some(Subcommand::SqlBaseline { rounds }) => {
            let rounds =
                number_in("sql-baseline --rounds", &rounds, 1..=100_000).map_err(UsageError)?;
            Ok(Parsed::Baseline(config, rounds))
        }
        Some(Subcommand::Health { output }) => match output.as_str() {
            "text" => Ok(Parsed::Health(config, crate::health::Output::Text)),
            "json" => Ok(Parsed::Health(config, crate::health::Output::Json)),
            other => Err(UsageError(format!(
                "health --output: '{other}' is not one of text, json"
            ))),
        },
    }
}

/// `check-config FILE`: the file's summary, or its first mistake.
fn check_config(file: &std::path::Path) -> Result<Parsed, UsageError> {
    let config = crate::config_file::load(file).map_err(UsageError)?;
    Ok(Parsed::Print(format!(
        "{}: ok ({} targets, {} auth modules, {} custom queries)\n",
        file.display(),
        config.targets.len(),
        config.auth_modules.len(),
        config.queries.len()
    )))
}

/// clap's messages run over several lines (tips, usage); the first says what is wrong.
fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim()
        .to_string()
}

fn validate(flags: Flags, matches: &ArgMatches, env: &LibpqEnv) -> Result<Config, String> {
    let mut target = build_target(
        flags.data_source_name.as_deref(),
        env,
        flags.data_source_pass_file.as_deref(),
    )?;
    let tls_options = build_tls(flags.data_source_name.as_deref(), env)?;
    target.ssl_mode(tls_options.negotiation());
    let tls = tls_options.connector()?;
    let web = match &flags.web_config_file {
        Some(path) => crate::web::load(path)?,
        None => crate::web::WebConfig::default(),
    };
    let listen_address = parse_listen_address(&flags.listen_address)
        .map_err(|e| format!("--web.listen-address: {e}"))?;
    if !flags.telemetry_path.starts_with('/') || flags.telemetry_path.len() < 2 {
        return Err(format!(
            "--web.telemetry-path: '{}' must start with '/' and name a path other than '/'",
            flags.telemetry_path
        ));
    }
    if ["/healthz", "/readyz"].contains(&flags.telemetry_path.as_str()) {
        return Err(format!(
            "--web.telemetry-path: '{}' is taken by a built-in endpoint",
            flags.telemetry_path
        ));
    }
    let collection_timeout = parse_duration(&flags.collection_timeout)
        .map_err(|e| format!("--collection-timeout: {e}"))?;
    if collection_timeout.as_millis() < 100 {
        return Err(format!(
            "--collection-timeout: '{}' is shorter than 100ms",
            flags.collection_timeout
        ));
    }
    let max_connections = number_in("--max-connections", &flags.max_connections, 1..=100)?;
    let stat_statements_limit = number_in(
        "--collector.stat_statements.limit",
        &flags.stat_statements_limit,
        1..=10_000,
    )?;
    let stat_statements_query_length = number_in(
        "--collector.stat_statements.query-length",
        &flags.stat_statements_query_length,
        0..=10_000,
    )?;
    let dead_ratio = parse_ratio(&flags.dead_ratio).ok_or_else(|| {
        format!(
            "--collector.health.dead-ratio: '{}' is not a ratio from 0 to 1 (or 0% to 100%)",
            flags.dead_ratio
        )
    })?;
    let bloat_method = flags
        .bloat_method
        .parse()
        .map_err(|e| format!("--collector.bloat.method: {e}"))?;
    let bloat_min_size: u64 = number_in(
        "--collector.bloat.min-size",
        &flags.bloat_min_size,
        0..=u64::MAX,
    )?;
    let bloat_pgstattuple_limit = number_in(
        "--collector.bloat.pgstattuple-limit",
        &flags.bloat_pgstattuple_limit,
        1..=10_000,
    )?;
    let mut min_intervals = std::collections::BTreeMap::new();
    for collector in COLLECTORS {
        let flag = format!("collector.{}.min-interval", collector.name());
        let text = matches
            .get_one::<String>(&flag)
            .map(String::as_str)
            .unwrap_or("0s");
        let interval = parse_duration(text).map_err(|e| format!("--{flag}: {e}"))?;
        if !interval.is_zero() {
            min_intervals.insert(collector.name(), interval);
        }
    }
    let file = match &flags.config_file {
        Some(path) => crate::config_file::load(path)?,
        None => crate::config_file::FileConfig::default(),
    };
    let mut custom_queries = Vec::new();
    for path in &flags.query_paths {
        custom_queries.extend(crate::custom_queries::load(path)?);
    }
    for pattern in &flags.backup_paths {
        glob::Pattern::new(pattern).map_err(|e| {
            format!("--collector.backup.path: '{pattern}' is not a valid glob: {e}")
        })?;
    }
    let discovery =
        crate::databases::Discovery::new(&flags.include_databases, &flags.exclude_databases)?;
    if !flags.auto_discover_databases {
        for (flag, given) in [
            ("--include-databases", &flags.include_databases),
            ("--exclude-databases", &flags.exclude_databases),
        ] {
            if given.iter().any(|p| !p.trim().is_empty()) {
                return Err(format!(
                    "{flag}: has no effect without --auto-discover-databases"
                ));
            }
        }
    }
    let mut long_running_thresholds = Vec::new();
    for part in flags.long_running_thresholds.split(',') {
        let duration = parse_duration(part)
            .map_err(|e| format!("--collector.stat_activity.long-running-thresholds: {e}"))?;
        long_running_thresholds.push(duration.as_secs_f64());
    }
    long_running_thresholds.sort_by(f64::total_cmp);
    long_running_thresholds.dedup();
    let log_level = match flags.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        other => {
            return Err(format!(
                "--log.level: '{other}' is not one of error, warn, info, debug"
            ))
        }
    };
    let log_format = match flags.log_format.as_str() {
        "logfmt" => LogFormat::Logfmt,
        "json" => LogFormat::Json,
        other => {
            return Err(format!(
                "--log.format: '{other}' is not one of logfmt, json"
            ))
        }
    };
    let collectors = COLLECTORS
        .iter()
        .copied()
        .filter(|c| {
            let name = c.name();
            if matches.get_flag(&format!("no-collector.{name}")) {
                return false;
            }
            matches
                .get_one::<bool>(&format!("collector.{name}"))
                .copied()
                .unwrap_or(c.enabled_by_default())
        })
        .collect();
    Ok(Config {
        target,
        tls,
        web,
        listen_address,
        telemetry_path: flags.telemetry_path,
        collection_timeout,
        max_connections,
        collectors,
        config_file: flags.config_file,
        file,
        query_paths: flags.query_paths,
        options: Options {
            long_running_thresholds,
            stat_statements_limit,
            stat_statements_query_length,
            dead_ratio,
            backup_paths: flags.backup_paths,
            bloat_method,
            bloat_min_size: bloat_min_size as f64,
            bloat_pgstattuple_limit,
            min_intervals,
            custom_queries: std::sync::Arc::new(custom_queries),
            custom_cache: Default::default(),
            discovery: flags.auto_discover_databases.then_some(discovery),
            statement_texts: Default::default(),
        },
        log_level,
        log_format,
    })
}

/// Parses `text` as a number within `range`, naming `flag` when it is not.
fn number_in<T>(flag: &str, text: &str, range: std::ops::RangeInclusive<T>) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "{flag}: '{text}' is not a number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

/// `0.2` or `20%` → 0.2, within 0 to 1.
fn parse_ratio(text: &str) -> Option<f64> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&value).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        let mut full = vec!["festival-pg-exporter"];
        full.extend_from_slice(args);
        let matches = command()
            .try_get_matches_from(full)
            .map_err(|e| first_line(&e.render().to_string()))?;
        let flags = Flags::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        validate(flags, &matches, &LibpqEnv::default())
    }

    fn names(config: &Config) -> Vec<&'static str> {
        config.collectors.iter().map(|c| c.name()).collect()
    }

    #[test]
    fn defaults() {
        let config = run(&[]).unwrap();
        assert_eq!(config.listen_address.port(), 9187);
        assert_eq!(config.telemetry_path, "/metrics");
        assert_eq!(config.collection_timeout.as_secs(), 10);
        assert_eq!(config.max_connections, 2);
        assert_eq!(
            config.options.long_running_thresholds,
            vec![5.0, 60.0, 300.0]
        );
        assert_eq!(config.options.stat_statements_limit, 100);
        assert_eq!(config.options.stat_statements_query_length, 100);
        assert_eq!(config.options.dead_ratio, 0.2);
        assert!(config.options.backup_paths.is_empty());
        assert_eq!(config.options.bloat_min_size, 10_485_760.0);
        assert_eq!(
            config.options.bloat_method,
            crate::collectors::bloat::Method::Estimate
        );
        assert_eq!(
            config
                .options
                .min_intervals
                .clone()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![("bloat", std::time::Duration::from_secs(300))]
        );
        let config = run(&[
            "--collector.bloat.min-interval=0s",
            "--collector.sizes.min-interval=1m",
        ])
        .unwrap();
        assert_eq!(
            config
                .options
                .min_intervals
                .clone()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![("sizes", std::time::Duration::from_secs(60))]
        );
        let defaults: Vec<_> = COLLECTORS
            .iter()
            .filter(|c| c.enabled_by_default())
            .map(|c| c.name())
            .collect();
        assert_eq!(names(&config), defaults);
        assert!(!defaults.contains(&"backup"), "backup is off by default");
    }

    #[test]
    fn collector_switches() {
        let config = run(&["--no-collector.locks"]).unwrap();
        assert!(!names(&config).contains(&"locks"));
        let config = run(&["--collector.locks=false", "--collector.stat_activity"]).unwrap();
        assert!(!names(&config).contains(&"locks"));
        assert!(names(&config).contains(&"stat_activity"));
        assert!(run(&["--collector.nonexistent"])
            .unwrap_err()
            .contains("--collector.nonexistent"));
        let config = run(&[
            "--collector.backup",
            "--collector.backup.path",
            "/backups/*.dump",
            "--collector.backup.path=/archive/**/*.tar",
            "--collector.health.dead-ratio=0.35",
        ])
        .unwrap();
        assert!(names(&config).contains(&"backup"));
        assert_eq!(
            config.options.backup_paths,
            ["/backups/*.dump", "/archive/**/*.tar"]
        );
        assert_eq!(config.options.dead_ratio, 0.35);
        assert_eq!(parse_ratio("20%"), Some(0.2));
        assert_eq!(parse_ratio("-0.1"), None);
    }

    #[test]
    fn database_discovery_flags() {
        assert!(run(&[]).unwrap().options.discovery.is_none());
        let config = run(&[
            "--auto-discover-databases",
            "--include-databases=festivals,tenant_.*",
            "--exclude-databases",
            "tenant_test",
        ])
        .unwrap();
        let discovery = config.options.discovery.expect("discovery on");
        assert!(discovery.wants("festivals") && discovery.wants("tenant_7"));
        assert!(!discovery.wants("tenant_test") && !discovery.wants("postgres"));
        assert!(run(&["--auto-discover-databases=false"])
            .unwrap()
            .options
            .discovery
            .is_none());
    }

    #[test]
    fn bad_values_name_their_flag() {
        for (args, flag) in [
            (
                &["--collection-timeout", "soon"][..],
                "--collection-timeout",
            ),
            (
                &["--collection-timeout", "10ms"][..],
                "--collection-timeout",
            ),
            (
                &["--web.listen-address", "nowhere"][..],
                "--web.listen-address",
            ),
            (
                &["--web.telemetry-path", "metrics"][..],
                "--web.telemetry-path",
            ),
            (&["--max-connections", "0"][..], "--max-connections"),
            (&["--log.level", "loud"][..], "--log.level"),
            (&["--log.format", "xml"][..], "--log.format"),
            (
                &["--collector.stat_statements.limit", "0"][..],
                "--collector.stat_statements.limit",
            ),
            (
                &["--collector.stat_statements.query-length", "x"][..],
                "query-length",
            ),
            (
                &["--collector.health.dead-ratio", "120%"][..],
                "--collector.health.dead-ratio",
            ),
            (
                &["--collector.bloat.method", "guess"][..],
                "--collector.bloat.method",
            ),
            (
                &["--collector.bloat.min-interval", "often"][..],
                "--collector.bloat.min-interval",
            ),
            (
                &["--collector.bloat.min-size=-1"][..],
                "--collector.bloat.min-size",
            ),
            (
                &["--collector.backup.path", "/backups/[x"][..],
                "--collector.backup.path",
            ),
            (
                &["--collector.stat_activity.long-running-thresholds", "5s,x"][..],
                "long-running-thresholds",
            ),
            (
                &["--data-source-name", "postgresql://u@h:port/d"][..],
                "DATA_SOURCE_NAME",
            ),
            (
                &["--auto-discover-databases", "--include-databases=a("][..],
                "--include-databases: 'a('",
            ),
            (
                &["--exclude-databases=template1"][..],
                "--exclude-databases: has no effect without --auto-discover-databases",
            ),
            (
                &["--auto-discover-databases=maybe"][..],
                "--auto-discover-databases",
            ),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(flag), "{args:?}: {err}");
            assert!(!err.contains('\n'), "{args:?}: more than one line: {err}");
        }
    }

    #[test]
    fn every_flag_is_one_line_in_help_and_has_an_env_var_or_is_a_switch() {
        let help = command().render_long_help().to_string();
        for collector in COLLECTORS {
            assert!(help.contains(&format!("--collector.{}", collector.name())));
            assert!(help.contains(&format!("--no-collector.{}", collector.name())));
        }
        for arg in command().get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" || id.starts_with("no-collector.") {
                continue;
            }
            assert!(
                arg.get_env().is_some(),
                "flag {id} has no environment variable"
            );
        }
    }
}
