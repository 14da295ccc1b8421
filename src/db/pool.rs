//! The bounded set of sessions to one server.
//!
//! A [`Pool`] keeps at most `max_connections` sessions open across scrapes and
//! hands them out one collector at a time; pools to the same server can share
//! one [`Budget`], which bounds their sessions together. The bound covers every database of
//! the server: sessions to databases other than the DSN's (those
//! `--auto-discover-databases` finds) are opened when a collector needs one,
//! make room by closing another database's idle session, and are closed at the
//! end of each scrape, so the exporter never stands in the way of a
//! `DROP DATABASE`. Every session is made harmless at
//! startup, in the connection's own startup packet (no extra round trip):
//! `application_name = festival-pg-exporter`, `statement_timeout` and
//! `lock_timeout` below the scrape deadline ([`SessionLimits`]),
//! `default_transaction_read_only`, `TimeZone = UTC` (so dates in
//! partition bounds mean the same everywhere) and `search_path = pg_catalog,
//! pg_temp` (temporary tables after the catalog, not before it),
//! which the startup packet sets over any `ALTER DATABASE`/`ALTER ROLE …
//! SET search_path`: no schema a database owner controls can put a function
//! or operator in front of the catalog's in the exporter's SQL. Once
//! connected, the session turns JIT and parallel workers off
//! ([`super::SESSION_SETTINGS`]).
//! A session whose query was cut off by the deadline is cancelled on the server
//! and closed rather than reused, so a slow query never queues the next one.
//! Statements are prepared once per session and reused across scrapes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::SemaphorePermit;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use super::budget::{Budget, Idle};
use super::reachability::Reachability;
use super::target::redacted_target;
use super::tls::TlsConnector;
use super::{
    error_chain, marked, Conn, ConnectError, Database, SessionLimits, APPLICATION_NAME,
    SESSION_SETTINGS,
};

/// How long after closing a session a "too many connections" answer is taken
/// for that session still leaving the server, and retried.
const EXIT_GRACE: Duration = Duration::from_secs(1);
/// The first wait before such a retry; it doubles with each (a handful of
/// attempts within [`EXIT_GRACE`]).
const EXIT_POLL: Duration = Duration::from_millis(5);

/// The sessions to one server that one scrape engine uses, within a
/// [`Budget`].
pub struct Pool {
    target: tokio_postgres::Config,
    /// The rustls connector (`None`: `sslmode=disable`).
    tls: Option<TlsConnector>,
    shown: String,
    /// [`server_of`] the target.
    server: String,
    /// Tells this pool's idle sessions from other pools' in the budget.
    id: u64,
    budget: Arc<Budget>,
    /// Whether each database could be reached, and when to try again.
    reachability: Reachability,
}

/// The least time a connection attempt must have had for its timeout to
/// count as the server's failure (and set a backoff).
const TELLING_ATTEMPT: Duration = Duration::from_millis(500);

impl Pool {
    /// A pool of at most `max_connections` sessions whose statements and lock
    /// waits are cut off at `limits`. No connection is opened until the first
    /// scrape asks for one.
    pub fn new(
        target: tokio_postgres::Config,
        tls: Option<TlsConnector>,
        max_connections: usize,
        limits: SessionLimits,
    ) -> Pool {
        Pool::within(target, tls, Budget::new(max_connections), limits)
    }

    /// A pool whose sessions count against `budget`, shared with the other
    /// pools to the same server.
    pub fn within(
        mut target: tokio_postgres::Config,
        tls: Option<TlsConnector>,
        budget: Arc<Budget>,
        limits: SessionLimits,
    ) -> Pool {
        static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let session_options = format!(
            "-c statement_timeout={} -c lock_timeout={} -c default_transaction_read_only=on -c TimeZone=UTC -c search_path=pg_catalog,pg_temp",
            limits.statement_timeout.as_millis().max(1),
            limits.lock_timeout.as_millis().max(1)
        );
        let options = match target.get_options() {
            Some(existing) if !existing.is_empty() => format!("{existing} {session_options}"),
            _ => session_options,
        };
        target.options(&options);
        target.application_name(APPLICATION_NAME);
        let shown = redacted_target(&target);
        Pool {
            server: server_of(&target),
            target,
            tls,
            shown,
            id: IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            budget,
            reachability: Reachability::default(),
        }
    }

