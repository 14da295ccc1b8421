//! `health`: the guide's "Health Checks" as a metric: per database, the tables
//! whose dead-tuple ratio is above `--collector.health.dead-ratio` (20% as in
//! the guide), from `pg_stat_user_tables` (PostgreSQL 9.6+). The other checks
//! of the guide's health table are other collectors' metrics; the `health`
//! subcommand prints them all at once.

use futures::future::BoxFuture;

use super::{descs, families_from_rows, CollectError, Collector, Column, Columns, Context, Scope};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const SQL: &str = include_str!("../../queries/health.sql");

const COLUMNS: Columns = Columns::new(&[Column::new(
    "tables_needing_vacuum",
    Desc::gauge(
        "pg_tables_needing_vacuum",
        &["datname"],
        "Tables whose dead-tuple ratio n_dead_tup / (n_live_tup + n_dead_tup) is above --collector.health.dead-ratio.",
    ),
)]);

#[derive(Debug)]
pub struct Health;

impl Collector for Health {
    fn name(&self) -> &'static str {
        "health"
    }

    fn description(&self) -> &'static str {
        "Tables needing VACUUM by the guide's dead-ratio health check"
    }

    fn scope(&self) -> Scope {
        Scope::Database
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(COLUMNS).collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            families_from_rows(&conn.query(SQL, &[&ctx.options.dead_ratio]).await?, COLUMNS)
        })
    }
}
