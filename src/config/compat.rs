//! postgres_exporter's flags that have no flag of the same name here, so that
//! its command lines, systemd units and Helm values start this exporter
//! unchanged. A flag with a counterpart takes effect; one without is accepted
//! with one warning line saying where its families come from here, never an
//! exit.

use clap::{Arg, ArgAction, ArgMatches};

use crate::text::is_metric_name;

/// postgres_exporter's collectors that have no collector of that name here,
/// with where their families are.
const FOREIGN_COLLECTORS: &[(&str, &str)] = &[
    (
        "postmaster",
        "pg_postmaster_start_time_seconds is always served",
    ),
    (
        "replication_slots",
        "pg_replication_slots_* come from the replication collector",
    ),
    (
        "stat_progress_vacuum",
        "pg_stat_progress_vacuum_* come from the autovacuum collector",
    ),
    (
        "stat_replication",
        "pg_stat_replication_* come from the replication collector",
    ),
    (
        "wal",
        "pg_wal_segments and pg_wal_size_bytes come from the stat_archiver collector",
    ),
    ("xlog_location", "it reads PostgreSQL 9 only"),
];

/// Switches without a counterpart, with the reason they change nothing.
const IGNORED_SWITCHES: &[(&str, &str, &str)] = &[
    (
        "disable-default-metrics",
        "PG_EXPORTER_DISABLE_DEFAULT_METRICS",
        "there is no built-in metric map here; switch collectors off with --no-collector.<name>",
    ),
    (
        "web.systemd-socket",
        "",
        "systemd socket activation is not supported; use --web.listen-address",
    ),
];

/// What postgres_exporter's flags ask for.
#[derive(Debug, Default)]
pub(super) struct Compat {
    /// One line per flag accepted without effect.
    pub warnings: Vec<String>,
    /// `--disable-settings-metrics`: the settings collector off.
    pub disable_settings: bool,
    /// `--constantLabels`: labels added to every series.
    pub constant_labels: Vec<(String, String)>,
    /// `--metric-prefix`: replaces the `pg` of custom query names.
    pub metric_prefix: String,
    /// `--collector.stat_statements.include_query=false`: no statement texts.
    pub include_query: bool,
}

/// A boolean flag as postgres_exporter's (kingpin's) are written:
/// `--name`, `--name=false`; `env` may be empty.
pub(super) fn switch(name: &str, env: &str, help: &str) -> Arg {
    let arg = Arg::new(name.to_string())
        .long(name.to_string())
        .action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .value_parser(clap::builder::BoolishValueParser::new())
        .value_name("BOOL")
        .help(help.to_string());
    if env.is_empty() {
        arg
    } else {
        arg.env(env.to_string())
    }
}

/// postgres_exporter's flags, for the command line parser.
pub(super) fn args() -> Vec<Arg> {
    let mut args = vec![
        switch(
            "disable-settings-metrics",
            "PG_EXPORTER_DISABLE_SETTINGS_METRICS",
            "postgres_exporter's switch: the same as --no-collector.settings",
        ),
        Arg::new("dumpmaps")
            .long("dumpmaps")
            .action(ArgAction::SetTrue)
            .help("postgres_exporter's switch: print the catalogue of metric families (as the metrics command does) and exit"),
        Arg::new("constantLabels")
            .long("constantLabels")
            .env("PG_EXPORTER_CONSTANT_LABELS")
            .value_name("NAME=VALUE,...")
            .help("Labels added to every series (postgres_exporter's flag), e.g. cluster=festival,env=prod"),
        Arg::new("metric-prefix")
            .long("metric-prefix")
            .env("PG_EXPORTER_METRIC_PREFIX")
            .default_value("pg")
            .value_name("PREFIX")
            .help("Replaces the leading pg of custom query names (postgres_exporter's flag; built-in families keep pg_)"),
        switch(
            "collector.stat_statements.include_query",
            "",
            "postgres_exporter's switch: false leaves out pg_stat_statements_query_id (the same as --collector.stat_statements.query-length=0)",
        ),
    ];
    for (name, env, why) in IGNORED_SWITCHES {
        args.push(switch(
            name,
            env,
            &format!("postgres_exporter's switch, accepted and ignored: {why}"),
        ));
    }
    for (name, where_) in FOREIGN_COLLECTORS {
        args.push(switch(
            &format!("collector.{name}"),
            "",
            &format!("postgres_exporter's collector, accepted and ignored: {where_}"),
        ));
        args.push(
            Arg::new(format!("no-collector.{name}"))
                .long(format!("no-collector.{name}"))
                .action(ArgAction::SetTrue)
                .hide(true),
        );
    }
    args
}

fn given(matches: &ArgMatches, id: &str) -> bool {
    matches!(
        matches.value_source(id),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    )
}

/// Reads postgres_exporter's flags from `matches`.
pub(super) fn read(matches: &ArgMatches) -> Result<Compat, String> {
    let mut compat = Compat {
        disable_settings: matches
            .get_one::<bool>("disable-settings-metrics")
            .copied()
            .unwrap_or(false),
        metric_prefix: matches
            .get_one::<String>("metric-prefix")
            .cloned()
            .unwrap_or_else(|| "pg".into()),
        include_query: matches
            .get_one::<bool>("collector.stat_statements.include_query")
            .copied()
            .unwrap_or(true),
        ..Compat::default()
    };
    if !is_metric_name(&compat.metric_prefix) {
        return Err(format!(
            "--metric-prefix: '{}' is not a metric name prefix ([a-zA-Z_][a-zA-Z0-9_]*)",
            compat.metric_prefix
        ));
    }
    if let Some(labels) = matches.get_one::<String>("constantLabels") {
        compat.constant_labels = constant_labels(labels)?;
    }
    for (name, _, why) in IGNORED_SWITCHES {
        if given(matches, name) {
            compat.warnings.push(format!("--{name} is ignored: {why}"));
        }
    }
    for (name, where_) in FOREIGN_COLLECTORS {
        for flag in [format!("collector.{name}"), format!("no-collector.{name}")] {
            if given(matches, &flag) {
                compat.warnings.push(format!(
                    "--{flag} is ignored: postgres_exporter's {name} collector has no counterpart of that name here; {where_}"
                ));
            }
        }
    }
    Ok(compat)
}

/// `name=value,name=value` as postgres_exporter reads it (no escaping; an
/// empty list is none).
fn constant_labels(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut labels: Vec<(String, String)> = Vec::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!(
                "--constantLabels: '{pair}' is not NAME=VALUE (the list is comma-separated)"
            ));
        };
        let name = name.trim();
        if !is_metric_name(name) || name.starts_with("__") || name == "le" || name == "quantile" {
            return Err(format!(
                "--constantLabels: '{name}' is not a label name this exporter may add ([a-zA-Z_][a-zA-Z0-9_]*, not __*, le or quantile)"
            ));
        }
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("--constantLabels: '{name}' is given twice"));
        }
        labels.push((name.to_string(), value.trim().to_string()));
    }
    Ok(labels)
}
