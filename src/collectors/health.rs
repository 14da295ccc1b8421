//! `health`: the guide's "Health Checks" as a metric: per database, the tables
//! whose dead-tuple ratio is above `--collector.health.dead-ratio` (20% as in
//! the guide), from `pg_stat_user_tables` (PostgreSQL 9.6+). The other checks
//! of the guide's health table are other collectors' metrics; the `health`
//! subcommand prints them all at once.

use super::{Column, Columns, Options, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/health.sql");

const COLUMNS: Columns = Columns::new(&[Column::new(
    "tables_needing_vacuum",
    Desc::gauge(
        "pg_tables_needing_vacuum",
        &["datname"],
        "Tables whose dead-tuple ratio n_dead_tup / (n_live_tup + n_dead_tup) is above --collector.health.dead-ratio.",
    ),
)]);

/// The `health` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "health",
    enabled_by_default: true,
    description: "Tables needing VACUUM by the guide's dead-ratio health check",
    scope: Scope::Database,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS]).with_param(dead_ratio)],
};

fn dead_ratio(options: &Options) -> f64 {
    options.dead_ratio
}
