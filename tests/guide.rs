//! The maintenance guide's remaining checks, one collector at a time, against
//! a real PostgreSQL: statements, autovacuum, settings, sizes, indexes,
//! partitions, archiving, database and checkpoint statistics, replication,
//! health and backups. Every value asserted is one the test caused.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    eventually, exporter_command, now, run_and_disconnect, Exporter, Metrics, PgCluster,
    SLOW_AUTOVACUUM, WAIT,
};

fn success(m: &Metrics, collector: &str) -> f64 {
    m.value("pg_scrape_collector_success", &[("collector", collector)])
}

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
    let seconds = m.value("pg_stat_statements_seconds_total", &labels);
    assert!(seconds > 0.0);
    assert!((m.value("pg_stat_statements_mean_seconds", &labels) - seconds / 5.0).abs() < 1e-9);
    for family in [
        "block_read_seconds",
        "block_write_seconds",
        "shared_blks_hit",
        "shared_blks_read",
        "temp_blks_written",
        "plan_seconds",
    ] {
        assert!(
            m.value(&format!("pg_stat_statements_{family}_total"), &labels) >= 0.0,
            "{family}"
        );
    }
    assert_eq!(find("AS three").labels["query"], "SELECT $1 + $2 AS three");
    assert!(
        texts
            .iter()
            .all(|s| !s.labels["query"].contains("festival-pg-exporter")),
        "the exporter's own statements are left out: {texts:#?}"
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
            "--collector.stat_statements.query-length=0",
        ],
    );
    let m = limited.scrape().await;
    assert_eq!(m.all("pg_stat_statements_calls_total", &[]).len(), 2);
    assert!(m.all("pg_stat_statements_query_id", &[]).is_empty());
    let top = m.all("pg_stat_statements_seconds_total", &[]);
    let slowest_first = m.value(
        "pg_stat_statements_seconds_total",
        &[("queryid", &top[0].labels["queryid"])],
    );
    assert!(slowest_first >= top[1].value, "ordered by total time");
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
    assert!(m.value("pg_stat_progress_vacuum_running_seconds", &a) >= 0.0);
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
async fn settings_in_base_units_and_info_without_archive_command_text() {
    let cluster = PgCluster::start_with(&[
        "archive_mode = on",
        "archive_command = 'cp %p /srv/very-private-archive/%f'",
    ]);
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let response = exporter.get("/metrics").await;
    let m = Metrics::parse(&response.body);
    assert_eq!(success(&m, "settings"), 1.0);
    assert_eq!(
        m.value("pg_settings_shared_buffers_bytes", &[]),
        16.0 * 1024.0 * 1024.0
    );
    assert_eq!(m.value("pg_settings_autovacuum_naptime_seconds", &[]), 1.0);
    assert_eq!(
        m.value("pg_settings_autovacuum_vacuum_scale_factor", &[]),
        0.2
    );
    assert_eq!(m.value("pg_settings_fsync", &[]), 0.0);
    assert_eq!(m.value("pg_settings_track_io_timing", &[]), 1.0);
    assert_eq!(
        m.value(
            "pg_settings_idle_in_transaction_session_timeout_seconds",
            &[]
        ),
        0.0
    );
    assert!(
        m.get("pg_settings_statement_timeout_seconds", &[])
            .is_none(),
        "the exporter's own session value is not the server's"
    );
    assert_eq!(m.value("pg_settings_max_connections", &[]), 40.0);
    assert_eq!(m.types["pg_settings_max_connections"], "gauge");
    assert_eq!(
        response
            .body
            .matches("# TYPE pg_settings_max_connections ")
            .count(),
        1,
        "reported once"
    );
    assert_eq!(
        m.value(
            "pg_settings_info",
            &[("name", "archive_mode"), ("setting", "on")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_settings_info",
            &[("name", "archive_command"), ("setting", "set")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_settings_info",
            &[("name", "wal_level"), ("setting", "replica")]
        ),
        1.0
    );
    assert!(!response.body.contains("very-private-archive"));
}

#[tokio::test]
async fn sizes_are_reported_and_a_locked_table_does_not_stall_the_collector() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE tickets (id int PRIMARY KEY, note text);
         ALTER TABLE tickets ALTER COLUMN note SET STORAGE EXTERNAL;
         INSERT INTO tickets SELECT g, repeat('t', 3000) FROM generate_series(1, 2000) g;
         CREATE TABLE orders (id int PRIMARY KEY);
         INSERT INTO orders SELECT generate_series(1, 1000);
         CREATE TABLE wallets (id int PRIMARY KEY)",
    )
    .await;
    let exporter = Exporter::start(&cluster.dsn(), &["--collection-timeout", "5s"]);
    let client = cluster.client().await;
    let expected = client
        .query_one(
            "SELECT pg_table_size('tickets')::float8, pg_indexes_size('tickets')::float8,
                    pg_total_relation_size((SELECT reltoastrelid FROM pg_class WHERE relname = 'tickets'))::float8,
                    pg_total_relation_size('tickets')::float8, pg_relation_size('tickets_pkey')::float8",
            &[],
        )
        .await
        .unwrap();
    let m = exporter.scrape().await;
    let t = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "tickets"),
    ];
    assert_eq!(
        m.value("pg_stat_user_tables_table_size_bytes", &t),
        expected.get::<_, f64>(0)
    );
    assert_eq!(
        m.value("pg_stat_user_tables_index_size_bytes", &t),
        expected.get::<_, f64>(1)
    );
    assert_eq!(
        m.value("pg_stat_user_tables_toast_size_bytes", &t),
        expected.get::<_, f64>(2)
    );
    assert!(
        expected.get::<_, f64>(2) > 1_000_000.0,
        "the notes are TOASTed"
    );
    assert_eq!(
        m.value("pg_stat_user_tables_total_size_bytes", &t),
        expected.get::<_, f64>(3)
    );
    assert_eq!(
        m.value(
            "pg_stat_user_indexes_size_bytes",
            &[("relname", "tickets"), ("indexrelname", "tickets_pkey")]
        ),
        expected.get::<_, f64>(4)
    );
    let db_size = m.value("pg_database_size_bytes", &[("datname", "postgres")]);
    assert!(
        db_size > expected.get::<_, f64>(3),
        "the database holds the table"
    );

    // VACUUM FULL's lock, held: the table is left out, the others are reported.
    let holder = cluster.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let m = exporter.scrape().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(success(&m, "sizes"), 1.0);
    assert!(m.get("pg_stat_user_tables_total_size_bytes", &t).is_none());
    assert!(m
        .get(
            "pg_stat_user_indexes_size_bytes",
            &[("indexrelname", "tickets_pkey")]
        )
        .is_none());
    assert!(
        m.get(
            "pg_stat_user_tables_total_size_bytes",
            &[("relname", "orders")]
        )
        .unwrap()
            > 0.0
    );
    assert!(m
        .get(
            "pg_stat_user_tables_total_size_bytes",
            &[("relname", "wallets")]
        )
        .is_some());
    holder.batch_execute("COMMIT").await.unwrap();

    // ... and a VACUUM FULL waiting behind a reader: queueing behind it would stall us too.
    let reader = cluster.client().await;
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM orders")
        .await
        .unwrap();
    let waiter = Arc::new(cluster.client().await);
    let waiting = {
        let waiter = Arc::clone(&waiter);
        tokio::spawn(async move { waiter.batch_execute("VACUUM FULL orders").await })
    };
    let o = [("relname", "orders")];
    let m = eventually(
        WAIT,
        "orders left out while an exclusive lock waits",
        || async {
            let m = exporter.scrape().await;
            (m.get("pg_blocked_sessions", &[("datname", "postgres")]) == Some(1.0)).then_some(m)
        },
    )
    .await;
    assert_eq!(success(&m, "sizes"), 1.0);
    assert!(m.get("pg_stat_user_tables_total_size_bytes", &o).is_none());
    assert!(m.get("pg_stat_user_tables_total_size_bytes", &t).is_some());
    reader.batch_execute("COMMIT").await.unwrap();
    waiting.await.unwrap().unwrap();
}

