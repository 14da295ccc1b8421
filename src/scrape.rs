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
//! every other database the server lists (see [`crate::databases`]), their
//! series told apart by `datname`, and each database's outcome is reported.
//! The collection itself runs in its own task, so a scraper that hangs up does
//! not cut a query off half-way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::StreamExt;
use tokio::time::Instant;

use crate::collectors::{CollectError, Collector, Context, Options, Scope};
use crate::db::{error_chain, is_connection_error, Pool, ServerInfo};
use crate::metrics::{encode, Desc, Family, Format};

/// Subtracted from Prometheus' scrape timeout so that the answer still
/// arrives in time after encoding and transfer.
const SCRAPE_TIMEOUT_MARGIN: Duration = Duration::from_millis(500);
/// The shortest deadline a scrape is given, whatever the header says.
const MIN_DEADLINE: Duration = Duration::from_millis(100);

static UP: Desc = Desc::gauge(
    "pg_up",
    &[],
    "Whether the last scrape could query PostgreSQL (1) or not (0).",
);
static STATIC: Desc = Desc::gauge(
    "pg_static",
    &["version", "short_version"],
    "Version string as reported by PostgreSQL; the value is always 1.",
);
static START_TIME: Desc = Desc::gauge(
    "pg_postmaster_start_time_seconds",
    &[],
    "Time at which the PostgreSQL server started, Unix seconds.",
);
static COLLECTOR_DURATION: Desc = Desc::gauge(
    "pg_scrape_collector_duration_seconds",
    &["collector"],
    "How long the collector took in this scrape, in seconds.",
);
static COLLECTOR_SUCCESS: Desc = Desc::gauge(
    "pg_scrape_collector_success",
    &["collector"],
    "Whether the collector succeeded in this scrape (1) or failed or ran out of time (0).",
);
static DATABASE_SUCCESS: Desc = Desc::gauge(
    "pg_scrape_database_success",
    &["datname"],
    "Whether every per-database collector succeeded in this database in this scrape (1) or not (0).",
);
static CACHE_AGE: Desc = Desc::gauge(
    "pg_scrape_collector_cache_age_seconds",
    &["collector"],
    "For a collector with a minimum interval, the age of the result served, in seconds (0 when collected in this scrape).",
);
static SCRAPE_DURATION: Desc = Desc::gauge(
    "pg_exporter_last_scrape_duration_seconds",
    &[],
    "Duration of this scrape's collection, in seconds.",
);
static SCRAPES: Desc = Desc::counter(
    "pg_exporter_scrapes",
    &[],
    "Collections run since the exporter started (concurrent requests share one).",
);
static SCRAPE_ERROR: Desc = Desc::gauge(
    "pg_exporter_last_scrape_error",
    &[],
    "Whether this scrape had an error: PostgreSQL unreachable or a collector failed (1), or not (0).",
);

/// Every family the exporter can produce, with the collector that makes it
/// (`exporter` for the engine's own), in output order.
pub fn catalogue() -> Vec<(&'static str, &'static Desc)> {
    let server = [&UP, &STATIC, &START_TIME];
    let scrape = [
        &COLLECTOR_DURATION,
        &COLLECTOR_SUCCESS,
        &DATABASE_SUCCESS,
        &CACHE_AGE,
        &SCRAPE_DURATION,
        &SCRAPES,
        &SCRAPE_ERROR,
    ];
    let mut all: Vec<(&'static str, &'static Desc)> =
        server.into_iter().map(|desc| ("exporter", desc)).collect();
    for collector in crate::collectors::COLLECTORS {
        all.extend(
            collector
                .metrics()
                .into_iter()
                .map(|desc| (collector.name(), desc)),
        );
    }
    all.extend(
        scrape
            .into_iter()
            .chain(crate::process::metrics())
            .map(|desc| ("exporter", desc)),
    );
    all
}

