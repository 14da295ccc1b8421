//! The data a collection produces, and its one encoding into exposition text.
//!
//! Collectors return [`Family`] values: a name, a help text, a type and rows of
//! label values with a number. Nothing here touches the database, so encoding
//! can never block on a query. The whole scrape is encoded once per format, by
//! [`encode`], keeping the rows in the order the collectors produced them (the
//! SQL's `ORDER BY`).

use std::borrow::Cow;
use std::sync::Arc;

mod encode;

pub use encode::{encode, ConstantLabels, Format};

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
/// The label values are shared: a table's twenty families hold one copy.
#[derive(Debug, Clone)]
pub struct Sample {
    pub values: Arc<[String]>,
    pub value: f64,
    /// A histogram's buckets (`None` for gauges and counters).
    pub buckets: Option<Box<Buckets>>,
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
    pub fn push(&mut self, values: impl Into<Arc<[String]>>, value: f64) {
        let values = values.into();
        debug_assert_eq!(values.len(), self.labels.len(), "labels of {}", self.name);
        self.samples.push(Sample {
            values,
            value,
            buckets: None,
        });
    }

    /// Adds one series of a histogram family: its sum and buckets.
    pub fn push_histogram(&mut self, values: impl Into<Arc<[String]>>, sum: f64, buckets: Buckets) {
        let values = values.into();
        debug_assert_eq!(self.kind, Kind::Histogram, "{} is no histogram", self.name);
        debug_assert_eq!(values.len(), self.labels.len(), "labels of {}", self.name);
        self.samples.push(Sample {
            values,
            value: sum,
            buckets: Some(Box::new(buckets)),
        });
    }
}

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
mod tests {
    use super::*;