#[tokio::test]
async fn index_usage_and_invalid_indexes() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE orders (id int PRIMARY KEY, status text, ref int);
         CREATE INDEX orders_status ON orders (status);
         INSERT INTO orders SELECT g, 'paid', g % 10 FROM generate_series(1, 1000) g;
         SET enable_seqscan = off;
         SET enable_bitmapscan = off;
         SELECT * FROM orders WHERE status = 'paid' LIMIT 3;
         SELECT * FROM orders WHERE status = 'new'",
    )
    .await;
    // A failed CREATE UNIQUE INDEX CONCURRENTLY leaves an invalid index behind.
    let client = cluster.client().await;
    assert!(client
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY orders_ref ON orders (ref)")
        .await
        .is_err());
    drop(client);
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let status = [("relname", "orders"), ("indexrelname", "orders_status")];
    let m = eventually(WAIT, "index scans", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_user_indexes_idx_scan_total", &status) == Some(2.0)).then_some(m)
    })
    .await;
    assert_eq!(
        m.value("pg_stat_user_indexes_idx_tup_fetch_total", &status),
        3.0
    );
    assert!(m.value("pg_stat_user_indexes_idx_tup_read_total", &status) >= 3.0);
    assert_eq!(
        m.value(
            "pg_stat_user_indexes_idx_scan_total",
            &[("indexrelname", "orders_pkey")]
        ),
        0.0
    );
    let info = |index: &str| {
        m.all("pg_index_info", &[("indexrelname", index)])[0]
            .labels
            .clone()
    };
    let pkey = info("orders_pkey");
    assert_eq!(
        (
            pkey["unique"].as_str(),
            pkey["primary"].as_str(),
            pkey["valid"].as_str()
        ),
        ("true", "true", "true")
    );
    let plain = info("orders_status");
    assert_eq!(
        (
            plain["unique"].as_str(),
            plain["primary"].as_str(),
            plain["valid"].as_str()
        ),
        ("false", "false", "true")
    );
    let broken = info("orders_ref");
    assert_eq!(
        (broken["unique"].as_str(), broken["valid"].as_str()),
        ("true", "false")
    );
    assert_eq!(pkey["schemaname"], "public");
}

