//! Server-wide state: settings in base units, the archiver's failures and
//! successes with WAL volume, database and checkpoint statistics (deadlocks,
//! temp files), replication on a standalone server, a primary and its
//! standby, the health metric and `health` subcommand, and backup files found
//! by glob. Every value asserted is one the test caused.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{
    eventually, exporter_command, now, run_and_disconnect, success, Exporter, Metrics, PgCluster,
    WAIT,
};

#[tokio::test]
async fn settings_in_base_units_and_info_without_archive_command_text() {
    let cluster = PgCluster::start_with(&[
        "archive_mode = on",
        "archive_command = 'cp %p /srv/very-private-archive/%f'",
        "max_parallel_workers_per_gather = 3",
        "jit = on",
    ]);
    // A setting the DSN gives is the operator's: left as given, and not served.
    let dsn = format!(
        "{}&options=-c%20max_parallel_workers_per_gather%3D5",
        cluster.dsn()
    );
    let exporter = Exporter::start(&dsn, &[]);
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
    // The session turns JIT off for itself; the server's value is served.
    assert_eq!(m.value("pg_settings_jit", &[]), 1.0);
    assert!(
        m.get("pg_settings_max_parallel_workers_per_gather", &[])
            .is_none(),
        "the DSN's value is not the server's"
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
            "pg_setting_info",
            &[("name", "archive_mode"), ("setting", "on")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_setting_info",
            &[("name", "archive_command"), ("setting", "set")]
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_setting_info",
            &[("name", "wal_level"), ("setting", "replica")]
        ),
        1.0
    );
    assert!(!response.body.contains("very-private-archive"));
    // `{__name__=~"pg_settings_.*"} != ON(__name__) ... offset 5m` (a common
    // "configuration changed" rule) needs one label-less series per name.
    let settings: Vec<_> = m
        .series
        .iter()
        .filter(|s| s.name.starts_with("pg_settings_"))
        .collect();
    assert!(settings.len() > 100, "{}", settings.len());
    assert!(
        settings.iter().all(|s| s.labels.is_empty()),
        "{:?}",
        settings.iter().find(|s| !s.labels.is_empty())
    );
}

