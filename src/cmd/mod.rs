//! The one-shot subcommands: each builds its own single-session pool from the
//! [`crate::config::Config`], does its work once and returns an exit code.
//! - [`health_check`]: the maintenance guide's health table (`health`);
//! - [`sql_baseline`]: the collectors' SQL back to back (`sql-baseline`).

pub mod health_check;
pub mod sql_baseline;

use crate::config::Config;
use crate::db::{Pool, SessionLimits};

/// A pool of one session to the configured server, with the exporter's own
/// session limits.
fn one_session(config: &Config) -> Pool {
    Pool::new(
        config.target.clone(),
        config.tls.clone(),
        1,
        SessionLimits::for_collection(config.collection_timeout),
    )
}
