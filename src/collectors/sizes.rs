//! `sizes`: the guide's "Check Database Size" and "Table Sizes": every
//! database's size (and connection limit), and per user table and index of the connected database the
//! table, TOAST, index and total sizes (postgres_exporter's names where it has
//! them). A relation under an ACCESS EXCLUSIVE lock (VACUUM FULL, the guide's
//! monthly task) is left out of that scrape instead of making the collector
//! wait for the lock; every other relation is still reported.

use super::{Column, Columns, Query, QueryCollector, Scope, TABLE_LABELS};
use crate::metrics::Desc;

const DATABASES_SQL: &str = include_str!("../../queries/sizes_databases.sql");
const TABLES_SQL: &str = include_str!("../../queries/sizes_tables.sql");
const INDEXES_SQL: &str = include_str!("../../queries/sizes_indexes.sql");

const DATABASE_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "size_bytes",
        Desc::gauge(
            "pg_database_size_bytes",
            &["datname"],
            "Disk space used by the database, in bytes.",
        ),
    ),
    Column::new(
        "connection_limit",
        Desc::gauge(
            "pg_database_connection_limit",
            &["datname"],
            "Connection limit of the database; -1 for none.",
        ),
    ),
]);

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

/// The `sizes` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "sizes",
    enabled_by_default: true,
    description:
        "Database, table, TOAST and index sizes, skipping relations under an exclusive lock",
    scope: Scope::Both,
    queries: &[
        Query::new(&[(0, DATABASES_SQL)], &[DATABASE_COLUMNS]).server_wide(),
        Query::new(&[(0, TABLES_SQL)], &[TABLE_COLUMNS]),
        Query::new(&[(0, INDEXES_SQL)], &[INDEX_COLUMNS]),
    ],
};
