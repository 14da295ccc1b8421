//! The data a collection produces, and its one encoding into exposition text.
//!
//! Collectors return [`Family`] values: a name, a help text, a type and rows of
//! label values with a number. Nothing here touches the database, so encoding
//! can never block on a query. A scrape is encoded once per format, by
//! [`encode`] or, for text format 0.0.4, as [`gzip`] parts compressed as each
//! collector finishes, keeping the rows in the order the collectors produced
//! them (the SQL's `ORDER BY`, or the exporter's for the per-table queries).

use std::borrow::Cow;
use std::sync::Arc;

mod encode;
pub mod gzip;

pub use encode::{encode, encode_into, ConstantLabels, Encoding, Format};
pub use gzip::Part;

/// Prometheus metric type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// A counter, named exactly as its samples are in text format 0.0.4
    /// (`_total` where the name has it; postgres_exporter's have none).
    Counter,
    /// A histogram: each sample carries its [`Buckets`]; its value is the sum.
    Histogram,
    /// No type (`untyped` in text format 0.0.4), where postgres_exporter
    /// serves one so.
    Untyped,
}

/// One metric family as a collector produced it.
#[derive(Debug, Clone)]
pub struct Family {
    /// The exact name of its samples in text format 0.0.4.
    pub name: Cow<'static, str>,
    pub help: Cow<'static, str>,
    pub kind: Kind,
    /// Label names, the same for every sample of the family.
    pub labels: &'static [&'static str],
    pub samples: Vec<Sample>,
}

/// One series: label values in the order of [`Family::labels`], and its value.
/// The label values are shared: a table's twenty families hold one copy. A
/// sample is a pointer and a number (16 bytes): a family of ten thousand
/// tables holds 160 KB of them.
#[derive(Debug, Clone)]
pub struct Sample {
    pub values: Labels,
    pub value: f64,
}

impl Sample {
    /// A histogram's buckets (`None` for gauges and counters).
    pub fn buckets(&self) -> Option<&Buckets> {
        self.values.0.buckets.as_deref()
    }
}

/// A series' label values, shared by every family that has the series, and
/// a histogram sample's buckets, which ride along (a histogram's label values
/// are its own). Equal and hashed as its values alone.
///
/// The values are kept in one string, each followed by a NUL: a table's
/// `[datname, schemaname, relname]` is two allocations (this and the shared
/// record), not one per value and one for the list. PostgreSQL's text never
/// holds a NUL; one in a value made here is replaced (U+FFFD).
#[derive(Clone)]
pub struct Labels(Arc<LabelSet>);

#[derive(Debug)]
struct LabelSet {
    packed: Box<str>,
    buckets: Option<Box<Buckets>>,
}

const END: char = '\0';

impl Labels {
    fn new<S: AsRef<str>>(values: &[S], buckets: Option<Box<Buckets>>) -> Labels {
        Labels::packed(pack(values), buckets)
    }

    /// From values already [`pack`]ed.
    fn packed(packed: String, buckets: Option<Box<Buckets>>) -> Labels {
        Labels(Arc::new(LabelSet {
            packed: packed.into_boxed_str(),
            buckets,
        }))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.0.packed.matches(END).count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.packed.is_empty()
    }

    /// The values, in order.
    pub fn iter(&self) -> std::str::SplitTerminator<'_, char> {
        self.0.packed.split_terminator(END)
    }

    /// The values as a list.
    pub fn to_vec(&self) -> Vec<&str> {
        self.iter().collect()
    }

    /// Whether both are one shared copy.
    pub fn shares(&self, other: &Labels) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// `values`, each followed by [`END`].
fn pack<S: AsRef<str>>(values: &[S]) -> String {
    let mut packed = String::with_capacity(values.iter().map(|v| v.as_ref().len() + 1).sum());
    for value in values {
        let value = value.as_ref();
        if value.contains(END) {
            packed.push_str(&value.replace(END, "\u{FFFD}"));
        } else {
            packed.push_str(value);
        }
        packed.push(END);
    }
    packed
}

impl std::ops::Index<usize> for Labels {
    type Output = str;
    fn index(&self, at: usize) -> &str {
        self.iter().nth(at).expect("label value index in range")
    }
}

impl std::fmt::Debug for Labels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl std::borrow::Borrow<str> for Labels {
    fn borrow(&self) -> &str {
        &self.0.packed
    }
}

impl PartialEq for Labels {
    fn eq(&self, other: &Labels) -> bool {
        self.0.packed == other.0.packed
    }
}

impl Eq for Labels {}

/// Value by value, each as UTF-8 bytes (a shorter value before a longer one
/// it begins): PostgreSQL's order for `name` and `COLLATE "C"` in UTF8 and
/// LATIN1 databases.
impl Ord for Labels {
    fn cmp(&self, other: &Labels) -> std::cmp::Ordering {
        self.0.packed.cmp(&other.0.packed)
    }
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Labels) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Labels {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

impl std::hash::Hash for Labels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.packed.hash(state)
    }
}

impl From<Vec<String>> for Labels {
    fn from(values: Vec<String>) -> Labels {
        Labels::new(&values, None)
    }
}

/// A histogram's observations: the number in each bucket (not cumulative),
/// by upper bound, the last bound `+Inf`; and their total count.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    pub count: u64,
    pub buckets: Vec<(f64, u64)>,
}

