//! `roles`: every role's connection limit from `pg_roles`, under
//! postgres_exporter's name, so the sessions a role holds
//! (`pg_stat_activity_count` by `usename`) can be set against its limit.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/roles.sql");

const COLUMNS: Columns = Columns::new(&[Column::new(
    "connection_limit",
    Desc::gauge(
        "pg_roles_connection_limit",
        &["rolname"],
        "Connection limit of the role; -1 for none.",
    ),
)]);

/// The `roles` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "roles",
    enabled_by_default: true,
    description: "Connection limit of every role from pg_roles",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
