//! The exporter as a whole against a real PostgreSQL: endpoints, pg_up when
//! the server is unreachable, stopped and started again, single-flight
//! collections, session settings, command-line errors and shutdown.

mod support;

use std::time::{Duration, Instant};

use festival_pg_exporter::db::{Pool, SessionLimits};
use support::{
    eventually, exporter_command, free_port, http_get, Exporter, Metrics, PgCluster, WAIT,
};

#[tokio::test]
async fn unreachable_database_at_startup_is_served_as_pg_up_0() {
    let port = free_port();
    let dsn =
        format!("postgresql://watcher:hunter2-secret@127.0.0.1:{port}/festivals?sslmode=disable");
    let exporter = Exporter::start(&dsn, &["--collection-timeout", "2s"]);

    let metrics = exporter.scrape().await;
    assert_eq!(metrics.value("pg_up", &[]), 0.0);
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 1.0);
    for collector in ["stat_user_tables", "stat_activity", "locks"] {
        assert_eq!(
            metrics.value("pg_scrape_collector_success", &[("collector", collector)]),
            0.0
        );
        assert!(metrics
            .get(
                "pg_scrape_collector_duration_seconds",
                &[("collector", collector)]
            )
            .is_some());
    }
    assert!(metrics
        .all("pg_stat_user_tables_n_live_tup", &[])
        .is_empty());
    assert!(metrics.value("process_resident_memory_bytes", &[]) > 0.0);

    assert_eq!(exporter.get("/healthz").await.status, 200);
    assert_eq!(exporter.get("/readyz").await.status, 503);
    let landing = exporter.get("/").await;
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .body
            .contains(&format!("postgresql://watcher@127.0.0.1:{port}/festivals")),
        "{}",
        landing.body
    );
    assert!(landing.body.contains("stat_activity"));
    let scrape = exporter.get("/metrics").await;
    for text in [&landing.body, &scrape.body, &exporter.stderr()] {
        assert!(!text.contains("hunter2"), "password leaked: {text}");
    }
    assert!(
        exporter.stderr().contains("cannot connect to PostgreSQL"),
        "{}",
        exporter.stderr()
    );
}

#[tokio::test]
async fn stopped_server_gives_pg_up_0_within_the_deadline_and_recovers_without_restart() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &["--collection-timeout", "3s"]);
    eventually(WAIT, "ready before the first scrape", || async {
        (exporter.get("/readyz").await.status == 200).then_some(())
    })
    .await;
    let metrics = exporter.scrape().await;
    assert_eq!(metrics.value("pg_up", &[]), 1.0);
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 0.0);
    assert_eq!(exporter.get("/readyz").await.status, 200);
    let version = metrics.all("pg_static", &[]);
    assert_eq!(version.len(), 1);
    let version_num = cluster.version_num().await;
    assert_eq!(
        version[0].labels["short_version"],
        format!("{}.{}.0", version_num / 10000, version_num % 10000)
    );
    let start_time = metrics.value("pg_postmaster_start_time_seconds", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        start_time > now - 600.0 && start_time <= now,
        "start time {start_time}"
    );

    cluster.stop();
    let started = Instant::now();
    let metrics = exporter.scrape().await;
    let took = started.elapsed();
    assert_eq!(metrics.value("pg_up", &[]), 0.0);
    assert!(
        took < Duration::from_secs(5),
        "a scrape of a stopped server took {took:?}, deadline 3s"
    );
    assert_eq!(exporter.get("/readyz").await.status, 503);

    cluster.restart_stopped();
    // Back within the reconnection backoff (at most 10 s), without a restart.
    let metrics = eventually(WAIT, "pg_up 1 after the restart", || async {
        let m = exporter.scrape().await;
        (m.get("pg_up", &[]) == Some(1.0)).then_some(m)
    })
    .await;
    assert_eq!(
        metrics.value("pg_scrape_collector_success", &[("collector", "locks")]),
        1.0
    );
    assert!(metrics.value("pg_postmaster_start_time_seconds", &[]) > start_time);
    let log = exporter.stderr();
    assert_eq!(
        log.matches("msg=\"connected to PostgreSQL\"").count(),
        2,
        "{log}"
    );
    assert_eq!(
        log.matches("msg=\"cannot connect to PostgreSQL").count(),
        1,
        "{log}"
    );
}

