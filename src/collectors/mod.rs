//! The collectors: one file each, SQL beside it in `queries/`.
//!
//! A collector reads one area of PostgreSQL's statistics and returns plain
//! [`Family`] values; it never encodes, never opens connections and never
//! decides about deadlines (that is [`crate::scrape`]'s job). [`COLLECTORS`] is
//! the explicit registry: it also makes the `--collector.<name>` flags.

use futures::future::BoxFuture;

use crate::db::{Conn, ServerInfo};
use crate::metrics::{Desc, Family};

pub mod cache;
pub mod extension;
pub mod query;
pub mod relation_sizes;
pub mod rows;
pub mod statement_history;
pub mod statement_text;
pub mod table_statistics;
#[cfg(test)]
mod testing;

pub use cache::Caches;
pub use extension::{quote_ident, Extension};
pub use query::{Query, QueryCollector};
pub use rows::{
    descs, families_from_rows, session_family, Column, Columns, SessionDesc, QUERY_LABEL_CHARS,
    SESSION_LABELS, TABLE_LABELS,
};
pub use statement_text::{collapse_query, mask_statement};

pub mod autovacuum;
pub mod backup;
pub mod bloat;
pub mod buffercache_summary;
pub mod custom_queries;
pub mod database;
pub mod database_wraparound;
pub mod health;
pub mod locks;
pub mod log_causes;
pub mod log_files;
pub mod log_lines;
pub mod logs;
pub mod long_running_transactions;
pub mod partitions;
pub mod process_idle;
pub mod replication;
pub mod roles;
pub mod settings;
pub mod sizes;
pub mod stat_activity;
pub mod stat_activity_autovacuum;
pub mod stat_archiver;
pub mod stat_bgwriter;
pub mod stat_checkpointer;
pub mod stat_database;
pub mod stat_statements;
pub mod stat_user_indexes;
pub mod stat_user_tables;
pub mod stat_wal_receiver;
pub mod statio_user_indexes;
pub mod statio_user_tables;

/// One area of statistics, collected on every scrape while enabled.
pub trait Collector: Send + Sync + std::fmt::Debug {
    /// snake_case name, used in `--collector.<name>` and in the `collector` label.
    fn name(&self) -> &'static str;
    /// Whether it runs when no flag says otherwise.
    fn enabled_by_default(&self) -> bool {
        true
    }
    /// One line for `--help` and the landing page.
    fn description(&self) -> &'static str;
    /// The least time between two runs unless `--collector.<name>.min-interval`
    /// says otherwise; in between, the last result is served. Zero: every scrape.
    fn default_min_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    /// Which statistics it reads: the server's (run once, on the session to
    /// the DSN's database), a database's own (run again in every database
    /// `--auto-discover-databases` finds), or both.
    fn scope(&self) -> Scope {
        Scope::Server
    }
    /// Every family the collector can produce, for the catalogue and docs.
    fn metrics(&self) -> Vec<&'static Desc>;
    /// Whether the names of its families are those of [`Collector::metrics`]
    /// alone, which no other collector's share; false for a collector that
    /// makes names at run time (from settings or queries), whose families
    /// the scrape engine checks against the others' one by one.
    fn fixed_names(&self) -> bool {
        true
    }
    /// The queries whose rows map through column tables, with their tables:
    /// all of a [`QueryCollector`]'s, the plain part of a collector with code
    /// of its own. Tests prepare each on a real server of every supported
    /// major and check the columns' names and types against the tables.
    fn tables(&self) -> &'static [Query] {
        &[]
    }
    /// Runs the collector's queries on `conn` and returns its families.
    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>>;
}

/// What a collector's statistics belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Server-wide views (`pg_stat_activity`, `pg_stat_database`, ...): the
    /// same answer in every database, so read once.
    Server,
    /// The catalog and statistics of the database the session is connected
    /// to (`pg_stat_user_tables`, `pg_class`, ...).
    Database,
    /// Some of each: the server-wide part runs only when
    /// [`Context::server_wide`] is set.
    Both,
}