#[tokio::test]
async fn partitions_coverage_default_rows_and_odd_shapes() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE transactions_partitioned (id bigint, created_at timestamptz NOT NULL, amount numeric)
             PARTITION BY RANGE (created_at);
         CREATE TABLE transactions_2026_10 PARTITION OF transactions_partitioned FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
         CREATE TABLE transactions_2026_11 PARTITION OF transactions_partitioned FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');
         CREATE TABLE transactions_2026_12 PARTITION OF transactions_partitioned FOR VALUES FROM ('2026-12-01') TO ('2027-01-01');
         CREATE TABLE transactions_default PARTITION OF transactions_partitioned DEFAULT;
         CREATE INDEX transactions_partitioned_created ON transactions_partitioned (created_at);
         INSERT INTO transactions_partitioned SELECT g, '2026-11-15', 1 FROM generate_series(1, 500) g;
         INSERT INTO transactions_partitioned SELECT g, '2030-01-01', 1 FROM generate_series(1, 7) g;
         CREATE TABLE audit_logs (id bigint, logged_on date NOT NULL, kind text NOT NULL) PARTITION BY RANGE (logged_on);
         CREATE TABLE audit_logs_2026 PARTITION OF audit_logs FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY LIST (kind);
         CREATE TABLE audit_logs_2026_web PARTITION OF audit_logs_2026 FOR VALUES IN ('web', 'app');
         CREATE TABLE audit_logs_2026_other PARTITION OF audit_logs_2026 DEFAULT;
         CREATE TABLE wallets (id int) PARTITION BY HASH (id);
         CREATE TABLE wallets_0 PARTITION OF wallets FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE wallets_1 PARTITION OF wallets FOR VALUES WITH (MODULUS 2, REMAINDER 1);
         CREATE TABLE tickets (id int, sold_on date) PARTITION BY RANGE (sold_on);
         CREATE TABLE tickets_old PARTITION OF tickets FOR VALUES FROM (MINVALUE) TO ('2026-01-01');
         CREATE TABLE tickets_new PARTITION OF tickets FOR VALUES FROM ('2026-01-01') TO (MAXVALUE);
         CREATE TABLE orders (id int);
         CREATE TABLE orders_archive () INHERITS (orders)",
    )
    .await;
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let tp = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("parent", "transactions_partitioned"),
    ];
    let m = eventually(WAIT, "rows in the default partition", || async {
        let m = exporter.scrape().await;
        (m.get("pg_partition_default_rows", &tp) == Some(7.0)).then_some(m)
    })
    .await;
    assert_eq!(success(&m, "partitions"), 1.0);
    let epoch = |date: &str| {
        let (y, rest) = date.split_once('-').unwrap();
        let (mo, d) = rest.split_once('-').unwrap();
        festival_pg_exporter::text::days_from_civil(
            y.parse().unwrap(),
            mo.parse().unwrap(),
            d.parse().unwrap(),
        ) as f64
            * 86400.0
    };
    assert_eq!(m.value("pg_partition_count", &tp), 4.0);
    let index_parent = [("parent", "transactions_partitioned_created")];
    assert!(
        m.all("pg_partition_count", &index_parent).is_empty(),
        "a partitioned index is no parent table"
    );
    assert!(m.all("pg_partition_size_bytes", &index_parent).is_empty());
    assert_eq!(
        m.value("pg_partition_newest_bound_timestamp_seconds", &tp),
        epoch("2027-01-01")
    );
    assert_eq!(
        m.value("pg_partition_oldest_bound_timestamp_seconds", &tp),
        epoch("2026-10-01")
    );
    assert!(
        m.value("pg_partition_newest_bound_timestamp_seconds", &tp) - now() < 60.0 * 86400.0,
        "under 60 days of coverage"
    );
    let size = |partition: &str| {
        m.value(
            "pg_partition_size_bytes",
            &[
                ("parent", "transactions_partitioned"),
                ("partition", partition),
            ],
        )
    };
    assert!(
        size("transactions_2026_11") > size("transactions_2026_12"),
        "the November partition holds the rows"
    );

    let parent = |name: &'static str| {
        [
            ("datname", "postgres"),
            ("schemaname", "public"),
            ("parent", name),
        ]
    };
    assert_eq!(m.value("pg_partition_count", &parent("audit_logs")), 1.0);
    assert_eq!(
        m.value(
            "pg_partition_newest_bound_timestamp_seconds",
            &parent("audit_logs")
        ),
        epoch("2027-01-01")
    );
    assert_eq!(
        m.value("pg_partition_count", &parent("audit_logs_2026")),
        2.0,
        "a nested list partitioning counts"
    );
    assert!(m
        .get(
            "pg_partition_newest_bound_timestamp_seconds",
            &parent("audit_logs_2026")
        )
        .is_none());
    assert_eq!(
        m.value("pg_partition_default_rows", &parent("audit_logs_2026")),
        0.0
    );
    assert_eq!(m.value("pg_partition_count", &parent("wallets")), 2.0);
    assert!(m
        .get(
            "pg_partition_oldest_bound_timestamp_seconds",
            &parent("wallets")
        )
        .is_none());
    assert!(
        m.get("pg_partition_default_rows", &parent("wallets"))
            .is_none(),
        "no DEFAULT partition"
    );
    let tickets = parent("tickets");
    let newest = m.value("pg_partition_newest_bound_timestamp_seconds", &tickets);
    assert_eq!(newest, f64::INFINITY, "MAXVALUE covers forever");
    let oldest = m.value("pg_partition_oldest_bound_timestamp_seconds", &tickets);
    assert_eq!(oldest, epoch("2026-01-01"), "MINVALUE is no date");
    assert_eq!(
        m.value("pg_partition_count", &parent("orders")),
        1.0,
        "inheritance children count"
    );
    assert!(m
        .get(
            "pg_partition_size_bytes",
            &[("parent", "orders"), ("partition", "orders_archive")]
        )
        .is_some());
}

