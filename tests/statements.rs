//! pg_stat_statements: the top statements by time with their calls, rows and
//! timings, query texts read once and cut to length, the exporter's own
//! statements left out, `--collector.stat_statements.limit`, the statements
//! slow now (recent time) held for their hold time, and what is
//! reported when the extension is missing or of the oldest supported version.

mod support;

use support::{success, Exporter, PgCluster};

#[tokio::test]
async fn stat_statements_reports_top_statements_without_the_exporters_own() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    exporter.scrape().await;
    for _ in 0..5 {
        client
            .batch_execute("SELECT count(*) FROM generate_series(1, 20000)")
            .await
            .unwrap();
    }
    client
        .batch_execute("SELECT\n  1 +\n\t2   AS three")
        .await
        .unwrap();
    // PostgreSQL keeps a password given in a statement in its text.
    client
        .batch_execute("CREATE ROLE festival_victim LOGIN PASSWORD 'VictimPw-42'")
        .await
        .unwrap();
    // So does every utility statement with its literals and comments.
    client
        .batch_execute("SET work_mem = '7777kB' /* token 'Tok-99' */")
        .await
        .unwrap();
    let body = exporter.get("/metrics").await.body;
    for secret in ["VictimPw-42", "7777kB", "Tok-99"] {
        assert!(!body.contains(secret), "{secret} in a label");
    }
    let m = exporter.scrape().await;
    assert_eq!(m.value("pg_stat_statements_enabled", &[]), 1.0);
    assert_eq!(success(&m, "stat_statements"), 1.0);

    let texts = m.all("pg_stat_statements_query_id", &[]);
    let find = |needle: &str| {
        texts
            .iter()
            .find(|s| s.labels["query"].contains(needle))
            .unwrap_or_else(|| panic!("no text with {needle}: {texts:#?}"))
    };
    let series = find("generate_series");
    assert_eq!(
        series.labels["query"],
        "SELECT count(*) FROM generate_series($1, $2)"
    );
    let id = series.labels["queryid"].as_str();
    let labels = [
        ("user", "postgres"),
        ("datname", "postgres"),
        ("queryid", id),
    ];
    assert_eq!(m.value("pg_stat_statements_calls_total", &labels), 5.0);
    assert_eq!(m.value("pg_stat_statements_rows_total", &labels), 5.0);
    assert!(m.value("pg_stat_statements_seconds_total", &labels) > 0.0);
    // Times and the other counters, against the view's own columns for this
    // statement (block times split into shared and local from 1.11; in ms).
    let column = |json: &str| format!("coalesce(({json})::float8, 0)");
    let read_time = format!(
        "{} + {} + {}",
        column("to_jsonb(s)->>'blk_read_time'"),
        column("to_jsonb(s)->>'shared_blk_read_time'"),
        column("to_jsonb(s)->>'local_blk_read_time'")
    );
    let write_time = read_time.replace("read_time", "write_time");
    for (family, expression, scale) in [
        ("block_read_seconds", read_time.as_str(), 1000.0),
        ("block_write_seconds", write_time.as_str(), 1000.0),
        ("shared_blks_hit", "shared_blks_hit::float8", 1.0),
        ("shared_blks_read", "shared_blks_read::float8", 1.0),
        ("temp_blks_written", "temp_blks_written::float8", 1.0),
        ("plan_seconds", "total_plan_time", 1000.0),
        ("seconds", "total_exec_time", 1000.0),
    ] {
        let expected: f64 = client
            .query_one(
                &format!("SELECT sum({expression})::float8 FROM pg_stat_statements s WHERE queryid = $1::text::bigint"),
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        let got = m.value(&format!("pg_stat_statements_{family}_total"), &labels);
        assert!(
            (got - expected / scale).abs() < 1e-9,
            "{family}: {got} against the view's {expected} / {scale}"
        );
    }
    let mean_ms: f64 = client
        .query_one(
            "SELECT sum(mean_exec_time * calls) / sum(calls) FROM pg_stat_statements WHERE queryid = $1::text::bigint",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        (m.value("pg_stat_statements_mean_seconds", &labels) - mean_ms / 1000.0).abs() < 1e-9,
        "mean against the view's mean_exec_time {mean_ms} ms"
    );
    assert_eq!(find("AS three").labels["query"], "SELECT $1 + $2 AS three");
    // (PostgreSQL 18 normalises SET itself.)
    let set = &find("work_mem").labels["query"];
    assert!(
        set == "SET work_mem = ?" || set == "SET work_mem = $1",
        "{set}"
    );
    assert_eq!(find("CREATE ROLE").labels["query"], "CREATE ROLE");
    assert!(
        texts
            .iter()
            .all(|s| !s.labels["query"].contains("festival-pg-exporter")),
        "the exporter's own statements are left out: {texts:#?}"
    );
    // Only the exporter reads these views here: its statements are left out
    // however the server stores their texts (18 drops leading comments).
    assert!(
        texts.iter().all(|s| {
            let text = &s.labels["query"];
            !text.contains("pg_stat_activity") && !text.contains("pg_locks")
        }),
        "{texts:#?}"
    );
    assert_eq!(
        m.all("pg_stat_statements_calls_total", &[]).len(),
        texts.len()
    );

    // Texts are read once per statement: with nothing new, a scrape reads none.
    let text_reads = || async {
        let sql = "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements WHERE query LIKE '%pg_stat_statements(true)%' AND query LIKE '%festival-pg-exporter%'";
        client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0)
    };
    text_reads().await;
    exporter.scrape().await;
    let before = text_reads().await;
    exporter.scrape().await;
    assert_eq!(text_reads().await, before, "no text was read again");

    let limited = Exporter::start(
        &cluster.dsn(),
        &[
            "--collector.stat_statements.limit=2",
            // postgres_exporter's spelling of --collector.stat_statements.query-length=0
            "--collector.stat_statements.include_query=false",
        ],
    );
    // Total time per statement, the exporter's own aside. Totals only grow,
    // so a statement left out had, when the exporter ranked, at least its
    // total before the scrape, and one reported at most its total after.
    let ranked = || async {
        client
            .query(
                "SELECT queryid, sum(total_exec_time)::float8 FROM pg_stat_statements
                 WHERE query NOT LIKE '%festival-pg-exporter%' GROUP BY queryid",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect::<Vec<(i64, f64)>>()
    };
    let before = ranked().await;
    let m = limited.scrape().await;
    let after = ranked().await;
    assert_eq!(m.all("pg_stat_statements_calls_total", &[]).len(), 2);
    assert!(m.all("pg_stat_statements_query_id", &[]).is_empty());
    // The two reported are the top two by total time of all the server's
    // statements, read from the view itself.
    let emitted: Vec<i64> = m
        .all("pg_stat_statements_seconds_total", &[])
        .iter()
        .map(|s| s.labels["queryid"].parse().unwrap())
        .collect();
    let slower_reported = after
        .iter()
        .filter(|(id, _)| emitted.contains(id))
        .map(|(_, ms)| *ms)
        .fold(f64::INFINITY, f64::min);
    assert!(slower_reported.is_finite(), "{emitted:?} not in {after:?}");
    for (id, ms) in before.iter().filter(|(id, _)| !emitted.contains(id)) {
        assert!(
            *ms <= slower_reported,
            "statement {id} ({ms} ms) left out while one of {slower_reported} ms was reported"
        );
    }

    // postgres_exporter's exclusions: every statement here ran as postgres
    // in database postgres.
    for excluded in [
        "--collector.stat_statements.exclude_users=app,postgres",
        "--collector.stat_statements.exclude_databases=postgres",
    ] {
        let m = Exporter::start(&cluster.dsn(), &[excluded]).scrape().await;
        assert_eq!(success(&m, "stat_statements"), 1.0);
        assert!(
            m.all("pg_stat_statements_calls_total", &[]).is_empty(),
            "{excluded}"
        );
    }
    let m = Exporter::start(
        &cluster.dsn(),
        &["--collector.stat_statements.exclude_users=app"],
    )
    .scrape()
    .await;
    assert!(!m.all("pg_stat_statements_calls_total", &[]).is_empty());
}

