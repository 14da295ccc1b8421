//! The configuration file (`--config.file`, YAML): the servers `/probe` may
//! scrape, with their credentials, so that nothing secret goes into URLs or the
//! Prometheus configuration; postgres_exporter's `auth_modules`; and custom
//! query files.
//!
//! ```yaml
//! targets:
//!   festivals-primary:
//!     dsn: postgresql://festival_exporter@db1.internal:5432/festivals?sslmode=verify-full&sslrootcert=/etc/ca.pem
//!     password_file: /run/secrets/festival_exporter
//! auth_modules:                 # postgres_exporter's form: /probe?target=host:5432/db&auth_module=monitor
//!   monitor:
//!     type: userpass
//!     userpass: {username: festival_exporter, password: change-me}
//!     options: {sslmode: verify-full, sslrootcert: /etc/ca.pem}
//!     targets: ['db[0-9]+\.internal:5432']   # the host:port it may reach (whole-name regular expressions)
//! extend:
//!   query_path: [queries/custom/festival.yaml]
//! ```
//!
//! Unknown keys, wrong types and empty files are errors naming the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::collectors::custom_queries::CustomQuery;
use crate::db::target::{build_target, build_tls, LibpqEnv};
use crate::db::tls::TlsConnector;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    targets: BTreeMap<String, TargetEntry>,
    #[serde(default)]
    auth_modules: BTreeMap<String, AuthModuleEntry>,
    extend: Option<Extend>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    dsn: String,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthModuleEntry {
    #[serde(rename = "type")]
    kind: String,
    userpass: Option<UserPass>,
    #[serde(default)]
    options: BTreeMap<String, String>,
    #[serde(default)]
    targets: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPass {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extend {
    #[serde(default)]
    query_path: Vec<PathBuf>,
}

/// A server `/probe` can scrape.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: Option<TlsConnector>,
}

/// postgres_exporter's auth module: credentials and DSN options for
/// `/probe?target=host:port/db&auth_module=name`, and the `host:port`s it
/// may be used for.
#[derive(Debug, Clone)]
pub struct AuthModule {
    pub username: String,
    pub password: String,
    pub options: BTreeMap<String, String>,
    /// `targets:`, each matching a whole `host:port` (none: no address).
    pub allowed: Vec<regex::Regex>,
}

impl AuthModule {
    /// The target `host[:port][/database]` (or that after `postgresql://`)
    /// with this module's user, password and options, when its `targets:`
    /// allow `host:port` (the port 5432 when not given). The address is
    /// taken as it is, never percent-decoded again: the host is a DNS name or
    /// an IP address (`[…]` for IPv6; no Unix socket: name such a server
    /// under `targets:` instead), the database a plain name.
    pub fn target(&self, address: &str) -> Result<Target, String> {
        let (host, port, database) = probe_address(address)?;
        let server = format!("{host}:{port}");
        if !self.allowed.iter().any(|allowed| allowed.is_match(&server)) {
            return Err(format!(
                "target: {server} is not among the auth module's targets"
            ));
        }
        let mut dsn = format!("postgresql://{host}:{port}/{database}");
        let options: Vec<String> = self
            .options
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::text::percent_encode(v)))
            .collect();
        if !options.is_empty() {
            dsn = format!("{dsn}?{}", options.join("&"));
        }
        let mut config = build_target(Some(&dsn), &LibpqEnv::default(), None)?;
        config.user(&self.username);
        config.password(self.password.as_str());
        let tls = build_tls(Some(&dsn), &LibpqEnv::default())?;
        config.ssl_mode(tls.negotiation());
        Ok(Target {
            config,
            tls: tls.connector()?,
        })
    }
}

