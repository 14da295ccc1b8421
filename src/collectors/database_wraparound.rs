//! `database_wraparound`: postgres_exporter's transaction ID and multixact
//! ages per database. Its names end in `_seconds` although the values are
//! transaction counts; this exporter's own `pg_database_frozen_xid_age`
//! (autovacuum collector) is the same first quantity, named for what it is.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/database_wraparound.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new("age_datfrozenxid", Desc::gauge("pg_database_wraparound_age_datfrozenxid_seconds", &["datname"], "Age of the database's oldest unfrozen transaction ID, in transactions (postgres_exporter's name).")),
    Column::new("age_datminmxid", Desc::gauge("pg_database_wraparound_age_datminmxid_seconds", &["datname"], "Age of the database's oldest multixact ID, in multixacts (postgres_exporter's name).")),
]);

/// The `database_wraparound` collector (off unless `--collector.database_wraparound`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "database_wraparound",
    enabled_by_default: false,
    description:
        "Transaction ID and multixact age per database (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
