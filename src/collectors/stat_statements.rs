//! `stat_statements`: the maintenance guide's "Slow Query Analysis" from the
//! `pg_stat_statements` extension (1.8 to 1.12; the variant follows the
//! installed extension version, not the server major, since an old extension
//! version can live on a new server). The top N statements by total execution
//! time and those slow now ([`super::statement_history`]) are chosen from every
//! statement's totals, read without their texts; then the texts of just those statements
//! are fetched, and only those not fetched by an earlier scrape (a queryid's
//! text does not change): loading and sorting every text is what makes
//! pg_stat_statements spill huge temp files. The exporter's own statements are
//! left out.
//!
//! Extension not installed in the exporter's database, or installed but not
//! preloaded: `pg_stat_statements_enabled 0`, no error, and one warning in the
//! log (not one per scrape).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::BoxFuture;

use super::rows::Cells;
use super::{
    collapse_query, descs, families_from_rows, CollectError, Collector, Column, Columns, Context,
    Extension,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::statement_history::{Limits, Totals};
use crate::db::{error_chain, is_marked, Conn};
use crate::metrics::{Desc, Family};
use tokio::time::Instant;

const TOP_SQL_1_8: &str = include_str!("../../queries/stat_statements.v1_8.sql");
const TOP_SQL_1_11: &str = include_str!("../../queries/stat_statements.v1_11.sql");
const TEXTS_SQL: &str = include_str!("../../queries/stat_statements_texts.sql");

/// Most statements read when some are chosen by their recent time.
const MOST_READ: i64 = 20_000;

/// Extra rows read beyond the limit, so that the limit still holds after the
/// exporter's own statements are dropped.
const OWN_STATEMENTS_ALLOWANCE: i64 = 50;

const LABELS: &[&str] = &["user", "datname", "queryid"];

const COLUMNS: Columns = Columns::new(&[
    Column::new("calls", Desc::counter("pg_stat_statements_calls_total", LABELS, "Number of times the statement was executed.")),
    Column::new("seconds", Desc::counter("pg_stat_statements_seconds_total", LABELS, "Total time spent executing the statement, in seconds.")),
    Column::new("mean_seconds", Desc::gauge("pg_stat_statements_mean_seconds", LABELS, "Mean execution time of the statement, in seconds.")),
    Column::new("rows", Desc::counter("pg_stat_statements_rows_total", LABELS, "Total number of rows retrieved or affected by the statement.")),
    Column::new(
        "block_read_seconds",
        Desc::counter("pg_stat_statements_block_read_seconds_total", LABELS, "Total time the statement spent reading blocks, in seconds (needs track_io_timing)."),
    ),
    Column::new(
        "block_write_seconds",
        Desc::counter("pg_stat_statements_block_write_seconds_total", LABELS, "Total time the statement spent writing blocks, in seconds (needs track_io_timing)."),
    ),
    Column::new("shared_blks_hit", Desc::counter("pg_stat_statements_shared_blks_hit_total", LABELS, "Total shared block cache hits by the statement.")),
    Column::new("shared_blks_read", Desc::counter("pg_stat_statements_shared_blks_read_total", LABELS, "Total shared blocks read by the statement.")),
    Column::new("temp_blks_written", Desc::counter("pg_stat_statements_temp_blks_written_total", LABELS, "Total temp blocks written by the statement.")),
    Column::new(
        "plan_seconds",
        Desc::counter("pg_stat_statements_plan_seconds_total", LABELS, "Total time spent planning the statement, in seconds (needs pg_stat_statements.track_planning)."),
    ),
]);

static ENABLED: Desc = Desc::gauge(
    "pg_stat_statements_enabled",
    &[],
    "Whether the pg_stat_statements extension is installed in the exporter's database (1) or not (0).",
);
static QUERY_ID: Desc = Desc::counter(
    "pg_stat_statements_query_id",
    &["queryid", "query"],
    "The text of a reported statement, whitespace collapsed and shortened; the value is always 1 (a counter, as postgres_exporter types it).",
);

/// Whether "not available" was already logged; reset once it is available.
static WARNED_MISSING: AtomicBool = AtomicBool::new(false);

/// Logs why the extension is unavailable, once until it becomes available.
fn warn_once(reason: &str) {
    if !WARNED_MISSING.swap(true, Ordering::Relaxed) {
        tracing::warn!(reason, "pg_stat_statements_enabled is 0: shared_preload_libraries = 'pg_stat_statements' and CREATE EXTENSION pg_stat_statements give statement statistics");
    }
}

#[derive(Debug)]
pub struct StatStatements;

impl Collector for StatStatements {
    fn name(&self) -> &'static str {
        "stat_statements"
    }

    fn description(&self) -> &'static str {
        "Top statements by total execution time from the pg_stat_statements extension"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        [&ENABLED]
            .into_iter()
            .chain(descs(COLUMNS))
            .chain([&QUERY_ID])
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let Some(extension) = Extension::find(conn, "pg_stat_statements").await? else {
                warn_once(&format!(
                    "pg_stat_statements is not installed in database {}: CREATE EXTENSION pg_stat_statements there",
                    ctx.datname
                ));
                return Ok(vec![ENABLED.single(0.0)]);
            };
            let template = match extension.version() {
                Some(v) if v >= (1, 11) => TOP_SQL_1_11,
                Some(v) if v >= (1, 8) => TOP_SQL_1_8,
                _ => {
                    return Err(CollectError::Unsupported(format!(
                        "pg_stat_statements {} is older than 1.8, the oldest supported: ALTER EXTENSION pg_stat_statements UPDATE",
                        extension.version
                    )))
                }
            };
            let options = &ctx.options;
            let limits = Limits {
                total: usize::try_from(options.stat_statements_limit).unwrap_or(0),
                recent: options.stat_statements_recent_limit,
                hold: options.stat_statements_recent_hold,
            };
            // Every statement when some are chosen by their recent time (the
            // view holds pg_stat_statements.max, 5,000 by default), else the top.
            let fetch = if limits.recent > 0 {
                MOST_READ
            } else {
                options.stat_statements_limit + OWN_STATEMENTS_ALLOWANCE
            };
            let params: [&(dyn ToSql + Sync); 3] = [
                &fetch,
                &options.stat_statements_exclude_databases,
                &options.stat_statements_exclude_users,
            ];
            let rows = match conn.query(&extension.sql(template), &params).await {
                Ok(rows) => rows,
                // Installed but not in shared_preload_libraries: as good as missing.
                Err(err) if err.code() == Some(&SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE) => {
                    warn_once(&format!(
                        "pg_stat_statements is installed but not loaded: {}",
                        error_chain(&err)
                    ));
                    return Ok(vec![ENABLED.single(0.0)]);
                }
                Err(err) => return Err(err.into()),
            };
            let read: Vec<Totals> = rows.iter().map(totals).collect::<Result<_, _>>()?;
            let at = Instant::now();

            // Candidates: the choice with room for the exporter's own
            // statements, which only their texts tell apart.
            let room = Limits {
                total: limits.total + OWN_STATEMENTS_ALLOWANCE as usize,
                recent: limits.recent + OWN_STATEMENTS_ALLOWANCE as usize,
                ..limits
            };
            let candidates = ctx.caches.statements().choose(&read, |_| false, room, at);
            // A queryid's text never changes: read only the texts not seen
            // before, and keep just those of this scrape's statements.
            let ids: Vec<&String> = candidates.iter().map(|&i| &read[i].key.2).collect();
            let missing: Vec<i64> = {
                let known = ctx.caches.statement_texts();
                ids.iter()
                    .filter(|id| !known.contains_key(**id))
                    .filter_map(|id| id.parse().ok())
                    .collect()
            };
            let fetched: Vec<(String, String)> = if missing.is_empty() {
                Vec::new()
            } else {
                conn.query(&extension.sql(TEXTS_SQL), &[&missing])
                    .await?
                    .iter()
                    .map(|r| {
                        Ok((
                            r.required_text("queryid")?,
                            r.text("query")?.unwrap_or_default(),
                        ))
                    })
                    .collect::<Result<_, CollectError>>()?
            };
            let texts: HashMap<String, String> = {
                let mut known = ctx.caches.statement_texts();
                known.extend(fetched);
                let current: std::collections::HashSet<&String> = ids.iter().copied().collect();
                known.retain(|id, _| current.contains(id));
                known.clone()
            };
            let own = |i: usize| {
                texts
                    .get(&read[i].key.2)
                    .is_some_and(|text| is_marked(text))
            };
            let chosen = {
                let mut history = ctx.caches.statements();
                let chosen = history.choose(&read, own, limits, at);
                history.remember(read, &chosen, limits, at);
                chosen
            };
            let rows: Vec<&tokio_postgres::Row> = chosen.iter().map(|&i| &rows[i]).collect();

            WARNED_MISSING.store(false, Ordering::Relaxed);
            let mut families = vec![ENABLED.single(1.0)];
            families.extend(families_from_rows(&rows, COLUMNS)?);
            if options.query_text_length > 0 {
                families.push(query_texts(&rows, &texts, options.query_text_length)?);
            }
            Ok(families)
        })
    }
}