#[tokio::test]
async fn concurrent_requests_share_one_collection() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements; CREATE TABLE tickets (id int)")
        .await
        .unwrap();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    client
        .execute("SELECT pg_stat_statements_reset()", &[])
        .await
        .unwrap();

    // Open all connections first, then send the ten requests back to back.
    let mut streams = Vec::new();
    for _ in 0..10 {
        streams.push(tokio::net::TcpStream::connect(exporter.addr).await.unwrap());
    }
    // Half of them ask for gzip, as Prometheus does.
    for (i, stream) in streams.iter_mut().enumerate() {
        use tokio::io::AsyncWriteExt;
        let coding = if i % 2 == 0 {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        stream
            .write_all(
                format!("GET /metrics HTTP/1.1\r\nHost: x\r\n{coding}Connection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
    }
    let responses =
        futures::future::join_all(streams.into_iter().map(support::read_response)).await;
    for (i, r) in responses.iter().enumerate() {
        let gzip = i % 2 == 0;
        assert_eq!(
            r.header("content-encoding"),
            gzip.then_some("gzip"),
            "request {i}"
        );
        assert_eq!(r.header("vary"), Some("Accept, Accept-Encoding"));
        // The compressed stream is one, shared: the same bytes for each, which
        // hold exactly the text the others got.
        assert_eq!(r.raw, responses[i % 2].raw, "request {i}");
        assert_eq!(r.body, responses[1].body, "request {i}");
    }
    assert_eq!(&responses[0].raw[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        responses[0].raw.len() * 4 < responses[1].raw.len(),
        "gzip makes the body at least 4 times smaller: {} bytes against {}",
        responses[0].raw.len(),
        responses[1].raw.len()
    );
    let scrape_counts: Vec<f64> = responses
        .iter()
        .map(|r| {
            assert_eq!(r.status, 200);
            let metrics = Metrics::parse(&r.body);
            assert_eq!(
                metrics.value("pg_stat_user_tables_n_live_tup", &[("relname", "tickets")]),
                0.0
            );
            metrics.value("pg_exporter_scrapes_total", &[])
        })
        .collect();
    assert_eq!(
        scrape_counts,
        vec![1.0; 10],
        "every response comes from the first collection"
    );

    let row = client
        .query_one(
            "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements \
             WHERE query LIKE '%n_mod_since_analyze%' AND query NOT LIKE '%pg_stat_statements%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, i64>(0),
        1,
        "the server ran the table statistics query once"
    );

    let next = exporter.scrape().await;
    assert_eq!(
        next.value("pg_exporter_scrapes_total", &[]),
        2.0,
        "a later request collects afresh"
    );
}

#[tokio::test]
async fn sessions_are_read_only_bounded_and_named() {
    let cluster = PgCluster::start();
    let target: tokio_postgres::Config = cluster.dsn().parse().unwrap();
    let pool = Pool::new(
        target,
        None,
        2,
        SessionLimits {
            statement_timeout: Duration::from_millis(900),
            lock_timeout: Duration::from_millis(100),
        },
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut conn = pool.acquire(deadline).await.unwrap();
    let show = |rows: Vec<tokio_postgres::Row>| rows[0].get::<_, String>(0);
    assert_eq!(
        show(conn.query("SHOW statement_timeout", &[]).await.unwrap()),
        "900ms"
    );
    assert_eq!(
        show(conn.query("SHOW lock_timeout", &[]).await.unwrap()),
        "100ms"
    );
    assert_eq!(
        show(
            conn.query("SHOW default_transaction_read_only", &[])
                .await
                .unwrap()
        ),
        "on"
    );
    assert_eq!(
        show(conn.query("SHOW application_name", &[]).await.unwrap()),
        "festival-pg-exporter"
    );
    let err = conn
        .query("CREATE TABLE forbidden (id int)", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().code().code(),
        "25006",
        "read-only transaction refuses writes"
    );
    let err = conn.query("SELECT pg_sleep(2)", &[]).await.unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().code().code(),
        "57014",
        "statement_timeout cancels"
    );
    conn.reusable();
    drop(conn);

    // Two sessions at most, however many ask.
    let first = pool.acquire(deadline).await.unwrap();
    let second = pool.acquire(deadline).await.unwrap();
    let soon = tokio::time::Instant::now() + Duration::from_millis(300);
    assert!(
        pool.acquire(soon).await.is_err(),
        "a third session must wait for a free slot"
    );
    let client = cluster.client().await;
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    drop((first, second));
}

#[tokio::test]
async fn the_scrape_deadline_follows_prometheus_timeout_header() {
    // A server that accepts connections but never answers: every step must
    // give up at the deadline the header sets, well before --collection-timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dsn = format!(
        "postgresql://postgres@{}/postgres?sslmode=disable",
        silent.local_addr().unwrap()
    );
    let exporter = Exporter::start(&dsn, &["--collection-timeout", "30s"]);
    let started = Instant::now();
    let response = http_get(
        exporter.addr,
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "2")],
    )
    .await;
    let took = started.elapsed();
    assert_eq!(response.status, 200);
    assert_eq!(Metrics::parse(&response.body).value("pg_up", &[]), 0.0);
    assert!(
        took < Duration::from_secs(5),
        "scrape took {took:?} with a 2 s Prometheus timeout"
    );
    drop(silent);
}