/// Why a collector produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// A query failed (the session may or may not be usable: see
    /// [`crate::db::is_connection_error`]).
    #[error(transparent)]
    Query(#[from] tokio_postgres::Error),
    /// The server lacks what the collector needs (too old a version, say).
    #[error("{0}")]
    Unsupported(String),
    /// A query ran over its own time limit; the session may still be busy.
    #[error("{0}")]
    Timeout(String),
    /// The session is in an unknown state (it could not be reset after SQL
    /// from a configuration file): it is closed, not reused.
    #[error("{0}")]
    SessionLost(String),
    /// Some of the collector's queries failed with an SQL error (the session
    /// is fine): the collector failed, but what the others collected is served.
    #[error("{error}")]
    Partial {
        families: Vec<Family>,
        error: String,
    },
}

/// Every collector the exporter has, in the order their families are written.
pub static COLLECTORS: &[&dyn Collector] = &[
    &stat_user_tables::COLLECTOR,
    &statio_user_tables::COLLECTOR,
    &stat_activity::StatActivity,
    &locks::Locks,
    &stat_statements::StatStatements,
    &autovacuum::Autovacuum,
    &settings::PgSettings,
    &database::Database,
    &sizes::Sizes,
    &stat_user_indexes::COLLECTOR,
    &partitions::COLLECTOR,
    &stat_archiver::COLLECTOR,
    &stat_database::COLLECTOR,
    &stat_bgwriter::COLLECTOR,
    &replication::COLLECTOR,
    &roles::COLLECTOR,
    &health::COLLECTOR,
    &bloat::Bloat,
    &custom_queries::CustomQueries,
    &backup::Backup,
    &buffercache_summary::BuffercacheSummary,
    &database_wraparound::COLLECTOR,
    &long_running_transactions::COLLECTOR,
    &stat_activity_autovacuum::COLLECTOR,
    &stat_checkpointer::COLLECTOR,
    &stat_wal_receiver::COLLECTOR,
    &statio_user_indexes::COLLECTOR,
    &process_idle::ProcessIdle,
    &logs::Logs,
];

/// Settings of individual collectors, from their `--collector.<name>.<setting>` flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// stat_activity: count non-idle queries running longer than each of these (seconds).
    pub long_running_thresholds: Vec<f64>,
    /// stat_statements: how many statements (top by total execution time).
    pub stat_statements_limit: i64,
    /// Longest statement text in a label (`pg_stat_statements_query_id`, the
    /// longest-query and blocker lists), in characters; 0 = no texts.
    pub query_text_length: usize,
    /// stat_statements: statements of these databases and users are left out.
    pub stat_statements_exclude_databases: Vec<String>,
    pub stat_statements_exclude_users: Vec<String>,
    /// custom_queries: most rows one query may return.
    pub custom_query_max_rows: usize,
    /// custom_queries: replaces the leading `pg` of query names
    /// (postgres_exporter's `--metric-prefix`).
    pub metric_prefix: String,
    /// health: dead-tuple ratio above which a table needs VACUUM.
    pub dead_ratio: f64,
    /// backup: globs of backup files.
    pub backup_paths: Vec<String>,
    /// logs: the server's log directory (absent: read through the session).
    pub logs_directory: Option<std::path::PathBuf>,
    /// logs: most bytes read in one scrape.
    pub logs_max_read_bytes: u64,
    /// stat_statements: statements added for their time since the last collection.
    pub stat_statements_recent_limit: usize,
    /// stat_statements: how long such a statement stays after it stops running.
    pub stat_statements_recent_hold: std::time::Duration,
    /// database: how long a measured database size is served.
    pub database_size_interval: std::time::Duration,
    /// database: the databases it leaves out (`--exclude-databases`, whole names).
    pub excluded_databases: Vec<regex::Regex>,
    /// bloat: how bloat is measured.
    pub bloat_method: bloat::Method,
    /// bloat: smallest relation reported, in bytes.
    pub bloat_min_size: f64,
    /// bloat: how many of the largest relations pgstattuple reads.
    pub bloat_pgstattuple_limit: i64,
    /// Least time between two runs of a collector (absent or zero: every
    /// scrape); the last result is served in between.
    pub min_intervals: std::collections::BTreeMap<&'static str, std::time::Duration>,
    /// Which tables get per-table and per-index series.
    pub tables: TableFilter,
    /// Most series a collector exports, by collector (absent: no limit).
    pub max_series: std::collections::BTreeMap<&'static str, usize>,
}

