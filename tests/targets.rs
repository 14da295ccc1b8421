//! One exporter, many servers: `/probe` against five throwaway servers of
//! different PostgreSQL majors at once, named in the configuration file or
//! given as host:port/db with postgres_exporter's auth module; collector
//! selection; configuration reload by `POST /-/reload` and SIGHUP; and the
//! `check-config` subcommand.

mod support;

use std::time::Instant;

use support::{eventually, exporter_command, http_get, Exporter, Metrics, PgCluster, WAIT};

#[tokio::test]
async fn probes_five_servers_of_different_majors_and_reloads_its_configuration() {
    let majors = [13, 14, 16, 17, 18];
    let clusters: Vec<(u32, PgCluster)> = majors
        .iter()
        .map(|&m| (m, PgCluster::start_major(m)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    let auth = "auth_modules:\n  monitor:\n    type: userpass\n    userpass: {username: postgres, password: unused}\n    options: {sslmode: disable}\n    targets: ['127\\.0\\.0\\.1:[0-9]+']\n";
    let target = |name: &str, port: u16| {
        format!(
            "  {name}:\n    dsn: postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable\n"
        )
    };
    let mut targets = String::from("targets:\n");
    for (major, cluster) in &clusters {
        targets.push_str(&target(&format!("pg{major}"), cluster.port));
    }
    let text = format!("{auth}{targets}");
    std::fs::write(&config, &text).unwrap();

    let check = exporter_command()
        .args(["check-config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0));
    assert!(String::from_utf8(check.stdout)
        .unwrap()
        .contains("ok (5 targets, 1 auth modules, 0 custom queries)"));

    // /metrics watches a sixth server; the probed ones see only their probe pools.
    let home = PgCluster::start();
    let exporter = Exporter::start(&home.dsn(), &["--config.file", config.to_str().unwrap()]);
    let addr = exporter.addr;
    let started = Instant::now();
    let probes = majors.iter().map(|major| async move {
        let response = http_get(addr, &format!("/probe?target=pg{major}"), &[]).await;
        (major, response)
    });
    let responses = futures::future::join_all(probes).await;
    let took = started.elapsed();
    for (major, response) in &responses {
        assert_eq!(response.status, 200);
        let m = Metrics::parse(&response.body);
        assert_eq!(m.value("pg_up", &[]), 1.0, "pg{major}");
        let version = &m.all("pg_static", &[])[0].labels["short_version"];
        assert!(
            version.starts_with(&format!("{major}.")),
            "pg{major} answered {version}"
        );
        let failed: Vec<_> = m
            .all("pg_scrape_collector_success", &[])
            .into_iter()
            .filter(|s| s.value != 1.0)
            .collect();
        assert!(failed.is_empty(), "pg{major}: {failed:?}");
    }
    let mut sessions = Vec::new();
    for (major, cluster) in &clusters {
        let count: i64 = cluster
            .client()
            .await
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'", &[])
            .await
            .unwrap()
            .get(0);
        assert!(
            (1..=2).contains(&count),
            "pg{major}: {count} exporter sessions, pool of 2"
        );
        sessions.push(count);
    }
    println!("5 servers probed at once in {took:?}; exporter sessions per server: {sessions:?}");

    // One collector only, and postgres_exporter's auth-module form.
    let m = Metrics::parse(
        &http_get(addr, "/probe?target=pg14&collector=locks", &[])
            .await
            .body,
    );
    assert_eq!(m.all("pg_scrape_collector_success", &[]).len(), 1);
    assert!(m
        .get(
            "pg_locks_count",
            &[("datname", "postgres"), ("mode", "accesssharelock")]
        )
        .is_some());
    let port = clusters[1].1.port;
    let m = Metrics::parse(
        &http_get(
            addr,
            &format!("/probe?target=127.0.0.1:{port}/postgres&auth_module=monitor"),
            &[],
        )
        .await
        .body,
    );
    assert_eq!(m.value("pg_up", &[]), 1.0);
    // Only the addresses the module lists, decoded once: no other host, no
    // Unix socket by a twice-encoded path.
    for hostile in [
        format!("127.0.0.2:{port}/postgres"),
        format!("%252Ftmp%252Fdir:{port}/postgres"),
        format!("127.0.0.1%253A{port}/postgres"),
    ] {
        let response = http_get(
            addr,
            &format!("/probe?target={hostile}&auth_module=monitor"),
            &[],
        )
        .await;
        assert_eq!(response.status, 400, "{hostile}: {}", response.body);
    }
    // However the collectors are repeated or ordered, the sessions to one
    // server stay within --max-connections (2), idle pools included.
    for k in 1..=12 {
        let mut query = "/probe?target=pg16".to_string();
        for i in 0..k {
            query.push_str(if i % 2 == 0 {
                "&collector=stat_activity"
            } else {
                "&collector=locks"
            });
        }
        assert_eq!(http_get(addr, &query, &[]).await.status, 200);
    }
    let pg16 = &clusters[2].1;
    let count: i64 = pg16
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        (1..=2).contains(&count),
        "{count} exporter sessions, bound 2"
    );
    assert_eq!(
        http_get(addr, "/probe?target=nowhere", &[]).await.status,
        400
    );
    assert_eq!(
        http_get(addr, "/probe?target=pg13&collector=nonsense", &[])
            .await
            .status,
        400
    );
    assert_eq!(http_get(addr, "/probe", &[]).await.status, 400);

    // Reload: a new target and a custom query; a broken file changes nothing.
    let late = PgCluster::start();
    std::fs::write(dir.path().join("q.yaml"), "festival_marker:\n  query: SELECT 42 AS answer\n  metrics:\n    - answer: {usage: GAUGE}\n").unwrap();
    let extend = "extend:\n  query_path: [q.yaml]\n";
    std::fs::write(
        &config,
        format!("{auth}{targets}{}{extend}", target("late", late.port)),
    )
    .unwrap();
    let before = exporter.scrape().await;
    assert_eq!(
        before.value("postgres_exporter_config_last_reload_successful", &[]),
        1.0
    );
    let started = before.value(
        "postgres_exporter_config_last_reload_success_timestamp_seconds",
        &[],
    );
    assert_eq!(post(addr, "/-/reload").await, 200);
    let reloaded = exporter.scrape().await.value(
        "postgres_exporter_config_last_reload_success_timestamp_seconds",
        &[],
    );
    assert!(reloaded > started, "{reloaded} after {started}");
    let m = Metrics::parse(&http_get(addr, "/probe?target=late", &[]).await.body);
    assert_eq!(m.value("pg_up", &[]), 1.0);
    assert_eq!(m.value("festival_marker_answer", &[]), 42.0);
    assert_eq!(
        exporter.scrape().await.value("festival_marker_answer", &[]),
        42.0,
        "/metrics gets the new queries too"
    );

    std::fs::write(&config, "targets:\n  broken: {dns: oops}\n").unwrap();
    assert_eq!(post(addr, "/-/reload").await, 500);
    assert_eq!(
        Metrics::parse(&http_get(addr, "/probe?target=late", &[]).await.body).value("pg_up", &[]),
        1.0,
        "the old configuration stays"
    );
    assert!(
        exporter.stderr().contains("reload failed"),
        "{}",
        exporter.stderr()
    );
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("postgres_exporter_config_last_reload_successful", &[]),
        0.0
    );
    assert_eq!(
        m.value("festival_marker_answer", &[]),
        42.0,
        "/metrics keeps the custom queries in use"
    );
    assert_eq!(
        m.value(
            "postgres_exporter_config_last_reload_success_timestamp_seconds",
            &[]
        ),
        reloaded,
        "the last success is still the one before"
    );

    std::fs::write(
        &config,
        format!("targets:\n{}", target("renamed", late.port)),
    )
    .unwrap();
    unsafe { libc::kill(exporter.pid() as i32, libc::SIGHUP) };
    eventually(WAIT, "the SIGHUP reload", || async {
        (http_get(addr, "/probe?target=renamed", &[]).await.status == 200).then_some(())
    })
    .await;
    assert_eq!(
        http_get(addr, "/probe?target=late", &[]).await.status,
        400,
        "gone after the reload"
    );
    let good = exporter_command()
        .args(["check-config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(good.status.code(), Some(0));
    std::fs::write(&config, "targets:\n  broken: {dns: oops}\n").unwrap();
    let bad = exporter_command()
        .args(["check-config", config.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr.contains("dns") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// A bodiless POST; the response status.
async fn post(addr: std::net::SocketAddr, path: &str) -> u16 {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    support::read_response(stream).await.status
}
