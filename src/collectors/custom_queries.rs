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

/// How a result column is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Label,
    Gauge,
    Counter,
    Discard,
    MappedMetric,
    Duration,
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
    "A custom query's column (counters with _total, durations with _milliseconds); labels are its LABEL columns.",
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
        vec![&CUSTOM]
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = Vec::new();
            for query in ctx.queries.iter().filter(|q| applies(q, ctx)) {
                let key = Key::query(self.name(), &ctx.datname, &query.name);
                let result = match ctx.caches.fresh(&key, query.cache) {
                    Some((_, result)) => result,
                    None => {
                        let result = run(conn, query).await?;
                        if !query.cache.is_zero() {
                            ctx.caches.store(key, result.clone());
                        }
                        result
                    }
                };
                families.extend(result);
            }
            Ok(families)
        })
    }
}

/// Whether the query should run against this server and database.
fn applies(query: &CustomQuery, ctx: &Context) -> bool {
    let version = ctx.server.version_num;
    query.min_version.is_none_or(|min| version >= min)
        && query.max_version.is_none_or(|max| version <= max)
        && (ctx.server_wide || !query.master)
        && (query.databases.is_empty() || query.databases.contains(&ctx.datname))
}

async fn run(conn: &mut Conn, query: &CustomQuery) -> Result<Vec<Family>, CollectError> {
    let rows = match query.timeout {
        Some(timeout) => tokio::time::timeout(timeout, conn.simple_query(&query.sql))
            .await
            .map_err(|_| {
                CollectError::Timeout(format!(
                    "custom query {} ran over its timeout of {timeout:?}",
                    query.name
                ))
            })??,
        None => conn.simple_query(&query.sql).await?,
    };
    Ok(families(query, &rows))
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
/// `<query>_<column>`, labelled by its LABEL columns; a NULL or unreadable
/// value gives no sample.
fn families<R: TextRow>(query: &CustomQuery, rows: &[R]) -> Vec<Family> {
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
                _ => (Kind::Gauge, ""),
            };
            let help = if column.description.is_empty() {
                format!("Custom query {}, column {}.", query.name, column.name)
            } else {
                column.description.clone()
            };
            Family::new(
                format!("{}_{}{suffix}", query.name, column.name),
                help,
                kind,
                query.labels,
            )
        })
        .collect();
    for row in rows {
        let labels: std::sync::Arc<[String]> = query
            .labels
            .iter()
            .map(|label| row.cell(label).unwrap_or("").to_string())
            .collect();
        for (family, column) in families.iter_mut().zip(&metric_columns) {
            let Some(text) = row.cell(&column.name) else {
                continue;
            };
            let number = match column.usage {
                Usage::MappedMetric => column.mapping.get(text).copied(),
                usage => value(text, usage),
            };
            if let Some(number) = number {
                family.push(labels.clone(), number);
            }
        }
    }
    families
}

/// A text value from PostgreSQL as a number: numbers, booleans (`t`/`f`),
/// timestamps (`2026-11-25 12:00:00+00`, as Unix seconds) and, for DURATION,
/// intervals in milliseconds. `None` when it is none of these.
pub fn value(text: &str, usage: Usage) -> Option<f64> {
    if usage == Usage::Duration {
        return interval_millis(text);
    }
    match text {
        "t" | "true" => return Some(1.0),
        "f" | "false" => return Some(0.0),
        _ => {}
    }
    text.parse::<f64>().ok().or_else(|| timestamp_seconds(text))
}

/// `1 day 02:03:04.5`, `02:03:04`, `-00:00:01` → milliseconds.
fn interval_millis(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word.contains(':') {
            let negative = word.starts_with('-');
            let parts: Vec<f64> = word
                .trim_start_matches(['-', '+'])
                .split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let seconds = match parts[..] {
                [h, m, s] => h * 3600.0 + m * 60.0 + s,
                [h, m] => h * 3600.0 + m * 60.0,
                _ => return None,
            };
            total += if negative { -seconds } else { seconds };
            continue;
        }
        let amount: f64 = word.parse().ok()?;
        let unit = words.next()?;
        let factor = match unit.trim_end_matches('s') {
            "year" => 365.25 * 86400.0,
            "mon" => 30.0 * 86400.0,
            "day" => 86400.0,
            _ => return None,
        };
        total += amount * factor;
    }
    Some(total * 1000.0)
}

