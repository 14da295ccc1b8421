//! Many servers from one exporter, and configuration reloads.
//!
//! `/probe?target=<name>` scrapes a server named in the configuration file
//! (`&collector=<name>`, repeatable, picks collectors); postgres_exporter's
//! form `/probe?target=host:port/db&auth_module=<name>` works too. Each
//! (target, collectors) pair gets its own scrape engine with its own bounded
//! pool, made on first use and dropped, connections and all, after
//! [`IDLE_EVICTION`] without a probe.
//!
//! A reload (SIGHUP or `POST /-/reload`) reads the configuration file and the
//! custom query files again. A broken file changes nothing and is logged;
//! scrapes in flight finish with the configuration they started with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::collectors::{Collector, Options, COLLECTORS};
use crate::config::file::Target;
use crate::config::{ConfigError, Discovery, Loaded, Reloadable};
use crate::db::{Pool, SessionLimits};
use crate::scrape::Scraper;

/// A probe's engine (and its connections) is dropped after this long unused.
pub const IDLE_EVICTION: Duration = Duration::from_secs(600);

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
    }
}

/// The probe engines, and the reload of the files every engine reads.
pub struct Targets {
    settings: EngineSettings,
    engines: Mutex<HashMap<String, (Arc<Scraper>, Instant)>>,
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
    pub fn new(settings: EngineSettings) -> Targets {
        Targets {
            settings,
            engines: Mutex::new(HashMap::new()),
        }
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
        let mut names: Vec<&str> = picked.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        let key = format!(
            "{target}\u{0}{}\u{0}{}",
            auth_module.unwrap_or(""),
            names.join(",")
        );
        let mut engines = self.engines.lock().expect("engines lock");
        engines.retain(|_, (_, used)| used.elapsed() < IDLE_EVICTION);
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
        let pool = Pool::new(config, tls, s.max_connections, s.limits);
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
