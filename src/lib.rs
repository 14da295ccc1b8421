//! festival-pg-exporter: a Prometheus exporter for PostgreSQL.
//!
//! The crate is a library with a thin binary. Each room has one owner, and
//! imports only flow down this list (no module imports one above it):
//! - [`cmd`]: the one-shot subcommands (`health`, `sql-baseline`);
//! - [`http`]: the router, basic auth, `/probe` engines and reloads, and the
//!   server that wires a [`config::Config`] into a running exporter;
//! - [`scrape`]: the only code that runs a collection (fan-out, deadlines,
//!   single-flight, self-metrics); each engine owns its caches;
//! - [`config`]: flags and files turned into one immutable, validated
//!   [`config::Config`] (parsing and validation only);
//! - [`collectors`]: one file per collector, each returning plain families,
//!   and the caches an engine keeps for them;
//! - [`db`]: the only code that opens connections (pool, session limits,
//!   target, TLS);
//! - [`metrics`]: families and their one encoding;
//! - [`logging`]: the log format;
//! - [`text`]: parsers of user text, importing nothing from the crate.

pub mod cmd;
pub mod collectors;
pub mod config;
pub mod db;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod scrape;
pub mod text;
