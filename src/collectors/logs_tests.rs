//! Unit tests of the `logs` collector's reading over files in a directory:
//! the first read starts at the end, growth is read once, rotation finishes
//! the old file, truncation and replacement start again, a bounded read
//! reports what is left, and the counts by database, severity and cause.

use super::*;

fn line(db: &str, severity: &str, state: &str, message: &str) -> String {
    format!("2026-12-01 00:23:34.462 UTC,\"app\",\"{db}\",1,\"[local]\",a.b,1,\"SELECT\",2026-12-01 00:23:34 UTC,3/6,0,{severity},{state},\"{message}\",,,,,,,,,\"psql\",\"client backend\",,0\n")
}

fn deadlock() -> String {
    line("festivals", "ERROR", "40P01", "deadlock detected")
}

struct Dir {
    dir: tempfile::TempDir,
    state: State,
    databases: BTreeSet<String>,
    prefix: Arc<Prefix>,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
            state: State::default(),
            databases: ["festivals".to_string(), "postgres".to_string()].into(),
            prefix: Arc::new(Prefix::new("%m [%p] ")),
        }
    }

    fn append(&self, file: &str, text: &str) {
        use std::io::Write;
        let mut f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(file))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    async fn read(&mut self, current: &str, budget: u64) -> u64 {
        let mut source = Source::Directory(self.dir.path().to_path_buf());
        self.state
            .advance(
                &mut source,
                current,
                &self.prefix,
                budget,
                &self.databases,
                &|_| {},
            )
            .await
            .unwrap()
    }

    fn cause(&self, datname: &str, cause: &'static str) -> f64 {
        self.state
            .causes
            .get(&(datname.to_string(), cause))
            .copied()
            .unwrap_or(0.0)
    }
}

#[tokio::test]
async fn reads_what_is_new_once_and_finishes_a_rotated_file() {
    let mut d = Dir::new();
    d.append("a.csv", &deadlock().repeat(3));
    assert_eq!(d.read("a.csv", 1 << 20).await, 0);
    assert_eq!(
        d.cause("festivals", "deadlock"),
        0.0,
        "what was there before is not counted"
    );
    d.append("a.csv", &deadlock());
    d.read("a.csv", 1 << 20).await;
    d.read("a.csv", 1 << 20).await;
    assert_eq!(d.cause("festivals", "deadlock"), 1.0);
    // Half a record waits for its end.
    let record = deadlock();
    d.append("a.csv", &record[..20]);
    d.read("a.csv", 1 << 20).await;
    assert_eq!(d.cause("festivals", "deadlock"), 1.0);
    d.append("a.csv", &record[20..]);
    // Rotation: the old file gets one more record before the new one starts.
    d.append("a.csv", &deadlock());
    d.append(
        "b.csv",
        &line(
            "postgres",
            "FATAL",
            "53300",
            "sorry, too many clients already",
        ),
    );
    assert_eq!(d.read("b.csv", 1 << 20).await, 0);
    assert_eq!(d.cause("festivals", "deadlock"), 3.0);
    assert_eq!(d.cause("postgres", "connection_limit"), 1.0);
    assert_eq!(d.state.messages[&("postgres".to_string(), "FATAL")], 1.0);
    assert_eq!(
        d.state.classes[&("festivals".to_string(), "40".to_string())],
        3.0
    );
    assert_eq!(d.state.skipped, 0.0);
}

#[tokio::test]
async fn truncation_and_a_new_file_under_the_same_name_start_again() {
    let mut d = Dir::new();
    d.append("postgresql-Mon.csv", &deadlock().repeat(2));
    d.read("postgresql-Mon.csv", 1 << 20).await;
    // log_truncate_on_rotation: a week later the name is reused, shorter.
    std::fs::write(
        d.dir.path().join("postgresql-Mon.csv"),
        line(
            "festivals",
            "ERROR",
            "57014",
            "canceling statement due to statement timeout",
        ),
    )
    .unwrap();
    d.read("postgresql-Mon.csv", 1 << 20).await;
    assert_eq!(d.cause("festivals", "statement_timeout"), 1.0);
    // Reused and already longer than where reading stood: its first bytes differ.
    let longer = line(
        "postgres",
        "ERROR",
        "40001",
        "could not serialize access due to concurrent update",
    )
    .repeat(3);
    std::fs::write(d.dir.path().join("postgresql-Mon.csv"), &longer).unwrap();
    d.read("postgresql-Mon.csv", 1 << 20).await;
    assert_eq!(d.cause("postgres", "serialization_failure"), 3.0);
    assert_eq!(d.cause("festivals", "deadlock"), 0.0);
}

