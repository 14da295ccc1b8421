//! `statio_user_tables`: per-table block I/O from `pg_statio_user_tables`
//! under postgres_exporter's names: blocks read from disk and found in the
//! buffer cache, for the heap, its indexes, TOAST and the TOAST index (the
//! per-table cache hit ratio behind the guide's "Monitor Index Usage").

use super::{Column, Columns, Query, QueryCollector, Scope, TABLE_LABELS};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/statio_user_tables.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "heap_blks_read",
        Desc::counter(
            "pg_statio_user_tables_heap_blocks_read",
            TABLE_LABELS,
            "Disk blocks read from this table.",
        ),
    ),
    Column::new(
        "heap_blks_hit",
        Desc::counter(
            "pg_statio_user_tables_heap_blocks_hit",
            TABLE_LABELS,
            "Buffer hits in this table.",
        ),
    ),
    Column::new(
        "idx_blks_read",
        Desc::counter(
            "pg_statio_user_tables_idx_blocks_read",
            TABLE_LABELS,
            "Disk blocks read from all indexes on this table.",
        ),
    ),
    Column::new(
        "idx_blks_hit",
        Desc::counter(
            "pg_statio_user_tables_idx_blocks_hit",
            TABLE_LABELS,
            "Buffer hits in all indexes on this table.",
        ),
    ),
    Column::new(
        "toast_blks_read",
        Desc::counter(
            "pg_statio_user_tables_toast_blocks_read",
            TABLE_LABELS,
            "Disk blocks read from this table's TOAST table.",
        ),
    ),
    Column::new(
        "toast_blks_hit",
        Desc::counter(
            "pg_statio_user_tables_toast_blocks_hit",
            TABLE_LABELS,
            "Buffer hits in this table's TOAST table.",
        ),
    ),
    Column::new(
        "tidx_blks_read",
        Desc::counter(
            "pg_statio_user_tables_tidx_blocks_read",
            TABLE_LABELS,
            "Disk blocks read from this table's TOAST table indexes.",
        ),
    ),
    Column::new(
        "tidx_blks_hit",
        Desc::counter(
            "pg_statio_user_tables_tidx_blocks_hit",
            TABLE_LABELS,
            "Buffer hits in this table's TOAST table indexes.",
        ),
    ),
]);

/// The `statio_user_tables` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "statio_user_tables",
    enabled_by_default: true,
    description:
        "Per-table heap, index and TOAST block reads and buffer hits from pg_statio_user_tables",
    scope: Scope::Database,
    queries: std::slice::from_ref(&QUERY),
};

/// Its query, which [`super::table_statistics`] may stand in for.
pub static QUERY: Query = Query::new(&[(0, SQL)], &[COLUMNS]).ordered_by_labels();
