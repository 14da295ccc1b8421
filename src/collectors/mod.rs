//! The collectors: one file each, SQL beside it in `queries/`.
//!
//! A collector reads one area of PostgreSQL's statistics and returns plain
//! [`Family`] values; it never encodes, never opens connections and never
//! decides about deadlines (that is [`crate::scrape`]'s job). [`COLLECTORS`] is
//! the explicit registry: it also makes the `--collector.<name>` flags.

use futures::future::BoxFuture;
use tokio_postgres::Row;

use crate::db::{Conn, ServerInfo};
use crate::metrics::{Desc, Family};
use crate::scrape::cache::Caches;

pub mod autovacuum;
pub mod backup;
pub mod bloat;
pub mod custom_queries;
pub mod health;
pub mod locks;
pub mod partitions;
pub mod replication;
pub mod settings;
pub mod sizes;
pub mod stat_activity;
pub mod stat_archiver;
pub mod stat_bgwriter;
pub mod stat_database;
pub mod stat_statements;
pub mod stat_user_indexes;
pub mod stat_user_tables;

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
}

/// Every collector the exporter has, in the order their families are written.
pub static COLLECTORS: &[&dyn Collector] = &[
    &stat_user_tables::StatUserTables,
    &stat_activity::StatActivity,
    &locks::Locks,
    &stat_statements::StatStatements,
    &autovacuum::Autovacuum,
    &settings::Settings,
    &sizes::Sizes,
    &stat_user_indexes::StatUserIndexes,
    &partitions::Partitions,
    &stat_archiver::StatArchiver,
    &stat_database::StatDatabase,
    &stat_bgwriter::StatBgwriter,
    &replication::Replication,
    &health::Health,
    &bloat::Bloat,
    &custom_queries::CustomQueries,
    &backup::Backup,
];

/// Settings of individual collectors, from their `--collector.<name>.<setting>` flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// stat_activity: count non-idle queries running longer than each of these (seconds).
    pub long_running_thresholds: Vec<f64>,
    /// stat_statements: how many statements (top by total execution time).
    pub stat_statements_limit: i64,
    /// stat_statements: longest text in `pg_stat_statements_query_id`; 0 = no texts.
    pub stat_statements_query_length: usize,
    /// health: dead-tuple ratio above which a table needs VACUUM.
    pub dead_ratio: f64,
    /// backup: globs of backup files.
    pub backup_paths: Vec<String>,
    /// bloat: how bloat is measured.
    pub bloat_method: bloat::Method,
    /// bloat: smallest relation reported, in bytes.
    pub bloat_min_size: f64,
    /// bloat: how many of the largest relations pgstattuple reads.
    pub bloat_pgstattuple_limit: i64,
    /// Least time between two runs of a collector (absent or zero: every
    /// scrape); the last result is served in between.
    pub min_intervals: std::collections::BTreeMap<&'static str, std::time::Duration>,
    /// custom_queries: the queries of the `--extend.query-path` files, then
    /// the configuration file's.
    pub custom_queries: std::sync::Arc<Vec<custom_queries::CustomQuery>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            long_running_thresholds: vec![5.0, 60.0, 300.0],
            stat_statements_limit: 100,
            stat_statements_query_length: QUERY_LABEL_CHARS,
            dead_ratio: 0.2,
            backup_paths: Vec::new(),
            bloat_method: bloat::Method::Estimate,
            bloat_min_size: 10_485_760.0,
            bloat_pgstattuple_limit: 20,
            min_intervals: COLLECTORS
                .iter()
                .map(|c| (c.name(), c.default_min_interval()))
                .filter(|(_, interval)| !interval.is_zero())
                .collect(),
            custom_queries: Default::default(),
        }
    }
}

/// What a collector may know about the scrape it runs in.
#[derive(Debug, Clone)]
pub struct Context {
    pub server: ServerInfo,
    pub options: std::sync::Arc<Options>,
    /// The engine's memory between collections (cached query results,
    /// statement texts): it belongs to the engine, not to the configuration.
    pub caches: std::sync::Arc<Caches>,
    /// The database the session is connected to.
    pub datname: String,
    /// Whether this is the session to the DSN's database, where server-wide
    /// statistics are read; false in the other databases found by
    /// `--auto-discover-databases`.
    pub server_wide: bool,
}

impl Context {
    /// The context of the session to the DSN's database.
    pub fn new(
        server: ServerInfo,
        options: std::sync::Arc<Options>,
        caches: std::sync::Arc<Caches>,
    ) -> Context {
        Context {
            datname: server.datname.clone(),
            server,
            options,
            caches,
            server_wide: true,
        }
    }
}

/// Maps one numeric result column to a metric family.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name in the query (aliased and cast to `float8` in the SQL).
    pub column: &'static str,
    pub desc: Desc,
}

impl Column {
    pub const fn new(column: &'static str, desc: Desc) -> Column {
        Column { column, desc }
    }
}

