//! The server log's three formats, read by the `logs` collector: csvlog
//! (13's 24 columns, 14+'s 26: only the first 14 are read), jsonlog (15+, one
//! object per line) and stderr, whose lines start with `log_line_prefix`
//! (compiled into a pattern from the server's own setting). Each complete
//! record at the start of a buffer becomes a [`Message`]; an incomplete one at
//! the end waits for the next read. What a message is about is
//! [`super::log_causes`]' to say.

use std::sync::Arc;

/// A log file's format.
#[derive(Debug, Clone)]
pub enum Format {
    Csv,
    Json,
    /// stderr lines behind this `log_line_prefix`.
    Stderr(Arc<Prefix>),
}

/// One log message: what the counts need of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub severity: String,
    pub sqlstate: Option<String>,
    pub datname: Option<String>,
    pub message: String,
    /// When it was logged, Unix seconds (absent when the line's time zone is
    /// an abbreviation other than UTC/GMT).
    pub time: Option<f64>,
    /// Written by PL/pgSQL's RAISE (its context says so): any user chooses
    /// such a message's text and SQLSTATE.
    pub raised: bool,
    /// The process that wrote it (csvlog 13+, jsonlog).
    pub backend_type: Option<String>,
}

/// Whether a message's context (innermost frame first) is PL/pgSQL's RAISE.
fn raised(context: &str) -> bool {
    context
        .lines()
        .next()
        .is_some_and(|frame| frame.ends_with("at RAISE"))
}

/// Hands every complete record at the start of `buf` to `each` and returns
/// how many bytes they took.
pub fn parse(format: &Format, buf: &[u8], mut each: impl FnMut(Message)) -> usize {
    match format {
        Format::Csv => {
            let mut start = 0;
            while let Some(end) = csv_record_end(&buf[start..]) {
                if let Some(message) = csv_message(&buf[start..start + end]) {
                    each(message);
                }
                start += end + 1;
            }
            start
        }
        Format::Json => lines(buf, |line| json_message(line).map(&mut each)),
        Format::Stderr(prefix) => lines(buf, |line| prefix.message(line).map(&mut each)),
    }
}

/// Hands each complete line of `buf` to `each`; returns the bytes they took.
fn lines(buf: &[u8], mut each: impl FnMut(&[u8]) -> Option<()>) -> usize {
    let mut start = 0;
    while let Some(end) = buf[start..].iter().position(|&b| b == b'\n') {
        each(&buf[start..start + end]);
        start += end + 1;
    }
    start
}

/// Where the record that `buf` is inside of ends (the newline after it), if
/// in `buf`; else whether the csv quote is open at its end. `quoted`: whether
/// a csv quote was open where `buf` starts. For skipping a record too long to
/// read: nothing inside it is ever read as a record.
pub fn record_end(format: &Format, buf: &[u8], mut quoted: bool) -> (Option<usize>, bool) {
    if !matches!(format, Format::Csv) {
        return (buf.iter().position(|&b| b == b'\n'), false);
    }
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return (Some(i), false),
            _ => {}
        }
    }
    (None, quoted)
}

/// Where the CSV record at the start of `buf` ends (its newline), if it is complete.
fn csv_record_end(buf: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The fields of one CSV record, up to the message (the 14th).
fn csv_message(record: &[u8]) -> Option<Message> {
    // Up to backend_type, the 24th column (13+); the message is the 14th.
    const READ: usize = 24;
    let text = String::from_utf8_lossy(record);
    let mut fields: Vec<String> = Vec::with_capacity(READ);
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                if fields.len() == READ {
                    break;
                }
            }
            _ => field.push(c),
        }
    }
    if fields.len() < READ {
        fields.push(field);
    }
    if fields.len() < 14 {
        return None;
    }
    let some = |i: usize| fields.get(i).filter(|s| !s.is_empty()).cloned();
    Some(Message {
        severity: fields[11].clone(),
        sqlstate: some(12),
        datname: some(2),
        message: fields[13].clone(),
        time: timestamp(&fields[0]),
        raised: fields.get(18).is_some_and(|c| raised(c)),
        backend_type: some(23),
    })
}

fn json_message(line: &[u8]) -> Option<Message> {
    #[derive(serde::Deserialize)]
    struct Line {
        timestamp: Option<String>,
        dbname: Option<String>,
        error_severity: Option<String>,
        state_code: Option<String>,
        message: Option<String>,
        context: Option<String>,
        backend_type: Option<String>,
    }
    let line: Line = serde_json::from_slice(line).ok()?;
    Some(Message {
        severity: line.error_severity?,
        sqlstate: line.state_code,
        datname: line.dbname,
        message: line.message.unwrap_or_default(),
        time: line.timestamp.as_deref().and_then(timestamp),
        raised: line.context.as_deref().is_some_and(raised),
        backend_type: line.backend_type,
    })
}

