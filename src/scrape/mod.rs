//! The scrape engine: the only code that runs a collection.
//!
//! Every `/metrics` request gets fresh data, but requests that arrive while a
//! collection is in flight share it (single-flight): two Prometheus replicas,
//! or ten, cost the database one collection. A collection reads the server's
//! identity (that answer is `pg_up`), then runs every enabled collector
//! concurrently over the bounded [`Pool`], each under the scrape deadline. A
//! collector that fails or runs out of time loses only its own series; its
//! `pg_scrape_collector_success` says so and its duration is always reported.
//! With `--auto-discover-databases` the per-database collectors run again in
//! every other database the server lists (see [`crate::config::databases`]), their
//! series told apart by `datname`, and each database's outcome is reported.
//! The collection itself runs in its own task, so a scraper that hangs up does
//! not cut a query off half-way.
//!
//! This file holds the engine and single-flight; [`discover`] reads the
//! server's identity and databases, [`plan`] runs the collectors, [`merge`]
//! puts their families together (the engine's memory between collections is
//! [`crate::collectors::cache`]), [`cardinality`] keeps the series the
//! operator wants, [`collection`] its result and the bytes
//! served from it, [`catalogue`] its own families and the catalogue of all, and
//! [`process`] the `process_*` families.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::time::Instant;

use crate::collectors::custom_queries::CustomQuery;
use crate::collectors::{Caches, CollectError, Collector, Options};
use crate::config::{Discovery, Reloadable};
use crate::db::{Pool, ServerInfo, PREDEFINED_ROLES};
use crate::metrics::{ConstantLabels, Family, Part};

mod cardinality;
pub mod catalogue;
mod collection;
mod discover;
mod files;
mod merge;
mod plan;
pub mod process;

pub use catalogue::{catalogue, catalogue_text};
pub use collection::Collection;

use catalogue::*;

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

type InFlight = Shared<BoxFuture<'static, Arc<Collection>>>;

/// Runs collections of one server: the `/metrics` engine, and one per probed
/// target and set of collectors.
pub struct Scraper {
    pool: Arc<Pool>,
    collectors: Vec<&'static dyn Collector>,
    /// The collectors' settings, as validated at startup.
    options: Arc<Options>,
    /// The custom queries (and probe targets) as last loaded, shared with the
    /// other engines; a reload swaps the value inside.
    loaded: Reloadable,
    /// The custom queries of the last collection, to tell when a reload
    /// replaced them (their cached results are then forgotten).
    last_queries: Mutex<Option<Arc<Vec<CustomQuery>>>>,
    timeout: Duration,
    /// The collection in flight, with the timeout its scraper asked for.
    in_flight: Mutex<Option<(InFlight, Duration)>>,
    scrapes: AtomicU64,
    status: Mutex<Vec<CollectorStatus>>,
    /// `--auto-discover-databases`: the other databases to visit.
    discovery: Option<Discovery>,
    /// What the engine remembers between collections.
    caches: Arc<Caches>,
    /// Family names already reported as produced twice.
    warned_duplicates: Mutex<std::collections::HashSet<String>>,
    /// Family names already reported as repeating a series across databases.
    warned_repeats: Mutex<std::collections::HashSet<String>>,
    /// Whether listing the databases failed last time (to log changes only).
    discovery_failed: std::sync::atomic::AtomicBool,
    /// The predefined roles the exporter's role lacked last time (to log changes only).
    missing_roles: Mutex<Vec<&'static str>>,
    /// The families each collector's series cap cut last time (to log changes only).
    capped: Mutex<std::collections::HashMap<&'static str, Vec<String>>>,
    /// Families are compressed in text format 0.0.4 with these constant
    /// labels as each collector finishes ([`Scraper::compressing`]).
    compressing: Option<ConstantLabels>,
}

