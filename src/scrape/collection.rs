//! A collection's result and its exposition bodies, each encoded once and
//! shared by every request that asks for it.

use std::sync::Arc;

use bytes::Bytes;

use crate::metrics::{encode, encode_into, ConstantLabels, Encoding, Family, Format};

/// The result of one collection, shared by every request that waited for it.
#[derive(Debug)]
pub struct Collection {
    pub families: Arc<Vec<Family>>,
    /// The exposition in each format and coding, encoded once, on the first
    /// request that asks for it: a hundred scrapers sharing a collection share
    /// the text, or the compressed bytes.
    encoded: [tokio::sync::OnceCell<Bytes>; 4],
}

impl Collection {
    pub(super) fn new(families: Vec<Family>) -> Collection {
        Collection {
            families: Arc::new(families),
            encoded: Default::default(),
        }
    }

    /// The collection as exposition text in `format`, compressed as
    /// `encoding` says, with the process's `--constantLabels` (the same on
    /// every call: the bytes are kept). Encoding runs on a blocking thread;
    /// gzip is written a piece at a time, so the whole text is never held.
    pub async fn body(
        &self,
        format: Format,
        encoding: Encoding,
        constant: &ConstantLabels,
    ) -> Bytes {
        let slot = &self.encoded[usize::from(format == Format::OpenMetrics) * 2
            + usize::from(encoding == Encoding::Gzip)];
        slot.get_or_init(|| {
            let families = Arc::clone(&self.families);
            let constant = Arc::clone(constant);
            async move {
                tokio::task::spawn_blocking(move || {
                    encode_body(&families, format, encoding, &constant)
                })
                .await
                .expect("encoding does not panic")
            }
        })
        .await
        .clone()
    }
}

/// One exposition body: the text, or its gzip stream (fast compression: the
/// text repeats itself, and a scrape's CPU matters more than a few bytes).
fn encode_body(
    families: &Arc<Vec<Family>>,
    format: Format,
    encoding: Encoding,
    constant: &ConstantLabels,
) -> Bytes {
    match encoding {
        Encoding::Identity => Bytes::from(encode(Arc::clone(families), format, constant)),
        Encoding::Gzip => {
            let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encode_into(families, format, constant, &mut gzip)
                .and_then(|()| gzip.finish())
                .map(Bytes::from)
                .expect("writing into a Vec cannot fail")
        }
    }
}