#[tokio::test]
async fn a_bounded_read_says_what_is_left_and_catches_up() {
    let mut d = Dir::new();
    d.append("a.csv", "");
    d.read("a.csv", 1 << 20).await;
    let record = deadlock();
    d.append("a.csv", &record.repeat(100));
    let budget = record.len() as u64 * 30 + 10;
    let left = d.read("a.csv", budget).await;
    assert_eq!(d.cause("festivals", "deadlock"), 30.0);
    assert_eq!(left, record.len() as u64 * 70);
    while d.read("a.csv", budget).await > 0 {}
    assert_eq!(d.cause("festivals", "deadlock"), 100.0);
    assert_eq!(
        d.state.read,
        (record.len() * 100 + 10 * 3) as f64,
        "a cut record is read again"
    );
}

#[tokio::test]
async fn a_missing_file_is_an_error_and_unknown_databases_count_as_none() {
    let mut d = Dir::new();
    let mut source = Source::Directory(d.dir.path().to_path_buf());
    let err = d
        .state
        .advance(
            &mut source,
            "gone.csv",
            &d.prefix,
            1 << 20,
            &d.databases,
            &|_| {},
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("gone.csv"), "{err}");
    d.append("a.csv", "");
    d.read("a.csv", 1 << 20).await;
    d.append(
        "a.csv",
        &line(
            "no-such-db",
            "FATAL",
            "3D000",
            "database \"no-such-db\" does not exist",
        ),
    );
    d.read("a.csv", 1 << 20).await;
    assert_eq!(d.state.messages[&(String::new(), "FATAL")], 1.0);
    let families = d.state.families(&d.databases, 0);
    let messages = &families[0];
    // "", festivals, postgres × 4 severities, each from the start.
    assert_eq!(messages.samples.len(), 12);
    assert!(messages.samples.iter().all(|s| s.values[0] != "no-such-db"));
    assert_eq!(families[2].samples.len(), 3 * CAUSES.len());
}

#[tokio::test]
async fn a_reader_behind_by_two_rotations_reads_the_file_between() {
    let mut d = Dir::new();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    d.append("postgresql-Fri.csv", "");
    d.read("postgresql-Fri.csv", 1 << 20).await;
    d.append("postgresql-Fri.csv", &deadlock());
    // A week-old file that sorts between: not read (modified before).
    d.append("postgresql-Mon.csv", &deadlock().repeat(5));
    let set = |name: &str, at: std::time::SystemTime| {
        let file = std::fs::File::options()
            .write(true)
            .open(d.dir.path().join(name))
            .unwrap();
        file.set_modified(at).unwrap();
    };
    set("postgresql-Mon.csv", old);
    set(
        "postgresql-Fri.csv",
        old + std::time::Duration::from_secs(100),
    );
    // Rotated away in the same second as the one read (whole seconds through
    // pg_ls_logdir()): the name decides, and this one came before.
    d.append("postgresql-Aaa.csv", &deadlock().repeat(9));
    set(
        "postgresql-Aaa.csv",
        old + std::time::Duration::from_secs(100),
    );
    d.append("postgresql-Sat.csv", &deadlock().repeat(2));
    set(
        "postgresql-Sat.csv",
        old + std::time::Duration::from_secs(200),
    );
    d.append("postgresql-Sun.csv", &deadlock().repeat(4));
    d.append("postgresql-Sun.log", "not csv\n");
    assert_eq!(d.read("postgresql-Sun.csv", 1 << 20).await, 0);
    assert_eq!(d.cause("festivals", "deadlock"), 1.0 + 2.0 + 4.0);
}

#[tokio::test]
async fn progress_is_kept_after_every_read() {
    let mut d = Dir::new();
    d.append("a.csv", "");
    d.read("a.csv", 1 << 20).await;
    let record = deadlock();
    let records = (3 << 20) / record.len();
    d.append("a.csv", &record.repeat(records));
    let kept = std::sync::Mutex::new(Vec::new());
    let mut source = Source::Directory(d.dir.path().to_path_buf());
    d.state
        .advance(
            &mut source,
            "a.csv",
            &d.prefix,
            8 << 20,
            &d.databases,
            &|s| {
                let offset = s.position.as_ref().unwrap().offset;
                let counted = s.causes[&("festivals".to_string(), "deadlock")];
                kept.lock().unwrap().push((offset, counted));
            },
        )
        .await
        .unwrap();
    let kept = kept.into_inner().unwrap();
    assert_eq!(kept.len(), 3, "three reads of at most 1 MiB: {kept:?}");
    for (offset, counted) in &kept {
        assert_eq!(
            *offset,
            *counted as u64 * record.len() as u64,
            "position and counts agree"
        );
    }
    assert_eq!(kept.last().unwrap().1, records as f64);
}

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
        .all(|s| !s.values.contains(&"churn1".to_string()))));
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