impl Scraper {
    pub fn new(
        pool: Arc<Pool>,
        collectors: Vec<&'static dyn Collector>,
        options: Arc<Options>,
        loaded: Reloadable,
        discovery: Option<Discovery>,
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
            options,
            loaded,
            last_queries: Mutex::new(None),
            timeout,
            in_flight: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            status: Mutex::new(status),
            discovery,
            caches: Arc::default(),
            warned_duplicates: Mutex::new(std::collections::HashSet::new()),
            warned_repeats: Mutex::new(std::collections::HashSet::new()),
            discovery_failed: std::sync::atomic::AtomicBool::new(false),
            missing_roles: Mutex::new(Vec::new()),
            capped: Mutex::default(),
            compressing: None,
        }
    }

    /// With `Some(constant)`, compresses each collector's families in text
    /// format 0.0.4 with those labels as it finishes, and lets its samples
    /// go: a collection then holds compressed text instead of every sample,
    /// which OpenMetrics, encoded from the families, cannot use.
    pub fn compressing(self, constant: Option<ConstantLabels>) -> Scraper {
        Scraper {
            compressing: constant,
            ..self
        }
    }

    /// The custom queries loaded now; when a reload replaced them, the old
    /// ones' cached results are forgotten.
    fn current_queries(&self) -> Arc<Vec<CustomQuery>> {
        let queries = Arc::clone(&self.loaded.current().queries);
        let mut last = self.last_queries.lock().expect("queries lock");
        if last.as_ref().is_some_and(|old| !Arc::ptr_eq(old, &queries)) {
            self.caches.forget_queries();
        }
        *last = Some(Arc::clone(&queries));
        queries
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

    /// Returns a fresh collection: the one in flight if its deadline is at
    /// least `timeout`, else a new one. A request with a longer deadline does
    /// not take the result of a shorter collection (one a scraper asked for
    /// with a tiny `X-Prometheus-Scrape-Timeout-Seconds` would otherwise fail
    /// every collector for everyone): it waits for that one to end and starts
    /// its own, within its own deadline.
    pub async fn scrape(self: &Arc<Self>, timeout: Duration) -> Arc<Collection> {
        let deadline = Instant::now() + timeout;
        loop {
            let (shared, shorter) = {
                let mut in_flight = self.in_flight.lock().expect("in-flight lock");
                match in_flight.as_ref() {
                    Some((shared, its)) => (shared.clone(), *its < timeout),
                    None => {
                        let left = deadline
                            .saturating_duration_since(Instant::now())
                            .max(MIN_DEADLINE);
                        let shared = self.start(left);
                        // What the scraper asked for: scrapes asking the same
                        // share it (a restarted one has a little less left).
                        *in_flight = Some((shared.clone(), timeout));
                        (shared, false)
                    }
                }
            };
            let collection = shared.await;
            if !shorter || Instant::now() + MIN_DEADLINE >= deadline {
                return collection;
            }
        }
    }

    /// Starts a collection with `timeout` in a task of its own, so that it
    /// finishes even when every request waiting for it has gone.
    fn start(self: &Arc<Self>, timeout: Duration) -> InFlight {
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let collection = this.collect(timeout).await;
            *this.in_flight.lock().expect("in-flight lock") = None;
            Arc::new(collection)
        });
        let this = Arc::clone(self);
        async move {
            task.await.unwrap_or_else(|err| {
                tracing::error!(error = %err, "collection task failed");
                *this.in_flight.lock().expect("in-flight lock") = None;
                Arc::new(Collection::new(vec![up_family(false).into()]))
            })
        }
        .boxed()
        .shared()
    }

    async fn collect(&self, timeout: Duration) -> Collection {
        let started = Instant::now();
        let deadline = started + timeout;
        let scrapes = self.scrapes.fetch_add(1, Ordering::Relaxed) + 1;
        let queries = self.current_queries();
        let probe = self.server_info(deadline).await;
        if let Some((server, _)) = &probe {
            warn_if_unsupported(server);
            self.warn_if_roles_missing(server);
        }

        let mut families: Vec<Part> = vec![up_family(probe.is_some()).into()];
        if let Some((server, _)) = &probe {
            let mut info = STATIC.family();
            info.push(vec![server.version.clone(), server.short_version()], 1.0);
            families.push(info.into());
            families.push(START_TIME.single(server.start_time_seconds).into());
            let mut granted = ROLE_GRANTED.family();
            for (role, has) in PREDEFINED_ROLES.iter().zip(&server.roles) {
                granted.push(vec![role.to_string()], f64::from(u8::from(*has)));
            }
            families.push(granted.into());
        }
        let (outcomes, database_success) = match &probe {
            Some((server, others)) => self.run_all(server, others, &queries, deadline).await,
            None => (
                self.collectors.iter().map(|_| Vec::new()).collect(),
                DATABASE_SUCCESS.family(),
            ),
        };

        let mut durations = COLLECTOR_DURATION.family();
        let mut successes = COLLECTOR_SUCCESS.family();
        let mut cache_ages = CACHE_AGE.family();
        let mut series = COLLECTOR_SERIES.family();
        let small = cardinality::small_tables(
            &self.options.tables,
            outcomes
                .iter()
                .flatten()
                .filter_map(|(_, o)| o.result.as_ref().ok())
                .flatten()
                .filter_map(Part::family),
        );
        let mut any_failed = probe.is_none();
        let mut status = Vec::with_capacity(self.collectors.len());
        for (collector, runs) in self.collectors.iter().zip(outcomes) {
            let name = collector.name();
            let seconds: f64 = runs.iter().map(|(_, o)| o.seconds).sum();
            durations.push(vec![name.to_string()], seconds);
            if let Some(age) = runs
                .iter()
                .filter_map(|(_, o)| o.cache_age)
                .max_by(f64::total_cmp)
            {
                cache_ages.push(vec![name.to_string()], age);
            }
            let mut error = probe.is_none().then(|| UNREACHABLE.to_string());
            let mut collected = Vec::with_capacity(runs.len());
            let mut final_series = None;
            for (database, outcome) in runs {
                let failure = match outcome.result {
                    Ok(parts) => {
                        final_series = outcome.series;
                        collected.push(parts);
                        continue;
                    }
                    Err(failure) => failure,
                };
                if error.is_none() {
                    error = Some(match database {
                        Some(datname) => format!("database {datname}: {failure}"),
                        None => failure.to_string(),
                    });
                }
                // A collector that failed in part still serves what it collected.
                if let plan::Failure::Collect(CollectError::Partial { families, .. }) = failure {
                    collected.push(families.into_iter().map(Part::from).collect());
                }
            }
            let count = self.put_together(name, collected, final_series, &small, &mut families);
            series.push(vec![name.to_string()], count as f64);
            any_failed |= error.is_some();
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
        // When the server is unreachable the pool has said so, once.
        if probe.is_some() {
            self.log_changes(&status);
        }
        *self.status.lock().expect("status lock") = status;

        let own = [durations, successes, database_success, cache_ages, series];
        families.extend(own.into_iter().map(Part::from));
        families.push(
            SCRAPE_DURATION
                .single(started.elapsed().as_secs_f64())
                .into(),
        );
        families.push(SCRAPES.single(scrapes as f64).into());
        families.push(
            SCRAPE_ERROR
                .single(if any_failed { 1.0 } else { 0.0 })
                .into(),
        );
        families.extend(
            files::families(&self.loaded.status())
                .into_iter()
                .map(Part::from),
        );
        families.extend(process::families().into_iter().map(Part::from));
        self.drop_duplicates(&mut families);
        crate::metrics::forget_unused_label_values();
        process::return_free_memory();
        Collection::new(families)
    }

    /// Logs a collector's failure when it starts or its reason changes, and its
    /// recovery, rather than the same line on every scrape.
    fn log_changes(&self, now: &[CollectorStatus]) {
        let before = self.status.lock().expect("status lock");
        for (old, new) in before.iter().zip(now) {
            // Coming back from an unreachable server is the pool's news, not the collector's.
            if old.error == new.error || old.error.as_deref() == Some(UNREACHABLE) {
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

/// A collector's status while the server does not answer.
const UNREACHABLE: &str = "PostgreSQL is not reachable";

/// The oldest PostgreSQL major the collectors are written and tested for.
const OLDEST_SUPPORTED_VERSION_NUM: i32 = 130000;

/// Says once that the server is older than supported: the collectors that
/// work still report, the others fail on their own without failing the scrape.
fn warn_if_unsupported(server: &ServerInfo) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if server.version_num < OLDEST_SUPPORTED_VERSION_NUM && !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            version = %server.short_version(),
            "PostgreSQL is older than 13, the oldest supported major: collectors that do not work on it report pg_scrape_collector_success 0"
        );
    }
}

fn up_family(up: bool) -> Family {
    UP.single(if up { 1.0 } else { 0.0 })
}

#[cfg(test)]
mod tests;
