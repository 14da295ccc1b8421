//! The one encoding of a scrape's families into exposition text, through
//! prometheus-client (synchronous: it never touches the database), in the
//! format the scraper asked for.

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

/// The two exposition formats prometheus-client writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4, what most clients and promtool expect.
    PrometheusText,
    /// OpenMetrics 1.0 text, when the scraper asks for it.
    OpenMetrics,
}

impl Format {
    /// Picks the format from an HTTP `Accept` header.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(accept) if accept.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::PrometheusText,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::PrometheusText => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Encodes the families of one scrape into `format`.
pub fn encode(families: impl Into<Arc<Vec<Family>>>, format: Format) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Families(families.into())));
    let mut text = String::with_capacity(64 * 1024);
    let result = match format {
        Format::PrometheusText => {
            prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        }
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut text, &registry),
    };
    // Writing into a String cannot fail; the encoder only propagates the writer's errors.
    debug_assert!(result.is_ok());
    text
}

#[derive(Debug)]
struct Families(Arc<Vec<Family>>);

struct Labels<'a> {
    names: &'static [&'static str],
    values: &'a [String],
}

impl EncodeLabelSet for Labels<'_> {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        for (name, value) in self.names.iter().zip(self.values) {
            prometheus_client::encoding::EncodeLabel::encode(
                &(*name, value.as_str()),
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
            };
            let mut metric_encoder =
                encoder.encode_descriptor(&family.name, &family.help, None, metric_type)?;
            for sample in &family.samples {
                let labels = Labels {
                    names: family.labels,
                    values: &sample.values,
                };
                let mut sample_encoder = metric_encoder.encode_family(&labels)?;
                match (family.kind, &sample.buckets) {
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
