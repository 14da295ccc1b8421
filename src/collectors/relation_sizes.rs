//! What `sizes` remembers between collections: the last measured size of
//! every user table and its indexes, with the signature the table had then
//! (`queries/sizes_tables.sql`: file node, names, write and maintenance counts).
//! A table is measured again when its signature changes, while a transaction
//! holds a lock stronger than ROW SHARE on it and once more after that, after
//! an ACCESS EXCLUSIVE lock on it (VACUUM FULL, REINDEX), when any index of
//! the database changes (`queries/sizes_indexes.sql`: all tables then), on
//! every scrape of a standby (replayed writes show in no statistics) or of a
//! server with `track_counts` off (no write does), and
//! at least every [`REMEASURE_AFTER`] to twice that (spread by table, so the
//! tables of a database do not all come due in one scrape); every other
//! scrape serves the size it had, which the files still have.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio::time::Instant;

/// Least time after which an unchanged table is measured again anyway; each
/// table's own period lies between this and twice this. Every way a table's
/// files change that the exporter knows of shows in its signature, its locks
/// or the indexes' signature, so this only bounds what none of them shows
/// (a maintenance function such as `gin_clean_pending_list()` that rewrites
/// pages without counting a write): measuring all tables of a large database
/// costs the server more than a whole scrape, and here it is spread over
/// half an hour to an hour.
pub const REMEASURE_AFTER: Duration = Duration::from_secs(1800);

/// A table as the per-scrape query describes it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub relid: u32,
    pub schemaname: String,
    pub relname: String,
    /// Under an ACCESS EXCLUSIVE lock, held or awaited: not measured, not reported.
    pub exclusive: bool,
    /// A transaction holds or awaits a lock that writes.
    pub written: bool,
    pub signature: u64,
}

impl Seen {
    /// The signature of a table's file node, write and maintenance counts, and
    /// the names it is reported under.
    pub fn signature(counts: [i64; 3], schemaname: &str, relname: &str) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (counts, schemaname, relname).hash(&mut hasher);
        hasher.finish()
    }
}

/// One table's sizes as last measured, in bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub table: f64,
    pub index: f64,
    pub toast: f64,
    /// Each index's name and size, in the order they are reported.
    pub indexes: Vec<(String, f64)>,
}

impl Measured {
    /// Takes `new`'s sizes, keeping the index names it has when they are the same.
    fn assign(&mut self, new: Measured) {
        self.table = new.table;
        self.index = new.index;
        self.toast = new.toast;
        let same_names = self.indexes.len() == new.indexes.len()
            && self
                .indexes
                .iter()
                .zip(&new.indexes)
                .all(|(a, b)| a.0 == b.0);
        if same_names {
            for (kept, (_, size)) in self.indexes.iter_mut().zip(new.indexes) {
                kept.1 = size;
            }
        } else {
            self.indexes = new.indexes;
        }
    }
}

#[derive(Debug)]
struct Entry {
    signature: u64,
    at: Instant,
    /// Being written when measured: measured again next time.
    written: bool,
    sizes: Measured,
}

/// The sizes of one database's tables.
#[derive(Debug, Default)]
pub struct Known {
    tables: HashMap<u32, Entry>,
    /// The indexes' signature when they were measured.
    indexes: Option<[i64; 3]>,
}

impl Known {
    /// Forgets every table's sizes when the database's indexes changed.
    pub fn indexes(&mut self, signature: [i64; 3]) {
        if self.indexes != Some(signature) {
            self.forget();
            self.indexes = Some(signature);
        }
    }

    /// Forgets every table's sizes: all are measured next.
    pub fn forget(&mut self) {
        self.tables.clear();
    }

    /// The tables of `seen` to measure now: not measured yet, changed,
    /// being written or due; never one under an exclusive lock.
    pub fn due(&self, seen: &[Seen], now: Instant) -> Vec<u32> {
        seen.iter()
            .filter(|table| !table.exclusive)
            .filter(|table| match self.tables.get(&table.relid) {
                None => true,
                Some(entry) => {
                    table.written
                        || entry.written
                        || entry.signature != table.signature
                        || now.saturating_duration_since(entry.at) >= period(table.relid)
                }
            })
            .map(|table| table.relid)
            .collect()
    }

    /// Records what was measured at `now` (a table of `seen` that the
    /// measurement left out keeps what it had) and forgets the tables that
    /// are gone or under an exclusive lock (measured again after it).
    pub fn update(&mut self, seen: &[Seen], measured: Vec<(u32, Measured)>, now: Instant) {
        let current: HashMap<u32, &Seen> = seen.iter().map(|t| (t.relid, t)).collect();
        self.tables
            .retain(|relid, _| current.get(relid).is_some_and(|t| !t.exclusive));
        for (relid, sizes) in measured {
            let Some(table) = current.get(&relid) else {
                continue;
            };
            match self.tables.get_mut(&relid) {
                // In place: a table measured again keeps its memory where it
                // is, so that the tables coming due one by one over minutes
                // do not scatter their sizes all over the heap.
                Some(entry) => {
                    entry.signature = table.signature;
                    entry.at = now;
                    entry.written = table.written;
                    entry.sizes.assign(sizes);
                }
                None => {
                    let entry = Entry {
                        signature: table.signature,
                        at: now,
                        written: table.written,
                        sizes,
                    };
                    self.tables.insert(relid, entry);
                }
            }
        }
    }

    /// What to report for `table`: its last measurement, unless it is under
    /// an exclusive lock now.
    pub fn report(&self, table: &Seen) -> Option<&Measured> {
        if table.exclusive {
            return None;
        }
        self.tables.get(&table.relid).map(|entry| &entry.sizes)
    }
}

