//! The `sql-baseline` subcommand: the floor a scrape cannot beat. It opens one
//! session and runs every enabled collector's SQL back to back, round after
//! round, with no HTTP, no single-flight and no exposition encoding, printing
//! the wall and CPU time of each round. The benchmark compares full scrapes
//! against it, measured in the same run on the same database.

use std::time::{Duration, Instant};

use crate::collectors::table_statistics::SharedRead;
use crate::collectors::Context;
use crate::config::Config;
use crate::db::error_chain;

/// Runs `rounds` rounds and prints one line per round plus a summary; returns
/// the process exit code (1 when the server cannot be reached).
pub async fn run(config: Config, rounds: usize) -> i32 {
    let timeout = config.collection_timeout;
    let pool = super::one_session(&config);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut conn = match pool.acquire(deadline).await {
        Ok(conn) => conn,
        Err(err) => {
            eprintln!("festival-pg-exporter sql-baseline: {}", error_chain(&err));
            return 1;
        }
    };
    let server = match conn.server_info().await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("festival-pg-exporter sql-baseline: {}", error_chain(&err));
            return 1;
        }
    };
    let mut ctx = Context::new(
        server,
        std::sync::Arc::new(config.options),
        config.loaded.queries,
        std::sync::Arc::default(),
    );
    let mut walls = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let cpu_before = crate::scrape::process::cpu_seconds().unwrap_or(0.0);
        let started = Instant::now();
        let mut rows = 0usize;
        let mut failed = 0usize;
        // As a scrape does: one read of the per-table statistics for all.
        ctx.shared = SharedRead::for_collectors(config.collectors.iter().map(|c| c.name()));
        for collector in &config.collectors {
            match collector.collect(&mut conn, &ctx).await {
                Ok(families) => rows += families.iter().map(|f| f.samples.len()).sum::<usize>(),
                Err(_) => failed += 1,
            }
        }
        let wall = started.elapsed();
        let cpu = crate::scrape::process::cpu_seconds().unwrap_or(0.0) - cpu_before;
        println!(
            "round={round} wall_seconds={:.6} cpu_seconds={cpu:.6} samples={rows} failed_collectors={failed}",
            wall.as_secs_f64()
        );
        walls.push(wall);
    }
    conn.reusable();
    walls.sort();
    if let (Some(median), Some(p95)) = (percentile(&walls, 0.5), percentile(&walls, 0.95)) {
        println!(
            "summary rounds={rounds} median_seconds={:.6} p95_seconds={:.6}",
            median.as_secs_f64(),
            p95.as_secs_f64()
        );
    }
    0
}

/// The `q` quantile of sorted durations (nearest rank).
fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let d: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.5), Some(Duration::from_millis(10)));
        assert_eq!(percentile(&d, 0.95), Some(Duration::from_millis(19)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
