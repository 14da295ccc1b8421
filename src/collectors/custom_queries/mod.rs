//! `custom_queries`: the team's own SQL from `--extend.query-path` files (see
//! [`crate::config::queries`] for the format), each row turned into series named
//! after the query and column. A query runs only where it applies (server
//! version, database) and at most every `cache_seconds`;
//! it runs through the simple query protocol, so every column type arrives as
//! text and is read as a number, boolean, timestamp or interval. Without
//! files it does nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::BoxFuture;

use super::cache::Key;
use super::{CollectError, Collector, Context, Scope};
use crate::db::Conn;
use crate::metrics::{Desc, Family, Kind};

mod values;

pub use values::value;
use values::{histogram, warn_unreadable, Unreadable};

/// How a result column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Label,
    Gauge,
    Counter,
    Discard,
    MappedMetric,
    Duration,
    /// A histogram: the column holds the bucket bounds (an array), and the
    /// row's `<column>_bucket` (cumulative counts, an array), `<column>_sum`
    /// and `<column>_count` the rest, as postgres_exporter reads them.
    Histogram,
}

/// One column of a custom query.
#[derive(Debug, Clone)]
pub struct QueryColumn {
    pub name: String,
    pub usage: Usage,
    pub description: String,
    /// MAPPEDMETRIC: text value → number.
    pub mapping: BTreeMap<String, f64>,
}

/// One custom query, validated.
#[derive(Debug, Clone)]
pub struct CustomQuery {
    pub name: String,
    pub sql: String,
    /// Only in the DSN's database, not in the databases that
    /// `--auto-discover-databases` finds (postgres_exporter's `master`).
    pub master: bool,
    /// Run at most this often (postgres_exporter's `cache_seconds`).
    pub cache: Duration,
    /// Inclusive bounds on `server_version_num`.
    pub min_version: Option<i32>,
    pub max_version: Option<i32>,
    pub timeout: Option<Duration>,
    /// Run only in these databases (empty: any).
    pub databases: Vec<String>,
    pub columns: Vec<QueryColumn>,
    /// The LABEL columns' names, in order (interned for the process's
    /// lifetime by [`crate::metrics::label_names`], since families borrow
    /// label names statically: a reload of the same file adds nothing).
    pub labels: &'static [&'static str],
}

static CUSTOM: Desc = Desc::gauge(
    "<query>_<column>",
    &[],
    "A custom query's column (counters with _total, durations with _milliseconds, histograms with _bucket, _sum and _count); labels are its LABEL columns.",
);
static QUERY_SUCCESS: Desc = Desc::gauge(
    "pg_custom_query_success",
    &["datname", "query"],
    "Whether the custom query succeeded in this database in this scrape (1) or failed (0); a failing query loses only its own series.",
);

#[derive(Debug)]
pub struct CustomQueries;

impl Collector for CustomQueries {
    fn name(&self) -> &'static str {
        "custom_queries"
    }

    fn description(&self) -> &'static str {
        "Series from the queries of --extend.query-path files (postgres_exporter's queries.yaml format)"
    }

    fn scope(&self) -> Scope {
        Scope::Both
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&CUSTOM, &QUERY_SUCCESS]
    }

    fn fixed_names(&self) -> bool {
        false
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = Vec::new();
            let mut successes = QUERY_SUCCESS.family();
            let mut failures = Vec::new();
            for query in ctx.queries.iter().filter(|q| applies(q, ctx)) {
                let key = Key::query(self.name(), &ctx.datname, &query.name);
                let result = match ctx.caches.fresh(&key, query.cache) {
                    Some((_, families)) => Ok(families),
                    // A query's own failure (an SQL error, its own timeout,
                    // too many rows) fails this query only: the session was
                    // put back in order. A lost session ends the run.
                    None => run(conn, query, ctx).await?.inspect(|families| {
                        if !query.cache.is_zero() {
                            ctx.caches.store(key, families.clone());
                        }
                    }),
                };
                successes.push(
                    vec![ctx.datname.clone(), query.name.clone()],
                    if result.is_ok() { 1.0 } else { 0.0 },
                );
                match result {
                    Ok(result) => families.extend(result),
                    Err(err) => failures.push(format!("custom query {} failed: {err}", query.name)),
                }
            }
            families.push(successes);
            if failures.is_empty() {
                Ok(families)
            } else {
                Err(CollectError::Partial {
                    families,
                    error: failures.join("; "),
                })
            }
        })
    }
}

/// The first series a query's rows give twice (rows with the same LABEL
/// values, a NULL label counting as empty): postgres_exporter fails the
/// scrape on it; here the query fails alone.
fn repeated_series(families: &[Family]) -> Option<String> {
    for family in families {
        let mut seen = std::collections::HashSet::with_capacity(family.samples.len());
        for sample in &family.samples {
            if !seen.insert(&sample.values) {
                let labels: Vec<String> = family
                    .labels
                    .iter()
                    .zip(sample.values.iter())
                    .map(|(name, value)| format!("{name}={value:?}"))
                    .collect();
                return Some(format!(
                    "two rows give the same series {}{{{}}}: make the LABEL columns tell them apart",
                    family.name,
                    labels.join(",")
                ));
            }
        }
    }
    None
}

/// Whether the query should run against this server and database.
fn applies(query: &CustomQuery, ctx: &Context) -> bool {
    let version = ctx.server.version_num;
    query.min_version.is_none_or(|min| version >= min)
        && query.max_version.is_none_or(|max| version <= max)
        && (ctx.server_wide || !query.master)
        && (query.databases.is_empty() || query.databases.contains(&ctx.datname))
}