/// A table's own re-measuring period: [`REMEASURE_AFTER`] plus up to as much
/// again, fixed by its oid.
fn period(relid: u32) -> Duration {
    REMEASURE_AFTER
        + REMEASURE_AFTER.mul_f64(f64::from(relid.wrapping_mul(2_654_435_761) >> 16) / 65_536.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(relid: u32, signature: u64) -> Seen {
        Seen {
            relid,
            schemaname: "public".into(),
            relname: format!("t{relid}"),
            exclusive: false,
            written: false,
            signature,
        }
    }

    fn sizes(table: f64) -> Measured {
        Measured {
            table,
            index: 8192.0,
            toast: 0.0,
            indexes: vec![("pkey".to_string(), 8192.0)],
        }
    }

    #[test]
    fn measured_again_takes_every_new_size_and_name() {
        let mut kept = sizes(1.0);
        let mut next = sizes(2.0);
        next.index = 16384.0;
        next.toast = 8192.0;
        next.indexes[0].1 = 16384.0;
        kept.assign(next.clone());
        assert_eq!(kept, next);
        for indexes in [
            vec![("pkey_renamed".to_string(), 1.0)],
            vec![("pkey".to_string(), 1.0), ("by_day".to_string(), 2.0)],
            Vec::new(),
        ] {
            let next = Measured {
                indexes,
                ..sizes(3.0)
            };
            kept.assign(next.clone());
            assert_eq!(kept, next);
        }
    }

    #[test]
    fn only_new_changed_written_or_due_tables_are_measured() {
        let start = Instant::now();
        let mut known = Known::default();
        let mut tables = vec![seen(1, 10), seen(2, 20), seen(3, 30)];
        assert_eq!(known.due(&tables, start), [1, 2, 3]);
        known.update(
            &tables,
            vec![(1, sizes(1.0)), (2, sizes(2.0)), (3, sizes(3.0))],
            start,
        );
        assert!(known
            .due(&tables, start + Duration::from_secs(1))
            .is_empty());

        tables[0].signature = 11;
        tables[1].written = true;
        tables[2].exclusive = true;
        let now = start + Duration::from_secs(2);
        assert_eq!(known.due(&tables, now), [1, 2]);
        assert_eq!(known.report(&tables[2]), None, "exclusive: left out");
        known.update(&tables, vec![(1, sizes(1.5)), (2, sizes(2.5))], now);
        assert_eq!(known.report(&tables[0]), Some(&sizes(1.5)));
        assert_eq!(known.report(&tables[2]), None);
        // The lock is gone: the table after VACUUM FULL, and the one written
        // until now once more (its last writes may have come after the measurement).
        tables[2].exclusive = false;
        tables[1].written = false;
        let later = now + Duration::from_secs(1);
        assert_eq!(known.due(&tables, later), [2, 3]);
        known.update(&tables, vec![(2, sizes(2.6)), (3, sizes(0.5))], later);
        assert!(known
            .due(&tables, later + Duration::from_secs(1))
            .is_empty());
        assert_eq!(known.report(&tables[2]), Some(&sizes(0.5)));
    }

    #[test]
    fn a_change_of_the_indexes_measures_every_table_again() {
        let start = Instant::now();
        let mut known = Known::default();
        let tables = vec![seen(1, 10), seen(2, 20)];
        known.indexes([2, 100, 7]);
        known.update(&tables, vec![(1, sizes(1.0)), (2, sizes(2.0))], start);
        known.indexes([2, 100, 7]);
        assert!(known.due(&tables, start).is_empty());
        known.indexes([2, 101, 7]);
        assert_eq!(known.due(&tables, start), [1, 2]);
    }

    #[test]
    fn unchanged_tables_come_due_spread_between_one_and_two_periods() {
        let start = Instant::now();
        let mut known = Known::default();
        let tables: Vec<Seen> = (16_384..16_384 + 1_000)
            .map(|relid| seen(relid, 1))
            .collect();
        let all: Vec<(u32, Measured)> = tables.iter().map(|t| (t.relid, sizes(1.0))).collect();
        known.update(&tables, all, start);
        assert!(known
            .due(&tables, start + REMEASURE_AFTER - Duration::from_secs(1))
            .is_empty());
        // At each fifth of the second period.
        let mut due_by_fifth = Vec::new();
        for fifth in 5..=10 {
            due_by_fifth.push(
                known
                    .due(&tables, start + REMEASURE_AFTER * fifth / 5)
                    .len(),
            );
        }
        assert_eq!(
            *due_by_fifth.last().unwrap(),
            1_000,
            "all due after two periods"
        );
        // Spread: every fifth of the second period brings roughly a fifth.
        for pair in due_by_fifth.windows(2) {
            let more = pair[1] - pair[0];
            assert!((120..=280).contains(&more), "{due_by_fifth:?}");
        }
    }

    #[test]
    fn dropped_tables_are_forgotten_and_a_left_out_measurement_keeps_the_old_one() {
        let start = Instant::now();
        let mut known = Known::default();
        let tables = vec![seen(1, 1), seen(2, 2)];
        known.update(&tables, vec![(1, sizes(1.0)), (2, sizes(2.0))], start);
        let changed = vec![seen(1, 5)];
        // Measured nothing (the table was locked between the two queries):
        // the old sizes are served until it is measured.
        known.update(&changed, Vec::new(), start);
        assert_eq!(known.report(&changed[0]), Some(&sizes(1.0)));
        assert_eq!(known.due(&changed, start), [1], "still due next time");
        assert_eq!(known.tables.len(), 1, "table 2 is gone");
        // A measurement of a table the scrape did not see is not kept.
        known.update(&changed, vec![(9, sizes(9.0))], start);
        assert!(!known.tables.contains_key(&9));
    }
}