/// The catalogue as text, one family a line: exposed name, type, labels
/// (comma-separated, `-` for none), collector, help.
pub fn catalogue_text() -> String {
    let mut text = String::new();
    for (collector, desc) in catalogue() {
        let kind = match desc.kind {
            crate::metrics::Kind::Gauge => "gauge",
            crate::metrics::Kind::Counter => "counter",
        };
        let labels = if desc.labels.is_empty() {
            "-".to_string()
        } else {
            desc.labels.join(",")
        };
        text.push_str(&format!(
            "{}\t{kind}\t{labels}\t{collector}\t{}\n",
            desc.exposed_name(),
            desc.help
        ));
    }
    text
}

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
    pub families: Arc<Vec<Family>>,
    /// The exposition in each format, encoded once, on the first request
    /// that asks for it: a hundred scrapers sharing a collection share the text.
    encoded: [OnceLock<Bytes>; 2],
}

impl Collection {
    fn new(families: Vec<Family>) -> Collection {
        Collection {
            families: Arc::new(families),
            encoded: Default::default(),
        }
    }

    /// The collection as exposition text in `format`.
    pub fn text(&self, format: Format) -> Bytes {
        let slot = match format {
            Format::PrometheusText => &self.encoded[0],
            Format::OpenMetrics => &self.encoded[1],
        };
        slot.get_or_init(|| Bytes::from(encode(Arc::clone(&self.families), format)))
            .clone()
    }
}

type InFlight = Shared<BoxFuture<'static, Arc<Collection>>>;

/// Runs collections; one per process.
pub struct Scraper {
    pool: Arc<Pool>,
    collectors: Vec<&'static dyn Collector>,
    /// Replaced whole on a configuration reload; a collection keeps the one it started with.
    options: std::sync::RwLock<Arc<Options>>,
    timeout: Duration,
    in_flight: Mutex<Option<InFlight>>,
    scrapes: AtomicU64,
    status: Mutex<Vec<CollectorStatus>>,
    /// The last result of each collector that has a minimum interval in each
    /// database, and when it was collected.
    cache: Mutex<std::collections::HashMap<(&'static str, String), (Instant, Vec<Family>)>>,
    /// Family names already reported as produced twice.
    warned_duplicates: Mutex<std::collections::HashSet<String>>,
    /// Family names already reported as repeating a series across databases.
    warned_repeats: Mutex<std::collections::HashSet<String>>,
    /// Whether listing the databases failed last time (to log changes only).
    discovery_failed: std::sync::atomic::AtomicBool,
}

/// What one collector contributed to a scrape in one database.
struct Outcome {
    seconds: f64,
    result: Result<Vec<Family>, Failure>,
    /// Age of a cached result, for collectors with a minimum interval.
    cache_age: Option<f64>,
}

/// One collector to run in one database.
struct Run {
    collector: usize,
    ctx: Context,
}

impl Run {
    /// The database to open a session to: `None` for the DSN's.
    fn database(&self) -> Option<&str> {
        (!self.ctx.server_wide).then_some(self.ctx.datname.as_str())
    }
}

enum Failure {
    Connect(crate::db::ConnectError),
    Collect(CollectError),
    Timeout,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(err) => f.write_str(&error_chain(err)),
            Failure::Collect(err) => f.write_str(&error_chain(err)),
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
            options: std::sync::RwLock::new(Arc::new(options)),
            timeout,
            in_flight: Mutex::new(None),
            scrapes: AtomicU64::new(0),
            status: Mutex::new(status),
            cache: Mutex::new(std::collections::HashMap::new()),
            warned_duplicates: Mutex::new(std::collections::HashSet::new()),
            warned_repeats: Mutex::new(std::collections::HashSet::new()),
            discovery_failed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The collectors' settings now.
    pub fn options(&self) -> Arc<Options> {
        Arc::clone(&self.options.read().expect("options lock"))
    }

