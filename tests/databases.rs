//! Many databases on one server: `--auto-discover-databases` with
//! `--include-databases` / `--exclude-databases`, per-database collectors told
//! apart by `datname` and server-wide ones reported once, custom queries by
//! database, sessions bounded in total by `--max-connections` and closed after
//! each scrape, and databases dropped or created between scrapes.

mod support;

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use festival_pg_exporter::db::{Pool, SessionLimits};
use support::{connect, eventually, Exporter, Metrics, PgCluster, WAIT};

/// The exporter's sessions per database, as the server sees them. Sessions
/// still starting (listed from PostgreSQL 18 on, before the server has
/// checked them against any limit) are not counted.
async fn exporter_sessions(client: &tokio_postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT COALESCE(datname::text, '') FROM pg_stat_activity
             WHERE application_name = 'festival-pg-exporter'
               AND state IS DISTINCT FROM 'starting'
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// A pool of two sessions like the exporter's, with a 5 s statement timeout.
fn pool(dsn: &str) -> Pool {
    Pool::new(
        dsn.parse().unwrap(),
        None,
        2,
        SessionLimits {
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_millis(500),
        },
    )
}

/// The `datname` label values of a family.
fn datnames(metrics: &Metrics, name: &str) -> BTreeSet<String> {
    metrics
        .all(name, &[])
        .iter()
        .map(|s| s.labels["datname"].clone())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Every series of the exposition is there once.
fn assert_no_repeated_series(metrics: &Metrics) {
    let mut seen = HashSet::new();
    for series in &metrics.series {
        assert!(
            seen.insert((series.name.clone(), series.labels.clone())),
            "{} {:?} exported twice",
            series.name,
            series.labels
        );
    }
}

/// Creates a database with one table of `rows` rows.
async fn create_database(
    cluster: &PgCluster,
    admin: &tokio_postgres::Client,
    name: &str,
    rows: i32,
) {
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let client = connect(&cluster.dsn().replace("/postgres?", &format!("/{name}?"))).await;
    client
        .batch_execute(&format!(
            "CREATE TABLE t_{name} (id int PRIMARY KEY);
             INSERT INTO t_{name} SELECT generate_series(1, {rows});
             ANALYZE t_{name};
             GRANT SELECT ON t_{name} TO PUBLIC;"
        ))
        .await
        .unwrap();
}

const QUERIES: &str = r#"
pg_db_tables:
  query: "SELECT current_database() AS datname, count(*) AS count FROM pg_stat_user_tables"
  metrics:
    - datname: {usage: "LABEL", description: "Database"}
    - count: {usage: "GAUGE", description: "User tables"}
pg_dsn_only:
  query: "SELECT current_database() AS datname, 1 AS one"
  master: true
  metrics:
    - datname: {usage: "LABEL", description: "Database"}
    - one: {usage: "GAUGE", description: "Only in the DSN's database"}
pg_festivals_only:
  query: "SELECT current_database() AS datname, 1 AS one"
  databases: [festivals]
  metrics:
    - datname: {usage: "LABEL", description: "Database"}
    - one: {usage: "GAUGE", description: "Only in festivals"}
pg_unlabelled:
  query: "SELECT 1 AS one"
  metrics:
    - one: {usage: "GAUGE", description: "The same series in every database"}
"#;

#[tokio::test]
async fn discovers_databases_filters_them_and_follows_drops_and_creates() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    admin
        .batch_execute(
            "CREATE ROLE watcher LOGIN CONNECTION LIMIT 2 IN ROLE pg_monitor;
             CREATE TABLE t_postgres (id int PRIMARY KEY); INSERT INTO t_postgres VALUES (1);",
        )
        .await
        .unwrap();
    for (name, rows) in [
        ("festivals", 30),
        ("tenant_a", 10),
        ("tenant_b", 20),
        ("scratch", 5),
        ("private", 5),
        ("closed", 5),
        ("tmpl", 5),
    ] {
        create_database(&cluster, &admin, name, rows).await;
    }
    admin
        .batch_execute(
            "REVOKE CONNECT ON DATABASE private FROM PUBLIC;
             ALTER DATABASE closed ALLOW_CONNECTIONS false;
             ALTER DATABASE tmpl IS_TEMPLATE true;",
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.yaml");
    std::fs::write(&queries, QUERIES).unwrap();
    let dsn = cluster.dsn().replace("postgres@", "watcher@");
    let exporter = Exporter::start(
        &dsn,
        &[
            "--auto-discover-databases",
            "--exclude-databases=scratch",
            "--extend.query-path",
            queries.to_str().unwrap(),
            "--max-connections=2",
        ],
    );

    // While the exporter scrapes, it never has more than two sessions open,
    // whatever the number of databases: the server enforces it with the role's
    // CONNECTION LIMIT, and no collector may fail for it.
    let watching = Arc::new(AtomicBool::new(true));
    let most = Arc::new(AtomicI64::new(0));
    let watcher = {
        let (watching, most) = (Arc::clone(&watching), Arc::clone(&most));
        let client = cluster.client().await;
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                let open = exporter_sessions(&client).await.len() as i64;
                most.fetch_max(open, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let mut metrics = exporter.scrape().await;
    for _ in 0..4 {
        metrics = exporter.scrape().await;
    }
    watching.store(false, Ordering::Relaxed);
    watcher.await.unwrap();
    let most = most.load(Ordering::Relaxed);
    assert!(most >= 1, "the watcher saw the exporter's sessions");
    assert!(
        most <= 2,
        "{most} exporter sessions at once with --max-connections=2"
    );

    let scraped = set(&["festivals", "postgres", "tenant_a", "tenant_b"]);
    assert_eq!(
        datnames(&metrics, "pg_stat_user_tables_n_live_tup"),
        scraped
    );
    assert_eq!(
        metrics.value(
            "pg_stat_user_tables_n_live_tup",
            &[("datname", "tenant_b"), ("relname", "t_tenant_b")]
        ),
        20.0
    );
    for family in [
        "pg_stat_user_indexes_idx_scan_total",
        "pg_stat_user_tables_table_size_bytes",
        "pg_stat_user_tables_index_size_bytes",
        "pg_table_autovacuum_vacuum_trigger_tuples",
        "pg_tables_needing_vacuum",
        "pg_scrape_database_success",
        "pg_db_tables_count",
    ] {
        assert_eq!(datnames(&metrics, family), scraped, "{family}");
    }
    for datname in &scraped {
        assert_eq!(
            metrics.value("pg_scrape_database_success", &[("datname", datname)]),
            1.0
        );
        assert_eq!(
            metrics.value("pg_db_tables_count", &[("datname", datname)]),
            1.0,
            "{datname}"
        );
    }
    // Server-wide families come once, from the DSN's database, and still cover
    // every database, but the database collector leaves out the excluded one,
    // as postgres_exporter's does.
    assert_no_repeated_series(&metrics);
    for family in ["pg_database_size_bytes", "pg_database_connection_limit"] {
        assert!(metrics.get(family, &[("datname", "scratch")]).is_none());
        assert!(metrics.get(family, &[("datname", "festivals")]).is_some());
    }
    assert!(metrics
        .get("pg_database_frozen_xid_age", &[("datname", "festivals")])
        .is_some());
    assert_eq!(metrics.all("pg_up", &[]).len(), 1);
    // Custom queries: `master` in the DSN's database only, `databases` where listed,
    // and a series repeated by several databases kept once, with one warning.
    assert_eq!(datnames(&metrics, "pg_dsn_only_one"), set(&["postgres"]));
    assert_eq!(
        datnames(&metrics, "pg_festivals_only_one"),
        set(&["festivals"])
    );
    assert_eq!(metrics.all("pg_unlabelled_one", &[]).len(), 1);
    assert_eq!(
        exporter
            .stderr()
            .matches("the same series came from more than one database")
            .count(),
        1,
        "{}",
        exporter.stderr()
    );
    for series in metrics.all("pg_scrape_collector_success", &[]) {
        assert_eq!(series.value, 1.0, "{:?}", series.labels);
    }
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 0.0);

    // Between scrapes only the DSN's database has a session: others can be dropped.
    eventually(WAIT, "sessions to other databases closed", || async {
        let sessions = exporter_sessions(&admin).await;
        sessions.iter().all(|d| d == "postgres").then_some(())
    })
    .await;
    admin.batch_execute("DROP DATABASE tenant_a").await.unwrap();
    create_database(&cluster, &admin, "tenant_c", 3).await;
    let metrics = exporter.scrape().await;
    assert_eq!(
        datnames(&metrics, "pg_stat_user_tables_n_live_tup"),
        set(&["festivals", "postgres", "tenant_b", "tenant_c"])
    );
    assert!(
        metrics
            .series
            .iter()
            .all(|s| s.labels.get("datname").map(String::as_str) != Some("tenant_a")),
        "a dropped database leaves no series"
    );
    // Database sizes too: the new one is measured at once, though the others' are served.
    let tenant_c = [("datname", "tenant_c")];
    assert_eq!(
        metrics.value("pg_database_size_age_seconds", &tenant_c),
        0.0
    );
    assert!(metrics.value("pg_database_size_bytes", &tenant_c) > 0.0);
    assert!(metrics.value("pg_database_size_age_seconds", &[("datname", "postgres")]) > 0.0);
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 0.0);

    // Only some databases, by pattern; the DSN's is always scraped. A query
    // that fails in one database fails its collector and that database only.
    let failing = dir.path().join("failing.yaml");
    std::fs::write(
        &failing,
        r#"
pg_festival_rows:
  query: "SELECT current_database() AS datname, count(*) AS n FROM t_tenant_b"
  metrics:
    - datname: {usage: "LABEL", description: "Database"}
    - n: {usage: "GAUGE", description: "Rows of a table only tenant_b has"}
"#,
    )
    .unwrap();
    // This exporter also probes the server with a pool of its own: room for both.
    admin
        .batch_execute("ALTER ROLE watcher CONNECTION LIMIT 4")
        .await
        .unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, format!("targets:\n  same:\n    dsn: {dsn}\n")).unwrap();
    let picky = Exporter::start(
        &dsn,
        &[
            "--config.file",
            config.to_str().unwrap(),
            "--auto-discover-databases",
            "--include-databases=tenant_.*,private",
            "--exclude-databases=tenant_c",
            "--extend.query-path",
            failing.to_str().unwrap(),
            "--no-collector.bloat",
        ],
    );
    let metrics = picky.scrape().await;
    assert_eq!(
        datnames(&metrics, "pg_stat_user_tables_n_live_tup"),
        set(&["postgres", "tenant_b"]),
        "private has no CONNECT for the exporter's role"
    );
    assert_eq!(
        metrics.value("pg_festival_rows_n", &[("datname", "tenant_b")]),
        20.0
    );
    assert_eq!(
        metrics.value(
            "pg_scrape_collector_success",
            &[("collector", "custom_queries")]
        ),
        0.0
    );
    assert_eq!(
        metrics.value(
            "pg_scrape_collector_success",
            &[("collector", "stat_user_tables")]
        ),
        1.0
    );
    assert_eq!(
        metrics.value("pg_scrape_database_success", &[("datname", "tenant_b")]),
        1.0
    );
    assert_eq!(
        metrics.value("pg_scrape_database_success", &[("datname", "postgres")]),
        0.0
    );
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 1.0);
    assert_no_repeated_series(&metrics);
    // A /probe target is scraped the same way.
    let probed = picky.get("/probe?target=same").await;
    assert_eq!(probed.status, 200);
    let probed = Metrics::parse(&probed.body);
    assert_eq!(
        datnames(&probed, "pg_stat_user_tables_n_live_tup"),
        set(&["postgres", "tenant_b"])
    );
    assert_no_repeated_series(&probed);
}

