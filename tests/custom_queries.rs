//! Custom queries: the festival query file run against the festival schema,
//! postgres_exporter's query file format (labels, mapped metrics, durations,
//! version bounds, database filters, a clash with a built-in family), a query
//! over its own timeout, and a broken file refused at start.

mod support;

use support::{eventually, exporter_command, now, success, Exporter, Metrics, PgCluster, WAIT};

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
    let festivals = support::connect(&dsn).await;
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
             SELECT 1, 'sunset-sound', 'pending', 49, now() - interval '10 minutes' FROM generate_series(1, 3);
             -- Four tickets sold just now, the others ten minutes ago.
             UPDATE tickets SET sold_at = now() - interval '10 minutes' WHERE status = 'sold';
             INSERT INTO tickets (festival, tier, price, status, sold_at)
             SELECT 'sunset-sound', 'day', 49, 'sold', now() FROM generate_series(1, 4)",
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
  query: "SELECT 'open' AS gate, 'up' AS state, interval '1 minute 30 seconds' AS since, now() AS at, true AS ok, 3 AS hits"
  master: true
  runonserver: ">=13.0.0"
  metrics:
    - gate: {usage: "LABEL", description: "Gate"}
    - state: {usage: "MAPPEDMETRIC", description: "State", metric_mapping: {"up": 1, "down": 0}}
    - since: {usage: "DURATION", description: "Since"}
    - at: {usage: "GAUGE", description: "When"}
    - ok: {usage: "GAUGE", description: "Fine"}
    - hits: {usage: "COUNTER", description: "Hits"}
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
    // A COUNTER column is exposed under its own name, as postgres_exporter does.
    assert_eq!(m.value("pg_festival_state_hits", &[("gate", "open")]), 3.0);
    assert_eq!(m.types["pg_festival_state_hits"], "counter");
    assert_eq!(m.value("festival_sales_tickets_last_minute", &[]), 4.0);
    assert_eq!(
        m.value("festival_orders_count", &[("status", "pending")]),
        pending
    );
    assert_eq!(m.value("festival_transactions_pending_count", &[]), pending);
    assert!(m.value("festival_transactions_pending_oldest_seconds", &[]) >= 600.0);
    assert_eq!(m.value("festival_wallets_count", &[]), wallets);
    assert!(m.value("festival_wallets_balance_total", &[]) > 0.0);

    // postgres_exporter's load status per --extend.query-path file, with
    // the SHA-256 of its content.
    let sha256 = |path: &str| {
        let out = std::process::Command::new("sha256sum")
            .arg(path)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()[..64].to_string()
    };
    for file in [festival_file, compat.to_str().unwrap()] {
        let labels = [("filename", file), ("hashsum", &sha256(file))];
        assert_eq!(
            m.value("pg_exporter_user_queries_load_error", &labels),
            0.0,
            "{file}"
        );
    }
    assert_eq!(m.all("pg_exporter_user_queries_load_error", &[]).len(), 2);
    // A reload that finds the file broken keeps the queries in use and says
    // which file failed, with the hash of what it read.
    let good = std::fs::read(&compat).unwrap();
    std::fs::write(&compat, "broken: [\n").unwrap();
    let compat_name = compat.to_str().unwrap();
    unsafe { libc::kill(exporter.pid() as i32, libc::SIGHUP) };
    let failed = [("filename", compat_name), ("hashsum", &sha256(compat_name))];
    let reloaded = eventually(WAIT, "the failed reload", || async {
        let m = exporter.scrape().await;
        (m.get("pg_exporter_user_queries_load_error", &failed) == Some(1.0)).then_some(m)
    })
    .await;
    let successful = reloaded.value("postgres_exporter_config_last_reload_successful", &[]);
    assert_eq!(successful, 0.0);
    assert_eq!(
        reloaded.value("pg_festival_state_ok", &[("gate", "open")]),
        1.0
    );
    std::fs::write(&compat, good).unwrap();

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
            .contains("two families would share a series name"),
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

    // A query over its own timeout fails alone: the next query on the same
    // session still runs. Two rows with the same labels fail their query too.
    std::fs::write(
        &compat,
        "slow:\n  query: SELECT pg_sleep(5) AS slept, 1 AS one\n  timeout: 300ms\n  metrics:\n    - one: {usage: GAUGE}\n\
         twice:\n  query: \"SELECT 'a' AS l, 1 AS v UNION ALL SELECT 'a', 2\"\n  metrics:\n    - l: {usage: LABEL}\n    - v: {usage: GAUGE}\n\
         after:\n  query: SELECT 1 AS one\n  metrics:\n    - one: {usage: GAUGE}\n",
    )
    .unwrap();
    let slow = Exporter::start(
        &dsn,
        &[
            "--extend.query-path",
            compat.to_str().unwrap(),
            "--max-connections=1",
        ],
    );
    let started = std::time::Instant::now();
    let m = slow.scrape().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "not the 5 s sleep"
    );
    assert_eq!(success(&m, "custom_queries"), 0.0);
    let query = |name| {
        m.value(
            "pg_custom_query_success",
            &[("datname", "festivals"), ("query", name)],
        )
    };
    assert_eq!(
        (query("slow"), query("twice"), query("after")),
        (0.0, 0.0, 1.0)
    );
    assert_eq!(m.value("after_one", &[]), 1.0);
    assert!(m.all("twice_v", &[]).is_empty());
    let log = slow.stderr();
    assert!(log.contains("statement timeout"), "{log}");
    assert!(
        log.contains("two rows give the same series twice_v{l=\\\"a\\\"}"),
        "{log}"
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

/// The example `queries.yaml` that Debian's prometheus-postgres-exporter
/// ships (tests/compat/debian-queries.yaml) loads as it is; every query valid
/// on this server is served, a HISTOGRAM query as a histogram, and the one
/// query whose columns this server lacks (`total_time` of
/// pg_stat_statements, renamed in PostgreSQL 13) fails alone: it reports 0
/// and loses its own series only; the collector reports the failure, named
/// in the log once.
#[tokio::test]
async fn postgres_exporters_example_file_loads_and_each_query_stands_alone() {
    let cluster = PgCluster::start();
    let client = cluster.client().await;
    client
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    // One idle session of a named application, for the histogram.
    let _idler = support::connect(&format!("{}&application_name=idler", cluster.dsn())).await;
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/debian-queries.yaml"
    );
    let exporter = Exporter::start(&cluster.dsn(), &["--extend.query-path", file]);
    exporter.scrape().await;
    let m = exporter.scrape().await;
    assert_eq!(success(&m, "custom_queries"), 0.0);
    assert_eq!(m.value("pg_exporter_last_scrape_error", &[]), 1.0);
    let query_success = |query: &str| {
        m.value(
            "pg_custom_query_success",
            &[("datname", "postgres"), ("query", query)],
        )
    };
    for query in [
        "pg_replication",
        "pg_postmaster",
        "pg_stat_user_tables",
        "pg_statio_user_tables",
        "pg_process_idle",
    ] {
        assert_eq!(query_success(query), 1.0, "{query}");
    }
    assert_eq!(query_success("pg_stat_statements"), 0.0);
    // Its own families, where no built-in one has the name.
    assert_eq!(m.value("pg_replication_lag", &[]), 0.0);
    assert_eq!(m.types["pg_process_idle_seconds"], "histogram");
    let idler = [("application_name", "idler")];
    assert_eq!(m.value("pg_process_idle_seconds_count", &idler), 1.0);
    assert_eq!(
        m.value(
            "pg_process_idle_seconds_bucket",
            &[("application_name", "idler"), ("le", "+Inf")]
        ),
        1.0
    );
    let idle_seconds = m.value("pg_process_idle_seconds_sum", &idler);
    assert!((0.0..600.0).contains(&idle_seconds), "{idle_seconds}");
    let log = exporter.stderr();
    let failures: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("custom query pg_stat_statements failed"))
        .collect();
    assert_eq!(failures.len(), 1, "{log}");
    assert!(failures[0].contains("total_time"), "{}", failures[0]);
}

