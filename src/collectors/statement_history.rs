//! Which statements `stat_statements` exports: the top N by total time since
//! the last reset, and the statements slow *now*: the most execution time
//! since the previous collection, and the highest mean time of the calls made
//! since then. A statement chosen for its recent time stays chosen for a hold
//! time after it stops running, so its series do not come and go. The
//! previous reading of every statement is kept (as many as the view holds);
//! a total that went down (`pg_stat_statements_reset()`, or one nesting level
//! of a statement evicted) is the next reading's baseline, never a change,
//! and a statement new since the last reading counts all its time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// A statement: user, database, queryid.
pub type Key = (String, String, String);

/// A statement's totals in one reading.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    pub key: Key,
    pub seconds: f64,
    pub calls: f64,
}

/// What the last collection read, and which statements are held.
#[derive(Debug, Default)]
pub struct History {
    readings: HashMap<Key, (f64, f64)>,
    /// Statements chosen for their recent time, with when they last were.
    held: HashMap<Key, Instant>,
    read_before: bool,
}

/// How many statements, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Top statements by total time.
    pub total: usize,
    /// Statements by time since the previous collection (a quarter as many
    /// again by mean time of those calls).
    pub recent: usize,
    pub hold: Duration,
}

impl History {
    /// The statements to export, as indices into `now_read` (which is
    /// ordered by total time, descending), leaving out those `own` says.
    /// Changes nothing: [`History::remember`] does.
    pub fn choose(
        &self,
        now_read: &[Totals],
        own: impl Fn(usize) -> bool,
        limits: Limits,
        at: Instant,
    ) -> Vec<usize> {
        let mut chosen: Vec<usize> = (0..now_read.len())
            .filter(|&i| !own(i))
            .take(limits.total)
            .collect();
        if self.read_before && limits.recent > 0 {
            let mut moved: Vec<(usize, f64, f64)> = now_read
                .iter()
                .enumerate()
                .filter(|(i, _)| !own(*i))
                .filter_map(|(i, t)| {
                    let (seconds, calls) = self.change(t);
                    (seconds > 0.0)
                        .then(|| (i, seconds, if calls > 0.0 { seconds / calls } else { 0.0 }))
                })
                .collect();
            moved.sort_by(|a, b| b.1.total_cmp(&a.1));
            chosen.extend(moved.iter().take(limits.recent).map(|m| m.0));
            moved.sort_by(|a, b| b.2.total_cmp(&a.2));
            chosen.extend(moved.iter().take(limits.recent.div_ceil(4)).map(|m| m.0));
        }
        for (i, totals) in now_read.iter().enumerate() {
            let held = self.held.get(&totals.key);
            if held.is_some_and(|since| at.duration_since(*since) < limits.hold) && !own(i) {
                chosen.push(i);
            }
        }
        chosen.sort_unstable();
        chosen.dedup();
        chosen
    }

    /// A statement's time and calls since the previous reading: all of them
    /// when it is new (created, or evicted and created again, since), none
    /// when a total went down. A reset lowers every total, but so does the
    /// eviction of one of a statement's nesting levels (the rows added up
    /// here), which says nothing about what ran: the lower totals are the
    /// next reading's baseline, never a change.
    fn change(&self, totals: &Totals) -> (f64, f64) {
        match self.readings.get(&totals.key) {
            Some(&(seconds, calls)) if totals.seconds >= seconds && totals.calls >= calls => {
                (totals.seconds - seconds, totals.calls - calls)
            }
            Some(_) => (0.0, 0.0),
            None => (totals.seconds, totals.calls),
        }
    }

