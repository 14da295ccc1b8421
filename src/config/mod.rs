//! Flags, environment variables and configuration files, turned into one
//! validated, immutable [`Config`] — parsing and validation only.
//!
//! [`flags`] declares the command line (names follow postgres_exporter: every
//! flag can also come from the environment, `PG_EXPORTER_<FLAG>`, and the
//! established `DATA_SOURCE_NAME`, `DATA_SOURCE_PASS_FILE`; the
//! `--collector.<name>` flags are made from the collector registry);
//! [`validate`] checks every value and builds the [`Config`] once, so every
//! mistake is reported at startup as one line naming its flag. The files a
//! flag names are parsed by their own modules: [`file`] (`--config.file`),
//! [`queries`] (custom query files), [`web`] (`--web.config.file`);
//! [`databases`] holds the `--auto-discover-databases` filter. Nothing here
//! connects, serves or collects.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::FromArgMatches;

use crate::collectors::custom_queries::CustomQuery;
use crate::collectors::{Collector, Options};
use crate::db::target::LibpqEnv;
use crate::db::tls::TlsConnector;
pub use crate::logging::LogFormat;
use crate::text::{first_line, unix_now};

mod collector_flags;
mod compat;
pub mod databases;
pub mod file;
mod flags;
pub mod queries;
mod validate;
pub mod web;

pub use databases::Discovery;
pub use file::FileConfig;
pub use web::WebConfig;

/// Everything the exporter needs to run, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where PostgreSQL is: a parsed libpq DSN, password included (never printed).
    pub target: tokio_postgres::Config,
    /// TLS to PostgreSQL (`None`: `sslmode=disable`).
    pub tls: Option<TlsConnector>,
    /// Address the HTTP server binds to.
    pub listen_address: SocketAddr,
    /// Bounds on the HTTP server's connections.
    pub http: HttpLimits,
    /// TLS and basic auth of the HTTP endpoint (`--web.config.file`).
    pub web: WebConfig,
    /// Path that serves the metrics (`/metrics` unless changed).
    pub telemetry_path: String,
    /// Whether `/metrics` and `/probe` may answer in OpenMetrics.
    pub openmetrics: bool,
    /// Upper bound for one scrape; a shorter Prometheus scrape timeout wins.
    pub collection_timeout: Duration,
    /// At most this many connections to the server, shared by all collectors.
    pub max_connections: usize,
    /// The collectors that run on every scrape, in registry order.
    pub collectors: Vec<&'static dyn Collector>,
    /// The configuration file (`--config.file`), read again on reload.
    pub config_file: Option<std::path::PathBuf>,
    /// The configuration file and the custom query files as read at startup.
    pub loaded: Loaded,
    /// The `--extend.query-path` files, read again on reload.
    pub query_paths: Vec<std::path::PathBuf>,
    /// Per-collector settings (thresholds, limits, and the custom queries of
    /// the `--extend.query-path` files followed by the configuration file's).
    pub options: Options,
    /// `--auto-discover-databases`: which other databases the per-database
    /// collectors visit (`None`: only the DSN's).
    pub discovery: Option<Discovery>,
    /// Minimum level of log events.
    pub log_level: tracing::Level,
    /// Log line format.
    pub log_format: LogFormat,
    /// `--constantLabels`: added to every series of every scrape.
    pub constant_labels: Vec<(String, String)>,
    /// One line per postgres_exporter flag accepted without effect, logged
    /// as a warning at startup.
    pub warnings: Vec<String>,
}

/// What a reload reads again: the configuration file (probe targets, auth
/// modules) and the custom queries, those of the `--extend.query-path` files
/// followed by the configuration file's.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub file: FileConfig,
    pub queries: Arc<Vec<CustomQuery>>,
}

