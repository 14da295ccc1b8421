//! The small parsers and formatters of user text that every other module may
//! use: durations in Go's notation, listen addresses, numbers and ratios of
//! flags, server versions, percent-escapes, one-line error messages and
//! civil dates. A leaf: it imports nothing from the crate.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Whether `name` is a Prometheus metric or label name
/// (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An error message made one line: newlines and other control characters
/// (a YAML key can hold them) are written as escapes.
pub fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Parses a duration such as `10s`, `500ms`, `1m30s` or `2h` (Go's notation, as
/// Prometheus and postgres_exporter use); a bare number means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return seconds_to_duration(seconds).ok_or_else(|| format!("invalid duration '{text}'"));
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration '{text}' lacks a unit (ms, s, m, h)"))?;
        if number_len == 0 {
            return Err(format!("invalid duration '{text}'"));
        }
        let value: f64 = rest[..number_len]
            .parse()
            .map_err(|_| format!("invalid duration '{text}'"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => {
                return Err(format!(
                    "unknown unit '{unit}' in duration '{text}' (use ms, s, m or h)"
                ))
            }
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    seconds_to_duration(total).ok_or_else(|| format!("invalid duration '{text}'"))
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && (0.0..1e9).contains(&seconds)).then(|| Duration::from_secs_f64(seconds))
}

/// Parses a listen address: `:9187` (all interfaces, as Prometheus exporters
/// write it), `127.0.0.1:9187`, `[::1]:9187` or `localhost:9187`.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.to_socket_addrs()
        .map_err(|_| format!("invalid listen address '{text}' (expected [host]:port)"))?
        .next()
        .ok_or_else(|| format!("listen address '{text}' resolves to nothing"))
}

/// Parses `text` as a number within `range`, naming `flag` when it is not.
pub fn number_in<T>(flag: &str, text: &str, range: std::ops::RangeInclusive<T>) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    text.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            format!(
                "{flag}: '{text}' is not a number from {} to {}",
                range.start(),
                range.end()
            )
        })
}

/// `0.2` or `20%` → 0.2, within 0 to 1.
pub fn parse_ratio(text: &str) -> Option<f64> {
    let text = text.trim();
    let value = match text.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok()? / 100.0,
        None => text.parse::<f64>().ok()?,
    };
    (0.0..=1.0).contains(&value).then_some(value)
}

/// clap's messages run over several lines (tips, usage); the first says what is wrong.
pub fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim()
        .to_string()
}

/// `%2F` escapes decoded (invalid ones kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every byte but unreserved ones (letters, digits, `-._~`) as a `%XX` escape.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Unix seconds now.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `14` → 140000, `14.2` → 140002, `140002` → 140002, `9.6` → 90600.
pub fn parse_version_num(text: &str) -> Option<i32> {
    let parts: Vec<i32> = text
        .trim()
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts[..] {
        [n] if n >= 10000 => Some(n),
        [major] => Some(major * 10000),
        [major, minor] if major < 10 => Some(major * 10000 + minor * 100),
        [major, minor] => Some(major * 10000 + minor),
        [major, minor, patch] if major < 10 => Some(major * 10000 + minor * 100 + patch),
        [major, minor, _] => Some(major * 10000 + minor),
        _ => None,
    }
}

/// The highest `server_version_num` a version written as an upper bound
/// covers: `18` is every 18.x (189999), `9.6` every 9.6.x (90699); a full
/// version (`14.2`, `9.6.3`) or a number (`140002`) is itself.
pub fn parse_version_upper(text: &str) -> Option<i32> {
    let exact = parse_version_num(text)?;
    let parts: Vec<i32> = text
        .trim()
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    Some(match parts[..] {
        [major] if major < 10000 => exact + 9999,
        [major, _] if major < 10 => exact + 99,
        _ => exact,
    })
}

/// postgres_exporter's `runonserver`: `>=13.0.0 <16.0.0` → inclusive bounds.
pub fn parse_semver_range(text: &str) -> Option<(Option<i32>, Option<i32>)> {
    let (mut low, mut high) = (None, None);
    for part in text.split_whitespace() {
        let (op, version) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| part.strip_prefix(op).map(|v| (*op, v)))?;
        let v = parse_version_num(version)?;
        match op {
            ">=" => low = Some(v),
            ">" => low = Some(v + 1),
            "<=" => high = Some(v),
            "<" => high = Some(v - 1),
            _ => (low, high) = (Some(v), Some(v)),
        }
    }
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_go_notation() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        for bad in ["", "abc", "10x", "s", "-1", "1e20", "NaN"] {
            assert!(parse_duration(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen_address(":9187").unwrap().port(), 9187);
        assert!(parse_listen_address(":9187").unwrap().ip().is_unspecified());
        assert_eq!(
            parse_listen_address("127.0.0.1:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert!(parse_listen_address("[::1]:9187").unwrap().is_ipv6());
        assert!(parse_listen_address("nonsense").is_err());
        assert!(parse_listen_address(":99999").is_err());
    }

    #[test]
    fn versions_and_ranges() {
        assert_eq!(parse_version_num("14"), Some(140000));
        assert_eq!(parse_version_num("9.6"), Some(90600));
        assert_eq!(parse_version_num("14.2"), Some(140002));
        assert_eq!(parse_version_num("140002"), Some(140002));
        assert_eq!(parse_version_upper("18"), Some(189999));
        assert_eq!(parse_version_upper("9"), Some(99999));
        assert_eq!(parse_version_upper("9.6"), Some(90699));
        assert_eq!(parse_version_upper("14.2"), Some(140002));
        assert_eq!(parse_version_upper("9.6.3"), Some(90603));
        assert_eq!(parse_version_upper("180000"), Some(180000));
        assert_eq!(parse_semver_range(">=14.0.0"), Some((Some(140000), None)));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn numbers_ratios_and_escapes() {
        assert_eq!(number_in("--n", " 7 ", 1..=10), Ok(7));
        assert!(number_in("--n", "11", 1..=10)
            .unwrap_err()
            .starts_with("--n: '11'"));
        assert_eq!(parse_ratio("20%"), Some(0.2));
        assert_eq!(parse_ratio("0.5"), Some(0.5));
        assert_eq!(parse_ratio("1.5"), None);
        assert_eq!(percent_decode("a%2Fb%zz"), "a/b%zz");
        assert_eq!(first_line("\n error: x\n\nUsage"), "error: x");
        assert_eq!(one_line("a\nb"), "a\\nb");
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn no_text_makes_the_duration_parser_panic(text in ".{0,80}") {
            // (parse_listen_address is left out: a host name would be resolved.)
            let _ = parse_duration(&text);
        }

        #[test]
        fn go_durations_parse_to_their_value(minutes in 0u64..1000, seconds in 0u64..60, millis in 0u64..1000) {
            let text = format!("{minutes}m{seconds}s{millis}ms");
            let expected = Duration::from_millis(minutes * 60_000 + seconds * 1000 + millis);
            let parsed = parse_duration(&text).unwrap();
            prop_assert!(parsed.abs_diff(expected) < Duration::from_micros(1), "{text}: {parsed:?}");
        }
    }
}
