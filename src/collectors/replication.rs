//! `replication`: standby status, lag and replication slots with
//! postgres_exporter's family names (`pg_replication_is_replica`,
//! `pg_replication_lag_seconds`) plus per-standby lag from
//! `pg_stat_replication` and postgres_exporter's `pg_replication_slots_*`
//! families (PostgreSQL 13+). Raw facts only: a lag is never forced to 0 because two
//! positions match, except in `pg_replication_lag_seconds`, which keeps
//! postgres_exporter's definition. A standalone server (no standbys, no slots) is not an
//! error: those families are simply empty.

use super::{Column, Columns, Query, QueryCollector, Scope};
use crate::metrics::Desc;

const SQL: &str = include_str!("../../queries/replication.sql");
const STANDBYS_SQL: &str = include_str!("../../queries/replication_standbys.sql");
const SLOTS_SQL: &str = include_str!("../../queries/replication_slots.sql");

/// postgres_exporter's labels for a connected standby.
const STANDBY: &[&str] = &[
    "application_name",
    "client_addr",
    "state",
    "slot_name",
    "pid",
];
/// postgres_exporter's two label sets for slots.
const SLOT: &[&str] = &["slot_name", "database"];
const SLOT_TYPE: &[&str] = &["slot_name", "slot_type"];

const SERVER_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "is_replica",
        Desc::gauge(
            "pg_replication_is_replica",
            &[],
            "Whether the server is a standby in recovery (1) or a primary (0).",
        ),
    ),
    Column::new(
        "lag_seconds",
        Desc::gauge(
            "pg_replication_lag_seconds",
            &[],
            "On a standby, seconds since the last replayed transaction committed on the primary; 0 on a primary and when all received WAL is replayed (postgres_exporter's definition).",
        ),
    ),
    Column::new(
        "last_replay_seconds",
        Desc::gauge(
            "pg_replication_last_replay_seconds",
            &[],
            "Seconds since the last replayed transaction committed on the primary, whether or not WAL is waiting; 0 on a primary.",
        ),
    ),
]);

const STANDBY_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "write_lag_seconds",
        Desc::gauge(
            "pg_stat_replication_write_lag_seconds",
            STANDBY,
            "Time until the standby had written recent WAL, as last measured.",
        ),
    ),
    Column::new(
        "flush_lag_seconds",
        Desc::gauge(
            "pg_stat_replication_flush_lag_seconds",
            STANDBY,
            "Time until the standby had flushed recent WAL, as last measured.",
        ),
    ),
    Column::new(
        "replay_lag_seconds",
        Desc::gauge(
            "pg_stat_replication_replay_lag_seconds",
            STANDBY,
            "Time until the standby had replayed recent WAL, as last measured.",
        ),
    ),
    Column::new(
        "sent_lag_bytes",
        Desc::gauge(
            "pg_stat_replication_sent_lag_bytes",
            STANDBY,
            "WAL bytes not yet sent to the standby.",
        ),
    ),
    Column::new(
        "write_lag_bytes",
        Desc::gauge(
            "pg_stat_replication_write_lag_bytes",
            STANDBY,
            "WAL bytes not yet written by the standby.",
        ),
    ),
    Column::new(
        "flush_lag_bytes",
        Desc::gauge(
            "pg_stat_replication_flush_lag_bytes",
            STANDBY,
            "WAL bytes not yet flushed by the standby.",
        ),
    ),
    Column::new(
        "pg_wal_lsn_diff",
        Desc::gauge(
            "pg_stat_replication_pg_wal_lsn_diff",
            STANDBY,
            "WAL bytes not yet replayed by the standby (this server's current, or last received, position minus replay_lsn).",
        ),
    ),
    Column::new(
        "pg_current_wal_lsn_bytes",
        Desc::gauge(
            "pg_stat_replication_pg_current_wal_lsn_bytes",
            STANDBY,
            "This server's current (or last received) WAL position, in bytes from 0/0.",
        ),
    ),
]);

const SLOT_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "active",
        Desc::gauge(
            "pg_replication_slots_active",
            SLOT,
            "Whether a consumer is attached to the slot.",
        ),
    ),
    Column::new(
        "pg_wal_lsn_diff",
        Desc::gauge(
            "pg_replication_slots_pg_wal_lsn_diff",
            SLOT,
            "WAL the slot keeps from being removed, in bytes (this server's current or last received position minus restart_lsn).",
        ),
    ),
]);

const SLOT_TYPE_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "current_wal_lsn",
        Desc::gauge(
            "pg_replication_slots_slot_current_wal_lsn",
            SLOT_TYPE,
            "This server's current (or last received) WAL position, in bytes from 0/0.",
        ),
    ),
    Column::new(
        "confirmed_flush_lsn",
        Desc::gauge(
            "pg_replication_slots_slot_confirmed_flush_lsn",
            SLOT_TYPE,
            "Position up to which the slot's consumer confirmed receiving data, in bytes from 0/0; active logical slots only.",
        ),
    ),
    Column::new(
        "active",
        Desc::gauge(
            "pg_replication_slots_slot_is_active",
            SLOT_TYPE,
            "Whether a consumer is attached to the slot.",
        ),
    ),
    Column::new(
        "safe_wal_size",
        Desc::gauge(
            "pg_replication_slots_safe_wal_size_bytes",
            SLOT_TYPE,
            "WAL that can still be written before the slot is in danger of being lost, in bytes; absent without max_slot_wal_keep_size.",
        ),
    ),
]);

const WAL_STATUS_COLUMNS: Columns = Columns::new(&[Column::new(
    "wal_status_present",
    Desc::gauge(
        "pg_replication_slots_wal_status",
        &["slot_name", "slot_type", "wal_status"],
        "Availability of the WAL the slot claims (reserved, extended, unreserved, lost); the value is always 1.",
    ),
)]);

/// The `replication` collector.
pub static COLLECTOR: QueryCollector = QueryCollector {
    name: "replication",
    enabled_by_default: true,
    description: "Standby status and lag, per-standby lag and replication slots",
    scope: Scope::Server,
    queries: &[
        Query::new(&[(0, SQL)], &[SERVER_COLUMNS]),
        Query::new(&[(0, STANDBYS_SQL)], &[STANDBY_COLUMNS]),
        Query::new(
            &[(0, SLOTS_SQL)],
            &[SLOT_COLUMNS, SLOT_TYPE_COLUMNS, WAL_STATUS_COLUMNS],
        ),
    ],
};
