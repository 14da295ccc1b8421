//! Where the `logs` collector reads the server log: through the session
//! (`pg_stat_file()`, `pg_read_binary_file()`, `pg_ls_logdir()`) or from a
//! directory beside the server. Both answer the same three questions: a
//! file's size and first bytes, some bytes of it, and the file written after
//! it. Also which file is current in a directory, and a file's format.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::log_lines::{Format, Prefix};
use super::CollectError;
use crate::db::Conn;

const STAT_SQL: &str = include_str!("../../queries/logs_stat.sql");
const READ_SQL: &str = include_str!("../../queries/logs_read.sql");
const NEXT_SQL: &str = include_str!("../../queries/logs_next.sql");

/// The first bytes of a file, remembered to notice it replaced under its name.
pub const HEAD: u64 = 64;

/// Where the files are read from.
pub enum Source<'a> {
    Session(&'a mut Conn),
    Directory(PathBuf),
}

impl Source<'_> {
    /// A file's size and first bytes; `None` when it is missing.
    pub async fn stat(&mut self, file: &str) -> Result<Option<(u64, Vec<u8>)>, CollectError> {
        match self {
            Source::Session(conn) => {
                let row = conn.query(STAT_SQL, &[&file, &(HEAD as i64)]).await?;
                let size: Option<i64> = row.first().and_then(|r| r.get(0));
                let head: Option<Vec<u8>> = row.first().and_then(|r| r.get(1));
                Ok(size.map(|size| (size.max(0) as u64, head.unwrap_or_default())))
            }
            Source::Directory(dir) => {
                let path = dir.join(file);
                let Ok(meta) = tokio::fs::metadata(&path).await else {
                    return Ok(None);
                };
                let head = read_file(&path, 0, HEAD)
                    .await
                    .map_err(|e| io_error(&path, e))?;
                Ok(Some((meta.len(), head)))
            }
        }
    }

    /// The file of `file`'s format written next after it (the first one
    /// modified after `file` last was, names breaking ties), if any: what a reader that fell
    /// behind by more than one rotation reads next.
    pub async fn next_after(&mut self, file: &str) -> Result<Option<String>, CollectError> {
        let path = Path::new(file);
        let (Some(name), Some(extension)) = (path.file_name(), path.extension()) else {
            return Ok(None);
        };
        let name = name.to_string_lossy().into_owned();
        let suffix = format!(".{}", extension.to_string_lossy());
        let next: Option<String> = match self {
            Source::Session(conn) => {
                let rows = conn
                    .query(NEXT_SQL, &[&name, &format!("%{suffix}")])
                    .await?;
                rows.first().map(|r| r.get(0))
            }
            Source::Directory(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
                    let done = modified(&dir.join(&name))?;
                    std::fs::read_dir(&dir)
                        .ok()?
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| n.ends_with(&suffix))
                        .filter_map(|n| Some((modified(&dir.join(&n))?, n)))
                        .filter(|(m, n)| (*m, n.as_str()) > (done, name.as_str()))
                        .min()
                        .map(|(_, n)| n)
                })
                .await
                .ok()
                .flatten()
            }
        };
        Ok(next.map(|n| match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => {
                parent.join(n).to_string_lossy().into_owned()
            }
            _ => n,
        }))
    }

    pub async fn read(
        &mut self,
        file: &str,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, CollectError> {
        match self {
            Source::Session(conn) => {
                let rows = conn
                    .query(READ_SQL, &[&file, &(offset as i64), &(len as i64)])
                    .await?;
                Ok(rows.first().and_then(|r| r.get(0)).unwrap_or_default())
            }
            Source::Directory(dir) => {
                let path = dir.join(file);
                read_file(&path, offset, len)
                    .await
                    .map_err(|e| io_error(&path, e))
            }
        }
    }
}

async fn read_file(path: &Path, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut buf = Vec::new();
    file.take(len).read_to_end(&mut buf).await?;
    Ok(buf)
}

fn io_error(path: &Path, error: std::io::Error) -> CollectError {
    CollectError::Unsupported(format!("cannot read {}: {error}", path.display()))
}

/// The newest regular file in `dir`: the server's log when it runs without
/// `logging_collector`, or when the role may not ask `pg_current_logfile()`.
/// Of files written in the same instant (a rotation opens one per format),
/// csvlog, then jsonlog, then the rest.
pub fn newest_file(dir: &Path) -> Option<String> {
    let rank = |name: &str| match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("csv") => 2,
        Some("json") => 1,
        _ => 0,
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            let name = entry.file_name().to_string_lossy().into_owned();
            meta.is_file()
                .then(|| (meta.modified().ok(), rank(&name), name))
        })
        .max()
        .map(|(_, _, name)| name)
}

/// A file's format from its name (csvlog files end in `.csv`, jsonlog in `.json`).
pub fn format_of(file: &str, prefix: &Arc<Prefix>) -> Format {
    if file.ends_with(".csv") {
        Format::Csv
    } else if file.ends_with(".json") {
        Format::Json
    } else {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if prefix.client_chosen && !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(file, "the server log is read in the stderr format, whose log_line_prefix holds values a client chooses (%a, %u or %d): a client can make its line look like another severity or cause; log_destination = 'csvlog' (or 'jsonlog') is read unambiguously");
        }
        Format::Stderr(prefix.clone())
    }
}

/// The directory and current file for `--collector.logs.directory PATH`:
/// PATH itself when it is a file (one server's log in a directory several
/// share, as Debian's `/var/log/postgresql`); else the file the server names;
/// else (no logging collector, or no right to ask) the newest file there.
pub async fn directory_file(path: &Path, logged: Option<&str>) -> (PathBuf, Option<String>) {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    if path.is_file() {
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        return (dir, name(path));
    }
    let dir = path.to_path_buf();
    if let Some(file) = logged.and_then(|f| name(Path::new(f))) {
        return (dir, Some(file));
    }
    let newest = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || newest_file(&dir))
            .await
            .ok()
            .flatten()
    };
    (dir, newest)
}
