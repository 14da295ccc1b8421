//! The one encoding of a scrape's families into exposition text, in the
//! format the scraper asked for (synchronous: it never touches the database).
//!
//! Prometheus text format 0.0.4 is written here, because every family must be
//! served under its exact name: postgres_exporter's counters such as
//! `pg_stat_database_xact_commit` have no `_total`, which prometheus-client's
//! text encoder would add. OpenMetrics 1.0, served only when switched on, goes
//! through prometheus-client, whose counter samples end in `_total` as that
//! format requires.

use std::fmt::Write;
use std::sync::Arc;

use prometheus_client::collector::Collector as ClientCollector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeMetric, LabelSetEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::{Family, Kind};

/// The two exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4, what postgres_exporter serves.
    PrometheusText,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

const OPENMETRICS: &str = "application/openmetrics-text";

impl Format {
    /// Picks the format from the HTTP `Accept` header: OpenMetrics only when
    /// `openmetrics` is switched on and the header names
    /// `application/openmetrics-text` with a weight above 0 and at least that
    /// of `text/plain`; the text format otherwise. As client_golang does, a
    /// wildcard (`*/*`, `text/*`) gets the text format. Parameter names are
    /// case-insensitive; a weight that is not a number from 0 to 1 (RFC 9110:
    /// at most three decimals) makes its range count for nothing.
    pub fn negotiate(accept: Option<&str>, openmetrics: bool) -> Format {
        let Some(accept) = accept.filter(|_| openmetrics) else {
            return Format::PrometheusText;
        };
        let weight = |media: &str| weight_of(accept, media).unwrap_or(0.0);
        let open = weight(OPENMETRICS);
        if open > 0.0 && open >= weight("text/plain") {
            Format::OpenMetrics
        } else {
            Format::PrometheusText
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The content coding of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// Picks the coding from the HTTP `Accept-Encoding` header (RFC 9110):
    /// gzip when `gzip` (or `x-gzip`, or else `*`) has a weight above 0 and
    /// at least the weight the header gives `identity` (by name, or else by
    /// `*`), as client_golang chooses. Without the header: identity.
    pub fn negotiate(accept_encoding: Option<&str>) -> Encoding {
        let Some(header) = accept_encoding else {
            return Encoding::Identity;
        };
        let any = weight_of(header, "*");
        let gzip = weight_of(header, "gzip")
            .or_else(|| weight_of(header, "x-gzip"))
            .or(any)
            .unwrap_or(0.0);
        let identity = weight_of(header, "identity").or(any).unwrap_or(0.0);
        if gzip > 0.0 && gzip >= identity {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` header's value, if any.
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
        }
    }
}

/// The highest weight a header of `name[;q=w], ...` items (`Accept`,
/// `Accept-Encoding`) gives `name`, compared case-insensitively; `None` when
/// it does not name it. Parameter names are case-insensitive; a weight that is
/// not a number from 0 to 1 (RFC 9110: at most three decimals) makes its item
/// count for nothing.
fn weight_of(header: &str, name: &str) -> Option<f64> {
    header
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            if !parts.next()?.trim().eq_ignore_ascii_case(name) {
                return None;
            }
            let mut q = 1.0;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                if key.trim().eq_ignore_ascii_case("q") {
                    q = parse_weight(value.trim())?;
                }
            }
            Some(q)
        })
        .reduce(f64::max)
}

/// Labels added to every series (`--constantLabels`): name and value. A
/// family that has a label of the same name keeps its own.
pub type ConstantLabels = Arc<[(String, String)]>;

/// An HTTP weight (`0`, `0.5`, `1.000`): at most three decimals, from 0 to 1.
fn parse_weight(text: &str) -> Option<f64> {
    let (whole, decimals) = text.split_once('.').unwrap_or((text, ""));
    let valid = matches!(whole, "0" | "1")
        && decimals.len() <= 3
        && decimals.bytes().all(|b| b.is_ascii_digit())
        && (whole == "0" || decimals.bytes().all(|b| b == b'0'));
    valid.then(|| text.parse().ok()).flatten()
}

/// Encodes the families of one scrape into `format`, with `constant` labels
/// on every series; families without samples are left out.
pub fn encode(
    families: impl Into<Arc<Vec<Family>>>,
    format: Format,
    constant: &ConstantLabels,
) -> String {
    let mut text = Vec::with_capacity(64 * 1024);
    encode_into(&families.into(), format, constant, &mut text)
        .expect("writing into a Vec cannot fail");
    String::from_utf8(text).expect("the encoders write UTF-8")
}

/// How much text is built before it is handed to the writer.
const CHUNK: usize = 64 * 1024;

/// [`encode`] into a writer, a piece at a time: text format 0.0.4 is handed
/// over every [`CHUNK`] bytes, so a compressing writer never sees the whole
/// text at once. (OpenMetrics goes through prometheus-client, which writes
/// into one string.)
pub fn encode_into(
    families: &Arc<Vec<Family>>,
    format: Format,
    constant: &ConstantLabels,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut text = String::with_capacity(CHUNK + 4096);
    match format {
        Format::PrometheusText => {
            for family in families.iter() {
                // Writing into a String cannot fail.
                let _ = prometheus_text(&mut text, std::slice::from_ref(family), constant);
                if text.len() >= CHUNK {
                    out.write_all(text.as_bytes())?;
                    text.clear();
                }
            }
        }
        Format::OpenMetrics => {
            let mut registry = Registry::default();
            registry.register_collector(Box::new(Families(
                Arc::clone(families),
                Arc::clone(constant),
            )));
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
    }
    out.write_all(text.as_bytes())
}

/// Text format 0.0.4: each family's HELP and TYPE, then its samples under the
/// family's exact name (a histogram's as `_bucket`, `_sum` and `_count`).
pub(super) fn prometheus_text(
    out: &mut String,
    families: &[Family],
    constant: &[(String, String)],
) -> std::fmt::Result {
    prometheus_text_in_pieces(out, families, constant, usize::MAX, &mut |_| {})
}

/// [`prometheus_text`], handing `out` to `take` whenever it holds `piece`
/// bytes or more (at the end of a sample); `take` empties it. What is left
/// at the end stays in `out`.
pub(super) fn prometheus_text_in_pieces(
    out: &mut String,
    families: &[Family],
    constant: &[(String, String)],
    piece: usize,
    take: &mut dyn FnMut(&mut String),
) -> std::fmt::Result {
    for family in families.iter().filter(|f| !f.samples.is_empty()) {
        let name = &*family.name;
        let constant: Vec<&(String, String)> = constant
            .iter()
            .filter(|(label, _)| !family.labels.contains(&label.as_str()))
            .collect();
        out.push_str("# HELP ");
        out.push_str(name);
        out.push(' ');
        escape(out, &family.help, false);
        let kind = match family.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Untyped => "untyped",
        };
        writeln!(out, "\n# TYPE {name} {kind}")?;
        for sample in &family.samples {
            let series = |out: &mut String, suffix: &str, le: Option<f64>| {
                out.push_str(name);
                out.push_str(suffix);
                let labels = family.labels.iter().copied().zip(sample.values.iter());
                let constant = constant
                    .iter()
                    .map(|(label, value)| (label.as_str(), value.as_str()));
                let mut first = true;
                for (label, value) in labels.chain(constant) {
                    out.push(if first { '{' } else { ',' });
                    first = false;
                    out.push_str(label);
                    out.push_str("=\"");
                    escape(out, value, true);
                    out.push('"');
                }
                if let Some(le) = le {
                    out.push(if first { '{' } else { ',' });
                    first = false;
                    out.push_str("le=\"");
                    go_float(out, le);
                    out.push('"');
                }
                if !first {
                    out.push('}');
                }
                out.push(' ');
            };
            match (sample.buckets(), family.kind) {
                (Some(buckets), Kind::Histogram) => {
                    let mut cumulative = 0;
                    for (bound, count) in &buckets.buckets {
                        cumulative += count;
                        series(out, "_bucket", Some(*bound));
                        writeln!(out, "{cumulative}")?;
                    }
                    series(out, "_sum", None);
                    float(out, sample.value);
                    series(out, "_count", None);
                    writeln!(out, "{}", buckets.count)?;
                }
                _ => {
                    series(out, "", None);
                    float(out, sample.value);
                }
            }
            if out.len() >= piece {
                take(out);
            }
        }
    }
    Ok(())
}

/// Escapes a help text (backslash, newline) or a label value (also `"`).
/// The text between two escaped characters is copied whole (a byte of an
/// ASCII character never occurs inside another character in UTF-8).
fn escape(out: &mut String, text: &str, quote: bool) {
    let mut rest = text;
    while let Some(at) = rest
        .bytes()
        .position(|b| b == b'\\' || b == b'\n' || (quote && b == b'"'))
    {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            _ => "\\\"",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A sample value and the end of its line: the shortest text that reads back
/// as the same float, `NaN`, `+Inf` or `-Inf`.
fn float(out: &mut String, value: f64) {
    let mut buffer = dtoa::Buffer::new();
    out.push_str(if value.is_finite() {
        buffer.format_finite(value)
    } else {
        nonfinite(value)
    });
    out.push('\n');
}

fn nonfinite(value: f64) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// A bucket bound as Go clients write `le` (`strconv.FormatFloat(v, 'g',
/// -1, 64)`): `1`, `0.25`, `1e+06`, `+Inf`, so series from either client are
/// the same series.
fn go_float(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(nonfinite(v));
    } else if v.fract() == 0.0 && v.abs() < 1e6 {
        let _ = write!(out, "{}", v as i64);
    } else if (1e-4..1e6).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let sci = format!("{v:e}");
        let (mantissa, exponent) = sci.split_once('e').expect("{:e} has an exponent");
        let exponent: i32 = exponent.parse().expect("{:e} exponent is a number");
        let _ = write!(out, "{mantissa}e{exponent:+03}");
    }
}

#[derive(Debug)]
struct Families(Arc<Vec<Family>>, ConstantLabels);

struct Labels<'a> {
    names: &'static [&'static str],
    values: &'a super::Labels,
    constant: &'a [(String, String)],
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        let own = self.names.iter().copied().zip(self.values.iter());
        let constant = self
            .constant
            .iter()
            .filter(|(name, _)| !self.names.contains(&name.as_str()))
            .map(|(name, value)| (name.as_str(), value.as_str()));
        for (name, value) in own.chain(constant) {
            prometheus_client::encoding::EncodeLabel::encode(
                &(name, value),
                encoder.encode_label(),
            )?;
        }
        Ok(())
    }
}

impl ClientCollector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in self.0.iter() {
            if family.samples.is_empty() {
                continue;
            }
            let metric_type = match family.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
                Kind::Histogram => MetricType::Histogram,
                Kind::Untyped => MetricType::Unknown,
            };
            // prometheus-client adds `_total` to a counter's samples.
            let name = match family.kind {
                Kind::Counter => family.name.strip_suffix("_total").unwrap_or(&family.name),
                _ => &family.name,
            };
            // prometheus-client writes HELP as given: escape it as OpenMetrics
            // requires (backslash, newline and, there, the double quote).
            let mut help = String::with_capacity(family.help.len());
            escape(&mut help, &family.help, true);
            let mut metric_encoder = encoder.encode_descriptor(name, &help, None, metric_type)?;
            for sample in &family.samples {
                let labels = Labels {
                    names: family.labels,
                    values: &sample.values,
                    constant: &self.1,
                };
                let mut sample_encoder = metric_encoder.encode_family(&labels)?;
                match (family.kind, sample.buckets()) {
                    (Kind::Histogram, Some(b)) => sample_encoder.encode_histogram::<NoLabelSet>(
                        sample.value,
                        b.count,
                        &b.buckets,
                        None,
                    )?,
                    (Kind::Counter, _) => ConstCounter::new(sample.value).encode(sample_encoder)?,
                    _ => ConstGauge::new(sample.value).encode(sample_encoder)?,
                }
            }
        }
        Ok(())
    }
}