#[tokio::test]
async fn sessions_in_all_databases_share_one_bound() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    for name in ["festivals", "tenant_a"] {
        create_database(&cluster, &admin, name, 1).await;
    }
    let pool = pool(&cluster.dsn());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for database in [None, Some("festivals")] {
        let mut conn = pool.acquire_in(deadline, database).await.unwrap();
        conn.reusable();
    }
    assert_eq!(exporter_sessions(&admin).await, ["festivals", "postgres"]);

    // A third database: an idle session of another database makes room.
    let mut conn = pool.acquire_in(deadline, Some("tenant_a")).await.unwrap();
    let row = conn
        .query("SELECT current_database()::text", &[])
        .await
        .unwrap();
    assert_eq!(row[0].get::<_, String>(0), "tenant_a");
    conn.reusable();
    drop(conn);
    let sessions = eventually(WAIT, "two sessions", || async {
        let sessions = exporter_sessions(&admin).await;
        (sessions.len() == 2).then_some(sessions)
    })
    .await;
    assert!(sessions.contains(&"tenant_a".to_string()), "{sessions:?}");

    // Two sessions lent out: a third waits for one, whatever its database.
    let first = pool.acquire_in(deadline, Some("tenant_a")).await.unwrap();
    let second = pool.acquire_in(deadline, Some("festivals")).await.unwrap();
    let soon = tokio::time::Instant::now() + Duration::from_millis(300);
    assert!(pool.acquire_in(soon, None).await.is_err());
    drop((first, second));

    // Idle sessions to other databases are closed on request; the DSN's stay.
    let mut conn = pool.acquire(deadline).await.unwrap();
    conn.reusable();
    drop(conn);
    let mut conn = pool.acquire_in(deadline, Some("festivals")).await.unwrap();
    conn.reusable();
    drop(conn);
    pool.close_other_databases();
    eventually(WAIT, "only the DSN's database's session", || async {
        (exporter_sessions(&admin).await == ["postgres"]).then_some(())
    })
    .await;

    // A database that is gone says so.
    let err = pool
        .acquire_in(deadline, Some("dropped_meanwhile"))
        .await
        .err()
        .expect("no session to a database that does not exist");
    assert!(err.database_missing(), "{err}");
    let nowhere = cluster.dsn().replace(&cluster.port.to_string(), "1");
    let err = self::pool(&nowhere)
        .acquire(deadline)
        .await
        .err()
        .expect("no session on port 1");
    assert!(
        !err.database_missing(),
        "a refused connection is not a missing database"
    );
}

