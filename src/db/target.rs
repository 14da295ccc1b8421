//! Where PostgreSQL is: a libpq DSN (URL or `key=value`) or the libpq
//! environment variables turned into a [`tokio_postgres::Config`], the TLS
//! settings that go with it (the TLS keys split off the DSN, since
//! tokio-postgres does not know them all), and the one way a target is shown in logs and
//! pages ([`redacted_target`]: never a password).

use std::path::Path;

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
        Some(dsn) => split_tls_keys(dsn)
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
) -> Result<super::tls::TlsOptions, String> {
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
        settings.extend(split_tls_keys(dsn).1);
    }
    let mut tls = super::tls::TlsOptions::default();
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

/// The libpq keys tokio-postgres does not know and this module handles.
const TLS_KEYS: &[&str] = &["sslmode", "sslrootcert", "sslcert", "sslkey"];

/// Splits the TLS keys off a DSN (URL or `key=value`), returning the DSN
/// without them and the keys with their (decoded) values.
pub fn split_tls_keys(dsn: &str) -> (String, Vec<(String, String)>) {
    let mut found = Vec::new();
    let trimmed = dsn.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else {
            return (trimmed.to_string(), found);
        };
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if TLS_KEYS.contains(&key) {
                found.push((key.to_string(), crate::text::percent_decode(value)));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, found);
    }
    let mut kept = Vec::new();
    for (key, raw, value) in key_values(trimmed) {
        if TLS_KEYS.contains(&key.as_str()) {
            found.push((key, value));
        } else {
            kept.push(raw);
        }
    }
    (kept.join(" "), found)
}

/// `key = value` pairs of a libpq connection string: (key, raw text, value).
fn key_values(text: &str) -> Vec<(String, String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '=' {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        let raw: String = chars[start..i.min(chars.len())].iter().collect();
        if !key.is_empty() {
            pairs.push((key, raw, value));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_keys_are_split_off_both_dsn_forms() {
        let (rest, keys) = split_tls_keys("postgresql://u:p@h:5432/d?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem");
        assert_eq!(rest, "postgresql://u:p@h:5432/d?application_name=x");
        assert_eq!(
            keys,
            [
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/etc/ca.pem".into())
            ]
        );
        let (rest, keys) = split_tls_keys("postgresql://u@h/d?sslmode=disable");
        assert_eq!(rest, "postgresql://u@h/d");
        assert_eq!(keys.len(), 1);
        let (rest, keys) =
            split_tls_keys("host=h sslmode = require user=u sslkey='/k ey\\'s.pem' password='a b'");
        assert_eq!(rest, "host=h user=u password='a b'");
        assert_eq!(
            keys,
            [
                ("sslmode".into(), "require".into()),
                ("sslkey".into(), "/k ey's.pem".into())
            ]
        );
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
        assert_eq!(tls.mode, crate::db::tls::SslMode::VerifyCa);
        assert_eq!(
            tls.root_cert.as_deref(),
            Some(std::path::Path::new("/etc/ca.pem"))
        );
        let tls = build_tls(Some("postgresql://u@h/d?sslmode=verify-full"), &env).unwrap();
        assert_eq!(
            tls.mode,
            crate::db::tls::SslMode::VerifyFull,
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
            crate::db::tls::SslMode::Prefer
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
        fn no_text_makes_the_dsn_parser_panic(text in ".{0,80}") {
            let _ = build_target(Some(&text), &LibpqEnv::default(), None);
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
