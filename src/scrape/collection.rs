//! A collection's result and its exposition bodies, each encoded once and
//! shared by every request that asks for it.

use std::sync::Arc;

use bytes::Bytes;

use crate::metrics::{encode, gzip, ConstantLabels, Encoding, Family, Format, Part};

/// The result of one collection, shared by every request that waited for it:
/// its families in output order, those of the text format already compressed
/// as their collectors finished ([`gzip`]).
#[derive(Debug)]
pub struct Collection {
    parts: Arc<Vec<Part>>,
    /// The exposition in each format and coding, encoded once, on the first
    /// request that asks for it: a hundred scrapers sharing a collection share
    /// the text, or the compressed bytes.
    encoded: [tokio::sync::OnceCell<Bytes>; 4],
}

impl Collection {
    pub(super) fn new(parts: Vec<Part>) -> Collection {
        Collection {
            parts: Arc::new(parts),
            encoded: Default::default(),
        }
    }

    /// The collection as exposition text in `format`, compressed as
    /// `encoding` says, with the process's `--constantLabels` (the same on
    /// every call: the bytes are kept). Encoding runs on a blocking thread.
    pub async fn body(
        &self,
        format: Format,
        encoding: Encoding,
        constant: &ConstantLabels,
    ) -> Bytes {
        let slot = &self.encoded[usize::from(format == Format::OpenMetrics) * 2
            + usize::from(encoding == Encoding::Gzip)];
        slot.get_or_init(|| {
            let parts = Arc::clone(&self.parts);
            let constant = Arc::clone(constant);
            async move {
                tokio::task::spawn_blocking(move || {
                    encode_body(&parts, format, encoding, &constant)
                })
                .await
                .expect("encoding does not panic")
            }
        })
        .await
        .clone()
    }
}

/// One exposition body. Text format 0.0.4 joins the parts as they are;
/// OpenMetrics, switched on only where the engine keeps every family whole
/// ([`super::Scraper::compressing`]), encodes the families.
fn encode_body(
    parts: &[Part],
    format: Format,
    encoding: Encoding,
    constant: &ConstantLabels,
) -> Bytes {
    let body = match format {
        Format::PrometheusText => match encoding {
            Encoding::Identity => gzip::text(parts, constant),
            Encoding::Gzip => gzip::gzip(parts, constant),
        },
        Format::OpenMetrics => {
            let families: Vec<Family> = parts
                .iter()
                .filter_map(|part| match part {
                    Part::Family(family) => Some(family.clone()),
                    Part::Compressed(_) => None,
                })
                .collect();
            let text = encode(families, format, constant).into_bytes();
            match encoding {
                Encoding::Identity => text,
                Encoding::Gzip => {
                    use std::io::Write;
                    let mut gzip =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    gzip.write_all(&text)
                        .and_then(|()| gzip.finish())
                        .expect("writing into a Vec cannot fail")
                }
            }
        }
    };
    Bytes::from(body)
}
