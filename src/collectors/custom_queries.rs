//! `custom_queries`: the team's own SQL from `--extend.query-path` files (see
//! [`crate::custom_queries`] for the format), each row turned into series named
//! after the query and column. A query runs only where it applies (server
//! version, database) and at most every `cache_seconds`;
//! it runs through the simple query protocol, so every column type arrives as
//! text and is read as a number, boolean, timestamp or interval. Without
//! files it does nothing.

use std::time::Instant;

use futures::future::BoxFuture;

use super::{CollectError, Collector, Context, Scope};
use crate::custom_queries::{value, CustomQuery, Usage};
use crate::db::Conn;
use crate::metrics::{Desc, Family, Kind};

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
            for query in ctx
                .options
                .custom_queries
                .iter()
                .filter(|q| applies(q, ctx))
            {
                let key = (ctx.datname.clone(), query.name.clone());
                let cached = {
                    let cache = ctx.options.custom_cache.lock().expect("cache lock");
                    cache
                        .get(&key)
                        .filter(|(at, _)| at.elapsed() < query.cache)
                        .map(|(_, f)| f.clone())
                };
                let result = match cached {
                    Some(result) => result,
                    None => {
                        let result = run(conn, query).await?;
                        if !query.cache.is_zero() {
                            ctx.options
                                .custom_cache
                                .lock()
                                .expect("cache lock")
                                .insert(key, (Instant::now(), result.clone()));
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
    for row in &rows {
        let position = |name: &str| row.columns().iter().position(|c| c.name() == name);
        let labels: std::sync::Arc<[String]> = query
            .labels
            .iter()
            .map(|label| {
                position(label)
                    .and_then(|i| row.get(i))
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        for (family, column) in families.iter_mut().zip(&metric_columns) {
            let Some(text) = position(&column.name).and_then(|i| row.get(i)) else {
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
    Ok(families)
}
