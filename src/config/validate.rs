//! Flags checked one by one and turned into the [`Config`]: every error is
//! one line naming the flag (or variable, or file field) that carried it.

use clap::ArgMatches;

use super::flags::Flags;
use super::{databases, web, Config, HttpLimits, LogFormat};
use crate::collectors::{Options, TableFilter, COLLECTORS};
use crate::db::target::{build_target, build_tls, LibpqEnv};
use crate::text::{number_in, parse_duration, parse_listen_address, parse_ratio};

pub(super) fn validate(
    flags: Flags,
    matches: &ArgMatches,
    env: &LibpqEnv,
) -> Result<Config, String> {
    let mut target = build_target(
        flags.data_source_name.as_deref(),
        env,
        flags.data_source_pass_file.as_deref(),
    )?;
    let tls_options = build_tls(flags.data_source_name.as_deref(), env)?;
    target.ssl_mode(tls_options.negotiation());
    let tls = tls_options.connector()?;
    let web = match &flags.web_config_file {
        Some(path) => web::load(path)?,
        None => web::WebConfig::default(),
    };
    let listen_address = parse_listen_address(&flags.listen_address)
        .map_err(|e| format!("--web.listen-address: {e}"))?;
    telemetry_path(&flags.telemetry_path)?;
    let collection_timeout = parse_duration(&flags.collection_timeout)
        .map_err(|e| format!("--collection-timeout: {e}"))?;
    if collection_timeout.as_millis() < 100 {
        return Err(format!(
            "--collection-timeout: '{}' is shorter than 100ms",
            flags.collection_timeout
        ));
    }
    let max_connections = number_in("--max-connections", &flags.max_connections, 1..=100)?;
    let http = HttpLimits {
        max_connections: number_in(
            "--web.max-connections",
            &flags.web_max_connections,
            1..=100_000,
        )?,
        read_header_timeout: parse_duration(&flags.web_read_header_timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                format!(
                    "--web.read-header-timeout: '{}' is not a duration above zero such as 30s",
                    flags.web_read_header_timeout
                )
            })?,
    };
    let stat_statements_limit = number_in(
        "--collector.stat_statements.limit",
        &flags.collectors.stat_statements_limit,
        1..=10_000,
    )?;
    let query_text_length = number_in(
        "--collector.stat_statements.query-length",
        &flags.collectors.query_text_length,
        0..=10_000,
    )?;
    let custom_query_max_rows = number_in(
        "--collector.custom_queries.max-rows",
        &flags.collectors.custom_query_max_rows,
        1..=10_000_000,
    )?;
    let dead_ratio = parse_ratio(&flags.collectors.dead_ratio).ok_or_else(|| {
        format!(
            "--collector.health.dead-ratio: '{}' is not a ratio from 0 to 1 (or 0% to 100%)",
            flags.collectors.dead_ratio
        )
    })?;
    let bloat_method = flags
        .collectors
        .bloat_method
        .parse()
        .map_err(|e| format!("--collector.bloat.method: {e}"))?;
    let bloat_min_size: u64 = number_in(
        "--collector.bloat.min-size",
        &flags.collectors.bloat_min_size,
        0..=u64::MAX,
    )?;
    let bloat_pgstattuple_limit = number_in(
        "--collector.bloat.pgstattuple-limit",
        &flags.collectors.bloat_pgstattuple_limit,
        1..=10_000,
    )?;
    let logs_max_read_bytes = number_in(
        "--collector.logs.max-read-bytes",
        &flags.collectors.logs_max_read_bytes,
        4096..=1 << 30,
    )?;
    if let Some(dir) = &flags.collectors.logs_directory {
        if !dir.is_dir() && !dir.is_file() {
            return Err(format!(
                "--collector.logs.directory: {} is neither a directory nor a file",
                dir.display()
            ));
        }
    }
    let stat_statements_recent_limit = number_in(
        "--collector.stat_statements.recent-limit",
        &flags.collectors.stat_statements_recent_limit,
        0..=10_000,
    )?;
    let stat_statements_recent_hold = parse_duration(&flags.collectors.stat_statements_recent_hold)
        .map_err(|e| format!("--collector.stat_statements.recent-hold: {e}"))?;
    let database_size_interval = parse_duration(&flags.collectors.database_size_interval)
        .map_err(|e| format!("--collector.database.size-interval: {e}"))?;
    let mut min_intervals = std::collections::BTreeMap::new();
    for collector in COLLECTORS {
        let flag = format!("collector.{}.min-interval", collector.name());
        let text = matches
            .get_one::<String>(&flag)
            .map(String::as_str)
            .unwrap_or("0s");
        let interval = parse_duration(text).map_err(|e| format!("--{flag}: {e}"))?;
        if !interval.is_zero() {
            min_intervals.insert(collector.name(), interval);
        }
    }
    let loaded = super::Loaded::read(flags.config_file.as_deref(), &flags.collectors.query_paths)?;
    for pattern in &flags.collectors.backup_paths {
        glob::Pattern::new(pattern).map_err(|e| {
            format!("--collector.backup.path: '{pattern}' is not a valid glob: {e}")
        })?;
    }
    let discovery = databases::Discovery::new(&flags.include_databases, &flags.exclude_databases)?;
    if !flags.auto_discover_databases {
        for (flag, given) in [
            ("--include-databases", &flags.include_databases),
            ("--exclude-databases", &flags.exclude_databases),
        ] {
            if given.iter().any(|p| !p.trim().is_empty()) {
                return Err(format!(
                    "{flag}: has no effect without --auto-discover-databases"
                ));
            }
        }
    }
    let mut long_running_thresholds = Vec::new();
    for part in flags.collectors.long_running_thresholds.split(',') {
        let duration = parse_duration(part)
            .map_err(|e| format!("--collector.stat_activity.long-running-thresholds: {e}"))?;
        long_running_thresholds.push(duration.as_secs_f64());
    }
    long_running_thresholds.sort_by(f64::total_cmp);
    long_running_thresholds.dedup();
    let log_level = match flags.log_level.as_str() {
        "error" => tracing::Level::ERROR,
        "warn" => tracing::Level::WARN,
        "info" => tracing::Level::INFO,
        "debug" => tracing::Level::DEBUG,
        other => {
            return Err(format!(
                "--log.level: '{other}' is not one of error, warn, info, debug"
            ))
        }
    };
    let log_format = match flags.log_format.as_str() {
        "logfmt" => LogFormat::Logfmt,
        "json" => LogFormat::Json,
        other => {
            return Err(format!(
                "--log.format: '{other}' is not one of logfmt, json"
            ))
        }
    };
    let compat = super::compat::read(matches)?;
    let collectors: Vec<&'static dyn crate::collectors::Collector> = COLLECTORS
        .iter()
        .copied()
        .filter(|c| {
            let name = c.name();
            if matches.get_flag(&format!("no-collector.{name}"))
                || (name == "settings" && compat.disable_settings)
            {
                return false;
            }
            matches
                .get_one::<bool>(&format!("collector.{name}"))
                .copied()
                .unwrap_or(c.enabled_by_default())
        })
        .collect();
    let tables = table_filter(
        flags.collectors.tables_include.as_deref(),
        flags.collectors.tables_exclude.as_deref(),
        &flags.collectors.tables_min_size,
    )?;
    if tables.min_size > 0.0 && !collectors.iter().any(|c| c.name() == "sizes") {
        return Err("--collector.tables.min-size: needs the sizes collector, which measures the tables (it is switched off)".into());
    }
    let max_series = max_series(&flags.collectors.max_series)?;
    Ok(Config {
        target,
        tls,
        web,
        listen_address,
        http,
        telemetry_path: flags.telemetry_path,
        openmetrics: flags.enable_openmetrics,
        collection_timeout,
        max_connections,
        collectors,
        config_file: flags.config_file,
        loaded,
        query_paths: flags.collectors.query_paths,
        options: Options {
            long_running_thresholds,
            stat_statements_limit,
            custom_query_max_rows,
            query_text_length: if compat.include_query {
                query_text_length
            } else {
                0
            },
            stat_statements_exclude_databases: flags.collectors.stat_statements_exclude_databases,
            stat_statements_exclude_users: flags.collectors.stat_statements_exclude_users,
            metric_prefix: compat.metric_prefix,
            dead_ratio,
            backup_paths: flags.collectors.backup_paths,
            logs_directory: flags.collectors.logs_directory,
            logs_max_read_bytes,
            stat_statements_recent_limit,
            stat_statements_recent_hold,
            database_size_interval,
            excluded_databases: discovery.exclude().to_vec(),
            bloat_method,
            bloat_min_size: bloat_min_size as f64,
            bloat_pgstattuple_limit,
            min_intervals,
            tables,
            max_series,
        },
        discovery: flags.auto_discover_databases.then_some(discovery),
        log_level,
        log_format,
        constant_labels: compat.constant_labels,
        warnings: compat.warnings,
    })
}

