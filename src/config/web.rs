//! Security of the exporter's own HTTP endpoint, configured with the Prometheus
//! exporter-toolkit web configuration file (`--web.config.file`), so that
//! existing Prometheus setups can reuse their files:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: /etc/festival-pg-exporter/tls.crt
//!   key_file: /etc/festival-pg-exporter/tls.key
//!   # client_auth_type: RequireAndVerifyClientCert
//!   # client_ca_file: /etc/festival-pg-exporter/clients-ca.crt
//!   # min_version: TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...   # bcrypt hash (htpasswd -nBC 10 prometheus)
//! http_server_config:
//!   headers:
//!     X-Frame-Options: deny
//! ```
//!
//! Basic auth, when configured, guards every path ([`crate::http::auth`]).
//! The file is read and checked once at startup: an unknown key, a wrong type, an empty file or an unreadable
//! certificate is a usage error naming the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

/// The file as exporter-toolkit defines it (the fields this exporter uses;
/// Go-only tuning fields are accepted and ignored).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsServerConfig>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    http_server_config: Option<HttpServerConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsServerConfig {
    cert_file: PathBuf,
    key_file: PathBuf,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    min_version: Option<String>,
    max_version: Option<String>,
    // Go's crypto/tls tuning; rustls picks safe defaults itself.
    #[allow(dead_code)]
    cipher_suites: Option<Vec<String>>,
    #[allow(dead_code)]
    curve_preferences: Option<Vec<String>>,
    #[allow(dead_code)]
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpServerConfig {
    headers: Option<BTreeMap<String, String>>,
    #[allow(dead_code)]
    http2: Option<bool>,
}

/// What the web configuration asks for, ready to use.
#[derive(Clone, Default)]
pub struct WebConfig {
    /// Serve HTTPS with this configuration.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// User name → bcrypt hash; empty: no authentication.
    pub users: Arc<BTreeMap<String, String>>,
    /// Extra response headers.
    pub headers: Arc<Vec<(HeaderName, HeaderValue)>>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Reads and checks the web configuration file; an error is one line.
pub fn load(path: &Path) -> Result<WebConfig, super::ConfigError> {
    Ok(read(path)?)
}

fn read(path: &Path) -> Result<WebConfig, String> {
    let flag = format!("--web.config.file '{}'", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| format!("{flag}: {e}"))?;
    if text.trim().is_empty() {
        return Err(format!("{flag}: the file is empty"));
    }
    let file: File = serde_yaml::from_str(&text).map_err(|e| format!("{flag}: {e}"))?;
    let mut web = WebConfig::default();
    if let Some(users) = file.basic_auth_users {
        for (user, hash) in &users {
            if <bcrypt::HashParts as std::str::FromStr>::from_str(hash).is_err() {
                return Err(format!(
                    "{flag}: basic_auth_users.{user} is not a bcrypt hash"
                ));
            }
        }
        web.users = Arc::new(users);
    }
    if let Some(http) = file.http_server_config {
        let mut headers = Vec::new();
        for (name, value) in http.headers.unwrap_or_default() {
            let name = HeaderName::try_from(name.as_str()).map_err(|_| {
                format!("{flag}: http_server_config.headers: '{name}' is not a header name")
            })?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                format!("{flag}: http_server_config.headers.{name}: not a header value")
            })?;
            headers.push((name, value));
        }
        web.headers = Arc::new(headers);
    }
    if let Some(tls) = file.tls_server_config {
        web.tls = Some(Arc::new(
            server_config(&tls).map_err(|e| format!("{flag}: tls_server_config.{e}"))?,
        ));
    }
    Ok(web)
}

/// TLS versions in order, as exporter-toolkit names them.
const VERSIONS: [(&str, &rustls::SupportedProtocolVersion); 2] = [
    ("TLS12", &rustls::version::TLS12),
    ("TLS13", &rustls::version::TLS13),
];

fn version_rank(field: &str, text: &str) -> Result<usize, String> {
    VERSIONS
        .iter()
        .position(|(name, _)| *name == text)
        .ok_or_else(|| format!("{field}: '{text}' is not supported (TLS12 or TLS13)"))
}

fn server_config(tls: &TlsServerConfig) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let min = version_rank("min_version", tls.min_version.as_deref().unwrap_or("TLS12"))?;
    let max = version_rank("max_version", tls.max_version.as_deref().unwrap_or("TLS13"))?;
    if min > max {
        return Err("min_version is above max_version".into());
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        VERSIONS[min..=max].iter().map(|(_, v)| *v).collect();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| format!("min_version: {e}"))?;
    let client_roots = |field: &str| -> Result<Arc<rustls::RootCertStore>, String> {
        let path = tls
            .client_ca_file
            .as_ref()
            .ok_or_else(|| format!("{field} needs client_ca_file"))?;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|c| c.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("client_ca_file '{}': {e}", path.display()))?;
        roots.add_parsable_certificates(certs);
        Ok(Arc::new(roots))
    };
    let verifier = match tls.client_auth_type.as_deref().unwrap_or("NoClientCert") {
        "NoClientCert" => None,
        "RequireAndVerifyClientCert" => Some(
            WebPkiClientVerifier::builder_with_provider(client_roots("client_auth_type")?, Arc::clone(&provider))
                .build()
                .map_err(|e| format!("client_ca_file: {e}"))?,
        ),
        "VerifyClientCertIfGiven" => Some(
            WebPkiClientVerifier::builder_with_provider(client_roots("client_auth_type")?, Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("client_ca_file: {e}"))?,
        ),
        other => {
            return Err(format!(
                "client_auth_type: '{other}' is not supported (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
            ))
        }
    };
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let chain = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|c| c.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cert_file '{}': {e}", tls.cert_file.display()))?;
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| format!("key_file '{}': {e}", tls.key_file.display()))?;
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("cert_file/key_file: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("web.yml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn bad_files_name_the_field() {
        for (text, field) in [
            ("", "empty"),
            ("basic_auth_user:\n  a: b\n", "basic_auth_user"),
            ("basic_auth_users: [1, 2]\n", "basic_auth_users"),
            (
                "basic_auth_users:\n  alice: plaintext\n",
                "basic_auth_users.alice",
            ),
            (
                "tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
                "cert_file",
            ),
            ("tls_server_config:\n  key_file: /x\n", "cert_file"),
            (
                "tls_server_config:\n  cert_file: /x\n  key_file: /y\n  min_version: SSL3\n",
                "min_version",
            ),
            (
                "http_server_config:\n  headers:\n    'bad header': x\n",
                "headers",
            ),
        ] {
            let (_dir, path) = write(text);
            let err = load(&path).unwrap_err();
            assert!(
                err.contains(field) && !err.contains('\n'),
                "{text:?}: {err}"
            );
        }
        assert!(load(Path::new("/nonexistent/web.yml"))
            .unwrap_err()
            .contains("--web.config.file"));
    }

    #[test]
    fn users_and_headers_load() {
        let hash = bcrypt::hash("secret", 4).unwrap();
        let (_dir, path) = write(&format!("basic_auth_users:\n  alice: {hash}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n"));
        let web = load(&path).unwrap();
        assert!(web.tls.is_none());
        assert_eq!(web.users.len(), 1);
        assert_eq!(web.headers.len(), 1);
    }
}