    /// Replaces the collectors' settings (a configuration reload); collections
    /// in flight finish with the settings they started with.
    pub fn set_options(&self, options: Options) {
        *self.options.write().expect("options lock") = Arc::new(options);
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
                            Arc::new(Collection::new(vec![up_family(false)]))
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
        let options = self.options();
        let probe = self.server_info(&options, deadline).await;
        if let Some((server, _)) = &probe {
            warn_if_unsupported(server);
        }

        let mut families = vec![up_family(probe.is_some())];
        if let Some((server, _)) = &probe {
            let mut info = STATIC.family();
            info.push(vec![server.version.clone(), server.short_version()], 1.0);
            families.push(info);
            families.push(START_TIME.single(server.start_time_seconds));
        }
        let (outcomes, database_success) = match &probe {
            Some((server, others)) => self.run_all(server, others, &options, deadline).await,
            None => (
                self.collectors.iter().map(|_| Vec::new()).collect(),
                DATABASE_SUCCESS.family(),
            ),
        };

        let mut durations = COLLECTOR_DURATION.family();
        let mut successes = COLLECTOR_SUCCESS.family();
        let mut cache_ages = CACHE_AGE.family();
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
            for (database, outcome) in runs {
                match outcome.result {
                    Ok(part) => collected.push(part),
                    Err(failure) if error.is_none() => {
                        error = Some(match database {
                            Some(datname) => format!("database {datname}: {failure}"),
                            None => failure.to_string(),
                        })
                    }
                    Err(_) => {}
                }
            }
            families.extend(self.merge_databases(collected));
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

        families.push(durations);
        families.push(successes);
        families.push(database_success);
        families.push(cache_ages);
        families.push(SCRAPE_DURATION.single(started.elapsed().as_secs_f64()));
        families.push(SCRAPES.single(scrapes as f64));
        families.push(SCRAPE_ERROR.single(if any_failed { 1.0 } else { 0.0 }));
        families.extend(crate::process::families());
        self.drop_duplicates(&mut families);
        Collection::new(families)
    }

    /// Runs every collector where it belongs; returns each collector's
    /// outcomes with their database (`None`: the DSN's), and
    /// `pg_scrape_database_success`.
    async fn run_all(
        &self,
        server: &ServerInfo,
        others: &[String],
        options: &Arc<Options>,
        deadline: Instant,
    ) -> (Vec<Vec<(Option<String>, Outcome)>>, Family) {
        self.forget_other_databases(&server.datname, others, options);
        let lanes = self.plan(server, others, options);
        // As many lanes at once as there are sessions, so that a lane gets its
        // session back for its next collector rather than queueing behind others.
        let running: Vec<BoxFuture<'_, (usize, Vec<Outcome>)>> = lanes
            .iter()
            .enumerate()
            .map(|(at, lane)| {
                async move {
                    let mut outcomes = Vec::with_capacity(lane.len());
                    for run in lane {
                        outcomes.push(self.run_or_reuse(run, deadline).await);
                    }
                    (at, outcomes)
                }
                .boxed()
            })
            .collect();
        let mut done: Vec<(usize, Vec<Outcome>)> = futures::stream::iter(running)
            .buffer_unordered(self.pool.max_connections())
            .collect()
            .await;
        self.pool.close_other_databases();
        done.sort_by_key(|(at, _)| *at);
        let results: Vec<(Run, Outcome)> = lanes
            .into_iter()
            .flatten()
            .zip(done.into_iter().flat_map(|(_, outcomes)| outcomes))
            .collect();
        // Dropped since it was listed: gone, not failed, and nothing of it is
        // served (not even a cached result).
        let gone: std::collections::HashSet<String> = results
            .iter()
            .filter(|(_, outcome)| matches!(&outcome.result, Err(Failure::Connect(e)) if e.database_missing()))
            .filter_map(|(run, _)| run.database().map(str::to_string))
            .collect();
        if !gone.is_empty() {
            self.cache
                .lock()
                .expect("cache lock")
                .retain(|(_, datname), _| !gone.contains(datname));
        }
        // Per database, in the order scraped: did its per-database collectors succeed?
        let mut per_database: Vec<(String, bool)> = Vec::new();
        let mut by_collector: Vec<Vec<(Option<String>, Outcome)>> =
            self.collectors.iter().map(|_| Vec::new()).collect();
        for (run, outcome) in results {
            if run.database().is_some_and(|d| gone.contains(d)) {
                continue;
            }
            if self.collectors[run.collector].scope() != Scope::Server {
                let ok = outcome.result.is_ok();
                match per_database
                    .iter_mut()
                    .find(|(name, _)| *name == run.ctx.datname)
                {
                    Some((_, all_ok)) => *all_ok &= ok,
                    None => per_database.push((run.ctx.datname.clone(), ok)),
                }
            }
            by_collector[run.collector].push((run.database().map(str::to_string), outcome));
        }
        let mut database_success = DATABASE_SUCCESS.family();
        for (datname, ok) in per_database {
            database_success.push(vec![datname], if ok { 1.0 } else { 0.0 });
        }
        (by_collector, database_success)
    }

