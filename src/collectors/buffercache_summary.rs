//! `buffercache_summary`: postgres_exporter's summary of the shared buffer
//! cache from `pg_buffercache_summary()` (the pg_buffercache extension 1.4+,
//! PostgreSQL 16+; nothing before), called in the schema the extension lives
//! in, since the exporter's sessions search only `pg_catalog`. Without the
//! extension the collector reports its failure, naming what to install.

use futures::future::BoxFuture;

use super::Extension;
use super::{descs, families_from_rows, CollectError, Collector, Column, Columns, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const SQL: &str = include_str!("../../queries/buffercache_summary.sql");

const COLUMNS: Columns = Columns::new(&[
    Column::new(
        "buffers_used",
        Desc::gauge(
            "pg_buffercache_summary_buffers_used",
            &[],
            "Shared buffers in use.",
        ),
    ),
    Column::new(
        "buffers_unused",
        Desc::gauge(
            "pg_buffercache_summary_buffers_unused",
            &[],
            "Shared buffers not in use.",
        ),
    ),
    Column::new(
        "buffers_dirty",
        Desc::gauge(
            "pg_buffercache_summary_buffers_dirty",
            &[],
            "Dirty shared buffers.",
        ),
    ),
    Column::new(
        "buffers_pinned",
        Desc::gauge(
            "pg_buffercache_summary_buffers_pinned",
            &[],
            "Pinned shared buffers.",
        ),
    ),
    Column::new(
        "usagecount_avg",
        Desc::gauge(
            "pg_buffercache_summary_usagecount_avg",
            &[],
            "Average usage count of the shared buffers in use.",
        ),
    ),
]);

/// The `buffercache_summary` collector (off unless
/// `--collector.buffercache_summary`, as in postgres_exporter).
#[derive(Debug)]
pub struct BuffercacheSummary;

impl Collector for BuffercacheSummary {
    fn name(&self) -> &'static str {
        "buffercache_summary"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn description(&self) -> &'static str {
        "Shared buffer cache summary from pg_buffercache, PostgreSQL 16+ (postgres_exporter's; off by default)"
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
            if ctx.server.version_num < 160000 {
                return Ok(Vec::new());
            }
            let Some(extension) = Extension::find(conn, "pg_buffercache").await? else {
                return Err(CollectError::Unsupported(format!(
                    "pg_buffercache is not installed in database {}: CREATE EXTENSION pg_buffercache there",
                    ctx.datname
                )));
            };
            let rows = conn.query(&extension.sql(SQL), &[]).await?;
            families_from_rows(&rows, COLUMNS)
        })
    }
}
