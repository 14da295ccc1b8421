//! The `health` subcommand: the maintenance guide's "Health Checks" (run
//! before and after major events) from a terminal or a cron job. It connects
//! once with the exporter's own session settings, prints database size,
//! connections, active queries, tables needing VACUUM, blocked sessions, the
//! oldest open transaction and whether pg_stat_statements is installed, as an
//! aligned table or JSON, and tells by its exit code whether any check is over
//! its threshold (1) or all are fine (0).

use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, HealthOutput as Output};
use crate::db::{error_chain, APPLICATION_NAME};

const SQL: &str = include_str!("../../queries/health_check.sql");

/// Connection use above which the check fails.
const CONNECTIONS_LIMIT: f64 = 0.8;
/// The guide's emergency procedures act on queries older than 5 minutes.
const OLDEST_TRANSACTION_LIMIT_SECONDS: f64 = 300.0;

/// One line of the health table.
#[derive(Debug, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub value: String,
    /// What makes the check fail, in words; empty when nothing does.
    pub threshold: String,
    pub ok: bool,
}

/// Runs the checks and prints them; returns the process exit code.
pub async fn run(config: Config, output: Output) -> i32 {
    match checks(config).await {
        Ok(checks) => {
            print!("{}", render(&checks, output));
            if checks.iter().all(|c| c.ok) {
                0
            } else {
                1
            }
        }
        Err(message) => {
            eprintln!("festival-pg-exporter health: {message}");
            1
        }
    }
}

async fn checks(config: Config) -> Result<Vec<Check>, String> {
    let timeout = config.collection_timeout;
    let pool = super::one_session(&config);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut conn = pool.acquire(deadline).await.map_err(|e| error_chain(&e))?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&config.options.dead_ratio, &APPLICATION_NAME];
    let rows = tokio::time::timeout(timeout + Duration::from_secs(1), conn.query(SQL, &params))
        .await
        .map_err(|_| "the health query did not finish in time".to_string())?
        .map_err(|e| error_chain(&e))?;
    let row = rows.first().ok_or("the health query returned nothing")?;
    let get = |name: &str| row.try_get::<_, f64>(name).map_err(|e| error_chain(&e));
    let datname: String = row.try_get("datname").map_err(|e| error_chain(&e))?;
    let connections = get("connections")?;
    let usable = get("usable_connections")?;
    let needing_vacuum = get("tables_needing_vacuum")?;
    let blocked = get("blocked_sessions")?;
    let oldest = get("oldest_transaction_seconds")?;
    let statements: bool = row
        .try_get("pg_stat_statements")
        .map_err(|e| error_chain(&e))?;
    conn.reusable();
    Ok(vec![
        Check {
            check: "Database",
            value: datname,
            threshold: String::new(),
            ok: true,
        },
        Check {
            check: "Database Size",
            value: human_bytes(get("database_size_bytes")?),
            threshold: String::new(),
            ok: true,
        },
        Check {
            check: "Total Connections",
            value: format!("{connections} of {usable}"),
            threshold: format!("> {:.0}% of usable", CONNECTIONS_LIMIT * 100.0),
            ok: connections <= CONNECTIONS_LIMIT * usable,
        },
        Check {
            check: "Active Queries",
            value: get("active_queries")?.to_string(),
            threshold: String::new(),
            ok: true,
        },
        Check {
            check: "Tables Needing VACUUM",
            value: needing_vacuum.to_string(),
            threshold: format!(
                "> 0 with dead ratio > {:.0}%",
                config.options.dead_ratio * 100.0
            ),
            ok: needing_vacuum == 0.0,
        },
        Check {
            check: "Blocked Sessions",
            value: blocked.to_string(),
            threshold: "> 0".into(),
            ok: blocked == 0.0,
        },
        Check {
            check: "Oldest Transaction",
            value: format!("{oldest:.0} s"),
            threshold: format!("> {OLDEST_TRANSACTION_LIMIT_SECONDS:.0} s"),
            ok: oldest <= OLDEST_TRANSACTION_LIMIT_SECONDS,
        },
        Check {
            check: "pg_stat_statements",
            value: if statements { "installed" } else { "missing" }.into(),
            threshold: "missing".into(),
            ok: statements,
        },
    ])
}

/// The table as text or JSON.
pub fn render(checks: &[Check], output: Output) -> String {
    match output {
        Output::Json => serde_json::to_string_pretty(checks).unwrap_or_default() + "\n",
        Output::Text => {
            let width = |f: fn(&Check) -> usize| checks.iter().map(f).max().unwrap_or(0);
            let (w_check, w_value) = (
                width(|c| c.check.len()).max(5),
                width(|c| c.value.chars().count()).max(5),
            );
            let mut text = format!(
                "{:w_check$}  {:w_value$}  STATUS  THRESHOLD\n",
                "CHECK", "VALUE"
            );
            for c in checks {
                let status = if c.ok { "ok" } else { "FAIL" };
                text.push_str(
                    format!(
                        "{:w_check$}  {:w_value$}  {status:6}  {}",
                        c.check, c.value, c.threshold
                    )
                    .trim_end(),
                );
                text.push('\n');
            }
            text
        }
    }
}

/// Bytes as the guide's pg_size_pretty would show them.
fn human_bytes(bytes: f64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 10240.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.0} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_rendering() {
        assert_eq!(human_bytes(8000.0), "8000 bytes");
        assert_eq!(human_bytes(7_700_000.0), "7520 kB");
        assert_eq!(human_bytes(80.0 * 1024.0 * 1024.0), "80 MB");
        let checks = vec![
            Check {
                check: "A",
                value: "1".into(),
                threshold: String::new(),
                ok: true,
            },
            Check {
                check: "Longer",
                value: "22".into(),
                threshold: "> 0".into(),
                ok: false,
            },
        ];
        assert_eq!(
            render(&checks, Output::Text),
            "CHECK   VALUE  STATUS  THRESHOLD\nA       1      ok\nLonger  22     FAIL    > 0\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render(&checks, Output::Json)).unwrap();
        assert_eq!(json[1]["ok"], false);
        assert_eq!(json[1]["check"], "Longer");
    }
}
