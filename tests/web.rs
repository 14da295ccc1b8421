//! The exporter's own endpoint with a Prometheus exporter-toolkit web config
//! file: HTTPS with a certificate made by openssl in the test, basic auth with
//! a bcrypt hash, extra headers; checked with curl as a real client.

mod support;

use std::process::Command;

use support::{exporter_command, make_certificates, Exporter, PgCluster};

/// curl's `-w '%{http_code}'` for a request, or `None` when it failed to talk at all.
fn curl(args: &[&str]) -> Option<String> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .args(args)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

#[tokio::test]
async fn https_and_basic_auth_from_a_web_config_file() {
    let cluster = PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let hash = bcrypt::hash("wonderland", 4).unwrap();
    let config = dir.path().join("web.yml");
    std::fs::write(
        &config,
        format!(
            "tls_server_config:\n  cert_file: {d}/server.crt\n  key_file: {d}/server.key\n\
             basic_auth_users:\n  alice: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n",
            d = dir.path().display()
        ),
    )
    .unwrap();
    let exporter = Exporter::start(
        &cluster.dsn(),
        &["--web.config.file", config.to_str().unwrap()],
    );
    let port = exporter.addr.port();
    let ca = dir.path().join("ca.crt").display().to_string();
    let https = |path: &str| format!("https://localhost:{port}{path}");
    let resolve = format!("localhost:{port}:127.0.0.1");

    assert_eq!(
        curl(&["--cacert", &ca, "--resolve", &resolve, &https("/metrics")]).as_deref(),
        Some("401"),
        "no credentials"
    );
    assert_eq!(
        curl(&[
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-u",
            "alice:rabbit",
            &https("/metrics")
        ])
        .as_deref(),
        Some("401"),
        "wrong password"
    );
    assert_eq!(
        curl(&[
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-u",
            "bob:wonderland",
            &https("/metrics")
        ])
        .as_deref(),
        Some("401"),
        "unknown user"
    );
    assert_eq!(
        curl(&["--cacert", &ca, "--resolve", &resolve, &https("/")]).as_deref(),
        Some("401"),
        "every path is guarded"
    );
    assert_eq!(
        curl(&[
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-u",
            "alice:wonderland",
            &https("/metrics")
        ])
        .as_deref(),
        Some("200")
    );

    let out = Command::new("curl")
        .args([
            "-s",
            "-i",
            "--max-time",
            "10",
            "--cacert",
            &ca,
            "--resolve",
            &resolve,
            "-u",
            "alice:wonderland",
            &https("/metrics"),
        ])
        .output()
        .unwrap();
    let response = String::from_utf8(out.stdout).unwrap();
    assert!(response.contains("pg_up 1"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("x-frame-options: deny"),
        "{response}"
    );

    let plain = curl(&[&format!("http://127.0.0.1:{port}/metrics")]);
    assert!(
        plain.is_none() || plain.as_deref() == Some("000") || plain.as_deref() == Some("400"),
        "plain HTTP to the TLS port: {plain:?}"
    );
    let untrusted = curl(&[
        "--resolve",
        &resolve,
        "-u",
        "alice:wonderland",
        &https("/metrics"),
    ]);
    assert!(
        untrusted.is_none(),
        "a client that does not trust the CA refuses: {untrusted:?}"
    );

    for (text, field) in [
        (
            "basic_auth_users:\n  alice: not-a-hash\n",
            "basic_auth_users.alice",
        ),
        ("tls_server_config:\n  cert_file: /nope\n", "key_file"),
        ("", "empty"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = exporter_command()
            .args(["--web.config.file", config.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{text:?}: {stderr}");
        assert!(
            stderr.contains(field) && stderr.lines().count() == 1,
            "{text:?}: {stderr}"
        );
    }
}