#[tokio::test]
async fn stat_statements_missing_or_old_extension() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    for _ in 0..3 {
        let m = exporter.scrape().await;
        assert_eq!(m.value("pg_stat_statements_enabled", &[]), 0.0);
        assert_eq!(
            success(&m, "stat_statements"),
            1.0,
            "a missing extension is not an error"
        );
        assert!(m.all("pg_stat_statements_calls_total", &[]).is_empty());
    }
    assert_eq!(
        exporter
            .stderr()
            .matches("pg_stat_statements_enabled is 0")
            .count(),
        1,
        "{}",
        exporter.stderr()
    );

    // The oldest supported extension version on whatever server this is.
    let client = cluster.client().await;
    client
        .batch_execute(
            "CREATE EXTENSION pg_stat_statements VERSION '1.8'; CREATE TABLE tickets (id int)",
        )
        .await
        .unwrap();
    for _ in 0..3 {
        client
            .batch_execute("SELECT count(*) FROM tickets")
            .await
            .unwrap();
    }
    let m = exporter.scrape().await;
    assert_eq!(m.value("pg_stat_statements_enabled", &[]), 1.0);
    assert_eq!(success(&m, "stat_statements"), 1.0);
    let text = m
        .all("pg_stat_statements_query_id", &[])
        .into_iter()
        .find(|s| s.labels["query"] == "SELECT count(*) FROM tickets")
        .unwrap()
        .clone();
    assert_eq!(
        m.value(
            "pg_stat_statements_calls_total",
            &[("queryid", &text.labels["queryid"])]
        ),
        3.0
    );
}

