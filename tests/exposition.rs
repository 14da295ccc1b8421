//! The exposition stays valid whatever PostgreSQL holds: identifiers with
//! quotes, backslashes, newlines, tabs, braces, `=`, emoji and 63 bytes;
//! statement texts with control characters and a megabyte of text; infinite
//! and huge values. Checked three ways: our parser (label values round-trip),
//! `promtool check metrics`, and a real Prometheus scraping the exporter.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use support::{eventually, free_port, pid, try_http_get, Exporter, Metrics, PgCluster, WAIT};
use tokio::io::AsyncWriteExt;

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[tokio::test]
async fn hostile_names_and_texts_stay_valid_exposition_end_to_end() {
    let cluster = PgCluster::start();
    let schema = "fest\"ival\\ops\n{x}=1 🎪";
    let table = "tab\tle \"quoted\" \\back {brace}=eq 🎫";
    let long_table = format!("t{}", "x".repeat(62));
    assert_eq!(long_table.len(), 63);
    let role = "odd\"role\\ 🎟";
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {s};
             CREATE TABLE {s}.{t} (id int PRIMARY KEY, note text) WITH (autovacuum_vacuum_threshold = 2147483647);
             INSERT INTO {s}.{t} SELECT g, 'n' FROM generate_series(1, 100) g;
             CREATE TABLE {l} (id int);
             CREATE TABLE {s}.timeline (at timestamptz NOT NULL) PARTITION BY RANGE (at);
             CREATE TABLE {s}.timeline_all PARTITION OF {s}.timeline FOR VALUES FROM ('-infinity') TO ('infinity');
             CREATE ROLE {r} LOGIN SUPERUSER;",
            s = quote(schema),
            t = quote(table),
            l = quote(&long_table),
            r = quote(role),
        ))
        .await
        .unwrap();
    client
        .batch_execute(&format!("CREATE DATABASE {}", quote("fest\"db 🎪")))
        .await
        .unwrap();
    // A long statement text with control characters, running as the odd role.
    let odd = Arc::new(
        support::connect(&format!(
            "host=127.0.0.1 port={} user='{}' dbname=postgres sslmode=disable",
            cluster.port,
            role.replace('\\', "\\\\").replace('\'', "\\'")
        ))
        .await,
    );
    let odd_pid = pid(&odd).await;
    let text = format!(
        "SELECT pg_sleep(60) AS \"\u{1}\u{7}\r\n{}\"",
        "x".repeat(1_000_000)
    );
    let running = {
        let odd = Arc::clone(&odd);
        tokio::spawn(async move { odd.batch_execute(&text).await })
    };
    client
        .batch_execute(&format!(
            "SELECT count(*) FROM {}.{}",
            quote(schema),
            quote(table)
        ))
        .await
        .unwrap();
    // A backend reports its table statistics for sure when it exits.
    drop(client);

    let exporter = Exporter::start(
        &cluster.dsn(),
        &["--collector.stat_activity.long-running-thresholds=1s"],
    );
    let labels = [("schemaname", schema), ("relname", table)];
    let response = eventually(
        WAIT,
        "the long statement and the rows in the scrape",
        || async {
            let response = exporter.get("/metrics").await;
            let m = Metrics::parse(&response.body);
            let rows = m.get("pg_stat_user_tables_n_live_tup", &labels) == Some(100.0);
            (rows && response.body.contains(&format!("pid=\"{odd_pid}\""))).then_some(response)
        },
    )
    .await;
    let m = Metrics::parse(&response.body);

    // Label values round-trip through the exposition.
    assert_eq!(m.value("pg_stat_user_tables_n_live_tup", &labels), 100.0);
    assert_eq!(
        m.value("pg_table_autovacuum_vacuum_threshold", &labels),
        2_147_483_647.0
    );
    assert!(m
        .get(
            "pg_stat_user_tables_n_live_tup",
            &[("relname", long_table.as_str())]
        )
        .is_some());
    assert!(m
        .get("pg_database_size_bytes", &[("datname", "fest\"db 🎪")])
        .is_some());
    let parent = [("schemaname", schema), ("parent", "timeline")];
    assert_eq!(
        m.value("pg_partition_newest_bound_timestamp_seconds", &parent),
        f64::INFINITY
    );
    assert_eq!(
        m.value("pg_partition_oldest_bound_timestamp_seconds", &parent),
        f64::NEG_INFINITY
    );
    let long = m.all(
        "pg_stat_activity_long_running_query_seconds",
        &[("pid", odd_pid.as_str())],
    );
    assert_eq!(long.len(), 1);
    assert_eq!(long[0].labels["usename"], role);
    let query = &long[0].labels["query"];
    assert!(
        query.starts_with("SELECT pg_sleep(?) AS \" x") && query.chars().count() <= 100,
        "{query:?}"
    );
    assert!(!query.chars().any(char::is_control), "{query:?}");
    let texts = m.all("pg_stat_statements_query_id", &[]);
    assert!(texts
        .iter()
        .all(|s| s.labels["query"].chars().count() <= 100 && !s.labels["query"].contains('\n')));
    assert!(
        texts.iter().any(|s| s.labels["query"].contains("🎫")),
        "{texts:#?}"
    );

    // promtool: no parse error, and no lint complaint but the accepted names.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) is installed");
    let mut stdin = promtool.stdin.take().unwrap();
    let body = response.body.clone();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, body.as_bytes()));
    let out = promtool.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // promtool's lint may only complain about postgres_exporter's names, kept
    // as they are (counters without `_total`, `_count` gauges and counters),
    // and about settings named after PostgreSQL's own (`tcp_keepalives_count`;
    // `wal_summary_keep_time` upsets the lint's "summary" rule too).
    let catalogue = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/postgres_exporter-catalogue.tsv"
    ))
    .unwrap();
    let theirs: Vec<&str> = catalogue
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split('\t').next())
        .collect();
    // Exit 0: clean; 3: lint complaints only (a parse error is 1).
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "promtool check metrics: {:?}: {report}",
        out.status
    );
    let settings = ["tcp_keepalives_count", "wal_summary_keep_time"];
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        let accepted = theirs.iter().any(|name| {
            line == format!("{name} counter metrics should have \"_total\" suffix")
                || line == format!("{name} non-histogram and non-summary metrics should not have \"_count\" suffix")
        }) || settings.iter().any(|setting| {
            line.starts_with(&format!("pg_settings_{setting}")) && line.contains(" should not ")
        });
        assert!(accepted, "promtool: {line}");
    }

    // A real Prometheus scrapes it: up == 1 and the labels come back intact.
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pg\n    static_configs:\n      - targets: ['{}']\n",
            exporter.addr
        ),
    )
    .unwrap();
    let mut prometheus = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian package prometheus) is installed");
    let api = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let query = |promql: &str| {
        let path = format!("/api/v1/query?query={}", urlencode(promql));
        async move {
            let response =
                tokio::time::timeout(Duration::from_secs(5), try_http_get(api, &path, &[]))
                    .await
                    .ok()??;
            let json: serde_json::Value = serde_json::from_str(&response.body).ok()?;
            json["data"]["result"]
                .as_array()
                .cloned()
                .filter(|r| !r.is_empty())
        }
    };
    let up = eventually(WAIT, "Prometheus scraping the exporter", || {
        query("up{job=\"pg\"} == 1")
    })
    .await;
    assert_eq!(up.len(), 1);
    let series = eventually(WAIT, "the hostile table in Prometheus", || {
        query("pg_stat_user_tables_n_live_tup")
    })
    .await;
    let found = series
        .iter()
        .find(|s| s["metric"]["relname"] == table)
        .expect("the table's series");
    assert_eq!(found["metric"]["schemaname"], schema);
    assert_eq!(found["value"][1], "100");
    let samples = query("scrape_samples_scraped{job=\"pg\"}").await.unwrap();
    let scraped: f64 = samples[0]["value"][1].as_str().unwrap().parse().unwrap();
    // `up == 1` already says the whole exposition parsed; Prometheus' own
    // scrape is another collection than ours, so a session or two may differ.
    let ours = m.series.len() as f64;
    assert!(
        (scraped - ours).abs() <= 0.02 * ours,
        "Prometheus took {scraped} samples, our scrape had {ours}"
    );
    let _ = prometheus.kill();
    let _ = prometheus.wait();

    cluster
        .client()
        .await
        .execute("SELECT pg_cancel_backend($1::text::int)", &[&odd_pid])
        .await
        .unwrap();
    assert!(running.await.unwrap().is_err());
    let mut stream = tokio::net::TcpStream::connect(exporter.addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(support::read_response(stream).await.status, 200);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
