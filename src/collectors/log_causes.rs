//! What a server log message is about: the named causes the `logs`
//! collector counts, from a message's SQLSTATE where the line has one and its
//! text otherwise, leaving out what any user can write; and SQLSTATE classes.

use super::log_lines::Message;

/// The causes counted, in the order their series are written.
pub const CAUSES: [&str; 13] = [
    "connection_limit",
    "deadlock",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_timeout",
    "serialization_failure",
    "authentication_failure",
    "disk_full",
    "out_of_memory",
    "checkpoints_too_frequent",
    "autovacuum_cancelled",
    "query_cancelled",
    "data_corruption",
];

/// What `message` is about: [`cause_of`] its severity, SQLSTATE and text,
/// except for what any user can write (PL/pgSQL's RAISE chooses both text
/// and SQLSTATE) and for the two causes only one kind of process reports,
/// where the line names the process.
pub fn cause(message: &Message) -> Option<&'static str> {
    if message.raised {
        return None;
    }
    let cause = cause_of(
        &message.severity,
        message.sqlstate.as_deref(),
        &message.message,
    )?;
    let by = |process: &str| message.backend_type.as_deref().is_none_or(|b| b == process);
    match cause {
        "checkpoints_too_frequent" if !by("checkpointer") => None,
        "autovacuum_cancelled" if !by("autovacuum worker") => None,
        _ => Some(cause),
    }
}

/// The SQLSTATE classes PostgreSQL defines (errcodes.txt); others count as `other`.
const CLASSES: [&str; 43] = [
    "00", "01", "02", "03", "08", "09", "0A", "0B", "0F", "0L", "0P", "0Z", "20", "21", "22", "23",
    "24", "25", "26", "27", "28", "2B", "2D", "2F", "34", "38", "39", "3B", "3D", "3F", "40", "42",
    "44", "53", "54", "55", "57", "58", "72", "F0", "HV", "P0", "XX",
];

/// A SQLSTATE's class label: one of PostgreSQL's, `other`, or none when
/// the code is not a SQLSTATE at all.
pub fn class(sqlstate: &str) -> Option<&'static str> {
    let well_formed = sqlstate.len() == 5
        && sqlstate
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    well_formed.then(|| {
        CLASSES
            .iter()
            .find(|c| **c == &sqlstate[..2])
            .copied()
            .unwrap_or("other")
    })
}

/// What a message of `severity` is about, from its SQLSTATE where the line
/// has one and from how its (English) text starts otherwise. Only messages
/// count (not their DETAIL, STATEMENT... lines), and of LOG messages only the
/// checkpoint warning: `log_statement` writes statements as LOG messages.
pub fn cause_of(severity: &str, sqlstate: Option<&str>, message: &str) -> Option<&'static str> {
    if message.starts_with("checkpoints are occurring too frequently") {
        return (severity == "LOG").then_some("checkpoints_too_frequent");
    }
    if !matches!(severity, "WARNING" | "ERROR" | "FATAL" | "PANIC") {
        return None;
    }
    if message.starts_with("canceling autovacuum task") {
        return Some("autovacuum_cancelled");
    }
    let says = |text: &str| message.starts_with(text);
    if let Some(state) = sqlstate {
        return match state {
            "53300" => Some("connection_limit"),
            "40P01" => Some("deadlock"),
            "57014" if message.contains("statement timeout") => Some("statement_timeout"),
            "57014" if message.contains("user request") => Some("query_cancelled"),
            "55P03" => Some("lock_timeout"),
            "25P03" => Some("idle_in_transaction_timeout"),
            "40001" => Some("serialization_failure"),
            "28000" | "28P01" => Some("authentication_failure"),
            "53100" => Some("disk_full"),
            "53200" => Some("out_of_memory"),
            "XX001" | "XX002" => Some("data_corruption"),
            _ => None,
        };
    }
    if message.contains("No space left on device") {
        return Some("disk_full");
    }
    const TEXTS: [(&str, &str); 14] = [
        ("sorry, too many clients already", "connection_limit"),
        (
            "remaining connection slots are reserved",
            "connection_limit",
        ),
        ("too many connections for", "connection_limit"),
        ("deadlock detected", "deadlock"),
        (
            "canceling statement due to statement timeout",
            "statement_timeout",
        ),
        ("canceling statement due to lock timeout", "lock_timeout"),
        (
            "terminating connection due to idle-in-transaction timeout",
            "idle_in_transaction_timeout",
        ),
        ("could not serialize access", "serialization_failure"),
        (
            "password authentication failed for user",
            "authentication_failure",
        ),
        ("no pg_hba.conf entry", "authentication_failure"),
        ("out of memory", "out_of_memory"),
        ("out of shared memory", "out_of_memory"),
        ("canceling statement due to user request", "query_cancelled"),
        ("invalid page in block", "data_corruption"),
    ];
    TEXTS.iter().find(|(text, _)| says(text)).map(|(_, c)| *c)
}

/// The SQLSTATE class a cause's messages carry, for lines without `%e`.
pub fn class_of(cause: &str) -> Option<&'static str> {
    Some(match cause {
        "connection_limit" | "disk_full" | "out_of_memory" => "53",
        "deadlock" | "serialization_failure" => "40",
        "statement_timeout" | "autovacuum_cancelled" | "query_cancelled" => "57",
        "lock_timeout" => "55",
        "idle_in_transaction_timeout" => "25",
        "authentication_failure" => "28",
        "data_corruption" => "XX",
        _ => return None,
    })
}
