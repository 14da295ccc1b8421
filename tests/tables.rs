//! Per-table and per-index statistics: stat_user_tables (tuples, scans,
//! maintenance times), relation and database sizes (and a table locked by
//! VACUUM FULL not stalling the collector), index usage and invalid indexes,
//! and partitioned tables (coverage, default partition rows, odd shapes).
//! Every value asserted is one the test caused, such as dead tuples from an
//! UPDATE with autovacuum off.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{eventually, now, run_and_disconnect, success, Exporter, PgCluster, WAIT};

#[tokio::test]
async fn stat_user_tables_reports_tuples_scans_and_maintenance() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let before_maintenance = now();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE orders (id int PRIMARY KEY, status text) WITH (autovacuum_enabled = off);
         INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 1000) g;
         UPDATE orders SET status = 'paid' WHERE id <= 300;
         DELETE FROM orders WHERE id > 950;",
    )
    .await;
    let table = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "orders"),
    ];
    let metrics = eventually(WAIT, "dead tuples of orders", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_user_tables_n_dead_tup", &table) == Some(350.0)).then_some(m)
    })
    .await;
    assert_eq!(
        metrics.value("pg_stat_user_tables_n_live_tup", &table),
        950.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_n_mod_since_analyze", &table),
        1350.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_n_tup_ins", &table),
        1000.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_n_tup_upd", &table),
        300.0
    );
    assert_eq!(metrics.value("pg_stat_user_tables_n_tup_del", &table), 50.0);
    // pg_statio_user_tables: the table was written through the cache; it has
    // an index (the primary key) and no TOAST table (int and short text).
    assert!(metrics.value("pg_statio_user_tables_heap_blocks_hit", &table) > 0.0);
    assert!(metrics.value("pg_statio_user_tables_idx_blocks_hit", &table) > 0.0);
    // Nothing touches orders any more: the view itself gives the same count.
    let heap_blks_read: i64 = cluster
        .client()
        .await
        .query_one(
            "SELECT heap_blks_read FROM pg_statio_user_tables WHERE relname = 'orders'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        metrics.value("pg_statio_user_tables_heap_blocks_read", &table),
        heap_blks_read as f64
    );
    assert_eq!(
        metrics.types["pg_statio_user_tables_heap_blocks_hit"],
        "counter"
    );
    assert!(metrics.value("pg_stat_user_tables_n_tup_hot_upd", &table) <= 300.0);
    for never in [
        "last_vacuum",
        "last_autovacuum",
        "last_analyze",
        "last_autoanalyze",
    ] {
        assert_eq!(
            metrics.value(&format!("pg_stat_user_tables_{never}"), &table),
            0.0,
            "{never}"
        );
    }
    for count in [
        "vacuum_count",
        "autovacuum_count",
        "analyze_count",
        "autoanalyze_count",
    ] {
        assert_eq!(
            metrics.value(&format!("pg_stat_user_tables_{count}"), &table),
            0.0,
            "{count}"
        );
    }
    assert_eq!(metrics.types["pg_stat_user_tables_seq_scan"], "counter");
    assert_eq!(metrics.types["pg_stat_user_tables_n_dead_tup"], "gauge");

    let seq_before = metrics.value("pg_stat_user_tables_seq_scan", &table);
    let seq_read_before = metrics.value("pg_stat_user_tables_seq_tup_read", &table);
    let idx_before = metrics.value("pg_stat_user_tables_idx_scan", &table);
    let fetch_before = metrics.value("pg_stat_user_tables_idx_tup_fetch", &table);
    run_and_disconnect(
        &cluster,
        "SELECT count(*) FROM orders;
         SELECT count(*) FROM orders;
         SET enable_seqscan = off;
         SELECT * FROM orders WHERE id = 5;
         VACUUM orders;
         ANALYZE orders",
    )
    .await;
    // VACUUM and ANALYZE report at once, the scans when the session ends: wait for both.
    let metrics = eventually(WAIT, "scans, vacuum and analyze of orders", || async {
        let m = exporter.scrape().await;
        let scanned = m.get("pg_stat_user_tables_seq_scan", &table) > Some(seq_before);
        let analyzed = m.get("pg_stat_user_tables_analyze_count", &table) == Some(1.0);
        (scanned && analyzed).then_some(m)
    })
    .await;
    assert_eq!(
        metrics.value("pg_stat_user_tables_seq_scan", &table) - seq_before,
        2.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_seq_tup_read", &table) - seq_read_before,
        1900.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_idx_scan", &table) - idx_before,
        1.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_idx_tup_fetch", &table) - fetch_before,
        1.0
    );
    assert_eq!(
        metrics.value("pg_stat_user_tables_vacuum_count", &table),
        1.0
    );
    assert_eq!(metrics.value("pg_stat_user_tables_n_dead_tup", &table), 0.0);
    assert_eq!(
        metrics.value("pg_stat_user_tables_n_mod_since_analyze", &table),
        0.0
    );
    for when in ["last_vacuum", "last_analyze"] {
        let at = metrics.value(&format!("pg_stat_user_tables_{when}"), &table);
        assert!(
            at >= before_maintenance - 1.0 && at <= now() + 1.0,
            "{when} = {at}"
        );
    }
    assert_eq!(
        metrics.value("pg_stat_user_tables_last_autovacuum", &table),
        0.0
    );
    assert_eq!(
        metrics.value(
            "pg_scrape_collector_success",
            &[("collector", "stat_user_tables")]
        ),
        1.0
    );
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
         CREATE TABLE wallets (id int PRIMARY KEY);
         CREATE ROLE festival_app LOGIN CONNECTION LIMIT 20;
         CREATE DATABASE festivals CONNECTION LIMIT 150",
    )
    .await;
    let exporter = Exporter::start(&cluster.dsn(), &["--collection-timeout", "5s"]);
    let client = cluster.client().await;
    // The sizes from the files on disk (every fork and segment), not from the
    // size functions the collector calls.
    let paths = client
        .query_one(
            "SELECT pg_relation_filepath(c.oid), pg_relation_filepath('tickets_pkey'),
                    pg_relation_filepath(c.reltoastrelid),
                    pg_relation_filepath((SELECT indexrelid FROM pg_index WHERE indrelid = c.reltoastrelid))
             FROM pg_class c WHERE c.oid = 'tickets'::regclass",
            &[],
        )
        .await
        .unwrap();
    let files = |column: usize| {
        let path = cluster.data_dir().join(paths.get::<_, String>(column));
        let base = path.file_name().unwrap().to_str().unwrap().to_string();
        std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| {
                let name = entry.file_name().into_string().unwrap();
                name == base
                    || name
                        .strip_prefix(&base)
                        .is_some_and(|rest| rest.starts_with(['_', '.']))
            })
            .map(|entry| entry.metadata().unwrap().len() as f64)
            .sum::<f64>()
    };
    let (heap, pkey, toast) = (files(0), files(1), files(2) + files(3));
    let m = exporter.scrape().await;
    let t = [
        ("datname", "postgres"),
        ("schemaname", "public"),
        ("relname", "tickets"),
    ];
    assert_eq!(
        m.value("pg_stat_user_tables_table_size_bytes", &t),
        heap + toast
    );
    assert_eq!(m.value("pg_stat_user_tables_index_size_bytes", &t), pkey);
    assert_eq!(m.value("pg_stat_user_tables_toast_size_bytes", &t), toast);
    assert!(toast > 1_000_000.0, "the notes are TOASTed");
    assert_eq!(
        m.value("pg_stat_user_tables_total_size_bytes", &t),
        heap + toast + pkey
    );
    assert_eq!(
        m.value(
            "pg_stat_user_indexes_size_bytes",
            &[("relname", "tickets"), ("indexrelname", "tickets_pkey")]
        ),
        pkey
    );
    // postgres_exporter's database and roles families: connection limits.
    let limit = |name, labels| m.value(name, &[labels]);
    assert_eq!(
        limit("pg_database_connection_limit", ("datname", "festivals")),
        150.0
    );
    assert_eq!(
        limit("pg_database_connection_limit", ("datname", "postgres")),
        -1.0
    );
    assert_eq!(
        limit("pg_roles_connection_limit", ("rolname", "festival_app")),
        20.0
    );
    assert_eq!(
        limit("pg_roles_connection_limit", ("rolname", "postgres")),
        -1.0
    );
    let db_size = m.value("pg_database_size_bytes", &[("datname", "postgres")]);
    assert!(
        db_size > heap + toast + pkey,
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
    // The scrape starts once the lock is awaited (a scrape that began before
    // rightly reports what it read before).
    eventually(WAIT, "VACUUM FULL waiting for its lock", || async {
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass
                   AND mode = 'AccessExclusiveLock' AND NOT granted",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 1).then_some(())
    })
    .await;
    let m = exporter.scrape().await;
    assert_eq!(
        m.get("pg_blocked_sessions", &[("datname", "postgres")]),
        Some(1.0)
    );
    assert_eq!(success(&m, "sizes"), 1.0);
    assert!(m.get("pg_stat_user_tables_total_size_bytes", &o).is_none());
    assert!(m.get("pg_stat_user_tables_total_size_bytes", &t).is_some());
    reader.batch_execute("COMMIT").await.unwrap();
    waiting.await.unwrap().unwrap();
}

