//! Unit tests of the log formats, on lines PostgreSQL 15 wrote (csvlog,
//! jsonlog, stderr behind `%m [%p] %q%u@%d %e `) and 13's shorter csvlog.

use super::*;
use crate::collectors::log_causes::{cause, cause_of, class, class_of};

const CSV: &str = r#"2026-12-01 00:23:32.242 UTC,,,10799,,6b0e1384.2a2f,2,,2026-12-01 00:23:32 UTC,,0,LOG,00000,"listening on IPv4 address ""127.0.0.1"", port 5488",,,,,,,,,"","postmaster",,0
2026-12-01 00:23:34.392 UTC,"postgres","nodb",10811,"[local]",6b0e1386.2a3b,1,"startup",2026-12-01 00:23:34 UTC,3/3,0,FATAL,3D000,"database ""nodb"" does not exist",,,,,,,,,"","client backend",,0
2026-12-01 00:23:34.462 UTC,"lim","postgres",10815,"[local]",6b0e1386.2a3f,1,"startup",2026-12-01 00:23:34 UTC,3/6,0,FATAL,53300,"too many connections for role ""lim""",,,,,,,,,"","client backend",,0
2026-12-01 00:23:34.553 UTC,"postgres","postgres",10819,"[local]",6b0e1386.2a43,1,"SELECT",2026-12-01 00:23:34 UTC,3/10,0,ERROR,22012,"division by zero",,,,,,"select 'multi
line', 1/0, 'quote""x'",,,"psql","client backend",,0
"#;

const JSON: &str = r#"{"timestamp":"2026-12-01 00:23:32.242 UTC","pid":10799,"session_id":"6b0e1384.2a2f","line_num":1,"error_severity":"LOG","message":"starting PostgreSQL 15.20","backend_type":"postmaster","query_id":0}
{"timestamp":"2026-12-01 00:23:34.512 UTC","user":"postgres","dbname":"postgres","pid":10817,"error_severity":"ERROR","state_code":"57014","message":"canceling statement due to statement timeout","statement":"set statement_timeout=10;\nselect pg_sleep(1)","backend_type":"client backend","query_id":0}
"#;

const STDERR: &str =
    "2026-12-01 00:23:32.252 UTC [10799] LOG:  database system is ready to accept connections
2026-12-01 00:23:34.462 UTC [10815] lim@postgres 53300 FATAL:  too many connections for role \"lim\"
2026-12-01 00:23:34.553 UTC [10819] postgres@postgres 22012 ERROR:  division by zero
2026-12-01 00:23:34.553 UTC [10819] postgres@postgres 22012 STATEMENT:  select 'multi
\tline', 1/0
";

fn near(time: Option<f64>, expected: f64) -> bool {
    time.is_some_and(|t| (t - expected).abs() < 1e-6)
}

fn all(format: &Format, text: &str) -> (Vec<Message>, usize) {
    let mut found = Vec::new();
    let used = parse(format, text.as_bytes(), |m| found.push(m));
    (found, used)
}

#[test]
fn csvlog_records_with_quotes_and_newlines() {
    let (found, used) = all(&Format::Csv, CSV);
    assert_eq!(used, CSV.len());
    let severities: Vec<&str> = found.iter().map(|m| m.severity.as_str()).collect();
    assert_eq!(severities, ["LOG", "FATAL", "FATAL", "ERROR"]);
    assert_eq!(
        found[0].message,
        r#"listening on IPv4 address "127.0.0.1", port 5488"#
    );
    assert_eq!(found[0].datname, None);
    assert_eq!(found[2].datname.as_deref(), Some("postgres"));
    assert_eq!(found[2].sqlstate.as_deref(), Some("53300"));
    assert_eq!(found[3].message, "division by zero");
    assert!(near(found[3].time, 1_796_084_614.553));
}

#[test]
fn csvlog_of_13_has_fewer_columns() {
    // 13 writes 24 columns (no leader_pid, query_id).
    let line = "2026-12-01 00:23:34.462 UTC,\"app\",\"tickets\",1,\"[local]\",a.b,1,\"idle\",2026-12-01 00:23:34 UTC,3/6,0,ERROR,40P01,\"deadlock detected\",\"Process 1 waits\",,,,,,,,\"psql\",\"client backend\"\n";
    let (found, _) = all(&Format::Csv, line);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].sqlstate.as_deref(), Some("40P01"));
    assert_eq!(found[0].datname.as_deref(), Some("tickets"));
}