#[tokio::test]
async fn archiver_failures_then_successes_and_wal_volume() {
    let cluster = PgCluster::start_with(&["archive_mode = on", "archive_command = 'false'"]);
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let client = cluster.client().await;
    client.batch_execute("CREATE TABLE audit_logs (id int); INSERT INTO audit_logs SELECT generate_series(1, 1000)").await.unwrap();
    client
        .batch_execute("SELECT pg_switch_wal()")
        .await
        .unwrap();
    let m = eventually(WAIT, "a failed archive attempt", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_archiver_failed_count_total", &[]) >= Some(1.0)).then_some(m)
    })
    .await;
    assert_eq!(m.value("pg_stat_archiver_archived_count_total", &[]), 0.0);
    assert!(
        m.get("pg_stat_archiver_last_archive_age", &[]).is_none(),
        "nothing archived yet"
    );
    let failed_at = m.value("pg_stat_archiver_last_failed_time", &[]);
    assert!((failed_at - now()).abs() < 120.0);

    client
        .batch_execute("ALTER SYSTEM SET archive_command = 'true'")
        .await
        .unwrap();
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    let m = eventually(WAIT, "an archived segment", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_archiver_archived_count_total", &[]) >= Some(1.0)).then_some(m)
    })
    .await;
    let age = m.value("pg_stat_archiver_last_archive_age", &[]);
    assert!((0.0..120.0).contains(&age), "age {age}");
    assert!((m.value("pg_stat_archiver_last_archived_time", &[]) - (now() - age)).abs() < 5.0);
    if cluster.version_num().await >= 140000 {
        assert!(m.value("pg_wal_bytes_total", &[]) > 0.0);
        assert!(m.value("pg_wal_records_total", &[]) > 1000.0);
    } else {
        assert!(
            m.all("pg_wal_bytes_total", &[]).is_empty(),
            "no pg_stat_wal before 14"
        );
    }
    assert_eq!(success(&m, "stat_archiver"), 1.0);
}

