//! The per-table statistics that several collectors read, in one statement:
//! `stat_user_tables` (`pg_stat_user_tables`), `statio_user_tables`
//! (`pg_statio_user_tables`), `autovacuum` (each table's policy) and `sizes`
//! (what tells whether a table's files changed) each scan `pg_class` and
//! fetch the same tables' statistics, and the first two read every table's
//! indexes. When the first two and another of them run in a scrape, in a
//! database, `queries/table_statistics.sql` reads it all in one pass (one
//! scan, one index lookup per table, each table's statistics fetched once)
//! and its rows fill each collector's families, or `sizes`' list of tables;
//! a collector then takes its own from [`SharedRead`] instead of running its
//! query. Its columns have the names, types and NULLs of the four queries,
//! so the results are the same (tests/queries.rs compares them on a real
//! server of every major). If the statement fails, each collector runs its
//! own query, as it would alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::query::Query;
use super::relation_sizes::Seen;
use super::{autovacuum, sizes, stat_user_tables, statio_user_tables, CollectError, Context};
use crate::db::{error_chain, Conn};
use crate::metrics::Family;

const SQL: &str = include_str!("../../queries/table_statistics.sql");

/// The statement; its rows fill the members' column tables, not its own.
pub static READ: Query = Query::new(&[(0, SQL)], &[]);

/// The collectors whose families it reads, each with the query it stands in for.
pub static MEMBERS: &[(&str, &Query)] = &[
    ("stat_user_tables", &stat_user_tables::QUERY),
    ("statio_user_tables", &statio_user_tables::QUERY),
    ("autovacuum", autovacuum::TABLE_POLICIES),
];

/// The collector that takes its list of tables from it instead of
/// `queries/sizes_tables.sql`.
pub const SIZES: &str = "sizes";

/// One scrape's shared read in one database: run by the first collector
/// that asks, on its session; the others take their families from it.
#[derive(Debug)]
pub struct SharedRead {
    /// The members' queries it stands in for in this scrape.
    queries: Vec<&'static Query>,
    /// Whether [`SIZES`] takes its tables from it in this scrape.
    tables: bool,
    state: tokio::sync::Mutex<State>,
}

#[derive(Debug)]
enum State {
    NotRun,
    /// Each query's families and `sizes`' tables, taken by their collectors.
    Read {
        families: Vec<Option<Vec<Family>>>,
        tables: Option<Vec<Seen>>,
    },
    Failed,
}

impl SharedRead {
    /// The shared read for the collectors named in `running` (those that
    /// will run their query in this scrape, in this database): `None` unless
    /// both statistics views' collectors and at least one other member run.
    /// The statement costs about what the two views cost on their own (it
    /// reads every member's columns), so it saves only with a third.
    pub fn for_collectors<'a>(
        running: impl IntoIterator<Item = &'a str>,
    ) -> Option<Arc<SharedRead>> {
        let names: Vec<&str> = running.into_iter().collect();
        let queries: Vec<&'static Query> = MEMBERS
            .iter()
            .filter(|(name, _)| names.contains(name))
            .map(|(_, query)| *query)
            .collect();
        let tables = names.contains(&SIZES);
        let views = [&stat_user_tables::QUERY, &statio_user_tables::QUERY]
            .iter()
            .all(|view| queries.iter().any(|q| std::ptr::eq(*q, *view)));
        (views && queries.len() + usize::from(tables) >= 3).then(|| {
            Arc::new(SharedRead {
                queries,
                tables,
                state: tokio::sync::Mutex::new(State::NotRun),
            })
        })
    }

    /// Whether a collector of this name is a member.
    pub fn is_member(name: &str) -> bool {
        name == SIZES || MEMBERS.iter().any(|(member, _)| *member == name)
    }

    /// `query`'s families from the shared read, run now on `conn` if no
    /// collector has yet; `None` when `query` is not part of it or the
    /// statement failed (the caller runs `query` itself).
    pub async fn families(
        &self,
        query: &Query,
        conn: &mut Conn,
        ctx: &Context,
    ) -> Option<Vec<Family>> {
        let at = self.queries.iter().position(|q| std::ptr::eq(*q, query))?;
        match &mut *self.read(conn, ctx).await {
            State::Read { families, .. } => families[at].take(),
            _ => None,
        }
    }

    /// `sizes`' tables from the shared read, as [`SharedRead::families`].
    pub async fn tables(&self, conn: &mut Conn, ctx: &Context) -> Option<Vec<Seen>> {
        if !self.tables {
            return None;
        }
        match &mut *self.read(conn, ctx).await {
            State::Read { tables, .. } => tables.take(),
            _ => None,
        }
    }

    /// The state after the statement ran (now, if no collector ran it yet).
    async fn read(&self, conn: &mut Conn, ctx: &Context) -> tokio::sync::MutexGuard<'_, State> {
        let mut state = self.state.lock().await;
        if let State::NotRun = *state {
            *state = self.run(conn, ctx).await;
        }
        state
    }

    async fn run(&self, conn: &mut Conn, ctx: &Context) -> State {
        let Some(sql) = READ.sql_for(ctx.server.version_num) else {
            return State::Failed;
        };
        let read = conn
            .query_fold(
                sql,
                &[],
                |expected| {
                    let builders: Vec<_> = self
                        .queries
                        .iter()
                        .map(|query| query.builders(expected))
                        .collect();
                    (builders, self.tables.then(|| Vec::with_capacity(expected)))
                },
                |(builders, tables), row| {
                    builders
                        .iter_mut()
                        .flatten()
                        .try_for_each(|builder| builder.push(row))?;
                    // A row without a relid is not one of sizes' tables.
                    if let Some(tables) = tables {
                        if row.try_get::<_, Option<u32>>("relid")?.is_some() {
                            tables.push(sizes::seen(row)?);
                        }
                    }
                    Ok::<_, CollectError>(())
                },
            )
            .await;
        match read {
            Ok((builders, tables)) => State::Read {
                families: self
                    .queries
                    .iter()
                    .zip(builders)
                    .map(|(query, builders)| Some(query.finish(builders)))
                    .collect(),
                tables,
            },
            Err(err) => {
                // Once per process: the collectors' own queries say the rest.
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        datname = %ctx.datname,
                        error = %error_chain(&err),
                        "the per-table statistics could not be read in one statement; each collector reads its own"
                    );
                }
                State::Failed
            }
        }
    }
}
