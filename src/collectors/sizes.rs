//! `sizes`: the guide's "Check Database Size" and "Table Sizes": every
//! database's size, and per user table and index of the connected database the
//! table, TOAST, index and total sizes (postgres_exporter's names where it has
//! them). A relation under an ACCESS EXCLUSIVE lock (VACUUM FULL, the guide's
//! monthly task) is left out of that scrape instead of making the collector
//! wait for the lock; every other relation is still reported.

use futures::future::BoxFuture;

use super::{
    descs, families_from_rows, CollectError, Collector, Column, Columns, Context, Scope,
    TABLE_LABELS,
};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const DATABASES_SQL: &str = include_str!("../../queries/sizes_databases.sql");
const TABLES_SQL: &str = include_str!("../../queries/sizes_tables.sql");
const INDEXES_SQL: &str = include_str!("../../queries/sizes_indexes.sql");

const DATABASE_COLUMNS: Columns = Columns::new(&[Column::new(
    "size_bytes",
    Desc::gauge(
        "pg_database_size_bytes",
        &["datname"],
        "Disk space used by the database, in bytes.",
    ),
)]);

const TABLE_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "table_size_bytes",
        Desc::gauge("pg_stat_user_tables_table_size_bytes", TABLE_LABELS, "Size of the table without its indexes (heap, free space and visibility maps, TOAST), in bytes."),
    ),
    Column::new("index_size_bytes", Desc::gauge("pg_stat_user_tables_index_size_bytes", TABLE_LABELS, "Size of all indexes of the table, in bytes.")),
    Column::new("toast_size_bytes", Desc::gauge("pg_stat_user_tables_toast_size_bytes", TABLE_LABELS, "Size of the table's TOAST table and its index, in bytes.")),
    Column::new("total_size_bytes", Desc::gauge("pg_stat_user_tables_total_size_bytes", TABLE_LABELS, "Total size of the table with indexes and TOAST, in bytes.")),
]);

const INDEX_COLUMNS: Columns = Columns::new(&[Column::new(
    "size_bytes",
    Desc::gauge(
        "pg_stat_user_indexes_size_bytes",
        &["datname", "schemaname", "relname", "indexrelname"],
        "Size of the index, in bytes.",
    ),
)]);

#[derive(Debug)]
pub struct Sizes;

impl Collector for Sizes {
    fn name(&self) -> &'static str {
        "sizes"
    }

    fn description(&self) -> &'static str {
        "Database, table, TOAST and index sizes, skipping relations under an exclusive lock"
    }

    fn scope(&self) -> Scope {
        Scope::Both
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(DATABASE_COLUMNS)
            .chain(descs(TABLE_COLUMNS))
            .chain(descs(INDEX_COLUMNS))
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = Vec::new();
            if ctx.server_wide {
                families =
                    families_from_rows(&conn.query(DATABASES_SQL, &[]).await?, DATABASE_COLUMNS)?;
            }
            families.extend(families_from_rows(
                &conn.query(TABLES_SQL, &[]).await?,
                TABLE_COLUMNS,
            )?);
            families.extend(families_from_rows(
                &conn.query(INDEXES_SQL, &[]).await?,
                INDEX_COLUMNS,
            )?);
            Ok(families)
        })
    }
}
