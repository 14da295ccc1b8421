//! Many servers from one exporter, and configuration reloads.
//!
//! `/probe?target=<name>` scrapes a server named in the configuration file
//! (`&collector=<name>`, repeatable, picks collectors); postgres_exporter's
//! form `/probe?target=host:port/db&auth_module=<name>` works too (for the
//! addresses the module's `targets:` allows). Each (target, collectors) pair
//! gets its own scrape engine, made on first use and dropped, connections and
//! all, after [`IDLE_EVICTION`] without a probe (checked on a timer), at most
//! [`MAX_ENGINES`] at once. The engines' pools to one server share one
//! [`Budget`] of `--max-connections` sessions with each other and with the
//! `/metrics` engine's when it reaches the same server, so no sequence of
//! requests makes the process open more sessions to a server than that.
//!
//! A reload (SIGHUP or `POST /-/reload`) reads the configuration file and the
//! custom query files again. A broken file changes nothing and is logged;
//! scrapes in flight finish with the configuration they started with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::collectors::{Collector, Options, COLLECTORS};
use crate::config::file::Target;
use crate::config::{ConfigError, Discovery, Loaded, Reloadable};
use crate::db::{server_of, Budget, Pool, SessionLimits};
use crate::scrape::Scraper;

/// A probe's engine (and its connections) is dropped after this long unused.
pub const IDLE_EVICTION: Duration = Duration::from_secs(120);
/// Most probe engines kept; the least recently used makes room.
pub const MAX_ENGINES: usize = 256;

/// What every engine is made from, besides its target.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The collectors of `/metrics` and of a probe that names none.
    pub collectors: Vec<&'static dyn Collector>,
    /// As validated at startup.
    pub options: Arc<Options>,
    /// The files as last loaded: probe targets and custom queries.
    pub loaded: Reloadable,
    pub discovery: Option<Discovery>,
    pub timeout: Duration,
    pub max_connections: usize,
    pub limits: SessionLimits,
    /// The files to read again on reload.
    pub config_file: Option<PathBuf>,
    pub query_paths: Vec<PathBuf>,
    /// `--constantLabels` for families compressed as collectors finish;
    /// `None` with OpenMetrics on, which is encoded from whole families.
    pub compress: Option<crate::metrics::ConstantLabels>,
}

impl EngineSettings {
    /// A scrape engine for `pool` running `collectors`.
    pub fn engine(&self, pool: Pool, collectors: Vec<&'static dyn Collector>) -> Scraper {
        Scraper::new(
            Arc::new(pool),
            collectors,
            Arc::clone(&self.options),
            self.loaded.clone(),
            self.discovery.clone(),
            self.timeout,
        )
        .compressing(self.compress.clone())
    }
}

/// The probe engines, and the reload of the files every engine reads.
pub struct Targets {
    settings: EngineSettings,
    engines: Mutex<HashMap<String, (Arc<Scraper>, Instant)>>,
    /// The session budget of each server reached, by [`server_of`].
    budgets: Mutex<HashMap<String, Weak<Budget>>>,
}

/// Why a probe cannot be served (each a bad request).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("unknown collector '{0}'")]
    UnknownCollector(String),
    #[error("target '{0}' is not in the configuration file (or give auth_module)")]
    UnknownTarget(String),
    #[error("auth_module '{0}' is not in the configuration file")]
    UnknownAuthModule(String),
    /// The address does not make a target with the auth module's settings.
    #[error("{0}")]
    BadTarget(String),
}

impl Targets {
    /// The probe engines of `settings`; their pools to `main`'s server share
    /// its budget.
    pub fn new(settings: EngineSettings, main: &Pool) -> Targets {
        let budgets = HashMap::from([(main.server().to_string(), Arc::downgrade(main.budget()))]);
        Targets {
            settings,
            engines: Mutex::new(HashMap::new()),
            budgets: Mutex::new(budgets),
        }
    }

