//! Unit tests of the families and their encoding: exact names, escaping,
//! histograms, format and content-coding negotiation, encoding in pieces.

use super::*;

#[test]
fn names_are_exact_and_labels_are_escaped_in_order() {
    let mut gauge = Family::new(
        "pg_demo",
        "A demo gauge.\nSecond \\ line.",
        Kind::Gauge,
        &["relname", "mode"],
    );
    gauge.push(vec!["b\"q\\\n🎪é".into(), "x".into()], 2.5);
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
         pg_demo{relname=\"b\\\"q\\\\\\n🎪é\",mode=\"x\"} 2.5\npg_demo{relname=\"a\",mode=\"y\"} 1.0\n\
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
    family.push_histogram(&["a"], 7.5, buckets);
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

#[test]
fn content_coding_negotiation() {
    use Encoding::{Gzip, Identity};
    for (header, expected) in [
        (None, Identity),
        (Some(""), Identity),
        // What Prometheus sends.
        (Some("gzip"), Gzip),
        (Some("GZIP"), Gzip),
        (Some("x-gzip"), Gzip),
        (Some("deflate, gzip;q=1.0, *;q=0.5"), Gzip),
        (Some("br"), Identity),
        (Some("*"), Gzip),
        (Some("gzip;q=0"), Identity),
        (Some("gzip;q=0, *"), Identity),
        (Some("*;q=0.5, identity"), Identity),
        (Some("gzip;q=0.5, identity;q=0.4"), Gzip),
        // As client_golang: any weight for gzip, unless identity's is higher.
        (Some("gzip;q=0.5"), Gzip),
        (Some("gzip;q=0.5, identity;q=0.6"), Identity),
        (Some("gzip;q=2"), Identity),
        (Some("gzip;q=0.0001"), Identity),
    ] {
        assert_eq!(Encoding::negotiate(header), expected, "{header:?}");
    }
}

#[test]
fn encoding_in_pieces_and_compressed_gives_the_same_text() {
    // Enough series for several pieces.
    let mut family = Family::new("pg_demo_rows", "Rows.", Kind::Gauge, &["relname"]);
    for i in 0..20_000 {
        family.push(vec![format!("table_{i}")], f64::from(i));
    }
    let families = Arc::new(vec![family, Desc::gauge("pg_up", &[], "Up.").single(1.0)]);
    let constant = ConstantLabels::from([("cluster".to_string(), "a".to_string())]);
    for format in [Format::PrometheusText, Format::OpenMetrics] {
        let text = encode(Arc::clone(&families), format, &constant);
        assert!(text.len() > 4 * 64 * 1024, "{}", text.len());
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encode_into(&families, format, &constant, &mut gzip).unwrap();
        let mut back = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&gzip.finish().unwrap()[..]),
            &mut back,
        )
        .unwrap();
        assert_eq!(back, text, "{format:?}");
    }
}

#[test]
fn label_values_are_shared_until_nothing_holds_them() {
    let values = |table: &str| vec!["festivals".to_string(), "public".into(), table.to_string()];
    let first = label_values(&values("orders_shared_test"));
    let again = label_values(&values("orders_shared_test"));
    assert!(first.shares(&again));
    assert!(!first.shares(&label_values(&values("tickets_shared_test"))));
    forget_unused_label_values();
    // Still held here: kept, and shared with the next collection.
    assert!(first.shares(&label_values(&values("orders_shared_test"))));
    let held = |table: &str| {
        LABEL_VALUES
            .lock()
            .unwrap()
            .contains(pack(&values(table)).as_str())
    };
    assert!(held("orders_shared_test"));
    drop((first, again));
    forget_unused_label_values();
    assert!(!held("orders_shared_test"));
    assert!(!held("tickets_shared_test"));
}

#[test]
fn label_values_keep_every_value_apart() {
    let none = Labels::from(Vec::new());
    let one_empty = Labels::from(vec![String::new()]);
    assert_eq!((none.len(), one_empty.len()), (0, 1));
    assert_ne!(none, one_empty);
    let two = Labels::from(vec![String::new(), "b".to_string()]);
    assert_eq!(two, ["", "b"]);
    assert_ne!(two, Labels::from(vec!["b".to_string(), String::new()]));
    assert_eq!(&two[1], "b");
    let nul = Labels::from(vec!["a\0b".to_string(), "c".to_string()]);
    assert_eq!(nul, ["a\u{FFFD}b", "c"]);
}

#[test]
fn a_sample_is_a_pointer_and_a_number() {
    assert_eq!(std::mem::size_of::<Sample>(), 16);
    let mut family = Family::new("h", "h", Kind::Histogram, &["k"]);
    let buckets = Buckets::from_cumulative(&[1.0], &[1.0], 2.0).unwrap();
    family.push_histogram(&["a"], 3.0, buckets.clone());
    assert_eq!(family.samples[0].buckets(), Some(&buckets));
    assert_eq!(family.samples[0].values, ["a"]);
    let mut gauge = Family::new("g", "g", Kind::Gauge, &["k"]);
    gauge.push(vec!["a".to_string()], 1.0);
    assert_eq!(gauge.samples[0].buckets(), None);
    assert_eq!(
        family.samples[0].values, gauge.samples[0].values,
        "equal as label values"
    );
}
