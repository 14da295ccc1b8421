//! Certificates made with the `openssl` command for the TLS tests: a CA, a
//! server certificate valid for `localhost` only, a client certificate and
//! an unrelated CA. Generated fresh in each test's directory so that no key
//! material is kept in the repository and none expires.

use std::path::Path;
use std::process::Command;

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
