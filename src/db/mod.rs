//! Connections to PostgreSQL: the only code that opens them.
//!
//! [`pool`] keeps a bounded set of sessions per server and makes each one
//! harmless at startup; [`target`] turns a DSN and the libpq variables into a
//! target; [`tls`] speaks TLS to the server. This file holds what every
//! session user needs: [`Conn`] (a session with its prepared statements),
//! [`ServerInfo`], the one timeout policy ([`SessionLimits`]) and the error
//! helpers.

use std::collections::HashMap;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

mod budget;
mod isolated;
pub mod pool;
mod reachability;
pub mod target;
pub mod tls;

pub use budget::Budget;
pub use isolated::{QueryResult, Refused};
pub use pool::{server_of, Pool, PooledConn};

/// The `application_name` of every session the exporter opens.
pub const APPLICATION_NAME: &str = "festival-pg-exporter";

const SERVER_SQL: &str = include_str!("../../queries/server.sql");

/// The database of a session: `None` for the DSN's, else the name of another
/// database of the same server.
type Database = Option<std::sync::Arc<str>>;

/// Share of the collection timeout given to `statement_timeout`: a statement
/// is cut off by the server before the scrape's own deadline.
const STATEMENT_TIMEOUT_SHARE: f64 = 0.9;
/// Share of the collection timeout the exporter will wait for any lock.
const LOCK_TIMEOUT_SHARE: f64 = 0.1;

/// The server-side limits of every session, derived from the collection
/// timeout in one place for every pool the process builds (the `/metrics`
/// engine, `/probe` engines and the one-shot subcommands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// `statement_timeout`: 90 % of the collection timeout.
    pub statement_timeout: Duration,
    /// `lock_timeout`: 10 % of the collection timeout.
    pub lock_timeout: Duration,
}

impl SessionLimits {
    /// The limits for collections of at most `collection_timeout`.
    pub fn for_collection(collection_timeout: Duration) -> SessionLimits {
        let share = |part: f64| {
            collection_timeout
                .mul_f64(part)
                .max(Duration::from_millis(1))
        };
        SessionLimits {
            statement_timeout: share(STATEMENT_TIMEOUT_SHARE),
            lock_timeout: share(LOCK_TIMEOUT_SHARE),
        }
    }
}

/// What went wrong while getting a usable session.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no connection to {target} before the scrape deadline")]
    Timeout { target: String },
    #[error("cannot connect to {target}")]
    Connect {
        target: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("not connecting to {target} for another {wait:?} after failed attempts")]
    Backoff { target: String, wait: Duration },
}

impl ConnectError {
    /// True when the server says the database does not exist (dropped since
    /// it was listed).
    pub fn database_missing(&self) -> bool {
        matches!(self, ConnectError::Connect { source, .. }
            if source.code() == Some(&SqlState::INVALID_CATALOG_NAME))
    }
}

/// Facts about the server, read at the start of each scrape.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. 150004.
    pub version_num: i32,
    /// The `version()` string.
    pub version: String,
    /// Postmaster start time, Unix seconds.
    pub start_time_seconds: f64,
    /// The database the exporter is connected to.
    pub datname: String,
    /// Whether the exporter's role has the privileges of each of
    /// [`PREDEFINED_ROLES`].
    pub roles: Vec<bool>,
}

/// The predefined roles whose privileges the collectors need, as
/// `queries/server.sql` reads them.
pub const PREDEFINED_ROLES: [&str; 4] = [
    "pg_monitor",
    "pg_read_all_stats",
    "pg_read_all_settings",
    "pg_stat_scan_tables",
];

impl ServerInfo {
    /// `major.minor.0`, as postgres_exporter's `short_version` label writes it.
    pub fn short_version(&self) -> String {
        format!(
            "{}.{}.0",
            self.version_num / 10000,
            self.version_num % 10000
        )
    }
}

/// Opens and closes every statement the exporter sends, so that its
/// statements are easy to tell apart in pg_stat_statements, pg_stat_activity
/// and server logs (and the `stat_statements` collector can leave them out).
/// Both ends: PostgreSQL 18's pg_stat_statements stores a statement's text
/// without the comments before it.
pub const STATEMENT_MARKER: &str = "/* festival-pg-exporter */ ";

/// `sql` with [`STATEMENT_MARKER`] before and after it.
pub fn marked(sql: &str) -> String {
    format!("{STATEMENT_MARKER}{sql}\n{}", STATEMENT_MARKER.trim_end())
}

/// What every session sets for itself once it has started, as `SET` would
/// (so that `pg_settings.reset_val` keeps the value the session started
/// with, which the `settings` collector serves): no JIT compilation and no
/// parallel workers for the exporter's catalog and statistics reads.
/// Compiling a scan of ten thousand tables costs more than it saves, and
/// parallel workers would take the worker slots the application's own
/// queries wait for. A setting the DSN's `options` gave (source `client`) is
/// the operator's choice and left alone, as is one the server does not have.
pub(crate) const SESSION_SETTINGS: &str = "SELECT pg_catalog.set_config(s.name, s.value, false) \
     FROM (VALUES ('jit', 'off'), ('max_parallel_workers_per_gather', '0')) AS s(name, value) \
     WHERE EXISTS (SELECT FROM pg_catalog.pg_settings p WHERE p.name = s.name AND p.source <> 'client')";

