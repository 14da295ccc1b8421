//! The bound on the sessions to one server, shared by the pools that reach
//! it (see [`super::pool`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::{Conn, Database};

/// An idle session, its pool and its database.
pub(super) struct Idle {
    /// The id of the pool that opened it.
    pub(super) owner: u64,
    pub(super) database: Database,
    pub(super) conn: Conn,
}

/// The sessions of a budget.
pub(super) struct Sessions {
    /// Idle sessions, oldest first.
    pub(super) idle: Vec<Idle>,
    /// Sessions open: idle, lent out, or being opened. Never above the
    /// budget's bound once a session is handed out.
    pub(super) open: usize,
}

/// The bound on the sessions to one server, shared by every pool that
/// reaches it (the `/metrics` engine's and those of `/probe`): together they
/// never have more than `max` sessions open; a pool that needs a session
/// when all are open closes the oldest idle one, whichever pool it is from.
pub struct Budget {
    pub(super) max: usize,
    /// One permit per session lent out.
    pub(super) permits: Semaphore,
    pub(super) sessions: Mutex<Sessions>,
    /// When a session was last closed.
    last_close: Mutex<Option<Instant>>,
}

impl Budget {
    /// A budget of at most `max` sessions (at least one).
    pub fn new(max: usize) -> Arc<Budget> {
        Arc::new(Budget {
            max: max.max(1),
            permits: Semaphore::new(max.max(1)),
            sessions: Mutex::new(Sessions {
                idle: Vec::new(),
                open: 0,
            }),
            last_close: Mutex::new(None),
        })
    }

    /// Closes the idle sessions `close` picks.
    pub(super) fn close_idle(&self, close: impl Fn(&Idle) -> bool) {
        let closed: Vec<Idle> = {
            let mut sessions = self.sessions.lock().expect("sessions lock");
            let (closed, kept) = std::mem::take(&mut sessions.idle)
                .into_iter()
                .partition(|idle| close(idle));
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

    pub(super) fn closed_within(&self, period: Duration) -> bool {
        self.last_close
            .lock()
            .expect("close lock")
            .is_some_and(|at| at.elapsed() < period)
    }
}
