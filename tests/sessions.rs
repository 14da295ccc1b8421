//! Sessions and locks: stat_activity (a session held idle in transaction, a
//! pg_sleep past its long-running threshold, autovacuum workers, query texts
//! with hostile characters kept valid as labels) and locks (modes, relations,
//! blocked sessions and a chain of sessions blocked behind an ACCESS
//! EXCLUSIVE lock).

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::{
    eventually, pid, run_and_disconnect, Exporter, Metrics, PgCluster, SLOW_AUTOVACUUM, WAIT,
};

#[tokio::test]
async fn stat_activity_reports_idle_transactions_and_long_queries_by_pid() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let idle_tx = cluster.client().await;
    let idle_tx_pid = pid(&idle_tx).await;
    idle_tx.batch_execute("BEGIN; SELECT 1;").await.unwrap();
    let sleeper = Arc::new(cluster.client().await);
    let sleeper_pid = pid(&sleeper).await;
    let sleeping = {
        let sleeper = Arc::clone(&sleeper);
        tokio::spawn(async move { sleeper.batch_execute("SELECT pg_sleep(60)").await })
    };
    tokio::time::sleep(Duration::from_millis(5500)).await;

    let m = exporter.scrape().await;
    let group = |state| {
        [
            ("datname", "postgres"),
            ("usename", "postgres"),
            ("state", state),
        ]
    };
    assert_eq!(
        m.value("pg_stat_activity_count", &group("idle in transaction")),
        1.0
    );
    assert_eq!(
        m.value("pg_stat_activity_count", &group("active")),
        1.0,
        "the sleeper; the exporter is not counted"
    );
    // postgres_exporter's series: every database and state, 0 with the other
    // labels empty where there is no session.
    let template = m.all("pg_stat_activity_count", &[("datname", "template1")]);
    assert_eq!(template.len(), 6, "{template:?}");
    assert!(template.iter().all(|s| s.value == 0.0
        && s.labels["usename"].is_empty()
        && s.labels["wait_event"].is_empty()));
    assert_eq!(
        m.value(
            "pg_stat_activity_max_tx_duration",
            &[("datname", "template1"), ("state", "disabled")]
        ),
        0.0
    );
    assert_eq!(
        m.all("pg_stat_activity_count", &group("active"))[0].labels["wait_event"],
        "PgSleep"
    );
    assert!(
        m.value(
            "pg_stat_activity_max_tx_duration",
            &group("idle in transaction")
        ) >= 5.0
    );
    assert!(
        m.value(
            "pg_stat_activity_max_query_duration_seconds",
            &group("active")
        ) >= 5.0
    );
    assert!(m
        .get(
            "pg_stat_activity_max_query_duration_seconds",
            &group("idle")
        )
        .is_none());

    let long = |threshold| [("datname", "postgres"), ("threshold_seconds", threshold)];
    assert_eq!(
        m.value("pg_stat_activity_long_running_queries", &long("5")),
        2.0
    );
    assert_eq!(
        m.value("pg_stat_activity_long_running_queries", &long("60")),
        0.0
    );
    assert_eq!(
        m.value("pg_stat_activity_long_running_queries", &long("300")),
        0.0
    );
    assert!(
        m.all(
            "pg_stat_activity_long_running_queries",
            &[("datname", "template1")]
        )
        .is_empty(),
        "templates are left out"
    );

    let sleeping_query = m.all(
        "pg_stat_activity_long_running_query_seconds",
        &[("pid", &sleeper_pid)],
    );
    assert_eq!(sleeping_query.len(), 1);
    assert_eq!(sleeping_query[0].labels["query"], "SELECT pg_sleep(?)");
    assert_eq!(sleeping_query[0].labels["state"], "active");
    assert!(sleeping_query[0].value >= 5.0);
    let idle_query = m.all(
        "pg_stat_activity_long_running_query_seconds",
        &[("pid", &idle_tx_pid)],
    );
    assert_eq!(idle_query.len(), 1);
    assert_eq!(idle_query[0].labels["state"], "idle in transaction");
    assert_eq!(idle_query[0].labels["query"], "BEGIN; SELECT ?;");
    assert_eq!(
        m.all("pg_stat_activity_long_running_query_seconds", &[])
            .len(),
        2
    );

    assert!(
        m.value(
            "pg_stat_activity_backends",
            &[("backend_type", "client backend")]
        ) >= 3.0
    );
    assert_eq!(
        m.value(
            "pg_stat_activity_backends",
            &[("backend_type", "checkpointer")]
        ),
        1.0
    );
    assert_eq!(m.value("pg_settings_max_connections", &[]), 40.0);
    assert_eq!(
        m.value("pg_settings_superuser_reserved_connections", &[]),
        3.0
    );

    let control = cluster.client().await;
    control
        .execute("SELECT pg_cancel_backend($1::text::int)", &[&sleeper_pid])
        .await
        .unwrap();
    assert!(sleeping.await.unwrap().is_err(), "the sleep was cancelled");
    idle_tx.batch_execute("COMMIT").await.unwrap();
    let m = eventually(WAIT, "no long-running queries", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_activity_long_running_queries", &long("5")) == Some(0.0)).then_some(m)
    })
    .await;
    assert!(m
        .all("pg_stat_activity_long_running_query_seconds", &[])
        .is_empty());
    assert!(m
        .get("pg_stat_activity_count", &group("idle in transaction"))
        .is_none());
}

