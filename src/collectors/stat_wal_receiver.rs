//! `stat_wal_receiver`: postgres_exporter's `pg_stat_wal_receiver_*`
//! families: on a standby, the WAL receiver's upstream, positions and
//! message times (nothing on a primary).

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/stat_wal_receiver.sql");

const RECEIVER: &[&str] = &["upstream_host", "slot_name", "status"];

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "receive_start_lsn",
        Desc::counter(
            "pg_stat_wal_receiver_receive_start_lsn",
            RECEIVER,
            "First WAL position used when the receiver started, in bytes (modulo 2^52).",
        ),
    ),
    Column::new(
        "flushed_lsn",
        Desc::counter(
            "pg_stat_wal_receiver_flushed_lsn",
            RECEIVER,
            "Last WAL position received and flushed to disk, in bytes (modulo 2^52).",
        ),
    ),
    Column::new(
        "receive_start_tli",
        Desc::gauge(
            "pg_stat_wal_receiver_receive_start_tli",
            RECEIVER,
            "First timeline used when the receiver started.",
        ),
    ),
    Column::new(
        "received_tli",
        Desc::gauge(
            "pg_stat_wal_receiver_received_tli",
            RECEIVER,
            "Timeline of the last WAL position received and flushed.",
        ),
    ),
    Column::new(
        "last_msg_send_time",
        Desc::counter(
            "pg_stat_wal_receiver_last_msg_send_time",
            RECEIVER,
            "When the upstream sent the last message received, Unix seconds.",
        ),
    ),
    Column::new(
        "last_msg_receipt_time",
        Desc::counter(
            "pg_stat_wal_receiver_last_msg_receipt_time",
            RECEIVER,
            "When the last message from the upstream was received, Unix seconds.",
        ),
    ),
    Column::new(
        "latest_end_lsn",
        Desc::counter(
            "pg_stat_wal_receiver_latest_end_lsn",
            RECEIVER,
            "Last WAL position reported to the upstream, in bytes (modulo 2^52).",
        ),
    ),
    Column::new(
        "latest_end_time",
        Desc::counter(
            "pg_stat_wal_receiver_latest_end_time",
            RECEIVER,
            "When the last WAL position was reported to the upstream, Unix seconds.",
        ),
    ),
    Column::new(
        "upstream_node",
        Desc::gauge(
            "pg_stat_wal_receiver_upstream_node",
            RECEIVER,
            "Node id of the upstream from a repmgr slot name (repmgr_slot_N); absent otherwise.",
        ),
    ),
]);

/// The `stat_wal_receiver` collector (off unless `--collector.stat_wal_receiver`, as in postgres_exporter).
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "stat_wal_receiver",
    enabled_by_default: false,
    description: "WAL receiver upstream, positions and message times on a standby (postgres_exporter's; off by default)",
    scope: Scope::Server,
    queries: &[Query::new(&[(0, SQL)], &[COLUMNS])],
};