/// A scraper asking for a tiny deadline gets a collection cut short, but a
/// scrape with a longer deadline arriving meanwhile does not take that
/// result: it gets a collection of its own.
#[tokio::test]
async fn a_tiny_timeout_header_cannot_cut_short_another_scrape() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.yaml");
    std::fs::write(
        &queries,
        "pg_slow:\n  query: SELECT pg_sleep(1) AS slept, 1 AS one\n  metrics:\n    - one: {usage: GAUGE}\n",
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &["--extend.query-path", queries.to_str().unwrap()],
    );
    exporter.scrape().await;
    let short = http_get(
        exporter.addr,
        "/metrics",
        &[("X-Prometheus-Scrape-Timeout-Seconds", "0.6")],
    );
    let normal = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        http_get(exporter.addr, "/metrics", &[]).await
    };
    let (short, normal) = tokio::join!(short, normal);
    let short = Metrics::parse(&short.body);
    let normal = Metrics::parse(&normal.body);
    assert_eq!(
        short.value(
            "pg_scrape_collector_success",
            &[("collector", "custom_queries")]
        ),
        0.0
    );
    assert_eq!(
        normal.value(
            "pg_scrape_collector_success",
            &[("collector", "custom_queries")]
        ),
        1.0
    );
    assert_eq!(normal.value("pg_slow_one", &[]), 1.0);
}