    /// The most sessions open at once (with the other pools of its budget).
    pub fn max_connections(&self) -> usize {
        self.budget.max
    }

    /// The server this pool reaches: its hosts and ports, as `host:port`
    /// (several comma-separated); pools with the same server share a budget.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The budget this pool's sessions count against.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The target without secrets, for logs and pages.
    pub fn target(&self) -> &str {
        &self.shown
    }

    /// True when the last connection attempt to the DSN's database (or the
    /// last use of a session) worked.
    pub fn is_ready(&self) -> bool {
        self.reachability.is_ok(&None)
    }

    /// Waits for a free slot and returns a session to the DSN's database,
    /// opening one if none is idle. Gives up at `deadline`.
    pub async fn acquire(&self, deadline: Instant) -> Result<PooledConn<'_>, ConnectError> {
        self.acquire_in(deadline, None).await
    }

    /// Like [`Pool::acquire`], for a session to `database` (`None`: the DSN's).
    pub async fn acquire_in(
        &self,
        deadline: Instant,
        database: Option<&str>,
    ) -> Result<PooledConn<'_>, ConnectError> {
        let budget = &*self.budget;
        let permit = tokio::time::timeout_at(deadline, budget.permits.acquire())
            .await
            .map_err(|_| ConnectError::Timeout {
                target: self.shown.clone(),
            })?
            .expect("the pool's semaphore is never closed");
        let database: Database = database.map(Arc::from);
        let (reused, evicted) = {
            let mut sessions = budget.sessions.lock().expect("sessions lock");
            let before = sessions.idle.len();
            sessions.idle.retain(|idle| !idle.conn.client.is_closed());
            sessions.open -= before - sessions.idle.len();
            match sessions
                .idle
                .iter()
                .rposition(|idle| idle.owner == self.id && idle.database == database)
            {
                Some(at) => (Some(sessions.idle.remove(at).conn), None),
                None => {
                    // Every permit but this one may be lent out, so when the
                    // bound is reached an idle session (of another database
                    // or pool) exists: the oldest makes room.
                    let evicted = (sessions.open >= budget.max && !sessions.idle.is_empty())
                        .then(|| sessions.idle.remove(0));
                    sessions.open = sessions.open - usize::from(evicted.is_some()) + 1;
                    (None, evicted)
                }
            }
        };
        if evicted.is_some() {
            drop(evicted);
            budget.note_close();
        }
        // From here the slot is this session's: dropping it (a failed or
        // abandoned connection attempt) gives the slot back.
        let mut pooled = PooledConn {
            conn: reused,
            database,
            pool: self,
            _permit: permit,
            reusable: false,
        };
        if pooled.conn.is_none() {
            pooled.conn = Some(self.connect(deadline, &pooled.database).await?);
        }
        Ok(pooled)
    }

    /// Closes this pool's idle sessions to databases other than the DSN's.
    pub fn close_other_databases(&self) {
        self.budget
            .close_idle(|idle| idle.owner == self.id && idle.database.is_some());
    }

    /// Forgets the connection history of databases no longer scraped.
    pub fn retain_databases(&self, keep: impl Fn(&str) -> bool) {
        self.reachability
            .retain(|database| database.as_deref().is_none_or(&keep));
    }

    async fn connect(&self, deadline: Instant, database: &Database) -> Result<Conn, ConnectError> {
        let mut target = self.target.clone();
        let shown = match database {
            Some(name) => {
                target.dbname(name.as_ref());
                redacted_target(&target)
            }
            None => self.shown.clone(),
        };
        let not_before = self.reachability.next_attempt(database);
        if let Some(not_before) = not_before.filter(|t| *t > Instant::now()) {
            return Err(ConnectError::Backoff {
                target: shown,
                wait: not_before - Instant::now(),
            });
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        target.connect_timeout(remaining.max(Duration::from_millis(10)));
        let connecting = async {
            let mut wait = EXIT_POLL;
            loop {
                let attempt = match &self.tls {
                    Some(tls) => target
                        .connect(tls.0.clone())
                        .await
                        .map(|(client, connection)| {
                            tokio::spawn(drive(connection));
                            client
                        }),
                    None => target.connect(NoTls).await.map(|(client, connection)| {
                        tokio::spawn(drive(connection));
                        client
                    }),
                };
                let attempt = match attempt {
                    Ok(client) => client
                        .batch_execute(&marked(SESSION_SETTINGS))
                        .await
                        .map(|()| client),
                    failed => failed,
                };
                // A session this pool just closed may not have left the server
                // yet, and a role's CONNECTION LIMIT still counts it: wait for it.
                match attempt {
                    Err(err)
                        if err.code() == Some(&SqlState::TOO_MANY_CONNECTIONS)
                            && self.budget.closed_within(EXIT_GRACE) =>
                    {
                        tokio::time::sleep(wait).await;
                        wait *= 2;
                    }
                    attempt => return attempt,
                }
            }
        };
        match tokio::time::timeout_at(deadline, connecting).await {
            Ok(Ok(client)) => {
                self.reachability.record(database, &shown, true, None);
                Ok(Conn::new(client))
            }
            Ok(Err(source)) => {
                // A database dropped since it was listed is gone, not failing:
                // no backoff for the other collectors about to find that out.
                if database.is_none() || source.code() != Some(&SqlState::INVALID_CATALOG_NAME) {
                    self.reachability
                        .record(database, &shown, false, Some(&source));
                }
                Err(ConnectError::Connect {
                    target: shown,
                    source,
                })
            }
            Err(_) => {
                // Cut short by the scrape's own deadline, the attempt says
                // nothing about the server: no backoff for the next scrape.
                if remaining >= TELLING_ATTEMPT {
                    self.reachability.record(database, &shown, false, None);
                }
                Err(ConnectError::Timeout { target: shown })
            }
        }
    }

    /// Logs a session that broke in use (server restarted, backend
    /// terminated). The caller drops it without marking it reusable, which
    /// closes it; no backoff is set, so the next acquire connects afresh at
    /// once, since the server may well be up.
    pub fn log_broken(&self, error: &tokio_postgres::Error) {
        tracing::debug!(target_dsn = %self.shown, error = %error_chain(error), "session broke; reconnecting");
    }
}