/// Sizes are measured only for tables that changed, and every change shows
/// on the next scrape (once the statistics have the writes): committed and
/// rolled-back writes, a transaction still writing, VACUUM FULL, a new index,
/// a rename and a drop. Each time the exported sizes are the size functions'
/// answer at that moment, and `pg_stat_statements` counts the tables the
/// measuring statement measured.
#[tokio::test]
async fn sizes_follow_every_change_and_measure_only_changed_tables() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE EXTENSION pg_stat_statements;
         CREATE TABLE orders (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = off);
         CREATE TABLE wallets (id int PRIMARY KEY) WITH (autovacuum_enabled = off);
         CREATE TABLE tickets (id int) WITH (autovacuum_enabled = off);
         INSERT INTO orders SELECT g, 'o' FROM generate_series(1, 100) g;
         INSERT INTO wallets SELECT generate_series(1, 100)",
    )
    .await;
    let client = cluster.client().await;
    // The statistics of the setup first: their arrival would change the tables.
    eventually(WAIT, "the setup's statistics", || async {
        let row = client
            .query_one(
                "SELECT pg_stat_get_tuples_inserted('orders'::regclass)
                      + pg_stat_get_tuples_inserted('wallets'::regclass)",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 200).then_some(())
    })
    .await;
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let truth = |relname: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT pg_total_relation_size(oid)::float8 FROM pg_class WHERE relname = $1",
                    &[&relname],
                )
                .await
                .unwrap()
                .get::<_, f64>(0)
        }
    };
    // Tables measured so far: the rows of the measuring statement.
    let measured = || {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT COALESCE(sum(rows), 0)::float8 FROM pg_stat_statements
                     WHERE query LIKE '%pg_indexes_size(oid)%'",
                    &[],
                )
                .await
                .unwrap()
                .get::<_, f64>(0)
        }
    };
    let total = |relname| {
        [
            ("datname", "postgres"),
            ("schemaname", "public"),
            ("relname", relname),
        ]
    };
    let size = "pg_stat_user_tables_total_size_bytes";

    let m = exporter.scrape().await;
    assert_eq!(success(&m, "sizes"), 1.0);
    for table in ["orders", "wallets", "tickets"] {
        assert_eq!(m.value(size, &total(table)), truth(table).await, "{table}");
    }
    assert_eq!(measured().await, 3.0);
    let m = exporter.scrape().await;
    assert_eq!(measured().await, 3.0, "nothing changed, nothing measured");
    assert_eq!(m.value(size, &total("orders")), truth("orders").await);

    // Committed writes: measured once the statistics show them.
    run_and_disconnect(
        &cluster,
        "INSERT INTO orders SELECT g, repeat('n', 200) FROM generate_series(101, 5000) g",
    )
    .await;
    let grown = truth("orders").await;
    eventually(WAIT, "orders grown", || async {
        (exporter.scrape().await.get(size, &total("orders")) == Some(grown)).then_some(())
    })
    .await;
    assert_eq!(measured().await, 4.0, "orders alone measured again");

    // A transaction still writing: its table is measured on every scrape,
    // then once more after it ends (rolled back, the files keep their size).
    let writer = cluster.client().await;
    writer
        .batch_execute("BEGIN; INSERT INTO tickets SELECT generate_series(1, 20000)")
        .await
        .unwrap();
    let m = exporter.scrape().await;
    assert_eq!(m.value(size, &total("tickets")), truth("tickets").await);
    assert!(
        truth("tickets").await > 500_000.0,
        "uncommitted rows take space"
    );
    writer
        .batch_execute("INSERT INTO tickets SELECT generate_series(1, 20000)")
        .await
        .unwrap();
    let m = exporter.scrape().await;
    assert_eq!(m.value(size, &total("tickets")), truth("tickets").await);
    writer.batch_execute("ROLLBACK").await.unwrap();
    let before = measured().await;
    exporter.scrape().await;
    assert_eq!(measured().await, before + 1.0, "tickets once more");

    // VACUUM FULL (a new file), then a new index, a rename and a drop.
    run_and_disconnect(
        &cluster,
        "DELETE FROM orders WHERE id > 10;\nVACUUM FULL orders",
    )
    .await;
    let shrunk = truth("orders").await;
    assert!(shrunk < grown);
    let m = exporter.scrape().await;
    assert_eq!(m.value(size, &total("orders")), shrunk);
    run_and_disconnect(
        &cluster,
        "CREATE INDEX orders_note ON orders (note);
         ALTER TABLE wallets RENAME TO purses;
         DROP TABLE tickets",
    )
    .await;
    let m = exporter.scrape().await;
    assert_eq!(m.value(size, &total("orders")), truth("orders").await);
    let index: f64 = client
        .query_one("SELECT pg_relation_size('orders_note')::float8", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        m.value(
            "pg_stat_user_indexes_size_bytes",
            &[("relname", "orders"), ("indexrelname", "orders_note")]
        ),
        index
    );
    assert_eq!(m.value(size, &total("purses")), truth("purses").await);
    assert!(m.get(size, &total("wallets")).is_none());
    assert!(m.get(size, &total("tickets")).is_none());
    assert!(m
        .get("pg_stat_user_indexes_size_bytes", &[("relname", "wallets")])
        .is_none());

    // Two indexes swapping names: each size follows its name.
    run_and_disconnect(
        &cluster,
        "CREATE INDEX purses_wide ON purses ((repeat(id::text, 100)))",
    )
    .await;
    exporter.scrape().await;
    run_and_disconnect(
        &cluster,
        "ALTER INDEX wallets_pkey RENAME TO swap;
         ALTER INDEX purses_wide RENAME TO wallets_pkey;
         ALTER INDEX swap RENAME TO purses_wide",
    )
    .await;
    let m = exporter.scrape().await;
    let mut seen = Vec::new();
    for index in ["wallets_pkey", "purses_wide"] {
        let truth: f64 = client
            .query_one(
                "SELECT pg_relation_size($1::text::regclass)::float8",
                &[&index],
            )
            .await
            .unwrap()
            .get(0);
        let labels = [("relname", "purses"), ("indexrelname", index)];
        assert_eq!(
            m.value("pg_stat_user_indexes_size_bytes", &labels),
            truth,
            "{index}"
        );
        seen.push(truth);
    }
    assert_ne!(seen[0], seen[1], "the two indexes differ in size");

    // Another session's temporary table: a new index on it shows in no
    // signature, so it is measured on every scrape.
    let worker = cluster.client().await;
    worker
        .batch_execute(
            "CREATE TEMP TABLE work (id int, body text);
             INSERT INTO work SELECT g, repeat('w', 100) FROM generate_series(1, 2000) g",
        )
        .await
        .unwrap();
    eventually(WAIT, "the temporary table's statistics", || async {
        // PostgreSQL 13 and 14 send an idle session's counts with its next
        // statement.
        worker.batch_execute("SELECT 1").await.unwrap();
        let row = client
            .query_one(
                "SELECT pg_stat_get_tuples_inserted(oid) FROM pg_class WHERE relname = 'work'",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 2000).then_some(())
    })
    .await;
    exporter.scrape().await;
    worker
        .batch_execute("CREATE INDEX work_body ON work (body)")
        .await
        .unwrap();
    let m = exporter.scrape().await;
    let work = m.all(size, &[("relname", "work")]);
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].value, truth("work").await);
    worker.batch_execute("DROP TABLE work").await.unwrap();

    // An ANALYZE counts no write, yet an autovacuum one moves a GIN index's
    // pending list into the index: an analyzed table is measured again.
    let before = measured().await;
    run_and_disconnect(&cluster, "ANALYZE purses").await;
    eventually(WAIT, "the ANALYZE in the statistics", || async {
        let row = client
            .query_one("SELECT pg_stat_get_analyze_count('purses'::regclass)", &[])
            .await
            .unwrap();
        (row.get::<_, i64>(0) >= 1).then_some(())
    })
    .await;
    exporter.scrape().await;
    assert_eq!(measured().await, before + 1.0, "purses alone");

    // With track_counts off no write shows in the statistics: every table is
    // measured on every scrape, so a write without a count is seen at once.
    run_and_disconnect(&cluster, "ALTER SYSTEM SET track_counts = off").await;
    run_and_disconnect(&cluster, "SELECT pg_reload_conf()").await;
    eventually(WAIT, "track_counts off", || async {
        let row = client.query_one("SHOW track_counts", &[]).await.unwrap();
        (row.get::<_, String>(0) == "off").then_some(())
    })
    .await;
    let before = measured().await;
    exporter.scrape().await;
    assert_eq!(
        measured().await,
        before + 2.0,
        "orders and purses, unchanged"
    );
    let small = truth("purses").await;
    run_and_disconnect(
        &cluster,
        "INSERT INTO purses SELECT generate_series(101, 5000)",
    )
    .await;
    assert!(truth("purses").await > small);
    let m = exporter.scrape().await;
    assert_eq!(m.value(size, &total("purses")), truth("purses").await);
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
    assert_eq!(m.value("pg_partition_children", &tp), 4.0);
    let index_parent = [("parent", "transactions_partitioned_created")];
    assert!(
        m.all("pg_partition_children", &index_parent).is_empty(),
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
    assert_eq!(m.value("pg_partition_children", &parent("audit_logs")), 1.0);
    assert_eq!(
        m.value(
            "pg_partition_newest_bound_timestamp_seconds",
            &parent("audit_logs")
        ),
        epoch("2027-01-01")
    );
    assert_eq!(
        m.value("pg_partition_children", &parent("audit_logs_2026")),
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
    assert_eq!(m.value("pg_partition_children", &parent("wallets")), 2.0);
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
        m.value("pg_partition_children", &parent("orders")),
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

/// Partition sizes and measured bloat are lock-safe: with an ACCESS EXCLUSIVE
/// lock held on one partition and on one index (a REINDEX in an open
/// transaction), a scrape ends within its deadline, both collectors succeed,
/// and only the locked relations' series are absent from it.
#[tokio::test]
async fn partition_sizes_and_measured_bloat_skip_locked_relations() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE EXTENSION pgstattuple;
         CREATE TABLE events (at date NOT NULL, note text) PARTITION BY RANGE (at);
         CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
         CREATE TABLE events_2026_02 PARTITION OF events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
         INSERT INTO events SELECT date '2026-01-01' + (g % 59), repeat('x', 100) FROM generate_series(1, 20000) g;
         CREATE TABLE tickets (id int PRIMARY KEY, code int);
         CREATE INDEX tickets_code ON tickets (code);
         INSERT INTO tickets SELECT g, g FROM generate_series(1, 20000) g;
         ANALYZE",
    )
    .await;
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--collection-timeout",
            "3s",
            "--collector.bloat.method=pgstattuple_approx",
            "--collector.bloat.min-size=0",
            "--collector.bloat.min-interval=0s",
        ],
    );
    let partition = |name| [("parent", "events"), ("partition", name)];
    let index = |name| [("relname", "tickets"), ("indexrelname", name)];
    let m = exporter.scrape().await;
    for name in ["events_2026_01", "events_2026_02"] {
        assert!(
            m.get("pg_partition_size_bytes", &partition(name)).is_some(),
            "{name}"
        );
    }
    for name in ["tickets_pkey", "tickets_code"] {
        assert!(
            m.get("pg_index_bloat_ratio", &index(name)).is_some(),
            "{name}"
        );
    }

    let holder = cluster.client().await;
    holder
        .batch_execute(
            "BEGIN; LOCK TABLE events_2026_01 IN ACCESS EXCLUSIVE MODE; REINDEX INDEX tickets_code",
        )
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let m = exporter.scrape().await;
    let took = started.elapsed();
    // The deadline, and 0.5 s of slack for encoding and the round trip.
    assert!(
        took < std::time::Duration::from_millis(3_500),
        "took {took:?}"
    );
    assert_eq!(success(&m, "partitions"), 1.0, "{}", exporter.stderr());
    assert_eq!(success(&m, "bloat"), 1.0, "{}", exporter.stderr());
    assert!(m
        .get("pg_partition_size_bytes", &partition("events_2026_01"))
        .is_none());
    assert!(m
        .get("pg_partition_size_bytes", &partition("events_2026_02"))
        .is_some());
    assert!(m
        .get("pg_index_bloat_ratio", &index("tickets_code"))
        .is_none());
    assert!(m
        .get("pg_index_bloat_ratio", &index("tickets_pkey"))
        .is_some());
    holder.batch_execute("ROLLBACK").await.unwrap();
}