#[tokio::test]
async fn stat_activity_counts_autovacuum_workers() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &["--collector.stat_activity_autovacuum"]);
    assert_eq!(
        exporter
            .scrape()
            .await
            .value("pg_stat_activity_autovacuum_workers", &[]),
        0.0
    );
    // A throttled autovacuum of many dead tuples keeps a worker busy for a while.
    run_and_disconnect(&cluster, SLOW_AUTOVACUUM).await;
    let audit_logs = [("relname", "audit_logs")];
    let m = eventually(WAIT, "an autovacuum worker on audit_logs", || async {
        let m = exporter.scrape().await;
        (m.get("pg_stat_activity_autovacuum_workers", &[]) >= Some(1.0)
            && m.get("pg_stat_activity_autovacuum_timestamp_seconds", &audit_logs)
                .is_some())
        .then_some(m)
    })
    .await;
    // postgres_exporter's stat_activity_autovacuum: when the worker's
    // transaction started.
    let started = m.value("pg_stat_activity_autovacuum_timestamp_seconds", &audit_logs);
    assert!((support::now() - started) < 60.0, "{started}");
    // Both counts against the view itself, counted right after a scrape
    // (workers come and go: until the two agree).
    let client = cluster.client().await;
    eventually(WAIT, "the workers pg_stat_activity counts", || async {
        let m = exporter.scrape().await;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        let n = n as f64;
        (n >= 1.0
            && m.get("pg_stat_activity_autovacuum_workers", &[]) == Some(n)
            && m.get(
                "pg_stat_activity_backends",
                &[("backend_type", "autovacuum worker")],
            ) == Some(n))
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn locks_report_modes_relations_blocked_sessions_and_blocking_chains() {
    let cluster = PgCluster::start();
    let setup = cluster.client().await;
    setup
        .batch_execute("CREATE TABLE tickets (id int); CREATE TABLE wallets (id int);")
        .await
        .unwrap();
    let exporter = Exporter::start(&cluster.dsn(), &[]);

    // holder locks tickets; middle locks wallets, then waits for tickets;
    // tail waits for wallets: holder blocks middle directly and tail through middle.
    let holder = cluster.client().await;
    let holder_pid = pid(&holder).await;
    holder
        .batch_execute("BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let middle = Arc::new(cluster.client().await);
    let middle_pid = pid(&middle).await;
    middle
        .batch_execute("BEGIN; LOCK TABLE wallets IN ACCESS EXCLUSIVE MODE;")
        .await
        .unwrap();
    let middle_wait = {
        let middle = Arc::clone(&middle);
        tokio::spawn(async move { middle.batch_execute("SELECT * FROM tickets").await })
    };
    let tail = cluster.client().await;
    let tail_pid = pid(&tail).await;
    let tail_wait = tokio::spawn(async move { tail.batch_execute("SELECT * FROM wallets").await });

    let blocked = [("datname", "postgres")];
    eventually(WAIT, "two blocked sessions", || async {
        (exporter.scrape().await.get("pg_blocked_sessions", &blocked) == Some(2.0)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let m = exporter.scrape().await;
    assert_eq!(m.value("pg_blocked_sessions", &blocked), 2.0);
    assert!(m.value("pg_blocked_sessions_max_wait_seconds", &blocked) >= 1.0);
    assert_eq!(
        m.value(
            "pg_locks_count",
            &[("datname", "postgres"), ("mode", "accessexclusivelock")]
        ),
        2.0
    );
    for datname in ["postgres", "template0", "template1"] {
        assert_eq!(
            m.all("pg_locks_count", &[("datname", datname)]).len(),
            9,
            "every database and lock mode is present, as in postgres_exporter"
        );
    }
    assert_eq!(
        m.value(
            "pg_locks_count",
            &[("datname", "postgres"), ("mode", "sireadlock")]
        ),
        0.0
    );

    let rel = |relname, mode, granted| {
        [
            ("datname", "postgres"),
            ("schemaname", "public"),
            ("relname", relname),
            ("mode", mode),
            ("granted", granted),
        ]
    };
    assert_eq!(
        m.value(
            "pg_relation_locks",
            &rel("tickets", "accessexclusivelock", "true")
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_relation_locks",
            &rel("tickets", "accesssharelock", "false")
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_relation_locks",
            &rel("wallets", "accessexclusivelock", "true")
        ),
        1.0
    );
    assert_eq!(
        m.value(
            "pg_relation_locks",
            &rel("wallets", "accesssharelock", "false")
        ),
        1.0
    );
    assert_eq!(m.all("pg_relation_locks", &[]).len(), 4);

    let head = m.all("pg_blocking_session_waiters", &[("pid", &holder_pid)]);
    assert_eq!(head.len(), 1);
    assert_eq!(
        head[0].value, 2.0,
        "holder blocks middle and, through it, tail"
    );
    assert_eq!(head[0].labels["state"], "idle in transaction");
    assert_eq!(
        head[0].labels["query"],
        "BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE;"
    );
    assert_eq!(head[0].labels["usename"], "postgres");
    assert_eq!(
        m.value(
            "pg_blocking_session_waiters",
            &[("pid", &middle_pid), ("state", "active")]
        ),
        1.0
    );
    assert!(m
        .all("pg_blocking_session_waiters", &[("pid", &tail_pid)])
        .is_empty());

    // Releasing the head leaves middle (still in its transaction) blocking tail.
    holder.batch_execute("COMMIT").await.unwrap();
    middle_wait.await.unwrap().unwrap();
    let m = eventually(WAIT, "one blocked session", || async {
        let m = exporter.scrape().await;
        (m.get("pg_blocked_sessions", &blocked) == Some(1.0)).then_some(m)
    })
    .await;
    assert_eq!(m.all("pg_blocking_session_waiters", &[]).len(), 1);
    assert_eq!(
        m.value("pg_blocking_session_waiters", &[("pid", &middle_pid)]),
        1.0
    );
    middle.batch_execute("COMMIT").await.unwrap();
    tail_wait.await.unwrap().unwrap();
    let m = eventually(WAIT, "no blocked session", || async {
        let m = exporter.scrape().await;
        (m.get("pg_blocked_sessions", &blocked) == Some(0.0)).then_some(m)
    })
    .await;
    assert!(m.all("pg_blocking_session_waiters", &[]).is_empty());
    assert_eq!(
        m.value("pg_blocked_sessions_max_wait_seconds", &blocked),
        0.0
    );
}

#[tokio::test]
async fn query_labels_keep_hostile_text_valid() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &["--collector.stat_activity.long-running-thresholds=1s"],
    );
    let sleeper = Arc::new(cluster.client().await);
    let sleeper_pid = pid(&sleeper).await;
    // (comments and literals are masked; a quoted identifier is kept)
    let text = "SELECT pg_sleep(30) AS \"\"\"quoted\"\" \\ back\nslash\ttab {}=🎪\"";
    let sleeping = {
        let sleeper = Arc::clone(&sleeper);
        tokio::spawn(async move { sleeper.batch_execute(text).await })
    };
    let m: Metrics = eventually(WAIT, "the hostile query", || async {
        let m = exporter.scrape().await;
        (!m.all(
            "pg_stat_activity_long_running_query_seconds",
            &[("pid", &sleeper_pid)],
        )
        .is_empty())
        .then_some(m)
    })
    .await;
    let series = m.all(
        "pg_stat_activity_long_running_query_seconds",
        &[("pid", &sleeper_pid)],
    );
    assert_eq!(
        series[0].labels["query"],
        "SELECT pg_sleep(?) AS \"\"\"quoted\"\" \\ back slash tab {}=🎪\""
    );
    assert_eq!(
        m.value(
            "pg_stat_activity_long_running_queries",
            &[("datname", "postgres"), ("threshold_seconds", "1")]
        ),
        1.0
    );
    cluster
        .client()
        .await
        .execute("SELECT pg_cancel_backend($1::text::int)", &[&sleeper_pid])
        .await
        .unwrap();
    assert!(sleeping.await.unwrap().is_err());
}