#[test]
fn an_incomplete_record_waits() {
    let cut = CSV.find("line', 1/0").unwrap();
    let (found, used) = all(&Format::Csv, &CSV[..cut]);
    assert_eq!(
        found.len(),
        3,
        "the record cut inside its quoted query is not read"
    );
    assert_eq!(&CSV[used..used + 10], "2026-12-01");
    let (found, used) = all(&Format::Json, &JSON[..JSON.len() - 1]);
    assert_eq!((found.len(), used), (1, JSON.find('\n').unwrap() + 1));
}

#[test]
fn jsonlog_lines() {
    let (found, used) = all(&Format::Json, JSON);
    assert_eq!(used, JSON.len());
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].datname, None);
    assert_eq!(found[1].severity, "ERROR");
    assert_eq!(found[1].sqlstate.as_deref(), Some("57014"));
    assert_eq!(
        cause_of("ERROR", found[1].sqlstate.as_deref(), &found[1].message),
        Some("statement_timeout")
    );
}

#[test]
fn stderr_behind_the_servers_prefix() {
    let format = Format::Stderr(Arc::new(Prefix::new("%m [%p] %q%u@%d %e ")));
    let (found, used) = all(&format, STDERR);
    assert_eq!(used, STDERR.len());
    let severities: Vec<&str> = found.iter().map(|m| m.severity.as_str()).collect();
    assert_eq!(severities, ["LOG", "FATAL", "ERROR", "STATEMENT"]);
    assert_eq!(found[0].datname, None, "%q: no session, no database");
    assert_eq!(found[1].datname.as_deref(), Some("postgres"));
    assert_eq!(found[1].sqlstate.as_deref(), Some("53300"));
    assert_eq!(found[2].message, "division by zero");
    assert!(near(found[1].time, 1_796_084_614.462));
}

#[test]
fn common_prefixes() {
    let cases = [
        // PostgreSQL's default.
        ("%m [%p] ", "2026-12-01 00:00:01.5 UTC [42] ERROR:  deadlock detected", None),
        // Debian's.
        ("%m [%p] %q%u@%d ", "2026-12-01 00:00:01.500 UTC [42] app@tickets ERROR:  deadlock detected", Some("tickets")),
        // pgBadger's recommendation.
        ("%t [%p]: user=%u,db=%d,app=%a,client=%h ", "2026-12-01 00:00:01 +03 [42]: user=app,db=tickets,app=psql,client=10.0.0.1 ERROR:  deadlock detected", Some("tickets")),
        ("%n %-8d|%5p ", "1796083201.500 tickets |   42 ERROR:  deadlock detected", Some("tickets")),
        ("", "ERROR:  deadlock detected", None),
        ("%%%d%% ", "%tickets% ERROR:  deadlock detected", Some("tickets")),
    ];
    for (setting, line, db) in cases {
        let format = Format::Stderr(Arc::new(Prefix::new(setting)));
        let (found, _) = all(&format, &format!("{line}\n"));
        assert_eq!(found.len(), 1, "{setting:?}: {line}");
        assert_eq!(found[0].severity, "ERROR", "{setting:?}");
        assert_eq!(found[0].datname.as_deref(), db, "{setting:?}");
        assert_eq!(
            cause_of("ERROR", found[0].sqlstate.as_deref(), &found[0].message),
            Some("deadlock"),
            "{setting:?}: without %e the text names the cause"
        );
    }
    let format = Format::Stderr(Arc::new(Prefix::new("%t [%p]: ")));
    let (found, _) = all(&format, "2026-12-01 00:00:01 +03 [42]: FATAL:  x\n");
    assert!(
        near(found[0].time, 1_796_072_401.0),
        "+03 is three hours east"
    );
}

#[test]
fn timestamps_in_every_zone_form() {
    assert!(near(timestamp("1970-01-01 00:00:00 UTC"), 0.0));
    assert!(near(
        timestamp("2000-03-01 00:00:00.250 GMT"),
        951_868_800.25
    ));
    assert!(near(
        timestamp("2026-12-01 05:30:00 +0530"),
        1_796_083_200.0
    ));
    assert!(near(
        timestamp("2026-12-01 05:30:00 +05:30"),
        1_796_083_200.0
    ));
    assert!(near(timestamp("2026-11-30 19:00:00 -05"), 1_796_083_200.0));
    assert_eq!(
        timestamp("2026-12-01 00:00:00 CET"),
        None,
        "an abbreviation is not guessed"
    );
    assert_eq!(timestamp("garbage"), None);
}

