//! The validated configuration of one exporter process, and the small parsers
//! that turn user text (durations, listen addresses, data source names) into it.
//!
//! [`crate::cli`] builds a [`Config`] exactly once; nothing after that parses
//! user input again, so every error a user can make is reported at startup with
//! the name of the flag or variable that carried it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use crate::collectors::{Collector, Options};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` pairs, one event per line (the Prometheus exporters' default).
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Everything the exporter needs to run, already validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where PostgreSQL is: a parsed libpq DSN, password included (never printed).
    pub target: tokio_postgres::Config,
    /// TLS to PostgreSQL (`None`: `sslmode=disable`).
    pub tls: Option<crate::tls::TlsConnector>,
    /// Address the HTTP server binds to.
    pub listen_address: SocketAddr,
    /// TLS and basic auth of the HTTP endpoint (`--web.config.file`).
    pub web: crate::web::WebConfig,
    /// Path that serves the metrics (`/metrics` unless changed).
    pub telemetry_path: String,
    /// Upper bound for one scrape; a shorter Prometheus scrape timeout wins.
    pub collection_timeout: Duration,
    /// At most this many connections to the server, shared by all collectors.
    pub max_connections: usize,
    /// The collectors that run on every scrape, in registry order.
    pub collectors: Vec<&'static dyn Collector>,
    /// The configuration file (`--config.file`), read again on reload.
    pub config_file: Option<std::path::PathBuf>,
    /// What it held at startup: probe targets, auth modules, custom queries.
    pub file: crate::config_file::FileConfig,
    /// The `--extend.query-path` files, read again on reload.
    pub query_paths: Vec<std::path::PathBuf>,
    /// Per-collector settings (thresholds, limits).
    pub options: Options,
    /// Minimum level of log events.
    pub log_level: tracing::Level,
    /// Log line format.
    pub log_format: LogFormat,
}

/// An error message made one line: newlines and other control characters
/// (a YAML key can hold them) are written as escapes.
pub fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Parses a duration such as `10s`, `500ms`, `1m30s` or `2h` (Go's notation, as
/// Prometheus and postgres_exporter use); a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(|| format!("invalid duration '{text}'"));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration '{text}' lacks a unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(format!("invalid duration '{text}'"));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration '{text}'"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => {
                return Err(format!(
                    "unknown unit '{unit}' in duration '{text}' (use ms, s, m or h)"
                ))
            }
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    seconds_to_duration(total).ok_or_else(|| format!("invalid duration '{text}'"))
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && (0.0..1e9).contains(&seconds)).then(|| Duration::from_secs_f64(seconds))
}

/// Parses a listen address: `:9187` (all interfaces, as Prometheus exporters
/// write it), `127.0.0.1:9187`, `[::1]:9187` or `localhost:9187`.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.to_socket_addrs()
        .map_err(|_| format!("invalid listen address '{text}' (expected [host]:port)"))?
        .next()
        .ok_or_else(|| format!("listen address '{text}' resolves to nothing"))
}

/// The libpq environment variables a DSN is built from when `DATA_SOURCE_NAME`
/// is not set. Each field is the variable's value, if set.
#[derive(Debug, Default, Clone)]
pub struct LibpqEnv {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

impl LibpqEnv {
    /// Reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE.
    pub fn from_process_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        LibpqEnv {
            host: var("PGHOST"),
            port: var("PGPORT"),
            user: var("PGUSER"),
            password: var("PGPASSWORD"),
            database: var("PGDATABASE"),
            sslmode: var("PGSSLMODE"),
            sslrootcert: var("PGSSLROOTCERT"),
            sslcert: var("PGSSLCERT"),
            sslkey: var("PGSSLKEY"),
        }
    }
}

