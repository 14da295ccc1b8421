//! `locks`: the maintenance guide's "Lock Monitoring" and "Release Locks" from
//! `pg_locks` and `pg_blocking_pids()` (PostgreSQL 9.6+): locks per database and
//! mode, locks on the current database's relations, blocked sessions and how
//! long they wait, and the sessions at the head of blocking chains with the
//! number of sessions each one holds up.

use futures::future::BoxFuture;

use super::{
    descs, session_family, CollectError, Collector, Column, Columns, Context, Query, Scope,
    SessionDesc,
};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const LOCKS_SQL: &str = include_str!("../../queries/locks.sql");
const RELATIONS_SQL: &str = include_str!("../../queries/locks_relations.sql");
const BLOCKED_SQL: &str = include_str!("../../queries/locks_blocked.sql");
const BLOCKERS_SQL: &str = include_str!("../../queries/locks_blockers.sql");

const LOCK_COLUMNS: Columns = Columns::new(&[Column::new(
    "count",
    Desc::gauge(
        "pg_locks_count",
        &["datname", "mode"],
        "Number of locks held or awaited, by database and mode.",
    ),
)]);

const RELATION_COLUMNS: Columns = Columns::new(&[Column::new(
    "count",
    Desc::gauge(
        "pg_relation_locks",
        &["datname", "schemaname", "relname", "mode", "granted"],
        "Number of locks held (granted=true) or awaited (granted=false) on a relation of the current database.",
    ),
)]);

const BLOCKED_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "blocked_sessions",
        Desc::gauge("pg_blocked_sessions", &["datname"], "Sessions waiting for a lock held by another session."),
    ),
    Column::new(
        "max_wait_seconds",
        Desc::gauge(
            "pg_blocked_sessions_max_wait_seconds",
            &["datname"],
            "How long the longest-waiting blocked session has been in its current statement, in seconds; 0 when none waits.",
        ),
    ),
]);

const LOCKS: Query = Query::new(&[(0, LOCKS_SQL)], &[LOCK_COLUMNS]).server_wide();
const RELATIONS: Query = Query::new(&[(0, RELATIONS_SQL)], &[RELATION_COLUMNS]);
const BLOCKED: Query = Query::new(&[(0, BLOCKED_SQL)], &[BLOCKED_COLUMNS]).server_wide();

/// The table-mapped queries, for [`Collector::tables`].
const TABLES: &[Query] = &[LOCKS, RELATIONS, BLOCKED];

static BLOCKERS: SessionDesc = SessionDesc::gauge(
    "pg_blocking_session_waiters",
    "Sessions that this session blocks, directly or through a chain of waiters (top 5 blockers).",
);

#[derive(Debug)]
pub struct Locks;

impl Collector for Locks {
    fn name(&self) -> &'static str {
        "locks"
    }

    fn description(&self) -> &'static str {
        "Locks by mode and relation, blocked sessions and blocking chains from pg_locks"
    }

    fn scope(&self) -> Scope {
        Scope::Both
    }

    fn tables(&self) -> &'static [Query] {
        TABLES
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(LOCK_COLUMNS)
            .chain(descs(RELATION_COLUMNS))
            .chain(descs(BLOCKED_COLUMNS))
            .chain([BLOCKERS.desc()])
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let relations = RELATIONS.run(conn, ctx).await?;
            if !ctx.server_wide {
                return Ok(relations);
            }
            let mut families = LOCKS.run(conn, ctx).await?;
            families.extend(relations);
            families.extend(BLOCKED.run(conn, ctx).await?);
            let rows = conn.query(BLOCKERS_SQL, &[]).await?;
            families.push(session_family(
                &BLOCKERS,
                &rows,
                "blocked",
                ctx.options.query_text_length,
            )?);
            Ok(families)
        })
    }
}
