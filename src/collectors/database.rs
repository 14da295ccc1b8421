//! `database`: the guide's "Check Database Size": every database's size and
//! connection limit, under postgres_exporter's names and collector name. The
//! databases and their limits are read on every scrape; a size is measured
//! when its database appears (or is renamed or altered) and then about every
//! `--collector.database.size-interval`, and served with its age in between
//! (why, and what a size costs: `queries/database.sql` and docs/metrics.md).
//! A database whose size the role may not read has no size series.

use std::collections::HashSet;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::rows::Cells;
use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{label_values, Desc, Family};

const SQL: &str = include_str!("../../queries/database.sql");
const LABELS: &[&str] = &["datname"];

static SIZE: Desc = Desc::gauge(
    "pg_database_size_bytes",
    LABELS,
    "Disk space used by the database, in bytes.",
);
static CONNECTION_LIMIT: Desc = Desc::gauge(
    "pg_database_connection_limit",
    LABELS,
    "Connection limit of the database; -1 for none.",
);
static SIZE_AGE: Desc = Desc::gauge(
    "pg_database_size_age_seconds",
    LABELS,
    "Seconds since pg_database_size_bytes of the database was measured; 0 when measured by this scrape.",
);

#[derive(Debug)]
pub struct Database;

impl Collector for Database {
    fn name(&self) -> &'static str {
        "database"
    }

    fn description(&self) -> &'static str {
        "Every database's connection limit and size (measured again every 5 minutes by default)"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&SIZE, &CONNECTION_LIMIT, &SIZE_AGE]
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            // Stamped before the query, and due a twentieth of the interval
            // early, so that at a scrape interval dividing it a size is
            // measured every interval, not one scrape later.
            let now = Instant::now();
            let interval = ctx.options.database_size_interval;
            let fresh: Vec<String> = ctx
                .caches
                .database_sizes()
                .iter()
                .filter(|(_, (_, at))| now.duration_since(*at) + interval / 20 < interval)
                .map(|(version, _)| version.clone())
                .collect();
            let rows = conn
                .query_map(SQL, &[&fresh], |row| {
                    Ok::<_, CollectError>((
                        row.required_text("version")?,
                        row.required_text("datname")?,
                        row.required_number("connection_limit")?,
                        row.number("size_bytes")?,
                    ))
                })
                .await?;
            let listed: HashSet<&str> = rows.iter().map(|row| row.0.as_str()).collect();
            let mut known = ctx.caches.database_sizes();
            known.retain(|version, _| listed.contains(version.as_str()));
            let [mut size, mut limit, mut age] =
                [&SIZE, &CONNECTION_LIMIT, &SIZE_AGE].map(Desc::family);
            for (version, datname, connection_limit, measured) in &rows {
                if let Some(bytes) = measured {
                    known.insert(version.clone(), (*bytes, now));
                }
                let values = label_values(&[datname]);
                limit.push(values.clone(), *connection_limit);
                if let Some((bytes, at)) = known.get(version) {
                    size.push(values.clone(), *bytes);
                    age.push(values, now.duration_since(*at).as_secs_f64());
                }
            }
            Ok(vec![size, limit, age])
        })
    }
}
