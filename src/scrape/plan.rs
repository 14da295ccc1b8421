//! How a collection runs: the plan (which collector in which database, in
//! lanes), each run under the scrape deadline with a session from the pool,
//! results served from the engine's cache while a minimum interval has not
//! passed, and the per-database outcome (`pg_scrape_database_success`).

use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use futures::StreamExt;
use tokio::time::Instant;

use super::catalogue::DATABASE_SUCCESS;
use super::Scraper;
use crate::collectors::cache::Key;
use crate::collectors::custom_queries::CustomQuery;
use crate::collectors::table_statistics::SharedRead;
use crate::collectors::{CollectError, Collector, Context, Scope};
use crate::db::{error_chain, is_connection_error, ServerInfo};
use crate::metrics::gzip::{compress, compressor};
use crate::metrics::{Family, Part};

/// What one collector contributed to a scrape in one database.
pub(super) struct Outcome {
    pub(super) seconds: f64,
    pub(super) result: Result<Vec<Part>, Failure>,
    /// Age of a cached result, for collectors with a minimum interval.
    pub(super) cache_age: Option<f64>,
    /// The series it exports, when its families are final already: limited
    /// and compressed as it finished (see [`Run::compress`]).
    pub(super) series: Option<usize>,
}

/// One collector to run in one database.
pub(super) struct Run {
    collector: usize,
    ctx: Context,
    /// Whether its families are final when it finishes, so that they are
    /// limited and compressed at once and their samples let go: the engine
    /// compresses, no table is kept out by size (which needs every
    /// collector's sizes), the collector runs in this database alone
    /// (nothing to merge), and it names its families as the catalogue does.
    compress: bool,
}

impl Run {
    /// The database to open a session to: `None` for the DSN's.
    fn database(&self) -> Option<&str> {
        (!self.ctx.server_wide).then_some(self.ctx.datname.as_str())
    }
}

