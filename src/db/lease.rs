//! A session lent out by the [`Pool`]: back to the pool when its user says it
//! is reusable, otherwise cancelled on the server and closed, so a query the
//! deadline cut off never runs on into the next scrape.

use tokio::sync::SemaphorePermit;
use tokio_postgres::NoTls;

use super::pool::{Database, Idle, Pool};
use super::{error_chain, Conn};

/// A session lent to one collector. Returned to the pool on drop only when the
/// user called [`PooledConn::reusable`]; otherwise its query may still run on
/// the server, so it is cancelled there and the session closed.
pub struct PooledConn<'a> {
    /// `None` only while the session is being opened.
    pub(super) conn: Option<Conn>,
    pub(super) database: Database,
    pub(super) pool: &'a Pool,
    pub(super) _permit: SemaphorePermit<'a>,
    pub(super) reusable: bool,
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
        let mut sessions = self.pool.sessions.lock().expect("sessions lock");
        let conn = match self.conn.take() {
            Some(conn) if self.reusable && !conn.client.is_closed() => {
                sessions.idle.push(Idle {
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
        self.pool.note_close();
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

/// Runs a session's connection until it ends.
pub(super) async fn drive<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if let Err(err) = connection.await {
        tracing::debug!(error = %error_chain(&err), "session ended");
    }
}
