//! `stat_activity`: sessions from `pg_stat_activity` (PostgreSQL 10+), the
//! maintenance guide's "Connection Monitoring": sessions per database, user and
//! state; the oldest transaction and query in each group; long-running queries
//! per threshold and the ten longest by pid; server processes by type (the
//! autovacuum workers among them); and `max_connections` with the superuser
//! reserve, so connection use is one PromQL division.

use futures::future::BoxFuture;

use super::{families_from_rows, session_family, Collector, Column, Context};
use crate::db::{Conn, APPLICATION_NAME};
use crate::metrics::{Family, Kind};

const SESSIONS_SQL: &str = include_str!("../../queries/stat_activity.sql");
const LONG_RUNNING_SQL: &str = include_str!("../../queries/stat_activity_long_running.sql");
const TOP_QUERIES_SQL: &str = include_str!("../../queries/stat_activity_top_queries.sql");
const BACKENDS_SQL: &str = include_str!("../../queries/stat_activity_backends.sql");

const SESSION_COLUMNS: &[Column] = &[
    Column::gauge(
        "count",
        "pg_stat_activity_count",
        "Number of client sessions in this state (the exporter's own sessions excluded).",
    ),
    Column::gauge(
        "max_tx_duration",
        "pg_stat_activity_max_tx_duration",
        "Age of the oldest open transaction among these sessions, in seconds.",
    ),
    Column::gauge(
        "max_query_duration_seconds",
        "pg_stat_activity_max_query_duration_seconds",
        "Run time of the oldest current query among these non-idle sessions, in seconds.",
    ),
];

const LONG_RUNNING_COLUMNS: &[Column] = &[Column::gauge(
    "long_running_queries",
    "pg_stat_activity_long_running_queries",
    "Non-idle client queries running longer than threshold_seconds.",
)];

#[derive(Debug)]
pub struct StatActivity;

impl Collector for StatActivity {
    fn name(&self) -> &'static str {
        "stat_activity"
    }

    fn description(&self) -> &'static str {
        "Sessions by state, long-running queries, backends and connection limits from pg_stat_activity"
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, tokio_postgres::Error>> {
        Box::pin(async move {
            let thresholds = &ctx.options.long_running_thresholds;
            let smallest = thresholds.iter().copied().fold(f64::INFINITY, f64::min);

            let rows = conn.query(SESSIONS_SQL, &[&APPLICATION_NAME]).await?;
            let mut families =
                families_from_rows(&rows, &["datname", "usename", "state"], SESSION_COLUMNS)?;

            let rows = conn
                .query(LONG_RUNNING_SQL, &[thresholds, &APPLICATION_NAME])
                .await?;
            families.extend(families_from_rows(
                &rows,
                &["datname", "threshold_seconds"],
                LONG_RUNNING_COLUMNS,
            )?);

            if smallest.is_finite() {
                let rows = conn
                    .query(TOP_QUERIES_SQL, &[&smallest, &APPLICATION_NAME])
                    .await?;
                families.push(session_family(
                    "pg_stat_activity_long_running_query_seconds",
                    "Run time of the longest non-idle client queries (at most 10) above the smallest long-running threshold, in seconds.",
                    &rows,
                    "seconds",
                )?);
            }

            let rows = conn.query(BACKENDS_SQL, &[]).await?;
            let mut backends = Family::new(
                "pg_stat_activity_backends",
                "Server processes by backend_type.",
                Kind::Gauge,
                &["backend_type"],
            );
            let mut autovacuum_workers = 0.0;
            for row in &rows {
                let backend_type: String = row.try_get("backend_type")?;
                let count: f64 = row.try_get("backends")?;
                if backend_type == "autovacuum worker" {
                    autovacuum_workers += count;
                }
                backends.push(vec![backend_type], count);
            }
            families.push(backends);
            families.push(Family::single(
                "pg_stat_activity_autovacuum_workers",
                "Autovacuum worker processes running now.",
                Kind::Gauge,
                autovacuum_workers,
            ));
            // Every row carries the same settings; pg_stat_activity is never empty
            // since it lists the exporter's own session.
            if let Some(row) = rows.first() {
                families.push(Family::single(
                    "pg_settings_max_connections",
                    "Server setting max_connections: the most concurrent connections allowed.",
                    Kind::Gauge,
                    row.try_get("max_connections")?,
                ));
                families.push(Family::single(
                    "pg_settings_superuser_reserved_connections",
                    "Server setting superuser_reserved_connections: connection slots kept for superusers.",
                    Kind::Gauge,
                    row.try_get("superuser_reserved_connections")?,
                ));
            }
            Ok(families)
        })
    }
}
