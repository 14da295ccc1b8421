//! `autovacuum`: the guide's "Check Autovacuum Status" and "Tune Autovacuum for
//! High-Traffic Tables". Running VACUUMs from `pg_stat_progress_vacuum` (with
//! postgres_exporter's names; the dead-tuple store in the unit the server
//! gives: tuples before 17, bytes from 17, under different names), transaction
//! ID ages per database and per table, and per table the effective autovacuum
//! policy (reloptions falling back to the server settings) with the dead-tuple
//! count that triggers autovacuum, so "autovacuum is falling behind" is
//! `pg_stat_user_tables_n_dead_tup > pg_table_autovacuum_vacuum_trigger_tuples`.

use futures::future::BoxFuture;

use super::rows::Cells;
use super::{descs, CollectError, Collector, Column, Columns, Context, Query, Scope, TABLE_LABELS};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const PROGRESS_SQL: &str = include_str!("../../queries/autovacuum_progress.sql");
const PROGRESS_SQL_17: &str = include_str!("../../queries/autovacuum_progress.v17.sql");
const DATABASES_SQL: &str = include_str!("../../queries/autovacuum_databases.sql");
const TABLES_SQL: &str = include_str!("../../queries/autovacuum_tables.sql");

const PHASE_LABELS: &[&str] = &["datname", "schemaname", "relname", "phase"];

const PROGRESS_COLUMNS: Columns = Columns::new(&[
    Column::new("heap_blks", Desc::gauge("pg_stat_progress_vacuum_heap_blks", TABLE_LABELS, "Total heap blocks of the table being vacuumed.")),
    Column::new("heap_blks_scanned", Desc::gauge("pg_stat_progress_vacuum_heap_blks_scanned", TABLE_LABELS, "Heap blocks scanned so far.")),
    Column::new("heap_blks_vacuumed", Desc::gauge("pg_stat_progress_vacuum_heap_blks_vacuumed", TABLE_LABELS, "Heap blocks vacuumed so far.")),
    Column::new("index_vacuums", Desc::gauge("pg_stat_progress_vacuum_index_vacuums", TABLE_LABELS, "Completed index vacuum cycles.")),
    Column::new(
        "max_dead_tuples",
        Desc::gauge("pg_stat_progress_vacuum_max_dead_tuples", TABLE_LABELS, "Dead tuples that fit in memory before an index vacuum cycle (PostgreSQL 13 to 16)."),
    ),
    Column::new(
        "num_dead_tuples",
        Desc::gauge("pg_stat_progress_vacuum_num_dead_tuples", TABLE_LABELS, "Dead tuples collected since the last index vacuum cycle (PostgreSQL 13 to 16)."),
    ),
    Column::new(
        "max_dead_tuple_bytes",
        Desc::gauge("pg_stat_progress_vacuum_max_dead_tuple_bytes", TABLE_LABELS, "Memory for dead tuples before an index vacuum cycle, in bytes (PostgreSQL 17+)."),
    ),
    Column::new(
        "dead_tuple_bytes",
        Desc::gauge("pg_stat_progress_vacuum_dead_tuple_bytes", TABLE_LABELS, "Memory used by dead tuples since the last index vacuum cycle, in bytes (PostgreSQL 17+)."),
    ),
    Column::new(
        "num_dead_item_ids",
        Desc::gauge("pg_stat_progress_vacuum_num_dead_item_ids", TABLE_LABELS, "Dead item identifiers collected since the last index vacuum cycle (PostgreSQL 17+)."),
    ),
    Column::new("running_seconds", Desc::gauge("pg_stat_progress_vacuum_running_seconds", TABLE_LABELS, "How long this VACUUM has been running, in seconds.")),
    Column::new(
        "is_autovacuum",
        Desc::gauge("pg_stat_progress_vacuum_is_autovacuum", TABLE_LABELS, "Whether this VACUUM was started by autovacuum (1) or by a user (0)."),
    ),
]);

static PHASE: Desc = Desc::gauge(
    "pg_stat_progress_vacuum_phase",
    PHASE_LABELS,
    "The current phase of a running VACUUM; the value is always 1.",
);

const DATABASE_COLUMNS: Columns = Columns::new(&[Column::new(
    "frozen_xid_age",
    Desc::gauge(
        "pg_database_frozen_xid_age",
        &["datname"],
        "Transaction ID age of the database's oldest unfrozen row (wraparound at about 2 billion).",
    ),
)]);

