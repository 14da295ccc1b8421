//! Dead space and its cleanup: each table's autovacuum policy and trigger
//! points, a throttled autovacuum seen in progress, transaction ID wraparound
//! ages, and the bloat estimate next to pgstattuple's measurement (with its
//! size floor and minimum interval).

mod support;

use std::time::Duration;

use support::{
    eventually, run_and_disconnect, success, Exporter, Metrics, PgCluster, SLOW_AUTOVACUUM, WAIT,
};

#[tokio::test]
async fn autovacuum_policy_progress_and_wraparound_ages() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    run_and_disconnect(
        &cluster,
        "CREATE TABLE transactions (id int, amount numeric) WITH (
             autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.01,
             autovacuum_analyze_threshold = 500, autovacuum_analyze_scale_factor = 0.005);
         CREATE TABLE wallets (id int) WITH (autovacuum_enabled = false);
         INSERT INTO transactions SELECT g, g FROM generate_series(1, 10000) g;
         ANALYZE transactions",
    )
    .await;
    let m = exporter.scrape().await;
    let t = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "transactions"),
    ];
    let w = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "wallets"),
    ];
    assert_eq!(m.value("pg_table_autovacuum_enabled", &t), 1.0);
    assert_eq!(m.value("pg_table_autovacuum_vacuum_threshold", &t), 1000.0);
    assert_eq!(m.value("pg_table_autovacuum_vacuum_scale_factor", &t), 0.01);
    assert_eq!(m.value("pg_table_autovacuum_analyze_threshold", &t), 500.0);
    assert_eq!(
        m.value("pg_table_autovacuum_analyze_scale_factor", &t),
        0.005
    );
    assert_eq!(
        m.value("pg_table_autovacuum_vacuum_trigger_tuples", &t),
        1100.0
    );
    assert_eq!(
        m.value("pg_table_autovacuum_analyze_trigger_tuples", &t),
        550.0
    );
    assert_eq!(m.value("pg_table_autovacuum_enabled", &w), 0.0);
    assert_eq!(
        m.value("pg_table_autovacuum_vacuum_threshold", &w),
        50.0,
        "server default"
    );
    assert_eq!(
        m.value("pg_table_autovacuum_vacuum_scale_factor", &w),
        0.2,
        "server default"
    );
    assert!(m.value("pg_stat_user_tables_frozen_xid_age", &t) >= 1.0);
    assert!(m.value("pg_database_frozen_xid_age", &[("datname", "postgres")]) >= 1.0);
    assert!(m.value("pg_database_frozen_xid_age", &[("datname", "template0")]) >= 1.0);
    assert!(m.all("pg_stat_progress_vacuum_phase", &[]).is_empty());

    // A throttled autovacuum of many dead tuples runs long enough to be seen.
    let before_vacuum = std::time::Instant::now();
    run_and_disconnect(&cluster, SLOW_AUTOVACUUM).await;
    let a = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "audit_logs"),
    ];
    let m = eventually(WAIT, "autovacuum of audit_logs in progress", || async {
        let m = exporter.scrape().await;
        (!m.all("pg_stat_progress_vacuum_phase", &a).is_empty()).then_some(m)
    })
    .await;
    assert_eq!(m.all("pg_stat_progress_vacuum_phase", &a)[0].value, 1.0);
    assert_eq!(m.value("pg_stat_progress_vacuum_is_autovacuum", &a), 1.0);
    assert!(m.value("pg_stat_progress_vacuum_heap_blks", &a) > 100.0);
    assert!(
        m.value("pg_stat_progress_vacuum_heap_blks_scanned", &a)
            <= m.value("pg_stat_progress_vacuum_heap_blks", &a)
    );
    // It started after the dead tuples were made, by this test's own clock.
    let running = m.value("pg_stat_progress_vacuum_running_seconds", &a);
    assert!(
        running >= 0.0 && running <= before_vacuum.elapsed().as_secs_f64(),
        "running {running} s, {:?} since the table was made",
        before_vacuum.elapsed()
    );
    assert_eq!(m.value("pg_stat_progress_vacuum_index_vacuums", &a), 0.0);
    if cluster.version_num().await >= 170000 {
        assert!(m.value("pg_stat_progress_vacuum_max_dead_tuple_bytes", &a) > 0.0);
        assert!(m
            .get("pg_stat_progress_vacuum_dead_tuple_bytes", &a)
            .is_some());
        assert!(m
            .get("pg_stat_progress_vacuum_num_dead_item_ids", &a)
            .is_some());
        assert!(
            m.all("pg_stat_progress_vacuum_max_dead_tuples", &[])
                .is_empty(),
            "the tuple-count name is not reused for bytes"
        );
    } else {
        assert!(m.value("pg_stat_progress_vacuum_max_dead_tuples", &a) > 0.0);
        assert!(m
            .get("pg_stat_progress_vacuum_num_dead_tuples", &a)
            .is_some());
        assert!(m
            .all("pg_stat_progress_vacuum_max_dead_tuple_bytes", &[])
            .is_empty());
    }
}