/// `host[:port][/database]` (after an optional `postgresql://`) → its parts;
/// anything else (credentials, options, percent escapes, a socket path) is
/// refused.
fn probe_address(address: &str) -> Result<(String, u16, String), String> {
    let refuse = |why: &str| {
        Err(format!(
            "target: {address:?} is not host[:port][/database] ({why}); credentials and options come from the auth module"
        ))
    };
    let rest = address
        .strip_prefix("postgresql://")
        .or_else(|| address.strip_prefix("postgres://"))
        .unwrap_or(address);
    let (server, database) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let database = if database.is_empty() {
        "postgres"
    } else {
        database
    };
    let plain = |text: &str, extra: &[u8]| {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b) || extra.contains(&b))
    };
    if !plain(database, b"$") {
        return refuse("a database name of letters, digits, '-', '_', '.', '$'");
    }
    let (host, port) = match server.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((ip, port)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => {
                (format!("[{ip}]"), port.strip_prefix(':').unwrap_or(port))
            }
            _ => return refuse("a bracketed IPv6 address"),
        },
        None => {
            let (host, port) = server.split_once(':').unwrap_or((server, ""));
            (host.to_string(), port)
        }
    };
    if !host.starts_with('[') && !plain(&host, b"") {
        return refuse("a host name or IP address");
    }
    let port = match port {
        "" => 5432,
        port => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => return refuse("a port from 1 to 65535"),
        },
    };
    Ok((host, port, database.to_string()))
}

/// The configuration file, checked and ready to use.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    pub targets: BTreeMap<String, Target>,
    pub auth_modules: BTreeMap<String, AuthModule>,
    pub queries: Vec<CustomQuery>,
}

/// Reads and checks the configuration file and the query files it names;
/// an error is one line naming the file, the entry and the field.
pub fn load(path: &Path) -> Result<FileConfig, super::ConfigError> {
    Ok(read(path)?)
}

