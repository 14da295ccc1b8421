//! The collectors' SQL against their column tables, on a real server of the
//! major the suite runs on: every table-mapped query (each collector's
//! `Collector::tables`) is prepared, in the festival schema, with the variant
//! this server version picks, and each label the table reads must be a text
//! column and each value a `float8` column of that statement, exactly as the
//! mapping reads them. A value column may be missing only when another
//! version's variant has it (the family then has no samples on this server).

mod support;

use festival_pg_exporter::collectors::{table_statistics, COLLECTORS};
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

/// The per-table queries read the catalog and the statistics functions
/// directly, which is cheaper at thousands of tables than PostgreSQL's views:
/// each returns exactly the rows, in the same order, that its reference in
/// tests/views (the plain way, through the views) returns, on a database
/// with relations of every kind, and a temporary table of another session.
#[tokio::test]
async fn direct_catalog_reads_return_what_the_views_return() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    // No autovacuum: VACUUM and ANALYZE change reltuples and relfrozenxid in
    // place, which even a running transaction sees.
    for sql in [
        "ALTER SYSTEM SET autovacuum = off",
        "SELECT pg_reload_conf()",
    ] {
        client.batch_execute(sql).await.unwrap();
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/views");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
    let setup = read("fixture.sql");
    for statement in setup.split(";\n").filter(|s| !s.trim().is_empty()) {
        client.batch_execute(statement).await.unwrap();
    }
    let other = cluster.client().await;
    other
        .batch_execute(
            "CREATE TEMP TABLE work (id int PRIMARY KEY, body text);
             INSERT INTO work SELECT g, repeat('t', 5000) FROM generate_series(1, 20) g",
        )
        .await
        .unwrap();
    // The statistics of the sessions above, before anything is compared.
    drop(client);
    let client = cluster.client().await;
    support::eventually(support::WAIT, "the fixture's statistics", || async {
        let row = client
            .query_one(
                "SELECT pg_stat_get_tuples_inserted('app.three_index'::regclass)",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 2000).then_some(())
    })
    .await;
    let version = cluster.version_num().await;
    // The rows of two statements read in one transaction (one snapshot of the
    // statistics and one now()), each sorted: some come unordered, the
    // exporter orders them.
    let both = |expected: String, got: String| {
        let client = &client;
        async move {
            let rows = |sql: String| async move {
                let mut rows: Vec<Vec<Option<String>>> = client
                    .simple_query(&sql)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                            (0..row.len())
                                .map(|i| row.get(i).map(str::to_string))
                                .collect::<Vec<_>>(),
                        ),
                        _ => None,
                    })
                    .collect();
                rows.sort();
                rows
            };
            client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                .await
                .unwrap();
            if version >= 150000 {
                client
                    .batch_execute("SET LOCAL stats_fetch_consistency = snapshot")
                    .await
                    .unwrap();
            }
            let expected = rows(expected).await;
            let got = rows(got).await;
            client.batch_execute("COMMIT").await.unwrap();
            (expected, got)
        }
    };
    for (name, param) in [
        ("health", Some("0.2")),
        ("health", Some("0")),
        ("stat_user_indexes", None),
        ("autovacuum_tables", None),
        ("partitions", None),
    ] {
        let bind = |sql: String| match param {
            Some(value) => sql.replace("$1", value),
            None => sql,
        };
        let ours = bind(
            std::fs::read_to_string(format!("{}/queries/{name}.sql", env!("CARGO_MANIFEST_DIR")))
                .unwrap(),
        );
        let reference = bind(read(&format!("{name}.sql")));
        let (expected, got) = both(reference, ours).await;
        assert!(!expected.is_empty(), "{name}: the fixture gives rows");
        assert_eq!(
            got, expected,
            "{name} ({param:?}) differs from its reference"
        );
    }

    // The shared per-table read gives each member collector exactly its own
    // query's rows and values, in its columns and types; a row outside a
    // member's own (a partitioned table) has only NULLs in its columns.
    let shared = table_statistics::READ.sql_for(version).unwrap();
    let statement = client.prepare(shared).await.unwrap();
    let mut compared = 0;
    for (name, query) in table_statistics::MEMBERS {
        let own = query.sql_for(version).unwrap();
        for table in query.columns {
            let labels = table.labels().join(", ");
            let values: Vec<&str> = table.all().iter().map(|c| c.column).collect();
            for (column, expected) in table
                .labels()
                .iter()
                .map(|l| (*l, Type::TEXT))
                .chain(values.iter().map(|v| (*v, Type::FLOAT8)))
            {
                let found = statement.columns().iter().find(|c| c.name() == column);
                assert_eq!(
                    found.map(|c| c.type_().clone()),
                    Some(expected),
                    "{name}: column {column} of the shared read"
                );
            }
            let values = values.join(", ");
            let (expected, got) = both(
                format!("SELECT {labels}, {values} FROM ({own}) q"),
                format!(
                    "SELECT {labels}, {values} FROM ({shared}) q WHERE num_nonnulls({values}) > 0"
                ),
            )
            .await;
            assert!(expected.len() > 10, "{name}: the fixture gives rows");
            assert_eq!(
                got, expected,
                "{name}: the shared read differs from its own query"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "every member's table compared");
    // And sizes' list of tables: its columns and types, the same rows (a row
    // without relid is not one of its tables).
    let sizes_columns = [
        ("relid", Type::OID),
        ("schemaname", Type::TEXT),
        ("relname", Type::TEXT),
        ("exclusive", Type::BOOL),
        ("written", Type::BOOL),
        ("filenode", Type::INT8),
        ("writes", Type::INT8),
        ("maintenance", Type::INT8),
    ];
    let own = std::fs::read_to_string(format!(
        "{}/queries/sizes_tables.sql",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let own_statement = client.prepare(&own).await.unwrap();
    for (column, expected) in &sizes_columns {
        for (which, statement) in [("shared", &statement), ("own", &own_statement)] {
            let found = statement.columns().iter().find(|c| c.name() == *column);
            assert_eq!(
                found.map(|c| c.type_().clone()).as_ref(),
                Some(expected),
                "sizes: column {column} of the {which} read"
            );
        }
    }
    let columns: Vec<&str> = sizes_columns.iter().map(|(c, _)| *c).collect();
    let columns = columns.join(", ");
    // Another session holds a lock that writes and an exclusive one.
    other
        .batch_execute(
            "BEGIN; LOCK TABLE app.one_index IN ROW EXCLUSIVE MODE;
             LOCK TABLE app.no_index IN ACCESS EXCLUSIVE MODE",
        )
        .await
        .unwrap();
    let (expected, got) = both(
        format!("SELECT {columns} FROM ({own}) q"),
        format!("SELECT {columns} FROM ({shared}) q WHERE relid IS NOT NULL"),
    )
    .await;
    assert!(expected.len() > 10, "sizes: the fixture gives rows");
    assert_eq!(
        got, expected,
        "sizes: the shared read differs from its own query"
    );
    let locked = |name: &str| {
        let row = expected
            .iter()
            .find(|r| r[2].as_deref() == Some(name))
            .unwrap();
        (row[3].clone().unwrap(), row[4].clone().unwrap())
    };
    assert_eq!(locked("one_index"), ("f".to_string(), "t".to_string()));
    assert_eq!(locked("no_index"), ("t".to_string(), "t".to_string()));
    other.batch_execute("COMMIT").await.unwrap();
    drop(other);
}

/// Whether `sql` has `word` as a whole word.
fn mentions(sql: &str, word: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '_';
    sql.match_indices(word).any(|(at, _)| {
        !sql[..at].chars().next_back().is_some_and(part)
            && !sql[at + word.len()..].chars().next().is_some_and(part)
    })
}

/// The collectors that read per-table statistics share one statement when
/// more than one of them runs its query in a scrape, and run their own when
/// only one does: disabled, or serving a result younger than its minimum
/// interval. Counted in pg_stat_statements.
#[tokio::test]
async fn per_table_statistics_are_read_once_for_the_collectors_that_share_them() {
    let cluster = PgCluster::start();
    // Two tables whose every column differs from the others': no family
    // taken from the wrong column could pass the comparison at the end.
    support::run_and_disconnect(
        &cluster,
        "CREATE EXTENSION pg_stat_statements;
         CREATE TABLE tickets (id int PRIMARY KEY, note text);
         CREATE TABLE wallets (id int PRIMARY KEY)
             WITH (autovacuum_vacuum_threshold = 7, autovacuum_analyze_scale_factor = 0.3);
         INSERT INTO tickets SELECT g, repeat('n', g) FROM generate_series(1, 23) g;
         INSERT INTO wallets SELECT generate_series(1, 11);
         UPDATE tickets SET note = 'x' WHERE id <= 5;
         DELETE FROM tickets WHERE id > 20;
         SELECT count(*) FROM tickets;
         SELECT note FROM tickets WHERE id = 4;",
    )
    .await;
    let client = cluster.client().await;
    support::eventually(support::WAIT, "the setup's statistics", || async {
        let row = client
            .query_one(
                "SELECT n_tup_del FROM pg_stat_user_tables WHERE relname = 'tickets'",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 3).then_some(())
    })
    .await;
    // Each statement by a phrase of its file that no other of them has
    // (newer pg_stat_statements drop the comments that open a statement).
    let files = [
        ("table_statistics", "AS has_storage"),
        ("stat_user_tables", "FROM pg_stat_user_tables"),
        ("statio_user_tables", "FROM pg_statio_user_tables"),
        (
            "autovacuum_tables",
            "SELECT n.nspname, c.relname, c.relfrozenxid",
        ),
        ("sizes_tables", "FROM locked GROUP BY oid"),
    ];
    for (file, phrase) in files {
        for (other, _) in files {
            let sql = std::fs::read_to_string(format!(
                "{}/queries/{other}.sql",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert_eq!(
                sql.contains(phrase),
                file == other,
                "{phrase:?} in {other}.sql"
            );
        }
    }
    // Statements run per file since the last call, in the order of `files`.
    let runs = || async {
        let mut counts = Vec::new();
        for (_, phrase) in files {
            let row = client
                .query_one(
                    "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements \
                     WHERE strpos(query, $1) > 0",
                    &[&phrase],
                )
                .await
                .unwrap();
            counts.push(row.get::<_, i64>(0));
        }
        client
            .execute("SELECT pg_stat_statements_reset()", &[])
            .await
            .unwrap();
        counts
    };
    let tickets = [("relname", "tickets")];
    let per_table = [
        "pg_stat_user_tables_",
        "pg_statio_user_tables_",
        "pg_table_autovacuum_",
    ];
    let mut readings = Vec::new();
    for (args, first, second) in [
        // All four: one shared read per scrape.
        (vec![], [1, 0, 0, 0, 0], [1, 0, 0, 0, 0]),
        // One alone runs its own query.
        (
            vec![
                "--no-collector.statio_user_tables",
                "--no-collector.autovacuum",
                "--no-collector.sizes",
            ],
            [0, 1, 0, 0, 0],
            [0, 1, 0, 0, 0],
        ),
        // The two views with a third share; a member serving its cached
        // result is not counted: the two views alone run their own.
        (
            vec![
                "--collector.autovacuum.min-interval=1h",
                "--collector.sizes.min-interval=1h",
            ],
            [1, 0, 0, 0, 0],
            [0, 1, 1, 0, 0],
        ),
        // Without both views, no sharing.
        (
            vec!["--no-collector.statio_user_tables"],
            [0, 1, 0, 1, 1],
            [0, 1, 0, 1, 1],
        ),
    ] {
        let exporter = support::Exporter::start(&cluster.dsn(), &args);
        runs().await;
        for expected in [first, second] {
            let m = exporter.scrape().await;
            assert_eq!(runs().await, expected, "{args:?}");
            // Every series of the per-table families, as read this time.
            let series: Vec<String> = m
                .series
                .iter()
                .filter(|s| per_table.iter().any(|p| s.name.starts_with(p)))
                .map(|s| format!("{} {:?} {}", s.name, s.labels, s.value))
                .collect();
            readings.push((args.clone(), expected[0] == 1, series));
            assert!(m.get("pg_stat_user_tables_n_live_tup", &tickets).is_some());
            for (collector, family) in [
                (
                    "statio_user_tables",
                    "pg_statio_user_tables_heap_blocks_hit",
                ),
                ("autovacuum", "pg_table_autovacuum_enabled"),
                ("sizes", "pg_stat_user_tables_table_size_bytes"),
            ] {
                let on = !args
                    .iter()
                    .any(|a| a.contains(collector) && a.starts_with("--no-"));
                assert_eq!(
                    m.get(family, &tickets).is_some(),
                    on,
                    "{family} with {args:?}"
                );
            }
        }
    }
    // The families of all four collectors are the same, series for series,
    // whether read through the shared statement or each by its own query
    // (nothing writes to the table in between).
    let all_on: Vec<_> = readings
        .iter()
        .filter(|(args, ..)| args.iter().all(|a| !a.starts_with("--no-")))
        .collect();
    let shared = all_on.iter().find(|(_, shared, _)| *shared).unwrap();
    let own = all_on.iter().find(|(_, shared, _)| !*shared).unwrap();
    assert!(shared.2.len() > 70, "{:?}", shared.2);
    assert_eq!(shared.2, own.2);
}
