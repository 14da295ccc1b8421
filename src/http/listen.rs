//! The HTTP(S) listener: every connection bounded in number, in the time it
//! may take to send its request headers (and to stay idle between requests),
//! in header size, and in how long it may delay a shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::HttpLimits;

/// How long requests in flight are given after a shutdown signal; then the
/// process exits whatever the clients do.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Largest request head (request line and headers) read, in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers in one request.
const MAX_HEADERS: usize = 64;

/// Serves `app` on `listener` (over TLS when `tls` is given), at most
/// `limits.max_connections` connections at once (more wait in the kernel's
/// backlog), until `shutdown` resolves; then stops accepting, lets requests
/// in flight finish for at most [`SHUTDOWN_GRACE`] and returns.
/// `limits.read_header_timeout` bounds the time a client may take to send a
/// request's headers and the time a kept-alive connection may stay idle
/// before its next request (one timer in HTTP/1: it runs whenever the server
/// waits for a request); the TLS handshake has the same bound.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) {
    let header_timeout = limits.read_header_timeout;
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = async {
                let slot = Arc::clone(&slots).acquire_owned().await.expect("never closed");
                (listener.accept().await, slot)
            } => accepted,
        };
        let (stream, slot) = match accepted {
            (Ok((stream, _)), slot) => (stream, slot),
            (Err(err), _) => {
                // Out of file descriptors and the like: pause, not a spin.
                tracing::warn!(error = %err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let watcher = graceful.watcher();
        let http = http.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!(
                grace_seconds = SHUTDOWN_GRACE.as_secs(),
                "connections still open after the shutdown grace period are closed"
            );
        }
    }
}