    /// Drops the engines unused for [`IDLE_EVICTION`], closing their idle sessions.
    pub fn evict_idle(&self) {
        let evicted: HashMap<_, _> = {
            let mut engines = self.engines.lock().expect("engines lock");
            let (evicted, kept) = std::mem::take(&mut *engines)
                .into_iter()
                .partition(|(_, (_, used))| used.elapsed() >= IDLE_EVICTION);
            *engines = kept;
            evicted
        };
        drop(evicted);
        self.budgets
            .lock()
            .expect("budgets lock")
            .retain(|_, budget| budget.strong_count() > 0);
    }

    /// The budget for pools to `server`, shared with the pools already there.
    fn budget(&self, server: &str) -> Arc<Budget> {
        let mut budgets = self.budgets.lock().expect("budgets lock");
        if let Some(budget) = budgets.get(server).and_then(Weak::upgrade) {
            return budget;
        }
        let budget = Budget::new(self.settings.max_connections);
        budgets.insert(server.to_string(), Arc::downgrade(&budget));
        budget
    }

    /// The engine for a probe, made on first use.
    pub fn engine(
        &self,
        target: &str,
        auth_module: Option<&str>,
        collectors: &[String],
    ) -> Result<Arc<Scraper>, ProbeError> {
        let picked: Vec<&'static dyn Collector> = if collectors.is_empty() {
            self.settings.collectors.clone()
        } else {
            collectors
                .iter()
                .map(|name| {
                    COLLECTORS
                        .iter()
                        .copied()
                        .find(|c| c.name() == name)
                        .ok_or_else(|| ProbeError::UnknownCollector(name.clone()))
                })
                .collect::<Result<_, _>>()?
        };
        let mut picked = picked;
        picked.sort_unstable_by_key(|c| c.name());
        picked.dedup_by_key(|c| c.name());
        let names: Vec<&str> = picked.iter().map(|c| c.name()).collect();
        let key = format!(
            "{target}\u{0}{}\u{0}{}",
            auth_module.unwrap_or(""),
            names.join(",")
        );
        let mut engines = self.engines.lock().expect("engines lock");
        if let Some((engine, used)) = engines.get_mut(&key) {
            *used = Instant::now();
            return Ok(Arc::clone(engine));
        }
        let loaded = self.settings.loaded.current();
        let Target { config, tls } = match auth_module {
            None => loaded
                .file
                .targets
                .get(target)
                .cloned()
                .ok_or_else(|| ProbeError::UnknownTarget(target.to_string()))?,
            Some(module) => loaded
                .file
                .auth_modules
                .get(module)
                .ok_or_else(|| ProbeError::UnknownAuthModule(module.to_string()))?
                .target(target)
                .map_err(ProbeError::BadTarget)?,
        };
        let s = &self.settings;
        let budget = self.budget(&server_of(&config));
        let pool = Pool::within(config, tls, budget, s.limits);
        if engines.len() >= MAX_ENGINES {
            let oldest = engines
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(key, _)| key.clone());
            oldest.map(|key| engines.remove(&key));
        }
        let engine = Arc::new(s.engine(pool, picked));
        engines.insert(key, (Arc::clone(&engine), Instant::now()));
        Ok(engine)
    }

    /// Reads the configuration file and query files again; on success the new
    /// files serve the next scrapes of every engine (one value swapped), on
    /// failure nothing changes. Probe engines are made afresh, since their
    /// targets may have changed.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let s = &self.settings;
        let loaded = match Loaded::read(s.config_file.as_deref(), &s.query_paths) {
            Ok(loaded) => loaded,
            Err(err) => {
                s.loaded.failed(&s.query_paths);
                return Err(err);
            }
        };
        tracing::info!(
            targets = loaded.file.targets.len(),
            queries = loaded.queries.len(),
            "configuration reloaded"
        );
        s.loaded.replace(loaded, &s.query_paths);
        self.engines.lock().expect("engines lock").clear();
        Ok(())
    }
}
