//! `stat_archiver`: WAL archiving and WAL volume, the guide's "Point-in-Time
//! Recovery Setup": archived and failed segment counters and the age of the
//! last archived segment from `pg_stat_archiver` (PostgreSQL 9.6+), and WAL
//! generated from `pg_stat_wal` (PostgreSQL 14+; absent on 13), and the
//! segment files in `pg_wal` (postgres_exporter's `wal` families). Whether
//! archiving is on at all is `pg_setting_info{name="archive_mode"}`.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const ARCHIVER_SQL: &str = include_str!("../../queries/stat_archiver.sql");
const WAL_SQL: &str = include_str!("../../queries/stat_wal.sql");
const WAL_DIRECTORY_SQL: &str = include_str!("../../queries/wal_directory.sql");

const WAL_DIRECTORY_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "segments",
        Desc::gauge("pg_wal_segments", &[], "WAL segment files in pg_wal."),
    ),
    Column::new(
        "size_bytes",
        Desc::gauge(
            "pg_wal_size_bytes",
            &[],
            "Total size of the WAL segment files in pg_wal, in bytes.",
        ),
    ),
]);

const ARCHIVER_COLUMNS: Columns = Columns::new(&[
    Column::new("archived_count", Desc::counter("pg_stat_archiver_archived_count", &[], "WAL segments successfully archived.")),
    Column::new("failed_count", Desc::counter("pg_stat_archiver_failed_count", &[], "Failed attempts to archive WAL segments.")),
    Column::new("last_archive_age", Desc::gauge("pg_stat_archiver_last_archive_age", &[], "Seconds since the last WAL segment was archived; absent before the first.")),
    Column::new("last_archived_time", Desc::gauge("pg_stat_archiver_last_archived_time", &[], "When the last WAL segment was archived, Unix seconds.")),
    Column::new("last_failed_time", Desc::gauge("pg_stat_archiver_last_failed_time", &[], "When the last archiving attempt failed, Unix seconds; absent before the first failure.")),
]);

const WAL_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "wal_bytes",
        Desc::counter(
            "pg_wal_bytes_total",
            &[],
            "WAL generated, in bytes (pg_stat_wal, PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "wal_records",
        Desc::counter(
            "pg_wal_records_total",
            &[],
            "WAL records generated (pg_stat_wal, PostgreSQL 14+).",
        ),
    ),
    Column::new(
        "wal_fpi",
        Desc::counter(
            "pg_wal_fpi_total",
            &[],
            "WAL full page images generated (pg_stat_wal, PostgreSQL 14+).",
        ),
    ),
]);

/// The `stat_archiver` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_archiver",
    enabled_by_default: true,
    description:
        "WAL archiving from pg_stat_archiver, WAL volume from pg_stat_wal and the pg_wal directory",
    scope: Scope::Server,
    queries: &[
        Query::new(&[(0, ARCHIVER_SQL)], &[ARCHIVER_COLUMNS]),
        Query::new(&[(140000, WAL_SQL)], &[WAL_COLUMNS]),
        Query::new(&[(0, WAL_DIRECTORY_SQL)], &[WAL_DIRECTORY_COLUMNS]),
    ],
};