#[tokio::test]
async fn a_database_dropped_during_a_scrape_is_gone_not_failed() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    for name in ["festivals", "leaving"] {
        create_database(&cluster, &admin, name, 3).await;
    }
    // The DSN's database is scraped first, and with one session a slow query
    // there holds the other databases back: `leaving` is listed, then dropped
    // before any session to it opens.
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("slow.yaml");
    std::fs::write(
        &queries,
        "pg_slow:\n  query: SELECT 1 AS one FROM pg_sleep(1.5)\n  master: true\n  metrics:\n    - one: {usage: GAUGE, description: Slow}\n",
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--auto-discover-databases",
            "--max-connections=1",
            "--extend.query-path",
            queries.to_str().unwrap(),
        ],
    );
    let metrics = exporter.scrape().await;
    assert_eq!(
        datnames(&metrics, "pg_stat_user_tables_n_live_tup"),
        set(&["festivals", "leaving"])
    );
    let scrape = tokio::spawn(async move {
        let metrics = exporter.scrape().await;
        (exporter, metrics)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.batch_execute("DROP DATABASE leaving").await.unwrap();
    let (exporter, metrics) = scrape.await.unwrap();
    assert_eq!(metrics.value("pg_slow_one", &[]), 1.0);
    assert_eq!(
        datnames(&metrics, "pg_stat_user_tables_n_live_tup"),
        set(&["festivals"])
    );
    assert_eq!(
        datnames(&metrics, "pg_scrape_database_success"),
        set(&["festivals", "postgres"])
    );
    for series in metrics.all("pg_scrape_collector_success", &[]) {
        assert_eq!(series.value, 1.0, "{:?}", series.labels);
    }
    assert_eq!(metrics.value("pg_exporter_last_scrape_error", &[]), 0.0);
    assert!(
        !exporter.stderr().contains("leaving"),
        "nothing to say about a dropped database: {}",
        exporter.stderr()
    );
}

#[tokio::test]
async fn a_session_just_closed_is_waited_for_under_a_role_connection_limit() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    admin
        .batch_execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 1")
        .await
        .unwrap();
    let dsn = cluster.dsn().replace("postgres@", "limited@");
    let pool = pool(&dsn);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // The pool closes a session (not marked reusable: cancelled and closed) ...
    drop(pool.acquire(deadline).await.unwrap());
    // ... and the role's only slot is taken again at once, released 300 ms later,
    // as a session the server still counts would be.
    let holder = eventually(WAIT, "the role's slot", || async {
        tokio_postgres::connect(&dsn, tokio_postgres::NoTls)
            .await
            .ok()
    })
    .await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(holder);
    });
    let started = tokio::time::Instant::now();
    let mut conn = pool
        .acquire(deadline)
        .await
        .expect("the new session waits for the slot instead of failing");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    let rows = conn.query("SELECT current_user::text", &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, String>(0), "limited");
    conn.reusable();
    release.await.unwrap();

    // Long after the last close, a full role is the server's answer, at once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = tokio::time::timeout(
        Duration::from_secs(3),
        pool.acquire_in(deadline, Some("postgres")),
    )
    .await
    .expect("no waiting when the pool closed nothing recently");
    assert!(
        second.is_err(),
        "the role's one slot is the pool's idle session"
    );
}

