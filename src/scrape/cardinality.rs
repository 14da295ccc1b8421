//! The operator's control over how many series a scrape exports:
//! `--collector.tables.include`/`exclude`/`min-size` keep the per-table,
//! per-partition and per-index series of the tables that matter, and
//! `--collector.max-series` caps what one collector exports, with one warning
//! naming what was dropped (again only when that changes). Each collector's
//! count is `pg_scrape_collector_series`.

use std::collections::HashSet;

use super::Scraper;
use crate::collectors::TableFilter;
use crate::metrics::{Family, Kind};

impl Scraper {
    /// A collector's families after the table filter and its series cap;
    /// returns how many series it exports. A cap that cuts is logged when what
    /// it cuts changes.
    pub(super) fn limit_series(
        &self,
        collector: &'static str,
        small: &HashSet<Table>,
        families: &mut [Family],
    ) -> usize {
        filter_tables(&self.options.tables, small, families);
        let limit = self.options.max_series.get(collector).copied();
        let (exported, dropped) = cap(families, limit);
        let cut = dropped
            .as_ref()
            .map(|(_, names)| names.clone())
            .unwrap_or_default();
        let mut capped = self.capped.lock().expect("capped lock");
        if capped.get(collector).cloned().unwrap_or_default() != cut {
            if let Some((count, names)) = &dropped {
                tracing::warn!(
                    collector,
                    exported,
                    dropped = count,
                    families = %names.join(","),
                    "collector exceeds --collector.max-series; series dropped (narrow it with --collector.tables.include, --collector.tables.exclude or --collector.tables.min-size)"
                );
            }
            capped.insert(collector, cut);
        }
        exported
    }
}

/// The family whose values tell each table's total size.
const TABLE_SIZE: &str = "pg_stat_user_tables_total_size_bytes";
/// Each partition's size (a partition is a table too).
const PARTITION_SIZE: &str = "pg_partition_size_bytes";

/// A table: database (empty when the family has no `datname`), schema, name.
pub(super) type Table = (String, String, String);

/// Where a family's table is named: the positions of `datname`, `schemaname`
/// and the relation (`relname`, else `partition`), or `None` for a family
/// that is not per table.
fn table_columns(family: &Family) -> Option<(Option<usize>, usize, usize)> {
    let at = |name: &str| family.labels.iter().position(|l| *l == name);
    let schema = at("schemaname")?;
    let relation = at("relname").or_else(|| at("partition"))?;
    Some((at("datname"), schema, relation))
}

fn table_of(
    values: &crate::metrics::Labels,
    (datname, schema, relation): (Option<usize>, usize, usize),
) -> Table {
    (
        datname.map(|at| values[at].to_string()).unwrap_or_default(),
        values[schema].to_string(),
        values[relation].to_string(),
    )
}

/// The tables below `--collector.tables.min-size`, read off the size
/// families of this collection (the `sizes` and `partitions` collectors'):
/// a table whose size is not known keeps its series.
pub(super) fn small_tables<'a>(
    filter: &TableFilter,
    families: impl Iterator<Item = &'a Family>,
) -> HashSet<Table> {
    let mut small = HashSet::new();
    if filter.min_size <= 0.0 {
        return small;
    }
    for family in families.filter(|f| f.name == TABLE_SIZE || f.name == PARTITION_SIZE) {
        let Some(columns) = table_columns(family) else {
            continue;
        };
        for sample in family.samples.iter().filter(|s| s.value < filter.min_size) {
            let table = table_of(&sample.values, columns);
            // Families without `datname` (statio_user_indexes) look tables up without it.
            small.insert((String::new(), table.1.clone(), table.2.clone()));
            small.insert(table);
        }
    }
    small
}

/// Drops the per-table series of the tables the filter leaves out.
pub(super) fn filter_tables(filter: &TableFilter, small: &HashSet<Table>, families: &mut [Family]) {
    if filter.keeps_all() {
        return;
    }
    for family in families.iter_mut() {
        let Some(columns) = table_columns(family) else {
            continue;
        };
        family.samples.retain(|sample| {
            let table = table_of(&sample.values, columns);
            filter.keeps_name(&table.1, &table.2) && !small.contains(&table)
        });
    }
}

