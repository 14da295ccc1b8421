//! The bounded set of sessions to one server.
//!
//! A [`Pool`] keeps at most `max_connections` sessions open across scrapes and
//! hands them out one collector at a time. The bound covers every database of
//! the server: sessions to databases other than the DSN's (those
//! `--auto-discover-databases` finds) are opened when a collector needs one,
//! make room by closing another database's idle session, and are closed at the
//! end of each scrape, so the exporter never stands in the way of a
//! `DROP DATABASE`. Every session is made harmless at
//! startup, in the connection's own startup packet (no extra round trip):
//! `application_name = festival-pg-exporter`, `statement_timeout` and
//! `lock_timeout` below the scrape deadline ([`SessionLimits`]),
//! `default_transaction_read_only`, and `TimeZone = UTC` (so dates in
//! partition bounds mean the same everywhere).
//! A session whose query was cut off by the deadline is cancelled on the server
//! and closed rather than reused, so a slow query never queues the next one.
//! Statements are prepared once per session and reused across scrapes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use super::lease::{drive, PooledConn};
use super::target::redacted_target;
use super::tls::TlsConnector;
use super::{error_chain, Conn, ConnectError, SessionLimits, APPLICATION_NAME};

/// The first wait after a failed connection attempt; it doubles with each
/// further failure up to [`MAX_BACKOFF`], so a refusing server (max_connections
/// reached, say) is not hammered by back-to-back scrapes.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between attempts: below common scrape intervals, so a
/// recovered server is seen within one or two scrapes.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long after closing a session a "too many connections" answer is taken
/// for that session still leaving the server, and retried.
const EXIT_GRACE: Duration = Duration::from_secs(1);
/// The first wait before such a retry; it doubles with each (a handful of
/// attempts within [`EXIT_GRACE`]).
const EXIT_POLL: Duration = Duration::from_millis(5);

/// Whether the last connection attempt worked, for `/readyz` and for logging
/// once per change rather than once per scrape.
#[derive(Debug, Clone, Default)]
struct Reachability {
    /// `None` until the first attempt.
    last_ok: Option<bool>,
    /// No new connection attempt before this, after failures.
    next_attempt: Option<Instant>,
    /// The wait that the next failure sets.
    backoff: Duration,
}

/// The database of a session: `None` for the DSN's, else the name of another
/// database of the same server.
pub(super) type Database = Option<Arc<str>>;

/// An idle session and its database.
pub(super) struct Idle {
    pub(super) database: Database,
    pub(super) conn: Conn,
}

/// The pool's sessions.
pub(super) struct Sessions {
    /// Idle sessions, oldest first.
    pub(super) idle: Vec<Idle>,
    /// Sessions open: idle, lent out, or being opened. Never above the pool's
    /// bound once a session is handed out.
    pub(super) open: usize,
}

/// A bounded set of sessions to one server.
pub struct Pool {
    target: tokio_postgres::Config,
    /// The rustls connector (`None`: `sslmode=disable`).
    tls: Option<TlsConnector>,
    shown: String,
    max: usize,
    /// One permit per session lent out.
    permits: Semaphore,
    pub(super) sessions: Mutex<Sessions>,
    /// Whether each database could be reached, and when to try again.
    reachability: Mutex<HashMap<Database, Reachability>>,
    /// When the pool last closed a session.
    last_close: Mutex<Option<Instant>>,
}

impl Pool {
    /// A pool of at most `max_connections` sessions whose statements and lock
    /// waits are cut off at `limits`. No connection is opened until the first
    /// scrape asks for one.
    pub fn new(
        mut target: tokio_postgres::Config,
        tls: Option<TlsConnector>,
        max_connections: usize,
        limits: SessionLimits,
    ) -> Pool {
        let session_options = format!(
            "-c statement_timeout={} -c lock_timeout={} -c default_transaction_read_only=on -c TimeZone=UTC",
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
            target,
            tls,
            shown,
            max: max_connections.max(1),
            permits: Semaphore::new(max_connections.max(1)),
            sessions: Mutex::new(Sessions {
                idle: Vec::new(),
                open: 0,
            }),
            reachability: Mutex::new(HashMap::new()),
            last_close: Mutex::new(None),
        }
    }

    /// The most sessions open at once.
    pub fn max_connections(&self) -> usize {
        self.max
    }

    /// The target without secrets, for logs and pages.
    pub fn target(&self) -> &str {
        &self.shown
    }

