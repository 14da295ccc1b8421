//! The exporter's own endpoint with a Prometheus exporter-toolkit web config
//! file: HTTPS with a certificate made by openssl in the test, basic auth with
//! a bcrypt hash, extra headers; checked with curl as a real client.

mod support;

use std::process::Command;

use support::{exporter_command, make_certificates, Exporter, PgCluster};

/// curl's `-w '%{http_code}'` for a request, or curl's exit code when it
/// failed to talk at all (7: nothing listens, 35: TLS handshake failed, 60: the
/// server's certificate is not trusted, …), so that one failure is not taken
/// for another.
fn curl(args: &[&str]) -> Result<String, i32> {
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
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(out.status.code().unwrap_or(-1))
    }
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
        Ok("401"),
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
        Ok("401"),
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
        Ok("401"),
        "unknown user"
    );
    assert_eq!(
        curl(&["--cacert", &ca, "--resolve", &resolve, &https("/")]).as_deref(),
        Ok("401"),
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
        Ok("200")
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

    // Plain HTTP to the TLS port gets no HTTP answer: curl reports the TLS
    // alert as an HTTP/0.9 reply it refuses (1), an empty reply (52) or a
    // receive error (56); not "nothing listens" (7), and the port still serves
    // TLS afterwards.
    let plain = curl(&[&format!("http://127.0.0.1:{port}/metrics")]);
    assert!(
        matches!(plain, Err(1 | 52 | 56)),
        "plain HTTP to the TLS port: {plain:?}"
    );
    let untrusted = curl(&[
        "--resolve",
        &resolve,
        "-u",
        "alice:wonderland",
        &https("/metrics"),
    ]);
    assert_eq!(
        untrusted,
        Err(60),
        "a client that does not trust the CA refuses the certificate (not: nothing listens)"
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

/// Clients that hold connections without finishing a request are bounded:
/// half-sent requests and idle kept-alive connections are closed after
/// `--web.read-header-timeout`, at most `--web.max-connections` are open at
/// once (the next waits and is served when one closes), `HEAD` runs no
/// collection, and SIGTERM ends the process within its grace period whatever
/// a client holds open.
#[tokio::test]
async fn slow_and_idle_clients_are_cut_off_and_bounded() {
    use std::time::{Duration, Instant};
    use support::{http_get, Metrics};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    // Nothing listens on port 1: every collection ends at once with pg_up 0.
    let dsn = "postgresql://postgres@127.0.0.1:1/postgres?sslmode=disable";
    let exporter = Exporter::start(
        dsn,
        &["--web.read-header-timeout=1s", "--web.max-connections=3"],
    );
    let addr = exporter.addr;
    let scrapes = |m: &Metrics| m.value("pg_exporter_scrapes_total", &[]);

    // HEAD: the headers, no collection.
    let before = scrapes(&exporter.scrape().await);
    let mut head = TcpStream::connect(addr).await.unwrap();
    head.write_all(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    head.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("text/plain; version=0.0.4"), "{answer}");
    assert_eq!(
        scrapes(&exporter.scrape().await),
        before + 1.0,
        "HEAD ran no collection"
    );

    // A request head over 16 KiB is refused, not buffered.
    let mut big = TcpStream::connect(addr).await.unwrap();
    let header = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(20_000)
    );
    let _ = big.write_all(header.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = big.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Three connections: two half-sent requests and one kept alive after its answer.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        held.push(stream);
    }
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    held.push(kept);
    let opened = Instant::now();
    // A fourth waits for a free slot...
    let waiting = tokio::spawn(async move { http_get(addr, "/healthz", &[]).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "served beyond --web.max-connections"
    );
    // ...which the read-header timeout makes: every held connection is closed.
    for mut stream in held {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "a held connection was not closed: {read:?}"
        );
    }
    assert!(opened.elapsed() >= Duration::from_millis(900));
    let served = tokio::time::timeout(Duration::from_secs(5), waiting).await;
    assert_eq!(served.unwrap().unwrap().status, 200);

    // SIGTERM with a client that never finishes its headers (default 30 s timeout).
    let mut exporter = Exporter::start(dsn, &[]);
    let mut stuck = TcpStream::connect(exporter.addr).await.unwrap();
    stuck
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    let status = tokio::task::spawn_blocking(move || exporter.terminate())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "exit took {:?}",
        signalled.elapsed()
    );
    drop(stuck);
}

/// An unknown user name is answered no faster than a known one with a wrong
/// password (both cost one bcrypt check), so user names cannot be told
/// apart by timing; the right password is let in, again and again.
#[tokio::test]
async fn unknown_users_cost_a_bcrypt_check_like_known_ones() {
    use base64::Engine;
    use std::time::{Duration, Instant};
    use support::http_get;

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("web.yml");
    // Cost 10: about 50 ms a check here, far above a request's own time.
    let hash = bcrypt::hash("wonderland", 10).unwrap();
    std::fs::write(&config, format!("basic_auth_users:\n  alice: {hash}\n")).unwrap();
    let dsn = "postgresql://postgres@127.0.0.1:1/postgres?sslmode=disable";
    let exporter = Exporter::start(dsn, &["--web.config.file", config.to_str().unwrap()]);
    let basic = |pair: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    };
    let median = |pair: &'static str| {
        let header = basic(pair);
        let addr = exporter.addr;
        async move {
            let mut times = Vec::new();
            for _ in 0..5 {
                let started = Instant::now();
                let response = http_get(addr, "/healthz", &[("Authorization", &header)]).await;
                times.push(started.elapsed());
                assert_eq!(response.status, 401, "{pair}");
            }
            times.sort();
            times[2]
        }
    };
    let wrong_password = median("alice:rabbit").await;
    let unknown_user = median("mallory:rabbit").await;
    assert!(
        wrong_password > Duration::from_millis(5),
        "a bcrypt check: {wrong_password:?}"
    );
    assert!(
        unknown_user * 3 > wrong_password,
        "unknown user {unknown_user:?} against wrong password {wrong_password:?}"
    );
    for _ in 0..3 {
        let response = http_get(
            exporter.addr,
            "/healthz",
            &[("Authorization", &basic("alice:wonderland"))],
        )
        .await;
        assert_eq!(response.status, 200);
    }
}
