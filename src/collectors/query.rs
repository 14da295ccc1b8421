//! Declarative collectors: a collector that only maps query rows to families
//! is a [`QueryCollector`] — its name, scope and a list of [`Query`] (the SQL
//! per server version and the column tables its rows fill) — with no code of
//! its own. tests/queries.rs prepares every such query on a real server and
//! checks its columns against the tables, so adding one is its SQL plus a
//! table (see CONTRIBUTING.md).

use futures::future::BoxFuture;

use tokio_postgres::types::ToSql;

use super::rows::{descs, families_from_rows, Columns, FamiliesFromRows};
use super::{CollectError, Collector, Context, Options, Scope};
use crate::db::Conn;
use crate::metrics::{Desc, Family};
use tokio_postgres::Row;

/// One query of a [`QueryCollector`].
#[derive(Debug)]
pub struct Query {
    /// The SQL per server version, newest first: the first variant whose
    /// minimum `server_version_num` the server meets runs; when none does,
    /// the query is skipped (its families have no samples).
    pub sql: &'static [(i32, &'static str)],
    /// The column tables its rows fill, in output order.
    pub columns: &'static [Columns],
    /// Server-wide statistics of a [`Scope::Both`] collector: read only on
    /// the session to the DSN's database.
    pub server_wide: bool,
    /// The query's one parameter (`$1`), from the collectors' settings.
    pub param: Option<fn(&Options) -> f64>,
    /// Its SQL has no `ORDER BY`: the exporter orders each column table's
    /// samples by their label values ([`order_by_labels`]).
    pub ordered_here: bool,
}

impl Query {
    /// A query with one SQL text for every supported version.
    pub const fn new(sql: &'static [(i32, &'static str)], columns: &'static [Columns]) -> Query {
        Query {
            sql,
            columns,
            server_wide: false,
            param: None,
            ordered_here: false,
        }
    }

    /// The same query, its rows ordered by their label values here instead
    /// of by the server (see [`Query::ordered_here`]).
    pub const fn ordered_by_labels(self) -> Query {
        Query {
            ordered_here: true,
            ..self
        }
    }

    /// The same query with `$1` bound to `param` of the settings.
    pub const fn with_param(self, param: fn(&Options) -> f64) -> Query {
        Query {
            param: Some(param),
            ..self
        }
    }

    /// The same query, read only once per server (see [`Query::server_wide`]).
    pub const fn server_wide(self) -> Query {
        Query {
            server_wide: true,
            ..self
        }
    }

    /// The SQL for a server of `version_num`, if any.
    pub fn sql_for(&self, version_num: i32) -> Option<&'static str> {
        self.sql
            .iter()
            .find(|(min, _)| version_num >= *min)
            .map(|(_, sql)| *sql)
    }

    /// Runs the query in the context's session: its rows, or `None` when it
    /// does not run there (no variant for this server; server-wide and this
    /// is another database).
    pub async fn rows(
        &self,
        conn: &mut Conn,
        ctx: &Context,
    ) -> Result<Option<Vec<Row>>, CollectError> {
        if self.server_wide && !ctx.server_wide {
            return Ok(None);
        }
        let Some(sql) = self.sql_for(ctx.server.version_num) else {
            return Ok(None);
        };
        let rows = match self.param {
            Some(param) => conn.query(sql, &[&param(&ctx.options)]).await?,
            None => conn.query(sql, &[]).await?,
        };
        Ok(Some(rows))
    }

    /// Its rows as the families of its column tables, in order.
    pub fn families(&self, rows: &[Row]) -> Result<Vec<Family>, CollectError> {
        let mut families = Vec::new();
        for columns in self.columns {
            families.extend(self.ordered(families_from_rows(rows, *columns)?));
        }
        Ok(families)
    }

    /// The families of one column table, ordered here when the SQL leaves
    /// that to the exporter.
    fn ordered(&self, mut families: Vec<Family>) -> Vec<Family> {
        if self.ordered_here {
            order_by_labels(&mut families);
        }
        families
    }

    /// Runs the query and maps its rows as they arrive (none is kept):
    /// nothing when it does not run here. A query that the scrape's
    /// [`SharedRead`](super::table_statistics::SharedRead) stands in for
    /// takes its families from there.
    pub async fn run(&self, conn: &mut Conn, ctx: &Context) -> Result<Vec<Family>, CollectError> {
        if self.server_wide && !ctx.server_wide {
            return Ok(Vec::new());
        }
        if let Some(shared) = &ctx.shared {
            if let Some(families) = shared.families(self, conn, ctx).await {
                return Ok(families);
            }
        }
        let Some(sql) = self.sql_for(ctx.server.version_num) else {
            return Ok(Vec::new());
        };
        let param = self.param.map(|param| param(&ctx.options));
        let params: Vec<&(dyn ToSql + Sync)> = param.iter().map(|p| p as _).collect();
        let tables = conn
            .query_fold(
                sql,
                &params,
                |expected| self.builders(expected),
                |tables, row| tables.iter_mut().try_for_each(|table| table.push(row)),
            )
            .await?;
        Ok(self.finish(tables))
    }

    /// One builder per column table, with room for `rows` samples each.
    pub(super) fn builders(&self, rows: usize) -> Vec<FamiliesFromRows> {
        self.columns
            .iter()
            .map(|columns| FamiliesFromRows::new(*columns, rows))
            .collect()
    }

    /// The families of [`Query::builders`] filled with the rows.
    pub(super) fn finish(&self, builders: Vec<FamiliesFromRows>) -> Vec<Family> {
        builders
            .into_iter()
            .flat_map(|table| self.ordered(table.finish()))
            .collect()
    }
}

