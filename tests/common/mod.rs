//! Test harness shared by the integration tests: a throwaway PostgreSQL
//! cluster per test, the real exporter binary, a plain HTTP client and a parser
//! for the exposition text. Nothing is mocked and nothing depends on servers
//! already running on the machine.
//!
//! The cluster's binaries come from `PG_BINDIR`, else `pg_config --bindir`,
//! else the newest Debian layout under /usr/lib/postgresql. When the tests run
//! as root, initdb and postgres run as the `postgres` OS user (PostgreSQL
//! refuses to run as root).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A PostgreSQL cluster in a temporary directory, stopped and removed on drop.
pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
    bindir: PathBuf,
}

fn run_as_owner(program: &Path) -> Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn bindir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BINDIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    majors.sort_by_key(|p| {
        p.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    majors
        .pop()
        .expect("no PostgreSQL binaries: set PG_BINDIR or install the postgresql package")
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    /// initdb and start a cluster with `pg_stat_statements` preloaded.
    pub fn start() -> PgCluster {
        Self::start_with(&[])
    }

    /// Like [`PgCluster::start`], with extra `postgresql.conf` lines.
    pub fn start_with(settings: &[&str]) -> PgCluster {
        Self::start_in(bindir(), settings)
    }

    /// A cluster of one PostgreSQL major, whatever `PG_BINDIR` says, with the
    /// binaries from `scripts/pg-binaries` (installed on first use).
    pub fn start_major(major: u32) -> PgCluster {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-binaries");
        let out = Command::new(script)
            .arg(major.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg-binaries {major}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self::start_in(
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()),
            &[],
        )
    }

    fn start_in(bindir: PathBuf, settings: &[&str]) -> PgCluster {
        let dir = tempfile::Builder::new()
            .prefix("fpe-pg-")
            .tempdir()
            .unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.path().join("data");
        let out = run_as_owner(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             shared_preload_libraries = 'pg_stat_statements'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nmax_connections = 40\nshared_buffers = 16MB\n\
             autovacuum_naptime = 1\ntrack_io_timing = on\n",
            dir.path().display()
        );
        for line in settings {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).unwrap();
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing).unwrap();
        let mut cluster = PgCluster {
            dir,
            port: 0,
            bindir,
        };
        for _attempt in 0..5 {
            cluster.port = free_port();
            if cluster.pg_ctl_start() {
                return cluster;
            }
        }
        panic!("PostgreSQL did not start: {}", cluster.log());
    }

    /// A streaming standby of this (running) cluster: the primary is stopped
    /// for a moment, its data directory copied cold (a valid base backup
    /// without pg_basebackup, which not every build ships), and both started.
    pub fn start_standby(&self) -> PgCluster {
        self.stop();
        let dir = tempfile::Builder::new()
            .prefix("fpe-pg-standby-")
            .tempdir()
            .unwrap();
        let data = dir.path().join("data");
        let status = Command::new("cp")
            .arg("-a")
            .arg(self.data())
            .arg(&data)
            .status()
            .unwrap();
        assert!(status.success());
        let _ = std::fs::remove_file(data.join("postmaster.pid"));
        std::fs::write(data.join("standby.signal"), "").unwrap();
        let conf_path = data.join("postgresql.conf");
        let mut conf = std::fs::read_to_string(&conf_path).unwrap();
        conf = conf.replace(
            &self.dir.path().display().to_string(),
            &dir.path().display().to_string(),
        );
        conf.push_str(&format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=festival_standby'\nhot_standby = on\n",
            self.port
        ));
        std::fs::write(&conf_path, conf).unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        self.restart_stopped();
        let mut standby = PgCluster {
            dir,
            port: 0,
            bindir: self.bindir.clone(),
        };
        for _attempt in 0..5 {
            standby.port = free_port();
            if standby.pg_ctl_start() {
                return standby;
            }
        }
        panic!("standby did not start: {}", standby.log());
    }

    /// The data directory (owned by the server's OS user).
    pub fn data_dir(&self) -> PathBuf {
        self.data()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn pg_ctl_start(&self) -> bool {
        run_as_owner(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!("-p {}", self.port))
            .arg("start")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Starts the stopped cluster again on the same port.
    pub fn restart_stopped(&self) {
        assert!(self.pg_ctl_start(), "restart failed: {}", self.log());
    }

    /// Stops the server (fast shutdown: sessions are disconnected).
    pub fn stop(&self) {
        let status = run_as_owner(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// libpq URL of database `postgres` as superuser `postgres`.
    pub fn dsn(&self) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// A new session for the test itself.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.dsn()).await
    }

    /// The server's `server_version_num`.
    pub async fn version_num(&self) -> i32 {
        let client = self.client().await;
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .unwrap();
        row.get(0)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = run_as_owner(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Connects a test session.
pub async fn connect(dsn: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The real exporter binary, killed on drop. Its stderr goes to a file.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    log: tempfile::NamedTempFile,
}

impl Exporter {
    /// Starts the binary with `DATA_SOURCE_NAME=dsn` and `args`, listening on a
    /// port of its choice; returns once it listens.
    pub fn start(dsn: &str, args: &[&str]) -> Exporter {
        Self::start_with_env(&[("DATA_SOURCE_NAME", dsn)], args)
    }

    /// Starts the binary with exactly these environment variables (besides PATH).
    pub fn start_with_env(env: &[(&str, &str)], args: &[&str]) -> Exporter {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = exporter_command();
        command
            .args(["--web.listen-address", "127.0.0.1:0"])
            .args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut exporter = Exporter {
            child,
            addr: "127.0.0.1:1".parse().unwrap(),
            log,
        };
        let started = Instant::now();
        loop {
            let text = exporter.stderr();
            if let Some(addr) =
                text.lines()
                    .find(|l| l.contains("msg=listening"))
                    .and_then(|line| {
                        line.split_whitespace()
                            .find_map(|kv| kv.strip_prefix("address="))
                            .and_then(|a| a.parse().ok())
                    })
            {
                exporter.addr = addr;
                return exporter;
            }
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!("exporter exited with {status}: {text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "exporter did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exporter's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the exporter logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        http_get(self.addr, path, &[]).await
    }

    /// Scrapes `/metrics` and parses it.
    pub async fn scrape(&self) -> Metrics {
        let response = self.get("/metrics").await;
        assert_eq!(response.status, 200, "{}", response.body);
        Metrics::parse(&response.body)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "exporter did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exporter binary with a clean environment (no PG* or DATA_SOURCE_* from the caller).
pub fn exporter_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_festival-pg-exporter"));
    command.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    try_http_get(addr, path, headers)
        .await
        .unwrap_or_else(|| panic!("GET http://{addr}{path} failed"))
}

/// Like [`http_get`], `None` when nothing answers.
pub async fn try_http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<HttpResponse> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (key, value) in headers {
        request.push_str(&format!("{key}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    Some(read_response(stream).await)
}

/// Reads a whole `Connection: close` response.
pub async fn read_response(mut stream: tokio::net::TcpStream) -> HttpResponse {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpResponse {
        status,
        headers,
        body: body.to_string(),
    }
}

/// One series of a scrape.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed Prometheus text exposition.
#[derive(Debug)]
pub struct Metrics {
    pub series: Vec<Series>,
    /// `# TYPE` lines: family name → type.
    pub types: BTreeMap<String, String>,
}

impl Metrics {
    /// Parses text format 0.0.4, unescaping label values; panics on malformed lines.
    pub fn parse(text: &str) -> Metrics {
        let mut series = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            series.push(parse_series(line));
        }
        Metrics { series, types }
    }

    /// All series of `name` whose labels include `labels`.
    pub fn all(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Series> {
        self.series
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The value of the one series of `name` matching `labels`; `None` when
    /// there is none, a panic when several match.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.all(name, labels);
        assert!(
            found.len() <= 1,
            "{name} {labels:?} matches {} series",
            found.len()
        );
        found.first().map(|s| s.value)
    }

    /// Like [`Metrics::get`], panicking with the family's series when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or_else(|| {
            panic!(
                "{name} {labels:?} absent; series of {name}: {:#?}",
                self.all(name, &[])
            )
        })
    }
}

fn parse_series(line: &str) -> Series {
    let (name_end, mut labels) = match line.find('{') {
        Some(open) => (open, BTreeMap::new()),
        None => (line.find(' ').unwrap(), BTreeMap::new()),
    };
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().expect("unterminated labels");
            if c == '}' {
                rest = &inner[i + 1..];
                break;
            }
            if c == ',' {
                continue;
            }
            if c == '=' {
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "label value must be quoted: {line}"
                );
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next().expect("unterminated label value");
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        c => value.push(c),
                    }
                }
                labels.insert(std::mem::take(&mut key), value);
                continue;
            }
            key.push(c);
        }
    }
    let value = rest.split_whitespace().next().expect("value");
    let value = match value {
        "+Inf" | "Inf" | "inf" => f64::INFINITY,
        "-Inf" | "-inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Series {
        name,
        labels,
        value,
    }
}

/// Polls `check` every 200 ms until it returns `Some`, for up to `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How long a test waits for statistics to show up.
pub const WAIT: Duration = Duration::from_secs(30);

/// Unix seconds now.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The backend pid of a test session, as the `pid` label writes it.
pub async fn pid(client: &tokio_postgres::Client) -> String {
    client
        .query_one("SELECT pg_backend_pid()::text", &[])
        .await
        .unwrap()
        .get(0)
}

/// Runs the statements of `sql` (split at `;` line ends) one by one on a
/// session of its own and closes it, so that the backend reports its table
/// statistics when it exits.
pub async fn run_and_disconnect(cluster: &PgCluster, sql: &str) {
    let client = cluster.client().await;
    for statement in sql.split(";\n") {
        client.batch_execute(statement).await.unwrap();
    }
    drop(client);
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for `localhost` only, a client certificate for
/// `certuser`, and an unrelated CA; all in `dir`.
pub fn make_certificates(dir: &Path) {
    self_signed_ca(dir, "ca", "festival test CA");
    signed_by_ca(dir, "server", "localhost", "subjectAltName=DNS:localhost");
    signed_by_ca(dir, "client", "certuser", "basicConstraints=CA:FALSE");
    self_signed_ca(dir, "other", "someone else's CA");
}

/// `<name>.key` and a self-signed `<name>.crt` for common name `cn`, valid 2 days.
fn self_signed_ca(dir: &Path, name: &str, cn: &str) {
    let (key, crt, subject) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={cn}"),
    );
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &crt,
            "-subj", &subject, "-days", "2",
        ],
    );
}

/// `<name>.key` and `<name>.crt` for common name `cn`, signed by `ca.crt`
/// with the X.509 extension `extension`, valid 2 days.
fn signed_by_ca(dir: &Path, name: &str, cn: &str, extension: &str) {
    let [key, csr, crt, ext] =
        ["key", "csr", "crt", "ext"].map(|suffix| format!("{name}.{suffix}"));
    let subject = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
            &subject,
        ],
    );
    std::fs::write(dir.join(&ext), format!("{extension}\n")).unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-extfile",
            &ext,
            "-days",
            "2",
        ],
    );
}

/// `audit_logs` with 50,000 dead rows and an autovacuum throttled to a crawl
/// (cost limit 1, 100 ms delay): a worker stays busy on it for a while.
pub const SLOW_AUTOVACUUM: &str = "CREATE TABLE audit_logs (id int, payload text) WITH (
         autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
         autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
     INSERT INTO audit_logs SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;
     DELETE FROM audit_logs";
