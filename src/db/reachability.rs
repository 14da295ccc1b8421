//! Whether each database of a server could be reached: the backoff between
//! failed connection attempts, `/readyz`'s answer, and one log line per change
//! rather than one per scrape.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{error_chain, Database};

/// The first wait after a failed connection attempt; it doubles with each
/// further failure up to [`MAX_BACKOFF`], so a refusing server (max_connections
/// reached, say) is not hammered by back-to-back scrapes.
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between attempts: below common scrape intervals, so a
/// recovered server is seen within one or two scrapes.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One database's connection history.
#[derive(Debug, Clone, Default)]
struct State {
    /// `None` until the first attempt.
    last_ok: Option<bool>,
    /// No new connection attempt before this, after failures.
    next_attempt: Option<Instant>,
    /// The wait that the next failure sets.
    backoff: Duration,
}

/// The connection history of every database of one server.
#[derive(Debug, Default)]
pub struct Reachability(Mutex<HashMap<Database, State>>);

impl Reachability {
    /// True when the last connection attempt to `database` (or the last use
    /// of a session) worked.
    pub fn is_ok(&self, database: &Database) -> bool {
        self.0
            .lock()
            .expect("reachability lock")
            .get(database)
            .is_some_and(|state| state.last_ok == Some(true))
    }

    /// No attempt to `database` before this, after failures.
    pub fn next_attempt(&self, database: &Database) -> Option<Instant> {
        self.0
            .lock()
            .expect("reachability lock")
            .get(database)
            .and_then(|state| state.next_attempt)
    }

    /// Forgets the databases for which `keep` is false.
    pub fn retain(&self, keep: impl Fn(&Database) -> bool) {
        self.0
            .lock()
            .expect("reachability lock")
            .retain(|database, _| keep(database));
    }

    /// Remembers the outcome of a connection attempt, sets the backoff, and
    /// logs when the outcome changes.
    pub fn record(
        &self,
        database: &Database,
        shown: &str,
        ok: bool,
        error: Option<&tokio_postgres::Error>,
    ) {
        let previous = {
            let mut all = self.0.lock().expect("reachability lock");
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_doubling_up_to_the_limit_and_success_resets() {
        let reach = Reachability::default();
        let db: Database = None;
        assert!(!reach.is_ok(&db) && reach.next_attempt(&db).is_none());
        let mut waits = Vec::new();
        for _ in 0..7 {
            reach.record(&db, "t", false, None);
            waits.push(reach.next_attempt(&db).unwrap() - Instant::now());
        }
        // (each wait is measured a moment after it was set: allow for that)
        let expected = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0];
        for (wait, expected) in waits.iter().zip(expected) {
            let seconds = wait.as_secs_f64();
            assert!(
                seconds <= expected && seconds > expected - 0.05,
                "{waits:?}"
            );
        }
        reach.record(&db, "t", true, None);
        assert!(reach.is_ok(&db) && reach.next_attempt(&db).is_none());
        reach.record(&db, "t", false, None);
        let wait = reach.next_attempt(&db).unwrap() - Instant::now();
        assert!(wait <= MIN_BACKOFF && wait > MIN_BACKOFF / 2, "{wait:?}");
        let other: Database = Some("tenant".into());
        reach.record(&other, "t", true, None);
        reach.retain(|d| d.is_none());
        assert!(!reach.is_ok(&other), "a forgotten database has no history");
    }
}