/// `--collector.tables.include`, `--collector.tables.exclude` (regular
/// expressions matching the whole `schemaname.relname`) and `--collector.tables.min-size`.
fn table_filter(
    include: Option<&str>,
    exclude: Option<&str>,
    min_size: &str,
) -> Result<TableFilter, String> {
    let pattern = |flag: &str, text: Option<&str>| {
        text.map(|text| {
            regex::Regex::new(&format!("^(?:{text})$")).map_err(|err| {
                let why = err.to_string();
                let why = why.lines().last().unwrap_or_default().trim();
                format!("{flag}: '{text}' is not a valid regular expression: {why}")
            })
        })
        .transpose()
    };
    Ok(TableFilter {
        include: pattern("--collector.tables.include", include)?,
        exclude: pattern("--collector.tables.exclude", exclude)?,
        min_size: number_in::<u64>("--collector.tables.min-size", min_size, 0..=u64::MAX)? as f64,
    })
}

/// `--collector.max-series`: `N` for every collector, `NAME=N` for one (which wins).
fn max_series(items: &[String]) -> Result<std::collections::BTreeMap<&'static str, usize>, String> {
    const FLAG: &str = "--collector.max-series";
    let mut every = None;
    let mut named = std::collections::BTreeMap::new();
    for item in items.iter().map(|item| item.trim()) {
        match item.split_once('=') {
            Some((name, n)) => {
                let collector = COLLECTORS
                    .iter()
                    .find(|c| c.name() == name.trim())
                    .ok_or_else(|| format!("{FLAG}: '{name}' is not a collector"))?;
                named.insert(
                    collector.name(),
                    number_in(FLAG, n.trim(), 1..=1_000_000_000)?,
                );
            }
            None => every = Some(number_in(FLAG, item, 1..=1_000_000_000)?),
        }
    }
    if let Some(n) = every {
        for collector in COLLECTORS {
            named.entry(collector.name()).or_insert(n);
        }
    }
    Ok(named)
}

/// The paths the exporter serves besides the telemetry path.
const BUILT_IN_PATHS: [&str; 5] = ["/", "/probe", "/-/reload", "/healthz", "/readyz"];

/// `--web.telemetry-path`: a plain path (segments of letters, digits, `-`,
/// `.`, `_`, `~`) that no built-in endpoint serves, so that every route is
/// literal and none can overlap another.
fn telemetry_path(path: &str) -> Result<(), String> {
    let plain = path.len() <= 256
        && path.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|segment| {
                !matches!(segment, "" | "." | "..")
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            })
        });
    if !plain {
        return Err(format!(
            "--web.telemetry-path: {path:?} is not a plain path such as /metrics (a '/' before each segment of letters, digits, '-', '.', '_' or '~'; at most 256 characters)"
        ));
    }
    if BUILT_IN_PATHS.contains(&path) {
        return Err(format!(
            "--web.telemetry-path: {path:?} is taken by a built-in endpoint"
        ));
    }
    Ok(())
}