impl Loaded {
    /// Reads the files; a mistake is one line naming the file, the entry and
    /// the field.
    pub fn read(
        config_file: Option<&Path>,
        query_paths: &[PathBuf],
    ) -> Result<Loaded, ConfigError> {
        let file = match config_file {
            Some(path) => file::load(path)?,
            None => FileConfig::default(),
        };
        let mut loaded: Vec<CustomQuery> = Vec::new();
        let from_file = file.queries.iter().cloned().map(|q| (q, config_file));
        let from_paths = query_paths
            .iter()
            .map(|path| {
                Ok(queries::load(path)?
                    .into_iter()
                    .map(move |q| (q, Some(path.as_path()))))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        for (query, origin) in from_paths.into_iter().flatten().chain(from_file) {
            if loaded.iter().any(|q| q.name == query.name) {
                let origin = origin.map_or(String::new(), |p| format!(" ('{}')", p.display()));
                return Err(format!(
                    "custom query '{}'{origin} is defined twice: its series and cached results would be confused",
                    query.name
                )
                .into());
            }
            loaded.push(query);
        }
        Ok(Loaded {
            file,
            queries: Arc::new(loaded),
        })
    }
}

/// The files as last loaded, shared by every scrape engine of the process: a
/// reload swaps the one value inside, and collections in flight keep the one
/// they started with. Beside it, how the last load went.
#[derive(Debug, Clone, Default)]
pub struct Reloadable {
    loaded: Arc<RwLock<Arc<Loaded>>>,
    status: Arc<RwLock<Arc<LoadStatus>>>,
}

/// How the last reading of the files went, for postgres_exporter's
/// `postgres_exporter_config_last_reload_*` and
/// `pg_exporter_user_queries_load_error` families.
#[derive(Debug, Clone, Default)]
pub struct LoadStatus {
    /// Whether the last reading (at startup or a reload) was taken into use.
    pub successful: bool,
    /// When files were last taken into use, Unix seconds.
    pub success_time_seconds: f64,
    /// Each `--extend.query-path` file at the last reading.
    pub query_files: Vec<QueryFileStatus>,
}

/// One query file as last read: its name, the SHA-256 of its content (hex)
/// and whether it failed to load on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFileStatus {
    pub filename: String,
    pub hashsum: String,
    pub failed: bool,
}

impl QueryFileStatus {
    /// Reads and checks each file of `paths` on its own.
    pub fn read(paths: &[PathBuf]) -> Vec<QueryFileStatus> {
        use sha2::Digest;
        paths
            .iter()
            .map(|path| {
                let content = std::fs::read(path);
                QueryFileStatus {
                    filename: path.display().to_string(),
                    hashsum: content
                        .as_deref()
                        .map(|bytes| {
                            sha2::Sha256::digest(bytes)
                                .iter()
                                .map(|b| format!("{b:02x}"))
                                .collect()
                        })
                        .unwrap_or_default(),
                    failed: content.is_err() || queries::load(path).is_err(),
                }
            })
            .collect()
    }
}

impl Reloadable {
    /// The files read at startup, from `query_paths`.
    pub fn new(loaded: Loaded, query_paths: &[PathBuf]) -> Reloadable {
        let status = LoadStatus {
            successful: true,
            success_time_seconds: unix_now(),
            query_files: QueryFileStatus::read(query_paths),
        };
        Reloadable {
            loaded: Arc::new(RwLock::new(Arc::new(loaded))),
            status: Arc::new(RwLock::new(Arc::new(status))),
        }
    }

    /// What is loaded now.
    pub fn current(&self) -> Arc<Loaded> {
        Arc::clone(&self.loaded.read().expect("loaded lock"))
    }

    /// How the last reading went.
    pub fn status(&self) -> Arc<LoadStatus> {
        Arc::clone(&self.status.read().expect("status lock"))
    }

    /// Serves `loaded` from the next collection on.
    pub fn replace(&self, loaded: Loaded, query_paths: &[PathBuf]) {
        *self.loaded.write().expect("loaded lock") = Arc::new(loaded);
        self.record(true, query_paths);
    }

