//! `logs` (off by default): the guide's daily "Review error logs", live. New
//! server log messages since the last scrape, counted by severity, SQLSTATE
//! class and named cause per database. The log is read through the session
//! (`pg_current_logfile()`, then `pg_read_binary_file()` from where the last
//! scrape stopped) or, with `--collector.logs.directory`, from the files beside
//! the server. The first scrape starts at the end of the current file; a
//! scrape reads at most `--collector.logs.max-read-bytes` and says how far
//! behind it is. A file that rotated away is finished before the new one is
//! read; one truncated or replaced under the same name (its first bytes
//! changed) is read again from its start. Counts are kept together with the
//! position after every read, so a scrape cancelled by its deadline counts
//! nothing twice and the next one goes on from where it stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::future::BoxFuture;

use super::log_causes::{self, class_of, CAUSES};
use super::log_files::{directory_file, format_of, Source};
use super::log_lines::{self, Message, Prefix};
use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const FILES_SQL: &str = include_str!("../../queries/logs_files.sql");
const CURRENT_SQL: &str = include_str!("../../queries/logs_current.sql");
const CURRENT_SQL_15: &str = include_str!("../../queries/logs_current.v15.sql");

static MESSAGES: Desc = Desc::counter(
    "pg_log_messages_total",
    &["datname", "severity"],
    "Server log messages since the exporter started, by database (empty when the line names none or no existing one) and severity (WARNING, ERROR, FATAL, PANIC).",
);
static CLASSES: Desc = Desc::counter(
    "pg_log_sqlstate_class_messages_total",
    &["datname", "sqlstate_class"],
    "Server log messages of severity WARNING to PANIC since the exporter started, by database and the first two characters of their SQLSTATE.",
);
static CAUSE: Desc = Desc::counter(
    "pg_log_cause_messages_total",
    &["datname", "cause"],
    "Server log messages since the exporter started about each named cause (connection_limit, deadlock, statement_timeout, lock_timeout, ...), by database.",
);
static LAST: Desc = Desc::gauge(
    "pg_log_last_message_timestamp_seconds",
    &["severity"],
    "When the last server log message of this severity was written (when it was read if its time zone is not UTC or an offset), Unix seconds.",
);
static READ: Desc = Desc::counter(
    "pg_log_read_bytes_total",
    &[],
    "Bytes of server log read since the exporter started.",
);
static UNREAD: Desc = Desc::gauge(
    "pg_log_unread_bytes",
    &[],
    "Bytes of server log not read yet: more than --collector.logs.max-read-bytes arrived since the last scrape.",
);
static SKIPPED: Desc = Desc::counter(
    "pg_log_skipped_bytes_total",
    &[],
    "Bytes of server log never read: left at the end of a rotated file, or a record too long to read.",
);

/// The severities counted.
const SEVERITIES: [&str; 4] = ["WARNING", "ERROR", "FATAL", "PANIC"];
/// Most bytes read in one go.
const CHUNK: u64 = 1 << 20;

