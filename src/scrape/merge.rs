//! Families put together: one collector's families from several databases
//! merged by name, and a family produced twice dropped — either would make
//! the exposition invalid. Each such case is logged once.

use super::Scraper;
use crate::metrics::{Family, Kind, Part};

impl Scraper {
    /// One collector's parts appended to `out`: final already (one run,
    /// limited and compressed as it finished, with `final_series` counted), or
    /// merged across databases and limited now. Returns the series it exports.
    pub(super) fn put_together(
        &self,
        collector: &'static str,
        collected: Vec<Vec<Part>>,
        final_series: Option<usize>,
        small: &std::collections::HashSet<super::cardinality::Table>,
        out: &mut Vec<Part>,
    ) -> usize {
        if let Some(count) = final_series.filter(|_| collected.len() == 1) {
            out.extend(collected.into_iter().flatten());
            return count;
        }
        let parts = collected
            .into_iter()
            .map(|p| p.into_iter().filter_map(Part::into_family).collect());
        let mut merged = self.merge_databases(parts.collect());
        let count = self.limit_series(collector, small, &mut merged);
        out.extend(merged.into_iter().map(Part::from));
        count
    }

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
                .retain(|sample| seen.insert(sample.values.clone()));
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

    /// Keeps one family of each name: a custom query (or a setting) named
    /// like a built-in family would otherwise make the exposition invalid.
    /// The built-in families compressed as their collectors finished always
    /// stay (the catalogue's names are unique); of the others, the first in
    /// output order does. Names count with what each family's samples are
    /// called in either format (a histogram's `_bucket`, `_sum` and
    /// `_count`; a counter's name with and without `_total`), so a gauge
    /// `x_count` beside a histogram `x` is a clash too. Each dropped name is
    /// logged once.
    pub(super) fn drop_duplicates(&self, families: &mut Vec<Part>) {
        let names_of = |part: &Part| -> Vec<String> {
            part.names()
                .into_iter()
                .flat_map(|(name, kind)| sample_names(name, kind))
                .collect()
        };
        let mut taken: std::collections::HashSet<String> = families
            .iter()
            .filter(|part| matches!(part, Part::Compressed(_)))
            .flat_map(names_of)
            .collect();
        let mut dropped = Vec::new();
        families.retain(|part| {
            if matches!(part, Part::Compressed(_)) {
                return true;
            }
            let names = names_of(part);
            if names.iter().any(|name| taken.contains(name)) {
                dropped.push(part.names()[0].0.to_string());
                return false;
            }
            taken.extend(names);
            true
        });
        let mut warned = self.warned_duplicates.lock().expect("warned lock");
        for name in dropped {
            if warned.insert(name.clone()) {
                tracing::warn!(family = %name, "two families would share a series name; only one is exported, the built-in one or else the first (rename the custom query or column)");
            }
        }
    }
}

/// The names a family's samples (and its family name) take in text format
/// 0.0.4 and in OpenMetrics.
fn sample_names(name: &str, kind: Kind) -> Vec<String> {
    let name = name.to_string();
    match kind {
        Kind::Histogram => ["", "_bucket", "_sum", "_count", "_created"]
            .iter()
            .map(|suffix| format!("{name}{suffix}"))
            .collect(),
        Kind::Counter => {
            let base = name.strip_suffix("_total").unwrap_or(&name).to_string();
            vec![format!("{base}_total"), format!("{base}_created"), base]
        }
        Kind::Gauge | Kind::Untyped => vec![name],
    }
}

#[cfg(test)]
mod tests {
    use super::sample_names;

    #[test]
    fn no_two_families_of_the_catalogue_share_a_series_name() {
        let mut taken = std::collections::HashMap::new();
        for (_, desc) in super::super::catalogue() {
            let family = desc.family();
            for name in sample_names(&family.name, family.kind) {
                if let Some(other) = taken.insert(name.clone(), desc.name) {
                    panic!("{} and {other} both take {name}", desc.name);
                }
            }
        }
    }
}
