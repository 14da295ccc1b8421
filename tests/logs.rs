//! The `logs` collector against a real server writing csvlog, then (15+)
//! jsonlog, then stderr, with a rotation in between: bursts of errors, a
//! deadlock, a connection-limit FATAL, statement timeouts and a connection to
//! a database that does not exist are counted exactly as often as the log
//! files hold them (counted line by line as `grep -c` does), through the
//! session with the narrowest grants, from the directory (also by a role with
//! pg_monitor alone), and by an exporter whose reads are bounded and that
//! catches up. A role without the grants fails only this collector, naming
//! what it lacks.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use support::{connect, eventually, success, Exporter, Metrics, PgCluster, WAIT};

/// What the log files hold, by what the test compares: "ERROR", "FATAL",
/// "deadlock", "connection_limit", "statement_timeout".
fn grep(dir: &Path) -> BTreeMap<&'static str, f64> {
    let mut counts = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let patterns: [(&str, &str); 5] = if name.ends_with(".csv") {
            [
                ("ERROR", ",ERROR,"),
                ("FATAL", ",FATAL,"),
                ("deadlock", ",ERROR,40P01,"),
                ("connection_limit", ",FATAL,53300,"),
                (
                    "statement_timeout",
                    ",ERROR,57014,\"canceling statement due to statement timeout\"",
                ),
            ]
        } else if name.ends_with(".json") {
            [
                ("ERROR", "\"error_severity\":\"ERROR\""),
                ("FATAL", "\"error_severity\":\"FATAL\""),
                ("deadlock", "\"state_code\":\"40P01\""),
                ("connection_limit", "\"state_code\":\"53300\""),
                (
                    "statement_timeout",
                    "\"message\":\"canceling statement due to statement timeout\"",
                ),
            ]
        } else {
            [
                ("ERROR", " ERROR:  "),
                ("FATAL", " FATAL:  "),
                ("deadlock", " ERROR:  deadlock detected"),
                ("connection_limit", " FATAL:  too many connections for role"),
                (
                    "statement_timeout",
                    " ERROR:  canceling statement due to statement timeout",
                ),
            ]
        };
        for (what, pattern) in patterns {
            *counts.entry(what).or_default() +=
                text.lines().filter(|l| l.contains(pattern)).count() as f64;
        }
    }
    counts
}

/// The same figures from a scrape.
fn counted(m: &Metrics) -> BTreeMap<&'static str, f64> {
    let sum = |name: &str, labels: &[(&str, &str)]| -> f64 {
        m.all(name, labels).iter().map(|s| s.value).sum()
    };
    let mut counts = BTreeMap::new();
    for severity in ["ERROR", "FATAL"] {
        counts.insert(
            severity,
            sum("pg_log_messages_total", &[("severity", severity)]),
        );
    }
    for cause in ["deadlock", "connection_limit", "statement_timeout"] {
        counts.insert(
            cause,
            sum("pg_log_cause_messages_total", &[("cause", cause)]),
        );
    }
    counts
}

/// `errors` divisions by zero, a deadlock, two statement timeouts in
/// `festivals`, a connection over a role's limit and one to a database that
/// does not exist.
async fn burst(cluster: &PgCluster, errors: usize) {
    let festivals = cluster.dsn().replace("/postgres?", "/festivals?");
    let a = connect(&festivals).await;
    for _ in 0..errors {
        assert!(a.batch_execute("SELECT 1/0").await.is_err());
    }
    for _ in 0..2 {
        let timeout = a
            .batch_execute("SET statement_timeout = 50; SELECT pg_sleep(2)")
            .await;
        assert!(timeout.is_err());
    }
    a.batch_execute("RESET statement_timeout").await.unwrap();
    let b = connect(&festivals).await;
    a.batch_execute("BEGIN; UPDATE pair SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    b.batch_execute("BEGIN; UPDATE pair SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    let (first, second) = tokio::join!(
        a.batch_execute("UPDATE pair SET v = v + 1 WHERE id = 2"),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            b.batch_execute("UPDATE pair SET v = v + 1 WHERE id = 1")
                .await
        }
    );
    assert!(
        first.is_err() != second.is_err(),
        "one of the two is the deadlock victim"
    );
    a.batch_execute("ROLLBACK").await.unwrap();
    b.batch_execute("ROLLBACK").await.unwrap();
    let capped = cluster.dsn().replace("postgres@", "capped@");
    assert!(tokio_postgres::connect(&capped, tokio_postgres::NoTls)
        .await
        .is_err());
    let missing = cluster.dsn().replace("/postgres?", "/no_such_database?");
    assert!(tokio_postgres::connect(&missing, tokio_postgres::NoTls)
        .await
        .is_err());
}