    /// The runs in lanes: each collector in the DSN's database alone (they run
    /// side by side), then per other database its per-database collectors
    /// together (they run one after another, on one session).
    fn plan(
        &self,
        server: &ServerInfo,
        others: &[String],
        options: &Arc<Options>,
    ) -> Vec<Vec<Run>> {
        let mut lanes: Vec<Vec<Run>> = (0..self.collectors.len())
            .map(|collector| {
                vec![Run {
                    collector,
                    ctx: Context::new(server.clone(), Arc::clone(options)),
                }]
            })
            .collect();
        let per_database: Vec<usize> = (0..self.collectors.len())
            .filter(|&collector| self.collectors[collector].scope() != Scope::Server)
            .collect();
        if per_database.is_empty() {
            return lanes;
        }
        for datname in others {
            lanes.push(
                per_database
                    .iter()
                    .map(|&collector| Run {
                        collector,
                        ctx: Context {
                            server: server.clone(),
                            options: Arc::clone(options),
                            datname: datname.clone(),
                            server_wide: false,
                        },
                    })
                    .collect(),
            );
        }
        lanes
    }

    /// Drops what is kept for databases no longer scraped (dropped, or no
    /// longer wanted): cached results and connection history.
    fn forget_other_databases(&self, own: &str, others: &[String], options: &Options) {
        let scraped = |datname: &str| datname == own || others.iter().any(|d| d == datname);
        self.cache
            .lock()
            .expect("cache lock")
            .retain(|(_, datname), _| scraped(datname));
        options
            .custom_cache
            .lock()
            .expect("cache lock")
            .retain(|(datname, _), _| scraped(datname));
        self.pool
            .retain_databases(|datname| others.iter().any(|d| d == datname));
    }

    /// One collector's families from each database it ran in, merged by
    /// name. Series repeated across databases (a custom query without a
    /// `datname` label, say) would make the exposition invalid: the first is
    /// kept and the family named in the log, once.
    fn merge_databases(&self, parts: Vec<Vec<Family>>) -> Vec<Family> {
        let mut parts = parts.into_iter();
        let Some(mut merged) = parts.next() else {
            return Vec::new();
        };
        let mut extended = std::collections::HashSet::new();
        for part in parts {
            for family in part {
                match merged.iter_mut().position(|f| f.name == family.name) {
                    Some(at) => {
                        if !family.samples.is_empty() {
                            extended.insert(at);
                        }
                        merged[at].samples.extend(family.samples);
                    }
                    None => merged.push(family),
                }
            }
        }
        for at in extended {
            let family = &mut merged[at];
            let mut seen = std::collections::HashSet::with_capacity(family.samples.len());
            let before = family.samples.len();
            family
                .samples
                .retain(|sample| seen.insert(Arc::clone(&sample.values)));
            if family.samples.len() < before
                && self
                    .warned_repeats
                    .lock()
                    .expect("warned lock")
                    .insert(family.name.to_string())
            {
                tracing::warn!(family = %family.name, "the same series came from more than one database; only the first is exported (give the query a datname label: current_database() AS datname)");
            }
        }
        merged
    }

