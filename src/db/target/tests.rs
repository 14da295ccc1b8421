//! Unit tests of DSN parsing, the libpq variables and redaction.

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

    let err = build_target(Some("postgresql://u:topsecret@h:notaport/d"), &env, None).unwrap_err();
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
    let missing = build_target(None, &LibpqEnv::default(), Some(&dir.join("nope"))).unwrap_err();
    assert!(missing.contains("--data-source-pass-file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_dsn_and_an_unescaped_at_are_errors_that_show_no_secret() {
    for dsn in ["", "  "] {
        let err = build_target(Some(dsn), &LibpqEnv::default(), None).unwrap_err();
        assert!(err.contains("is empty"), "{err}");
    }
    let err = build_target(
        Some("postgresql://mon:p@ss@word@127.0.0.1:5432/postgres"),
        &LibpqEnv::default(),
        None,
    )
    .unwrap_err();
    assert!(err.contains("%40"), "{err}");
    assert!(!err.contains("ss@") && !err.contains("@word"), "{err}");
    let target = build_target(
        Some("postgresql://mon:p%40ss%40word@127.0.0.1:5432/postgres"),
        &LibpqEnv::default(),
        None,
    )
    .unwrap();
    assert_eq!(target.get_password(), Some(&b"p@ss@word"[..]));
    assert!(!redacted_target(&target).contains("ss"));
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::super::*;

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
