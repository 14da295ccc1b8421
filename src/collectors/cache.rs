//! What a scrape engine remembers between collections, and nothing else does
//! (the engine owns it; collectors reach it through their context):
//! the last result of each collector with a minimum interval and of each
//! custom query with `cache_seconds` (one cache, keyed by collector, database
//! and query), the statement texts `stat_statements` has already read and
//! its previous reading of every statement, the last measured size of
//! every table and database, and where the `logs` collector stopped reading with its counts.
//! Each engine (the `/metrics` one and every `/probe` one) owns its own, so
//! nothing remembered about one server is served for another.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Family;

/// What a cached result belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The collector's name.
    pub collector: &'static str,
    /// The database it ran in.
    pub datname: String,
    /// The custom query's name; empty for a whole collector's result.
    pub query: String,
}

impl Key {
    /// The key of a whole collector's result in `datname`.
    pub fn collector(collector: &'static str, datname: &str) -> Key {
        Key {
            collector,
            datname: datname.to_string(),
            query: String::new(),
        }
    }

    /// The key of one query's result of `collector` in `datname`.
    pub fn query(collector: &'static str, datname: &str, query: &str) -> Key {
        Key {
            collector,
            datname: datname.to_string(),
            query: query.to_string(),
        }
    }
}

/// The runtime memory of one scrape engine.
#[derive(Debug, Default)]
pub struct Caches {
    results: Mutex<HashMap<Key, (Instant, Vec<Family>)>>,
    statement_texts: Mutex<HashMap<String, String>>,
    statements: Mutex<super::statement_history::History>,
    logs: Mutex<super::logs::State>,
    sizes: Mutex<HashMap<String, super::relation_sizes::Known>>,
    database_sizes: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Caches {
    /// The result stored under `key` if it is younger than `max_age`, with its age.
    pub fn fresh(&self, key: &Key, max_age: Duration) -> Option<(Duration, Vec<Family>)> {
        let results = self.results.lock().expect("cache lock");
        results
            .get(key)
            .map(|(at, families)| (at.elapsed(), families))
            .filter(|(age, _)| *age < max_age)
            .map(|(age, families)| (age, families.clone()))
    }

    /// Whether the result stored under `key` is younger than `max_age`.
    pub fn is_fresh(&self, key: &Key, max_age: Duration) -> bool {
        let results = self.results.lock().expect("cache lock");
        results
            .get(key)
            .is_some_and(|(at, _)| at.elapsed() < max_age)
    }

    /// Stores a result collected just now.
    pub fn store(&self, key: Key, families: Vec<Family>) {
        self.results
            .lock()
            .expect("cache lock")
            .insert(key, (Instant::now(), families));
    }

    /// Forgets the results and sizes of databases for which `keep` is false.
    pub fn retain_databases(&self, keep: impl Fn(&str) -> bool) {
        self.results
            .lock()
            .expect("cache lock")
            .retain(|key, _| keep(&key.datname));
        self.sizes().retain(|datname, _| keep(datname));
    }

    /// Forgets every query's result (the queries were reloaded).
    pub fn forget_queries(&self) {
        self.results
            .lock()
            .expect("cache lock")
            .retain(|key, _| key.query.is_empty());
    }

    /// Where the `logs` collector stopped reading, and its counts.
    pub fn logs(&self) -> MutexGuard<'_, super::logs::State> {
        self.logs.lock().expect("logs lock")
    }

    /// The last measured sizes of each database's tables, by database.
    pub fn sizes(&self) -> MutexGuard<'_, HashMap<String, super::relation_sizes::Known>> {
        self.sizes.lock().expect("sizes lock")
    }

    /// The last measured size of each database, by the version of its
    /// `pg_database` row (`queries/database.sql`), and when.
    pub fn database_sizes(&self) -> MutexGuard<'_, HashMap<String, (f64, Instant)>> {
        self.database_sizes.lock().expect("database sizes lock")
    }

    /// `stat_statements`' previous reading of every statement.
    pub fn statements(&self) -> MutexGuard<'_, super::statement_history::History> {
        self.statements.lock().expect("statements lock")
    }

    /// Statement texts by `queryid`, as `stat_statements` last kept them.
    pub fn statement_texts(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.statement_texts.lock().expect("texts lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(value: f64) -> Vec<Family> {
        static DESC: crate::metrics::Desc = crate::metrics::Desc::gauge("pg_x", &[], "x");
        vec![DESC.single(value)]
    }

    #[test]
    fn results_expire_and_are_forgotten_by_database_and_on_reload() {
        let caches = Caches::default();
        let whole = Key::collector("bloat", "festivals");
        let query = Key::query("custom_queries", "festivals", "q");
        let other = Key::collector("bloat", "tenant");
        caches.store(whole.clone(), family(1.0));
        caches.store(query.clone(), family(2.0));
        caches.store(other.clone(), family(3.0));
        let (age, families) = caches.fresh(&whole, Duration::from_secs(60)).unwrap();
        assert!(age < Duration::from_secs(60));
        assert_eq!(families[0].samples[0].value, 1.0);
        assert!(
            caches.fresh(&whole, Duration::ZERO).is_none(),
            "a zero interval never serves"
        );
        caches.forget_queries();
        assert!(caches.fresh(&query, Duration::from_secs(60)).is_none());
        assert!(caches.fresh(&whole, Duration::from_secs(60)).is_some());
        caches.retain_databases(|datname| datname == "festivals");
        assert!(caches.fresh(&other, Duration::from_secs(60)).is_none());
        assert!(caches.fresh(&whole, Duration::from_secs(60)).is_some());
    }
}
