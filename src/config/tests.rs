//! Unit tests of the command line: defaults, switches, and one-line errors
//! that name their flag.

use clap::FromArgMatches;

use super::flags::{command, Flags};
use super::validate::validate;
use super::Config;
use crate::collectors::COLLECTORS;
use crate::db::target::LibpqEnv;
use crate::text::{first_line, parse_ratio};

fn run(args: &[&str]) -> Result<Config, String> {
    let mut full = vec!["festival-pg-exporter"];
    full.extend_from_slice(args);
    let matches = command()
        .try_get_matches_from(full)
        .map_err(|e| first_line(&e.render().to_string()))?;
    let flags = Flags::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    validate(flags, &matches, &LibpqEnv::default())
}

fn names(config: &Config) -> Vec<&'static str> {
    config.collectors.iter().map(|c| c.name()).collect()
}

#[test]
fn defaults() {
    let config = run(&[]).unwrap();
    assert_eq!(config.listen_address.port(), 9187);
    assert_eq!(config.telemetry_path, "/metrics");
    assert_eq!(config.collection_timeout.as_secs(), 10);
    assert_eq!(config.max_connections, 2);
    assert_eq!(
        config.options.long_running_thresholds,
        vec![5.0, 60.0, 300.0]
    );
    assert_eq!(config.options.stat_statements_limit, 100);
    assert_eq!(config.options.stat_statements_recent_limit, 20);
    assert_eq!(
        config.options.stat_statements_recent_hold,
        std::time::Duration::from_secs(900)
    );
    assert_eq!(config.options.logs_max_read_bytes, 8 << 20);
    assert!(config.options.logs_directory.is_none());
    assert_eq!(config.options.query_text_length, 100);
    assert_eq!(config.options.dead_ratio, 0.2);
    assert!(config.options.backup_paths.is_empty());
    assert_eq!(config.options.bloat_min_size, 10_485_760.0);
    assert_eq!(config.options.database_size_interval.as_secs(), 300);
    assert!(config.options.tables.keeps_all());
    assert!(config.options.max_series.is_empty());
    assert_eq!(
        config.options.bloat_method,
        crate::collectors::bloat::Method::Estimate
    );
    assert_eq!(
        config
            .options
            .min_intervals
            .clone()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![("bloat", std::time::Duration::from_secs(300))]
    );
    let config = run(&[
        "--collector.bloat.min-interval=0s",
        "--collector.sizes.min-interval=1m",
    ])
    .unwrap();
    assert_eq!(
        config
            .options
            .min_intervals
            .clone()
            .into_iter()
            .collect::<Vec<_>>(),
        vec![("sizes", std::time::Duration::from_secs(60))]
    );
    let defaults: Vec<_> = COLLECTORS
        .iter()
        .filter(|c| c.enabled_by_default())
        .map(|c| c.name())
        .collect();
    assert_eq!(names(&config), defaults);
    assert!(!defaults.contains(&"backup"), "backup is off by default");
}

#[test]
fn collector_switches() {
    let config = run(&["--no-collector.locks"]).unwrap();
    assert!(!names(&config).contains(&"locks"));
    let config = run(&["--collector.locks=false", "--collector.stat_activity"]).unwrap();
    assert!(!names(&config).contains(&"locks"));
    assert!(names(&config).contains(&"stat_activity"));
    assert!(run(&["--collector.nonexistent"])
        .unwrap_err()
        .contains("--collector.nonexistent"));
    let config = run(&[
        "--collector.backup",
        "--collector.backup.path",
        "/backups/*.dump",
        "--collector.backup.path=/archive/**/*.tar",
        "--collector.health.dead-ratio=0.35",
    ])
    .unwrap();
    assert!(names(&config).contains(&"backup"));
    assert_eq!(
        config.options.backup_paths,
        ["/backups/*.dump", "/archive/**/*.tar"]
    );
    assert_eq!(config.options.dead_ratio, 0.35);
    assert_eq!(parse_ratio("20%"), Some(0.2));
    assert_eq!(parse_ratio("-0.1"), None);
}

#[test]
fn database_discovery_flags() {
    assert!(run(&[]).unwrap().discovery.is_none());
    let config = run(&[
        "--auto-discover-databases",
        "--include-databases=festivals,tenant_.*",
        "--exclude-databases",
        "tenant_test",
    ])
    .unwrap();
    let discovery = config.discovery.expect("discovery on");
    assert!(discovery.wants("festivals") && discovery.wants("tenant_7"));
    assert!(!discovery.wants("tenant_test") && !discovery.wants("postgres"));
    assert!(run(&["--auto-discover-databases=false"])
        .unwrap()
        .discovery
        .is_none());
}

