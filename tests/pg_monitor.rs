//! Running as a role with only pg_monitor: every collector enabled by default
//! succeeds, and sees other users' sessions, statements, tables, locks and
//! partitions. When the grant is revoked, a gauge and one warning say so
//! instead of the series shrinking quietly, and a database whose size the
//! role may not read only lacks its size.

mod support;

use support::{now, success, Exporter, PgCluster};

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
    let app = support::connect(&format!(
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
            "pg_relation_locks",
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
    for role in [
        "pg_monitor",
        "pg_read_all_stats",
        "pg_read_all_settings",
        "pg_stat_scan_tables",
    ] {
        assert_eq!(
            m.value("pg_exporter_role_granted", &[("role", role)]),
            1.0,
            "{role}"
        );
    }
    assert!(!exporter.stderr().contains("lacks predefined roles"));

    client
        .batch_execute("REVOKE pg_monitor FROM festival_monitor")
        .await
        .unwrap();
    // A database the role may no longer read the size of (rdsadmin on RDS).
    client
        .batch_execute("CREATE DATABASE locked_away")
        .await
        .unwrap();
    client
        .batch_execute("REVOKE CONNECT ON DATABASE locked_away FROM PUBLIC")
        .await
        .unwrap();
    exporter.scrape().await;
    let m = exporter.scrape().await;
    assert_eq!(success(&m, "database"), 1.0, "{}", exporter.stderr());
    let locked = [("datname", "locked_away")];
    assert_eq!(m.value("pg_database_connection_limit", &locked), -1.0);
    assert!(m.get("pg_database_size_bytes", &locked).is_none());
    // A GRANT gives the database's row a new version: measured again, now
    // through CONNECT alone.
    client
        .batch_execute("GRANT CONNECT ON DATABASE postgres TO festival_monitor")
        .await
        .unwrap();
    let m = exporter.scrape().await;
    let postgres = [("datname", "postgres")];
    assert!(m.value("pg_database_size_bytes", &postgres) > 0.0);
    assert_eq!(m.value("pg_database_size_age_seconds", &postgres), 0.0);
    for role in ["pg_monitor", "pg_read_all_stats"] {
        assert_eq!(
            m.value("pg_exporter_role_granted", &[("role", role)]),
            0.0,
            "{role}"
        );
    }
    let log = exporter.stderr();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("lacks predefined roles"))
        .collect();
    assert_eq!(warnings.len(), 1, "once, not per scrape: {log}");
    assert!(
        warnings[0]
            .contains("pg_monitor,pg_read_all_stats,pg_read_all_settings,pg_stat_scan_tables"),
        "{}",
        warnings[0]
    );
}