    /// Keeps this reading for the next collection and holds the statements
    /// `chosen` (by [`History::choose`]) that moved, the top ones by total
    /// too (one that drops out of the top N stays a while), at most
    /// `2 × (total + recent)` statements, the latest kept.
    pub fn remember(
        &mut self,
        now_read: Vec<Totals>,
        chosen: &[usize],
        limits: Limits,
        at: Instant,
    ) {
        if self.read_before {
            for &i in chosen {
                if self.change(&now_read[i]).0 > 0.0 {
                    self.held.insert(now_read[i].key.clone(), at);
                }
            }
        }
        self.held
            .retain(|_, since| at.duration_since(*since) < limits.hold);
        let most = 2 * (limits.total + limits.recent);
        if self.held.len() > most {
            let mut by_age: Vec<(Key, Instant)> = self.held.drain().collect();
            by_age.sort_by(|a, b| b.1.cmp(&a.1));
            self.held = by_age.into_iter().take(most).collect();
        }
        self.readings = now_read
            .into_iter()
            .map(|t| (t.key, (t.seconds, t.calls)))
            .collect();
        self.read_before = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(id: &str, seconds: f64, calls: f64) -> Totals {
        Totals {
            key: ("app".into(), "festivals".into(), id.into()),
            seconds,
            calls,
        }
    }

    const LIMITS: Limits = Limits {
        total: 1,
        recent: 1,
        hold: Duration::from_secs(60),
    };

    /// One collection: what is chosen, as queryids.
    fn collect(history: &mut History, read: Vec<Totals>, at: Instant) -> Vec<String> {
        let chosen = history.choose(&read, |_| false, LIMITS, at);
        let ids = chosen.iter().map(|&i| read[i].key.2.clone()).collect();
        history.remember(read, &chosen, LIMITS, at);
        ids
    }

    #[test]
    fn a_statement_slow_now_is_chosen_and_held_then_let_go() {
        let mut history = History::default();
        let t0 = Instant::now();
        let second = |n| t0 + Duration::from_secs(n);
        // The first reading has nothing to compare with: top by total only.
        let old = |s| totals("old-heavy", s, 1000.0);
        assert_eq!(
            collect(&mut history, vec![old(500.0), totals("new", 1.0, 1.0)], t0),
            ["old-heavy"]
        );
        // The new statement ran 30 s since; the heavy one 1 s.
        let read = vec![
            old(501.0),
            totals("new", 31.0, 4.0),
            totals("idle", 0.5, 1.0),
        ];
        assert_eq!(
            collect(&mut history, read, second(10)),
            ["old-heavy", "new"]
        );
        // It stops: held for the hold time, not longer.
        let read = || {
            vec![
                old(502.0),
                totals("new", 31.0, 4.0),
                totals("idle", 0.5, 1.0),
            ]
        };
        assert_eq!(
            collect(&mut history, read(), second(40)),
            ["old-heavy", "new"]
        );
        assert_eq!(
            collect(&mut history, read(), second(69)),
            ["old-heavy", "new"]
        );
        assert_eq!(collect(&mut history, read(), second(71)), ["old-heavy"]);
    }

    #[test]
    fn lower_totals_are_a_baseline_and_new_statements_count_whole() {
        let mut history = History::default();
        let t0 = Instant::now();
        let limits = Limits { total: 0, ..LIMITS };
        let read = vec![totals("a", 100.0, 10.0), totals("b", 50.0, 10.0)];
        history.remember(read, &[], limits, t0);
        // A reset (or a nesting level evicted): lower totals choose nothing;
        // a statement created since counts all its time.
        let read = vec![
            totals("a", 2.0, 1.0),
            totals("b", 49.0, 10.0),
            totals("c", 0.5, 1.0),
        ];
        assert_eq!(history.change(&read[1]), (0.0, 0.0), "not 49 - 50, not 49");
        let chosen = history.choose(&read, |_| false, limits, t0);
        assert_eq!(chosen, [2]);
        history.remember(read, &chosen, limits, t0);
        // From the new baseline: b ran 5 s.
        let read = vec![
            totals("a", 2.0, 1.0),
            totals("b", 54.0, 11.0),
            totals("c", 0.5, 1.0),
        ];
        assert_eq!(history.change(&read[1]), (5.0, 1.0));
        assert!(history.choose(&read, |_| false, limits, t0).contains(&1));
    }

    #[test]
    fn recent_mean_time_chooses_a_rare_slow_call() {
        let mut history = History::default();
        let t0 = Instant::now();
        let limits = Limits {
            total: 1,
            recent: 1,
            hold: Duration::ZERO,
        };
        let read = vec![
            totals("heavy", 100.0, 10.0),
            totals("busy", 10.0, 1000.0),
            totals("rare", 1.0, 1.0),
        ];
        history.remember(read, &[], limits, t0);
        // busy: 9 s in 900 calls; rare: 2 s in one call.
        let read = vec![
            totals("heavy", 100.0, 10.0),
            totals("busy", 19.0, 1900.0),
            totals("rare", 3.0, 2.0),
        ];
        assert_eq!(history.choose(&read, |_| false, limits, t0), [0, 1, 2]);
        assert_eq!(
            history.choose(&read, |i| i == 2, limits, t0),
            [0, 1],
            "own statements never"
        );
    }

    #[test]
    fn held_statements_are_bounded() {
        let mut history = History::default();
        let t0 = Instant::now();
        let read: Vec<Totals> = (0..50).map(|i| totals(&i.to_string(), 0.0, 0.0)).collect();
        history.remember(read, &[], LIMITS, t0);
        let read: Vec<Totals> = (0..50)
            .map(|i| totals(&i.to_string(), 1.0 + i as f64, 1.0))
            .collect();
        let every: Vec<usize> = (0..50).collect();
        history.remember(read, &every, LIMITS, t0);
        assert_eq!(history.held.len(), 4);
    }
}
