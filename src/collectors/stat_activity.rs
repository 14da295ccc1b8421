//! `stat_activity`: sessions from `pg_stat_activity` (PostgreSQL 10+), the
//! maintenance guide's "Connection Monitoring": sessions per database, state,
//! user, application, backend type and wait event as postgres_exporter counts
//! them (every database and state present, 0 without sessions); the oldest
//! transaction and query in each group; long-running queries
//! per threshold and the ten longest by pid; server processes by type (the
//! autovacuum workers among them); and `max_connections` with the superuser
//! reserve, so connection use is one PromQL division. The exporter's own
//! sessions (its `application_name`) are left out of the client counts.

use futures::future::BoxFuture;

use super::rows::Cells;
use super::{
    descs, families_from_rows, session_family, CollectError, Collector, Column, Columns, Context,
    Query, SessionDesc,
};
use crate::db::{Conn, APPLICATION_NAME};
use crate::metrics::{Desc, Family};

const SESSIONS_SQL: &str = include_str!("../../queries/stat_activity.sql");
const LONG_RUNNING_SQL: &str = include_str!("../../queries/stat_activity_long_running.sql");
const TOP_QUERIES_SQL: &str = include_str!("../../queries/stat_activity_top_queries.sql");
const BACKENDS_SQL: &str = include_str!("../../queries/stat_activity_backends.sql");

/// postgres_exporter's labels of `pg_stat_activity_count`.
const GROUP: &[&str] = &[
    "datname",
    "state",
    "usename",
    "application_name",
    "backend_type",
    "wait_event_type",
    "wait_event",
];

const SESSION_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "count",
        Desc::gauge("pg_stat_activity_count", GROUP, "Sessions in this state (the exporter's own excluded); 0, with the other labels empty, for a database and state without any."),
    ),
    Column::new(
        "max_tx_duration",
        Desc::gauge("pg_stat_activity_max_tx_duration", GROUP, "Age of the oldest open transaction among these sessions, in seconds."),
    ),
    Column::new(
        "max_query_duration_seconds",
        Desc::gauge(
            "pg_stat_activity_max_query_duration_seconds",
            GROUP,
            "Run time of the oldest current query among these sessions, in seconds; absent for idle sessions.",
        ),
    ),
]);

const LONG_RUNNING_COLUMNS: Columns = Columns::new(&[Column::new(
    "long_running_queries",
    Desc::gauge(
        "pg_stat_activity_long_running_queries",
        &["datname", "threshold_seconds"],
        "Non-idle client queries running longer than threshold_seconds.",
    ),
)]);

static LONGEST: SessionDesc = SessionDesc::gauge(
    "pg_stat_activity_long_running_query_seconds",
    "Run time of the longest non-idle client queries (at most 10) above the smallest long-running threshold, in seconds.",
);
static BACKENDS: Desc = Desc::gauge(
    "pg_stat_activity_backends",
    &["backend_type"],
    "Server processes by backend_type.",
);
static AUTOVACUUM_WORKERS: Desc = Desc::gauge(
    "pg_stat_activity_autovacuum_workers",
    &[],
    "Autovacuum worker processes running now.",
);
// postgres_exporter's names for these two settings; read here, beside the
// connections they limit, so that connection use is always computable even
// with the settings collector off.
static MAX_CONNECTIONS: Desc = Desc::gauge(
    "pg_settings_max_connections",
    &[],
    "Server setting max_connections: the most concurrent connections allowed.",
);
static RESERVED_CONNECTIONS: Desc = Desc::gauge(
    "pg_settings_superuser_reserved_connections",
    &[],
    "Server setting superuser_reserved_connections: connection slots kept for superusers.",
);

/// The table-mapped queries, for [`Collector::tables`].
const TABLES: &[Query] = &[
    Query::new(&[(0, SESSIONS_SQL)], &[SESSION_COLUMNS]),
    Query::new(&[(0, LONG_RUNNING_SQL)], &[LONG_RUNNING_COLUMNS]),
];

#[derive(Debug)]
pub struct StatActivity;