/// A database owner who points their database's search_path at a schema of
/// their own, with functions named like the catalog's, runs nothing in the
/// exporter's sessions: those search `pg_catalog` (then `pg_temp`) only,
/// whatever the database or role says, for functions and operators alike;
/// custom queries search PostgreSQL's default path.
#[tokio::test]
async fn a_database_search_path_cannot_hijack_the_exporters_sql() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    create_database(&cluster, &admin, "hijack", 10).await;
    let owner = connect(&cluster.dsn().replace("/postgres?", "/hijack?")).await;
    owner
        .batch_execute(
            "CREATE SCHEMA evil;
             CREATE FUNCTION evil.current_database() RETURNS name LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE FUNCTION evil.count(anyelement) RETURNS bigint LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE FUNCTION evil.pg_table_size(regclass) RETURNS bigint LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE FUNCTION evil.pg_relation_size(regclass) RETURNS bigint LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE FUNCTION evil.oideq(oid, oid) RETURNS boolean LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.oideq);
             CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'evil code ran'; END $$;
             CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
             GRANT USAGE ON SCHEMA evil TO PUBLIC;
             ALTER DATABASE hijack SET search_path = evil, pg_catalog, public;",
        )
        .await
        .unwrap();
    drop(owner);
    let dir = tempfile::tempdir().unwrap();
    let queries = dir.path().join("queries.yaml");
    std::fs::write(
        &queries,
        "pg_hijack_tables:\n  query: \"SELECT count(*) AS count FROM t_hijack\"\n  databases: [hijack]\n  metrics:\n    - count: {usage: GAUGE}\n",
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--auto-discover-databases",
            "--extend.query-path",
            queries.to_str().unwrap(),
        ],
    );
    let m = exporter.scrape().await;
    assert_eq!(
        m.value("pg_scrape_database_success", &[("datname", "hijack")]),
        1.0,
        "{}",
        exporter.stderr()
    );
    for s in m.all("pg_scrape_collector_success", &[]) {
        assert_eq!(s.value, 1.0, "{s:?}: {}", exporter.stderr());
    }
    assert!(!exporter.stderr().contains("evil code ran"));
    let tables = [
        ("datname", "hijack"),
        ("schemaname", "public"),
        ("relname", "t_hijack"),
    ];
    // (Its statistics may still be on their way on PostgreSQL 13 and 14.)
    assert_eq!(m.all("pg_stat_user_tables_n_live_tup", &tables).len(), 1);
    // The custom query finds the owner's public table by PostgreSQL's default path.
    assert_eq!(m.value("pg_hijack_tables_count", &[]), 10.0);
}