impl Buckets {
    /// From cumulative counts per upper bound (as a `_bucket` series says
    /// them) and the total count; `None` when they contradict each other
    /// (bounds not increasing or not finite, counts decreasing, above the
    /// total or not whole numbers a float holds exactly). A last bound of
    /// `+Inf` is the bucket that is always added: its count must be the total.
    pub fn from_cumulative(bounds: &[f64], cumulative: &[f64], count: f64) -> Option<Buckets> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        let whole = |n: f64| ((0.0..=EXACT).contains(&n) && n.fract() == 0.0).then_some(n as u64);
        let (bounds, cumulative) = match (bounds.last(), cumulative.last()) {
            (Some(&f64::INFINITY), Some(&total)) if bounds.len() == cumulative.len() => {
                if total != count {
                    return None;
                }
                (
                    &bounds[..bounds.len() - 1],
                    &cumulative[..cumulative.len() - 1],
                )
            }
            _ => (bounds, cumulative),
        };
        if bounds.len() != cumulative.len()
            || bounds
                .windows(2)
                .any(|w| w[0].partial_cmp(&w[1]) != Some(std::cmp::Ordering::Less))
        {
            return None;
        }
        let count = whole(count)?;
        let mut buckets = Vec::with_capacity(bounds.len() + 1);
        let mut below = 0;
        for (bound, total) in bounds.iter().zip(cumulative) {
            let total = whole(*total)?;
            if total < below || total > count || !bound.is_finite() {
                return None;
            }
            buckets.push((*bound, total - below));
            below = total;
        }
        buckets.push((f64::INFINITY, count - below));
        Some(Buckets { count, buckets })
    }
}

impl Family {
    /// An empty family; samples are pushed with [`Family::push`]. For names
    /// only known at run time; fixed families are made from a [`Desc`].
    pub fn new(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        kind: Kind,
        labels: &'static [&'static str],
    ) -> Self {
        Family {
            name: name.into(),
            help: help.into(),
            kind,
            labels,
            samples: Vec::new(),
        }
    }

    /// Adds one series. `values` must have one entry per label name.
    pub fn push(&mut self, values: impl Into<Labels>, value: f64) {
        let values = values.into();
        debug_assert_eq!(values.len(), self.labels.len(), "labels of {}", self.name);
        self.samples.push(Sample { values, value });
    }

    /// Adds one series of a histogram family: its sum and buckets.
    pub fn push_histogram<S: AsRef<str>>(&mut self, values: &[S], sum: f64, buckets: Buckets) {
        debug_assert_eq!(self.kind, Kind::Histogram, "{} is no histogram", self.name);
        debug_assert_eq!(values.len(), self.labels.len(), "labels of {}", self.name);
        self.samples.push(Sample {
            values: Labels::new(values, Some(Box::new(buckets))),
            value: sum,
        });
    }
}

/// Label values shared across families, collectors and collections: every
/// family of a table holds one copy of `[datname, schemaname, relname]`, and
/// the next collection reuses it. A set that nothing else holds any more is
/// let go by [`forget_unused_label_values`].
pub fn label_values<S: AsRef<str>>(values: &[S]) -> Labels {
    let packed = pack(values);
    let mut shared = LABEL_VALUES.lock().expect("label values lock");
    if let Some(existing) = shared.get(packed.as_str()) {
        return existing.clone();
    }
    let values = Labels::packed(packed, None);
    shared.insert(values.clone());
    values
}

/// Lets go of the label values no family holds any more (after a collection).
pub fn forget_unused_label_values() {
    LABEL_VALUES
        .lock()
        .expect("label values lock")
        .retain(|values| Arc::strong_count(&values.0) > 1);
}

static LABEL_VALUES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Labels>>> =
    std::sync::LazyLock::new(Default::default);

/// Label names known only at run time (a custom query's LABEL columns) as
/// the `'static` slice a [`Family`] borrows. Each distinct list is kept once
/// for the process's lifetime, so reloading the same queries adds nothing.
pub fn label_names(names: &[&str]) -> &'static [&'static str] {
    type Interned = std::collections::HashMap<Vec<String>, &'static [&'static str]>;
    static INTERNED: std::sync::OnceLock<std::sync::Mutex<Interned>> = std::sync::OnceLock::new();
    let key: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut interned = INTERNED
        .get_or_init(Default::default)
        .lock()
        .expect("label names lock");
    if let Some(found) = interned.get(&key) {
        return found;
    }
    let leaked: Vec<&'static str> = key
        .iter()
        .map(|n| &*Box::leak(n.clone().into_boxed_str()))
        .collect();
    let slice: &'static [&'static str] = Box::leak(leaked.into_boxed_slice());
    interned.insert(key, slice);
    slice
}

/// The fixed description of a family: what docs/metrics.md lists and the
/// `metrics` catalogue prints. Collectors declare theirs as constants and make
/// each scrape's [`Family`] from them, so code and catalogue cannot drift.
#[derive(Debug, Clone, Copy)]
pub struct Desc {
    /// The exact name of its samples in text format 0.0.4.
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

impl Desc {
    pub const fn gauge(
        name: &'static str,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Desc {
        Desc {
            name,
            kind: Kind::Gauge,
            labels,
            help,
        }
    }

    pub const fn untyped(
        name: &'static str,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Desc {
        Desc {
            name,
            kind: Kind::Untyped,
            labels,
            help,
        }
    }

    pub const fn histogram(
        name: &'static str,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Desc {
        Desc {
            name,
            kind: Kind::Histogram,
            labels,
            help,
        }
    }

    pub const fn counter(
        name: &'static str,
        labels: &'static [&'static str],
        help: &'static str,
    ) -> Desc {
        Desc {
            name,
            kind: Kind::Counter,
            labels,
            help,
        }
    }

    /// An empty family of this description.
    pub fn family(&self) -> Family {
        Family::new(self.name, self.help, self.kind, self.labels)
    }

    /// A family of this (label-less) description holding one value.
    pub fn single(&self, value: f64) -> Family {
        let mut family = self.family();
        family.push(Vec::new(), value);
        family
    }
}

#[cfg(test)]
mod tests;
