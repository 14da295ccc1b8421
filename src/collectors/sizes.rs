//! `sizes`: the guide's "Table Sizes": per user table and index of the
//! connected database the table, TOAST, index and total sizes
//! (postgres_exporter's names where it has them; database sizes are
//! [`super::database`]'s). Every scrape reads which tables exist and whether each may have
//! changed (`queries/sizes_tables.sql`, `queries/sizes_indexes.sql`, no size
//! function); the size functions
//! run only for the tables that are new, written since they were last
//! measured, being written now or due again ([`super::relation_sizes`]), the
//! others keep the size their files still have. A relation under an ACCESS
//! EXCLUSIVE lock (VACUUM FULL, the guide's monthly task) is left out of that
//! scrape instead of making the collector wait for the lock; every other
//! relation is still reported.

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::relation_sizes::{Measured, Seen};
use super::rows::Cells;
use super::{descs, CollectError, Collector, Column, Columns, Context, Query, Scope, TABLE_LABELS};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const TABLES_SQL: &str = include_str!("../../queries/sizes_tables.sql");
const INDEXES_SQL: &str = include_str!("../../queries/sizes_indexes.sql");
const MEASURE_SQL: &str = include_str!("../../queries/sizes_measure.sql");

const TABLE_COLUMNS: Columns = Columns::new(&[
    Column::new(
        "table_size_bytes",
        Desc::gauge("pg_stat_user_tables_table_size_bytes", TABLE_LABELS, "Size of the table without its indexes (heap, free space and visibility maps, TOAST), in bytes."),
    ),
    Column::new("index_size_bytes", Desc::gauge("pg_stat_user_tables_index_size_bytes", TABLE_LABELS, "Size of all indexes of the table, in bytes.")),
    Column::new("toast_size_bytes", Desc::gauge("pg_stat_user_tables_toast_size_bytes", TABLE_LABELS, "Size of the table's TOAST table and its index, in bytes.")),
    Column::new("total_size_bytes", Desc::gauge("pg_stat_user_tables_total_size_bytes", TABLE_LABELS, "Total size of the table with indexes and TOAST, in bytes.")),
]);

static INDEX_SIZE: Desc = Desc::gauge(
    "pg_stat_user_indexes_size_bytes",
    &["datname", "schemaname", "relname", "indexrelname"],
    "Size of the index, in bytes.",
);

/// The table-mapped query, for [`Collector::tables`]: the measurement names
/// its columns as the table families.
const TABLES: &[Query] = &[Query::new(&[(0, MEASURE_SQL)], &[TABLE_COLUMNS])];

#[derive(Debug)]
pub struct Sizes;

impl Collector for Sizes {
    fn name(&self) -> &'static str {
        "sizes"
    }

    fn description(&self) -> &'static str {
        "Table, TOAST and index sizes, skipping relations under an exclusive lock"
    }

    fn scope(&self) -> Scope {
        Scope::Database
    }

    fn tables(&self) -> &'static [Query] {
        TABLES
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(TABLE_COLUMNS).chain([&INDEX_SIZE]).collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let rows = conn.query(INDEXES_SQL, &[]).await?;
            let row = rows.first().ok_or_else(|| {
                CollectError::Unsupported("no row from queries/sizes_indexes.sql".into())
            })?;
            let indexes = [
                row.try_get("indexes")?,
                row.try_get("filenodes")?,
                row.try_get("names")?,
            ];
            // A standby's replayed writes, and any write while track_counts
            // is off, show in no statistics: every table is measured.
            let uncounted = row.try_get::<_, bool>("in_recovery")?
                || !row.try_get::<_, bool>("track_counts")?;
            let shared = match &ctx.shared {
                Some(shared) => shared.tables(conn, ctx).await,
                None => None,
            };
            let mut seen = match shared {
                Some(seen) => seen,
                None => conn.query_map(TABLES_SQL, &[], seen).await?,
            };
            seen.sort_unstable_by(|a, b| {
                (&a.schemaname, &a.relname).cmp(&(&b.schemaname, &b.relname))
            });
            let now = Instant::now();
            let due = {
                let mut all = ctx.caches.sizes();
                let known = all.entry(ctx.datname.clone()).or_default();
                known.indexes(indexes);
                if uncounted {
                    known.forget();
                }
                known.due(&seen, now)
            };
            let measured = if due.is_empty() {
                Vec::new()
            } else {
                conn.query_map(MEASURE_SQL, &[&due], measured).await?
            };
            let mut all = ctx.caches.sizes();
            let known = all.entry(ctx.datname.clone()).or_default();
            known.update(&seen, measured, now);
            Ok(table_families(&ctx.datname, &seen, |t| known.report(t)))
        })
    }
}

/// One row of `queries/sizes_tables.sql` (or of
/// `queries/table_statistics.sql`, which has its columns).
pub(super) fn seen(row: &tokio_postgres::Row) -> Result<Seen, CollectError> {
    let schemaname = row.required_text("schemaname")?;
    let relname = row.required_text("relname")?;
    let counts = [
        row.try_get("filenode")?,
        row.try_get("writes")?,
        row.try_get("maintenance")?,
    ];
    Ok(Seen {
        relid: row.try_get("relid")?,
        signature: Seen::signature(counts, &schemaname, &relname),
        schemaname,
        relname,
        exclusive: row.try_get("exclusive")?,
        written: row.try_get("written")?,
    })
}

/// One row of `queries/sizes_measure.sql`.
fn measured(row: &tokio_postgres::Row) -> Result<(u32, Measured), CollectError> {
    let names: Vec<String> = row.try_get("indexrelnames")?;
    let sizes: Vec<f64> = row.try_get("index_sizes")?;
    Ok((
        row.try_get("relid")?,
        Measured {
            table: row.required_number("table_size_bytes")?,
            index: row.required_number("index_size_bytes")?,
            toast: row.required_number("toast_size_bytes")?,
            indexes: names.into_iter().zip(sizes).collect(),
        },
    ))
}

/// The table and index families, tables in the order `seen` has them
/// (schema, then name), each table's indexes by name.
fn table_families<'a>(
    datname: &str,
    seen: &'a [Seen],
    report: impl Fn(&'a Seen) -> Option<&'a Measured>,
) -> Vec<Family> {
    let mut tables: Vec<Family> = TABLE_COLUMNS
        .all()
        .iter()
        .map(|c| c.desc.family())
        .collect();
    let mut indexes = INDEX_SIZE.family();
    for table in seen {
        let Some(sizes) = report(table) else {
            continue;
        };
        let values = crate::metrics::label_values(&[datname, &table.schemaname, &table.relname]);
        let numbers = [
            sizes.table,
            sizes.index,
            sizes.toast,
            sizes.table + sizes.index,
        ];
        for (family, value) in tables.iter_mut().zip(numbers) {
            family.push(values.clone(), value);
        }
        for (index, size) in sizes.indexes.iter() {
            indexes.push(
                crate::metrics::label_values(&[datname, &table.schemaname, &table.relname, index]),
                *size,
            );
        }
    }
    tables.push(indexes);
    tables
}
