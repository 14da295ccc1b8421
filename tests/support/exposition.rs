//! A parser for the Prometheus text exposition (format 0.0.4) and helpers to
//! read values from a scrape by family name and labels. It unescapes label
//! values and panics on malformed lines, so every scrape a test makes is also
//! a check that the exporter's output parses.

use std::collections::BTreeMap;

/// One series of a scrape.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed Prometheus text exposition.
#[derive(Debug)]
pub struct Metrics {
    pub series: Vec<Series>,
    /// `# TYPE` lines: family name → type.
    pub types: BTreeMap<String, String>,
}

impl Metrics {
    /// Parses text format 0.0.4, unescaping label values; panics on malformed lines.
    pub fn parse(text: &str) -> Metrics {
        let mut series = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_string(), kind.to_string());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            series.push(parse_series(line));
        }
        Metrics { series, types }
    }

    /// All series of `name` whose labels include `labels`.
    pub fn all(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Series> {
        self.series
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The value of the one series of `name` matching `labels`; `None` when
    /// there is none, a panic when several match.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let found = self.all(name, labels);
        assert!(
            found.len() <= 1,
            "{name} {labels:?} matches {} series",
            found.len()
        );
        found.first().map(|s| s.value)
    }

    /// Like [`Metrics::get`], panicking with the family's series when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or_else(|| {
            panic!(
                "{name} {labels:?} absent; series of {name}: {:#?}",
                self.all(name, &[])
            )
        })
    }
}

fn parse_series(line: &str) -> Series {
    let (name_end, mut labels) = match line.find('{') {
        Some(open) => (open, BTreeMap::new()),
        None => (line.find(' ').unwrap(), BTreeMap::new()),
    };
    let name = line[..name_end].to_string();
    let mut rest = &line[name_end..];
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        let mut key = String::new();
        loop {
            let (i, c) = chars.next().expect("unterminated labels");
            if c == '}' {
                rest = &inner[i + 1..];
                break;
            }
            if c == ',' {
                continue;
            }
            if c == '=' {
                assert_eq!(
                    chars.next().map(|(_, c)| c),
                    Some('"'),
                    "label value must be quoted: {line}"
                );
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next().expect("unterminated label value");
                    match c {
                        '"' => break,
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some('\\') => value.push('\\'),
                            Some('"') => value.push('"'),
                            other => panic!("bad escape {other:?} in {line}"),
                        },
                        c => value.push(c),
                    }
                }
                labels.insert(std::mem::take(&mut key), value);
                continue;
            }
            key.push(c);
        }
    }
    let value = rest.split_whitespace().next().expect("value");
    let value = match value {
        "+Inf" | "Inf" | "inf" => f64::INFINITY,
        "-Inf" | "-inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Series {
        name,
        labels,
        value,
    }
}

/// The `pg_scrape_collector_success` value of `collector`.
pub fn success(m: &Metrics, collector: &str) -> f64 {
    m.value("pg_scrape_collector_success", &[("collector", collector)])
}