/// Database and role names that are not UTF-8 (an owner of a `SQL_ASCII`
/// database can create them) come out with U+FFFD in their labels; no
/// collector fails on them, and discovery skips a database it cannot name.
#[tokio::test]
async fn names_that_are_not_utf8_fail_no_collector() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    admin
        .batch_execute(
            "CREATE DATABASE ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
        )
        .await
        .unwrap();
    cluster.psql_bytes(
        "ascii",
        b"CREATE DATABASE \"bad_\xff\";\nCREATE ROLE \"role_\xff\";\n",
    );
    let exporter = Exporter::start(&cluster.dsn(), &["--auto-discover-databases"]);
    let m = exporter.scrape().await;
    for s in m.all("pg_scrape_collector_success", &[]) {
        assert_eq!(s.value, 1.0, "{s:?}: {}", exporter.stderr());
    }
    assert_eq!(
        m.value(
            "pg_database_connection_limit",
            &[("datname", "bad_\u{fffd}")]
        ),
        -1.0
    );
    assert_eq!(
        m.value("pg_roles_connection_limit", &[("rolname", "role_\u{fffd}")]),
        -1.0
    );
    let visited: Vec<&str> = m
        .all("pg_scrape_database_success", &[])
        .iter()
        .map(|s| s.labels["datname"].as_str())
        .collect();
    assert_eq!(visited, ["postgres", "ascii"]);
}