#[tokio::test]
async fn stat_statements_exports_a_statement_slow_now_and_holds_it() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--collector.stat_statements.limit=1",
            "--collector.stat_statements.recent-limit=1",
            "--collector.stat_statements.recent-hold=4s",
        ],
    );
    let heavy = "SELECT count(*) FROM generate_series(1, 2000000) AS heavy";
    let slow = "SELECT pg_sleep(0.2) AS slow_now";
    for _ in 0..4 {
        client.batch_execute(heavy).await.unwrap();
    }
    let id = |text: &'static str| {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT queryid::text FROM pg_stat_statements WHERE query LIKE $1",
                    &[&format!("%{}", &text[text.len() - 8..])],
                )
                .await
                .unwrap();
            row.get::<_, String>(0)
        }
    };
    let exported = |m: &support::Metrics| -> Vec<String> {
        m.all("pg_stat_statements_seconds_total", &[])
            .iter()
            .map(|s| s.labels["queryid"].clone())
            .collect()
    };
    let heavy_id = id(heavy).await;
    assert_eq!(exported(&exporter.scrape().await), [heavy_id.clone()]);
    // A new statement, slow now, with less time in total than the heavy one.
    client.batch_execute(slow).await.unwrap();
    client.batch_execute(slow).await.unwrap();
    let slow_id = id(slow).await;
    let total = |id: String| {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT sum(total_exec_time)::float8 FROM pg_stat_statements WHERE queryid::text = $1",
                    &[&id],
                )
                .await
                .unwrap();
            row.get::<_, f64>(0)
        }
    };
    assert!(total(heavy_id.clone()).await > total(slow_id.clone()).await);
    let m = exporter.scrape().await;
    let mut both = exported(&m);
    both.sort();
    let mut expected = vec![heavy_id.clone(), slow_id.clone()];
    expected.sort();
    assert_eq!(both, expected, "the statement slow now joins the top one");
    // Not running any more: held for the hold time, then let go.
    assert!(exported(&exporter.scrape().await).contains(&slow_id));
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(exported(&exporter.scrape().await), [heavy_id.clone()]);

    // After a reset every total is lower: counted from zero, the slow one
    // chosen again when it runs, no negative change chooses anything.
    client
        .batch_execute("SELECT pg_stat_statements_reset()")
        .await
        .unwrap();
    for _ in 0..4 {
        client.batch_execute(heavy).await.unwrap();
    }
    exporter.scrape().await;
    client.batch_execute(slow).await.unwrap();
    assert!(total(heavy_id.clone()).await > total(slow_id.clone()).await);
    let m = exporter.scrape().await;
    assert!(exported(&m).contains(&slow_id), "{:?}", exported(&m));
    assert_eq!(success(&m, "stat_statements"), 1.0);
}
