//! `replication`: standby status, lag and replication slots with
//! postgres_exporter's family names (`pg_replication_is_replica`,
//! `pg_replication_lag_seconds`) plus per-standby lag from
//! `pg_stat_replication` and retained WAL per slot from `pg_replication_slots`
//! (PostgreSQL 10+). Raw facts only: a lag is never forced to 0 because two
//! positions match. A standalone server (no standbys, no slots) is not an
//! error: those families are simply empty.

use futures::future::BoxFuture;

use super::{descs, families_from_rows, CollectError, Collector, Column, Columns, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const SQL: &str = include_str!("../../queries/replication.sql");
const STANDBYS_SQL: &str = include_str!("../../queries/replication_standbys.sql");
const SLOTS_SQL: &str = include_str!("../../queries/replication_slots.sql");

const STANDBY: &[&str] = &["application_name", "client_addr", "state"];
const SLOT: &[&str] = &["slot_name", "slot_type", "datname"];

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
            "On a standby, seconds since the last replayed transaction committed on the primary.",
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
        "replay_lag_bytes",
        Desc::gauge(
            "pg_stat_replication_replay_lag_bytes",
            STANDBY,
            "WAL bytes not yet replayed by the standby.",
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
        "retained_wal_bytes",
        Desc::gauge(
            "pg_replication_slots_retained_wal_bytes",
            SLOT,
            "WAL the slot keeps from being removed, in bytes (current position minus restart_lsn).",
        ),
    ),
]);

#[derive(Debug)]
pub struct Replication;

impl Collector for Replication {
    fn name(&self) -> &'static str {
        "replication"
    }

    fn description(&self) -> &'static str {
        "Standby status and lag, per-standby lag and replication slots"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(SERVER_COLUMNS)
            .chain(descs(STANDBY_COLUMNS))
            .chain(descs(SLOT_COLUMNS))
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = families_from_rows(&conn.query(SQL, &[]).await?, SERVER_COLUMNS)?;
            families.extend(families_from_rows(
                &conn.query(STANDBYS_SQL, &[]).await?,
                STANDBY_COLUMNS,
            )?);
            families.extend(families_from_rows(
                &conn.query(SLOTS_SQL, &[]).await?,
                SLOT_COLUMNS,
            )?);
            Ok(families)
        })
    }
}
