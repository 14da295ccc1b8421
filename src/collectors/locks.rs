//! `locks`: the maintenance guide's "Lock Monitoring" and "Release Locks" from
//! `pg_locks` and `pg_blocking_pids()` (PostgreSQL 9.6+): locks per database and
//! mode, locks on the current database's relations, blocked sessions and how
//! long they wait, and the sessions at the head of blocking chains with the
//! number of sessions each one holds up.

use futures::future::BoxFuture;

use super::{families_from_rows, session_family, Collector, Column, Context};
use crate::db::Conn;
use crate::metrics::Family;

const LOCKS_SQL: &str = include_str!("../../queries/locks.sql");
const RELATIONS_SQL: &str = include_str!("../../queries/locks_relations.sql");
const BLOCKED_SQL: &str = include_str!("../../queries/locks_blocked.sql");
const BLOCKERS_SQL: &str = include_str!("../../queries/locks_blockers.sql");

const LOCK_COLUMNS: &[Column] = &[Column::gauge(
    "count",
    "pg_locks_count",
    "Number of locks held or awaited, by database and mode.",
)];

const RELATION_COLUMNS: &[Column] = &[Column::gauge(
    "count",
    "pg_locks_relation_count",
    "Number of locks held (granted=true) or awaited (granted=false) on a relation of the current database.",
)];

const BLOCKED_COLUMNS: &[Column] = &[
    Column::gauge("blocked_sessions", "pg_blocked_sessions", "Sessions waiting for a lock held by another session."),
    Column::gauge(
        "max_wait_seconds",
        "pg_blocked_sessions_max_wait_seconds",
        "How long the longest-waiting blocked session has been in its current statement, in seconds; 0 when none waits.",
    ),
];

#[derive(Debug)]
pub struct Locks;

impl Collector for Locks {
    fn name(&self) -> &'static str {
        "locks"
    }

    fn description(&self) -> &'static str {
        "Locks by mode and relation, blocked sessions and blocking chains from pg_locks"
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, tokio_postgres::Error>> {
        Box::pin(async move {
            let rows = conn.query(LOCKS_SQL, &[]).await?;
            let mut families = families_from_rows(&rows, &["datname", "mode"], LOCK_COLUMNS)?;
            let rows = conn.query(RELATIONS_SQL, &[]).await?;
            families.extend(families_from_rows(
                &rows,
                &["datname", "schemaname", "relname", "mode", "granted"],
                RELATION_COLUMNS,
            )?);
            let rows = conn.query(BLOCKED_SQL, &[]).await?;
            families.extend(families_from_rows(&rows, &["datname"], BLOCKED_COLUMNS)?);

            let rows = conn.query(BLOCKERS_SQL, &[]).await?;
            families.push(session_family(
                "pg_blocking_session_blocked_count",
                "Sessions that this session blocks, directly or through a chain of waiters (top 5 blockers).",
                &rows,
                "blocked",
            )?);
            Ok(families)
        })
    }
}
