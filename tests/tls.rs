//! TLS to PostgreSQL, against a real server configured with a CA made by
//! openssl in the test: every sslmode, server verification by CA and by host
//! name, client certificates, and no silent downgrade when a check fails.

mod support;

use std::process::Command;

use support::{exporter_command, make_certificates, Exporter, PgCluster};

async fn pg_up(dsn: &str) -> (f64, String) {
    let exporter = Exporter::start(dsn, &["--collection-timeout", "3s"]);
    let up = exporter.scrape().await.value("pg_up", &[]);
    (up, exporter.stderr())
}

#[tokio::test]
async fn every_sslmode_against_a_tls_server() {
    let cluster = PgCluster::start();
    let data = cluster.data_dir();
    make_certificates(&data);
    let status = Command::new("sh")
        .arg("-c")
        .arg("chmod 600 server.key && if [ \"$(id -u)\" = 0 ]; then chown postgres:postgres server.key server.crt ca.crt; fi")
        .current_dir(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let hba = std::fs::read_to_string(data.join("pg_hba.conf")).unwrap();
    let rules = "hostssl all certuser 127.0.0.1/32 cert\nhost all certuser 127.0.0.1/32 reject\n\
                 hostnossl all tlsonly 127.0.0.1/32 reject\n";
    std::fs::write(data.join("pg_hba.conf"), format!("{rules}{hba}")).unwrap();
    let client = cluster.client().await;
    for statement in [
        "ALTER SYSTEM SET ssl = on",
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "ALTER SYSTEM SET ssl_ca_file = 'ca.crt'",
        "CREATE ROLE certuser LOGIN IN ROLE pg_monitor",
        "CREATE ROLE tlsonly LOGIN IN ROLE pg_monitor",
    ] {
        client.batch_execute(statement).await.unwrap();
    }
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));

    let port = cluster.port;
    let ca = data.join("ca.crt").display().to_string();
    let other = data.join("other.crt").display().to_string();
    let (cert, key) = (
        data.join("client.crt").display().to_string(),
        data.join("client.key").display().to_string(),
    );
    let url = |user: &str, host: &str, params: &str| {
        format!("postgresql://{user}@{host}:{port}/postgres?{params}")
    };

    // Encrypted without checking the certificate, as libpq's require.
    let exporter = Exporter::start(&url("postgres", "127.0.0.1", "sslmode=require"), &[]);
    assert_eq!(
        exporter.scrape().await.value("pg_up", &[]),
        1.0,
        "{}",
        exporter.stderr()
    );
    let encrypted: bool = client
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'festival-pg-exporter'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted, "the exporter's sessions use TLS");
    drop(exporter);

    // Every one of these connects over TLS: `prefer` and `allow` take the TLS
    // the server offers (no silent plaintext), as the TLS-only role shows.
    for (dsn, what) in [
        (url("postgres", "127.0.0.1", "sslmode=prefer"), "prefer"),
        (url("postgres", "127.0.0.1", "sslmode=allow"), "allow"),
        (url("tlsonly", "127.0.0.1", "sslmode=prefer"), "a TLS-only role with prefer"),
        (url("tlsonly", "127.0.0.1", "sslmode=allow"), "a TLS-only role with allow"),
        (url("postgres", "127.0.0.1", &format!("sslmode=verify-ca&sslrootcert={ca}")), "verify-ca: the CA signed it, the name is not checked"),
        (url("postgres", "localhost", &format!("sslmode=verify-full&sslrootcert={ca}")), "verify-full with the certificate's host name"),
        (url("certuser", "localhost", &format!("sslmode=verify-full&sslrootcert={ca}&sslcert={cert}&sslkey={key}")), "client certificate"),
        (url("tlsonly", "127.0.0.1", "sslmode=require"), "a TLS-only role over TLS"),
        (format!("host=localhost port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert='{ca}'"), "key=value form"),
    ] {
        let exporter = Exporter::start(&dsn, &["--collection-timeout", "3s"]);
        let up = exporter.scrape().await.value("pg_up", &[]);
        assert_eq!(up, 1.0, "{what}: {}", exporter.stderr());
        let sessions: Vec<bool> = client
            .query(
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = 'festival-pg-exporter' AND a.usename = $1",
                &[&dsn.split("://").nth(1).and_then(|r| r.split('@').next()).unwrap_or("postgres")],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(
            !sessions.is_empty() && sessions.iter().all(|ssl| *ssl),
            "{what}: the exporter's sessions use TLS: {sessions:?}"
        );
        drop(exporter);
        // Its sessions leave before the next exporter's are counted.
        support::eventually(support::WAIT, "the exporter's sessions gone", || async {
            let n: i64 = client
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'festival-pg-exporter'", &[])
                .await
                .unwrap()
                .get(0);
            (n == 0).then_some(())
        })
        .await;
    }

    for (dsn, what, reason) in [
        (
            url(
                "postgres",
                "127.0.0.1",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "verify-full with an address the certificate does not name",
            "not valid for name",
        ),
        (
            url(
                "postgres",
                "localhost",
                &format!("sslmode=verify-ca&sslrootcert={other}"),
            ),
            "verify-ca with another CA",
            "invalid peer certificate",
        ),
        (
            url(
                "certuser",
                "localhost",
                &format!("sslmode=verify-full&sslrootcert={ca}"),
            ),
            "cert authentication without a client certificate",
            "certificate",
        ),
        (
            url("tlsonly", "127.0.0.1", "sslmode=disable"),
            "a TLS-only role without TLS",
            "pg_hba.conf rejects connection",
        ),
    ] {
        let (up, log) = pg_up(&dsn).await;
        assert_eq!(up, 0.0, "{what} must fail, never downgrade");
        assert!(
            log.contains("cannot connect to PostgreSQL") && log.contains(reason),
            "{what}: {log}"
        );
    }

    let out = exporter_command()
        .env(
            "DATA_SOURCE_NAME",
            url(
                "postgres",
                "localhost",
                "sslmode=verify-full&sslrootcert=/nonexistent/ca.crt",
            ),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("sslrootcert") && stderr.contains("/nonexistent/ca.crt"),
        "{stderr}"
    );
    let out = exporter_command()
        .env(
            "DATA_SOURCE_NAME",
            url("postgres", "localhost", "sslmode=verify-full"),
        )
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "verify-full without a CA is a usage error"
    );
}
