//! Wires a [`Config`] into a running exporter: the pool, the scrape engine and
//! the HTTP server, and stops it on SIGTERM or SIGINT (requests in flight, a
//! scrape included, are answered first, for at most
//! [`super::listen::SHUTDOWN_GRACE`]).

use std::sync::Arc;

use anyhow::Context as _;

use super::probe::{EngineSettings, Targets};
use super::{app, AppState};
use crate::config::{Config, Reloadable};
use crate::db::{Pool, SessionLimits};

/// Runs the exporter until a shutdown signal arrives.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen_address)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_address))?;
    let local = listener.local_addr().context("listener has no address")?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let limits = config.http;
    let state = build_state(config);
    reload_on_sighup(Arc::clone(&state.targets));
    evict_idle_probes(Arc::clone(&state.targets));
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
    super::listen::serve(listener, tls, app(state), limits, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The handlers' state for `config`: nothing connects until the first scrape,
/// so an unreachable database at startup is not an error.
pub fn build_state(config: Config) -> AppState {
    let constant_labels: crate::metrics::ConstantLabels = config.constant_labels.into();
    let settings = EngineSettings {
        compress: (!config.openmetrics).then(|| Arc::clone(&constant_labels)),
        collectors: config.collectors,
        options: Arc::new(config.options),
        loaded: Reloadable::new(config.loaded, &config.query_paths),
        discovery: config.discovery,
        timeout: config.collection_timeout,
        max_connections: config.max_connections,
        limits: SessionLimits::for_collection(config.collection_timeout),
        config_file: config.config_file,
        query_paths: config.query_paths,
    };
    let pool = Pool::new(
        config.target,
        config.tls,
        settings.max_connections,
        settings.limits,
    );
    let targets = Arc::new(Targets::new(settings.clone(), &pool));
    let scraper = Arc::new(settings.engine(pool, settings.collectors.clone()));
    AppState {
        targets,
        scraper,
        telemetry_path: config.telemetry_path,
        openmetrics: config.openmetrics,
        constant_labels,
        web: config.web,
    }
}

/// Drops unused `/probe` engines, and their sessions, on a timer.
fn evict_idle_probes(targets: Arc<Targets>) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            ticks.tick().await;
            targets.evict_idle();
        }
    });
}

/// Reloads the configuration on every SIGHUP.
fn reload_on_sighup(targets: Arc<Targets>) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        tracing::warn!("cannot listen for SIGHUP; reload with POST /-/reload");
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if let Err(err) = targets.reload() {
                tracing::error!(error = %err, "reload failed; keeping the configuration in use");
            }
        }
    });
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
