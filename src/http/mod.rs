//! The HTTP side: the router and its handlers.
//!
//! - the telemetry path (`/metrics`): a fresh collection within the scrape's
//!   deadline, in text format 0.0.4 (OpenMetrics when switched on and the
//!   `Accept` header prefers it);
//! - `/healthz`: 200 while the process runs;
//! - `/readyz`: 200 when the last connection attempt to PostgreSQL worked;
//! - `/`: a small HTML page with the target (no password) and each
//!   collector's last duration and status;
//! - `/probe` and `/-/reload`, served by the engines of [`probe`].
//!
//! [`auth`] guards every path; [`server`] wires a configuration into a running
//! server and stops it cleanly.

use std::sync::Arc;

use axum::extract::RawQuery;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::WebConfig;
use crate::metrics::{ConstantLabels, Encoding, Format};
use crate::scrape::Scraper;

pub mod auth;
pub mod listen;
pub mod probe;
pub mod server;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub scraper: Arc<Scraper>,
    /// `/probe` engines and configuration reloads.
    pub targets: Arc<probe::Targets>,
    pub telemetry_path: String,
    /// `--web.enable-openmetrics`.
    pub openmetrics: bool,
    /// `--constantLabels`, on every series of `/metrics` and `/probe`.
    pub constant_labels: ConstantLabels,
    /// TLS is the server's business; this is for basic auth and headers.
    pub web: WebConfig,
}

/// The exporter's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(&state.telemetry_path, get(metrics).head(head))
        .route("/probe", get(probe).head(head))
        .route("/-/reload", post(reload))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/", get(landing))
        .layer(axum::middleware::from_fn_with_state(
            state.web.clone(),
            auth::guard,
        ))
        // 503 from /readyz is an answer, not a failure of the exporter: keep it out of error logs.
        .layer(
            TraceLayer::new_for_http()
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state)
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let timeout = state.scraper.timeout_for(prometheus_timeout(&headers));
    let (format, encoding) = negotiate(&state, &headers);
    let collection = state.scraper.scrape(timeout).await;
    let body = collection
        .body(format, encoding, &state.constant_labels)
        .await;
    (exposition_headers(format, encoding), body).into_response()
}

/// `HEAD` of the telemetry path and of `/probe`: the headers a `GET` would
/// get, without running a collection.
async fn head(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (format, encoding) = negotiate(&state, &headers);
    exposition_headers(format, encoding).into_response()
}

fn prometheus_timeout(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
}

/// The format (`Accept`) and the content coding (`Accept-Encoding`) of the answer.
fn negotiate(state: &AppState, headers: &HeaderMap) -> (Format, Encoding) {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    (
        Format::negotiate(header(header::ACCEPT), state.openmetrics),
        Encoding::negotiate(header(header::ACCEPT_ENCODING)),
    )
}

fn exposition_headers(format: Format, encoding: Encoding) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::VARY,
        header::HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if let Some(coding) = encoding.header() {
        headers.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static(coding),
        );
    }
    headers
}

/// `/probe?target=NAME[&collector=NAME...]` or postgres_exporter's
/// `/probe?target=host:port/db&auth_module=NAME`: a scrape of another server.
async fn probe(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (mut target, mut auth_module, mut collectors) = (None, None, Vec::new());
    for (key, value) in form_pairs(query.as_deref().unwrap_or("")) {
        match key.as_str() {
            "target" => target = Some(value),
            "auth_module" => auth_module = Some(value),
            "collector" => collectors.push(value),
            _ => {}
        }
    }
    let Some(target) = target else {
        return (StatusCode::BAD_REQUEST, "missing target parameter\n").into_response();
    };
    let engine = match state
        .targets
        .engine(&target, auth_module.as_deref(), &collectors)
    {
        Ok(engine) => engine,
        Err(err) => return (StatusCode::BAD_REQUEST, format!("{err}\n")).into_response(),
    };
    let (format, encoding) = negotiate(&state, &headers);
    let collection = engine
        .scrape(engine.timeout_for(prometheus_timeout(&headers)))
        .await;
    let body = collection
        .body(format, encoding, &state.constant_labels)
        .await;
    (exposition_headers(format, encoding), body).into_response()
}

/// `POST /-/reload`: read the configuration again, as SIGHUP does.
async fn reload(State(state): State<AppState>) -> (StatusCode, String) {
    match state.targets.reload() {
        Ok(()) => (StatusCode::OK, "reloaded\n".into()),
        Err(err) => {
            tracing::error!(error = %err, "reload failed; keeping the configuration in use");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reload failed: {err}\n"),
            )
        }
    }
}

/// `a=1&b=x%20y` → pairs, `+` and percent escapes decoded.
fn form_pairs(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| crate::text::percent_decode(&text.replace('+', " "));
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.scraper.pool().is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "PostgreSQL is not reachable\n",
        )
    }
}

async fn landing(State(state): State<AppState>) -> Html<String> {
    let mut rows = String::new();
    for status in state.scraper.status() {
        let outcome = match (&status.success, &status.error) {
            (None, _) => "not run yet".to_string(),
            (Some(true), _) => "ok".to_string(),
            (Some(false), Some(error)) => format!("failed: {}", escape_html(error)),
            (Some(false), None) => "failed".to_string(),
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{:.3} s</td><td>{}</td></tr>\n",
            status.name, status.duration_seconds, outcome
        ));
    }
    let path = escape_html(&state.telemetry_path);
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>festival-pg-exporter</title></head>\n\
         <body><h1>festival-pg-exporter</h1>\n<p>Target: <code>{target}</code></p>\n\
         <p><a href=\"{path}\">Metrics</a> · <a href=\"/healthz\">healthz</a> · <a href=\"/readyz\">readyz</a></p>\n\
         <table><tr><th>Collector</th><th>Last duration</th><th>Last status</th></tr>\n{rows}</table>\n</body></html>\n",
        target = escape_html(state.scraper.pool().target()),
    ))
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests;