#[test]
fn causes_by_sqlstate_or_text() {
    let cases = [
        (
            Some("53300"),
            "sorry, too many clients already",
            Some("connection_limit"),
        ),
        (
            None,
            "remaining connection slots are reserved for roles with the SUPERUSER attribute",
            Some("connection_limit"),
        ),
        (Some("40P01"), "deadlock detected", Some("deadlock")),
        (
            Some("57014"),
            "canceling statement due to statement timeout",
            Some("statement_timeout"),
        ),
        (
            Some("57014"),
            "canceling statement due to user request",
            Some("query_cancelled"),
        ),
        (
            Some("57014"),
            "canceling autovacuum task",
            Some("autovacuum_cancelled"),
        ),
        (
            Some("55P03"),
            "canceling statement due to lock timeout",
            Some("lock_timeout"),
        ),
        (
            Some("25P03"),
            "terminating connection due to idle-in-transaction timeout",
            Some("idle_in_transaction_timeout"),
        ),
        (
            Some("40001"),
            "could not serialize access due to concurrent update",
            Some("serialization_failure"),
        ),
        (
            Some("28P01"),
            "password authentication failed for user \"app\"",
            Some("authentication_failure"),
        ),
        (
            None,
            "no pg_hba.conf entry for host \"10.0.0.9\"",
            Some("authentication_failure"),
        ),
        (
            Some("53100"),
            "could not extend file: No space left on device",
            Some("disk_full"),
        ),
        (Some("53200"), "out of shared memory", Some("out_of_memory")),
        (None, "out of shared memory", Some("out_of_memory")),
        (
            Some("XX001"),
            "invalid page in block 7 of relation base/1/2",
            Some("data_corruption"),
        ),
        (Some("22012"), "division by zero", None),
        // A localized server: the SQLSTATE decides, the text is not read.
        (Some("40P01"), "interblocage détecté", Some("deadlock")),
        (Some("42601"), "deadlock detected in my own message", None),
    ];
    for (state, text, expected) in cases {
        assert_eq!(cause_of("ERROR", state, text), expected, "{state:?} {text}");
    }
    let checkpoints = "checkpoints are occurring too frequently (9 seconds apart)";
    assert_eq!(
        cause_of("LOG", Some("00000"), checkpoints),
        Some("checkpoints_too_frequent")
    );
    assert_eq!(
        cause_of("LOG", None, checkpoints),
        Some("checkpoints_too_frequent")
    );
    // log_statement writes statements as LOG lines; STATEMENT lines repeat them.
    assert_eq!(
        cause_of("LOG", None, "statement: SELECT 'deadlock detected'"),
        None
    );
    assert_eq!(cause_of("STATEMENT", None, "deadlock detected"), None);
    assert_eq!(cause_of("LOG", None, "deadlock detected"), None);
    assert_eq!(class_of("deadlock"), Some("40"));
}

#[test]
fn raise_and_the_writing_process_are_read_from_csvlog_and_jsonlog() {
    let csv = "2026-12-01 01:21:12.342 UTC,\"postgres\",\"postgres\",7133,\"127.0.0.1:33090\",6b0e2108.1bdd,1,\"DO\",2026-12-01 01:21:12 UTC,5/206,0,WARNING,53300,\"y\",,,,,\"PL/pgSQL function inline_code_block line 1 at RAISE\",,,,\"psql\",\"client backend\",,0\n";
    let json = "{\"timestamp\":\"2026-12-01 01:21:12.342 UTC\",\"dbname\":\"postgres\",\"error_severity\":\"WARNING\",\"state_code\":\"53300\",\"message\":\"y\",\"context\":\"PL/pgSQL function inline_code_block line 1 at RAISE\",\"backend_type\":\"client backend\"}\n";
    for (format, text) in [(Format::Csv, csv), (Format::Json, json)] {
        let (found, _) = all(&format, text);
        assert!(found[0].raised, "{format:?}");
        assert_eq!(found[0].backend_type.as_deref(), Some("client backend"));
        assert_eq!(cause(&found[0]), None, "{format:?}: RAISE chose the code");
        assert_eq!(
            cause_of("WARNING", Some("53300"), "y"),
            Some("connection_limit")
        );
    }
    let (found, _) = all(&Format::Csv, CSV);
    assert!(!found[2].raised);
    assert_eq!(found[2].backend_type.as_deref(), Some("client backend"));
    assert_eq!(cause(&found[2]), Some("connection_limit"));
    assert_eq!(class("53300"), Some("53"));
    assert_eq!(class("ZZ001"), Some("other"));
    assert_eq!(class("53 00"), None);
}