#[tokio::test]
async fn bloat_estimate_and_pgstattuple_see_wasted_space_and_stay_sane() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE transactions (id int PRIMARY KEY, amount numeric, note text) WITH (autovacuum_enabled = off);
         INSERT INTO transactions SELECT g, g * 1.5, 'purchase ' || g FROM generate_series(1, 100000) g;
         CREATE TABLE transactions_fresh (LIKE transactions INCLUDING ALL) WITH (autovacuum_enabled = off);
         INSERT INTO transactions_fresh SELECT * FROM transactions;
         DELETE FROM transactions WHERE id % 10 <> 0;
         VACUUM transactions;
         ANALYZE transactions;
         ANALYZE transactions_fresh;
         CREATE TABLE tickets (id int, seat text) WITH (autovacuum_enabled = off);
         INSERT INTO tickets SELECT g, 'A' || g FROM generate_series(1, 20000) g;
         VACUUM tickets;
         CREATE TABLE counters (a int, b bigint, c timestamptz, d float8) WITH (autovacuum_enabled = off);
         INSERT INTO counters SELECT g, g, now(), g FROM generate_series(1, 50000) g;
         ANALYZE counters;
         CREATE TABLE documents (body text) WITH (autovacuum_enabled = off);
         ALTER TABLE documents ALTER COLUMN body SET STORAGE EXTERNAL;
         INSERT INTO documents SELECT repeat(md5(g::text), 200) FROM generate_series(1, 2000) g;
         ANALYZE documents",
    )
    .await;
    let every = [
        "--collector.bloat.min-interval=0s",
        "--collector.bloat.min-size=0",
    ];
    let exporter = Exporter::start(&cluster.dsn(), &every);
    let m = exporter.scrape().await;
    assert_eq!(success(&m, "bloat"), 1.0);
    let table = |m: &Metrics, name: &str| m.get("pg_table_bloat_ratio", &[("relname", name)]);
    let bloated = table(&m, "transactions").unwrap();
    let fresh = table(&m, "transactions_fresh").unwrap();
    assert!(bloated > 0.7, "90% deleted and vacuumed: ratio {bloated}");
    assert!(fresh < 0.2, "freshly loaded copy: ratio {fresh}");
    let bytes = m.value("pg_table_bloat_bytes", &[("relname", "transactions")]);
    let client = cluster.client().await;
    // The size from the main fork's file on disk, not from the size functions
    // the collector calls.
    let file: String = client
        .query_one("SELECT pg_relation_filepath('transactions')", &[])
        .await
        .unwrap()
        .get(0);
    let size = std::fs::metadata(cluster.data_dir().join(&file))
        .unwrap()
        .len() as f64;
    assert!(
        (bytes - bloated * size).abs() < 1.0,
        "bytes {bytes} = ratio {bloated} x the file's {size} bytes"
    );
    assert!(
        table(&m, "tickets").is_none(),
        "never analyzed: no statistics, no guess"
    );
    let fixed = table(&m, "counters").unwrap();
    assert!(
        (0.0..0.25).contains(&fixed),
        "fixed-width columns only: {fixed}"
    );
    let toasted = table(&m, "documents").unwrap();
    assert!(
        (0.0..=1.0).contains(&toasted),
        "TOASTed column only: {toasted}"
    );
    for family in ["pg_table_bloat_ratio", "pg_index_bloat_ratio"] {
        for s in m.all(family, &[]) {
            assert!(
                (0.0..=1.0).contains(&s.value),
                "{family} {:?} = {}",
                s.labels,
                s.value
            );
        }
    }
    for family in ["pg_table_bloat_bytes", "pg_index_bloat_bytes"] {
        assert!(
            m.all(family, &[]).iter().all(|s| s.value >= 0.0),
            "{family} negative"
        );
    }
    let pkey = [
        ("relname", "transactions"),
        ("indexrelname", "transactions_pkey"),
    ];
    let index_before = m.value("pg_index_bloat_ratio", &pkey);
    assert!(
        index_before > 0.6,
        "index after mass deletes: {index_before}"
    );

    // The size floor: by default small relations add no series.
    let floor = Exporter::start(&cluster.dsn(), &["--collector.bloat.min-interval=0s"]);
    let m = floor.scrape().await;
    assert!(
        m.all("pg_table_bloat_ratio", &[]).is_empty(),
        "every test table is under 10 MiB"
    );

    // The minimum interval: a second scrape serves the first result.
    let cached = Exporter::start(&cluster.dsn(), &["--collector.bloat.min-size=0"]);
    let first = cached.scrape().await;
    assert_eq!(
        first.value(
            "pg_scrape_collector_cache_age_seconds",
            &[("collector", "bloat")]
        ),
        0.0
    );
    run_and_disconnect(&cluster, "REINDEX TABLE transactions").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = cached.scrape().await;
    assert!(
        second.value(
            "pg_scrape_collector_cache_age_seconds",
            &[("collector", "bloat")]
        ) > 0.0
    );
    assert_eq!(
        second.value("pg_index_bloat_ratio", &pkey),
        index_before,
        "served from the cache"
    );
    assert!(second
        .get(
            "pg_scrape_collector_cache_age_seconds",
            &[("collector", "sizes")]
        )
        .is_none());
    // A database's size is served from its first measurement by default,
    // though REINDEX changed it, with its age; measured on every scrape with 0s.
    let db = [("datname", "postgres")];
    let size = first.value("pg_database_size_bytes", &db);
    assert_eq!(first.value("pg_database_size_age_seconds", &db), 0.0);
    assert_eq!(second.value("pg_database_size_bytes", &db), size);
    assert!(second.value("pg_database_size_age_seconds", &db) > 0.0);
    let measuring = Exporter::start(&cluster.dsn(), &["--collector.database.size-interval=0s"]);
    let before = measuring
        .scrape()
        .await
        .value("pg_database_size_bytes", &db);
    assert_ne!(before, size, "REINDEX changed the database's size");
    run_and_disconnect(
        &cluster,
        "CREATE TABLE grown WITH (autovacuum_enabled = off) AS SELECT generate_series(1, 100000) AS n",
    )
    .await;
    let after = measuring.scrape().await;
    assert!(after.value("pg_database_size_bytes", &db) > before + 1e6);
    assert_eq!(after.value("pg_database_size_age_seconds", &db), 0.0);

    let m = exporter.scrape().await;
    let index_after = m.value("pg_index_bloat_ratio", &pkey);
    assert!(
        index_after < index_before / 2.0,
        "REINDEX: {index_before} -> {index_after}"
    );

    // The measured method, side by side with the estimate.
    cluster
        .client()
        .await
        .batch_execute("CREATE EXTENSION pgstattuple")
        .await
        .unwrap();
    run_and_disconnect(&cluster, "CREATE INDEX transactions_amount ON transactions (amount);\nDELETE FROM transactions WHERE id % 20 <> 0;\nVACUUM ANALYZE transactions").await;
    let mut args = every.to_vec();
    args.push("--collector.bloat.method=pgstattuple_approx");
    let measured = Exporter::start(&cluster.dsn(), &args).scrape().await;
    let estimated = exporter.scrape().await;
    assert_eq!(success(&measured, "bloat"), 1.0);
    for relname in [
        "transactions",
        "transactions_fresh",
        "counters",
        "documents",
    ] {
        let (e, p) = (
            table(&estimated, relname).unwrap(),
            table(&measured, relname).unwrap(),
        );
        println!("table {relname}: estimate {e:.3}, pgstattuple_approx {p:.3}");
        assert!(
            (e - p).abs() < 0.15,
            "table {relname}: the estimate {e:.3} and pgstattuple_approx {p:.3} disagree"
        );
    }
    for index in [
        "transactions_pkey",
        "transactions_amount",
        "transactions_fresh_pkey",
    ] {
        let labels = [("indexrelname", index)];
        let (e, p) = (
            estimated.value("pg_index_bloat_ratio", &labels),
            measured.value("pg_index_bloat_ratio", &labels),
        );
        println!("index {index}: estimate {e:.3}, pgstatindex {p:.3}");
        assert!(
            (e - p).abs() < 0.15,
            "index {index}: the estimate {e:.3} and pgstatindex {p:.3} disagree"
        );
    }
    assert!(table(&measured, "transactions").unwrap() > 0.7);
    assert!(table(&measured, "transactions_fresh").unwrap() < 0.2);
    assert!(
        measured.value(
            "pg_index_bloat_ratio",
            &[("indexrelname", "transactions_pkey")]
        ) > 0.4
    );
    assert!(
        measured.value(
            "pg_index_bloat_ratio",
            &[("indexrelname", "transactions_fresh_pkey")]
        ) < 0.2
    );

    let plain = PgCluster::start();
    let without = Exporter::start(
        &plain.dsn(),
        &["--collector.bloat.method=pgstattuple_approx"],
    );
    let m = without.scrape().await;
    assert_eq!(success(&m, "bloat"), 0.0, "no pgstattuple extension");
    assert!(
        without.stderr().contains("needs the pgstattuple extension"),
        "{}",
        without.stderr()
    );
}
