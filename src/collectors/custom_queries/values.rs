//! Values of custom queries read from text, as the simple query protocol
//! returns every column: numbers, booleans, timestamps, intervals (DURATION)
//! and the arrays of a HISTOGRAM column; and the warning about values that
//! cannot be read.

use super::{TextRow, Usage};
use crate::metrics::Buckets;

/// A HISTOGRAM column's sum and buckets: `bounds` is the column's array of
/// upper bounds, the row's `<column>_bucket` the cumulative counts,
/// `<column>_sum` and `<column>_count` the rest. `None` when any is missing
/// or they contradict each other.
pub(super) fn histogram<R: TextRow>(row: &R, column: &str, bounds: &str) -> Option<(f64, Buckets)> {
    let bounds = numbers(bounds)?;
    let cumulative = numbers(row.cell(&format!("{column}_bucket"))?)?;
    let sum = value(row.cell(&format!("{column}_sum"))?, Usage::Gauge)?;
    let count = value(row.cell(&format!("{column}_count"))?, Usage::Gauge)?;
    Some((sum, Buckets::from_cumulative(&bounds, &cumulative, count)?))
}

/// A PostgreSQL array of numbers in text form (`{1,2.5,5}`).
fn numbers(array: &str) -> Option<Vec<f64>> {
    let inner = array.trim().strip_prefix('{')?.strip_suffix('}')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok())
        .collect()
}

/// A text value from PostgreSQL as a number: numbers, booleans (`t`/`f`),
/// timestamps (`2026-11-25 12:00:00+00`, as Unix seconds) and, for DURATION,
/// intervals in milliseconds. `None` when it is none of these.
pub fn value(text: &str, usage: Usage) -> Option<f64> {
    if usage == Usage::Duration {
        return interval_millis(text);
    }
    match text {
        "t" | "true" => return Some(1.0),
        "f" | "false" => return Some(0.0),
        _ => {}
    }
    text.parse::<f64>().ok().or_else(|| timestamp_seconds(text))
}

/// `1 day 02:03:04.5`, `02:03:04`, `-00:00:01` → milliseconds.
fn interval_millis(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if word.contains(':') {
            let negative = word.starts_with('-');
            let parts: Vec<f64> = word
                .trim_start_matches(['-', '+'])
                .split(':')
                .map(|p| p.parse().ok())
                .collect::<Option<_>>()?;
            let seconds = match parts[..] {
                [h, m, s] => h * 3600.0 + m * 60.0 + s,
                [h, m] => h * 3600.0 + m * 60.0,
                _ => return None,
            };
            total += if negative { -seconds } else { seconds };
            continue;
        }
        let amount: f64 = word.parse().ok()?;
        let unit = words.next()?;
        let factor = match unit.trim_end_matches('s') {
            "year" => 365.25 * 86400.0,
            "mon" => 30.0 * 86400.0,
            "day" => 86400.0,
            _ => return None,
        };
        total += amount * factor;
    }
    Some(total * 1000.0)
}

/// `2026-11-25 12:34:56.789+00` (or with `T`, `Z`, `+01:30`) → Unix seconds.
fn timestamp_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let mut ymd = date.split('-');
    let (y, m, d): (i64, i64, i64) = (
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
        ymd.next()?.parse().ok()?,
    );
    let rest = rest.trim_start_matches([' ', 'T']);
    let zone_at = rest.find(['+', '-', 'Z']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let mut hms = time.split(':');
    let h: f64 = hms
        .next()
        .filter(|s| !s.is_empty())
        .map_or(Some(0.0), |s| s.parse().ok())?;
    let mi: f64 = hms.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let s: f64 = hms.next().map_or(Some(0.0), |s| s.parse().ok())?;
    let offset = match zone {
        "" | "Z" => 0.0,
        z => {
            let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
            let mut parts = z[1..].split(':');
            let hours: f64 = parts.next()?.parse().ok()?;
            let minutes: f64 = parts.next().map_or(Some(0.0), |p| p.parse().ok())?;
            sign * (hours * 3600.0 + minutes * 60.0)
        }
    };
    let days = crate::text::days_from_civil(y, m, d);
    Some(days as f64 * 86400.0 + h * 3600.0 + mi * 60.0 + s - offset)
}

/// The values of a query's result that gave no sample although not NULL.
#[derive(Debug, PartialEq)]
pub(super) struct Unreadable {
    /// The first one's column, value and why it could not be read.
    pub(super) column: String,
    pub(super) value: String,
    pub(super) why: &'static str,
    /// How many there were.
    pub(super) count: usize,
}

/// Logs one warning when a query's values (in a database) start to be
/// unreadable or become unreadable in another column or way, and one line
/// when they are readable again; the query still serves its other series.
pub(super) fn warn_unreadable(datname: &str, query: &str, unreadable: Option<Unreadable>) {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static WARNED: OnceLock<Mutex<HashMap<(String, String), String>>> = OnceLock::new();
    let mut warned = WARNED
        .get_or_init(Default::default)
        .lock()
        .expect("warned lock");
    let key = (datname.to_string(), query.to_string());
    match unreadable {
        Some(u) => {
            let state = format!("{}: {}", u.column, u.why);
            if warned.get(&key) != Some(&state) {
                tracing::warn!(
                    query,
                    datname,
                    column = u.column,
                    value = u.value,
                    count = u.count,
                    "custom query values give no sample: the {} column's value {:?} {} ({} such values in this run; logged again only when this changes)",
                    u.column,
                    u.value,
                    u.why,
                    u.count
                );
                warned.insert(key, state);
            }
        }
        None => {
            if warned.remove(&key).is_some() {
                tracing::info!(query, datname, "custom query values are readable again");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_text() {
        assert_eq!(value("42", Usage::Gauge), Some(42.0));
        assert_eq!(value("-1.5e3", Usage::Gauge), Some(-1500.0));
        assert_eq!(value("t", Usage::Gauge), Some(1.0));
        assert_eq!(value("1970-01-02 00:00:00+00", Usage::Gauge), Some(86400.0));
        assert_eq!(
            value("2026-11-25 12:00:00.5+01", Usage::Gauge),
            Some(1_795_604_400.5)
        );
        assert_eq!(value("1970-01-01T00:00:10Z", Usage::Gauge), Some(10.0));
        assert_eq!(value("nonsense", Usage::Gauge), None);
        assert_eq!(value("00:00:01.5", Usage::Duration), Some(1500.0));
        assert_eq!(value("1 day 01:00:00", Usage::Duration), Some(90_000_000.0));
        assert_eq!(value("-00:00:02", Usage::Duration), Some(-2000.0));
    }
}
