//! The per-table statistics that several collectors read, in one statement:
//! `stat_user_tables` (`pg_stat_user_tables`), `statio_user_tables`
//! (`pg_statio_user_tables`) and `autovacuum` (each table's policy) each scan
//! `pg_class` and fetch the same tables' statistics, and the first two read
//! every table's indexes. When more than one of them runs in a scrape, in a
//! database, `queries/table_statistics.sql` reads it all in one pass (one
//! scan, one index lookup per table, each table's statistics fetched once)
//! and its rows fill each collector's families; a collector then takes its
//! own from [`SharedRead`] instead of running its query. Its columns have
//! the names, types and NULLs of the three queries, so the families are the
//! same (tests/queries.rs compares them on a real server of every major).
//! If the statement fails, each collector runs its own query, as it would
//! alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::query::Query;
use super::{autovacuum, stat_user_tables, statio_user_tables, Context};
use crate::db::{error_chain, Conn};
use crate::metrics::Family;

const SQL: &str = include_str!("../../queries/table_statistics.sql");
const SQL_13: &str = include_str!("../../queries/table_statistics.v13.sql");

/// The statement, per server version; its rows fill the members' column
/// tables, not its own.
pub static READ: Query = Query::new(&[(140000, SQL), (0, SQL_13)], &[]);

/// The collectors it reads for, each with the query it stands in for.
pub static MEMBERS: &[(&str, &Query)] = &[
    ("stat_user_tables", &stat_user_tables::QUERY),
    ("statio_user_tables", &statio_user_tables::QUERY),
    ("autovacuum", autovacuum::TABLE_POLICIES),
];

/// One scrape's shared read in one database: run by the first collector
/// that asks, on its session; the others take their families from it.
#[derive(Debug)]
pub struct SharedRead {
    /// The members' queries it stands in for in this scrape.
    queries: Vec<&'static Query>,
    state: tokio::sync::Mutex<State>,
}

#[derive(Debug)]
enum State {
    NotRun,
    /// Each query's families, taken by its collector.
    Read(Vec<Option<Vec<Family>>>),
    Failed,
}

impl SharedRead {
    /// The shared read for the collectors named in `running` (those that
    /// will run their query in this scrape, in this database): `None` unless
    /// at least two of them are members, as one alone is cheaper on its own.
    pub fn for_collectors<'a>(
        running: impl IntoIterator<Item = &'a str>,
    ) -> Option<Arc<SharedRead>> {
        let names: Vec<&str> = running.into_iter().collect();
        let queries: Vec<&'static Query> = MEMBERS
            .iter()
            .filter(|(name, _)| names.contains(name))
            .map(|(_, query)| *query)
            .collect();
        (queries.len() >= 2).then(|| {
            Arc::new(SharedRead {
                queries,
                state: tokio::sync::Mutex::new(State::NotRun),
            })
        })
    }

    /// Whether a collector of this name is a member.
    pub fn is_member(name: &str) -> bool {
        MEMBERS.iter().any(|(member, _)| *member == name)
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
        let mut state = self.state.lock().await;
        if let State::NotRun = *state {
            *state = self.read(conn, ctx).await;
        }
        match &mut *state {
            State::Read(families) => families[at].take(),
            _ => None,
        }
    }

    async fn read(&self, conn: &mut Conn, ctx: &Context) -> State {
        let Some(sql) = READ.sql_for(ctx.server.version_num) else {
            return State::Failed;
        };
        let read = conn
            .query_fold(
                sql,
                &[],
                |expected| {
                    self.queries
                        .iter()
                        .map(|query| query.builders(expected))
                        .collect::<Vec<_>>()
                },
                |all, row| {
                    all.iter_mut()
                        .flatten()
                        .try_for_each(|builder| builder.push(row))
                },
            )
            .await;
        match read {
            Ok(all) => State::Read(
                self.queries
                    .iter()
                    .zip(all)
                    .map(|(query, builders)| Some(query.finish(builders)))
                    .collect(),
            ),
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
