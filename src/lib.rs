//! festival-pg-exporter: a Prometheus exporter for PostgreSQL.
//!
//! The crate is a library with a thin binary. Each concern has one owner:
//! - [`cli`] turns flags and environment variables into a validated [`config::Config`], once;
//! - [`db`] is the only code that opens connections to PostgreSQL (pool, session settings),
//!   with [`tls`] for TLS;
//! - [`scrape`] is the only code that runs a collection (fan-out, deadlines, single-flight,
//!   self-metrics) and turns its results into exposition text, in every database that
//!   [`databases`] picks;
//! - [`collectors`] holds one file per collector, each returning plain samples;
//! - [`http`] serves the endpoints (with [`web`]'s TLS and basic auth), [`server`] wires
//!   everything and handles shutdown;
//! - [`config_file`] and [`targets`] give `/probe` its servers and reload the configuration;
//! - [`health`] and [`baseline`] are the one-shot `health` and `sql-baseline` subcommands.

pub mod baseline;
pub mod cli;
pub mod collectors;
pub mod config;
pub mod config_file;
pub mod custom_queries;
pub mod databases;
pub mod db;
pub mod health;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod process;
pub mod scrape;
pub mod server;
pub mod targets;
pub mod tls;
pub mod web;
