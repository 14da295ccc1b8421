//! `database`: the guide's "Check Database Size": every database's size and
//! connection limit, under postgres_exporter's names and collector name. The
//! databases and their limits are read on every scrape; a size is measured
//! when its database appears (or its `pg_database` row changes) and then about every
//! `--collector.database.size-interval`, and served with its age in between
//! (why, and what a size costs: `queries/database_size.sql` and
//! docs/metrics.md). A database whose size the role may not read has no size
//! series; one `--exclude-databases` names has none at all, as in
//! postgres_exporter.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::rows::Cells;
use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{label_values, Desc, Family};

const SQL: &str = include_str!("../../queries/database.sql");
const SIZE_SQL: &str = include_str!("../../queries/database_size.sql");
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
            // Stamped before the queries (see [`due`]).
            let now = Instant::now();
            let interval = ctx.options.database_size_interval;
            let excluded = &ctx.options.excluded_databases;
            let mut listed = conn.query_map(SQL, &[], listed).await?;
            listed.retain(|d| !excluded.iter().any(|r| r.is_match(&d.datname)));
            let due: Vec<u32> = {
                let known = ctx.caches.database_sizes();
                listed
                    .iter()
                    .filter(|d| d.readable)
                    .filter(|d| {
                        known
                            .get(&d.version)
                            .is_none_or(|(_, at)| due(now.duration_since(*at), interval))
                    })
                    .map(|d| d.oid)
                    .collect()
            };
            let measured: HashMap<u32, f64> = if due.is_empty() {
                HashMap::new()
            } else {
                conn.query_map(SIZE_SQL, &[&due], |row| {
                    Ok::<_, CollectError>((row.try_get("oid")?, row.required_number("size_bytes")?))
                })
                .await?
                .into_iter()
                .collect()
            };
            let versions: HashSet<&str> = listed.iter().map(|d| d.version.as_str()).collect();
            let mut known = ctx.caches.database_sizes();
            known.retain(|version, _| versions.contains(version.as_str()));
            let [mut size, mut limit, mut age] =
                [&SIZE, &CONNECTION_LIMIT, &SIZE_AGE].map(Desc::family);
            for d in &listed {
                if let Some(bytes) = measured.get(&d.oid) {
                    known.insert(d.version.clone(), (*bytes, now));
                }
                let values = label_values(&[&d.datname]);
                limit.push(values.clone(), d.connection_limit);
                if let Some((bytes, at)) = known.get(&d.version).filter(|_| d.readable) {
                    size.push(values.clone(), *bytes);
                    age.push(values, now.duration_since(*at).as_secs_f64());
                }
            }
            Ok(vec![size, limit, age])
        })
    }
}

/// One row of `queries/database.sql`.
struct Listed {
    oid: u32,
    datname: String,
    connection_limit: f64,
    version: String,
    readable: bool,
}

fn listed(row: &tokio_postgres::Row) -> Result<Listed, CollectError> {
    Ok(Listed {
        oid: row.try_get("oid")?,
        datname: row.required_text("datname")?,
        connection_limit: row.required_number("connection_limit")?,
        version: row.required_text("version")?,
        readable: row.try_get("readable")?,
    })
}

/// Whether a size measured `age` ago is measured again: a twentieth of the
/// interval early, so that at a scrape interval dividing it (a 1-minute scrape,
/// 5 minutes) a size measured at the start of one scrape is due at the
/// scrape the interval later, not one scrape after. `0s`: always.
fn due(age: Duration, interval: Duration) -> bool {
    age + interval / 20 >= interval
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_due_a_twentieth_of_the_interval_early() {
        let secs = Duration::from_secs;
        assert!(due(Duration::ZERO, Duration::ZERO), "0s: every scrape");
        let five = secs(300);
        assert!(!due(secs(240), five), "the fourth 1-minute scrape serves");
        assert!(
            due(secs(300) - Duration::from_millis(5), five),
            "the fifth measures"
        );
        assert!(!due(secs(284), five) && due(secs(285), five));
    }
}
