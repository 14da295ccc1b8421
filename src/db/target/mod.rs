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
        Some(dsn) if dsn.trim().is_empty() => {
            return Err(
                "DATA_SOURCE_NAME / --data-source-name is empty: give a DSN, or leave it unset for localhost:5432".into(),
            )
        }
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
    // An unescaped '@' in a URL's password leaves the rest of the password in
    // the host name; saying which part would show it.
    let at_in_host = target
        .get_hosts()
        .iter()
        .any(|host| matches!(host, tokio_postgres::config::Host::Tcp(name) if name.contains('@')));
    if at_in_host {
        return Err(
            "invalid DATA_SOURCE_NAME / --data-source-name: the host name holds an '@': write an '@' in the user name or password as %40".into(),
        );
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
mod tests;
