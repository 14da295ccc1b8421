//! `settings`: server settings from `pg_settings` (PostgreSQL 9.6+), as
//! postgres_exporter exposes them: every numeric and boolean setting as
//! `pg_settings_<name>` (dots become underscores), converted to base units and
//! suffixed (`pg_settings_autovacuum_naptime_seconds`,
//! `pg_settings_shared_buffers_bytes`), booleans as 0/1; and a short
//! allow-list of enum and string settings as `pg_setting_info{name,setting}`
//! = 1. The text of `archive_command` is never exported, only `set`, `unset`
//! or `disabled`.
//! `max_connections` and `superuser_reserved_connections` are left to the
//! `stat_activity` collector, which always reports them.

use futures::future::BoxFuture;

use super::rows::Cells;
use super::{CollectError, Collector, Context};
use crate::db::Conn;
use crate::metrics::{Desc, Family, Kind};

const SQL: &str = include_str!("../../queries/settings.sql");

/// Enum and string settings worth seeing on a dashboard or in an alert.
const INFO_SETTINGS: &[&str] = &[
    "archive_command",
    "archive_mode",
    "compute_query_id",
    "synchronous_commit",
    "track_functions",
    "wal_level",
];

/// Reported by `stat_activity` under the same names.
const ELSEWHERE: &[&str] = &["max_connections", "superuser_reserved_connections"];

static NUMERIC: Desc = Desc::gauge(
    "pg_settings_<name>",
    &[],
    "A numeric or boolean server setting, in base units: `_seconds` for times, `_bytes` for sizes; booleans as 0/1.",
);
static INFO: Desc = Desc::gauge(
    "pg_setting_info",
    &["name", "setting"],
    "Enum and string settings (archive_mode, wal_level, ...; archive_command only as set, unset or disabled); the value is always 1.",
);

/// The factor to base units and the name suffix for a `pg_settings.unit`.
fn unit(unit: &str) -> Option<(f64, &'static str)> {
    let (count, base) = match unit.find(|c: char| !c.is_ascii_digit()) {
        Some(0) | None => (1.0, unit),
        Some(i) => (unit[..i].parse::<f64>().ok()?, &unit[i..]),
    };
    let (factor, suffix) = match base {
        "" => (1.0, ""),
        "ms" => (0.001, "_seconds"),
        "s" => (1.0, "_seconds"),
        "min" => (60.0, "_seconds"),
        "h" => (3600.0, "_seconds"),
        "d" => (86400.0, "_seconds"),
        "B" => (1.0, "_bytes"),
        "kB" => (1024.0, "_bytes"),
        "MB" => (1024.0 * 1024.0, "_bytes"),
        "GB" => (1024.0 * 1024.0 * 1024.0, "_bytes"),
        "TB" => (1024.0 * 1024.0 * 1024.0 * 1024.0, "_bytes"),
        _ => return None,
    };
    Some((count * factor, suffix))
}

/// A setting name fit for a metric name.
fn metric_name(setting: &str, suffix: &str) -> String {
    let clean: String = setting
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("pg_settings_{clean}{suffix}")
}

#[derive(Debug)]
pub struct PgSettings;

impl Collector for PgSettings {
    fn name(&self) -> &'static str {
        "settings"
    }

    fn description(&self) -> &'static str {
        "Numeric and boolean server settings in base units, and a few enum settings as info"
    }

    fn metrics(&self) -> Vec<&'static Desc> {
        vec![&NUMERIC, &INFO]
    }

    fn fixed_names(&self) -> bool {
        false
    }

    fn collect<'a>(
        &'a self,
        conn: &'a mut Conn,
        _ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Vec<Family>, CollectError>> {
        Box::pin(async move { families(&conn.query(SQL, &[&INFO_SETTINGS]).await?) })
    }
}

/// One family per numeric or boolean setting (in base units), then the info
/// family of the allow-listed enum and string settings.
fn families<R: Cells>(rows: &[R]) -> Result<Vec<Family>, CollectError> {
    let mut families = Vec::with_capacity(rows.len());
    let mut info = INFO.family();
    for row in rows {
        let name = row.required_text("name")?;
        let setting = row.required_text("setting")?;
        let vartype = row.required_text("vartype")?;
        if INFO_SETTINGS.contains(&name.as_str()) {
            info.push(vec![name, setting], 1.0);
            continue;
        }
        if ELSEWHERE.contains(&name.as_str()) {
            continue;
        }
        let value = match vartype.as_str() {
            "bool" => Some(if setting == "on" { 1.0 } else { 0.0 }),
            _ => setting.parse::<f64>().ok(),
        };
        let (Some(value), Some((factor, suffix))) = (value, unit(&row.required_text("unit")?))
        else {
            continue;
        };
        let help = row.required_text("short_desc")?;
        let mut family = Family::new(
            metric_name(&name, suffix),
            format!("Server setting {name}: {help}"),
            Kind::Gauge,
            &[],
        );
        family.push(Vec::new(), value * factor);
        families.push(family);
    }
    families.push(info);
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestRow;
    use super::*;

    fn setting(name: &str, setting: &str, vartype: &str, unit: &str) -> TestRow {
        TestRow::default()
            .text("name", Some(name))
            .text("setting", Some(setting))
            .text("vartype", Some(vartype))
            .text("unit", Some(unit))
            .text("short_desc", Some("what it does"))
    }

    #[test]
    fn rows_become_base_unit_gauges_and_an_info_family() {
        let rows = [
            setting("shared_buffers", "16384", "integer", "8kB"),
            setting("autovacuum", "on", "bool", ""),
            setting("autovacuum_naptime", "60", "integer", "s"),
            setting("wal_level", "replica", "enum", ""),
            setting("max_connections", "100", "integer", ""),
            setting("search_path", "public", "string", ""),
            setting("light_years", "3", "integer", "ly"),
        ];
        let families = families(&rows).unwrap();
        let value = |name: &str| {
            let family = families
                .iter()
                .find(|f| f.name == name)
                .unwrap_or_else(|| panic!("{name}"));
            family.samples[0].value
        };
        assert_eq!(value("pg_settings_shared_buffers_bytes"), 16384.0 * 8192.0);
        assert_eq!(value("pg_settings_autovacuum"), 1.0);
        assert_eq!(value("pg_settings_autovacuum_naptime_seconds"), 60.0);
        assert_eq!(
            families[0].help,
            "Server setting shared_buffers: what it does"
        );
        let info = families.last().unwrap();
        assert_eq!(info.name, "pg_setting_info");
        assert_eq!(info.samples.len(), 1, "only allow-listed text settings");
        assert_eq!(info.samples[0].values, ["wal_level", "replica"]);
        assert_eq!(
            families.len(),
            4,
            "max_connections is elsewhere, text and unknown units are skipped"
        );
    }

    #[test]
    fn units_become_base_units() {
        assert_eq!(unit(""), Some((1.0, "")));
        assert_eq!(unit("ms"), Some((0.001, "_seconds")));
        assert_eq!(unit("min"), Some((60.0, "_seconds")));
        assert_eq!(unit("8kB"), Some((8192.0, "_bytes")));
        assert_eq!(unit("16MB"), Some((16.0 * 1024.0 * 1024.0, "_bytes")));
        assert_eq!(unit("parsecs"), None);
        assert_eq!(
            metric_name("pg_stat_statements.max", ""),
            "pg_settings_pg_stat_statements_max"
        );
        assert_eq!(
            metric_name("shared_buffers", "_bytes"),
            "pg_settings_shared_buffers_bytes"
        );
    }
}