/// Runs one query: its families, or why it failed alone (the outer error:
/// the session is lost). A failure loses the query's series; values that
/// cannot be read lose their own samples only, with a warning (see
/// [`warn_unreadable`]).
async fn run(
    conn: &mut Conn,
    query: &CustomQuery,
    ctx: &Context,
) -> Result<Result<Vec<Family>, String>, CollectError> {
    // The query's own timeout is the server's statement_timeout inside its
    // transaction: a query over it fails alone, with an SQL error, and the
    // session goes on to the next query.
    let result = conn
        .isolated_query(&query.sql, query.timeout, ctx.options.custom_query_max_rows)
        .await
        .map_err(|err| {
            CollectError::SessionLost(format!(
                "custom query {}: the session could not be reset: {}",
                query.name,
                crate::db::error_chain(&err)
            ))
        })?;
    let result = match result {
        Ok(result) => result,
        Err(refused) => return Ok(Err(refused.to_string())),
    };
    if let Some(missing) = missing_columns(query, &result.columns) {
        return Ok(Err(missing));
    }
    let (families, unreadable) = families(query, &result.rows, &ctx.options.metric_prefix);
    warn_unreadable(&ctx.datname, &query.name, unreadable);
    // Two rows with the same labels would be the same series twice.
    Ok(match repeated_series(&families) {
        Some(repeated) => Err(repeated),
        None => Ok(families),
    })
}

/// The columns the file lists that the query's result lacks, said in one
/// sentence (`None`: all there). A HISTOGRAM column needs its `_bucket`,
/// `_sum` and `_count` columns too.
fn missing_columns(query: &CustomQuery, result: &[String]) -> Option<String> {
    let missing: Vec<String> = query
        .columns
        .iter()
        .filter(|column| column.usage != Usage::Discard)
        .flat_map(|column| {
            let extra: &[&str] = if column.usage == Usage::Histogram {
                &["_bucket", "_sum", "_count"]
            } else {
                &[]
            };
            std::iter::once(column.name.clone()).chain(
                extra
                    .iter()
                    .map(|suffix| format!("{}{suffix}", column.name)),
            )
        })
        .filter(|name| !result.contains(name))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "column {} listed in the file is not in the query's result (it returns {})",
            missing.join(", "),
            result.join(", ")
        )
    })
}

/// A row of text values, as the simple query protocol returns it.
trait TextRow {
    /// The column's value (`None`: NULL, or no such column).
    fn cell(&self, column: &str) -> Option<&str>;
}

impl TextRow for tokio_postgres::SimpleQueryRow {
    fn cell(&self, column: &str) -> Option<&str> {
        let at = self.columns().iter().position(|c| c.name() == column)?;
        self.get(at)
    }
}

/// The query's families from its rows: one per metric column, named
/// `<query>_<column>` (the first `pg` of the query name replaced by `prefix`,
/// as postgres_exporter's `--metric-prefix` does), labelled by its LABEL
/// columns; a NULL or unreadable value gives no sample. The second value says
/// which values could not be read (`None`: all could).
fn families<R: TextRow>(
    query: &CustomQuery,
    rows: &[R],
    prefix: &str,
) -> (Vec<Family>, Option<Unreadable>) {
    let namespace = query.name.replacen("pg", prefix, 1);
    let metric_columns: Vec<_> = query
        .columns
        .iter()
        .filter(|c| !matches!(c.usage, Usage::Label | Usage::Discard))
        .collect();
    let mut families: Vec<Family> = metric_columns
        .iter()
        .map(|column| {
            let (kind, suffix) = match column.usage {
                Usage::Counter => (Kind::Counter, ""),
                Usage::Duration => (Kind::Gauge, "_milliseconds"),
                Usage::Histogram => (Kind::Histogram, ""),
                _ => (Kind::Gauge, ""),
            };
            let help = if column.description.is_empty() {
                format!("Custom query {}, column {}.", query.name, column.name)
            } else {
                column.description.clone()
            };
            Family::new(
                format!("{namespace}_{}{suffix}", column.name),
                help,
                kind,
                query.labels,
            )
        })
        .collect();
    let mut unreadable: Option<Unreadable> = None;
    let mut note = |column: &QueryColumn, text: &str, why: &'static str| {
        unreadable
            .get_or_insert_with(|| Unreadable {
                column: column.name.clone(),
                value: text.to_string(),
                why,
                count: 0,
            })
            .count += 1;
    };
    for row in rows {
        let labels: Vec<String> = query
            .labels
            .iter()
            .map(|label| row.cell(label).unwrap_or("").to_string())
            .collect();
        let labels = crate::metrics::Labels::from(labels);
        for (family, column) in families.iter_mut().zip(&metric_columns) {
            let Some(text) = row.cell(&column.name) else {
                continue;
            };
            if column.usage == Usage::Histogram {
                match histogram(row, &column.name, text) {
                    Some((sum, buckets)) => family.push_histogram(&labels.to_vec(), sum, buckets),
                    None => note(
                        column,
                        text,
                        "with its _bucket, _sum and _count is not a histogram (bounds and cumulative counts as arrays of one length, counts rising to _count)",
                    ),
                }
                continue;
            }
            let number = match column.usage {
                Usage::MappedMetric => column.mapping.get(text).copied(),
                usage => value(text, usage),
            };
            match number {
                Some(number) => family.push(labels.clone(), number),
                None if column.usage == Usage::MappedMetric => {
                    note(column, text, "is not in its mapping")
                }
                None => note(
                    column,
                    text,
                    "is not a number, boolean, timestamp or interval",
                ),
            }
        }
    }
    (families, unreadable)
}

#[cfg(test)]
mod tests;