pub(super) enum Failure {
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
    /// Runs every collector where it belongs; returns each collector's
    /// outcomes with their database (`None`: the DSN's), and
    /// `pg_scrape_database_success`.
    pub(super) async fn run_all(
        &self,
        server: &ServerInfo,
        others: &[String],
        queries: &Arc<Vec<CustomQuery>>,
        deadline: Instant,
    ) -> (Vec<Vec<(Option<String>, Outcome)>>, Family) {
        self.forget_other_databases(&server.datname, others);
        let lanes = self.plan(server, others, queries);
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
            self.caches
                .retain_databases(|datname| !gone.contains(datname));
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
        queries: &Arc<Vec<CustomQuery>>,
    ) -> Vec<Vec<Run>> {
        let alone = |collector: usize| {
            others.is_empty() || self.collectors[collector].scope() == Scope::Server
        };
        let compress = self.compressing.is_some() && self.options.tables.min_size <= 0.0;
        // Families named at run time stay whole: one that shares a name with
        // a built-in family is dropped (see merge.rs).
        let fixed = |collector: usize| self.collectors[collector].fixed_names();
        let mut lanes: Vec<Vec<Run>> = (0..self.collectors.len())
            .map(|collector| {
                vec![Run {
                    collector,
                    compress: compress && alone(collector) && fixed(collector),
                    ctx: Context::new(
                        server.clone(),
                        Arc::clone(&self.options),
                        Arc::clone(queries),
                        Arc::clone(&self.caches),
                    ),
                }]
            })
            .collect();
        // The collectors that share the per-table read run one after another
        // in one lane, started first: the first of them reads for all.
        self.share_table_statistics(lanes.iter_mut().flatten());
        let (shared, mut lanes): (Vec<Vec<Run>>, Vec<Vec<Run>>) = lanes
            .into_iter()
            .partition(|lane| lane.iter().any(|run| run.ctx.shared.is_some()));
        if !shared.is_empty() {
            lanes.insert(0, shared.into_iter().flatten().collect());
        }
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
                        compress: false,
                        ctx: Context {
                            server: server.clone(),
                            options: Arc::clone(&self.options),
                            queries: Arc::clone(queries),
                            caches: Arc::clone(&self.caches),
                            datname: datname.clone(),
                            server_wide: false,
                            shared: None,
                        },
                    })
                    .collect(),
            );
            let lane = lanes.last_mut().expect("just pushed");
            self.share_table_statistics(lane.iter_mut());
        }
        lanes
    }

    /// Gives the runs of one database whose collectors read per-table
    /// statistics one [`SharedRead`], when enough of them will run their
    /// query (not serve a result younger than their minimum interval) for it
    /// to pay ([`SharedRead::for_collectors`]).
    fn share_table_statistics<'a>(&self, runs: impl Iterator<Item = &'a mut Run>) {
        let members: Vec<&mut Run> = runs
            .filter(|run| {
                let name = self.collectors[run.collector].name();
                SharedRead::is_member(name) && !self.served_from_cache(name, &run.ctx)
            })
            .collect();
        let shared = SharedRead::for_collectors(
            members
                .iter()
                .map(|run| self.collectors[run.collector].name()),
        );
        for run in members {
            run.ctx.shared = shared.clone();
        }
    }

    /// Whether the collector will serve its cached result in this scrape.
    fn served_from_cache(&self, name: &'static str, ctx: &Context) -> bool {
        let interval = min_interval(name, ctx);
        !interval.is_zero()
            && self
                .caches
                .is_fresh(&Key::collector(name, &ctx.datname), interval)
    }

    /// Drops what is kept for databases no longer scraped (dropped, or no
    /// longer wanted): cached results and connection history.
    fn forget_other_databases(&self, own: &str, others: &[String]) {
        self.caches
            .retain_databases(|datname| datname == own || others.iter().any(|d| d == datname));
        self.pool
            .retain_databases(|datname| others.iter().any(|d| d == datname));
    }

    /// Runs the collector (or serves its last result), and when its families
    /// are final, limits and compresses them at once.
    async fn run_or_reuse(&self, run: &Run, deadline: Instant) -> Outcome {
        let (seconds, result, cache_age) = self.collect_or_reuse(run, deadline).await;
        let name = self.collectors[run.collector].name();
        match (result, &self.compressing) {
            (Ok(mut families), Some(constant)) if run.compress => {
                let series = self.limit_series(name, &Default::default(), &mut families);
                let constant = std::sync::Arc::clone(constant);
                let parts = tokio::task::spawn_blocking(move || {
                    let families: Vec<&Family> = families.iter().collect();
                    vec![Part::Compressed(compress(
                        &families,
                        &constant,
                        &mut compressor(),
                    ))]
                })
                .await
                .expect("compressing does not panic");
                Outcome {
                    seconds,
                    result: Ok(parts),
                    cache_age,
                    series: Some(series),
                }
            }
            (result, _) => Outcome {
                seconds,
                result: result.map(|families| families.into_iter().map(Part::from).collect()),
                cache_age,
                series: None,
            },
        }
    }

    /// Runs the collector, or serves its last result while its minimum
    /// interval has not passed: its duration, families and cache age.
    async fn collect_or_reuse(
        &self,
        run: &Run,
        deadline: Instant,
    ) -> (f64, Result<Vec<Family>, Failure>, Option<f64>) {
        let collector = self.collectors[run.collector];
        let ctx = &run.ctx;
        let database = run.database();
        let name = collector.name();
        let interval = min_interval(name, ctx);
        if interval.is_zero() {
            let (seconds, result) = self.run_collector(collector, ctx, database, deadline).await;
            return (seconds, result, None);
        }
        let key = Key::collector(name, &ctx.datname);
        if let Some((age, families)) = self.caches.fresh(&key, interval) {
            return (0.0, Ok(families), Some(age.as_secs_f64()));
        }
        let (seconds, result) = self.run_collector(collector, ctx, database, deadline).await;
        if let Ok(families) = &result {
            self.caches.store(key, families.clone());
        }
        (seconds, result, Some(0.0))
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
                            self.pool.log_broken(query)
                        }
                        // Its query may still run: the session is cancelled and closed.
                        CollectError::Timeout(_) | CollectError::SessionLost(_) => {}
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
}

/// The collector's minimum interval (zero: it runs on every scrape).
fn min_interval(name: &str, ctx: &Context) -> std::time::Duration {
    ctx.options
        .min_intervals
        .get(name)
        .copied()
        .unwrap_or_default()
}
