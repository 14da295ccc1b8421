//! Unit tests of the `logs` collector against what a client, a database
//! owner or an odd setup can put in the log: forged records inside a long
//! statement, RAISE with chosen codes, made-up SQLSTATE classes, dropped
//! databases, times from the future, and two servers' logs in one directory.

use super::tests::{deadlock, line, Dir};
use super::*;

fn message(severity: &str, state: &str, text: &str) -> Message {
    Message {
        severity: severity.into(),
        sqlstate: Some(state.into()),
        datname: Some("festivals".into()),
        message: text.into(),
        time: None,
        raised: false,
        backend_type: Some("client backend".into()),
    }
}

#[test]
fn what_a_client_chooses_counts_no_cause_and_stays_bounded() {
    let databases: BTreeSet<String> = ["festivals".to_string()].into();
    let mut state = State::default();
    // A damaged code gives no class; one PostgreSQL does not define, "other".
    state.count(message("ERROR", "4\"P01", "x"), &databases);
    state.count(message("ERROR", "XX001", "x"), &databases);
    state.count(message("ERROR", "ZZ999", "x"), &databases);
    let classes: Vec<&str> = state.classes.keys().map(|k| k.1.as_str()).collect();
    assert_eq!(classes, ["XX", "other"]);
    // PL/pgSQL's RAISE chooses text and code: a message, never a cause.
    let mut raised = message("WARNING", "53300", "sorry, too many clients already");
    raised.raised = true;
    state.count(raised, &databases);
    // Only the checkpointer says checkpoints come too often.
    state.count(
        message(
            "LOG",
            "00000",
            "checkpoints are occurring too frequently (1 second apart)",
        ),
        &databases,
    );
    let mut checkpointer = message(
        "LOG",
        "00000",
        "checkpoints are occurring too frequently (2 seconds apart)",
    );
    checkpointer.backend_type = Some("checkpointer".into());
    state.count(checkpointer, &databases);
    let causes: Vec<(&str, f64)> = state.causes.iter().map(|(k, v)| (k.1, *v)).collect();
    assert_eq!(
        causes,
        [("checkpoints_too_frequent", 1.0), ("data_corruption", 1.0)]
    );
    assert_eq!(state.messages[&("festivals".to_string(), "WARNING")], 1.0);
    // A time from the future is the time it was read.
    let mut future = message("PANIC", "XX000", "x");
    future.time = Some(4_102_444_800.0);
    state.count(future, &databases);
    assert!(state.last["PANIC"] < 4_000_000_000.0);
    // A dropped database's series go with it.
    let mut other = message("FATAL", "57P01", "x");
    other.datname = Some("churn1".into());
    let with_churn: BTreeSet<String> = ["festivals".to_string(), "churn1".to_string()].into();
    state.count(other, &with_churn);
    assert!(state
        .messages
        .contains_key(&("churn1".to_string(), "FATAL")));
    state.forget_dropped(&databases);
    let families = state.families(&databases, 0);
    assert!(families.iter().all(|f| f
        .samples
        .iter()
        .all(|s| !s.values.iter().any(|v| v == "churn1"))));
}

/// A csv record whose quoted statement holds lines that look like records.
fn forged(lines: usize) -> String {
    let fake = "2026-12-01 00:00:00.000 UTC,m,festivals,1,h,s,1,i,2026-12-01 00:00:00 UTC,1/1,0,FATAL,XX001,invalid page in block 1 of relation base/1/2\n";
    line(
        "festivals",
        "ERROR",
        "22012",
        &format!(
            "division by zero\",,,,,,\"SELECT 1/0 /*\n{}*/",
            fake.repeat(lines)
        ),
    )
}

#[tokio::test]
async fn a_record_longer_than_a_read_is_skipped_whole() {
    for max_read in [1 << 20, 8 << 20, 4096] {
        let mut d = Dir::new();
        d.append("a.csv", "");
        d.read("a.csv", max_read).await;
        let long = forged(if max_read == 4096 { 100 } else { 20_000 });
        assert!(long.len() as u64 > max_read.min(1 << 20), "{}", long.len());
        d.append("a.csv", &long);
        d.append("a.csv", &deadlock());
        let mut scrapes = 0;
        while d.read("a.csv", max_read).await > 0 {
            scrapes += 1;
            assert!(scrapes < 100, "stuck at {max_read}");
        }
        assert_eq!(
            d.cause("festivals", "data_corruption"),
            0.0,
            "{max_read}: nothing inside is a record"
        );
        assert_eq!(
            d.cause("festivals", "deadlock"),
            1.0,
            "{max_read}: the record after it is read"
        );
        assert_eq!(d.state.skipped, long.len() as f64, "{max_read}");
    }
}

#[tokio::test]
async fn two_logs_newest_in_turn_are_each_read_once() {
    let mut d = Dir::new();
    // Another server's log, older, with its own history.
    d.append("b.csv", &deadlock().repeat(100));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    let file = std::fs::File::options()
        .write(true)
        .open(d.dir.path().join("b.csv"))
        .unwrap();
    file.set_modified(old).unwrap();
    d.append("a.csv", "");
    d.read("a.csv", 1 << 20).await;
    // Appends a record and makes the file the newest, a minute after the last.
    let mut minutes = 0;
    let mut turn = |d: &Dir, f: &str| {
        d.append(f, &deadlock());
        minutes += 1;
        let at = std::time::SystemTime::now() + std::time::Duration::from_secs(60 * minutes);
        let file = std::fs::File::options()
            .write(true)
            .open(d.dir.path().join(f))
            .unwrap();
        file.set_modified(at).unwrap();
    };
    turn(&d, "a.csv");
    d.read("a.csv", 1 << 20).await;
    assert_eq!(d.cause("festivals", "deadlock"), 1.0);
    // b becomes the newest: read once from its start (it was never seen).
    turn(&d, "b.csv");
    d.read("b.csv", 1 << 20).await;
    assert_eq!(d.cause("festivals", "deadlock"), 102.0);
    // Then each in turn: taken up where it was left, never from its start.
    for (i, f) in ["a.csv", "b.csv", "a.csv", "b.csv"].into_iter().enumerate() {
        turn(&d, f);
        d.read(f, 1 << 20).await;
        assert_eq!(d.cause("festivals", "deadlock"), 103.0 + i as f64, "{f}");
    }
}

#[tokio::test]
async fn a_log_file_named_is_the_one_read() {
    let d = Dir::new();
    d.append("postgresql-15-main.log", "");
    d.append("postgresql-16-main.log", "newer\n");
    let dir = d.dir.path();
    let (_, newest) = directory_file(dir, None).await;
    assert_eq!(newest.as_deref(), Some("postgresql-16-main.log"));
    let named = dir.join("postgresql-15-main.log");
    let (in_dir, file) = directory_file(&named, None).await;
    assert_eq!(
        (in_dir.as_path(), file.as_deref()),
        (dir, Some("postgresql-15-main.log"))
    );
    let (_, logged) = directory_file(dir, Some("log/postgresql.csv")).await;
    assert_eq!(logged.as_deref(), Some("postgresql.csv"));
}