/// Where reading stands, and the counts so far.
#[derive(Debug, Clone, Default)]
pub struct State {
    position: Option<Position>,
    messages: BTreeMap<(String, &'static str), f64>,
    classes: BTreeMap<(String, String), f64>,
    causes: BTreeMap<(String, &'static str), f64>,
    last: BTreeMap<&'static str, f64>,
    read: f64,
    skipped: f64,
    /// `log_line_prefix` as last compiled, with its setting.
    prefix: Option<(String, Arc<Prefix>)>,
    /// Where reading stopped in files left for another: taken up again
    /// there if one becomes current again (two servers' logs in one
    /// directory, each the newest in turn), never from its start.
    left: BTreeMap<String, Position>,
}

/// Most files whose position is remembered after they were left.
const LEFT: usize = 16;

#[derive(Debug, Clone, PartialEq)]
struct Position {
    file: String,
    offset: u64,
    head: Vec<u8>,
    /// Inside a record longer than one read, being skipped: whether a csv
    /// quote is open at `offset`.
    skipping: Option<bool>,
}

impl Position {
    fn start(file: &str, offset: u64, head: Vec<u8>) -> Position {
        Position {
            file: file.to_string(),
            offset,
            head,
            skipping: None,
        }
    }
}

impl State {
    fn count(&mut self, message: Message, databases: &BTreeSet<String>) {
        let datname = message
            .datname
            .clone()
            .filter(|d| databases.contains(d))
            .unwrap_or_default();
        let cause = log_causes::cause(&message);
        if let Some(cause) = cause {
            *self.causes.entry((datname.clone(), cause)).or_default() += 1.0;
        }
        let Some(severity) = SEVERITIES.iter().find(|s| **s == message.severity) else {
            return;
        };
        *self
            .messages
            .entry((datname.clone(), severity))
            .or_default() += 1.0;
        let class = match &message.sqlstate {
            Some(state) => log_causes::class(state),
            None => cause.and_then(class_of),
        };
        if let Some(class) = class {
            *self
                .classes
                .entry((datname, class.to_string()))
                .or_default() += 1.0;
        }
        // A line's time is the writer's to choose only within reason: one
        // from the future would hold the gauge there.
        let now = crate::text::unix_now();
        let time = message.time.filter(|t| *t <= now + 60.0).unwrap_or(now);
        let last = self.last.entry(severity).or_insert(time);
        *last = last.max(time);
    }

    /// The server's `log_line_prefix` compiled, again only when it changed.
    fn prefix(&mut self, setting: String) -> Arc<Prefix> {
        match &self.prefix {
            Some((known, prefix)) if *known == setting => prefix.clone(),
            _ => {
                let prefix = Arc::new(Prefix::new(&setting));
                self.prefix = Some((setting, prefix.clone()));
                prefix
            }
        }
    }

    /// Forgets the counts of databases dropped (or renamed) since.
    fn forget_dropped(&mut self, databases: &BTreeSet<String>) {
        let kept = |datname: &String| datname.is_empty() || databases.contains(datname);
        self.messages.retain(|(datname, _), _| kept(datname));
        self.classes.retain(|(datname, _), _| kept(datname));
        self.causes.retain(|(datname, _), _| kept(datname));
    }

    /// Reads what was written since the last call, at most `max_read`
    /// bytes; returns how many bytes are left unread.
    #[allow(clippy::too_many_arguments)]
    async fn advance(
        &mut self,
        source: &mut Source<'_>,
        current: &str,
        prefix: &Arc<Prefix>,
        max_read: u64,
        databases: &BTreeSet<String>,
        commit: &(dyn Fn(&State) + Sync),
    ) -> Result<u64, CollectError> {
        let Some(mut at) = self.position.clone() else {
            let (size, head) = source
                .stat(current)
                .await?
                .ok_or_else(|| missing(current))?;
            self.position = Some(Position::start(current, size, head));
            return Ok(0);
        };
        let window = max_read.min(CHUNK);
        let mut budget = max_read;
        // Each turn finishes a rotated file or reads the current one.
        for _ in 0..8 {
            let Some((size, head)) = source.stat(&at.file).await? else {
                if at.file == current {
                    return Err(missing(current));
                }
                self.left.remove(&at.file);
                at = self.after(source, &at.file, current).await?;
                continue;
            };
            if !head.starts_with(&at.head) || size < at.offset {
                // Truncated, or another file under the same name.
                at = Position::start(&at.file, 0, Vec::new());
            }
            at.head = head;
            let format = format_of(&at.file, prefix);
            while at.offset < size && budget > 0 {
                let len = (size - at.offset).min(budget).min(CHUNK);
                let buf = source.read(&at.file, at.offset, len).await?;
                budget = budget.saturating_sub(len);
                self.read += buf.len() as f64;
                let (used, skipped) = if let Some(quoted) = at.skipping {
                    let (end, quoted) = log_lines::record_end(&format, &buf, quoted);
                    at.skipping = end.is_none().then_some(quoted);
                    let used = end.map_or(buf.len(), |e| e + 1);
                    (used, used)
                } else {
                    let used = log_lines::parse(&format, &buf, |m| self.count(m, databases));
                    if used == 0 && buf.len() as u64 == window && at.offset + window < size {
                        // A record longer than a whole read is skipped as
                        // a whole: nothing inside it is read as a record.
                        at.skipping = Some(log_lines::record_end(&format, &buf, false).1);
                        (buf.len(), buf.len())
                    } else {
                        (used, 0)
                    }
                };
                self.skipped += skipped as f64;
                if used == 0 {
                    break;
                }
                let used = used as u64;
                at.offset += used;
                // Counts and position kept together after every read: a
                // scrape cut short by its deadline loses nothing and counts
                // nothing twice, and the next one goes on from there.
                self.position = Some(at.clone());
                commit(self);
            }
            if at.file == current {
                // The size just read: no second look at the file.
                let unread = size - at.offset;
                self.position = Some(at);
                return Ok(unread);
            }
            if budget == 0 {
                break;
            }
            // The rotated file is done; what is left of it is an incomplete record.
            self.skipped += (size - at.offset) as f64;
            let done = at.file.clone();
            self.left
                .insert(done.clone(), Position { offset: size, ..at });
            while self.left.len() > LEFT {
                self.left.pop_first();
            }
            at = self.after(source, &done, current).await?;
        }
        // Still in a rotated file: it and the current file are left.
        let left =
            |stat: Option<(u64, Vec<u8>)>, from: u64| stat.map_or(0, |s| s.0.saturating_sub(from));
        let unread =
            left(source.stat(&at.file).await?, at.offset) + left(source.stat(current).await?, 0);
        self.position = Some(at);
        Ok(unread)
    }

    /// Where reading goes on after the rotated file `done`: the next file
    /// of its format, else the current one; where it was left, if it was.
    async fn after(
        &self,
        source: &mut Source<'_>,
        done: &str,
        current: &str,
    ) -> Result<Position, CollectError> {
        let file = source
            .next_after(done)
            .await?
            .unwrap_or_else(|| current.to_string());
        Ok(self
            .left
            .get(&file)
            .cloned()
            .unwrap_or_else(|| Position::start(&file, 0, Vec::new())))
    }

    fn families(&self, databases: &BTreeSet<String>, unread: u64) -> Vec<Family> {
        let mut every: BTreeSet<String> = databases.clone();
        every.insert(String::new());
        // Every database's series from the start (forget_dropped left no others).
        let every_pair = |desc: &Desc,
                          counts: &BTreeMap<(String, &'static str), f64>,
                          names: &[&'static str]| {
            let mut family = desc.family();
            for datname in &every {
                for name in names {
                    let value = counts
                        .get(&(datname.clone(), *name))
                        .copied()
                        .unwrap_or(0.0);
                    family.push(vec![datname.clone(), name.to_string()], value);
                }
            }
            family
        };
        let messages = every_pair(&MESSAGES, &self.messages, &SEVERITIES);
        let causes = every_pair(&CAUSE, &self.causes, &CAUSES);
        let mut classes = CLASSES.family();
        for ((datname, class), value) in &self.classes {
            classes.push(vec![datname.clone(), class.clone()], *value);
        }
        let mut last = LAST.family();
        for (severity, time) in &self.last {
            last.push(vec![severity.to_string()], *time);
        }
        vec![
            messages,
            classes,
            causes,
            last,
            READ.single(self.read),
            UNREAD.single(unread as f64),
            SKIPPED.single(self.skipped),
        ]
    }
}

fn missing(file: &str) -> CollectError {
    CollectError::Unsupported(format!("the server log {file} is missing"))
}

#[derive(Debug)]
pub struct Logs;

impl Collector for Logs {
    fn name(&self) -> &'static str {
        "logs"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn description(&self) -> &'static str {
        "New server log messages by severity, SQLSTATE class and cause (through the session, or --collector.logs.directory)"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&MESSAGES, &CLASSES, &CAUSE, &LAST, &READ, &UNREAD, &SKIPPED]
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let rows = conn.query(FILES_SQL, &[]).await?;
            let row = rows.first().ok_or_else(|| missing("(no row)"))?;
            let prefix = ctx.caches.logs().prefix(row.get(0));
            let databases: BTreeSet<String> = row.get::<_, Vec<String>>(1).into_iter().collect();
            let allowed: bool = row.get(2);
            let logged = if allowed {
                let sql = if ctx.server.version_num >= 150000 {
                    CURRENT_SQL_15
                } else {
                    CURRENT_SQL
                };
                let rows = conn.query(sql, &[]).await?;
                let files: Vec<Option<String>> = rows
                    .first()
                    .map_or(Vec::new(), |r| (0..3).map(|i| r.get(i)).collect());
                files.into_iter().flatten().next()
            } else {
                None
            };
            let options = &ctx.options;
            let (mut source, current) = match &options.logs_directory {
                Some(path) => {
                    let (dir, current) = directory_file(path, logged.as_deref()).await;
                    let current = current.ok_or_else(|| {
                        CollectError::Unsupported(format!("no log file in {}", dir.display()))
                    })?;
                    (Source::Directory(dir), current)
                }
                None => {
                    let current = logged.ok_or_else(|| CollectError::Unsupported(if allowed {
                        "the server writes no log file (logging_collector is off): read it with --collector.logs.directory".into()
                    } else {
                        "the role may not call pg_current_logfile(): GRANT EXECUTE ON FUNCTION pg_current_logfile(text) (docs/setup.md)".into()
                    }))?;
                    (Source::Session(conn), current)
                }
            };
            let mut state = ctx.caches.logs().clone();
            let unread = state
                .advance(
                    &mut source,
                    &current,
                    &prefix,
                    options.logs_max_read_bytes,
                    &databases,
                    &|progress| *ctx.caches.logs() = progress.clone(),
                )
                .await?;
            state.forget_dropped(&databases);
            let families = state.families(&databases, unread);
            *ctx.caches.logs() = state;
            Ok(families)
        })
    }
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "logs_hostile_tests.rs"]
mod hostile_tests;
