//! A throwaway PostgreSQL cluster per test: `initdb` into a temporary
//! directory, start it on a free port with `pg_stat_statements` preloaded,
//! stop, restart or clone it into a streaming standby, and remove it on drop.
//! Also the helpers that open sessions on it and load the fixtures the tests
//! share, so that every test works on a server nobody else touches.
//!
//! The cluster's binaries come from `PG_BINDIR`, else `pg_config --bindir`,
//! else the newest Debian layout under /usr/lib/postgresql. When the tests run
//! as root, initdb and postgres run as the `postgres` OS user (PostgreSQL
//! refuses to run as root).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    pub fn start_standby(&self, slot: &str) -> PgCluster {
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
            "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name=festival_standby'\nprimary_slot_name = '{slot}'\nhot_standby = on\n",
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

    /// Runs `sql` in `database` through psql with client encoding
    /// `SQL_ASCII`, so its bytes reach the server as they are (names that are
    /// not UTF-8, which no UTF-8 client can send).
    pub fn psql_bytes(&self, database: &str, sql: &[u8]) {
        use std::io::Write;
        // Some server packages ship no psql: then the one on PATH.
        let psql = Some(self.bindir.join("psql"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let mut psql = Command::new(psql)
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-d", database])
            .env("PGCLIENTENCODING", "SQL_ASCII")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        psql.stdin.take().unwrap().write_all(sql).unwrap();
        assert!(psql.wait().unwrap().success(), "psql failed");
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

/// `audit_logs` with 50,000 dead rows and an autovacuum throttled to a crawl
/// (cost limit 1, 100 ms delay): a worker stays busy on it for a while.
pub const SLOW_AUTOVACUUM: &str = "CREATE TABLE audit_logs (id int, payload text) WITH (
         autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
         autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1);
     INSERT INTO audit_logs SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;
     DELETE FROM audit_logs";
