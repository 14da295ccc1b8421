//! Waiting in tests: statistics in PostgreSQL show up asynchronously (a
//! backend reports them when it exits, autovacuum runs on its own schedule),
//! so tests poll for the value they expect with a time limit instead of
//! sleeping a fixed time. Also the wall clock that timestamps in a scrape are
//! compared with.

use std::time::{Duration, Instant};

/// Polls `check` every 200 ms until it returns `Some`, for up to `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How long a test waits for statistics to show up.
pub const WAIT: Duration = Duration::from_secs(30);

/// Unix seconds now.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}
