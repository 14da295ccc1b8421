//! Wires a [`Config`] into a running exporter: the pool, the scrape engine and
//! the HTTP server, and stops it cleanly on SIGTERM or SIGINT (requests in
//! flight, a scrape included, are answered first).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::Config;
use crate::db::Pool;
use crate::http::{app, AppState};
use crate::scrape::Scraper;

/// Share of the scrape deadline given to `statement_timeout`: a statement is
/// cut off by the server before the scrape's own deadline.
const STATEMENT_TIMEOUT_SHARE: f64 = 0.9;
/// Share of the scrape deadline the exporter will wait for any lock.
const LOCK_TIMEOUT_SHARE: f64 = 0.1;

/// Runs the exporter until a shutdown signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_address))?;
    let local = listener.local_addr().context("listener has no address")?;
    let state = build_state(config);
    // One connection attempt right away, so /readyz tells the truth before the
    // first scrape; a failure here is only logged, never fatal.
    let warmup = Arc::clone(&state.scraper);
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + warmup.timeout_for(None);
        if let Ok(mut conn) = warmup.pool().acquire(deadline).await {
            conn.reusable();
        }
    });
    let tls = state.web.tls.clone();
    tracing::info!(
        address = %local,
        tls = tls.is_some(),
        basic_auth = !state.web.users.is_empty(),
        target_dsn = %state.scraper.pool().target(),
        "listening"
    );
    match tls {
        None => axum::serve(listener, app(state))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("HTTP server failed")?,
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown_signal().await;
                stopper.graceful_shutdown(None);
            });
            let listener = listener.into_std().context("listener")?;
            axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(tls),
            )
            .context("HTTPS listener")?
            .handle(handle)
            .serve(app(state).into_make_service())
            .await
            .context("HTTPS server failed")?
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The handlers' state for `config`: nothing connects until the first scrape,
/// so an unreachable database at startup is not an error.
pub fn build_state(config: Config) -> AppState {
    let timeout = config.collection_timeout;
    let pool = Pool::new(
        config.target,
        config.tls,
        config.max_connections,
        timeout
            .mul_f64(STATEMENT_TIMEOUT_SHARE)
            .max(Duration::from_millis(1)),
        timeout
            .mul_f64(LOCK_TIMEOUT_SHARE)
            .max(Duration::from_millis(1)),
    );
    let scraper = Scraper::new(Arc::new(pool), config.collectors, config.options, timeout);
    AppState {
        scraper: Arc::new(scraper),
        telemetry_path: config.telemetry_path,
        web: config.web,
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing requests in flight");
}
