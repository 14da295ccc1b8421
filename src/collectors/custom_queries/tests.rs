//! Unit tests of custom queries: rows into families by usage, histograms,
//! names with --metric-prefix.

use super::*;

impl TextRow for Vec<(&str, Option<&str>)> {
    fn cell(&self, column: &str) -> Option<&str> {
        self.iter()
            .find(|(name, _)| *name == column)
            .and_then(|(_, v)| *v)
    }
}

/// A query named `name` with these columns (usage by name), labelled by
/// its LABEL columns; MAPPEDMETRIC columns map `up` to 1.
fn query(name: &str, columns: &[(&str, Usage)]) -> CustomQuery {
    let labels: Vec<&str> = columns
        .iter()
        .filter(|(_, usage)| *usage == Usage::Label)
        .map(|(name, _)| *name)
        .collect();
    CustomQuery {
        name: name.into(),
        sql: String::new(),
        master: false,
        cache: Duration::ZERO,
        min_version: None,
        max_version: None,
        timeout: None,
        databases: Vec::new(),
        columns: columns
            .iter()
            .map(|(name, usage)| QueryColumn {
                name: name.to_string(),
                usage: *usage,
                description: String::new(),
                mapping: [("up".to_string(), 1.0)].into_iter().collect(),
            })
            .collect(),
        labels: crate::metrics::label_names(&labels),
    }
}

#[test]
fn histogram_columns_read_bounds_cumulative_buckets_sum_and_count() {
    let query = query(
        "pg_process_idle",
        &[
            ("application_name", Usage::Label),
            ("seconds", Usage::Histogram),
        ],
    );
    let row = |app: &'static str, bounds: &'static str, cumulative: &'static str| {
        vec![
            ("application_name", Some(app)),
            ("seconds", Some(bounds)),
            ("seconds_bucket", Some(cumulative)),
            ("seconds_sum", Some("42.5")),
            ("seconds_count", Some("4")),
        ]
    };
    let rows = vec![
        row("psql", "{1,2,5}", "{1,3,3}"),
        row("broken", "{1,2}", "{3,1}"),
        row("nulls", "{1,NULL}", "{1,1}"),
    ];
    // --metric-prefix replaces the first "pg" of the query name, as
    // postgres_exporter does.
    let prefixed = families(&query, &rows, "festival").0;
    assert_eq!(prefixed[0].name, "festival_process_idle_seconds");
    let (families, unreadable) = families(&query, &rows, "pg");
    let unreadable = unreadable.unwrap();
    assert_eq!(
        (&*unreadable.column, &*unreadable.value, unreadable.count),
        ("seconds", "{1,2}", 2)
    );
    assert_eq!(families.len(), 1);
    let family = &families[0];
    assert_eq!(
        (&*family.name, family.kind),
        ("pg_process_idle_seconds", Kind::Histogram)
    );
    assert_eq!(
        family.samples.len(),
        1,
        "contradicting or NULL buckets give no sample"
    );
    let sample = &family.samples[0];
    assert_eq!(sample.values, ["psql"]);
    assert_eq!(sample.value, 42.5);
    assert_eq!(
        sample.buckets().unwrap().buckets,
        [(1.0, 1), (2.0, 2), (5.0, 0), (f64::INFINITY, 1)]
    );
}

#[test]
fn rows_become_query_column_families_by_usage() {
    let query = query(
        "festival_gates",
        &[
            ("gate", Usage::Label),
            ("note", Usage::Discard),
            ("scanned", Usage::Counter),
            ("wait", Usage::Duration),
            ("state", Usage::MappedMetric),
            ("open", Usage::Gauge),
        ],
    );
    let rows = vec![
        vec![
            ("gate", Some("north")),
            ("note", Some("x")),
            ("scanned", Some("12")),
            ("wait", Some("00:00:01.5")),
            ("state", Some("up")),
            ("open", Some("t")),
        ],
        vec![
            ("gate", None),
            ("scanned", Some("3")),
            ("wait", None),
            ("state", Some("down")),
            ("open", Some("soon")),
        ],
    ];
    let (families, unreadable) = families(&query, &rows, "pg");
    let unreadable = unreadable.unwrap();
    assert_eq!(
        (
            &*unreadable.column,
            &*unreadable.value,
            unreadable.why,
            unreadable.count
        ),
        ("state", "down", "is not in its mapping", 2)
    );
    let names: Vec<&str> = families.iter().map(|f| &*f.name).collect();
    assert_eq!(
        names,
        [
            "festival_gates_scanned",
            "festival_gates_wait_milliseconds",
            "festival_gates_state",
            "festival_gates_open"
        ]
    );
    assert_eq!(families[0].kind, Kind::Counter);
    assert_eq!(
        families[0].help,
        "Custom query festival_gates, column scanned."
    );
    let values: Vec<Vec<(String, f64)>> = families
        .iter()
        .map(|f| {
            f.samples
                .iter()
                .map(|s| (s.values.to_vec().join(","), s.value))
                .collect()
        })
        .collect();
    assert_eq!(
        values[0],
        [("north".to_string(), 12.0), (String::new(), 3.0)]
    );
    assert_eq!(
        values[1],
        [("north".to_string(), 1500.0)],
        "NULL gives no sample"
    );
    assert_eq!(
        values[2],
        [("north".to_string(), 1.0)],
        "an unmapped text gives no sample"
    );
    assert_eq!(
        values[3],
        [("north".to_string(), 1.0)],
        "text that is no number gives no sample"
    );
}