#[tokio::test]
async fn exposition_matches_the_catalogue_and_openmetrics_is_served_only_when_switched_on() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    let plain = exporter.get("/metrics").await;
    let catalogue: Vec<String> = festival_pg_exporter::scrape::catalogue()
        .iter()
        .map(|(_, desc)| desc.name.to_string())
        .collect();
    let metrics = Metrics::parse(&plain.body);
    // A catalogue name like `pg_settings_<name>` stands for every name with that prefix.
    let listed = |family: &str| {
        catalogue.iter().any(|name| match name.split_once('<') {
            // (`<query>_<column>` names no prefix: custom queries, none here.)
            Some((prefix, _)) => !prefix.is_empty() && family.starts_with(prefix),
            None => name == family,
        })
    };
    for family in metrics.types.keys() {
        assert!(
            listed(family),
            "{family} is exposed but not in the catalogue"
        );
    }
    assert!(
        metrics.types.len() > 100,
        "a full scrape has many families: {}",
        metrics.types.len()
    );
    for series in &metrics.series {
        assert!(
            metrics.types.contains_key(&series.name),
            "{} has no TYPE line",
            series.name
        );
    }
    assert_eq!(
        plain.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(plain
        .body
        .contains("# TYPE pg_exporter_scrapes_total counter"));
    // What Prometheus asks for by default: OpenMetrics first. Without
    // --web.enable-openmetrics the answer is text 0.0.4, as postgres_exporter
    // gives, so Prometheus stores counters under their exact names.
    const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,\
        application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    let asked = http_get(exporter.addr, "/metrics", &[("Accept", PROMETHEUS_ACCEPT)]).await;
    assert_eq!(
        asked.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(asked
        .body
        .contains("# TYPE pg_stat_database_xact_commit counter\npg_stat_database_xact_commit{"));

    // With postgres_exporter's --constantLabels on every series, and one of
    // its collector flags that has no meaning here: one warning line.
    let switched_on = Exporter::start(
        &cluster.dsn(),
        &[
            "--web.enable-openmetrics",
            "--constantLabels=cluster=festival,datname=never",
            "--collector.postmaster",
        ],
    );
    let open = http_get(
        switched_on.addr,
        "/metrics",
        &[("Accept", PROMETHEUS_ACCEPT)],
    )
    .await;
    assert!(open
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(open.body.ends_with("# EOF\n"));
    assert!(open.body.contains("# TYPE pg_exporter_scrapes counter"));
    assert!(open.body.contains(
        "# TYPE pg_stat_database_xact_commit counter\npg_stat_database_xact_commit_total{"
    ));
    let plain = switched_on.get("/metrics").await.body;
    for body in [&open.body, &plain] {
        let m = Metrics::parse(body);
        assert!(m.series.len() > 100);
        for series in &m.series {
            assert_eq!(series.labels["cluster"], "festival", "{series:?}");
        }
        // A family's own label wins over a constant one of the same name.
        assert_eq!(
            m.all("pg_stat_database_numbackends", &[("datname", "postgres")])
                .len(),
            1
        );
        assert_eq!(m.all("pg_up", &[("datname", "never")]).len(), 1);
    }
    let warnings: Vec<String> = switched_on
        .stderr()
        .lines()
        .filter(|l| l.contains("is ignored"))
        .map(String::from)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("--collector.postmaster is ignored"),
        "{warnings:?}"
    );
    let refused = http_get(
        switched_on.addr,
        "/metrics",
        &[("Accept", "application/openmetrics-text;q=0,*/*")],
    )
    .await;
    assert_eq!(
        refused.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
}

#[tokio::test]
async fn sigterm_lets_the_scrape_in_flight_finish_then_exits_0() {
    // A server that accepts connections but never answers keeps the scrape in
    // flight until its 3 s deadline; SIGTERM arrives in the middle of it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dsn = format!(
        "postgresql://postgres@{}/postgres?sslmode=disable",
        silent.local_addr().unwrap()
    );
    let mut exporter = Exporter::start(&dsn, &["--collection-timeout", "3s"]);
    let addr = exporter.addr;
    let scrape = tokio::spawn(async move { http_get(addr, "/metrics", &[]).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !scrape.is_finished(),
        "the scrape should still be waiting for the server"
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = exporter.terminate();
        (status, exporter.stderr())
    })
    .await
    .unwrap();
    assert!(status.0.success(), "exit status {}: {}", status.0, status.1);
    assert!(
        status.1.contains("shutdown signal received"),
        "{}",
        status.1
    );
    let response = scrape.await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(Metrics::parse(&response.body).value("pg_up", &[]), 0.0);
    drop(silent);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        &["--collection-timeout", "soon"][..],
        &["--no-such-flag"][..],
        &["--web.listen-address", "nowhere"][..],
        &["--log.level", "chatty"][..],
        &["--data-source-name", ""][..],
        &[
            "--data-source-name",
            "postgresql://mon:p@ss@word@127.0.0.1/postgres",
        ][..],
        &["--web.telemetry-path", "/probe"][..],
    ] {
        let out = exporter_command().args(args).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("festival-pg-exporter: "), "{stderr}");
        assert!(!stderr.contains("ss@word"), "{stderr}");
    }
    let out = exporter_command()
        .env("DATA_SOURCE_NAME", "postgresql://u:pw@h:port/d")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("DATA_SOURCE_NAME") && !stderr.contains("pw@"),
        "{stderr}"
    );

    let help = exporter_command().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8(help.stdout)
        .unwrap()
        .contains("--no-collector.locks"));
}

