//! `process_idle`: postgres_exporter's histogram of how long idle sessions
//! have been idle (`pg_process_idle_seconds`), per state and application,
//! with its buckets (1 s to 300 s). Off by default, as there.

use futures::future::BoxFuture;

use super::rows::Cells;
use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{Buckets, Desc, Family};

const SQL: &str = include_str!("../../queries/process_idle.sql");

/// postgres_exporter's bucket bounds, in seconds.
const BOUNDS: [f64; 9] = [1.0, 2.0, 5.0, 15.0, 30.0, 60.0, 90.0, 120.0, 300.0];

static IDLE: Desc = Desc::histogram(
    "pg_process_idle_seconds",
    &["state", "application_name"],
    "How long idle sessions have been in their state, in seconds (the exporter's own left out).",
);

/// The `process_idle` collector (off unless `--collector.process_idle`).
#[derive(Debug)]
pub struct ProcessIdle;

impl Collector for ProcessIdle {
    fn name(&self) -> &'static str {
        "process_idle"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn description(&self) -> &'static str {
        "Histogram of how long idle sessions have been idle (postgres_exporter's; off by default)"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&IDLE]
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let rows = conn.query(SQL, &[]).await?;
            let mut family = IDLE.family();
            for row in &rows {
                let cumulative: Vec<f64> = row.try_get("seconds_bucket")?;
                let count = row.required_number("seconds_count")?;
                let buckets =
                    Buckets::from_cumulative(&BOUNDS, &cumulative, count).ok_or_else(|| {
                        CollectError::Unsupported(format!(
                            "process_idle: buckets {cumulative:?} do not add up to {count}"
                        ))
                    })?;
                family.push_histogram(
                    &[
                        row.required_text("state")?,
                        row.required_text("application_name")?,
                    ],
                    row.required_number("seconds_sum")?,
                    buckets,
                );
            }
            Ok(vec![family])
        })
    }
}