/// Builds the target from `DATA_SOURCE_NAME` when given (a libpq URL or a
/// `key=value` string), else from the libpq variables, defaulting to
/// `postgresql://postgres@localhost:5432/postgres`. A password file, when
/// given, overrides any password from the other sources.
pub fn build_target(
    data_source_name: Option<&str>,
    env: &LibpqEnv,
    password_file: Option<&Path>,
) -> Result<tokio_postgres::Config, String> {
    let mut target = match data_source_name {
        Some(dsn) => crate::tls::split_tls_keys(dsn)
            .0
            .parse::<tokio_postgres::Config>()
            // The parser's message never contains the DSN itself.
            .map_err(|err| format!("invalid DATA_SOURCE_NAME / --data-source-name: {err}"))?,
        None => {
            let mut target = tokio_postgres::Config::new();
            target.host(env.host.as_deref().unwrap_or("localhost"));
            let port = env.port.as_deref().unwrap_or("5432");
            target.port(
                port.parse()
                    .map_err(|_| format!("invalid PGPORT '{port}' (expected a port number)"))?,
            );
            target.user(env.user.as_deref().unwrap_or("postgres"));
            target.dbname(env.database.as_deref().unwrap_or("postgres"));
            if let Some(password) = &env.password {
                target.password(password.as_str());
            }
            target
        }
    };
    if target.get_hosts().is_empty() {
        target.host("localhost");
    }
    if target.get_user().is_none() {
        target.user(env.user.as_deref().unwrap_or("postgres"));
    }
    if target.get_dbname().is_none() {
        target.dbname(env.database.as_deref().unwrap_or("postgres"));
    }
    if let Some(path) = password_file {
        let password = std::fs::read_to_string(path).map_err(|err| {
            format!(
                "cannot read --data-source-pass-file '{}': {err}",
                path.display()
            )
        })?;
        target.password(password.trim_end_matches(['\r', '\n']));
    }
    Ok(target)
}

/// The TLS settings: the libpq variables (PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
/// PGSSLKEY) as defaults, the DSN's `sslmode`, `sslrootcert`, `sslcert` and
/// `sslkey` over them. Default mode: `prefer`, as libpq.
pub fn build_tls(
    data_source_name: Option<&str>,
    env: &LibpqEnv,
) -> Result<crate::tls::TlsOptions, String> {
    let mut settings: Vec<(String, String)> = [
        ("sslmode", &env.sslmode),
        ("sslrootcert", &env.sslrootcert),
        ("sslcert", &env.sslcert),
        ("sslkey", &env.sslkey),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|v| (key.to_string(), v)))
    .collect();
    if let Some(dsn) = data_source_name {
        settings.extend(crate::tls::split_tls_keys(dsn).1);
    }
    let mut tls = crate::tls::TlsOptions::default();
    for (key, value) in settings {
        match key.as_str() {
            "sslmode" => tls.mode = value.parse()?,
            "sslrootcert" => tls.root_cert = Some(value.into()),
            "sslcert" => tls.cert = Some(value.into()),
            _ => tls.key = Some(value.into()),
        }
    }
    Ok(tls)
}

