//! Custom queries: a YAML file of the team's own SQL turned into metrics,
//! loaded with `--extend.query-path FILE` (repeatable). postgres_exporter's
//! `queries.yaml` format is accepted unchanged, so teams move their files over
//! as they are:
//!
//! ```yaml
//! festival_tickets:                  # query name: metric prefix
//!   query: "SELECT status, count(*) AS sold FROM tickets GROUP BY status"
//!   master: true                     # only in the DSN's database
//!   cache_seconds: 30                # run at most every 30 s
//!   metrics:
//!     - status: {usage: LABEL, description: "Ticket status"}
//!     - sold:   {usage: GAUGE, description: "Tickets by status"}   # festival_tickets_sold
//! ```
//!
//! `usage` is LABEL, GAUGE, COUNTER (exposed with `_total`), DISCARD,
//! MAPPEDMETRIC (with `metric_mapping: {text: number}`), DURATION (an
//! interval, exposed as `<name>_milliseconds` as postgres_exporter does) or
//! HISTOGRAM (the column holds the bucket bounds as an array, and the row's
//! `<column>_bucket`, `<column>_sum` and `<column>_count` the rest).
//! postgres_exporter's `runonserver` (a semver range such as `>=14.0.0`) works,
//! and this exporter adds `min_server_version` / `max_server_version` (`14`,
//! `14.2` or `140002`), a per-query `timeout` (`5s`), and `databases` (run only
//! in these databases). With `--auto-discover-databases` a query runs in every
//! database found, unless `master` or `databases` says otherwise. Values are read as text, so any column type
//! works: numbers, booleans (1/0), timestamps (Unix seconds) and intervals.
//!
//! Every mistake in a file is reported at startup as one line naming the file,
//! the query and the field.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_yaml::Value;

use crate::collectors::custom_queries::{CustomQuery, QueryColumn, Usage};
use crate::text::{
    is_metric_name, parse_duration, parse_semver_range, parse_version_num, parse_version_upper,
};

const QUERY_KEYS: &[&str] = &[
    "query",
    "metrics",
    "master",
    "cache_seconds",
    "runonserver",
    "min_server_version",
    "max_server_version",
    "timeout",
    "databases",
];

/// Reads and validates a queries file.
pub fn load(path: &std::path::Path) -> Result<Vec<CustomQuery>, super::ConfigError> {
    let origin = format!("--extend.query-path '{}'", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: {e}"))?;
    Ok(parse(&text, &origin)?)
}

/// Parses a queries file; `origin` names it in errors, which are one line.
pub fn parse(text: &str, origin: &str) -> Result<Vec<CustomQuery>, String> {
    parse_all(text, origin).map_err(|e| crate::text::one_line(&e))
}

fn parse_all(text: &str, origin: &str) -> Result<Vec<CustomQuery>, String> {
    if text.trim().is_empty() {
        return Err(format!("{origin}: the file is empty"));
    }
    let root: Value = serde_yaml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    let Value::Mapping(root) = root else {
        return Err(format!(
            "{origin}: expected a map of query names to queries"
        ));
    };
    let mut queries = Vec::with_capacity(root.len());
    for (name, body) in root {
        let name = name
            .as_str()
            .ok_or_else(|| format!("{origin}: a query name is not a string"))?
            .to_string();
        if !is_metric_name(&name) {
            return Err(format!(
                "{origin}: query '{name}': the name must be a metric name ([a-zA-Z_][a-zA-Z0-9_]*)"
            ));
        }
        queries
            .push(parse_query(&name, &body).map_err(|e| format!("{origin}: query '{name}': {e}"))?);
    }
    Ok(queries)
}

fn parse_query(name: &str, body: &Value) -> Result<CustomQuery, String> {
    let Value::Mapping(map) = body else {
        return Err("expected a map with query and metrics".into());
    };
    for key in map.keys() {
        let key = key.as_str().unwrap_or("?");
        if !QUERY_KEYS.contains(&key) {
            return Err(format!(
                "unknown field '{key}' (expected one of {})",
                QUERY_KEYS.join(", ")
            ));
        }
    }
    let field = |key: &str| map.get(key);
    let sql = match field("query") {
        Some(Value::String(sql)) if !sql.trim().is_empty() => sql.clone(),
        Some(_) => return Err("query: expected the SQL text".into()),
        None => return Err("query: missing".into()),
    };
    let master = match field("master") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("master: expected true or false".into()),
    };
    let cache = match field("cache_seconds") {
        None => Duration::ZERO,
        Some(Value::Number(n)) if n.as_u64().is_some() => {
            Duration::from_secs(n.as_u64().unwrap_or(0))
        }
        Some(_) => return Err("cache_seconds: expected a whole number of seconds".into()),
    };
    let timeout = match field("timeout") {
        None => None,
        Some(Value::String(s)) => Some(parse_duration(s).map_err(|e| format!("timeout: {e}"))?),
        Some(Value::Number(n)) => {
            Some(parse_duration(&n.to_string()).map_err(|e| format!("timeout: {e}"))?)
        }
        Some(_) => return Err("timeout: expected a duration such as 5s".into()),
    };
    let version = |key: &str, parse: fn(&str) -> Option<i32>| -> Result<Option<i32>, String> {
        match field(key) {
            None => Ok(None),
            Some(value) => parse(&scalar_text(value))
                .map(Some)
                .ok_or_else(|| format!("{key}: expected a version such as 14, 14.2 or 140002")),
        }
    };
    // Both bounds are inclusive at the precision written: a maximum of `18`
    // admits 18.1 and every later 18.x.
    let (mut min_version, mut max_version) = (
        version("min_server_version", parse_version_num)?,
        version("max_server_version", parse_version_upper)?,
    );
    if let Some(range) = field("runonserver") {
        let (low, high) = parse_semver_range(&scalar_text(range))
            .ok_or("runonserver: expected a range such as '>=13.0.0 <16.0.0'")?;
        min_version = min_version.max(low);
        max_version = match (max_version, high) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    let databases = match field("databases") {
        None => Vec::new(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("databases: expected a list of database names".to_string())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("databases: expected a list of database names".into()),
    };
    let Some(Value::Sequence(metrics)) = field("metrics") else {
        return Err("metrics: expected a list of columns".into());
    };
    let mut columns = Vec::with_capacity(metrics.len());
    for (i, entry) in metrics.iter().enumerate() {
        let Value::Mapping(entry) = entry else {
            return Err(format!(
                "metrics[{i}]: expected `column: {{usage: ..., description: ...}}`"
            ));
        };
        for (column, spec) in entry {
            let column = column
                .as_str()
                .ok_or(format!("metrics[{i}]: a column name is not a string"))?
                .to_string();
            columns.push(
                parse_column(&column, spec).map_err(|e| format!("metrics[{i}].{column}.{e}"))?,
            );
        }
    }
    check_names(name, &columns)?;
    if !columns
        .iter()
        .any(|c| !matches!(c.usage, Usage::Label | Usage::Discard))
    {
        return Err(
            "metrics: no column is a metric (GAUGE, COUNTER, MAPPEDMETRIC, DURATION or HISTOGRAM)"
                .into(),
        );
    }
    let labels = {
        let names: Vec<&str> = columns
            .iter()
            .filter(|c| c.usage == Usage::Label)
            .map(|c| c.name.as_str())
            .collect();
        crate::metrics::label_names(&names)
    };
    Ok(CustomQuery {
        name: name.to_string(),
        sql,
        master,
        cache,
        min_version,
        max_version,
        timeout,
        databases,
        columns,
        labels,
    })
}

/// Names that would make the exposition invalid: a column listed twice, a
/// label name Prometheus reserves (`__` in front), and for a HISTOGRAM column
/// a label `le` or another metric column named like its `_bucket`, `_sum` or
/// `_count` series.
fn check_names(query: &str, columns: &[QueryColumn]) -> Result<(), String> {
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|c| c.name == column.name) {
            return Err(format!("metrics: column '{}' is listed twice", column.name));
        }
        if column.usage == Usage::Label && column.name.starts_with("__") {
            return Err(format!(
                "metrics: label '{}': names starting with __ are reserved",
                column.name
            ));
        }
    }
    for histogram in columns.iter().filter(|c| c.usage == Usage::Histogram) {
        if columns
            .iter()
            .any(|c| c.usage == Usage::Label && c.name == "le")
        {
            return Err(format!(
                "metrics: HISTOGRAM column '{}' needs the label name le for its buckets",
                histogram.name
            ));
        }
        for other in columns
            .iter()
            .filter(|c| !matches!(c.usage, Usage::Label | Usage::Discard))
        {
            for suffix in ["_bucket", "_sum", "_count"] {
                if other.name == format!("{}{suffix}", histogram.name) {
                    return Err(format!(
                        "metrics: column '{}' clashes with the series {query}_{}{suffix} of HISTOGRAM column '{}' (list it as DISCARD or leave it out)",
                        other.name, histogram.name, histogram.name
                    ));
                }
            }
        }
    }
    Ok(())
}

