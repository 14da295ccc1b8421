//! `stat_user_indexes`: the guide's "Check index usage statistics" and "Review
//! and clean up unused indexes" from `pg_stat_user_indexes` and `pg_index`
//! (PostgreSQL 9.6+): scans and tuples per index, and `pg_index_info` saying
//! whether an index is unique, a primary key and valid, so unused non-unique
//! indexes and invalid ones (a failed CREATE INDEX CONCURRENTLY) are one query
//! away.

use futures::future::BoxFuture;

use super::{descs, families_from_rows, CollectError, Collector, Column, Columns, Context, Scope};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const SQL: &str = include_str!("../../queries/stat_user_indexes.sql");

const INDEX: &[&str] = &["datname", "schemaname", "relname", "indexrelname"];

const COUNTER_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "idx_scan",
        Desc::counter(
            "pg_stat_user_indexes_idx_scan",
            INDEX,
            "Number of index scans initiated on this index.",
        ),
    ),
    Column::new(
        "idx_tup_read",
        Desc::counter(
            "pg_stat_user_indexes_idx_tup_read",
            INDEX,
            "Number of index entries returned by scans on this index.",
        ),
    ),
    Column::new(
        "idx_tup_fetch",
        Desc::counter(
            "pg_stat_user_indexes_idx_tup_fetch",
            INDEX,
            "Number of live table rows fetched by simple index scans using this index.",
        ),
    ),
]);

const INFO_COLUMNS: Columns = Columns::new(&[Column::new(
    "info",
    Desc::gauge(
        "pg_index_info",
        &[
            "datname",
            "schemaname",
            "relname",
            "indexrelname",
            "unique",
            "primary",
            "valid",
        ],
        "Properties of the index (unique, primary, valid: true or false); the value is always 1.",
    ),
)]);

#[derive(Debug)]
pub struct StatUserIndexes;

impl Collector for StatUserIndexes {
    fn name(&self) -> &'static str {
        "stat_user_indexes"
    }

    fn description(&self) -> &'static str {
        "Per-index scans and tuples from pg_stat_user_indexes, and index properties from pg_index"
    }

    fn scope(&self) -> Scope {
        Scope::Database
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(COUNTER_COLUMNS).chain(descs(INFO_COLUMNS)).collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let rows = conn.query(SQL, &[]).await?;
            let mut families = families_from_rows(&rows, COUNTER_COLUMNS)?;
            families.extend(families_from_rows(&rows, INFO_COLUMNS)?);
            Ok(families)
        })
    }
}
