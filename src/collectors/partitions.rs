//! `partitions`: the guide's "Partition Maintenance" and "Monitor Partition
//! Health" from `pg_inherits`, `pg_partitioned_table` and the partition bounds
//! (PostgreSQL 10+): per parent the number of partitions, for range partitions
//! on a date or timestamp key the newest upper and oldest lower bound (so
//! "future partitions run out" and "older than the retention" are alerts), the
//! rows that landed in the DEFAULT partition, and every partition's size
//! (lock-safe, as in `sizes`). Nested, list and hash partitions are counted and
//! sized without bounds.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const PARENTS_SQL: &str = include_str!("../../queries/partitions.sql");
const SIZES_SQL: &str = include_str!("../../queries/partitions_sizes.sql");

const PARENT: &[&str] = &["datname", "schemaname", "parent"];

const PARENT_COLUMNS: Columns = Columns::new(&[
    Column::new("partitions", Desc::gauge("pg_partition_children", PARENT, "Number of direct partitions (or inheritance children) of the parent.")),
    Column::new(
        "newest_bound",
        Desc::gauge(
            "pg_partition_newest_bound_timestamp_seconds",
            PARENT,
            "Highest upper bound of the parent's date/timestamp range partitions, Unix seconds: future coverage is this minus time().",
        ),
    ),
    Column::new(
        "oldest_bound",
        Desc::gauge("pg_partition_oldest_bound_timestamp_seconds", PARENT, "Lowest lower bound of the parent's date/timestamp range partitions, Unix seconds."),
    ),
    Column::new(
        "default_rows",
        Desc::gauge("pg_partition_default_rows", PARENT, "Estimated live rows in the parent's DEFAULT partition: rows that missed every range."),
    ),
]);

const SIZE_COLUMNS: Columns = Columns::new(&[Column::new(
    "size_bytes",
    Desc::gauge(
        "pg_partition_size_bytes",
        &["datname", "schemaname", "parent", "partition"],
        "Total size of the partition with indexes and TOAST, in bytes.",
    ),
)]);

/// The `partitions` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "partitions",
    enabled_by_default: true,
    description:
        "Partitions per parent, their sizes, date range coverage and DEFAULT partition rows",
    scope: Scope::Database,
    queries: &[
        Query::new(&[(0, PARENTS_SQL)], &[PARENT_COLUMNS]),
        Query::new(&[(0, SIZES_SQL)], &[SIZE_COLUMNS]),
    ],
};