    /// True when the last connection attempt to the DSN's database (or the
    /// last use of a session) worked.
    pub fn is_ready(&self) -> bool {
        self.reachability
            .lock()
            .expect("reachability lock")
            .get(&None)
            .is_some_and(|h| h.last_ok == Some(true))
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
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| ConnectError::Timeout {
                target: self.shown.clone(),
            })?
            .expect("the pool's semaphore is never closed");
        let database: Database = database.map(Arc::from);
        let (reused, evicted) = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            let before = sessions.idle.len();
            sessions.idle.retain(|idle| !idle.conn.client.is_closed());
            sessions.open -= before - sessions.idle.len();
            match sessions
                .idle
                .iter()
                .rposition(|idle| idle.database == database)
            {
                Some(at) => (Some(sessions.idle.remove(at).conn), None),
                None => {
                    // Every permit but this one may be lent out, so when the
                    // bound is reached an idle session (of another database)
                    // exists: the oldest makes room.
                    let evicted = (sessions.open >= self.max && !sessions.idle.is_empty())
                        .then(|| sessions.idle.remove(0));
                    sessions.open = sessions.open - usize::from(evicted.is_some()) + 1;
                    (None, evicted)
                }
            }
        };
        if evicted.is_some() {
            drop(evicted);
            self.note_close();
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

    /// Closes the idle sessions to databases other than the DSN's.
    pub fn close_other_databases(&self) {
        let closed: Vec<Idle> = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            let (closed, kept) = std::mem::take(&mut sessions.idle)
                .into_iter()
                .partition(|idle| idle.database.is_some());
            sessions.idle = kept;
            sessions.open -= closed.len();
            closed
        };
        if !closed.is_empty() {
            self.note_close();
        }
    }

    /// Remembers that a session was just closed.
    pub(super) fn note_close(&self) {
        *self.last_close.lock().expect("close lock") = Some(Instant::now());
    }

    fn closed_within(&self, period: Duration) -> bool {
        self.last_close
            .lock()
            .expect("close lock")
            .is_some_and(|at| at.elapsed() < period)
    }

    /// Forgets the connection history of databases no longer scraped.
    pub fn retain_databases(&self, keep: impl Fn(&str) -> bool) {
        self.reachability
            .lock()
            .expect("reachability lock")
            .retain(|database, _| database.as_deref().is_none_or(&keep));
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
        let not_before = self
            .reachability
            .lock()
            .expect("reachability lock")
            .get(database)
            .and_then(|h| h.next_attempt);
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
                // A session this pool just closed may not have left the server
                // yet, and a role's CONNECTION LIMIT still counts it: wait for it.
                match attempt {
                    Err(err)
                        if err.code() == Some(&SqlState::TOO_MANY_CONNECTIONS)
                            && self.closed_within(EXIT_GRACE) =>
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
                self.record(database, &shown, true, None);
                Ok(Conn::new(client))
            }
            Ok(Err(source)) => {
                // A database dropped since it was listed is gone, not failing:
                // no backoff for the other collectors about to find that out.
                if database.is_none() || source.code() != Some(&SqlState::INVALID_CATALOG_NAME) {
                    self.record(database, &shown, false, Some(&source));
                }
                Err(ConnectError::Connect {
                    target: shown,
                    source,
                })
            }
            Err(_) => {
                self.record(database, &shown, false, None);
                Err(ConnectError::Timeout { target: shown })
            }
        }
    }

    /// Remembers the outcome of a connection attempt, sets the backoff, and
    /// logs when the outcome changes.
    fn record(
        &self,
        database: &Database,
        shown: &str,
        ok: bool,
        error: Option<&tokio_postgres::Error>,
    ) {
        let previous = {
            let mut all = self.reachability.lock().expect("reachability lock");
            let state = all.entry(database.clone()).or_default();
            if ok {
                state.next_attempt = None;
                state.backoff = MIN_BACKOFF;
            } else {
                let wait = state.backoff.clamp(MIN_BACKOFF, MAX_BACKOFF);
                state.next_attempt = Some(Instant::now() + wait);
                state.backoff = (wait * 2).min(MAX_BACKOFF);
            }
            state.last_ok.replace(ok)
        };
        if previous == Some(ok) {
            return;
        }
        let reason = || {
            error
                .map(|e| error_chain(e))
                .unwrap_or_else(|| "timed out".to_string())
        };
        match (database, ok) {
            (None, true) => tracing::info!(target_dsn = %shown, "connected to PostgreSQL"),
            (None, false) => {
                tracing::warn!(target_dsn = %shown, error = %reason(), "cannot connect to PostgreSQL; will retry on the next scrape")
            }
            // A discovered database is connected to on every scrape: only
            // trouble and its end are news.
            (Some(_), true) if previous.is_none() => {}
            (Some(name), true) => {
                tracing::info!(datname = %name, target_dsn = %shown, "connected to the database again")
            }
            (Some(name), false) => {
                tracing::warn!(datname = %name, target_dsn = %shown, error = %reason(), "cannot connect to the database; its per-database collectors fail until it answers")
            }
        }
    }

    /// Logs a session that broke in use (server restarted, backend
    /// terminated). The caller drops it without marking it reusable, which
    /// closes it; no backoff is set, so the next acquire connects afresh at
    /// once, since the server may well be up.
    pub fn mark_broken(&self, error: &tokio_postgres::Error) {
        tracing::debug!(target_dsn = %self.shown, error = %error_chain(error), "session broke; reconnecting");
    }
}