/// `--collector.tables.*` and `--collector.max-series` against real tables:
/// each flag keeps exactly the tables it names, database-wide families stay,
/// and `pg_scrape_collector_series` counts what each collector exported.
#[tokio::test]
async fn cardinality_flags_keep_the_tables_they_name() {
    let cluster = PgCluster::start();
    run_and_disconnect(
        &cluster,
        "CREATE TABLE orders (id int PRIMARY KEY, note text);
         INSERT INTO orders SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g;
         CREATE TABLE tiny (id int PRIMARY KEY);
         CREATE TABLE events_1 (id int PRIMARY KEY);
         CREATE TABLE events_2 (id int PRIMARY KEY);
         CREATE SCHEMA audit; CREATE TABLE audit.log (id int PRIMARY KEY);
         ANALYZE;",
    )
    .await;
    // The tables with per-table (and per-index) series in a scrape.
    let tables = |m: &support::Metrics, family: &str| -> Vec<String> {
        let mut names: Vec<String> = m
            .all(family, &[])
            .iter()
            .map(|s| format!("{}.{}", s.labels["schemaname"], s.labels["relname"]))
            .collect();
        names.sort();
        names
    };
    let all = [
        "audit.log",
        "public.events_1",
        "public.events_2",
        "public.orders",
        "public.tiny",
    ];

    let everything = Exporter::start(&cluster.dsn(), &[]).scrape().await;
    for family in [
        "pg_stat_user_tables_n_live_tup",
        "pg_stat_user_indexes_size_bytes",
    ] {
        assert_eq!(tables(&everything, family), all, "{family} by default");
    }
    // The count is what was served: statio_user_tables' families are its alone.
    let statio = |m: &support::Metrics| {
        let served = m
            .series
            .iter()
            .filter(|s| s.name.starts_with("pg_statio_user_tables_"))
            .count();
        assert_eq!(
            m.value(
                "pg_scrape_collector_series",
                &[("collector", "statio_user_tables")]
            ),
            served as f64
        );
        served
    };
    let statio_all = statio(&everything);
    assert!(statio_all >= 5 * 4, "{statio_all}");

    // Patterns, the exclusion from the environment.
    let by_name = Exporter::start_with_env(
        &[
            ("DATA_SOURCE_NAME", cluster.dsn().as_str()),
            ("PG_EXPORTER_COLLECTOR_TABLES_EXCLUDE", r".*\.events_\d+"),
        ],
        &[r"--collector.tables.include=public\..*"],
    );
    let m = by_name.scrape().await;
    for family in [
        "pg_stat_user_tables_n_live_tup",
        "pg_statio_user_tables_heap_blocks_hit",
        "pg_stat_user_tables_total_size_bytes",
        "pg_table_autovacuum_enabled",
        "pg_stat_user_indexes_size_bytes",
        "pg_index_info",
    ] {
        assert_eq!(
            tables(&m, family),
            ["public.orders", "public.tiny"],
            "{family}"
        );
    }
    assert!(m
        .get("pg_stat_database_xact_commit", &[("datname", "postgres")])
        .is_some());
    assert!(statio(&m) < statio_all);

    // Size: only orders (about 500 kB) is at least 64 kB in all.
    let m = Exporter::start(&cluster.dsn(), &["--collector.tables.min-size=65536"])
        .scrape()
        .await;
    for family in [
        "pg_stat_user_tables_n_live_tup",
        "pg_stat_user_indexes_size_bytes",
    ] {
        assert_eq!(tables(&m, family), ["public.orders"], "{family}");
    }

    // A budget: the first 3 series of stat_user_tables, one warning per change.
    let capped = Exporter::start(
        &cluster.dsn(),
        &["--collector.max-series=stat_user_tables=3"],
    );
    let m = capped.scrape().await;
    capped.scrape().await;
    assert_eq!(
        m.value(
            "pg_scrape_collector_series",
            &[("collector", "stat_user_tables")]
        ),
        3.0
    );
    assert_eq!(m.all("pg_stat_user_tables_n_live_tup", &[]).len(), 3);
    assert!(m.all("pg_stat_user_tables_n_dead_tup", &[]).is_empty());
    assert_eq!(
        tables(&m, "pg_stat_user_indexes_size_bytes"),
        all,
        "other collectors keep theirs"
    );
    let log = capped.stderr();
    assert_eq!(
        log.matches("exceeds --collector.max-series").count(),
        1,
        "{log}"
    );
    assert!(log.contains("collector=stat_user_tables"), "{log}");
    assert!(log.contains("pg_stat_user_tables_n_dead_tup"), "{log}");
}