impl Collector for StatActivity {
    fn name(&self) -> &'static str {
        "stat_activity"
    }

    fn description(&self) -> &'static str {
        "Sessions by state, long-running queries, backends and connection limits from pg_stat_activity"
    }

    fn tables(&self) -> &'static [Query] {
        TABLES
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(SESSION_COLUMNS)
            .chain(descs(LONG_RUNNING_COLUMNS))
            .chain([
                LONGEST.desc(),
                &BACKENDS,
                &AUTOVACUUM_WORKERS,
                &MAX_CONNECTIONS,
                &RESERVED_CONNECTIONS,
            ])
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let thresholds = &ctx.options.long_running_thresholds;
            // One snapshot: a query the count puts above a threshold is the
            // one the list shows, and the other way round.
            let mut families = conn
                .in_one_snapshot(async |conn: &mut Conn| {
                    let rows = conn.query(SESSIONS_SQL, &[&APPLICATION_NAME]).await?;
                    let mut families = families_from_rows(&rows, SESSION_COLUMNS)?;
                    let rows = conn
                        .query(LONG_RUNNING_SQL, &[thresholds, &APPLICATION_NAME])
                        .await?;
                    families.extend(families_from_rows(&rows, LONG_RUNNING_COLUMNS)?);
                    if let Some(smallest) = thresholds.iter().copied().reduce(f64::min) {
                        let rows = conn
                            .query(TOP_QUERIES_SQL, &[&smallest, &APPLICATION_NAME])
                            .await?;
                        families.push(session_family(
                            &LONGEST,
                            &rows,
                            "seconds",
                            ctx.options.query_text_length,
                        )?);
                    }
                    Ok::<_, CollectError>(families)
                })
                .await?;

            families.extend(backends(&conn.query(BACKENDS_SQL, &[]).await?)?);
            Ok(families)
        })
    }
}

/// Backends by type, the autovacuum workers among them, and the connection
/// limits every row carries.
fn backends<R: Cells>(rows: &[R]) -> Result<Vec<Family>, CollectError> {
    let mut backends = BACKENDS.family();
    let mut autovacuum_workers = 0.0;
    for row in rows {
        let backend_type = row.required_text("backend_type")?;
        let count = row.required_number("backends")?;
        if backend_type == "autovacuum worker" {
            autovacuum_workers += count;
        }
        backends.push(vec![backend_type], count);
    }
    let mut families = vec![backends, AUTOVACUUM_WORKERS.single(autovacuum_workers)];
    // Every row carries the same settings; pg_stat_activity is never
    // empty since it lists the exporter's own session.
    if let Some(row) = rows.first() {
        families.push(MAX_CONNECTIONS.single(row.required_number("max_connections")?));
        families.push(
            RESERVED_CONNECTIONS.single(row.required_number("superuser_reserved_connections")?),
        );
    }
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRow;
    use super::*;

    fn backend(backend_type: &str, count: f64) -> TestRow {
        TestRow::default()
            .text("backend_type", Some(backend_type))
            .number("backends", Some(count))
            .number("max_connections", Some(100.0))
            .number("superuser_reserved_connections", Some(3.0))
    }

    #[test]
    fn backends_by_type_count_autovacuum_workers_and_carry_the_limits() {
        let rows = [
            backend("client backend", 7.0),
            backend("autovacuum worker", 2.0),
            backend("checkpointer", 1.0),
        ];
        let families = backends(&rows).unwrap();
        let names: Vec<&str> = families.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "pg_stat_activity_backends",
                "pg_stat_activity_autovacuum_workers",
                "pg_settings_max_connections",
                "pg_settings_superuser_reserved_connections"
            ]
        );
        assert_eq!(families[0].samples.len(), 3);
        assert_eq!(families[0].samples[1].values, ["autovacuum worker"]);
        assert_eq!(families[1].samples[0].value, 2.0);
        assert_eq!(families[2].samples[0].value, 100.0);
        assert_eq!(families[3].samples[0].value, 3.0);
        assert_eq!(
            backends::<TestRow>(&[]).unwrap().len(),
            2,
            "no row, no limits"
        );
    }
}