const TABLE_COLUMNS: Columns = Columns::new(&[
    Column::new("enabled", Desc::gauge("pg_table_autovacuum_enabled", TABLE_LABELS, "Whether autovacuum may vacuum and analyze this table (server setting and reloption).")),
    Column::new("vacuum_threshold", Desc::gauge("pg_table_autovacuum_vacuum_threshold", TABLE_LABELS, "Effective autovacuum_vacuum_threshold of the table.")),
    Column::new("vacuum_scale_factor", Desc::gauge("pg_table_autovacuum_vacuum_scale_factor", TABLE_LABELS, "Effective autovacuum_vacuum_scale_factor of the table.")),
    Column::new("analyze_threshold", Desc::gauge("pg_table_autovacuum_analyze_threshold", TABLE_LABELS, "Effective autovacuum_analyze_threshold of the table.")),
    Column::new("analyze_scale_factor", Desc::gauge("pg_table_autovacuum_analyze_scale_factor", TABLE_LABELS, "Effective autovacuum_analyze_scale_factor of the table.")),
    Column::new(
        "vacuum_trigger_tuples",
        Desc::gauge("pg_table_autovacuum_vacuum_trigger_tuples", TABLE_LABELS, "Dead tuples at which autovacuum vacuums the table: threshold + scale_factor * reltuples."),
    ),
    Column::new(
        "analyze_trigger_tuples",
        Desc::gauge("pg_table_autovacuum_analyze_trigger_tuples", TABLE_LABELS, "Changed tuples at which autovacuum analyzes the table: threshold + scale_factor * reltuples."),
    ),
    // Named after pg_stat_user_tables as dashboards expect, but read here with the
    // rest of the wraparound picture; its place in the output follows this collector.
    Column::new("frozen_xid_age", Desc::gauge("pg_stat_user_tables_frozen_xid_age", TABLE_LABELS, "Transaction ID age of the table's oldest unfrozen row.")),
]);

const PROGRESS: Query = Query::new(
    &[(170000, PROGRESS_SQL_17), (0, PROGRESS_SQL)],
    &[PROGRESS_COLUMNS],
)
.server_wide();
const DATABASES: Query = Query::new(&[(0, DATABASES_SQL)], &[DATABASE_COLUMNS]).server_wide();
/// The table-mapped queries, for [`Collector::tables`]; the last is each
/// table's policy.
static TABLES: [Query; 3] = [
    PROGRESS,
    DATABASES,
    Query::new(&[(0, TABLES_SQL)], &[TABLE_COLUMNS]).ordered_by_labels(),
];

/// Each table's policy, which [`super::table_statistics`] may stand in for.
pub static TABLE_POLICIES: &Query = &TABLES[2];

#[derive(Debug)]
pub struct Autovacuum;

impl Collector for Autovacuum {
    fn name(&self) -> &'static str {
        "autovacuum"
    }

    fn description(&self) -> &'static str {
        "Running VACUUMs, wraparound ages and each table's effective autovacuum policy"
    }

    fn scope(&self) -> Scope {
        Scope::Both
    }

    fn tables(&self) -> &'static [Query] {
        &TABLES
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(PROGRESS_COLUMNS)
            .chain([&PHASE])
            .chain(descs(DATABASE_COLUMNS))
            .chain(descs(TABLE_COLUMNS))
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = Vec::new();
            if let Some(rows) = PROGRESS.rows(conn, ctx).await? {
                families = PROGRESS.families(&rows)?;
                families.push(phase_family(&rows)?);
            }
            families.extend(DATABASES.run(conn, ctx).await?);
            families.extend(TABLE_POLICIES.run(conn, ctx).await?);
            Ok(families)
        })
    }
}

/// One series per running VACUUM naming its table and phase, always 1.
fn phase_family<R: Cells>(rows: &[R]) -> Result<Family, CollectError> {
    let mut phase = PHASE.family();
    for row in rows {
        let mut values = Vec::with_capacity(PHASE_LABELS.len());
        for label in PHASE_LABELS {
            values.push(row.required_text(label)?);
        }
        phase.push(values, 1.0);
    }
    Ok(phase)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRow;
    use super::*;

    #[test]
    fn a_running_vacuum_names_its_table_and_phase() {
        let row = TestRow::default()
            .text("datname", Some("festivals"))
            .text("schemaname", Some("public"))
            .text("relname", Some("orders"))
            .text("phase", Some("scanning heap"));
        let phase = phase_family(&[row]).unwrap();
        assert_eq!(
            phase.samples[0].values,
            ["festivals", "public", "orders", "scanning heap"]
        );
        assert_eq!(phase.samples[0].value, 1.0);
    }
}
