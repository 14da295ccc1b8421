//! A collection in text format 0.0.4 as parts: families, or families already
//! encoded and compressed. A family is compressed on its own — raw deflate
//! ending in a full flush, which starts the compressor afresh — so families
//! compressed apart (each as its collector finishes, in any order) join, in
//! output order, into one valid gzip stream, and one can still be left out.
//! A collection that keeps its families compressed holds about a twentieth
//! of their samples' memory.

use std::borrow::Cow;

use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress};

use super::encode::prometheus_text;
use super::{ConstantLabels, Family, Kind};

/// One family's text (format 0.0.4), compressed on its own.
#[derive(Debug)]
pub struct Compressed {
    pub name: Cow<'static, str>,
    pub kind: Kind,
    /// Whether it has samples (a family without is written as nothing).
    pub has_samples: bool,
    deflate: Vec<u8>,
    crc: Crc,
}

/// One piece of a collection, in output order.
#[derive(Debug)]
pub enum Part {
    Family(Family),
    Compressed(Compressed),
}

impl From<Family> for Part {
    fn from(family: Family) -> Part {
        Part::Family(family)
    }
}

impl Part {
    pub fn name(&self) -> &str {
        match self {
            Part::Family(f) => &f.name,
            Part::Compressed(c) => &c.name,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Part::Family(f) => f.kind,
            Part::Compressed(c) => c.kind,
        }
    }

    /// The family, when it is still in samples.
    pub fn family(&self) -> Option<&Family> {
        match self {
            Part::Family(f) => Some(f),
            Part::Compressed(_) => None,
        }
    }

    pub fn into_family(self) -> Option<Family> {
        match self {
            Part::Family(f) => Some(f),
            Part::Compressed(_) => None,
        }
    }

    pub fn has_samples(&self) -> bool {
        match self {
            Part::Family(f) => !f.samples.is_empty(),
            Part::Compressed(c) => c.has_samples,
        }
    }
}

/// A compressor for [`compress`], at the fast level: the text repeats
/// itself, and a scrape's CPU matters more than a few bytes.
pub fn compressor() -> Compress {
    Compress::new(Compression::fast(), false)
}

/// Encodes `family` with `constant` labels and compresses it on its own.
pub fn compress(family: &Family, constant: &ConstantLabels, compressor: &mut Compress) -> Compressed {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_text(&mut text, std::slice::from_ref(family), constant);
    let mut crc = Crc::new();
    crc.update(text.as_bytes());
    let mut deflate = Vec::with_capacity(text.len() / 8 + 64);
    deflate_into(compressor, text.as_bytes(), &mut deflate);
    deflate.shrink_to_fit();
    Compressed {
        name: family.name.clone(),
        kind: family.kind,
        has_samples: !family.samples.is_empty(),
        deflate,
        crc,
    }
}

/// Compresses `input` and flushes fully: the output ends on a byte boundary
/// and the next input starts with an empty dictionary.
fn deflate_into(compressor: &mut Compress, mut input: &[u8], out: &mut Vec<u8>) {
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let before = compressor.total_in();
        compressor
            .compress_vec(input, out, FlushCompress::Full)
            .expect("deflate into memory cannot fail");
        input = &input[(compressor.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            return;
        }
    }
}

/// The gzip stream of the parts in order (families still in samples are
/// compressed now).
pub fn gzip(parts: &[Part], constant: &ConstantLabels) -> Vec<u8> {
    let compressed: usize = parts
        .iter()
        .map(|part| match part {
            Part::Compressed(c) => c.deflate.len(),
            Part::Family(_) => 0,
        })
        .sum();
    let mut out = Vec::with_capacity(compressed + 64 * 1024);
    // Header: deflate, no name or time, unknown system.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let mut crc = Crc::new();
    let mut compressor = None;
    for part in parts {
        match part {
            Part::Compressed(c) => {
                out.extend_from_slice(&c.deflate);
                crc.combine(&c.crc);
            }
            Part::Family(family) => {
                let c = compress(family, constant, compressor.get_or_insert_with(self::compressor));
                out.extend_from_slice(&c.deflate);
                crc.combine(&c.crc);
            }
        }
    }
    // The last block: final, fixed codes, empty.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&crc.amount().to_le_bytes());
    out
}

/// The text of the parts in order, uncompressed.
pub fn text(parts: &[Part], constant: &ConstantLabels) -> Vec<u8> {
    let mut out = Vec::new();
    let mut text = String::new();
    for part in parts {
        match part {
            Part::Family(family) => {
                text.clear();
                let _ = prometheus_text(&mut text, std::slice::from_ref(family), constant);
                out.extend_from_slice(text.as_bytes());
            }
            Part::Compressed(c) => {
                out.reserve(c.crc.amount() as usize);
                let mut inflate = Decompress::new(false);
                inflate
                    .decompress_vec(&c.deflate, &mut out, FlushDecompress::Sync)
                    .expect("a part compressed here inflates");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::sync::Arc;

    use super::*;
    use crate::metrics::{encode, Format};

    fn families() -> Vec<Family> {
        let mut rows = Family::new("pg_demo_rows", "Rows.", Kind::Gauge, &["relname"]);
        for i in 0..5000 {
            rows.push(vec![format!("table_{i}")], f64::from(i));
        }
        let mut scans = Family::new("pg_demo_scans", "Scans.", Kind::Counter, &["relname"]);
        for i in 0..300 {
            scans.push(vec![format!("table_{i}")], f64::from(i) * 2.5);
        }
        let empty = Family::new("pg_demo_empty", "None.", Kind::Gauge, &[]);
        let mut up = Family::new("pg_up", "Up.", Kind::Gauge, &[]);
        up.push(Vec::new(), 1.0);
        vec![up, rows, empty, scans]
    }

    #[test]
    fn families_compressed_apart_and_in_any_order_make_the_same_text() {
        let constant: ConstantLabels = Arc::from(vec![("cluster".to_string(), "a".to_string())]);
        let expected = encode(families(), Format::PrometheusText, &constant);
        // Compressed in reverse order with one compressor, then put in
        // output order; one left as samples.
        let mut compressor = compressor();
        let mut parts: Vec<Part> = families()
            .iter()
            .rev()
            .map(|f| Part::Compressed(compress(f, &constant, &mut compressor)))
            .collect();
        parts.reverse();
        parts[2] = Part::Family(families().remove(2));
        let body = gzip(&parts, &constant);
        let mut inflated = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut inflated)
            .unwrap();
        assert_eq!(inflated, expected);
        assert_eq!(String::from_utf8(text(&parts, &constant)).unwrap(), expected);
        assert!(body.len() * 5 < expected.len(), "{} of {}", body.len(), expected.len());
        // A part left out: the rest is still one valid stream.
        parts.remove(1);
        let mut rest = String::new();
        flate2::read::GzDecoder::new(&gzip(&parts, &constant)[..])
            .read_to_string(&mut rest)
            .unwrap();
        assert!(rest.starts_with("# HELP pg_up Up.\n"));
        assert!(!rest.contains("pg_demo_rows") && rest.contains("pg_demo_scans{relname=\"table_299\",cluster=\"a\"} 747.5\n"));
    }

    #[test]
    fn an_empty_collection_is_a_valid_empty_stream() {
        let body = gzip(&[], &Arc::from(Vec::new()));
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut inflated).unwrap();
        assert!(inflated.is_empty());
    }
}