/// SQL from a query file can neither write nor leave its session in a state
/// that changes what the next query sees, even as a superuser: several
/// statements (`COMMIT; BEGIN READ WRITE; INSERT …`) and statements that
/// return no rows (`SET`, `BEGIN`) are refused before anything runs, a
/// writing statement fails read-only, a `set_config()` or an advisory lock is
/// undone after the query; on the exporter's only session the next query
/// still sees the session's own settings, no transaction is left open (time
/// moves on between scrapes), and every built-in collector still succeeds.
/// Each failure names its query and reason in the log; a query with more
/// rows than `--collector.custom_queries.max-rows` and one whose file lists a
/// column it lacks fail the same way; a value that is not a number loses its
/// own sample, with one warning.
#[tokio::test]
async fn a_custom_query_cannot_write_or_change_the_session_for_the_next_query() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    admin.batch_execute("CREATE TABLE t (v int)").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.yaml");
    std::fs::write(
        &file,
        r#"
q_before:
  query: "SELECT current_setting('jit') AS jit, current_setting('max_parallel_workers_per_gather') AS workers, 1 AS v"
  metrics:
    - jit: {usage: LABEL}
    - workers: {usage: LABEL}
    - v: {usage: GAUGE}
q_several:
  query: "COMMIT; BEGIN READ WRITE; INSERT INTO t VALUES (2); COMMIT; SELECT 1 AS v"
  metrics:
    - v: {usage: GAUGE}
q_set:
  query: "SET default_transaction_read_only = off"
  metrics:
    - v: {usage: GAUGE}
q_insert:
  query: "INSERT INTO t VALUES (3) RETURNING 1 AS v"
  metrics:
    - v: {usage: GAUGE}
q_set_config:
  query: "SELECT set_config('search_path', 'evil, pg_catalog', false) AS a, set_config('statement_timeout', '0', false) AS b, set_config('default_transaction_read_only', 'off', false) AS c, pg_advisory_lock(42) AS d, set_config('jit', 'on', false) AS e, set_config('max_parallel_workers_per_gather', '4', false) AS f, set_config('role', 'pg_monitor', false) AS g, 1 AS v"
  metrics:
    - v: {usage: GAUGE}
q_after:
  query: "SELECT current_setting('search_path') AS sp, current_setting('statement_timeout') AS st, current_setting('default_transaction_read_only') AS ro, current_setting('jit') AS jit, current_setting('max_parallel_workers_per_gather') AS workers, (current_user = session_user)::text AS own_role, 1 AS v"
  metrics:
    - sp: {usage: LABEL}
    - st: {usage: LABEL}
    - ro: {usage: LABEL}
    - jit: {usage: LABEL}
    - workers: {usage: LABEL}
    - own_role: {usage: LABEL}
    - v: {usage: GAUGE}
q_now:
  query: "SELECT extract(epoch FROM now()) AS v"
  metrics:
    - v: {usage: GAUGE}
q_rows:
  query: "SELECT g::text AS k, g AS v FROM generate_series(1, 1000000) g"
  metrics:
    - k: {usage: LABEL}
    - v: {usage: GAUGE}
q_missing:
  query: "SELECT 1 AS v"
  metrics:
    - v: {usage: GAUGE}
    - w: {usage: GAUGE}
q_text:
  query: "SELECT k, CASE k WHEN 'b' THEN 'many' ELSE '7' END AS v FROM (VALUES ('a'), ('b')) s(k)"
  metrics:
    - k: {usage: LABEL}
    - v: {usage: GAUGE}
"#,
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--max-connections",
            "1",
            "--collector.custom_queries.max-rows=1000",
            "--extend.query-path",
            file.to_str().unwrap(),
        ],
    );
    let first = exporter.scrape().await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let m = exporter.scrape().await;
    let query_success = |query: &str| {
        m.value(
            "pg_custom_query_success",
            &[("datname", "postgres"), ("query", query)],
        )
    };
    let log = exporter.stderr();
    for (query, reason) in [
        ("q_several", "it holds more than one statement"),
        ("q_set", "it is not a query that returns rows"),
        ("q_insert", "read-only transaction"),
        ("q_rows", "it returned more than 1000 rows"),
        (
            "q_missing",
            "column w listed in the file is not in the query's result (it returns v)",
        ),
    ] {
        assert_eq!(query_success(query), 0.0, "{query}");
        assert!(
            log.contains(&format!("custom query {query} failed: ")) && log.contains(reason),
            "{query}: {reason}: {log}"
        );
    }
    // The session as it was opened: JIT and parallel workers off.
    assert_eq!(
        first.value("q_before_v", &[("jit", "off"), ("workers", "0")]),
        1.0,
        "{:?}",
        first.all("q_before_v", &[])
    );
    for query in ["q_set_config", "q_after", "q_now"] {
        assert_eq!(query_success(query), 1.0, "{query}");
    }
    assert_eq!(
        m.value("q_text_v", &[("k", "a")]),
        7.0,
        "readable series kept"
    );
    assert!(m.all("q_rows_v", &[]).is_empty());
    let written: i64 = admin
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(written, 0, "nothing was written");
    let locks: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "the advisory lock was released");
    assert_eq!(
        m.value(
            "q_after_v",
            &[
                ("sp", "\"$user\", public"),
                ("st", "9s"),
                ("ro", "on"),
                ("jit", "off"),
                ("workers", "0"),
                ("own_role", "true")
            ]
        ),
        1.0,
        "{:?}",
        m.all("q_after_v", &[])
    );
    assert!(
        m.value("q_now_v", &[]) > first.value("q_now_v", &[]),
        "now() moves on: no transaction is left open"
    );
    assert_eq!(m.value("pg_up", &[]), 1.0);
    for (collector, ok) in m
        .all("pg_scrape_collector_success", &[])
        .iter()
        .map(|s| (s.labels["collector"].clone(), s.value))
    {
        let expected = if collector == "custom_queries" {
            0.0
        } else {
            1.0
        };
        assert_eq!(ok, expected, "{collector}");
    }
}