/// Several statements for one simple-protocol string, each marked (each has
/// its own entry in pg_stat_statements).
fn marked_all(statements: &[&str]) -> String {
    statements
        .iter()
        .map(|s| marked(s))
        .collect::<Vec<_>>()
        .join(";\n")
}

/// Whether a statement text (as pg_stat_statements keeps it) is the exporter's.
pub fn is_marked(text: &str) -> bool {
    let marker = STATEMENT_MARKER.trim_end();
    text.starts_with(marker) || text.trim_end().ends_with(marker)
}

/// One open session with its prepared statements.
pub struct Conn {
    pub(super) client: Client,
    /// Prepared statements by SQL text, with the rows the last run returned.
    statements: HashMap<String, (Statement, usize)>,
}

impl Conn {
    pub(super) fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }

    /// Runs one of the exporter's SQL texts, preparing it (with
    /// [`STATEMENT_MARKER`] in front) on first use in this session.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let (statement, _) = self.prepared(sql).await?;
        self.client.query(&statement, params).await
    }

    /// Like [`Conn::query`], the rows folded into `init(n)` by `each` one at
    /// a time as they arrive, so that rows (and the messages they point into)
    /// are never all held; `n` is the number of rows the statement returned
    /// last time in this session (0 the first time), to size what is built.
    pub async fn query_fold<S, E: From<tokio_postgres::Error>>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        init: impl FnOnce(usize) -> S,
        mut each: impl FnMut(&mut S, &Row) -> Result<(), E>,
    ) -> Result<S, E> {
        use futures::TryStreamExt;
        let (statement, last) = self.prepared(sql).await?;
        let rows = self
            .client
            .query_raw(&statement, params.iter().copied())
            .await?;
        let mut rows = std::pin::pin!(rows);
        let mut state = init(last);
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            each(&mut state, &row)?;
            count += 1;
        }
        if let Some((_, last)) = self.statements.get_mut(sql) {
            *last = count;
        }
        Ok(state)
    }

    /// Like [`Conn::query`], each row mapped by `map` as it arrives
    /// ([`Conn::query_fold`]).
    pub async fn query_map<T, E: From<tokio_postgres::Error>>(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        mut map: impl FnMut(&Row) -> Result<T, E>,
    ) -> Result<Vec<T>, E> {
        self.query_fold(sql, params, Vec::with_capacity, |mapped, row| {
            mapped.push(map(row)?);
            Ok(())
        })
        .await
    }

    /// `sql` prepared in this session (on first use, with [`STATEMENT_MARKER`]).
    async fn prepared(&mut self, sql: &str) -> Result<(Statement, usize), tokio_postgres::Error> {
        if let Some((statement, last)) = self.statements.get(sql) {
            return Ok((statement.clone(), *last));
        }
        let statement = self.client.prepare(&marked(sql)).await?;
        self.statements
            .insert(sql.to_string(), (statement.clone(), 0));
        Ok((statement, 0))
    }

    /// Runs `body`'s queries in one read-only transaction, so that they all
    /// see one `now()` and one snapshot of the activity and statistics views
    /// (PostgreSQL keeps both for a transaction): figures one query counts
    /// and another lists then agree. The transaction is ended whatever `body`
    /// returns (COMMIT rolls back one a failed statement aborted).
    pub async fn in_one_snapshot<T, E: From<tokio_postgres::Error>>(
        &mut self,
        body: impl AsyncFnOnce(&mut Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        self.client
            .batch_execute(&marked("BEGIN READ ONLY"))
            .await?;
        let result = body(self).await;
        self.client.batch_execute(&marked("COMMIT")).await?;
        result
    }

    /// Reads [`ServerInfo`].
    pub async fn server_info(&mut self) -> Result<ServerInfo, tokio_postgres::Error> {
        let rows = self.query(SERVER_SQL, &[]).await?;
        let row = rows.first().expect("server query returns one row");
        Ok(ServerInfo {
            version_num: row.try_get("version_num")?,
            version: row.try_get("version")?,
            start_time_seconds: row.try_get("start_time_seconds")?,
            datname: row.try_get("datname")?,
            roles: row.try_get("roles")?,
        })
    }
}

/// True when the error means the session is gone (as opposed to an SQL error
/// that leaves the session usable).
pub fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    error.is_closed() || error.as_db_error().is_none()
}

/// An error with all its sources, since tokio-postgres' own `Display` often
/// says no more than "db error".
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    if let Some(db) = error
        .downcast_ref::<tokio_postgres::Error>()
        .and_then(tokio_postgres::Error::as_db_error)
    {
        text = format!("{} (SQLSTATE {}): {}", text, db.code().code(), db.message());
        return text;
    }
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_shares_of_the_collection_timeout() {
        let limits = SessionLimits::for_collection(Duration::from_secs(10));
        assert_eq!(limits.statement_timeout, Duration::from_secs(9));
        assert_eq!(limits.lock_timeout, Duration::from_secs(1));
        let tiny = SessionLimits::for_collection(Duration::from_micros(5));
        assert_eq!(tiny.lock_timeout, Duration::from_millis(1));
    }

    #[test]
    fn short_version_is_major_minor_zero() {
        let server = ServerInfo {
            version_num: 150004,
            version: "PostgreSQL 15.4".into(),
            start_time_seconds: 0.0,
            datname: "festivals".into(),
            roles: vec![true; 4],
        };
        assert_eq!(server.short_version(), "15.4.0");
    }
}
