//! The scrape engine: the only code that runs a collection.
//!
//! Every `/metrics` request gets fresh data, but requests that arrive while a
//! collection is in flight share it (single-flight): two Prometheus replicas,
//! or ten, cost the database one collection. A collection reads the server's
//! identity (that answer is `pg_up`), then runs every enabled collector
//! concurrently over the bounded [`Pool`], each under the scrape deadline. A
//! collector that fails or runs out of time loses only its own series; its
//! `pg_scrape_collector_success` says so and its duration is always reported.
//! The collection itself runs in its own task, so a scraper that hangs up does
//! not cut a query off half-way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::collectors::{Collector, Context, Options};
use crate::db::{error_chain, is_connection_error, Pool, ServerInfo};
use crate::metrics::{Family, Kind};

/// Subtracted from Prometheus' scrape timeout so that the answer still
/// arrives in time after encoding and transfer.
const SCRAPE_TIMEOUT_MARGIN: Duration = Duration::from_millis(500);
/// The shortest deadline a scrape is given, whatever the header says.
const MIN_DEADLINE: Duration = Duration::from_millis(100);

/// The outcome of one collector in the last collection, for the landing page.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorStatus {
    pub name: &'static str,
    /// Seconds the collector took (0 when it could not run).
    pub duration_seconds: f64,
    /// `None` before the first collection.
    pub success: Option<bool>,
    /// Why it failed, with the whole error chain.
    pub error: Option<String>,
}

/// The result of one collection, shared by every request that waited for it.
#[derive(Debug)]
pub struct Collection {
    pub families: Vec<Family>,
}

type InFlight = Shared<BoxFuture<'static, Arc<Collection>>>;

/// Runs collections; one per process.
pub struct Scraper {
    pool: Arc<Pool>,
    collectors: Vec<&'static dyn Collector>,
    options: Arc<Options>,
    timeout: Duration,
    in_flight: Mutex<Option<InFlight>>,
    scrapes: AtomicU64,
    status: Mutex<Vec<CollectorStatus>>,
}

enum Failure {
    Connect(crate::db::ConnectError),
    Query(tokio_postgres::Error),
    Timeout,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(err) => f.write_str(&error_chain(err)),
            Failure::Query(err) => f.write_str(&error_chain(err)),
            Failure::Timeout => f.write_str("scrape deadline reached"),
        }
    }
}