/// `min_server_version` and `max_server_version` are inclusive at the
/// precision written, against the real server's version: a maximum of this
/// major admits its every minor release (18 admits 18.1), a minimum of the
/// next major leaves the query out (no success series at all), a maximum of
/// the previous major too. `cache_seconds` serves a query's last result.
#[tokio::test]
async fn version_bounds_are_inclusive_at_the_precision_written() {
    let cluster = PgCluster::start();
    let major = cluster.version_num().await / 10000;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.yaml");
    let query = |name: &str, bound: &str| {
        format!(
            "{name}:\n  query: SELECT 1 AS v\n  {bound}\n  metrics:\n    - v: {{usage: GAUGE}}\n"
        )
    };
    std::fs::write(
        &file,
        [
            query("q_this_major", &format!("max_server_version: \"{major}\"")),
            query("q_from_this_major", &format!("min_server_version: \"{major}\"")),
            query("q_next_major", &format!("min_server_version: \"{}\"", major + 1)),
            query("q_previous_major", &format!("max_server_version: \"{}\"", major - 1)),
            "q_cached:\n  query: SELECT extract(epoch FROM clock_timestamp()) AS v\n  cache_seconds: 600\n  metrics:\n    - v: {usage: GAUGE}\n".to_string(),
            "q_fresh:\n  query: SELECT extract(epoch FROM clock_timestamp()) AS v\n  metrics:\n    - v: {usage: GAUGE}\n".to_string(),
        ]
        .concat(),
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &["--extend.query-path", file.to_str().unwrap()],
    );
    let m = exporter.scrape().await;
    let ran = |query: &str| m.get("pg_custom_query_success", &[("query", query)]);
    assert_eq!(ran("q_this_major"), Some(1.0), "major {major}");
    assert_eq!(ran("q_from_this_major"), Some(1.0));
    assert_eq!(ran("q_next_major"), None);
    assert_eq!(ran("q_previous_major"), None);

    // cache_seconds: the second scrape serves the first run's value.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let again = exporter.scrape().await;
    assert_eq!(again.value("q_cached_v", &[]), m.value("q_cached_v", &[]));
    assert!(again.value("q_fresh_v", &[]) > m.value("q_fresh_v", &[]));
}
