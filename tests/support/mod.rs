//! Test harness shared by the integration tests: a throwaway PostgreSQL
//! cluster per test, the real exporter binary, a plain HTTP client and a parser
//! for the exposition text. Nothing is mocked and nothing depends on servers
//! already running on the machine. This file only re-exports; each job has a
//! file of its own:
//!
//! - `cluster.rs`: [`PgCluster`] (initdb, start, stop, standby, sessions) and
//!   the fixtures loaded into it ([`run_and_disconnect`], [`SLOW_AUTOVACUUM`]).
//! - `exporter.rs`: [`Exporter`], the real binary started and stopped by a test,
//!   and [`exporter_command`] to run it without waiting for it to listen.
//! - `http.rs`: the plain HTTP client ([`http_get`], [`read_response`]).
//! - `exposition.rs`: [`Metrics`], the exposition text parser, and helpers to
//!   read values from it.
//! - `certs.rs`: [`make_certificates`], a CA and certificates made by openssl.
//! - `wait.rs`: [`eventually`] and [`WAIT`], polling for statistics to appear,
//!   and [`now`] to compare timestamps with.

// Every test crate compiles this module and uses only part of it.
#![allow(dead_code, unused_imports)]

mod certs;
mod cluster;
mod exporter;
mod exposition;
mod http;
mod wait;

pub use certs::{make_certificates, openssl};
pub use cluster::{connect, free_port, pid, run_and_disconnect, PgCluster, SLOW_AUTOVACUUM};
pub use exporter::{exporter_command, Exporter};
pub use exposition::{success, Metrics, Series};
pub use http::{http_get, read_response, try_http_get, HttpResponse};
pub use wait::{eventually, now, WAIT};