/// The descriptions of `columns`, for [`Collector::metrics`].
pub fn descs(columns: &'static [Column]) -> impl Iterator<Item = &'static Desc> {
    columns.iter().map(|c| &c.desc)
}

/// Turns rows into one family per [`Column`]: the label columns (`text`,
/// named as the columns' labels, which all columns share) give the labels,
/// each numeric column (`float8`) a family. A NULL value means "no sample", a
/// column missing from the query (a version variant without it) means no
/// samples at all, and a NULL label value becomes the empty string.
pub fn families_from_rows(rows: &[Row], columns: &[Column]) -> Result<Vec<Family>, CollectError> {
    let labels = columns.first().map(|c| c.desc.labels).unwrap_or(&[]);
    debug_assert!(columns.iter().all(|c| c.desc.labels == labels));
    let mut families: Vec<Family> = columns.iter().map(|c| c.desc.family()).collect();
    for row in rows {
        let mut label_values = Vec::with_capacity(labels.len());
        for label in labels {
            label_values.push(
                row.try_get::<_, Option<String>>(*label)?
                    .unwrap_or_default(),
            );
        }
        let values: std::sync::Arc<[String]> = label_values.into();
        for (family, column) in families.iter_mut().zip(columns) {
            // A column that this server's query variant lacks gives no sample.
            if !row.columns().iter().any(|c| c.name() == column.column) {
                continue;
            }
            if let Some(value) = row.try_get::<_, Option<f64>>(column.column)? {
                family.push(std::sync::Arc::clone(&values), value);
            }
        }
    }
    Ok(families)
}

const EXTENSION_SQL: &str = include_str!("../../queries/extension.sql");

/// An extension installed in the exporter's database.
#[derive(Debug, Clone)]
pub struct Extension {
    /// `extversion`, e.g. `1.10`.
    pub version: String,
    /// The schema of its objects, quoted for SQL.
    pub schema: String,
}

impl Extension {
    /// The installed extension `name`, if any.
    pub async fn find(
        conn: &mut Conn,
        name: &str,
    ) -> Result<Option<Extension>, tokio_postgres::Error> {
        let rows = conn.query(EXTENSION_SQL, &[&name]).await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(Extension {
            version: row.try_get("version")?,
            schema: quote_ident(&row.try_get::<_, String>("schemaname")?),
        }))
    }

    /// `"1.10"` → `(1, 10)`.
    pub fn version(&self) -> Option<(u32, u32)> {
        let (major, minor) = self.version.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    }

    /// An SQL text with `{schema}` replaced by the extension's schema.
    pub fn sql(&self, template: &str) -> String {
        template.replace("{schema}", &self.schema)
    }
}

/// The identifier quoted for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Longest statement text kept in a `query` label.
pub const QUERY_LABEL_CHARS: usize = 100;

/// Labels of families that name one session, so that the on-call engineer
/// sees which pid to pass to `pg_cancel_backend()`.
pub const SESSION_LABELS: &[&str] = &["pid", "datname", "usename", "state", "query"];

/// Labels that name a table.
pub const TABLE_LABELS: &[&str] = &["datname", "schemaname", "relname"];

/// A family of `desc` (labelled with [`SESSION_LABELS`]) with one series per
/// session row: the row's `pid`, `datname`, `usename`, `state` and `query`
/// (shortened) columns as labels and its `value_column` as value.
pub fn session_family(
    desc: &Desc,
    rows: &[Row],
    value_column: &str,
) -> Result<Family, CollectError> {
    debug_assert_eq!(desc.labels, SESSION_LABELS);
    let mut family = desc.family();
    for row in rows {
        let query: String = row.try_get("query")?;
        family.push(
            vec![
                row.try_get("pid")?,
                row.try_get("datname")?,
                row.try_get("usename")?,
                row.try_get("state")?,
                collapse_query(&query, QUERY_LABEL_CHARS),
            ],
            row.try_get(value_column)?,
        );
    }
    Ok(family)
}

/// A statement text fit for a label: runs of whitespace (newlines included)
/// collapsed to one space, control characters dropped, cut at `max_chars`
/// characters.
pub fn collapse_query(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(max_chars.min(text.len()));
    let mut chars = 0;
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() {
            continue;
        }
        if pending_space {
            if chars + 1 >= max_chars {
                break;
            }
            out.push(' ');
            chars += 1;
            pending_space = false;
        }
        if chars >= max_chars {
            break;
        }
        out.push(c);
        chars += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn identifiers_and_extension_versions() {
        assert_eq!(quote_ident("public"), "\"public\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        let ext = |version: &str| Extension {
            version: version.into(),
            schema: quote_ident("x"),
        };
        assert_eq!(ext("1.10").version(), Some((1, 10)));
        assert!(ext("1.10").version() > ext("1.9").version());
        assert_eq!(ext("x").version(), None);
        assert_eq!(ext("1.8").sql("{schema}.f()"), "\"x\".f()");
    }

    #[test]
    fn query_text_is_collapsed_and_cut() {
        assert_eq!(
            collapse_query("  SELECT\n\t1,\r\n  2  ", 100),
            "SELECT 1, 2"
        );
        assert_eq!(collapse_query("SELECT \u{1}x", 100), "SELECT x");
        assert_eq!(collapse_query("abcdef", 3), "abc");
        assert_eq!(collapse_query("ab cdef", 3), "ab");
        assert_eq!(collapse_query("ünïcödé", 4), "ünïc");
        assert_eq!(
            collapse_query(&"x ".repeat(1_000_000), 100).chars().count(),
            99
        );
    }
}
