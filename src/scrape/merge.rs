//! Families put together: one collector's families from several databases
//! merged by name, and a family produced twice dropped — either would make
//! the exposition invalid. Each such case is logged once.

use std::sync::Arc;

use super::Scraper;
use crate::metrics::Family;

impl Scraper {
    /// One collector's families from each database it ran in, merged by
    /// name. Series repeated across databases (a custom query without a
    /// `datname` label, say) would make the exposition invalid: the first is
    /// kept and the family named in the log, once.
    pub(super) fn merge_databases(&self, parts: Vec<Vec<Family>>) -> Vec<Family> {
        let mut parts = parts.into_iter();
        let Some(mut merged) = parts.next() else {
            return Vec::new();
        };
        let mut extended = std::collections::HashSet::new();
        for part in parts {
            for family in part {
                match merged.iter_mut().position(|f| f.name == family.name) {
                    Some(at) => {
                        if !family.samples.is_empty() {
                            extended.insert(at);
                        }
                        merged[at].samples.extend(family.samples);
                    }
                    None => merged.push(family),
                }
            }
        }
        for at in extended {
            let family = &mut merged[at];
            let mut seen = std::collections::HashSet::with_capacity(family.samples.len());
            let before = family.samples.len();
            family
                .samples
                .retain(|sample| seen.insert(Arc::clone(&sample.values)));
            if family.samples.len() < before
                && self
                    .warned_repeats
                    .lock()
                    .expect("warned lock")
                    .insert(family.name.to_string())
            {
                tracing::warn!(family = %family.name, "the same series came from more than one database; only the first is exported (give the query a datname label: current_database() AS datname)");
            }
        }
        merged
    }

    /// Keeps the first family of each name: a custom query named like a
    /// built-in family would otherwise make the exposition invalid. Each
    /// dropped name is logged once.
    pub(super) fn drop_duplicates(&self, families: &mut Vec<Family>) {
        let mut seen = std::collections::HashSet::new();
        let mut dropped = Vec::new();
        families.retain(|family| {
            if family.samples.is_empty() || seen.insert(family.name.clone()) {
                return true;
            }
            dropped.push(family.name.to_string());
            false
        });
        let mut warned = self.warned_duplicates.lock().expect("warned lock");
        for name in dropped {
            if warned.insert(name.clone()) {
                tracing::warn!(family = %name, "two collectors produce this family; only the first is exported (rename the custom query)");
            }
        }
    }
}
