//! The engine's own families (`pg_up`, `pg_scrape_collector_*`,
//! `pg_exporter_*`) and the catalogue of every family the exporter can
//! produce, which the `metrics` subcommand prints and docs/metrics.md must
//! match.

use crate::metrics::Desc;

pub(super) static UP: Desc = Desc::gauge(
    "pg_up",
    &[],
    "Whether the last scrape could query PostgreSQL (1) or not (0).",
);
/// Untyped, as postgres_exporter serves it.
pub(super) static STATIC: Desc = Desc::untyped(
    "pg_static",
    &["version", "short_version"],
    "Version string as reported by PostgreSQL; the value is always 1.",
);
pub(super) static START_TIME: Desc = Desc::gauge(
    "pg_postmaster_start_time_seconds",
    &[],
    "Time at which the PostgreSQL server started, Unix seconds.",
);
pub(super) static ROLE_GRANTED: Desc = Desc::gauge(
    "pg_exporter_role_granted",
    &["role"],
    "Whether the exporter's role has the privileges of this predefined role (1) or not (0); without pg_monitor's, other sessions' queries and statements are hidden and some collectors fail.",
);
pub(super) static COLLECTOR_DURATION: Desc = Desc::gauge(
    "pg_scrape_collector_duration_seconds",
    &["collector"],
    "How long the collector took in this scrape, in seconds.",
);
pub(super) static COLLECTOR_SUCCESS: Desc = Desc::gauge(
    "pg_scrape_collector_success",
    &["collector"],
    "Whether the collector succeeded in this scrape (1) or failed or ran out of time (0).",
);
pub(super) static DATABASE_SUCCESS: Desc = Desc::gauge(
    "pg_scrape_database_success",
    &["datname"],
    "Whether every per-database collector succeeded in this database in this scrape (1) or not (0).",
);
pub(super) static CACHE_AGE: Desc = Desc::gauge(
    "pg_scrape_collector_cache_age_seconds",
    &["collector"],
    "For a collector with a minimum interval, the age of the result served, in seconds (0 when collected in this scrape).",
);
pub(super) static COLLECTOR_SERIES: Desc = Desc::gauge(
    "pg_scrape_collector_series",
    &["collector"],
    "Series the collector exported in this scrape, after --collector.tables.* and --collector.max-series.",
);
pub(super) static SCRAPE_DURATION: Desc = Desc::gauge(
    "pg_exporter_last_scrape_duration_seconds",
    &[],
    "Duration of this scrape's collection, in seconds.",
);
pub(super) static SCRAPES: Desc = Desc::counter(
    "pg_exporter_scrapes_total",
    &[],
    "Collections run since the exporter started (concurrent requests share one).",
);
pub(super) static SCRAPE_ERROR: Desc = Desc::gauge(
    "pg_exporter_last_scrape_error",
    &[],
    "Whether this scrape had an error: PostgreSQL unreachable or a collector failed (1), or not (0).",
);

pub(super) static QUERY_FILE_ERROR: Desc = Desc::gauge(
    "pg_exporter_user_queries_load_error",
    &["filename", "hashsum"],
    "Whether the --extend.query-path file failed to load at the last reading (1) or not (0); hashsum is the SHA-256 of its content.",
);
pub(super) static RELOAD_SUCCESSFUL: Desc = Desc::gauge(
    "postgres_exporter_config_last_reload_successful",
    &[],
    "Whether the last reading of the configuration and query files was taken into use (postgres_exporter's name).",
);
pub(super) static RELOAD_SUCCESS_TIME: Desc = Desc::gauge(
    "postgres_exporter_config_last_reload_success_timestamp_seconds",
    &[],
    "When the configuration and query files were last taken into use, Unix seconds (postgres_exporter's name).",
);
pub(super) static BUILD_INFO: Desc = Desc::gauge(
    "postgres_exporter_build_info",
    &["branch", "goarch", "goos", "goversion", "revision", "tags", "version"],
    "This exporter's version under postgres_exporter's name and labels (goarch and goos as Go names them; branch, goversion, revision and tags empty); the value is always 1.",
);

/// Every family the exporter can produce, with the collector that makes it
/// (`exporter` for the engine's own), in output order.
pub fn catalogue() -> Vec<(&'static str, &'static Desc)> {
    let server = [&UP, &STATIC, &START_TIME, &ROLE_GRANTED];
    let scrape = [
        &COLLECTOR_DURATION,
        &COLLECTOR_SUCCESS,
        &DATABASE_SUCCESS,
        &CACHE_AGE,
        &COLLECTOR_SERIES,
        &SCRAPE_DURATION,
        &SCRAPES,
        &SCRAPE_ERROR,
        &QUERY_FILE_ERROR,
        &RELOAD_SUCCESSFUL,
        &RELOAD_SUCCESS_TIME,
        &BUILD_INFO,
    ];
    let mut all: Vec<(&'static str, &'static Desc)> =
        server.into_iter().map(|desc| ("exporter", desc)).collect();
    for collector in crate::collectors::COLLECTORS {
        all.extend(
            collector
                .metrics()
                .into_iter()
                .map(|desc| (collector.name(), desc)),
        );
    }
    all.extend(
        scrape
            .into_iter()
            .chain(super::process::metrics())
            .map(|desc| ("exporter", desc)),
    );
    all
}

/// The catalogue as text, one family a line: exposed name, type, labels
/// (comma-separated, `-` for none), collector, help.
pub fn catalogue_text() -> String {
    let mut text = String::new();
    for (collector, desc) in catalogue() {
        let kind = match desc.kind {
            crate::metrics::Kind::Gauge => "gauge",
            crate::metrics::Kind::Counter => "counter",
            crate::metrics::Kind::Histogram => "histogram",
            crate::metrics::Kind::Untyped => "untyped",
        };
        let labels = if desc.labels.is_empty() {
            "-".to_string()
        } else {
            desc.labels.join(",")
        };
        text.push_str(&format!(
            "{}\t{kind}\t{labels}\t{collector}\t{}\n",
            desc.name, desc.help
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique_and_all_documented_in_docs_metrics_md() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
            .unwrap();
        let mut seen = std::collections::HashSet::new();
        let mut expected_rows = std::collections::HashSet::new();
        for line in catalogue_text().lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let (name, kind, labels) = (fields[0], fields[1], fields[2]);
            assert!(
                seen.insert(name.to_string()),
                "{name} twice in the catalogue"
            );
            // `<query>_<column>`: the custom queries' families, named by their
            // files; `postgres_exporter_`: that exporter's names for its reload
            // status and build, kept for its dashboards.
            assert!(
                name.starts_with("pg_")
                    || name.starts_with("process_")
                    || name.starts_with("postgres_exporter_")
                    || name == "<query>_<column>",
                "{name}"
            );
            let labels = if labels == "-" {
                "-".to_string()
            } else {
                format!("`{labels}`")
            };
            expected_rows.insert(format!("| `{name}` | {kind} | {labels} |"));
        }
        let documented: std::collections::HashSet<String> = docs
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.splitn(5, " |").take(3).collect::<Vec<_>>().join(" |") + " |")
            .collect();
        let missing: Vec<_> = expected_rows.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&expected_rows).collect();
        assert!(
            missing.is_empty(),
            "not in docs/metrics.md (or with other type/labels): {missing:#?}"
        );
        assert!(
            stale.is_empty(),
            "in docs/metrics.md but not produced: {stale:#?}"
        );
    }
}
