//! `database`: the guide's "Check Database Size": every database's size and
//! connection limit, under postgres_exporter's names and collector name.
//! `pg_database_size()` finds a size by a stat() of each of a database's
//! files, which costs the server more than any statistics view at ten
//! thousand tables, while a database's size moves slowly: a size is measured
//! when the database first appears and then once it is older than
//! `--collector.database.size-interval` (5 minutes by default), and served
//! with its age in between. The list of databases and their connection
//! limits are read on every scrape, so a new database appears and a dropped
//! one disappears at once. Table, TOAST, index and partition sizes are
//! `sizes`' and `partitions`', read on every scrape.

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
            let interval = ctx.options.database_size_interval;
            let fresh: Vec<u32> = ctx
                .caches
                .database_sizes()
                .iter()
                .filter(|(_, (_, at))| at.elapsed() < interval)
                .map(|(oid, _)| *oid)
                .collect();
            let rows = conn
                .query_map(SQL, &[&fresh], |row| {
                    Ok::<_, CollectError>((
                        row.try_get::<_, u32>("oid")?,
                        row.required_text("datname")?,
                        row.required_number("connection_limit")?,
                        row.number("size_bytes")?,
                    ))
                })
                .await?;
            let now = Instant::now();
            let mut known = ctx.caches.database_sizes();
            known.retain(|oid, _| rows.iter().any(|row| row.0 == *oid));
            let [mut size, mut limit, mut age] =
                [&SIZE, &CONNECTION_LIMIT, &SIZE_AGE].map(Desc::family);
            for (oid, datname, connection_limit, measured) in rows {
                if let Some(bytes) = measured {
                    known.insert(oid, (bytes, now));
                }
                let values = label_values(&[datname]);
                limit.push(values.clone(), connection_limit);
                if let Some((bytes, at)) = known.get(&oid) {
                    size.push(values.clone(), *bytes);
                    age.push(values, now.duration_since(*at).as_secs_f64());
                }
            }
            Ok(vec![size, limit, age])
        })
    }
}
