//! Unit tests of the `logs` collector's reading over files in a directory:
//! the first read starts at the end, growth is read once, rotation finishes
//! the old file, truncation and replacement start again, a bounded read
//! reports what is left, and the counts by database, severity and cause.

use super::*;

pub(super) fn line(db: &str, severity: &str, state: &str, message: &str) -> String {
    format!("2026-12-01 00:23:34.462 UTC,\"app\",\"{db}\",1,\"[local]\",a.b,1,\"SELECT\",2026-12-01 00:23:34 UTC,3/6,0,{severity},{state},\"{message}\",,,,,,,,,\"psql\",\"client backend\",,0\n")
}

pub(super) fn deadlock() -> String {
    line("festivals", "ERROR", "40P01", "deadlock detected")
}

pub(super) struct Dir {
    pub(super) dir: tempfile::TempDir,
    pub(super) state: State,
    pub(super) databases: BTreeSet<String>,
    pub(super) prefix: Arc<Prefix>,
}

impl Dir {
    pub(super) fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
            state: State::default(),
            databases: ["festivals".to_string(), "postgres".to_string()].into(),
            prefix: Arc::new(Prefix::new("%m [%p] ")),
        }
    }

    pub(super) fn append(&self, file: &str, text: &str) {
        use std::io::Write;
        let mut f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(file))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    pub(super) async fn read(&mut self, current: &str, budget: u64) -> u64 {
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

    pub(super) fn cause(&self, datname: &str, cause: &'static str) -> f64 {
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
    assert!(messages
        .samples
        .iter()
        .all(|s| &s.values[0] != "no-such-db"));
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