#[tokio::test]
async fn database_statistics_count_deadlocks_temp_files_and_checkpoints() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let setup = cluster.client().await;
    setup.batch_execute("CREATE TABLE wallets (id int PRIMARY KEY, balance int); INSERT INTO wallets VALUES (1, 0), (2, 0)").await.unwrap();
    let before = exporter.scrape().await;
    let db = [("datname", "postgres")];

    // A deadlock: each session updates the row the other holds.
    let a = Arc::new(cluster.client().await);
    let b = Arc::new(cluster.client().await);
    a.batch_execute("BEGIN; UPDATE wallets SET balance = 1 WHERE id = 1")
        .await
        .unwrap();
    b.batch_execute("BEGIN; UPDATE wallets SET balance = 1 WHERE id = 2")
        .await
        .unwrap();
    let a_next = {
        let a = Arc::clone(&a);
        tokio::spawn(async move {
            a.batch_execute("UPDATE wallets SET balance = 2 WHERE id = 2")
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b_result = b
        .batch_execute("UPDATE wallets SET balance = 2 WHERE id = 1")
        .await;
    let a_result = a_next.await.unwrap();
    assert!(
        a_result.is_err() != b_result.is_err(),
        "exactly one side of the deadlock fails"
    );
    a.batch_execute("ROLLBACK").await.unwrap();
    b.batch_execute("ROLLBACK").await.unwrap();
    // A sort that spills to a temp file, and a checkpoint.
    setup.batch_execute("SET work_mem = '64kB'; SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC LIMIT 1").await.unwrap();
    setup.batch_execute("CHECKPOINT").await.unwrap();
    drop((a, b, setup));

    let delta = |m: &Metrics, name: &str, labels: &[(&str, &str)]| {
        m.value(name, labels) - before.value(name, labels)
    };
    let m = eventually(WAIT, "the deadlock in pg_stat_database", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_database_deadlocks_total", &db)
            == Some(before.value("pg_stat_database_deadlocks_total", &db) + 1.0))
        .then_some(m)
    })
    .await;
    let m = if delta(&m, "pg_stat_database_temp_files_total", &db) >= 1.0 {
        m
    } else {
        eventually(WAIT, "the temp file", || async {
            let m = exporter.scrape().await;
            (delta(&m, "pg_stat_database_temp_files_total", &db) >= 1.0).then_some(m)
        })
        .await
    };
    assert!(delta(&m, "pg_stat_database_temp_bytes_total", &db) > 0.0);
    assert!(delta(&m, "pg_stat_database_xact_rollback_total", &db) >= 2.0);
    assert!(m.value("pg_stat_database_xact_commit_total", &db) > 0.0);
    assert!(m.value("pg_stat_database_blks_hit_total", &db) > 0.0);
    assert!(m.value("pg_stat_database_numbackends", &db) >= 1.0);
    assert_eq!(
        m.value("pg_stat_database_conflicts_confl_lock_total", &db),
        0.0,
        "no conflicts on a primary"
    );
    if cluster.version_num().await >= 140000 {
        assert!(m.value("pg_stat_database_sessions_total", &db) >= 3.0);
    } else {
        assert!(m.all("pg_stat_database_sessions_total", &[]).is_empty());
    }
    assert!(delta(&m, "pg_stat_bgwriter_checkpoints_req_total", &[]) >= 1.0);
    assert!(m.value("pg_stat_bgwriter_buffers_alloc_total", &[]) > 0.0);
    let has_backend_writes = !m
        .all("pg_stat_bgwriter_buffers_backend_total", &[])
        .is_empty();
    assert_eq!(
        has_backend_writes,
        cluster.version_num().await < 170000,
        "buffers_backend exists up to 16 only"
    );
    assert_eq!(success(&m, "stat_database"), 1.0);
    assert_eq!(success(&m, "stat_bgwriter"), 1.0);
}

#[tokio::test]
async fn replication_on_a_standalone_server_a_primary_and_its_standby() {
    let primary = PgCluster::start();
    let exporter = Exporter::start(&primary.dsn(), &[]);
    let m = exporter.scrape().await;
    assert_eq!(
        success(&m, "replication"),
        1.0,
        "no replicas is not an error"
    );
    assert_eq!(m.value("pg_replication_is_replica", &[]), 0.0);
    assert!(m.all("pg_replication_lag_seconds", &[]).is_empty());
    assert!(m
        .all("pg_stat_replication_replay_lag_bytes", &[])
        .is_empty());

    let client = primary.client().await;
    client
        .batch_execute("SELECT pg_create_physical_replication_slot('festival_slot', true)")
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE TABLE tickets (id int); INSERT INTO tickets SELECT generate_series(1, 10000)",
        )
        .await
        .unwrap();
    let m = exporter.scrape().await;
    let slot = [("slot_name", "festival_slot"), ("slot_type", "physical")];
    assert_eq!(m.value("pg_replication_slots_active", &slot), 0.0);
    assert!(
        m.value("pg_replication_slots_retained_wal_bytes", &slot) > 100_000.0,
        "the slot holds the inserts' WAL"
    );
    drop(client);

    let standby = primary.start_standby();
    let client = primary.client().await;
    let m = eventually(WAIT, "a streaming standby", || async {
        let m = exporter.scrape().await;
        (!m.all(
            "pg_stat_replication_replay_lag_bytes",
            &[
                ("application_name", "festival_standby"),
                ("state", "streaming"),
            ],
        )
        .is_empty())
        .then_some(m)
    })
    .await;
    let standby_labels = [
        ("application_name", "festival_standby"),
        ("client_addr", "127.0.0.1"),
        ("state", "streaming"),
    ];
    assert!(m.value("pg_stat_replication_sent_lag_bytes", &standby_labels) >= 0.0);
    assert!(m.value("pg_stat_replication_replay_lag_bytes", &standby_labels) >= 0.0);

    client
        .batch_execute("INSERT INTO tickets SELECT generate_series(1, 1000)")
        .await
        .unwrap();
    let replica = Exporter::start(&standby.dsn(), &[]);
    let m = eventually(WAIT, "a replayed transaction on the standby", || async {
        let m = replica.scrape().await;
        m.get("pg_replication_lag_seconds", &[]).map(|_| m)
    })
    .await;
    assert_eq!(m.value("pg_replication_is_replica", &[]), 1.0);
    assert!(m.value("pg_replication_lag_seconds", &[]) >= 0.0);
    for collector in [
        "replication",
        "stat_user_tables",
        "sizes",
        "stat_archiver",
        "stat_bgwriter",
        "autovacuum",
    ] {
        assert_eq!(success(&m, collector), 1.0, "{collector} on a standby");
    }
}