/// A session lent to one collector. Returned to the pool on drop only when the
/// user called [`PooledConn::reusable`]; otherwise its query may still run on
/// the server, so it is cancelled there and the session closed.
pub struct PooledConn<'a> {
    /// `None` only while the session is being opened.
    conn: Option<Conn>,
    database: Database,
    pool: &'a Pool,
    _permit: SemaphorePermit<'a>,
    reusable: bool,
}

impl PooledConn<'_> {
    /// Declares the session idle and healthy: it goes back to the pool.
    pub fn reusable(&mut self) {
        self.reusable = true;
    }
}

impl std::ops::Deref for PooledConn<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        let mut sessions = self.pool.budget.sessions.lock().expect("sessions lock");
        let conn = match self.conn.take() {
            Some(conn) if self.reusable && !conn.client.is_closed() => {
                sessions.idle.push(Idle {
                    owner: self.pool.id,
                    database: self.database.take(),
                    conn,
                });
                return;
            }
            conn => {
                sessions.open -= 1;
                drop(sessions);
                // `None`: a connection attempt that failed or was abandoned.
                match conn {
                    Some(conn) if !conn.client.is_closed() => conn,
                    _ => return,
                }
            }
        };
        self.pool.budget.note_close();
        // The session may still be running a statement that the deadline cut
        // off: ask the server to cancel it, then close the session.
        let token = conn.client.cancel_token();
        drop(conn);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(err) = token.cancel_query(NoTls).await {
                    tracing::debug!(error = %error_chain(&err), "cancel request failed");
                }
            });
        }
    }
}

/// The hosts and ports of `target`, as `host:port[,host:port…]` (a Unix
/// socket host is its directory).
pub fn server_of(target: &tokio_postgres::Config) -> String {
    let ports = target.get_ports();
    target
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Drop for Pool {
    /// Closes the pool's idle sessions (those lent out close when returned).
    fn drop(&mut self) {
        self.budget.close_idle(|idle| idle.owner == self.id);
    }
}

/// Runs a session's connection until it ends.
async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(err) = connection.await {
        tracing::debug!(error = %error_chain(&err), "session ended");
    }
}