/// `2026-11-25 12:34:56.789+00` (or with `T`, `Z`, `+01:30`) → Unix seconds.
fn timestamp_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let mut ymd = date.split('-');
    let (y, m, d): (i64, i64, i64) = (
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
    );
    let rest = rest.trim_start_matches([' ', 'T']);
    let zone_at = rest.find(['+', '-', 'Z']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let mut hms = time.split(':');
    let h: f64 = hms
        .next()
        .filter(|s| !s.is_empty())
        .map_or(Some(0.0), |s| s.parse().ok())?;
    let mi: f64 = hms.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let s: f64 = hms.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let offset = match zone {
        "" | "Z" => 0.0,
        z => {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let mut parts = z[1..].split(':');
            let hours: f64 = parts.next()?.parse().ok()?;
            let minutes: f64 = parts.next().map_or(Some(0.0), |p| p.parse().ok())?;
            sign * (hours * 3600.0 + minutes * 60.0)
        }
    };
    let days = crate::text::days_from_civil(y, m, d);
    Some(days as f64 * 86400.0 + h * 3600.0 + mi * 60.0 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl TextRow for Vec<(&str, Option<&str>)> {
        fn cell(&self, column: &str) -> Option<&str> {
            self.iter()
                .find(|(name, _)| *name == column)
                .and_then(|(_, v)| *v)
        }
    }

    #[test]
    fn rows_become_query_column_families_by_usage() {
        let column = |name: &str, usage: Usage| QueryColumn {
            name: name.into(),
            usage,
            description: String::new(),
            mapping: [("up".to_string(), 1.0)].into_iter().collect(),
        };
        let query = CustomQuery {
            name: "festival_gates".into(),
            sql: String::new(),
            master: false,
            cache: Duration::ZERO,
            min_version: None,
            max_version: None,
            timeout: None,
            databases: Vec::new(),
            columns: vec![
                column("gate", Usage::Label),
                column("note", Usage::Discard),
                column("scanned", Usage::Counter),
                column("wait", Usage::Duration),
                column("state", Usage::MappedMetric),
                column("open", Usage::Gauge),
            ],
            labels: crate::metrics::label_names(&["gate"]),
        };
        let rows = vec![
            vec![
                ("gate", Some("north")),
                ("note", Some("x")),
                ("scanned", Some("12")),
                ("wait", Some("00:00:01.5")),
                ("state", Some("up")),
                ("open", Some("t")),
            ],
            vec![
                ("gate", None),
                ("scanned", Some("3")),
                ("wait", None),
                ("state", Some("down")),
                ("open", Some("soon")),
            ],
        ];
        let families = families(&query, &rows);
        let names: Vec<&str> = families.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "festival_gates_scanned",
                "festival_gates_wait_milliseconds",
                "festival_gates_state",
                "festival_gates_open"
            ]
        );
        assert_eq!(families[0].kind, Kind::Counter);
        assert_eq!(
            families[0].help,
            "Custom query festival_gates, column scanned."
        );
        let values: Vec<Vec<(String, f64)>> = families
            .iter()
            .map(|f| {
                f.samples
                    .iter()
                    .map(|s| (s.values.join(","), s.value))
                    .collect()
            })
            .collect();
        assert_eq!(
            values[0],
            [("north".to_string(), 12.0), (String::new(), 3.0)]
        );
        assert_eq!(
            values[1],
            [("north".to_string(), 1500.0)],
            "NULL gives no sample"
        );
        assert_eq!(
            values[2],
            [("north".to_string(), 1.0)],
            "an unmapped text gives no sample"
        );
        assert_eq!(
            values[3],
            [("north".to_string(), 1.0)],
            "text that is no number gives no sample"
        );
    }

    #[test]
    fn values_from_text() {
        assert_eq!(value("42", Usage::Gauge), Some(42.0));
        assert_eq!(value("-1.5e3", Usage::Gauge), Some(-1500.0));
        assert_eq!(value("t", Usage::Gauge), Some(1.0));
        assert_eq!(value("1970-01-02 00:00:00+00", Usage::Gauge), Some(86400.0));
        assert_eq!(
            value("2026-11-25 12:00:00.5+01", Usage::Gauge),
            Some(1_795_604_400.5)
        );
        assert_eq!(value("1970-01-01T00:00:10Z", Usage::Gauge), Some(10.0));
        assert_eq!(value("nonsense", Usage::Gauge), None);
        assert_eq!(value("00:00:01.5", Usage::Duration), Some(1500.0));
        assert_eq!(value("1 day 01:00:00", Usage::Duration), Some(90_000_000.0));
        assert_eq!(value("-00:00:02", Usage::Duration), Some(-2000.0));
    }
}