#[tokio::test]
async fn health_metric_and_subcommand() {
    let cluster = PgCluster::start();
    cluster
        .client()
        .await
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    run_and_disconnect(&cluster, "CREATE TABLE orders (id int) WITH (autovacuum_enabled = off);\nINSERT INTO orders SELECT generate_series(1, 1000)").await;
    let health = |args: &[&str]| {
        let out = exporter_command()
            .env("DATA_SOURCE_NAME", cluster.dsn())
            .arg("health")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, text, stderr) = health(&[]);
    assert_eq!(code, Some(0), "{text}{stderr}");
    assert!(text.starts_with("CHECK"), "{text}");
    assert!(text.contains("Tables Needing VACUUM  0 "), "{text}");
    assert!(stderr.is_empty(), "{stderr}");

    let exporter = Exporter::start(&cluster.dsn(), &[]);
    assert_eq!(
        exporter
            .scrape()
            .await
            .value("pg_tables_needing_vacuum", &[("datname", "postgres")]),
        0.0
    );
    run_and_disconnect(&cluster, "DELETE FROM orders WHERE id <= 300").await;
    eventually(WAIT, "a table needing vacuum", || async {
        (exporter
            .scrape()
            .await
            .get("pg_tables_needing_vacuum", &[("datname", "postgres")])
            == Some(1.0))
        .then_some(())
    })
    .await;
    let strict = Exporter::start(&cluster.dsn(), &["--collector.health.dead-ratio=0.5"]);
    assert_eq!(
        strict
            .scrape()
            .await
            .value("pg_tables_needing_vacuum", &[("datname", "postgres")]),
        0.0,
        "30% is under 50%"
    );

    let (code, json, _) = health(&["--output", "json"]);
    assert_eq!(code, Some(1), "{json}");
    let checks: serde_json::Value = serde_json::from_str(&json).unwrap();
    let check = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(check("Tables Needing VACUUM")["value"], "1");
    assert_eq!(check("Tables Needing VACUUM")["ok"], false);
    assert_eq!(check("pg_stat_statements")["value"], "installed");
    assert_eq!(check("Blocked Sessions")["ok"], true);

    let (code, _, stderr) = {
        let out = exporter_command()
            .env(
                "DATA_SOURCE_NAME",
                format!(
                    "postgresql://postgres:pw-77@127.0.0.1:{}/postgres",
                    common::free_port()
                ),
            )
            .args(["health"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("cannot connect") && !stderr.contains("pw-77"),
        "{stderr}"
    );
}

#[tokio::test]
async fn backup_files_by_glob() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("backup_20261101.dump");
    let new = dir.path().join("backup_20261124.dump");
    std::fs::write(&old, vec![0u8; 100]).unwrap();
    std::fs::write(&new, vec![0u8; 2048]).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a backup").unwrap();
    let day = std::time::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(day)
        .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&new)
        .unwrap()
        .set_modified(day + Duration::from_secs(86_400))
        .unwrap();
    let pattern = format!("{}/backup_*.dump", dir.path().display());
    let missing = format!("{}/nothing_*.dump", dir.path().display());
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--collector.backup",
            "--collector.backup.path",
            &pattern,
            "--collector.backup.path",
            &missing,
        ],
    );
    let m = exporter.scrape().await;
    assert_eq!(success(&m, "backup"), 1.0);
    assert_eq!(
        m.value(
            "pg_backup_last_success_timestamp_seconds",
            &[("path", &pattern)]
        ),
        1_795_086_400.0
    );
    assert_eq!(
        m.value("pg_backup_last_size_bytes", &[("path", &pattern)]),
        2048.0
    );
    assert_eq!(m.value("pg_backup_files", &[("path", &pattern)]), 2.0);
    assert_eq!(
        m.value(
            "pg_backup_last_success_timestamp_seconds",
            &[("path", &missing)]
        ),
        0.0
    );
    assert_eq!(m.value("pg_backup_files", &[("path", &missing)]), 0.0);

    let default = Exporter::start(&cluster.dsn(), &[]);
    let m = default.scrape().await;
    assert!(
        m.get("pg_scrape_collector_success", &[("collector", "backup")])
            .is_none(),
        "off by default"
    );
}