    /// Keeps the first family of each name: a custom query named like a
    /// built-in family would otherwise make the exposition invalid. Each
    /// dropped name is logged once.
    fn drop_duplicates(&self, families: &mut Vec<Family>) {
        let mut seen = std::collections::HashSet::new();
        let mut dropped = Vec::new();
        families.retain(|family| {
            if family.samples.is_empty() || seen.insert(family.name.clone()) {
                return true;
            }
            dropped.push(family.name.to_string());
            false
        });
        let mut warned = self.warned_duplicates.lock().expect("warned lock");
        for name in dropped {
            if warned.insert(name.clone()) {
                tracing::warn!(family = %name, "two collectors produce this family; only the first is exported (rename the custom query)");
            }
        }
    }

    /// Reads the server's identity and, with `--auto-discover-databases`, the
    /// other databases to scrape; a broken idle session (a restarted server,
    /// a terminated backend) is replaced once within the same scrape.
    async fn server_info(
        &self,
        options: &Options,
        deadline: Instant,
    ) -> Option<(ServerInfo, Vec<String>)> {
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
                    let (others, reusable) = match &options.discovery {
                        Some(discovery) => self.discover(&mut conn, discovery, deadline).await,
                        None => (Vec::new(), true),
                    };
                    if reusable {
                        conn.reusable();
                    }
                    return Some((info, others));
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

    /// The other databases to scrape, and whether the session may be
    /// reused. When they cannot be listed, the scrape goes on with the DSN's
    /// database alone and the log says so.
    async fn discover(
        &self,
        conn: &mut crate::db::PooledConn<'_>,
        discovery: &crate::databases::Discovery,
        deadline: Instant,
    ) -> (Vec<String>, bool) {
        let (listed, reusable) =
            match tokio::time::timeout_at(deadline, conn.query(crate::databases::SQL, &[])).await {
                Err(_) => (Err("scrape deadline reached".to_string()), false),
                Ok(Err(err)) => (Err(error_chain(&err)), !is_connection_error(&err)),
                Ok(Ok(rows)) => (
                    rows.iter()
                        .map(|row| row.try_get::<_, String>("datname"))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|err| error_chain(&err)),
                    true,
                ),
            };
        let failed_before = self
            .discovery_failed
            .swap(listed.is_err(), Ordering::Relaxed);
        let wanted = match listed {
            Ok(names) => {
                if failed_before {
                    tracing::info!("listing the databases works again");
                }
                names.into_iter().filter(|n| discovery.wants(n)).collect()
            }
            Err(error) => {
                if !failed_before {
                    tracing::warn!(%error, "cannot list the databases; scraping the DSN's database only");
                }
                Vec::new()
            }
        };
        (wanted, reusable)
    }

    /// Runs the collector, or serves its last result while its minimum
    /// interval has not passed.
    async fn run_or_reuse(&self, run: &Run, deadline: Instant) -> Outcome {
        let collector = self.collectors[run.collector];
        let ctx = &run.ctx;
        let database = run.database();
        let name = collector.name();
        let interval = ctx
            .options
            .min_intervals
            .get(name)
            .copied()
            .unwrap_or_default();
        if interval.is_zero() {
            let (seconds, result) = self.run_collector(collector, ctx, database, deadline).await;
            return Outcome {
                seconds,
                result,
                cache_age: None,
            };
        }
        let key = (name, ctx.datname.clone());
        let cached = {
            let cache = self.cache.lock().expect("cache lock");
            cache
                .get(&key)
                .filter(|(at, _)| at.elapsed() < interval)
                .map(|(at, f)| (at.elapsed(), f.clone()))
        };
        if let Some((age, families)) = cached {
            return Outcome {
                seconds: 0.0,
                result: Ok(families),
                cache_age: Some(age.as_secs_f64()),
            };
        }
        let (seconds, result) = self.run_collector(collector, ctx, database, deadline).await;
        if let Ok(families) = &result {
            self.cache
                .lock()
                .expect("cache lock")
                .insert(key, (Instant::now(), families.clone()));
        }
        Outcome {
            seconds,
            result,
            cache_age: Some(0.0),
        }
    }