/// `--collector.tables.*`: the tables whose per-table, per-partition and
/// per-index series are exported. Patterns match `schemaname.relname` whole.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    pub include: Option<regex::Regex>,
    pub exclude: Option<regex::Regex>,
    /// Smallest total size (table, TOAST and indexes) of a table with series, in bytes.
    pub min_size: f64,
}

impl TableFilter {
    /// Whether every table is kept (the default): nothing to look at.
    pub fn keeps_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_none() && self.min_size <= 0.0
    }

    /// Whether the patterns keep `schema.relation`.
    pub fn keeps_name(&self, schema: &str, relation: &str) -> bool {
        if self.include.is_none() && self.exclude.is_none() {
            return true;
        }
        let name = format!("{schema}.{relation}");
        self.include.as_ref().is_none_or(|re| re.is_match(&name))
            && !self.exclude.as_ref().is_some_and(|re| re.is_match(&name))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            long_running_thresholds: vec![5.0, 60.0, 300.0],
            stat_statements_limit: 100,
            query_text_length: QUERY_LABEL_CHARS,
            stat_statements_exclude_databases: Vec::new(),
            stat_statements_exclude_users: Vec::new(),
            custom_query_max_rows: 10_000,
            metric_prefix: "pg".into(),
            dead_ratio: 0.2,
            backup_paths: Vec::new(),
            logs_directory: None,
            logs_max_read_bytes: 8 << 20,
            stat_statements_recent_limit: 20,
            stat_statements_recent_hold: std::time::Duration::from_secs(900),
            database_size_interval: std::time::Duration::from_secs(300),
            excluded_databases: Vec::new(),
            bloat_method: bloat::Method::Estimate,
            bloat_min_size: 10_485_760.0,
            bloat_pgstattuple_limit: 20,
            min_intervals: COLLECTORS
                .iter()
                .map(|c| (c.name(), c.default_min_interval()))
                .filter(|(_, interval)| !interval.is_zero())
                .collect(),
            tables: TableFilter::default(),
            max_series: std::collections::BTreeMap::new(),
        }
    }
}

/// What a collector may know about the scrape it runs in.
#[derive(Debug, Clone)]
pub struct Context {
    pub server: ServerInfo,
    pub options: std::sync::Arc<Options>,
    /// The custom queries as last loaded (`--extend.query-path` files, then
    /// the configuration file's): a reload replaces them, not the options.
    pub queries: std::sync::Arc<Vec<custom_queries::CustomQuery>>,
    /// The engine's memory between collections (cached query results,
    /// statement texts): it belongs to the engine, not to the configuration.
    pub caches: std::sync::Arc<Caches>,
    /// The database the session is connected to.
    pub datname: String,
    /// Whether this is the session to the DSN's database, where server-wide
    /// statistics are read; false in the other databases found by
    /// `--auto-discover-databases`.
    pub server_wide: bool,
    /// The per-table statistics read once for the collectors of this scrape
    /// and database that read them ([`table_statistics`]); `None`: each runs
    /// its own query.
    pub shared: Option<std::sync::Arc<table_statistics::SharedRead>>,
}

impl Context {
    /// The context of the session to the DSN's database.
    pub fn new(
        server: ServerInfo,
        options: std::sync::Arc<Options>,
        queries: std::sync::Arc<Vec<custom_queries::CustomQuery>>,
        caches: std::sync::Arc<Caches>,
    ) -> Context {
        Context {
            datname: server.datname.clone(),
            server,
            options,
            queries,
            caches,
            server_wide: true,
            shared: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_lists_every_collector_with_its_default() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        for collector in COLLECTORS {
            let default = if collector.enabled_by_default() {
                "on"
            } else {
                "off"
            };
            let row = format!("| `{}` | {default} |", collector.name());
            assert!(readme.contains(&row), "README.md lacks the row {row}");
        }
    }

    #[test]
    fn registry_names_are_unique_snake_case_and_documented() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        for collector in COLLECTORS {
            let name = collector.name();
            assert!(seen.insert(name), "collector {name} registered twice");
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "collector name {name} is not snake_case"
            );
            assert!(
                docs.contains(&format!("## `{name}`")),
                "collector {name} has no section in docs/metrics.md"
            );
        }
    }
}
