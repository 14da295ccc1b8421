//! A collection in text format 0.0.4 as parts: families, or a collector's
//! families already encoded and compressed together. Compressed parts are
//! raw deflate ending in a full flush, which starts the compressor afresh, so
//! parts compressed apart (each as its collector finishes, in any order)
//! join, in output order, into one valid gzip stream. A collection that
//! keeps its families compressed holds about a twentieth of their samples'
//! memory.

use std::borrow::Cow;

use flate2::{Compress, Compression, Crc, Decompress, FlushCompress, FlushDecompress};

use super::encode::{prometheus_text, prometheus_text_in_pieces};
use super::{ConstantLabels, Family, Kind};

/// Families' text (format 0.0.4), compressed on its own.
#[derive(Debug)]
pub struct Compressed {
    /// The name and type of each family with samples (the others are
    /// written as nothing).
    pub names: Vec<(Cow<'static, str>, Kind)>,
    deflate: Vec<u8>,
    crc: Crc,
    /// Bytes of text.
    len: usize,
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
    /// The name and type of each family with samples in the part.
    pub fn names(&self) -> Vec<(&str, Kind)> {
        match self {
            Part::Family(f) if f.samples.is_empty() => Vec::new(),
            Part::Family(f) => vec![(&f.name, f.kind)],
            Part::Compressed(c) => c
                .names
                .iter()
                .map(|(name, kind)| (&**name, *kind))
                .collect(),
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
}

/// A compressor for [`compress`], at the fast level: the text repeats
/// itself, and a scrape's CPU matters more than a few bytes.
pub fn compressor() -> Compress {
    Compress::new(Compression::fast(), false)
}

/// Text handed to the compressor at a time: a family of ten thousand tables
/// is not held as text whole on its way to a compressed part.
const PIECE: usize = 64 * 1024;

/// Encodes `families` with `constant` labels and compresses them, as one
/// part, on their own.
pub fn compress(
    families: &[&Family],
    constant: &ConstantLabels,
    compressor: &mut Compress,
) -> Compressed {
    let mut crc = Crc::new();
    let mut deflate = Vec::new();
    let mut text = String::with_capacity(PIECE + 4096);
    let mut names = Vec::new();
    let mut len = 0;
    for (at, family) in families.iter().enumerate() {
        let mut take = |text: &mut String, end: bool| {
            crc.update(text.as_bytes());
            len += text.len();
            deflate_into(compressor, text.as_bytes(), end, &mut deflate);
            text.clear();
        };
        // Writing into a String cannot fail.
        let _ = prometheus_text_in_pieces(
            &mut text,
            std::slice::from_ref(*family),
            constant,
            PIECE,
            &mut |text| take(text, false),
        );
        take(&mut text, at + 1 == families.len());
        if !family.samples.is_empty() {
            names.push((family.name.clone(), family.kind));
        }
    }
    if families.is_empty() {
        deflate_into(compressor, &[], true, &mut deflate);
    }
    deflate.shrink_to_fit();
    Compressed {
        names,
        deflate,
        crc,
        len,
    }
}

/// Compresses `input`; at the `end`, flushes fully: the output ends on a
/// byte boundary and the next input starts with an empty dictionary.
fn deflate_into(compressor: &mut Compress, mut input: &[u8], end: bool, out: &mut Vec<u8>) {
    let flush = if end {
        FlushCompress::Full
    } else {
        FlushCompress::None
    };
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(4096));
        }
        let before = compressor.total_in();
        compressor
            .compress_vec(input, out, flush)
            .expect("deflate into memory cannot fail");
        input = &input[(compressor.total_in() - before) as usize..];
        if input.is_empty() && (!end || out.len() < out.capacity()) {
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
    // Families still in samples are compressed a run at a time.
    let mut run: Vec<&Family> = Vec::new();
    let mut flush = |run: &mut Vec<&Family>, out: &mut Vec<u8>, crc: &mut Crc| {
        if !run.is_empty() {
            let compressor = compressor.get_or_insert_with(self::compressor);
            let c = compress(run, constant, compressor);
            out.extend_from_slice(&c.deflate);
            crc.combine(&c.crc);
            run.clear();
        }
    };
    for part in parts {
        match part {
            Part::Compressed(c) => {
                flush(&mut run, &mut out, &mut crc);
                out.extend_from_slice(&c.deflate);
                crc.combine(&c.crc);
            }
            Part::Family(family) => run.push(family),
        }
    }
    flush(&mut run, &mut out, &mut crc);
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
                // Room for all of it: one call inflates the whole part.
                out.reserve(c.len);
                let start = out.len();
                Decompress::new(false)
                    .decompress_vec(&c.deflate, &mut out, FlushDecompress::Sync)
                    .expect("a part compressed here inflates");
                assert_eq!(out.len() - start, c.len, "a part inflates whole");
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
        // Compressed in reverse order with one compressor (the last two
        // together), then put in output order; one left as samples.
        let all = families();
        let mut compressor = compressor();
        let last_two = compress(&[&all[2], &all[3]], &constant, &mut compressor);
        let first = compress(&[&all[0]], &constant, &mut compressor);
        let mut parts = vec![
            Part::Compressed(first),
            Part::Family(families().remove(1)),
            Part::Compressed(last_two),
        ];
        let names: Vec<&str> = parts[2].names().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["pg_demo_scans"], "only families with samples");
        let body = gzip(&parts, &constant);
        let mut inflated = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut inflated)
            .unwrap();
        assert_eq!(inflated, expected);
        assert_eq!(
            String::from_utf8(text(&parts, &constant)).unwrap(),
            expected
        );
        assert!(
            body.len() * 5 < expected.len(),
            "{} of {}",
            body.len(),
            expected.len()
        );
        // A part left out: the rest is still one valid stream.
        parts.remove(1);
        let mut rest = String::new();
        flate2::read::GzDecoder::new(&gzip(&parts, &constant)[..])
            .read_to_string(&mut rest)
            .unwrap();
        assert!(rest.starts_with("# HELP pg_up Up.\n"));
        assert!(!rest.contains("pg_demo_rows"));
        assert!(rest.contains("pg_demo_scans{relname=\"table_299\",cluster=\"a\"} 747.5\n"));
    }

    #[test]
    fn an_empty_collection_is_a_valid_empty_stream() {
        let body = gzip(&[], &Arc::from(Vec::new()));
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert!(inflated.is_empty());
    }
}