    async fn run_collector(
        &self,
        collector: &dyn Collector,
        ctx: &Context,
        database: Option<&str>,
        deadline: Instant,
    ) -> (f64, Result<Vec<Family>, Failure>) {
        // The duration is the collector's own: it starts once a session is
        // free, so waiting for another collector's session is not counted.
        let started = std::sync::Mutex::new(Instant::now());
        let run = async {
            let mut conn = self
                .pool
                .acquire_in(deadline, database)
                .await
                .map_err(Failure::Connect)?;
            *started.lock().expect("timer lock") = Instant::now();
            match collector.collect(&mut conn, ctx).await {
                Ok(families) => {
                    conn.reusable();
                    Ok(families)
                }
                Err(err) => {
                    match &err {
                        CollectError::Query(query) if is_connection_error(query) => {
                            self.pool.mark_broken(query)
                        }
                        // Its query may still run: the session is cancelled and closed.
                        CollectError::Timeout(_) => {}
                        _ => conn.reusable(),
                    }
                    Err(Failure::Collect(err))
                }
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::Timeout),
        };
        let started = *started.lock().expect("timer lock");
        (started.elapsed().as_secs_f64(), outcome)
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
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique_and_all_documented_in_docs_metrics_md() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut expected_rows = std::collections::HashSet::new();
        for line in catalogue_text().lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let (name, kind, labels) = (fields[0], fields[1], fields[2]);
            assert!(
                seen.insert(name.to_string()),
                "{name} twice in the catalogue"
            );
            // `<query>_<column>`: the custom queries' families, named by their files.
            assert!(
                name.starts_with("pg_")
                    || name.starts_with("process_")
                    || name == "<query>_<column>",
                "{name}"
            );
            let labels = if labels == "-" {
                "-".to_string()
            } else {
                format!("`{labels}`")
            };
            expected_rows.insert(format!("| `{name}` | {kind} | {labels} |"));
        }
        let documented: std::collections::HashSet<String> = docs
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.splitn(5, " |").take(3).collect::<Vec<_>>().join(" |") + " |")
            .collect();
        let missing: Vec<_> = expected_rows.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&expected_rows).collect();
        assert!(
            missing.is_empty(),
            "not in docs/metrics.md (or with other type/labels): {missing:#?}"
        );
        assert!(
            stale.is_empty(),
            "in docs/metrics.md but not produced: {stale:#?}"
        );
    }

    #[test]
    fn prometheus_timeout_header_shortens_the_deadline() {
        let pool = Pool::new(
            "host=localhost".parse().unwrap(),
            None,
            1,
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        let scraper = Scraper::new(
            Arc::new(pool),
            Vec::new(),
            Options::default(),
            Duration::from_secs(10),
        );
        assert_eq!(scraper.timeout_for(None), Duration::from_secs(10));
        assert_eq!(scraper.timeout_for(Some("4")), Duration::from_millis(3500));
        assert_eq!(scraper.timeout_for(Some("30")), Duration::from_secs(10));
        assert_eq!(scraper.timeout_for(Some("0.2")), MIN_DEADLINE);
        for junk in ["", "abc", "-1", "NaN", "inf"] {
            assert_eq!(
                scraper.timeout_for(Some(junk)),
                Duration::from_secs(10),
                "{junk}"
            );
        }
    }
}