/// A row's statement and totals, for choosing what to export.
fn totals(row: &tokio_postgres::Row) -> Result<Totals, CollectError> {
    let number = |column| row.number(column).map(|v| v.unwrap_or(0.0));
    Ok(Totals {
        key: (
            row.required_text("user")?,
            row.required_text("datname")?,
            row.required_text("queryid")?,
        ),
        seconds: number("seconds")?,
        calls: number("calls")?,
    })
}

/// `pg_stat_statements_query_id`: each reported statement's id with its text
/// shortened to `length` characters; statements whose text the role may not
/// see are left out.
fn query_texts<R: Cells>(
    rows: &[R],
    texts: &HashMap<String, String>,
    length: usize,
) -> Result<Family, CollectError> {
    let mut info = QUERY_ID.family();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let id = row.required_text("queryid")?;
        let Some(text) = texts.get(&id) else { continue };
        // Hidden texts (no pg_read_all_stats) say nothing worth a series.
        if text.is_empty() || text == "<insufficient privilege>" || !seen.insert(id.clone()) {
            continue;
        }
        info.push(vec![id, collapse_query(text, length)], 1.0);
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRow;
    use super::*;

    #[test]
    fn texts_are_shortened_or_left_out() {
        let texts: HashMap<String, String> = [
            ("1", "SELECT *\n  FROM orders WHERE id = $1"),
            ("2", "<insufficient privilege>"),
            ("3", ""),
        ]
        .into_iter()
        .map(|(id, text)| (id.to_string(), text.to_string()))
        .collect();
        let rows: Vec<TestRow> = ["1", "2", "3", "4", "1"]
            .into_iter()
            .map(|id| TestRow::default().text("queryid", Some(id)))
            .collect();
        let info = query_texts(&rows, &texts, 12).unwrap();
        assert_eq!(
            info.samples.len(),
            1,
            "hidden, empty, unknown and repeated texts give nothing"
        );
        assert_eq!(info.samples[0].values, ["1", "SELECT * FRO"]);
        assert_eq!(info.samples[0].value, 1.0);
    }
}