/// The sessions the exporter really opens — to the DSN's database, to a
/// discovered database and for a `/probe` target — carry the limits derived
/// from `--collection-timeout` (4 s: `statement_timeout` 90 %, `lock_timeout`
/// 10 %) and are read-only, as a custom query running on each reports.
#[tokio::test]
async fn every_session_kind_carries_the_timeouts_and_read_only() {
    let cluster = PgCluster::start();
    let admin = cluster.client().await;
    create_database(&cluster, &admin, "festivals", 1).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("session.yaml"),
        "pg_session:\n  query: \"SELECT current_database() AS datname, current_setting('statement_timeout') AS st, current_setting('lock_timeout') AS lt, current_setting('default_transaction_read_only') AS ro, 1 AS v\"\n  metrics:\n    - datname: {usage: LABEL}\n    - st: {usage: LABEL}\n    - lt: {usage: LABEL}\n    - ro: {usage: LABEL}\n    - v: {usage: GAUGE}\n",
    )
    .unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(
        &config,
        format!(
            "targets:\n  self:\n    dsn: {}\nextend:\n  query_path: [session.yaml]\n",
            cluster.dsn()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &[
            "--auto-discover-databases",
            "--collection-timeout=4s",
            "--config.file",
            config.to_str().unwrap(),
        ],
    );
    let limits = |datname: &'static str| {
        [
            ("datname", datname),
            ("st", "3600ms"),
            ("lt", "400ms"),
            ("ro", "on"),
        ]
    };
    let m = exporter.scrape().await;
    for datname in ["postgres", "festivals"] {
        assert_eq!(
            m.get("pg_session_v", &limits(datname)),
            Some(1.0),
            "{datname}: {:?}",
            m.all("pg_session_v", &[])
        );
    }
    let probe = Metrics::parse(&exporter.get("/probe?target=self").await.body);
    assert_eq!(
        probe.get("pg_session_v", &limits("postgres")),
        Some(1.0),
        "/probe: {:?}",
        probe.all("pg_session_v", &[])
    );
}