/// The target as it may be shown in logs and pages: user, hosts, ports and
/// database, never the password or any other option.
pub fn redacted_target(target: &tokio_postgres::Config) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = target
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match target.get_ports().get(i).or(target.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => format!("{name}:5432"),
            }
        })
        .collect();
    format!(
        "postgresql://{}@{}/{}",
        target.get_user().unwrap_or(""),
        hosts.join(","),
        target.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_go_notation() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["", "abc", "10x", "s", "-1", "1e20", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen_address(":9187").unwrap().port(), 9187);
        assert!(parse_listen_address(":9187").unwrap().ip().is_unspecified());
        assert_eq!(
            parse_listen_address("127.0.0.1:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert!(parse_listen_address("[::1]:9187").unwrap().is_ipv6());
        assert!(parse_listen_address("nonsense").is_err());
        assert!(parse_listen_address(":99999").is_err());
    }

    #[test]
    fn target_defaults_and_libpq_variables() {
        let target = build_target(None, &LibpqEnv::default(), None).unwrap();
        assert_eq!(
            redacted_target(&target),
            "postgresql://postgres@localhost:5432/postgres"
        );

        let env = LibpqEnv {
            host: Some("db.example".into()),
            port: Some("6432".into()),
            user: Some("monitor".into()),
            password: Some("s3cret".into()),
            database: Some("festivals".into()),
            sslmode: Some("verify-ca".into()),
            sslrootcert: Some("/etc/ca.pem".into()),
            ..LibpqEnv::default()
        };
        let target = build_target(None, &env, None).unwrap();
        let tls = build_tls(None, &env).unwrap();
        assert_eq!(tls.mode, crate::tls::SslMode::VerifyCa);
        assert_eq!(
            tls.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        let tls = build_tls(Some("postgresql://u@h/d?sslmode=verify-full"), &env).unwrap();
        assert_eq!(
            tls.mode,
            crate::tls::SslMode::VerifyFull,
            "the DSN wins over PGSSLMODE"
        );
        assert_eq!(
            tls.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        assert!(build_tls(Some("host=h sslmode=sometimes"), &env)
            .unwrap_err()
            .contains("sslmode"));
        assert_eq!(
            build_tls(None, &LibpqEnv::default()).unwrap().mode,
            crate::tls::SslMode::Prefer
        );
        assert_eq!(
            redacted_target(&target),
            "postgresql://monitor@db.example:6432/festivals"
        );
        assert_eq!(target.get_password(), Some(&b"s3cret"[..]));

        let bad_port = LibpqEnv {
            port: Some("x".into()),
            ..LibpqEnv::default()
        };
        assert!(build_target(None, &bad_port, None)
            .unwrap_err()
            .contains("PGPORT"));
    }

    #[test]
    fn data_source_name_forms_and_redaction() {
        let env = LibpqEnv::default();
        let url = build_target(
            Some("postgresql://app:pw@h1:5433/festivals?sslmode=disable"),
            &env,
            None,
        )
        .unwrap();
        let shown = redacted_target(&url);
        assert_eq!(shown, "postgresql://app@h1:5433/festivals");
        assert!(!shown.contains("pw"));

        let kv = build_target(
            Some("host=h2 port=5434 user=u password=pw dbname=d"),
            &env,
            None,
        )
        .unwrap();
        assert_eq!(redacted_target(&kv), "postgresql://u@h2:5434/d");

        let err =
            build_target(Some("postgresql://u:topsecret@h:notaport/d"), &env, None).unwrap_err();
        assert!(!err.contains("topsecret"), "{err}");
    }

    #[test]
    fn password_file_wins_and_loses_its_newline() {
        let dir = std::env::temp_dir().join(format!("fpe-pass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pass");
        std::fs::write(&file, "from-file\n").unwrap();
        let target = build_target(
            Some("postgresql://u:inline@h/d"),
            &LibpqEnv::default(),
            Some(&file),
        )
        .unwrap();
        assert_eq!(target.get_password(), Some(&b"from-file"[..]));
        let missing =
            build_target(None, &LibpqEnv::default(), Some(&dir.join("nope"))).unwrap_err();
        assert!(missing.contains("--data-source-pass-file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn no_text_makes_the_parsers_panic(text in ".{0,80}") {
            // (parse_listen_address is left out: a host name would be resolved.)
            let _ = parse_duration(&text);
            let _ = build_target(Some(&text), &LibpqEnv::default(), None);
        }

        #[test]
        fn go_durations_parse_to_their_value(minutes in 0u64..1000, seconds in 0u64..60, millis in 0u64..1000) {
            let text = format!("{minutes}m{seconds}s{millis}ms");
            let expected = Duration::from_millis(minutes * 60_000 + seconds * 1000 + millis);
            let parsed = parse_duration(&text).unwrap();
            prop_assert!(parsed.abs_diff(expected) < Duration::from_micros(1), "{text}: {parsed:?}");
        }

        #[test]
        fn a_password_never_reaches_the_shown_target_or_an_error(
            user in "[a-z][a-z0-9_]{0,10}",
            password in "[A-Za-z0-9]{12,24}",
            host in "[a-z][a-z0-9.-]{0,20}",
            port in prop_oneof![Just("5432".to_string()), "[0-9]{1,6}", "[a-z]{1,4}"],
            db in "[a-z][a-z0-9_]{0,10}",
            key_value in any::<bool>(),
        ) {
            let dsn = if key_value {
                format!("host={host} port={port} user={user} password={password} dbname={db}")
            } else {
                format!("postgresql://{user}:{password}@{host}:{port}/{db}?sslmode=disable")
            };
            match build_target(Some(&dsn), &LibpqEnv::default(), None) {
                Ok(target) => {
                    let shown = redacted_target(&target);
                    prop_assert!(!shown.contains(&password), "{shown}");
                    prop_assert_eq!(target.get_password(), Some(password.as_bytes()));
                }
                Err(message) => prop_assert!(!message.contains(&password), "{message}"),
            }
        }
    }
}