#[test]
fn bad_values_name_their_flag() {
    for (args, flag) in [
        (
            &["--collection-timeout", "soon"][..],
            "--collection-timeout",
        ),
        (
            &["--collection-timeout", "10ms"][..],
            "--collection-timeout",
        ),
        (
            &["--web.listen-address", "nowhere"][..],
            "--web.listen-address",
        ),
        (
            &["--web.telemetry-path", "metrics"][..],
            "--web.telemetry-path",
        ),
        (
            &["--web.telemetry-path", "/probe"][..],
            "--web.telemetry-path",
        ),
        (&["--web.telemetry-path", "/:x"][..], "--web.telemetry-path"),
        (&["--web.telemetry-path", "/*x"][..], "--web.telemetry-path"),
        (
            &["--web.telemetry-path", "/{x}"][..],
            "--web.telemetry-path",
        ),
        (&["--web.telemetry-path", "/m/"][..], "--web.telemetry-path"),
        (&["--web.max-connections", "0"][..], "--web.max-connections"),
        (
            &["--collector.custom_queries.max-rows", "0"][..],
            "--collector.custom_queries.max-rows",
        ),
        (&["--max-connections", "0"][..], "--max-connections"),
        (
            &["--collector.tables.include", "public\\.(orders"][..],
            "--collector.tables.include: 'public\\.(orders' is not a valid regular expression",
        ),
        (
            &["--collector.tables.exclude", "*x"][..],
            "--collector.tables.exclude",
        ),
        (
            &["--collector.tables.min-size", "1MB"][..],
            "--collector.tables.min-size",
        ),
        (
            &["--collector.tables.min-size", "1", "--no-collector.sizes"][..],
            "--collector.tables.min-size: needs the sizes collector",
        ),
        (
            &["--collector.max-series", "0"][..],
            "--collector.max-series",
        ),
        (
            &["--collector.max-series", "sizez=10"][..],
            "--collector.max-series: 'sizez' is not a collector",
        ),
        (
            &["--collector.logs.max-read-bytes", "100"][..],
            "--collector.logs.max-read-bytes",
        ),
        (
            &["--collector.logs.directory", "/nonexistent/pg_log"][..],
            "--collector.logs.directory: /nonexistent/pg_log is neither a directory nor a file",
        ),
        (
            &["--collector.stat_statements.recent-limit", "many"][..],
            "--collector.stat_statements.recent-limit",
        ),
        (
            &["--collector.stat_statements.recent-hold", "soon"][..],
            "--collector.stat_statements.recent-hold",
        ),
        (
            &["--collector.database.size-interval", "later"][..],
            "--collector.database.size-interval",
        ),
        (&["--log.level", "loud"][..], "--log.level"),
        (&["--log.format", "xml"][..], "--log.format"),
        (
            &["--collector.stat_statements.limit", "0"][..],
            "--collector.stat_statements.limit",
        ),
        (
            &["--collector.stat_statements.query-length", "x"][..],
            "query-length",
        ),
        (
            &["--collector.health.dead-ratio", "120%"][..],
            "--collector.health.dead-ratio",
        ),
        (
            &["--collector.bloat.method", "guess"][..],
            "--collector.bloat.method",
        ),
        (
            &["--collector.bloat.min-interval", "often"][..],
            "--collector.bloat.min-interval",
        ),
        (
            &["--collector.bloat.min-size=-1"][..],
            "--collector.bloat.min-size",
        ),
        (
            &["--collector.backup.path", "/backups/[x"][..],
            "--collector.backup.path",
        ),
        (
            &["--collector.stat_activity.long-running-thresholds", "5s,x"][..],
            "long-running-thresholds",
        ),
        (
            &["--data-source-name", "postgresql://u@h:port/d"][..],
            "DATA_SOURCE_NAME",
        ),
        (
            &["--auto-discover-databases", "--include-databases=a("][..],
            "--include-databases: 'a('",
        ),
        (
            &["--exclude-databases=template1"][..],
            "--exclude-databases: has no effect without --auto-discover-databases",
        ),
        (
            &["--auto-discover-databases=maybe"][..],
            "--auto-discover-databases",
        ),
    ] {
        let err = run(args).unwrap_err();
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!err.contains('\n'), "{args:?}: more than one line: {err}");
    }
}

#[test]
fn every_flag_is_one_line_in_help_and_has_an_env_var_or_is_a_switch() {
    let help = command().render_long_help().to_string();
    for collector in COLLECTORS {
        assert!(help.contains(&format!("--collector.{}", collector.name())));
        assert!(help.contains(&format!("--no-collector.{}", collector.name())));
    }
    for arg in command().get_arguments() {
        let id = arg.get_id().as_str();
        let theirs = arg
            .get_help()
            .is_some_and(|h| h.to_string().starts_with("postgres_exporter's"));
        if id == "help" || id == "version" || id.starts_with("no-collector.") || theirs {
            continue;
        }
        assert!(
            arg.get_env().is_some(),
            "flag {id} has no environment variable"
        );
    }
}

