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
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::collectors::custom_queries::CustomQuery;
use crate::collectors::{Collector, Options, COLLECTORS};
use crate::config::file::Target;
use crate::config::{Discovery, FileConfig};
use crate::db::{Pool, SessionLimits};
use crate::scrape::Scraper;

/// A probe's engine (and its connections) is dropped after this long unused.
pub const IDLE_EVICTION: Duration = Duration::from_secs(600);

/// What every engine is made from, besides its target.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The collectors of `/metrics` and of a probe that names none.
    pub collectors: Vec<&'static dyn Collector>,
    /// As validated at startup; a reload replaces only the custom queries.
    pub options: Options,
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
            self.options.clone(),
            self.discovery.clone(),
            self.timeout,
        )
    }
}

/// The probe engines and the reloadable configuration.
pub struct Targets {
    settings: EngineSettings,
    state: RwLock<Arc<State>>,
    engines: Mutex<HashMap<String, (Arc<Scraper>, Instant)>>,
    /// The `/metrics` engine, whose custom queries a reload replaces.
    main: Arc<Scraper>,
}

/// What a reload replaces, as one value.
struct State {
    file: FileConfig,
    /// The flags' custom queries followed by the configuration file's.
    queries: Arc<Vec<CustomQuery>>,
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
    /// `settings.options` carries every custom query (the flags' and the
    /// file's), as `main` runs them.
    pub fn new(settings: EngineSettings, file: FileConfig, main: Arc<Scraper>) -> Targets {
        let state = State {
            file,
            queries: Arc::clone(&settings.options.custom_queries),
        };
        Targets {
            settings,
            state: RwLock::new(Arc::new(state)),
            engines: Mutex::new(HashMap::new()),
            main,
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
        let state = Arc::clone(&self.state.read().expect("state lock"));
        let Target { config, tls } = match auth_module {
            None => state
                .file
                .targets
                .get(target)
                .cloned()
                .ok_or_else(|| ProbeError::UnknownTarget(target.to_string()))?,
            Some(module) => state
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
        // The probe's queries are those of the last reload.
        let mut options = s.options.clone();
        options.custom_queries = Arc::clone(&state.queries);
        engine.reload(options);
        engines.insert(key, (Arc::clone(&engine), Instant::now()));
        Ok(engine)
    }

    /// Reads the configuration file and query files again; on success the new
    /// configuration serves the next scrapes, on failure nothing changes.
    pub fn reload(&self) -> Result<(), crate::config::ConfigError> {
        let s = &self.settings;
        let file = match &s.config_file {
            Some(path) => crate::config::file::load(path)?,
            None => FileConfig::default(),
        };
        let mut queries = Vec::new();
        for path in &s.query_paths {
            queries.extend(crate::config::queries::load(path)?);
        }
        queries.extend(file.queries.iter().cloned());
        let state = State {
            file,
            queries: Arc::new(queries),
        };
        let mut main_options = s.options.clone();
        main_options.custom_queries = Arc::clone(&state.queries);
        self.main.reload(main_options);
        tracing::info!(
            targets = state.file.targets.len(),
            queries = state.queries.len(),
            "configuration reloaded"
        );
        *self.state.write().expect("state lock") = Arc::new(state);
        self.engines.lock().expect("engines lock").clear();
        Ok(())
    }
}
