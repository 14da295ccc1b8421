//! `stat_bgwriter`: checkpoints and buffer writes with postgres_exporter's
//! `pg_stat_bgwriter_*` names, read from `pg_stat_bgwriter` up to PostgreSQL 16
//! and from `pg_stat_checkpointer` plus `pg_stat_bgwriter` from 17, so the same
//! dashboards work on every major. Counters that 17 removed are absent there.

use futures::future::BoxFuture;

use super::{descs, families_from_rows, CollectError, Collector, Column, Columns, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const SQL: &str = include_str!("../../queries/stat_bgwriter.sql");
const SQL_17: &str = include_str!("../../queries/stat_bgwriter.v17.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "checkpoints_timed",
        Desc::counter(
            "pg_stat_bgwriter_checkpoints_timed",
            &[],
            "Scheduled checkpoints performed.",
        ),
    ),
    Column::new(
        "checkpoints_req",
        Desc::counter(
            "pg_stat_bgwriter_checkpoints_req",
            &[],
            "Requested checkpoints performed.",
        ),
    ),
    Column::new(
        "checkpoint_write_seconds",
        Desc::counter(
            "pg_stat_bgwriter_checkpoint_write_time_seconds",
            &[],
            "Time spent writing files to disk during checkpoints, in seconds.",
        ),
    ),
    Column::new(
        "checkpoint_sync_seconds",
        Desc::counter(
            "pg_stat_bgwriter_checkpoint_sync_time_seconds",
            &[],
            "Time spent synchronizing files to disk during checkpoints, in seconds.",
        ),
    ),
    Column::new(
        "buffers_checkpoint",
        Desc::counter(
            "pg_stat_bgwriter_buffers_checkpoint",
            &[],
            "Buffers written during checkpoints.",
        ),
    ),
    Column::new(
        "buffers_clean",
        Desc::counter(
            "pg_stat_bgwriter_buffers_clean",
            &[],
            "Buffers written by the background writer.",
        ),
    ),
    Column::new(
        "maxwritten_clean",
        Desc::counter(
            "pg_stat_bgwriter_maxwritten_clean",
            &[],
            "Times the background writer stopped a cleaning scan for writing too many buffers.",
        ),
    ),
    Column::new(
        "buffers_backend",
        Desc::counter(
            "pg_stat_bgwriter_buffers_backend",
            &[],
            "Buffers written directly by backends (PostgreSQL 13 to 16).",
        ),
    ),
    Column::new(
        "buffers_backend_fsync",
        Desc::counter(
            "pg_stat_bgwriter_buffers_backend_fsync",
            &[],
            "Times a backend had to execute its own fsync (PostgreSQL 13 to 16).",
        ),
    ),
    Column::new(
        "buffers_alloc",
        Desc::counter("pg_stat_bgwriter_buffers_alloc", &[], "Buffers allocated."),
    ),
    Column::new(
        "stats_reset",
        Desc::gauge(
            "pg_stat_bgwriter_stats_reset",
            &[],
            "When these statistics were last reset, Unix seconds.",
        ),
    ),
]);

#[derive(Debug)]
pub struct StatBgwriter;

impl Collector for StatBgwriter {
    fn name(&self) -> &'static str {
        "stat_bgwriter"
    }

    fn description(&self) -> &'static str {
        "Checkpoints and buffer writes from pg_stat_bgwriter (pg_stat_checkpointer from 17)"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(COLUMNS).collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let sql = if ctx.server.version_num >= 170000 {
                SQL_17
            } else {
                SQL
            };
            families_from_rows(&conn.query(sql, &[]).await?, COLUMNS)
        })
    }
}