#[tokio::test]
async fn passwords_never_show_in_logs_metrics_or_pages() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute("CREATE ROLE watcher LOGIN PASSWORD 'file-secret-42' IN ROLE pg_monitor")
        .await
        .unwrap();
    // The role must really authenticate: scram in front of initdb's trust rules.
    let hba = cluster.data_dir().join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(
        &hba,
        // md5 accepts md5 and scram-sha-256 password hashes (13 stores md5 by default).
        format!("host all watcher 127.0.0.1/32 md5\n{rules}"),
    )
    .unwrap();
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, "file-secret-42\n").unwrap();
    let port = cluster.port.to_string();
    let secrets = ["file-secret-42", "env-secret-17", "dsn-secret-99"];
    let everything = |exporter: &Exporter, landing: &str, metrics: &str| {
        let all = format!("{landing}{metrics}{}", exporter.stderr());
        for secret in secrets {
            assert!(!all.contains(secret), "{secret} leaked: {all}");
        }
    };

    // The password file wins over PGPASSWORD (which is wrong).
    let exporter = Exporter::start_with_env(
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &port),
            ("PGUSER", "watcher"),
            ("PGPASSWORD", "env-secret-17"),
            ("PGDATABASE", "postgres"),
            ("DATA_SOURCE_PASS_FILE", pass_file.to_str().unwrap()),
        ],
        &[],
    );
    assert_eq!(
        exporter.scrape().await.value("pg_up", &[]),
        1.0,
        "{}",
        exporter.stderr()
    );
    let landing = exporter.get("/").await.body;
    assert!(
        landing.contains(&format!("postgresql://watcher@127.0.0.1:{port}/postgres")),
        "{landing}"
    );
    everything(&exporter, &landing, &exporter.get("/metrics").await.body);

    let wrong_dsn =
        format!("postgresql://watcher:dsn-secret-99@127.0.0.1:{port}/postgres?sslmode=disable");
    // Wrong passwords, from PGPASSWORD and from the DSN: authentication fails, loudly and cleanly.
    for env in [
        vec![
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", port.as_str()),
            ("PGUSER", "watcher"),
            ("PGPASSWORD", "env-secret-17"),
        ],
        vec![("DATA_SOURCE_NAME", wrong_dsn.as_str())],
    ] {
        let exporter = Exporter::start_with_env(&env, &[]);
        assert_eq!(exporter.scrape().await.value("pg_up", &[]), 0.0);
        let log = exporter.stderr();
        assert!(log.contains("password authentication failed"), "{log}");
        everything(
            &exporter,
            &exporter.get("/").await.body,
            &exporter.get("/metrics").await.body,
        );
    }
}