/// Waits until the files hold `deadlocks` deadlocks (the server writes its
/// log asynchronously), then returns what they hold.
async fn logged(dir: &Path, deadlocks: f64) -> BTreeMap<&'static str, f64> {
    eventually(WAIT, "the burst in the log files", || async {
        let counts = grep(dir);
        (counts["deadlock"] == deadlocks && counts["FATAL"] >= 2.0 * deadlocks).then_some(counts)
    })
    .await
}

/// Switches log_destination and waits until the server writes there.
async fn destination(client: &tokio_postgres::Client, to: &str) {
    let set = format!("ALTER SYSTEM SET log_destination = '{to}'");
    client.batch_execute(&set).await.unwrap();
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    eventually(WAIT, "the new log destination", || async {
        let row = client
            .query_one(&format!("SELECT pg_current_logfile('{to}') IS NOT NULL AND current_setting('log_destination') = '{to}'"), &[])
            .await
            .unwrap();
        row.get::<_, bool>(0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn logs_counts_an_induced_burst_as_the_log_files_hold_it() {
    let cluster = PgCluster::start_with(&[
        "logging_collector = on",
        "log_destination = 'csvlog'",
        "log_line_prefix = '%m [%p] %q%u@%d '",
        "lc_messages = 'C'",
        "deadlock_timeout = '100ms'",
    ]);
    let client = cluster.client().await;
    client
        .batch_execute("CREATE DATABASE festivals")
        .await
        .unwrap();
    client
        .batch_execute(
            "CREATE ROLE logreader LOGIN IN ROLE pg_monitor;
             GRANT EXECUTE ON FUNCTION pg_current_logfile(text) TO logreader;
             GRANT EXECUTE ON FUNCTION pg_read_binary_file(text, bigint, bigint, boolean) TO logreader;
             GRANT EXECUTE ON FUNCTION pg_stat_file(text, boolean) TO logreader;
             CREATE ROLE capped LOGIN CONNECTION LIMIT 0;
             CREATE ROLE nobody LOGIN IN ROLE pg_monitor;",
        )
        .await
        .unwrap();
    connect(&cluster.dsn().replace("/postgres?", "/festivals?"))
        .await
        .batch_execute(
            "CREATE TABLE pair (id int PRIMARY KEY, v int); INSERT INTO pair VALUES (1, 0), (2, 0)",
        )
        .await
        .unwrap();
    let dir = cluster.data_dir().join("log");
    let dir_flag = dir.display().to_string();
    let exporters = [
        Exporter::start(
            &cluster.dsn().replace("postgres@", "logreader@"),
            &["--collector.logs"],
        ),
        Exporter::start(
            &cluster.dsn(),
            &["--collector.logs", "--collector.logs.directory", &dir_flag],
        ),
        // pg_monitor alone: which file is current comes from the directory
        // on 13 to 16, where pg_current_logfile() needs a grant.
        Exporter::start(
            &cluster.dsn().replace("postgres@", "nobody@"),
            &["--collector.logs", "--collector.logs.directory", &dir_flag],
        ),
    ];
    let bounded = Exporter::start(
        &cluster.dsn(),
        &["--collector.logs", "--collector.logs.max-read-bytes=4096"],
    );
    for exporter in exporters.iter().chain([&bounded]) {
        let m = exporter.scrape().await;
        assert_eq!(success(&m, "logs"), 1.0, "{}", exporter.stderr());
        assert_eq!(
            m.value("pg_log_read_bytes_total", &[]),
            0.0,
            "the first scrape starts at the end"
        );
    }
    let before = grep(&dir);

    let mut deadlocks = 0.0;
    let mut check = async |phase: &str, errors: usize, rotate: bool| {
        burst(&cluster, errors).await;
        if rotate {
            let old: String = client
                .query_one("SELECT pg_current_logfile()", &[])
                .await
                .unwrap()
                .get(0);
            client
                .batch_execute("SELECT pg_rotate_logfile()")
                .await
                .unwrap();
            eventually(WAIT, "a new log file", || async {
                let now: String = client
                    .query_one("SELECT pg_current_logfile()", &[])
                    .await
                    .unwrap()
                    .get(0);
                (now != old).then_some(())
            })
            .await;
            burst(&cluster, errors).await;
            deadlocks += 1.0;
        }
        deadlocks += 1.0;
        let files = logged(&dir, deadlocks).await;
        let expected: BTreeMap<&str, f64> = files
            .iter()
            .map(|(k, v)| (*k, v - before.get(k).copied().unwrap_or(0.0)))
            .collect();
        for exporter in &exporters {
            let m = exporter.scrape().await;
            assert_eq!(counted(&m), expected, "{phase}: {}", exporter.stderr());
            assert_eq!(m.value("pg_log_unread_bytes", &[]), 0.0);
            let festivals = m.value(
                "pg_log_messages_total",
                &[("datname", "festivals"), ("severity", "ERROR")],
            );
            assert_eq!(
                festivals, expected["ERROR"],
                "{phase}: every ERROR was in festivals"
            );
            assert_eq!(
                m.value(
                    "pg_log_cause_messages_total",
                    &[("datname", "postgres"), ("cause", "connection_limit")]
                ),
                expected["connection_limit"]
            );
            assert_eq!(
                m.value(
                    "pg_log_messages_total",
                    &[("datname", ""), ("severity", "FATAL")]
                ),
                expected["FATAL"] / 2.0,
                "{phase}: the missing database counts as none"
            );
            assert!(m
                .all("pg_log_messages_total", &[("datname", "no_such_database")])
                .is_empty());
            assert!(
                m.value(
                    "pg_log_last_message_timestamp_seconds",
                    &[("severity", "FATAL")]
                ) > support::now() - 120.0
            );
        }
        // The bounded exporter reads 4 KiB a scrape, says what is left, and catches up.
        let mut scrapes = 0;
        let m = loop {
            let m = bounded.scrape().await;
            scrapes += 1;
            if m.value("pg_log_unread_bytes", &[]) == 0.0 || scrapes > 200 {
                break m;
            }
        };
        assert_eq!(
            counted(&m),
            expected,
            "{phase}: after {scrapes} bounded scrapes"
        );
        (expected, scrapes)
    };
    let (expected, _) = check("csvlog", 3, false).await;
    assert_eq!(expected["deadlock"], 1.0);
    assert_eq!(expected["ERROR"], 3.0 + 2.0 + 1.0);
    // 200 errors, more than one bounded read of 4 KiB, a rotation in between.
    let (expected, scrapes) = check("csvlog rotated", 100, true).await;
    assert_eq!(expected["statement_timeout"], 6.0);
    assert!(scrapes > 5, "{scrapes} bounded scrapes");
    if cluster.version_num().await >= 150000 {
        destination(&client, "jsonlog").await;
        check("jsonlog", 3, false).await;
    }
    destination(&client, "stderr").await;
    let (expected, _) = check("stderr", 3, false).await;
    assert_eq!(
        expected["connection_limit"],
        4.0 + if cluster.version_num().await >= 150000 {
            1.0
        } else {
            0.0
        }
    );

    // Without the grants only this collector fails, naming what it lacks.
    let unprivileged = Exporter::start(
        &cluster.dsn().replace("postgres@", "nobody@"),
        &["--collector.logs"],
    );
    let m = unprivileged.scrape().await;
    assert_eq!(success(&m, "logs"), 0.0);
    assert_eq!(success(&m, "stat_activity"), 1.0);
    assert_eq!(m.value("pg_up", &[]), 1.0);
    let lacks = if cluster.version_num().await >= 170000 {
        "permission denied for function pg_stat_file"
    } else {
        "GRANT EXECUTE ON FUNCTION pg_current_logfile(text)"
    };
    assert!(
        unprivileged.stderr().contains(lacks),
        "{}",
        unprivileged.stderr()
    );
}
