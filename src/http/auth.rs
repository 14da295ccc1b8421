//! The guard in front of every path: basic authentication against the users
//! of `--web.config.file` (bcrypt, off the async workers) and the configured
//! response headers.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::config::WebConfig;

/// Middleware: basic authentication (when users are configured) and the
/// configured response headers.
pub async fn guard(State(web): State<WebConfig>, request: Request, next: Next) -> Response {
    let credentials = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !web.users.is_empty() && !authorized(&web, credentials).await {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                "Basic realm=\"festival-pg-exporter\"",
            )],
            "Unauthorized\n",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    for (name, value) in web.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Whether an `Authorization` header names a configured user with the right password.
async fn authorized(web: &WebConfig, authorization: Option<String>) -> bool {
    let Some((user, password)) = authorization
        .as_deref()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(u, p)| (u.to_string(), p.to_string()))
        })
    else {
        return false;
    };
    let Some(hash) = web.users.get(&user).cloned() else {
        return false;
    };
    // bcrypt is slow on purpose: keep it off the async workers.
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}