#[tokio::test]
async fn every_collector_works_for_a_pg_monitor_role() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute(
            "CREATE EXTENSION pg_stat_statements;
             CREATE ROLE festival_monitor LOGIN CONNECTION LIMIT 3 IN ROLE pg_monitor;
             CREATE ROLE app LOGIN;
             CREATE TABLE tickets (id int PRIMARY KEY) ;
             CREATE TABLE transactions_partitioned (id int, created_at date) PARTITION BY RANGE (created_at);
             CREATE TABLE transactions_2026 PARTITION OF transactions_partitioned FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
             REVOKE ALL ON tickets FROM PUBLIC;
             GRANT SELECT ON tickets TO app",
        )
        .await
        .unwrap();
    // Another user's session, with a statement whose text pg_monitor may read.
    let app = common::connect(&format!(
        "postgresql://app@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port
    ))
    .await;
    app.batch_execute("SELECT count(*) FROM tickets")
        .await
        .unwrap();
    app.batch_execute("BEGIN; LOCK TABLE tickets IN ACCESS SHARE MODE")
        .await
        .unwrap();
    let dsn = format!(
        "postgresql://festival_monitor@127.0.0.1:{}/postgres?sslmode=disable",
        cluster.port
    );
    let exporter = Exporter::start(&dsn, &[]);
    let m = exporter.scrape().await;
    for (collector, _) in m
        .all("pg_scrape_collector_success", &[])
        .iter()
        .map(|s| (s.labels["collector"].clone(), s.value))
    {
        assert_eq!(
            success(&m, &collector),
            1.0,
            "{collector} as pg_monitor: {}",
            exporter.stderr()
        );
    }
    assert_eq!(
        m.all("pg_scrape_collector_success", &[]).len(),
        festival_pg_exporter::collectors::COLLECTORS
            .iter()
            .filter(|c| c.enabled_by_default())
            .count(),
        "every default collector ran"
    );
    assert_eq!(m.value("pg_stat_statements_enabled", &[]), 1.0);
    assert!(m
        .all("pg_stat_statements_query_id", &[])
        .iter()
        .any(|s| s.labels["query"] == "SELECT count(*) FROM tickets"));
    assert!(m
        .get(
            "pg_stat_user_tables_total_size_bytes",
            &[("relname", "tickets")]
        )
        .is_some());
    assert_eq!(
        m.value(
            "pg_stat_activity_count",
            &[("usename", "app"), ("state", "idle in transaction")]
        ),
        1.0
    );
    assert!(
        m.value(
            "pg_locks_relation_count",
            &[
                ("relname", "tickets"),
                ("mode", "accesssharelock"),
                ("granted", "true")
            ]
        ) >= 1.0
    );
    let now_ts = now();
    assert!(
        m.value(
            "pg_partition_newest_bound_timestamp_seconds",
            &[("parent", "transactions_partitioned")]
        ) > now_ts - 400.0 * 86400.0
    );
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
    let size: f64 = client
        .query_one("SELECT pg_relation_size('transactions')::float8", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        (bytes - bloated * size).abs() < 1.0,
        "bytes {bytes} = ratio {bloated} x size {size}"
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
        assert!((0.0..=1.0).contains(&p));
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

#[tokio::test]
async fn custom_queries_from_the_festival_file_and_postgres_exporter_format() {
    let cluster = PgCluster::start();
    cluster
        .client()
        .await
        .batch_execute("CREATE DATABASE festivals")
        .await
        .unwrap();
    let dsn = format!(
        "postgresql://postgres@127.0.0.1:{}/festivals?sslmode=disable",
        cluster.port
    );
    let festivals = common::connect(&dsn).await;
    let schema =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/festival.sql"))
            .unwrap();
    festivals.batch_execute(&schema).await.unwrap();
    let count = |sql: &'static str| {
        let client = &festivals;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) as f64 }
    };
    // Three payments pending for ten minutes: the rush's stuck checkouts.
    festivals
        .batch_execute(
            "INSERT INTO orders (wallet_id, festival, status, total, created_at)
             SELECT 1, 'sunset-sound', 'pending', 49, now() - interval '10 minutes' FROM generate_series(1, 3)",
        )
        .await
        .unwrap();
    let sold = count("SELECT count(*) FROM tickets WHERE status = 'sold'").await;
    let pending = count("SELECT count(*) FROM orders WHERE status = 'pending'").await;
    let wallets = count("SELECT count(*) FROM wallets").await;
    assert!(sold > 0.0);
    assert_eq!(pending, 3.0);

    let festival_file = concat!(env!("CARGO_MANIFEST_DIR"), "/queries/custom/festival.yaml");
    let dir = tempfile::tempdir().unwrap();
    let compat = dir.path().join("queries.yaml");
    std::fs::write(
        &compat,
        r#"
pg_festival_state:
  query: "SELECT 'open' AS gate, 'up' AS state, interval '1 minute 30 seconds' AS since, now() AS at, true AS ok"
  master: true
  runonserver: ">=13.0.0"
  metrics:
    - gate: {usage: "LABEL", description: "Gate"}
    - state: {usage: "MAPPEDMETRIC", description: "State", metric_mapping: {"up": 1, "down": 0}}
    - since: {usage: "DURATION", description: "Since"}
    - at: {usage: "GAUGE", description: "When"}
    - ok: {usage: "GAUGE", description: "Fine"}
    - ignored: {usage: "DISCARD", description: "Not there"}
pg_never_here:
  query: "SELECT 1 AS one"
  max_server_version: "9.6"
  metrics:
    - one: {usage: "GAUGE", description: "Only on 9.6"}
pg_other_database:
  query: "SELECT 1 AS one"
  databases: [postgres]
  metrics:
    - one: {usage: "GAUGE", description: "Only in postgres"}
pg_stat_user_tables:
  query: "SELECT 'x' AS relname, 1 AS n_live_tup"
  metrics:
    - relname: {usage: "LABEL", description: "A clash with the built-in family"}
    - n_live_tup: {usage: "GAUGE", description: "Clash"}
"#,
    )
    .unwrap();
    let exporter = Exporter::start(
        &dsn,
        &[
            "--extend.query-path",
            festival_file,
            "--extend.query-path",
            compat.to_str().unwrap(),
        ],
    );
    let response = exporter.get("/metrics").await;
    let m = Metrics::parse(&response.body);
    assert_eq!(success(&m, "custom_queries"), 1.0, "{}", exporter.stderr());
    assert_eq!(
        m.value("festival_tickets_count", &[("status", "sold")]),
        sold
    );
    assert_eq!(m.value("festival_sales_tickets_total", &[]), sold);
    assert_eq!(m.types["festival_sales_tickets_total"], "counter");
    assert!(m.value("festival_sales_tickets_last_minute", &[]) >= 0.0);
    assert_eq!(
        m.value("festival_orders_count", &[("status", "pending")]),
        pending
    );
    assert_eq!(m.value("festival_transactions_pending_count", &[]), pending);
    assert!(m.value("festival_transactions_pending_oldest_seconds", &[]) >= 600.0);
    assert_eq!(m.value("festival_wallets_count", &[]), wallets);
    assert!(m.value("festival_wallets_balance_total", &[]) > 0.0);

    let gate = [("gate", "open")];
    assert_eq!(m.value("pg_festival_state_state", &gate), 1.0);
    assert_eq!(
        m.value("pg_festival_state_since_milliseconds", &gate),
        90_000.0
    );
    assert!(
        (m.value("pg_festival_state_at", &gate) - now()).abs() < 60.0,
        "a timestamp becomes Unix seconds"
    );
    assert_eq!(m.value("pg_festival_state_ok", &gate), 1.0);
    assert!(m.all("pg_festival_state_ignored", &[]).is_empty());
    assert!(m.all("pg_never_here_one", &[]).is_empty(), "version bounds");
    assert!(
        m.all("pg_other_database_one", &[]).is_empty(),
        "databases filter"
    );
    assert_eq!(
        response
            .body
            .matches("# TYPE pg_stat_user_tables_n_live_tup gauge")
            .count(),
        1,
        "the clash is dropped"
    );
    assert!(m
        .get("pg_stat_user_tables_n_live_tup", &[("relname", "x")])
        .is_none());
    assert!(
        exporter
            .stderr()
            .contains("two collectors produce this family"),
        "{}",
        exporter.stderr()
    );

    // The same file against the postgres database: the festival queries stay away.
    let other = Exporter::start(
        &cluster.dsn(),
        &["--extend.query-path", compat.to_str().unwrap()],
    );
    let m = other.scrape().await;
    assert_eq!(m.value("pg_other_database_one", &[]), 1.0);

    // A query over its own timeout fails the collector, and the exporter recovers.
    std::fs::write(&compat, "slow:\n  query: SELECT pg_sleep(5) AS slept, 1 AS one\n  timeout: 300ms\n  metrics:\n    - one: {usage: GAUGE}\n").unwrap();
    let slow = Exporter::start(&dsn, &["--extend.query-path", compat.to_str().unwrap()]);
    let m = slow.scrape().await;
    assert_eq!(success(&m, "custom_queries"), 0.0);
    assert!(
        slow.stderr().contains("ran over its timeout"),
        "{}",
        slow.stderr()
    );
    assert_eq!(slow.scrape().await.value("pg_up", &[]), 1.0);

    // A broken file stops the start with one line naming query and field.
    std::fs::write(
        &compat,
        "slow:\n  query: SELECT 1 AS one\n  metrics:\n    - one: {usage: GAGE}\n",
    )
    .unwrap();
    let out = exporter_command()
        .args(["--extend.query-path", compat.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("query 'slow': metrics[0].one.usage") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