    #[test]
    fn names_are_exact_and_labels_are_escaped_in_order() {
        let mut gauge = Family::new(
            "pg_demo",
            "A demo gauge.\nSecond \\ line.",
            Kind::Gauge,
            &["relname", "mode"],
        );
        gauge.push(vec!["b\"q\\\n".into(), "x".into()], 2.5);
        gauge.push(vec!["a".into(), "y".into()], 1.0);
        let counter = Desc::counter("pg_demo_events_total", &[], "Events.").single(7.0);
        let bare = Desc::counter("pg_stat_database_xact_commit", &["datname"], "Commits.");
        let mut bare = bare.family();
        bare.push(vec!["festivals".into()], 1e21);
        let odd = Desc::gauge("pg_odd", &[], "Odd.");
        let odd: Vec<Family> = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.5]
            .map(|v| odd.single(v))
            .into();
        let empty = Desc::gauge("pg_nothing", &["x"], "No rows.").family();
        let untyped = Desc::untyped("pg_static", &[], "Version.").single(1.0);
        let mut families = vec![gauge, counter, bare, empty, untyped];
        families.extend(odd);
        let none = ConstantLabels::from([]);
        let text = encode(families.clone(), Format::PrometheusText, &none);
        let expected = "# HELP pg_demo A demo gauge.\\nSecond \\\\ line.\n# TYPE pg_demo gauge\n\
             pg_demo{relname=\"b\\\"q\\\\\\n\",mode=\"x\"} 2.5\npg_demo{relname=\"a\",mode=\"y\"} 1.0\n\
             # HELP pg_demo_events_total Events.\n# TYPE pg_demo_events_total counter\n\
             pg_demo_events_total 7.0\n\
             # HELP pg_stat_database_xact_commit Commits.\n# TYPE pg_stat_database_xact_commit counter\n\
             pg_stat_database_xact_commit{datname=\"festivals\"} 1e21\n";
        assert!(
            text.contains("# TYPE pg_static untyped\npg_static 1.0\n"),
            "{text}"
        );
        let odd_lines = ["pg_odd NaN", "pg_odd +Inf", "pg_odd -Inf", "pg_odd -0.5"];
        assert!(text.starts_with(expected), "{text}");
        for line in odd_lines {
            assert!(text.contains(&format!("\n{line}\n")), "{line} in {text}");
        }
        // OpenMetrics: a counter family's samples end in _total, whether or
        // not its name does; the text ends with # EOF.
        let open = encode(families, Format::OpenMetrics, &none);
        for line in [
            "# TYPE pg_demo_events counter\npg_demo_events_total 7.0\n",
            "# TYPE pg_stat_database_xact_commit counter\n",
            "pg_stat_database_xact_commit_total{datname=\"festivals\"} 1e21\n",
            "# TYPE pg_static unknown\npg_static 1.0\n",
        ] {
            assert!(open.contains(line), "{line} in {open}");
        }
        assert!(open.ends_with("# EOF\n"), "{open}");
        assert!(
            open.contains("# HELP pg_demo A demo gauge.\\nSecond \\\\ line.\n"),
            "HELP escaped in OpenMetrics too: {open}"
        );
    }

    #[test]
    fn histogram_buckets_from_cumulative_counts() {
        let b = Buckets::from_cumulative(&[1.0, 2.0, 5.0], &[1.0, 3.0, 3.0], 4.0).unwrap();
        assert_eq!(b.count, 4);
        assert_eq!(
            b.buckets,
            [(1.0, 1), (2.0, 2), (5.0, 0), (f64::INFINITY, 1)]
        );
        for (bounds, cumulative, count) in [
            (&[1.0, 2.0][..], &[2.0, 1.0][..], 3.0),
            (&[2.0, 1.0][..], &[1.0, 2.0][..], 3.0),
            (&[1.0][..], &[5.0][..], 3.0),
            (&[1.0][..], &[1.5][..], 3.0),
            (&[1.0, 2.0][..], &[1.0][..], 3.0),
            (&[1.0][..], &[1.0][..], -1.0),
            (&[1.0, f64::INFINITY][..], &[1.0, 2.0][..], 3.0),
            (&[f64::INFINITY, 2.0][..], &[1.0, 2.0][..], 3.0),
            (&[f64::NAN][..], &[1.0][..], 3.0),
            (&[1.0][..], &[1.0][..], 1e300),
        ] {
            assert_eq!(
                Buckets::from_cumulative(bounds, cumulative, count),
                None,
                "{bounds:?} {cumulative:?} {count}"
            );
        }
    }

    #[test]
    fn a_last_infinite_bound_is_the_total_not_a_second_inf_bucket() {
        let b = Buckets::from_cumulative(&[1.0, f64::INFINITY], &[1.0, 3.0], 3.0).unwrap();
        assert_eq!(b.buckets, [(1.0, 1), (f64::INFINITY, 2)]);
    }

    #[test]
    fn histograms_are_encoded_with_buckets_sum_and_count() {
        let mut family = Family::new("pg_idle_seconds", "Idle time.", Kind::Histogram, &["app"]);
        let buckets = Buckets::from_cumulative(&[1.0, 5.0], &[1.0, 3.0], 4.0).unwrap();
        family.push_histogram(vec!["a".to_string()], 7.5, buckets);
        let text = encode(
            vec![family],
            Format::PrometheusText,
            &ConstantLabels::from([]),
        );
        assert_eq!(
            text,
            "# HELP pg_idle_seconds Idle time.\n\
             # TYPE pg_idle_seconds histogram\n\
             pg_idle_seconds_bucket{app=\"a\",le=\"1\"} 1\n\
             pg_idle_seconds_bucket{app=\"a\",le=\"5\"} 3\n\
             pg_idle_seconds_bucket{app=\"a\",le=\"+Inf\"} 4\n\
             pg_idle_seconds_sum{app=\"a\"} 7.5\n\
             pg_idle_seconds_count{app=\"a\"} 4\n"
        );
    }

    #[test]
    fn runtime_label_names_are_interned_once() {
        let first = label_names(&["datname", "status"]);
        let again = label_names(&["datname".to_string().as_str(), "status"]);
        assert_eq!(first, ["datname", "status"]);
        assert!(
            std::ptr::eq(first, again),
            "the same list is not kept twice"
        );
        assert_ne!(label_names(&["status"]), first);
    }

    #[test]
    fn format_negotiation() {
        let om = "application/openmetrics-text;version=1.0.0,text/plain;q=0.5";
        let prometheus = "application/openmetrics-text;version=1.0.0;q=0.5,\
             application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        for (accept, openmetrics, expected) in [
            (None, true, Format::PrometheusText),
            (Some(om), false, Format::PrometheusText),
            (Some(om), true, Format::OpenMetrics),
            (Some(prometheus), true, Format::OpenMetrics),
            (Some(prometheus), false, Format::PrometheusText),
            (
                Some("application/openmetrics-text;q=0"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text; Q=0"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=0,*/*"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("text/plain,application/openmetrics-text;q=0.9"),
                true,
                Format::PrometheusText,
            ),
            // Wildcards get text, as from client_golang.
            (Some("*/*"), true, Format::PrometheusText),
            (Some("application/*"), true, Format::PrometheusText),
            (Some("image/png"), true, Format::PrometheusText),
            (
                Some("APPLICATION/OPENMETRICS-TEXT"),
                true,
                Format::OpenMetrics,
            ),
            // Weights that are not weights count for nothing.
            (
                Some("application/openmetrics-text;q=1e999"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=NaN"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=1.5"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=-1"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=0.0001"),
                true,
                Format::PrometheusText,
            ),
            (
                Some("application/openmetrics-text;q=0.001"),
                true,
                Format::OpenMetrics,
            ),
        ] {
            assert_eq!(
                Format::negotiate(accept, openmetrics),
                expected,
                "{accept:?} openmetrics {openmetrics}"
            );
        }
        assert!(Format::PrometheusText
            .content_type()
            .starts_with("text/plain; version=0.0.4"));
    }
}