/// How many series a family's samples make (a histogram's buckets, sum and count).
fn series_of(family: &Family) -> usize {
    family
        .samples
        .iter()
        .map(|s| sample_series(family, s))
        .sum()
}

/// How many series one sample makes: 1, or a histogram's buckets, sum and count.
fn sample_series(family: &Family, sample: &crate::metrics::Sample) -> usize {
    match (sample.buckets(), family.kind) {
        (Some(b), Kind::Histogram) => b.buckets.len() + 2,
        _ => 1,
    }
}

/// Keeps at most `limit` series, families in order; returns the series
/// exported and, when some were dropped, how many and from which families.
pub(super) fn cap(
    families: &mut [Family],
    limit: Option<usize>,
) -> (usize, Option<(usize, Vec<String>)>) {
    let total: usize = families.iter().map(series_of).sum();
    let Some(limit) = limit.filter(|limit| total > *limit) else {
        return (total, None);
    };
    let mut left = limit;
    let mut cut = Vec::new();
    for family in families.iter_mut() {
        let before = family.samples.len();
        let mut kept = 0;
        for sample in &family.samples {
            let series = sample_series(family, sample);
            if series > left {
                left = 0;
                break;
            }
            left -= series;
            kept += 1;
        }
        family.samples.truncate(kept);
        if kept < before {
            cut.push(family.name.to_string());
        }
    }
    let exported: usize = families.iter().map(series_of).sum();
    (exported, Some((total - exported, cut)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Desc;

    fn tables(names: &[(&str, &str, f64)]) -> Family {
        static D: Desc = Desc::gauge(TABLE_SIZE, &["datname", "schemaname", "relname"], "Size.");
        let mut family = D.family();
        for (schema, relation, size) in names {
            family.push(
                vec!["db".into(), schema.to_string(), relation.to_string()],
                *size,
            );
        }
        family
    }

    fn names(family: &Family) -> Vec<String> {
        family
            .samples
            .iter()
            .map(|s| format!("{}.{}", &s.values[1], &s.values[2]))
            .collect()
    }

    #[test]
    fn patterns_and_sizes_choose_the_tables() {
        let all = [
            ("public", "orders", 5e6),
            ("public", "events_2026_01", 10.0),
            ("audit", "log", 5e6),
        ];
        let filter = TableFilter {
            include: Some(regex::Regex::new("^(?:public\\..*)$").unwrap()),
            exclude: Some(regex::Regex::new("^(?:.*\\.events_\\d+_\\d+)$").unwrap()),
            min_size: 0.0,
        };
        let mut families = vec![tables(&all)];
        filter_tables(
            &filter,
            &small_tables(&filter, families.iter()),
            &mut families,
        );
        assert_eq!(names(&families[0]), ["public.orders"]);

        let by_size = TableFilter {
            min_size: 1e6,
            ..TableFilter::default()
        };
        let mut families = vec![tables(&all)];
        let small = small_tables(&by_size, families.iter());
        filter_tables(&by_size, &small, &mut families);
        assert_eq!(names(&families[0]), ["public.orders", "audit.log"]);

        // A family that is not per table is left alone.
        let mut other = vec![Desc::gauge("pg_up", &[], "Up.").single(1.0)];
        filter_tables(&filter, &small, &mut other);
        assert_eq!(other[0].samples.len(), 1);
    }

    #[test]
    fn the_cap_keeps_the_first_series_and_names_the_families_cut() {
        let mut families = vec![
            tables(&[("a", "x", 1.0), ("a", "y", 1.0)]),
            tables(&[("a", "z", 1.0)]),
        ];
        assert_eq!(cap(&mut families.clone(), None), (3, None));
        assert_eq!(cap(&mut families.clone(), Some(3)), (3, None));
        let (exported, dropped) = cap(&mut families, Some(1));
        assert_eq!(exported, 1);
        assert_eq!(
            dropped,
            Some((2, vec![TABLE_SIZE.to_string(), TABLE_SIZE.to_string()]))
        );
        assert_eq!(names(&families[0]), ["a.x"]);
        assert!(families[1].samples.is_empty());
    }
}