/// `log_line_prefix` as a pattern over a stderr line's start.
#[derive(Debug)]
pub struct Prefix {
    pattern: regex::Regex,
    /// Whether it holds values a client chooses (`%a`, `%u`, `%d`): then a
    /// client can write what looks like a severity into the prefix.
    pub client_chosen: bool,
}

/// What follows the prefix: the severity and two spaces.
const SEVERITIES: &str = "DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT";
const TIME: &str = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [^ \]]+)?";

impl Prefix {
    /// Compiles `log_line_prefix`: escapes whose value has a known shape
    /// match it, the others match anything; `%q` makes the rest optional
    /// (processes without a session stop there).
    pub fn new(setting: &str) -> Prefix {
        let mut pattern = String::from("^");
        let mut optional = false;
        let mut client_chosen = false;
        let mut named = std::collections::HashSet::new();
        let mut chars = setting.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                pattern.push_str(&regex::escape(&c.to_string()));
                continue;
            }
            // Padding: %-10u, %5p.
            let mut padded = false;
            while let Some(&d) = chars.peek() {
                if d == '-' || d.is_ascii_digit() {
                    padded = true;
                    chars.next();
                } else {
                    break;
                }
            }
            let Some(escape) = chars.next() else { break };
            client_chosen |= matches!(escape, 'a' | 'u' | 'd');
            let mut group = |name: &'static str, body: &str| {
                if named.insert(name) {
                    format!("(?P<{name}>{body})")
                } else {
                    format!("(?:{body})")
                }
            };
            let piece = match escape {
                '%' => "%".to_string(),
                'q' => {
                    optional = true;
                    "(?:".to_string()
                }
                'd' => group("db", ".*?"),
                'e' => group("state", "[0-9A-Z]{5}"),
                'm' | 't' => group("time", TIME),
                's' => TIME.to_string(),
                'n' => group("epoch", r"\d+(?:\.\d+)?"),
                'p' | 'P' | 'l' | 'x' => r"\d*".to_string(),
                _ => ".*?".to_string(),
            };
            if padded {
                pattern.push_str(" *");
                pattern.push_str(&piece);
                pattern.push_str(" *");
            } else {
                pattern.push_str(&piece);
            }
        }
        if optional {
            pattern.push_str(")?");
        }
        pattern.push_str(&format!("(?P<severity>{SEVERITIES}):  (?P<message>.*)$"));
        Prefix {
            pattern: regex::Regex::new(&pattern).expect("an escaped prefix is a valid pattern"),
            client_chosen,
        }
    }

    fn message(&self, line: &[u8]) -> Option<Message> {
        if line.first() == Some(&b'\t') {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let found = self.pattern.captures(line.trim_end_matches('\r'))?;
        let text = |name| found.name(name).map(|m| m.as_str().to_string());
        let time = match (found.name("time"), found.name("epoch")) {
            (Some(t), _) => timestamp(t.as_str()),
            (None, Some(e)) => e.as_str().parse().ok(),
            _ => None,
        };
        Some(Message {
            severity: text("severity")?,
            sqlstate: text("state"),
            datname: text("db").filter(|d| !d.is_empty() && d != "[unknown]"),
            message: text("message").unwrap_or_default(),
            time,
            raised: false,
            backend_type: None,
        })
    }
}

/// `2026-12-01 00:17:20.123 UTC` (also `+03`, `-0530`, `+05:30`) in Unix seconds.
pub fn timestamp(text: &str) -> Option<f64> {
    let (date, rest) = text.split_once(' ')?;
    let (clock, zone) = rest.split_once(' ').unwrap_or((rest, "UTC"));
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let mut hms = clock.splitn(3, ':');
    let h: i64 = hms.next()?.parse().ok()?;
    let min: i64 = hms.next()?.parse().ok()?;
    let sec: f64 = hms.next()?.parse().ok()?;
    let offset = match zone {
        "UTC" | "GMT" | "Z" | "Etc/UTC" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
            let (hh, mm) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse::<i64>().ok()?),
                _ => return None,
            };
            sign * (hh * 3600 + mm * 60)
        }
    };
    let days = crate::text::days_from_civil(y, m, d);
    Some((days * 86_400 + h * 3600 + min * 60 - offset) as f64 + sec)
}

#[cfg(test)]
#[path = "log_lines_tests.rs"]
mod tests;
