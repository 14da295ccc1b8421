//! The guard in front of every path: basic authentication against the users
//! of `--web.config.file` and the configured response headers.
//!
//! bcrypt is slow on purpose, so as exporter-toolkit does, a successful check
//! is remembered (as a SHA-256 of user, password and hash) and not repeated;
//! checks run off the async workers, one at a time per spare core, so a crowd
//! of wrong passwords cannot starve scrapes of CPU; and an unknown user costs
//! one bcrypt check like a known one, so the answer's timing does not tell
//! which user names exist.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use tokio::sync::Semaphore;

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
    let known = web.users.get(&user);
    let Some(hash) = known.or_else(|| web.users.values().next()).cloned() else {
        return false;
    };
    let key: [u8; 32] = {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        for part in [&user, &password, &hash] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
        digest.finalize().into()
    };
    if known.is_some() && verified().lock().expect("cache lock").contains(&key) {
        return true;
    }
    let Ok(_turn) = checks().acquire().await else {
        return false;
    };
    let matches =
        tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
    if !(known.is_some() && matches) {
        return false;
    }
    let mut cache = verified().lock().expect("cache lock");
    if cache.len() >= VERIFIED_CAPACITY {
        cache.clear();
    }
    cache.insert(key);
    true
}

/// Most successful checks remembered; the memory is emptied when full.
const VERIFIED_CAPACITY: usize = 1024;

/// Successful checks: SHA-256 of (user, password, hash).
fn verified() -> &'static Mutex<HashSet<[u8; 32]>> {
    static VERIFIED: OnceLock<Mutex<HashSet<[u8; 32]>>> = OnceLock::new();
    VERIFIED.get_or_init(Default::default)
}

/// Turns for bcrypt checks: one per core but one, at least one.
fn checks() -> &'static Semaphore {
    static CHECKS: OnceLock<Semaphore> = OnceLock::new();
    CHECKS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Semaphore::new(cores.saturating_sub(1).max(1))
    })
}