#[tokio::test]
async fn a_server_older_than_13_is_served_with_one_warning() {
    let cluster = PgCluster::start_major(12);
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements; CREATE TABLE tickets (id int)")
        .await
        .unwrap();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    for _ in 0..2 {
        let m = exporter.scrape().await;
        assert_eq!(m.value("pg_up", &[]), 1.0);
        assert!(m.all("pg_static", &[])[0].labels["short_version"].starts_with("12."));
        for collector in [
            "stat_user_tables",
            "stat_activity",
            "locks",
            "sizes",
            "settings",
        ] {
            let ok = m.value("pg_scrape_collector_success", &[("collector", collector)]);
            assert_eq!(ok, 1.0, "{collector} works on 12: {}", exporter.stderr());
        }
        assert!(m
            .get("pg_stat_user_tables_n_live_tup", &[("relname", "tickets")])
            .is_some());
        let statements = m.value(
            "pg_scrape_collector_success",
            &[("collector", "stat_statements")],
        );
        assert_eq!(statements, 0.0, "pg_stat_statements 1.7 is too old");
    }
    let log = exporter.stderr();
    assert_eq!(log.matches("older than 13").count(), 1, "{log}");
    assert!(
        log.contains("pg_stat_statements 1.7 is older than 1.8"),
        "{log}"
    );
}

#[tokio::test]
async fn sessions_killed_with_pg_terminate_backend_are_replaced_at_once() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &[]);
    assert_eq!(exporter.scrape().await.value("pg_up", &[]), 1.0);
    let client = cluster.client().await;
    let own = "SELECT coalesce(array_agg(pid ORDER BY pid), '{}') FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'";
    let before: Vec<i32> = client.query_one(own, &[]).await.unwrap().get(0);
    assert!(!before.is_empty());
    // The guide's "Connection Limit Reached" procedure, aimed at the exporter.
    client
        .batch_execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        let m = exporter.scrape().await;
        assert_eq!(m.value("pg_up", &[]), 1.0, "{}", exporter.stderr());
        assert_eq!(
            m.value("pg_exporter_last_scrape_error", &[]),
            0.0,
            "{}",
            exporter.stderr()
        );
    }
    let after: Vec<i32> = client.query_one(own, &[]).await.unwrap().get(0);
    assert!(
        !after.is_empty() && after.iter().all(|pid| !before.contains(pid)),
        "{before:?} -> {after:?}"
    );
}

#[tokio::test]
async fn max_connections_exhausted_gives_pg_up_0_one_log_line_and_no_retry_storm() {
    let cluster = PgCluster::start_with(&["max_connections = 8", "log_connections = off"]);
    let mut hogs = Vec::new();
    for _ in 0..8 {
        hogs.push(cluster.client().await);
    }
    let exporter = Exporter::start(&cluster.dsn(), &["--collection-timeout", "2s"]);
    let started = Instant::now();
    let mut scrapes = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let m = exporter.scrape().await;
        assert_eq!(m.value("pg_up", &[]), 0.0);
        scrapes += 1;
    }
    let refused = cluster.log().matches("too many clients already").count();
    assert!(scrapes >= 20, "scrapes are answered at once: {scrapes}");
    assert!(
        (1..=4).contains(&refused),
        "{refused} connection attempts in 3 s for {scrapes} scrapes"
    );
    let log = exporter.stderr();
    assert_eq!(
        log.matches("cannot connect to PostgreSQL").count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("too many clients"),
        "the reason is in the log: {log}"
    );
    assert_eq!(exporter.get("/readyz").await.status, 503);

    hogs.truncate(2);
    eventually(WAIT, "pg_up 1 once connections are free", || async {
        (exporter.scrape().await.get("pg_up", &[]) == Some(1.0)).then_some(())
    })
    .await;
    assert_eq!(exporter.get("/readyz").await.status, 200);
}