    /// Notes a reading that failed: what is loaded stays.
    pub fn failed(&self, query_paths: &[PathBuf]) {
        self.record(false, query_paths);
    }

    fn record(&self, successful: bool, query_paths: &[PathBuf]) {
        let mut status = self.status.write().expect("status lock");
        *status = Arc::new(LoadStatus {
            successful,
            success_time_seconds: if successful {
                unix_now()
            } else {
                status.success_time_seconds
            },
            query_files: QueryFileStatus::read(query_paths),
        });
    }
}

/// A mistake in a configuration file: one line naming the file, the entry
/// and the field. What a reload reports, and what startup prints before it
/// exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl From<String> for ConfigError {
    fn from(message: String) -> ConfigError {
        ConfigError(crate::text::one_line(&message))
    }
}

/// The message, for callers that print or match on it.
impl std::ops::Deref for ConfigError {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<ConfigError> for String {
    fn from(error: ConfigError) -> String {
        error.0
    }
}

/// How the `health` subcommand prints its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthOutput {
    /// An aligned table.
    Text,
    /// One JSON document.
    Json,
}

/// Bounds on the HTTP server's connections.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// At most this many connections open at once.
    pub max_connections: usize,
    /// Time to send a request's headers, and most idle time between requests.
    pub read_header_timeout: Duration,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    /// Run the exporter.
    Run(Config),
    /// Run the SQL baseline this many rounds with this configuration.
    Baseline(Config, usize),
    /// Run the health check once with this configuration.
    Health(Config, HealthOutput),
    /// Print the catalogue of metric families and exit successfully.
    Catalogue,
    /// Print this (help or version) and exit successfully.
    Print(String),
}

/// A usage error: one line naming the flag or variable and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// Parses the process arguments (the first is the program name).
pub fn parse<I, T>(args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = match flags::command().try_get_matches_from(args) {
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
    let mut flags = flags::Flags::from_arg_matches(&matches)
        .map_err(|err| UsageError(first_line(&err.to_string())))?;
    let subcommand = flags.subcommand.take();
    // A configuration file is checked on its own, whatever the other flags say.
    if let Some(flags::Subcommand::CheckConfig { file }) = &subcommand {
        return check_config(file);
    }
    let config =
        validate::validate(flags, &matches, &LibpqEnv::from_process_env()).map_err(UsageError)?;
    if matches.get_flag("dumpmaps") {
        return Ok(Parsed::Catalogue);
    }
    match subcommand {
        None => Ok(Parsed::Run(config)),
        Some(flags::Subcommand::Metrics) => Ok(Parsed::Catalogue),
        Some(flags::Subcommand::CheckConfig { file }) => check_config(&file),
        Some(flags::Subcommand::SqlBaseline { rounds }) => {
            let rounds = crate::text::number_in("sql-baseline --rounds", &rounds, 1..=100_000)
                .map_err(UsageError)?;
            Ok(Parsed::Baseline(config, rounds))
        }
        Some(flags::Subcommand::Health { output }) => match output.as_str() {
            "text" => Ok(Parsed::Health(config, HealthOutput::Text)),
            "json" => Ok(Parsed::Health(config, HealthOutput::Json)),
            other => Err(UsageError(format!(
                "health --output: '{other}' is not one of text, json"
            ))),
        },
    }
}

/// `check-config FILE`: the file's summary, or its first mistake.
fn check_config(file: &std::path::Path) -> Result<Parsed, UsageError> {
    let config = file::load(file).map_err(|e| UsageError(e.into()))?;
    Ok(Parsed::Print(format!(
        "{}: ok ({} targets, {} auth modules, {} custom queries)\n",
        file.display(),
        config.targets.len(),
        config.auth_modules.len(),
        config.queries.len()
    )))
}

#[cfg(test)]
mod tests;
