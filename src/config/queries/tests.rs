//! Unit tests of the custom query file parser: postgres_exporter's files load
//! unchanged, every mistake is one line naming the query and the field, and
//! no text makes the parser panic.

use super::*;

#[test]
fn postgres_exporter_files_load_unchanged() {
    let text = r#"
pg_replication:
  query: "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 ELSE 1 END AS lag"
  master: true
  metrics:
    - lag:
        usage: "GAUGE"
        description: "Replication lag behind master in seconds"
pg_database:
  query: "SELECT datname, pg_database_size(datname) AS size_bytes FROM pg_database"
  cache_seconds: 30
  runonserver: ">=13.0.0 <18.0.0"
  metrics:
    - datname: {usage: "LABEL", description: "Name of the database"}
    - size_bytes: {usage: "GAUGE", description: "Disk space used"}
    - state:
        usage: "MAPPEDMETRIC"
        description: "a state"
        metric_mapping: {"up": 1, "down": 0}
"#;
    let queries = parse(text, "test").unwrap();
    assert_eq!(queries.len(), 2);
    assert!(queries[0].master);
    assert_eq!(queries[1].cache, Duration::from_secs(30));
    assert_eq!(
        (queries[1].min_version, queries[1].max_version),
        (Some(130000), Some(179999))
    );
    assert_eq!(queries[1].labels, ["datname"]);
    assert_eq!(queries[1].columns[2].mapping["up"], 1.0);
}

#[test]
fn mistakes_name_the_query_and_field() {
    for (text, expected) in [
            ("", "empty"),
            ("q:\n  metrics: []\n", "query 'q': query: missing"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - v: {usage: GAGE}\n", "query 'q': metrics[0].v.usage: 'GAGE'"),
            ("q:\n  query: SELECT 1 AS v\n  metrcis: []\n", "query 'q': unknown field 'metrcis'"),
            ("q:\n  query: SELECT 1 AS v\n  cache_seconds: soon\n  metrics:\n    - v: {usage: GAUGE}\n", "query 'q': cache_seconds"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - v: {usage: LABEL}\n", "query 'q': metrics: no column is a metric"),
            ("q:\n  query: SELECT 1 AS v\n  min_server_version: new\n  metrics:\n    - v: {usage: GAUGE}\n", "min_server_version"),
            ("q:\n  query: SELECT 1 AS v\n  timeout: forever\n  metrics:\n    - v: {usage: GAUGE}\n", "timeout"),
            ("bad-name:\n  query: SELECT 1 AS v\n  metrics:\n    - v: {usage: GAUGE}\n", "query 'bad-name'"),
            ("- just a list\n", "expected a map"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - v: {usage: GAUGE}\n    - v: {usage: GAUGE}\n", "column 'v' is listed twice"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - __x: {usage: LABEL}\n    - v: {usage: GAUGE}\n", "label '__x'"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - le: {usage: LABEL}\n    - s: {usage: HISTOGRAM}\n", "needs the label name le"),
            ("q:\n  query: SELECT 1 AS v\n  metrics:\n    - s: {usage: HISTOGRAM}\n    - s_count: {usage: GAUGE}\n", "clashes with the series q_s_count"),
        ] {
            let err = parse(text, "f.yaml").unwrap_err();
            assert!(err.starts_with("f.yaml: ") && err.contains(expected) && !err.contains('\n'), "{text:?}: {err}");
        }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_gives_queries_or_one_line(text in "(.|\n){0,200}") {
            if let Err(err) = parse(&text, "f.yaml") {
                prop_assert!(err.starts_with("f.yaml: ") && !err.contains('\n'), "{err}");
            }
        }

        #[test]
        fn any_yaml_shaped_query_gives_queries_or_one_line(
            name in "[a-z_]{1,8}",
            key in prop_oneof![Just("query".to_string()), Just("master".to_string()), Just("cache_seconds".to_string()), "[a-z]{1,8}"],
            value in prop_oneof![Just("true".to_string()), Just("12".to_string()), Just("[]".to_string()), Just("{}".to_string()), "[a-zA-Z0-9 ]{0,12}"],
            usage in "[A-Z]{0,12}",
        ) {
            let text = format!("{name}:\n  {key}: {value}\n  query: SELECT 1 AS v\n  metrics:\n    - v: {{usage: {usage}}}\n");
            if let Err(err) = parse(&text, "f.yaml") {
                prop_assert!(err.starts_with("f.yaml: ") && !err.contains('\n'), "{err}");
            }
        }
    }
}