#[test]
fn postgres_exporter_flags_take_effect_or_warn_once_each() {
    let config = run(&[
        "--no-collector.database",
        "--collector.stat_progress_vacuum",
        "--no-collector.xlog_location",
        "--disable-default-metrics",
        "--web.systemd-socket",
        "--disable-settings-metrics",
        "--no-collector.roles",
        "--constantLabels=cluster=festival, env=prod",
        "--metric-prefix=festival",
        "--collector.stat_statements.include_query=false",
    ])
    .unwrap();
    let flags = [
        "--disable-default-metrics",
        "--web.systemd-socket",
        "--collector.stat_progress_vacuum",
        "--no-collector.xlog_location",
    ];
    assert_eq!(config.warnings.len(), flags.len(), "{:?}", config.warnings);
    for (warning, flag) in config.warnings.iter().zip(flags) {
        assert!(
            warning.starts_with(&format!("{flag} is ignored: ")),
            "{warning}"
        );
        assert!(!warning.contains('\n'));
    }
    assert!(config.warnings[2].contains("autovacuum collector"));
    assert!(!names(&config).contains(&"database"));
    assert!(!names(&config).contains(&"settings"));
    assert!(!names(&config).contains(&"roles"));
    let labels = [("cluster", "festival"), ("env", "prod")].map(|(n, v)| (n.into(), v.into()));
    assert_eq!(config.constant_labels, labels);
    assert_eq!(config.options.metric_prefix, "festival");
    assert_eq!(config.options.query_text_length, 0);

    let config = run(&["--collector.stat_statements.query_length=50"]).unwrap();
    assert_eq!(config.options.query_text_length, 50);
    assert!(config.warnings.is_empty());
    assert_eq!(config.options.metric_prefix, "pg");
    assert!(names(&config).contains(&"settings"));

    assert!(matches!(
        super::parse(["festival-pg-exporter", "--dumpmaps"]),
        Ok(super::Parsed::Catalogue)
    ));
    for (args, flag) in [
        (
            &["--constantLabels", "cluster"][..],
            "--constantLabels: 'cluster'",
        ),
        (&["--constantLabels", "1x=a"][..], "--constantLabels: '1x'"),
        (
            &["--constantLabels", "__name__=a"][..],
            "--constantLabels: '__name__'",
        ),
        (
            &["--constantLabels", "a=1,a=2"][..],
            "--constantLabels: 'a' is given twice",
        ),
        (
            &["--metric-prefix", "festival-pg"][..],
            "--metric-prefix: 'festival-pg'",
        ),
    ] {
        let err = run(args).unwrap_err();
        assert!(err.starts_with(flag), "{args:?}: {err}");
    }
}

#[test]
fn query_file_status_hashes_each_file_and_checks_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let [good, empty, bad, gone] =
        ["good", "empty", "bad", "gone"].map(|name| dir.path().join(format!("{name}.yaml")));
    std::fs::write(
        &good,
        "pg_x:\n  query: SELECT 1 AS one\n  metrics:\n    - one: {usage: GAUGE}\n",
    )
    .unwrap();
    std::fs::write(&empty, "").unwrap();
    std::fs::write(&bad, "pg_x:\n  query: [not, a, string]\n").unwrap();
    let status = super::QueryFileStatus::read(&[good.clone(), empty, bad, gone]);
    assert_eq!(status[0].filename, good.display().to_string());
    assert_eq!(
        status.iter().map(|s| s.failed).collect::<Vec<_>>(),
        [false, true, true, true]
    );
    assert_eq!(status[0].hashsum.len(), 64);
    // SHA-256 of no bytes.
    assert_eq!(
        status[1].hashsum,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(status[3].hashsum, "", "an unreadable file has no hash");
}

#[test]
fn series_budgets_per_collector_and_table_patterns() {
    let config = run(&[
        "--collector.max-series=sizes=10",
        "--collector.max-series",
        "500",
        "--collector.tables.include",
        "public\\..*",
        "--collector.tables.exclude=.*\\.events_\\d+",
        "--collector.tables.min-size=1048576",
    ])
    .unwrap();
    let budgets = &config.options.max_series;
    assert_eq!(budgets.get("sizes"), Some(&10), "NAME=N wins over N");
    assert_eq!(budgets.get("locks"), Some(&500));
    assert_eq!(budgets.len(), COLLECTORS.len());
    let tables = &config.options.tables;
    assert_eq!(tables.min_size, 1_048_576.0);
    assert!(tables.keeps_name("public", "orders"));
    assert!(!tables.keeps_name("public", "events_20261130"));
    assert!(!tables.keeps_name("audit", "orders"));
    // Whole names: `public\..*` does not match inside `xpublic.orders`.
    assert!(!tables.keeps_name("xpublic", "orders"));
}