#[tokio::test]
async fn a_locked_catalog_cannot_hang_the_scrape() {
    let cluster = PgCluster::start();
    let exporter = Exporter::start(&cluster.dsn(), &["--collection-timeout", "2s"]);
    assert_eq!(exporter.scrape().await.value("pg_up", &[]), 1.0);
    // Every query that plans against pg_class now waits for this lock.
    let holder = cluster.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE pg_class IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let defaults = festival_pg_exporter::collectors::COLLECTORS
        .iter()
        .filter(|c| c.enabled_by_default())
        .count();
    for round in 0..2 {
        let started = Instant::now();
        let response = exporter.get("/metrics").await;
        let took = started.elapsed();
        assert_eq!(response.status, 200);
        // The deadline, and 0.5 s of slack for encoding and the round trip.
        assert!(
            took < Duration::from_millis(2_500),
            "round {round}: a scrape took {took:?} with a 2 s deadline"
        );
        let m = Metrics::parse(&response.body);
        assert_eq!(
            m.value("pg_up", &[]),
            1.0,
            "round {round}: the server answers"
        );
        let statuses = m.all("pg_scrape_collector_success", &[]);
        assert_eq!(
            statuses.len(),
            defaults,
            "round {round}: every collector reports"
        );
        let failed = statuses.iter().filter(|s| s.value == 0.0).count();
        assert!(
            failed > 0,
            "round {round}: collectors reading pg_class fail on lock_timeout"
        );
        assert!(
            failed < defaults,
            "round {round}: collectors that need no pg_class still succeed"
        );
    }
    holder.batch_execute("ROLLBACK").await.unwrap();
    // The cut-off statements were cancelled: nothing of the exporter's waits on.
    let waiting = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter' AND wait_event_type = 'Lock'";
    let client = cluster.client().await;
    assert_eq!(
        client
            .query_one(waiting, &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        0
    );
    let m = eventually(WAIT, "every collector back", || async {
        let m = exporter.scrape().await;
        m.all("pg_scrape_collector_success", &[])
            .iter()
            .all(|s| s.value == 1.0)
            .then_some(m)
    })
    .await;
    assert_eq!(m.value("pg_up", &[]), 1.0);
}

#[tokio::test]
async fn sql_baseline_runs_the_collectors_sql_without_http() {
    let cluster = PgCluster::start();
    let out = exporter_command()
        .env("DATA_SOURCE_NAME", cluster.dsn())
        .args(["sql-baseline", "--rounds", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rounds: Vec<&str> = stdout.lines().filter(|l| l.starts_with("round=")).collect();
    assert_eq!(rounds.len(), 3, "{stdout}");
    assert!(
        rounds.iter().all(|l| l.ends_with("failed_collectors=0")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("summary rounds=3 median_seconds="),
        "{stdout}"
    );
}

/// `--log.format json` writes one JSON object per line (level, message and
/// fields at the top, as the logfmt lines carry them), and
/// `--web.telemetry-path` moves the metrics: `/stats` answers, `/metrics` is
/// not found.
#[tokio::test]
async fn json_logs_and_a_moved_telemetry_path() {
    let cluster = PgCluster::start();
    let port = support::free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = exporter_command()
        .env("DATA_SOURCE_NAME", cluster.dsn())
        .args([
            "--log.format",
            "json",
            "--web.telemetry-path",
            "/stats",
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
        ])
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let stats = eventually(WAIT, "the exporter listening", || async {
        support::try_http_get(addr, "/stats", &[]).await
    })
    .await;
    assert_eq!(stats.status, 200);
    assert_eq!(Metrics::parse(&stats.body).value("pg_up", &[]), 1.0);
    assert_eq!(http_get(addr, "/metrics", &[]).await.status, 404);
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(log.path()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let listening = lines
        .iter()
        .find(|l| l["message"] == "listening")
        .unwrap_or_else(|| panic!("no listening line: {text}"));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["address"], format!("127.0.0.1:{port}"));
    assert!(
        listening["target_dsn"]
            .as_str()
            .is_some_and(|dsn| dsn.starts_with("postgresql://postgres@127.0.0.1:")),
        "{listening}"
    );
}