fn parse_column(name: &str, spec: &Value) -> Result<QueryColumn, String> {
    let Value::Mapping(spec) = spec else {
        return Err("usage: expected a map with usage and description".into());
    };
    for key in spec.keys() {
        let key = key.as_str().unwrap_or("?");
        if !["usage", "description", "metric_mapping"].contains(&key) {
            return Err(format!(
                "{key}: unknown field (expected usage, description, metric_mapping)"
            ));
        }
    }
    if !is_metric_name(name) {
        return Err("usage: the column name must be a metric name ([a-zA-Z_][a-zA-Z0-9_]*)".into());
    }
    let usage = match spec.get("usage").and_then(Value::as_str) {
        Some("LABEL") => Usage::Label,
        Some("GAUGE") => Usage::Gauge,
        Some("COUNTER") => Usage::Counter,
        Some("DISCARD") => Usage::Discard,
        Some("MAPPEDMETRIC") => Usage::MappedMetric,
        Some("DURATION") => Usage::Duration,
        Some("HISTOGRAM") => Usage::Histogram,
        Some(other) => {
            return Err(format!(
            "usage: '{other}' is not one of LABEL, GAUGE, COUNTER, DISCARD, MAPPEDMETRIC, DURATION, HISTOGRAM"
        ))
        }
        None => return Err("usage: missing".into()),
    };
    let description = match spec.get("description") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("description: expected text".into()),
    };
    let mut mapping = BTreeMap::new();
    match (usage, spec.get("metric_mapping")) {
        (Usage::MappedMetric, Some(Value::Mapping(map))) => {
            for (key, value) in map {
                let number = value.as_f64().ok_or(format!(
                    "metric_mapping.{}: expected a number",
                    scalar_text(key)
                ))?;
                mapping.insert(scalar_text(key), number);
            }
        }
        (Usage::MappedMetric, _) => {
            return Err("metric_mapping: MAPPEDMETRIC needs a map of text to numbers".into())
        }
        (_, Some(_)) => return Err("metric_mapping: only for MAPPEDMETRIC".into()),
        (_, None) => {}
    }
    Ok(QueryColumn {
        name: name.to_string(),
        usage,
        description,
        mapping,
    })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
