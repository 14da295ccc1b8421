//! The real exporter binary, started as a child process the way an operator
//! would start it: with a clean environment, listening on a port of its own
//! choice, its log kept in a file the test can read, and killed on drop. The
//! tests drive the binary rather than the library so that command-line
//! parsing, logging and shutdown are covered too.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::exposition::Metrics;
use super::http::{http_get, HttpResponse};

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