/// Puts the samples of families filled from the same rows in the order of
/// their label values, for a query that leaves the sorting to the exporter
/// (the server's sort of ten thousand wide rows costs it more than the
/// exporter's). The order is found once, on the first family, and applied to
/// every family whose samples are the same series; any other (a column with
/// NULLs) is sorted on its own.
pub fn order_by_labels(families: &mut [Family]) {
    let Some((first, rest)) = families.split_first_mut() else {
        return;
    };
    let mut order: Vec<usize> = (0..first.samples.len()).collect();
    order.sort_by(|&a, &b| first.samples[a].values.cmp(&first.samples[b].values));
    for family in rest {
        let same = family.samples.len() == first.samples.len()
            && family
                .samples
                .iter()
                .zip(&first.samples)
                .all(|(a, b)| a.values.shares(&b.values));
        if same {
            permute(&mut family.samples, &order);
        } else {
            family.samples.sort_by(|a, b| a.values.cmp(&b.values));
        }
    }
    permute(&mut first.samples, &order);
}

/// `samples` reordered: the `i`-th becomes the one at `order[i]`.
fn permute(samples: &mut Vec<crate::metrics::Sample>, order: &[usize]) {
    let mut slots: Vec<_> = std::mem::take(samples).into_iter().map(Some).collect();
    *samples = order
        .iter()
        .map(|&at| slots[at].take().expect("each sample once"))
        .collect();
}

/// A collector made of queries alone.
#[derive(Debug)]
pub struct QueryCollector {
    pub name: &'static str,
    /// Whether it runs when no flag says otherwise.
    pub enabled_by_default: bool,
    pub description: &'static str,
    pub scope: Scope,
    pub queries: &'static [Query],
}

impl Collector for QueryCollector {
    fn name(&self) -> &'static str {
        self.name
    }

    fn enabled_by_default(&self) -> bool {
        self.enabled_by_default
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn scope(&self) -> Scope {
        self.scope
    }

    fn tables(&self) -> &'static [Query] {
        self.queries
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        self.queries
            .iter()
            .flat_map(|q| q.columns.iter().flat_map(|c| descs(*c)))
            .collect()
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let mut families = Vec::new();
            for query in self.queries {
                families.extend(query.run(conn, ctx).await?);
            }
            Ok(families)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::Column;
    use super::super::testing::TestRow;
    use super::*;

    const A: Desc = Desc::gauge("pg_a", &["datname", "relname"], "a");
    const B: Desc = Desc::counter("pg_b_total", &["datname", "relname"], "b");
    const COLUMNS: Columns = Columns::new(&[Column::new("a", A), Column::new("b", B)]);

    #[test]
    fn families_ordered_here_are_in_the_order_of_their_labels() {
        let row = |schema: &str, table: &str, a: f64, b: Option<f64>| {
            TestRow::default()
                .text("datname", Some(schema))
                .text("relname", Some(table))
                .number("a", Some(a))
                .number("b", b)
        };
        let rows = [
            row("public", "tickets", 50.0, Some(3.0)),
            row("app", "orders", 10.0, None),
            row("public", "orders", 40.0, Some(2.0)),
            row("app_x", "a", 30.0, Some(4.0)),
            row("app", "wallets", 20.0, Some(1.0)),
        ];
        let mut families = families_from_rows(&rows, COLUMNS).unwrap();
        order_by_labels(&mut families);
        let order = |family: &Family| -> Vec<String> {
            let names = family.samples.iter().map(|s| s.values.to_vec().join("."));
            names.collect()
        };
        // Byte order, a value before a longer one it begins (PostgreSQL's
        // for `name`): "app" before "app_x".
        let all = [
            "app.orders",
            "app.wallets",
            "app_x.a",
            "public.orders",
            "public.tickets",
        ];
        assert_eq!(order(&families[0]), all);
        let values: Vec<f64> = families[0].samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [10.0, 20.0, 30.0, 40.0, 50.0]);
        // A column with a NULL has its own samples, ordered on their own.
        let b = ["app.wallets", "app_x.a", "public.orders", "public.tickets"];
        assert_eq!(order(&families[1]), b);
        let values: Vec<f64> = families[1].samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [1.0, 4.0, 2.0, 3.0], "each value with its labels");
        // Every column with every row: the first family's order, applied.
        let rows = [
            row("public", "tickets", 50.0, Some(5.0)),
            row("app", "orders", 10.0, Some(1.0)),
            row("app_x", "a", 30.0, Some(3.0)),
        ];
        let mut families = families_from_rows(&rows, COLUMNS).unwrap();
        order_by_labels(&mut families);
        let values: Vec<f64> = families[1].samples.iter().map(|s| s.value).collect();
        assert_eq!(values, [1.0, 3.0, 5.0]);
        assert_eq!(
            order(&families[1]),
            ["app.orders", "app_x.a", "public.tickets"]
        );
    }

    #[test]
    fn the_newest_variant_the_server_meets_runs() {
        const Q: Query = Query::new(&[(170000, "new"), (140000, "mid")], &[]);
        assert_eq!(Q.sql_for(180000), Some("new"));
        assert_eq!(Q.sql_for(170000), Some("new"));
        assert_eq!(Q.sql_for(160004), Some("mid"));
        assert_eq!(Q.sql_for(130000), None);
        assert!(Q.server_wide().server_wide);
    }
}