/// An archive_command that archive_mode switches off is reported as
/// PostgreSQL reports it: `disabled` where pg_settings shows "(disabled)",
/// never `set`; the command's text never.
#[tokio::test]
async fn archive_command_switched_off_by_archive_mode_is_not_set() {
    let cluster = PgCluster::start_with(&[
        "archive_mode = off",
        "archive_command = '/bin/cp %p /very-private-archive/%f'",
    ]);
    let shown: String = cluster
        .client()
        .await
        .query_one(
            "SELECT setting FROM pg_settings WHERE name = 'archive_command'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let response = exporter.get("/metrics").await;
    let m = Metrics::parse(&response.body);
    let expected = if shown == "(disabled)" {
        "disabled"
    } else {
        "set"
    };
    assert_eq!(
        m.value(
            "pg_setting_info",
            &[("name", "archive_command"), ("setting", expected)]
        ),
        1.0,
        "pg_settings shows {shown:?}"
    );
    assert_eq!(
        m.all("pg_setting_info", &[("name", "archive_command")])
            .len(),
        1
    );
    assert!(!response.body.contains("very-private-archive"));
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
        (m.get("pg_stat_archiver_failed_count", &[]) >= Some(1.0)).then_some(m)
    })
    .await;
    assert_eq!(m.value("pg_stat_archiver_archived_count", &[]), 0.0);
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
    // PostgreSQL 14's statistics collector may report the WAL a moment after
    // the archiver: both are waited for.
    let before_14 = cluster.version_num().await < 140000;
    let m = eventually(WAIT, "an archived segment", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_archiver_archived_count", &[]) >= Some(1.0)
            && (before_14 || m.get("pg_wal_bytes_total", &[]) > Some(0.0)))
        .then_some(m)
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
    // postgres_exporter's wal families: the segment files in pg_wal.
    let segments = m.value("pg_wal_segments", &[]);
    assert!(segments >= 1.0, "{segments}");
    let wal_segment_size = 16.0 * 1024.0 * 1024.0;
    assert_eq!(
        m.value("pg_wal_size_bytes", &[]),
        segments * wal_segment_size
    );
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
        (m.get("pg_stat_database_deadlocks", &db)
            == Some(before.value("pg_stat_database_deadlocks", &db) + 1.0))
        .then_some(m)
    })
    .await;
    let m = if delta(&m, "pg_stat_database_temp_files", &db) >= 1.0 {
        m
    } else {
        eventually(WAIT, "the temp file", || async {
            let m = exporter.scrape().await;
            (delta(&m, "pg_stat_database_temp_files", &db) >= 1.0).then_some(m)
        })
        .await
    };
    assert!(delta(&m, "pg_stat_database_temp_bytes", &db) > 0.0);
    assert!(delta(&m, "pg_stat_database_xact_rollback", &db) >= 2.0);
    assert!(m.value("pg_stat_database_xact_commit", &db) > 0.0);
    assert!(m.value("pg_stat_database_blks_hit", &db) > 0.0);
    assert!(m.value("pg_stat_database_numbackends", &db) >= 1.0);
    assert_eq!(
        m.value("pg_stat_database_conflicts_confl_lock", &db),
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
    // postgres_exporter's definition: no lag on a primary.
    assert_eq!(m.value("pg_replication_lag_seconds", &[]), 0.0);
    assert_eq!(m.value("pg_replication_last_replay_seconds", &[]), 0.0);
    assert!(m.all("pg_stat_replication_pg_wal_lsn_diff", &[]).is_empty());

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
    // postgres_exporter's two label sets: by database, and by slot type.
    let slot = [("slot_name", "festival_slot"), ("database", "")];
    let typed = [("slot_name", "festival_slot"), ("slot_type", "physical")];
    assert_eq!(m.value("pg_replication_slots_active", &slot), 0.0);
    assert_eq!(m.value("pg_replication_slots_slot_is_active", &typed), 0.0);
    let retained = m.value("pg_replication_slots_pg_wal_lsn_diff", &slot);
    assert!(retained > 100_000.0, "the slot holds the inserts' WAL");
    assert!(m.value("pg_replication_slots_slot_current_wal_lsn", &typed) > retained);
    assert_eq!(
        m.value(
            "pg_replication_slots_wal_status",
            &[typed[0], typed[1], ("wal_status", "reserved")]
        ),
        1.0
    );
    // Only an active logical slot has a confirmed position, and without
    // max_slot_wal_keep_size no slot has a safe size.
    assert!(m
        .all("pg_replication_slots_slot_confirmed_flush_lsn", &[])
        .is_empty());
    assert!(m
        .all("pg_replication_slots_safe_wal_size_bytes", &[])
        .is_empty());
    drop(client);

    let standby = primary.start_standby("festival_slot");
    let client = primary.client().await;
    eventually(WAIT, "a streaming standby", || async {
        let m = exporter.scrape().await;
        (!m.all(
            "pg_stat_replication_pg_wal_lsn_diff",
            &[
                ("application_name", "festival_standby"),
                ("state", "streaming"),
            ],
        )
        .is_empty())
        .then_some(m)
    })
    .await;
    // postgres_exporter's labels: the address as inet text, the slot the
    // standby streams from, the pid.
    let standby_labels = [
        ("application_name", "festival_standby"),
        ("client_addr", "127.0.0.1/32"),
        ("state", "streaming"),
        ("slot_name", "festival_slot"),
    ];
    // Caught up with an idle primary, the standby has nothing left to be sent
    // or replayed: both lags reach exactly 0.
    let m = eventually(WAIT, "a caught-up standby", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_replication_sent_lag_bytes", &standby_labels) == Some(0.0)
            && m.get("pg_stat_replication_pg_wal_lsn_diff", &standby_labels) == Some(0.0))
        .then_some(m)
    })
    .await;
    let streaming = m.all("pg_stat_replication_pg_wal_lsn_diff", &standby_labels);
    assert!(
        streaming[0].labels["pid"].parse::<u32>().is_ok(),
        "{streaming:?}"
    );
    assert!(
        m.value(
            "pg_stat_replication_pg_current_wal_lsn_bytes",
            &standby_labels
        ) >= streaming[0].value
    );

    client
        .batch_execute("INSERT INTO tickets SELECT generate_series(1, 1000)")
        .await
        .unwrap();
    let replica = Exporter::start(&standby.dsn(), &["--collector.stat_wal_receiver"]);
    let m = eventually(WAIT, "a replayed transaction on the standby", || async {
        let m = replica.scrape().await;
        (m.get("pg_replication_last_replay_seconds", &[]) > Some(0.0)).then_some(m)
    })
    .await;
    assert_eq!(m.value("pg_replication_is_replica", &[]), 1.0);
    // Everything received is replayed: postgres_exporter's lag is 0.
    let m = eventually(WAIT, "the standby's lag at 0", || async {
        let m = replica.scrape().await;
        (m.get("pg_replication_lag_seconds", &[]) == Some(0.0)).then_some(m)
    })
    .await;
    // postgres_exporter's stat_wal_receiver: the upstream and the slot.
    let receiver = [
        ("upstream_host", "127.0.0.1"),
        ("slot_name", "festival_slot"),
        ("status", "streaming"),
    ];
    let flushed = m.value("pg_stat_wal_receiver_flushed_lsn", &receiver);
    assert!(flushed >= m.value("pg_stat_wal_receiver_receive_start_lsn", &receiver));
    assert_eq!(m.value("pg_stat_wal_receiver_received_tli", &receiver), 1.0);
    assert!(
        (m.value("pg_stat_wal_receiver_last_msg_receipt_time", &receiver) - now()).abs() < 120.0
    );
    assert!(
        m.all("pg_stat_wal_receiver_upstream_node", &[]).is_empty(),
        "not a repmgr slot"
    );
    for collector in [
        "stat_wal_receiver",
        "replication",
        "stat_user_tables",
        "sizes",
        "stat_archiver",
        "stat_bgwriter",
        "autovacuum",
    ] {
        assert_eq!(success(&m, collector), 1.0, "{collector} on a standby");
    }

    // Replayed writes show in none of the standby's statistics and take no
    // lock there: its table sizes are measured on every scrape, so they follow
    // the primary's writes at once.
    let on_standby = standby.client().await;
    let size = || async {
        on_standby
            .query_one("SELECT pg_total_relation_size('tickets')::float8", &[])
            .await
            .unwrap()
            .get::<_, f64>(0)
    };
    let tickets = [("relname", "tickets")];
    // Replay may still grow the table while the scrape runs (the primary's
    // autovacuum, say): the size served lies between those read around it.
    let before = size().await;
    let served = replica
        .scrape()
        .await
        .value("pg_stat_user_tables_total_size_bytes", &tickets);
    let after = size().await;
    assert!(
        before <= served && served <= after,
        "{before} <= {served} <= {after}"
    );
    client
        .batch_execute("INSERT INTO tickets SELECT generate_series(1, 20000)")
        .await
        .unwrap();
    eventually(
        WAIT,
        "the standby's sizes follow the replayed rows",
        || async {
            let now = size().await;
            let m = replica.scrape().await;
            (now > before && m.get("pg_stat_user_tables_total_size_bytes", &tickets) == Some(now))
                .then_some(())
        },
    )
    .await;
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
                    support::free_port()
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
async fn postgres_exporters_optional_collectors() {
    let cluster = PgCluster::start();
    let version = cluster.version_num().await;
    // Disconnecting sends the session's statistics (before 15 nothing else
    // does while it sits idle).
    run_and_disconnect(
        &cluster,
        "CREATE TABLE tickets (id int PRIMARY KEY);
         INSERT INTO tickets SELECT generate_series(1, 1000);
         SELECT count(*) FROM tickets WHERE id < 10;
         CHECKPOINT",
    )
    .await;
    if version >= 160000 {
        run_and_disconnect(&cluster, "CREATE EXTENSION pg_buffercache").await;
    }
    // An open transaction, idle in it: one long-running transaction.
    let open = cluster.client().await;
    open.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let collectors = [
        "statio_user_indexes",
        "database_wraparound",
        "long_running_transactions",
        "stat_checkpointer",
        "buffercache_summary",
        "process_idle",
    ];
    let flags: Vec<String> = collectors
        .iter()
        .map(|c| format!("--collector.{c}"))
        .collect();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let exporter = Exporter::start(&cluster.dsn(), &flags);
    let index = [
        ("schemaname", "public"),
        ("relname", "tickets"),
        ("indexrelname", "tickets_pkey"),
    ];
    // The statistics reach the views within a second or so.
    let m = eventually(WAIT, "index statistics", || async {
        let m = exporter.scrape().await;
        (m.get("pg_statio_user_indexes_idx_blks_hit_total", &index) > Some(0.0)).then_some(m)
    })
    .await;
    for collector in collectors {
        assert_eq!(success(&m, collector), 1.0, "{collector}");
    }
    // Against the views themselves (nothing reads tickets any more, and no
    // multixact is made).
    let view = cluster
        .client()
        .await
        .query_one(
            "SELECT (SELECT idx_blks_read FROM pg_statio_user_indexes WHERE indexrelname = 'tickets_pkey')::float8,
                    (SELECT mxid_age(datminmxid) FROM pg_database WHERE datname = 'postgres')::float8",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        m.value("pg_statio_user_indexes_idx_blks_read_total", &index),
        view.get::<_, f64>(0)
    );
    let postgres = [("datname", "postgres")];
    assert!(m.value("pg_database_wraparound_age_datfrozenxid_seconds", &postgres) > 0.0);
    assert_eq!(
        m.value("pg_database_wraparound_age_datminmxid_seconds", &postgres),
        view.get::<_, f64>(1)
    );
    assert!(
        m.all(
            "pg_database_wraparound_age_datfrozenxid_seconds",
            &[("datname", "template0")]
        )
        .is_empty(),
        "only databases that accept connections"
    );
    assert_eq!(m.value("pg_long_running_transactions", &[]), 1.0);
    // The same session as postgres_exporter's process_idle histogram sees it.
    let idle = [("state", "idle in transaction"), ("application_name", "")];
    assert_eq!(m.value("pg_process_idle_seconds_count", &idle), 1.0);
    assert!(m.value("pg_process_idle_seconds_sum", &idle) > 0.0);
    let bucket = |le| {
        m.value(
            "pg_process_idle_seconds_bucket",
            &[idle[0], idle[1], ("le", le)],
        )
    };
    assert_eq!(bucket("300"), 1.0);
    assert_eq!(bucket("+Inf"), 1.0);
    assert_eq!(m.types["pg_process_idle_seconds"], "histogram");
    assert!(m.value("pg_long_running_transactions_oldest_timestamp_seconds", &[]) > 0.0);
    if version >= 170000 {
        assert!(m.value("pg_stat_checkpointer_num_requested_total", &[]) >= 1.0);
        assert!(m.value("pg_stat_checkpointer_buffers_written_total", &[]) > 0.0);
    } else {
        assert!(m
            .all("pg_stat_checkpointer_num_requested_total", &[])
            .is_empty());
    }
    if version >= 160000 {
        let used = m.value("pg_buffercache_summary_buffers_used", &[]);
        let unused = m.value("pg_buffercache_summary_buffers_unused", &[]);
        assert!(used > 0.0);
        assert_eq!(
            used + unused,
            16.0 * 1024.0 * 1024.0 / 8192.0,
            "shared_buffers 16MB"
        );
    } else {
        assert!(m.all("pg_buffercache_summary_buffers_used", &[]).is_empty());
    }
    drop(open);
}