fn read(path: &Path) -> Result<FileConfig, String> {
    let origin = format!("--config.file '{}'", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{origin}: {e}"))?;
    if text.trim().is_empty() {
        return Err(format!("{origin}: the file is empty"));
    }
    let file: File = serde_yaml::from_str(&text).map_err(|e| format!("{origin}: {e}"))?;
    let mut config = FileConfig::default();
    for (name, entry) in file.targets {
        let target = (|| {
            let mut target = build_target(
                Some(&entry.dsn),
                &LibpqEnv::default(),
                entry.password_file.as_deref(),
            )?;
            let tls = build_tls(Some(&entry.dsn), &LibpqEnv::default())?;
            target.ssl_mode(tls.negotiation());
            Ok::<_, String>(Target {
                config: target,
                tls: tls.connector()?,
            })
        })()
        .map_err(|e| format!("{origin}: targets.{name}: {e}"))?;
        config.targets.insert(name, target);
    }
    for (name, entry) in file.auth_modules {
        let module = match (entry.kind.as_str(), entry.userpass) {
            ("userpass", Some(userpass)) => AuthModule {
                username: userpass.username,
                password: userpass.password,
                options: entry.options,
                allowed: entry
                    .targets
                    .iter()
                    .map(|pattern| {
                        regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                            format!(
                                "{origin}: auth_modules.{name}.targets: {pattern:?}: {}",
                                crate::text::first_line(&e.to_string())
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            ("userpass", None) => {
                return Err(format!("{origin}: auth_modules.{name}.userpass: missing"))
            }
            (other, _) => {
                return Err(format!(
                    "{origin}: auth_modules.{name}.type: '{other}' is not supported (userpass)"
                ))
            }
        };
        // Its options must make a target: checked now, not at the first probe.
        let mut check = module.clone();
        check.allowed = vec![regex::Regex::new(".*").expect("valid")];
        check
            .target("localhost:5432/postgres")
            .map_err(|e| format!("{origin}: auth_modules.{name}.options: {e}"))?;
        if module.allowed.is_empty() {
            return Err(format!(
                "{origin}: auth_modules.{name}.targets: missing; list the host:port addresses /probe may reach with this module (whole-name regular expressions)"
            ));
        }
        config.auth_modules.insert(name, module);
    }
    let base = path.parent().unwrap_or(Path::new("."));
    for query_path in file.extend.map(|e| e.query_path).unwrap_or_default() {
        let resolved = if query_path.is_relative() {
            base.join(&query_path)
        } else {
            query_path
        };
        config.queries.extend(
            super::queries::load(&resolved)
                .map_err(|e| format!("{origin}: extend.query_path: {e}"))?,
        );
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_complete_file_loads() {
        let (dir, path) = write(
            "targets:\n  primary:\n    dsn: postgresql://u@db1:5433/festivals?sslmode=disable\n\
             auth_modules:\n  monitor:\n    type: userpass\n    userpass: {username: mon, password: pw}\n    options: {sslmode: disable}\n    targets: ['db[0-9]:5432', '\\[::1\\]:5433']\n\
             extend:\n  query_path: [q.yaml]\n",
        );
        std::fs::write(
            dir.path().join("q.yaml"),
            "q:\n  query: SELECT 1 AS v\n  metrics:\n    - v: {usage: GAUGE}\n",
        )
        .unwrap();
        let config = load(&path).unwrap();
        assert_eq!(config.targets["primary"].config.get_ports(), [5433]);
        assert!(config.targets["primary"].tls.is_none());
        assert_eq!(config.queries.len(), 1);
        let target = config.auth_modules["monitor"]
            .target("db2:5432/festivals")
            .unwrap();
        assert_eq!(target.config.get_user(), Some("mon"));
        assert_eq!(target.config.get_dbname(), Some("festivals"));
        let module = &config.auth_modules["monitor"];
        assert_eq!(
            module.target("db2").unwrap().config.get_dbname(),
            Some("postgres")
        );
        assert_eq!(
            module.target("[::1]:5433/x").unwrap().config.get_ports(),
            [5433]
        );
        for refused in [
            "x:y@db2/festivals",
            "db2:5432/festivals?sslmode=disable",
            "db22:5432/festivals",
            "db2:5433/festivals",
            "evil.example:5432/festivals",
            // percent escapes are not decoded again: no socket path, no other host
            "%2Ftmp%2Fdir:5432/postgres",
            "db2%3A5432/postgres",
            "db2:5432/post%67res",
            "/tmp/dir:5432/postgres",
            "db2:0/postgres",
            "db2:x/postgres",
            "[::1/postgres",
        ] {
            let err = module.target(refused).unwrap_err();
            assert!(err.starts_with("target: "), "{refused}: {err}");
        }
    }

    #[test]
    fn mistakes_name_the_field() {
        for (text, field) in [
            ("", "empty"),
            ("target:\n  a: {dsn: x}\n", "unknown field `target`"),
            ("targets:\n  a: {dns: postgresql://h/d}\n", "dns"),
            (
                "targets:\n  a: {dsn: 'postgresql://h:port/d'}\n",
                "targets.a",
            ),
            (
                "targets:\n  a: {dsn: 'postgresql://h/d?sslmode=verify-full'}\n",
                "targets.a: sslmode",
            ),
            (
                "auth_modules:\n  m: {type: kerberos}\n",
                "auth_modules.m.type",
            ),
            (
                "auth_modules:\n  m: {type: userpass}\n",
                "auth_modules.m.userpass",
            ),
            (
                "auth_modules:\n  m: {type: userpass, userpass: {username: u, password: p}, options: {sslmode: bogus}, targets: [h]}\n",
                "auth_modules.m.options: sslmode 'bogus'",
            ),
            (
                "auth_modules:\n  m: {type: userpass, userpass: {username: u, password: p}}\n",
                "auth_modules.m.targets: missing",
            ),
            (
                "auth_modules:\n  m: {type: userpass, userpass: {username: u, password: p}, targets: ['(']}\n",
                "auth_modules.m.targets",
            ),
            (
                "extend:\n  query_path: [missing.yaml]\n",
                "extend.query_path",
            ),
            ("targets: [1, 2]\n", "targets"),
            ("{\"a\\nb\": 1}\n", "unknown field `a\\nb`"),
        ] {
            let (_dir, path) = write(text);
            let err = load(&path).unwrap_err();
            assert!(
                err.contains(field) && !err.contains('\n'),
                "{text:?}: {err}"
            );
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_file_gives_a_config_or_one_line(text in "(.|\n){0,200}") {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.yml");
            std::fs::write(&path, &text).unwrap();
            if let Err(err) = load(&path) {
                prop_assert!(err.starts_with("--config.file ") && !err.contains('\n'), "{err}");
            }
        }
    }
}
