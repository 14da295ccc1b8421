//! The collectors' SQL against their column tables, on a real server of the
//! major the suite runs on: every table-mapped query (each collector's
//! `Collector::tables`) is prepared, in the festival schema, with the variant
//! this server version picks, and each label the table reads must be a text
//! column and each value a `float8` column of that statement, exactly as the
//! mapping reads them. A value column may be missing only when another
//! version's variant has it (the family then has no samples on this server).

mod support;

use festival_pg_exporter::collectors::COLLECTORS;
use support::PgCluster;
use tokio_postgres::types::{FromSql, Type};

#[tokio::test]
async fn every_table_mapped_query_has_the_columns_and_types_its_table_reads() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    let schema =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/festival.sql"))
            .unwrap();
    client.batch_execute(&schema).await.unwrap();
    let version = cluster.version_num().await;
    if version >= 160000 {
        // buffercache_summary reads the extension's function.
        client
            .batch_execute("CREATE EXTENSION pg_buffercache")
            .await
            .unwrap();
    }

    let mut checked = 0;
    let mut problems = Vec::new();
    for collector in COLLECTORS {
        for (at, query) in collector.tables().iter().enumerate() {
            let Some(sql) = query.sql_for(version) else {
                continue;
            };
            let statement = match client.prepare(sql).await {
                Ok(statement) => statement,
                Err(err) => {
                    problems.push(format!(
                        "{} query {at}: does not prepare: {err:?}",
                        collector.name()
                    ));
                    continue;
                }
            };
            let type_of = |name: &str| -> Option<Type> {
                statement
                    .columns()
                    .iter()
                    .find(|c| c.name() == name)
                    .map(|c| c.type_().clone())
            };
            for table in query.columns {
                for label in table.labels() {
                    match type_of(label) {
                        Some(t) if <Option<String> as FromSql>::accepts(&t) => {}
                        other => problems.push(format!(
                            "{} query {at}: label {label} is {other:?}, not text",
                            collector.name()
                        )),
                    }
                }
                for column in table.all() {
                    match type_of(column.column) {
                        Some(t) if <Option<f64> as FromSql>::accepts(&t) => {}
                        None if query
                            .sql
                            .iter()
                            .any(|(_, other)| *other != sql && mentions(other, column.column)) => {}
                        other => problems.push(format!(
                            "{} query {at}: column {} is {other:?}, not float8",
                            collector.name(),
                            column.column
                        )),
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Every declarative collector and the plain parts of the others: a
    // registry that lost its tables would make this test vacuous.
    assert!(checked >= 20, "only {checked} tables checked");
}

/// Whether `sql` has `word` as a whole word.
fn mentions(sql: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(word).any(|(at, _)| {
        !sql[..at].chars().next_back().is_some_and(part)
            && !sql[at + word.len()..].chars().next().is_some_and(part)
    })
}
