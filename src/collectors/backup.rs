//! `backup` (off by default): the guide's "Regular Backups" and "Monthly backup
//! verification" seen from the files. For each `--collector.backup.path` glob
//! (e.g. `/backups/festivals/backup_*.dump`), the newest matching file's
//! modification time and size, and how many files match, so "no backup in 26
//! hours" is an alert. No match gives a timestamp of 0, which such an alert
//! catches too. Reads file metadata only; it never touches the database.

use std::time::UNIX_EPOCH;

use futures::future::BoxFuture;

use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family};

const PATH: &[&str] = &["path"];

static LAST_SUCCESS: Desc = Desc::gauge(
    "pg_backup_last_success_timestamp_seconds",
    PATH,
    "Modification time of the newest file matching the backup glob, Unix seconds; 0 when none matches.",
);
static LAST_SIZE: Desc = Desc::gauge(
    "pg_backup_last_size_bytes",
    PATH,
    "Size of the newest file matching the backup glob, in bytes.",
);
static FILES: Desc = Desc::gauge(
    "pg_backup_files",
    PATH,
    "Number of files matching the backup glob.",
);

#[derive(Debug)]
pub struct Backup;

/// The newest regular file matching `pattern`: (mtime seconds, size), and the number of files.
fn newest(pattern: &str) -> (Option<(f64, f64)>, usize) {
    let mut best: Option<(f64, f64)> = None;
    let mut count = 0;
    let Ok(paths) = glob::glob(pattern) else {
        return (None, 0);
    };
    for path in paths.flatten() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        count += 1;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0.0, |d| d.as_secs_f64());
        if best.is_none_or(|(t, _)| mtime > t) {
            best = Some((mtime, meta.len() as f64));
        }
    }
    (best, count)
}

impl Collector for Backup {
    fn name(&self) -> &'static str {
        "backup"
    }

    fn enabled_by_default(&self) -> bool {
        false
    }

    fn description(&self) -> &'static str {
        "Age and size of the newest backup file per --collector.backup.path glob"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&LAST_SUCCESS, &LAST_SIZE, &FILES]
    }

    fn collect<'a>(
        &'a self,
        _conn: &'a mut Conn,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move {
            let patterns = ctx.options.backup_paths.clone();
            let found = tokio::task::spawn_blocking(move || {
                patterns
                    .iter()
                    .map(|p| (p.clone(), newest(p)))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
            let (mut last, mut size, mut files) =
                (LAST_SUCCESS.family(), LAST_SIZE.family(), FILES.family());
            for (pattern, (newest, count)) in found {
                files.push(vec![pattern.clone()], count as f64);
                match newest {
                    Some((mtime, bytes)) => {
                        last.push(vec![pattern.clone()], mtime);
                        size.push(vec![pattern], bytes);
                    }
                    None => last.push(vec![pattern], 0.0),
                }
            }
            Ok(vec![last, size, files])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_file_of_a_pattern_with_its_size_and_the_count() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: usize, age_seconds: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, vec![0u8; bytes]).unwrap();
            let at = std::time::SystemTime::now() - std::time::Duration::from_secs(age_seconds);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(at)
                .unwrap();
            at.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
        };
        write("base-1.tar", 10, 7200);
        let newest_at = write("base-2.tar", 25, 60);
        write("notes.txt", 99, 0);
        std::fs::create_dir(dir.path().join("base-3.tar")).unwrap();
        let pattern = format!("{}/base-*.tar", dir.path().display());
        let (best, count) = newest(&pattern);
        let (mtime, size) = best.unwrap();
        assert_eq!(count, 2, "directories and other names do not count");
        assert_eq!(size, 25.0);
        assert!((mtime - newest_at).abs() < 1.0, "{mtime} vs {newest_at}");
        assert_eq!(
            newest(&format!("{}/none-*", dir.path().display())),
            (None, 0)
        );
    }
}
