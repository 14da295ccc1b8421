//! Declarative collectors: a collector that only maps query rows to families
//! is a [`QueryCollector`] — its name, scope and a list of [`Query`] (the SQL
//! per server version and the column tables its rows fill) — with no code of
//! its own. The tests here check every such collector of the registry
//! against its SQL files and its mapping, so adding one is its SQL plus a
//! table (see CONTRIBUTING.md).

use futures::future::BoxFuture;

use super::rows::{descs, families_from_rows, Columns};
use super::{CollectError, Collector, Context, Options, Scope};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

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
}

impl Query {
    /// A query with one SQL text for every supported version.
    pub const fn new(sql: &'static [(i32, &'static str)], columns: &'static [Columns]) -> Query {
        Query {
            sql,
            columns,
            server_wide: false,
            param: None,
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
}

/// A collector made of queries alone.
#[derive(Debug)]
pub struct QueryCollector {
    pub name: &'static str,
    pub description: &'static str,
    pub scope: Scope,
    pub queries: &'static [Query],
}

impl Collector for QueryCollector {
    fn name(&self) -> &'static str {
        self.name
    }

    fn description(&self) -> &'static str {
        self.description
    }

    fn scope(&self) -> Scope {
        self.scope
    }

    fn queries(&self) -> &'static [Query] {
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
                if query.server_wide && !ctx.server_wide {
                    continue;
                }
                let Some(sql) = query.sql_for(ctx.server.version_num) else {
                    continue;
                };
                let rows = match query.param {
                    Some(param) => conn.query(sql, &[&param(&ctx.options)]).await?,
                    None => conn.query(sql, &[]).await?,
                };
                for columns in query.columns {
                    families.extend(families_from_rows(&rows, *columns)?);
                }
            }
            Ok(families)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::check_table;
    use super::super::COLLECTORS;
    use super::*;

    /// Every declarative query of the registry.
    fn queries() -> Vec<(&'static str, &'static Query)> {
        COLLECTORS
            .iter()
            .flat_map(|c| c.queries().iter().map(|q| (c.name(), q)))
            .collect()
    }

    /// Whether `sql` names `column` as a whole word (an alias or a column of
    /// the view it selects from).
    fn aliases(sql: &str, column: &str) -> bool {
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        sql.match_indices(column).any(|(at, _)| {
            let before = sql[..at].chars().next_back();
            let after = sql[at + column.len()..].chars().next();
            !before.is_some_and(word) && !after.is_some_and(word)
        })
    }

    #[test]
    fn the_registry_has_declarative_collectors() {
        let names: std::collections::BTreeSet<_> = queries().iter().map(|(n, _)| *n).collect();
        assert!(names.len() >= 8, "{names:?}");
    }

    #[test]
    fn every_label_is_in_every_sql_variant_and_every_column_in_one() {
        for (name, query) in queries() {
            assert!(!query.sql.is_empty(), "{name}: a query without SQL");
            assert!(
                query.sql.windows(2).all(|w| w[0].0 > w[1].0),
                "{name}: SQL variants are not newest first"
            );
            for columns in query.columns {
                for label in columns.labels() {
                    for (min, sql) in query.sql {
                        assert!(
                            aliases(sql, label),
                            "{name}: label {label} not in the SQL for {min}"
                        );
                    }
                }
                for column in columns.all() {
                    assert!(
                        query.sql.iter().any(|(_, sql)| aliases(sql, column.column)),
                        "{name}: column {} is in no SQL variant",
                        column.column
                    );
                }
            }
        }
    }

    #[test]
    fn every_declarative_mapping_turns_a_row_into_one_sample_per_column() {
        for (_, query) in queries() {
            for columns in query.columns {
                check_table(*columns);
            }
        }
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
