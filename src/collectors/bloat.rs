//! `bloat`: wasted space per table and per B-tree index, in bytes and as a
//! share of the relation's size: the guide's monthly "Check table bloat" and
//! quarterly "REINDEX bloated indexes", the numbers that decide between plain
//! VACUUM, pg_repack, VACUUM FULL and REINDEX. Dead tuples say what VACUUM has
//! not reclaimed yet; bloat says how much disk stays wasted after it.
//!
//! Two methods (`--collector.bloat.method`):
//! - `estimate` (default): from the catalog and `pg_stats` only (expected size
//!   from average column widths, tuple headers, alignment and fillfactor,
//!   against the pages the relation has; see the SQL files for the formula).
//!   No extension, no lock, no table read; tables never analyzed are left out.
//! - `pgstattuple_approx`: measured with the pgstattuple extension
//!   (`pgstattuple_approx()` for tables, `pgstatindex()` for B-tree indexes),
//!   for the `--collector.bloat.pgstattuple-limit` largest relations only,
//!   since it reads them.
//!
//! Either way bytes are at least 0 and ratios between 0 and 1; only relations
//! of at least `--collector.bloat.min-size` bytes are reported, and the
//! collector runs at most every `--collector.bloat.min-interval` (default 5m),
//! serving its last result in between.

use std::time::Duration;

use futures::future::BoxFuture;

use super::{
    descs, families_from_rows, CollectError, Collector, Column, Columns, Context, Extension, Query,
    Scope, TABLE_LABELS,
};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const TABLES_SQL: &str = include_str!("../../queries/bloat_tables.sql");
const INDEXES_SQL: &str = include_str!("../../queries/bloat_indexes.sql");
const TABLES_PGSTATTUPLE_SQL: &str = include_str!("../../queries/bloat_tables.pgstattuple.sql");
const INDEXES_PGSTATTUPLE_SQL: &str = include_str!("../../queries/bloat_indexes.pgstattuple.sql");

const INDEX: &[&str] = &["datname", "schemaname", "relname", "indexrelname"];

const TABLE_COLUMNS: Columns = Columns::new(&[
    Column::new("bloat_bytes", Desc::gauge("pg_table_bloat_bytes", TABLE_LABELS, "Estimated space the table wastes beyond what its rows need at its fillfactor, in bytes.")),
    Column::new("bloat_ratio", Desc::gauge("pg_table_bloat_ratio", TABLE_LABELS, "Estimated wasted share of the table's size, from 0 to 1.")),
]);

const INDEX_COLUMNS: Columns = Columns::new(&[
    Column::new("bloat_bytes", Desc::gauge("pg_index_bloat_bytes", INDEX, "Estimated space the B-tree index wastes beyond what its entries need at its fillfactor, in bytes.")),
    Column::new("bloat_ratio", Desc::gauge("pg_index_bloat_ratio", INDEX, "Estimated wasted share of the index's size, from 0 to 1.")),
]);

/// How bloat is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// From the catalog and pg_stats.
    Estimate,
    /// With the pgstattuple extension.
    PgstattupleApprox,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(text: &str) -> Result<Method, String> {
        match text {
            "estimate" => Ok(Method::Estimate),
            "pgstattuple_approx" => Ok(Method::PgstattupleApprox),
            other => Err(format!(
                "'{other}' is not one of estimate, pgstattuple_approx"
            )),
        }
    }
}

/// The table-mapped queries, for [`Collector::tables`].
const TABLES: &[Query] = &[
    Query::new(&[(0, TABLES_SQL)], &[TABLE_COLUMNS]),
    Query::new(&[(0, INDEXES_SQL)], &[INDEX_COLUMNS]),
];

#[derive(Debug)]
pub struct Bloat;

impl Collector for Bloat {
    fn name(&self) -> &'static str {
        "bloat"
    }

    fn description(&self) -> &'static str {
        "Estimated wasted bytes and ratio per table and B-tree index"
    }

    fn default_min_interval(&self) -> Duration {
        Duration::from_secs(300)
    }

    fn scope(&self) -> Scope {
        Scope::Database
    }

    fn tables(&self) -> &'static [Query] {
        TABLES
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        descs(TABLE_COLUMNS).chain(descs(INDEX_COLUMNS)).collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let options = &ctx.options;
            let min_size = options.bloat_min_size;
            let (tables, indexes) = match options.bloat_method {
                Method::Estimate => (
                    conn.query(TABLES_SQL, &[&min_size]).await?,
                    conn.query(INDEXES_SQL, &[&min_size]).await?,
                ),
                Method::PgstattupleApprox => {
                    let Some(extension) = Extension::find(conn, "pgstattuple").await? else {
                        return Err(CollectError::Unsupported(format!(
                            "--collector.bloat.method=pgstattuple_approx needs the pgstattuple extension: CREATE EXTENSION pgstattuple in database {}",
                            ctx.datname
                        )));
                    };
                    let limit = options.bloat_pgstattuple_limit;
                    (
                        conn.query(&extension.sql(TABLES_PGSTATTUPLE_SQL), &[&min_size, &limit])
                            .await?,
                        conn.query(
                            &extension.sql(INDEXES_PGSTATTUPLE_SQL),
                            &[&min_size, &limit],
                        )
                        .await?,
                    )
                }
            };
            let mut families = families_from_rows(&tables, TABLE_COLUMNS)?;
            families.extend(families_from_rows(&indexes, INDEX_COLUMNS)?);
            Ok(families)
        })
    }
}
