//! The one-shot subcommands: each builds its own single-session pool from the
//! [`crate::config::Config`], does its work once and returns an exit code.
//! - [`health_check`]: the maintenance guide's health table (`health`);
//! - [`sql_baseline`]: the collectors' SQL back to back (`sql-baseline`).

pub mod health_check;
pub mod sql_baseline;