impl Scraper {
    pub fn new(
        pool: Arc<Pool>,
        collectors: Vec<&'static dyn Collector>,
        options: Options,
        timeout: Duration,
    ) -> Scraper {
        let status = collectors
            .iter()
            .map(|c| CollectorStatus {
                name: c.name(),
                duration_seconds: 0.0,
                success: None,
                error: None,
            })
            .collect();
        Scraper {
            pool,
            collectors,
            options: Arc::new(options),
            timeout,
            in_flight: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            status: Mutex::new(status),
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The collectors' outcomes in the last collection.
    pub fn status(&self) -> Vec<CollectorStatus> {
        self.status.lock().expect("status lock").clone()
    }

    /// The deadline of a scrape: `--collection-timeout`, or Prometheus' own
    /// scrape timeout (the `X-Prometheus-Scrape-Timeout-Seconds` header) less a
    /// margin when that is shorter.
    pub fn timeout_for(&self, prometheus_timeout: Option<&str>) -> Duration {
        let from_header = prometheus_timeout
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| Duration::from_secs_f64(v.min(1e6)).saturating_sub(SCRAPE_TIMEOUT_MARGIN));
        match from_header {
            Some(header) => self.timeout.min(header).max(MIN_DEADLINE),
            None => self.timeout,
        }
    }

    /// Returns a fresh collection: the one in flight if there is one, else a new one.
    pub async fn scrape(self: &Arc<Self>, timeout: Duration) -> Arc<Collection> {
        let shared = {
            let mut in_flight = self.in_flight.lock().expect("in-flight lock");
            match in_flight.as_ref() {
                Some(shared) => shared.clone(),
                None => {
                    let this = Arc::clone(self);
                    let task = tokio::spawn(async move {
                        let collection = this.collect(timeout).await;
                        *this.in_flight.lock().expect("in-flight lock") = None;
                        Arc::new(collection)
                    });
                    let this = Arc::clone(self);
                    let shared = async move {
                        task.await.unwrap_or_else(|err| {
                            tracing::error!(error = %err, "collection task failed");
                            *this.in_flight.lock().expect("in-flight lock") = None;
                            Arc::new(Collection {
                                families: vec![up_family(false)],
                            })
                        })
                    }
                    .boxed()
                    .shared();
                    *in_flight = Some(shared.clone());
                    shared
                }
            }
        };
        shared.await
    }

    async fn collect(&self, timeout: Duration) -> Collection {
        let started = Instant::now();
        let deadline = started + timeout;
        let scrapes = self.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        let server = self.server_info(deadline).await;

        let mut families = vec![up_family(server.is_some())];
        let outcomes: Vec<(f64, Result<Vec<Family>, Failure>)> = match &server {
            Some(server) => {
                let ctx = Context {
                    server: server.clone(),
                    options: Arc::clone(&self.options),
                };
                let runs = self
                    .collectors
                    .iter()
                    .map(|c| self.run_collector(*c, &ctx, deadline));
                futures::future::join_all(runs).await
            }
            None => self
                .collectors
                .iter()
                .map(|_| (0.0, Err(Failure::Timeout)))
                .collect(),
        };

        if let Some(server) = &server {
            let mut info = Family::new(
                "pg_static",
                "Version string as reported by PostgreSQL; the value is always 1.",
                Kind::Gauge,
                &["version", "short_version"],
            );
            info.push(vec![server.version.clone(), server.short_version()], 1.0);
            families.push(info);
            families.push(Family::single(
                "pg_postmaster_start_time_seconds",
                "Time at which the PostgreSQL server started, Unix seconds.",
                Kind::Gauge,
                server.start_time_seconds,
            ));
        }

        let mut durations = Family::new(
            "pg_scrape_collector_duration_seconds",
            "How long the collector took in this scrape, in seconds.",
            Kind::Gauge,
            &["collector"],
        );
        let mut successes = Family::new(
            "pg_scrape_collector_success",
            "Whether the collector succeeded in this scrape (1) or failed or ran out of time (0).",
            Kind::Gauge,
            &["collector"],
        );
        let mut any_failed = server.is_none();
        let mut status = Vec::with_capacity(self.collectors.len());
        for (collector, (seconds, outcome)) in self.collectors.iter().zip(outcomes) {
            let name = collector.name();
            durations.push(vec![name.to_string()], seconds);
            let error = match outcome {
                Ok(collected) => {
                    families.extend(collected);
                    None
                }
                Err(failure) => {
                    any_failed = true;
                    Some(if server.is_some() {
                        failure.to_string()
                    } else {
                        "PostgreSQL is not reachable".to_string()
                    })
                }
            };
            successes.push(
                vec![name.to_string()],
                if error.is_none() { 1.0 } else { 0.0 },
            );
            status.push(CollectorStatus {
                name,
                duration_seconds: seconds,
                success: Some(error.is_none()),
                error,
            });
        }
        self.log_changes(&status);
        *self.status.lock().expect("status lock") = status;

        families.push(durations);
        families.push(successes);
        families.push(Family::single(
            "pg_exporter_last_scrape_duration_seconds",
            "Duration of this scrape's collection, in seconds.",
            Kind::Gauge,
            started.elapsed().as_secs_f64(),
        ));
        families.push(Family::single(
            "pg_exporter_scrapes",
            "Collections run since the exporter started (concurrent requests share one).",
            Kind::Counter,
            scrapes as f64,
        ));
        families.push(Family::single(
            "pg_exporter_last_scrape_error",
            "Whether this scrape had an error: PostgreSQL unreachable or a collector failed (1), or not (0).",
            Kind::Gauge,
            if any_failed { 1.0 } else { 0.0 },
        ));
        families.extend(crate::process::families());
        Collection { families }
    }

    /// Reads the server's identity; a broken idle session (a restarted server,
    /// a terminated backend) is replaced once within the same scrape.
    async fn server_info(&self, deadline: Instant) -> Option<ServerInfo> {
        for _attempt in 0..2 {
            let mut conn = match self.pool.acquire(deadline).await {
                Ok(conn) => conn,
                Err(err) => {
                    tracing::debug!(error = %error_chain(&err), "no session for this scrape");
                    return None;
                }
            };
            match tokio::time::timeout_at(deadline, conn.server_info()).await {
                Ok(Ok(info)) => {
                    conn.reusable();
                    return Some(info);
                }
                Ok(Err(err)) if is_connection_error(&err) => {
                    tracing::debug!(error = %error_chain(&err), "session broken, reconnecting");
                    self.pool.mark_broken(&err);
                }
                Ok(Err(err)) => {
                    tracing::warn!(error = %error_chain(&err), "cannot read the server version");
                    return None;
                }
                Err(_) => return None,
            }
        }
        None
    }

    async fn run_collector(
        &self,
        collector: &dyn Collector,
        ctx: &Context,
        deadline: Instant,
    ) -> (f64, Result<Vec<Family>, Failure>) {
        let started = Instant::now();
        let run = async {
            let mut conn = self
                .pool
                .acquire(deadline)
                .await
                .map_err(Failure::Connect)?;
            match collector.collect(&mut conn, ctx).await {
                Ok(families) => {
                    conn.reusable();
                    Ok(families)
                }
                Err(err) => {
                    if is_connection_error(&err) {
                        self.pool.mark_broken(&err);
                    } else {
                        conn.reusable();
                    }
                    Err(Failure::Query(err))
                }
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::Timeout),
        };
        (started.elapsed().as_secs_f64(), outcome)
    }

    /// Logs a collector's failure when it starts or its reason changes, and its
    /// recovery, rather than the same line on every scrape.
    fn log_changes(&self, now: &[CollectorStatus]) {
        let before = self.status.lock().expect("status lock");
        for (old, new) in before.iter().zip(now) {
            if old.error == new.error {
                continue;
            }
            match &new.error {
                Some(error) => {
                    tracing::warn!(collector = new.name, error = %error, "collector failed")
                }
                None if old.success == Some(false) => {
                    tracing::info!(collector = new.name, "collector recovered")
                }
                None => {}
            }
        }
    }
}

fn up_family(up: bool) -> Family {
    Family::single(
        "pg_up",
        "Whether the last scrape could query PostgreSQL (1) or not (0).",
        Kind::Gauge,
        if up { 1.0 } else { 0.0 },
    )
}