/// The per-table statements leave the ordering to the exporter: every
/// per-table and per-index family comes out ordered by schema, table (and
/// index) name in byte order, whatever order the server returns the rows in.
#[tokio::test]
async fn per_table_families_come_out_ordered_by_name() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    // Created in reverse order of their names: the catalog's own order is not
    // the names'.
    run_and_disconnect(
        &cluster,
        "CREATE SCHEMA b; CREATE SCHEMA a_x; CREATE SCHEMA a;
         CREATE TABLE b.z (id int PRIMARY KEY);
         CREATE TABLE b.y (id int PRIMARY KEY);
         CREATE TABLE a_x.z (id int PRIMARY KEY);
         CREATE TABLE a.z (id int PRIMARY KEY, v int);
         CREATE INDEX z_v ON a.z (v);
         CREATE TABLE a.b (id int PRIMARY KEY);",
    )
    .await;
    let metrics = exporter.scrape().await;
    let table: &[&str] = &["schemaname", "relname"];
    let index: &[&str] = &["schemaname", "relname", "indexrelname"];
    for (family, labels, count) in [
        ("pg_stat_user_tables_n_live_tup", table, 5),
        ("pg_statio_user_tables_heap_blocks_hit", table, 5),
        ("pg_table_autovacuum_vacuum_threshold", table, 5),
        ("pg_stat_user_tables_table_size_bytes", table, 5),
        ("pg_stat_user_indexes_idx_scan_total", index, 6),
        ("pg_index_info", index, 6),
    ] {
        let keys: Vec<Vec<&str>> = metrics
            .series
            .iter()
            .filter(|s| s.name == family && ["a", "a_x", "b"].contains(&&*s.labels["schemaname"]))
            .map(|s| labels.iter().map(|l| s.labels[*l].as_str()).collect())
            .collect();
        assert_eq!(keys.len(), count, "{family}: {keys:?}");
        let mut ordered = keys.clone();
        ordered.sort();
        assert_eq!(keys, ordered, "{family}");
    }
}
