//! Unit tests of the engine: the deadline a Prometheus timeout header sets,
//! one compressed body per collection.

use super::*;
use crate::metrics::{ConstantLabels, Encoding, Format};

#[test]
fn prometheus_timeout_header_shortens_the_deadline() {
    let pool = Pool::new(
        "host=localhost".parse().unwrap(),
        None,
        1,
        crate::db::SessionLimits::for_collection(Duration::from_secs(1)),
    );
    let scraper = Scraper::new(
        Arc::new(pool),
        Vec::new(),
        Arc::default(),
        Reloadable::default(),
        None,
        Duration::from_secs(10),
    );
    assert_eq!(scraper.timeout_for(None), Duration::from_secs(10));
    assert_eq!(scraper.timeout_for(Some("4")), Duration::from_millis(3500));
    assert_eq!(scraper.timeout_for(Some("30")), Duration::from_secs(10));
    assert_eq!(scraper.timeout_for(Some("0.2")), MIN_DEADLINE);
    for junk in ["", "abc", "-1", "NaN", "inf"] {
        assert_eq!(
            scraper.timeout_for(Some(junk)),
            Duration::from_secs(10),
            "{junk}"
        );
    }
}

#[tokio::test]
async fn requests_sharing_a_collection_share_its_compressed_body() {
    let mut family = crate::metrics::Family::new(
        "pg_demo_rows",
        "Rows.",
        crate::metrics::Kind::Gauge,
        &["relname"],
    );
    for i in 0..1000 {
        family.push(vec![format!("table_{i}")], f64::from(i));
    }
    let constant = ConstantLabels::from([]);
    // One part compressed as its collector finished, one still in samples.
    let mut up = crate::metrics::Family::new("pg_up", "Up.", crate::metrics::Kind::Gauge, &[]);
    up.push(Vec::new(), 1.0);
    let mut compressor = crate::metrics::gzip::compressor();
    let compressed = crate::metrics::gzip::compress(&[&family], &constant, &mut compressor);
    let collection = Arc::new(Collection::new(vec![
        up.into(),
        Part::Compressed(compressed),
    ]));
    let bodies = futures::future::join_all((0..8).map(|_| {
        let collection = Arc::clone(&collection);
        let constant = Arc::clone(&constant);
        async move {
            collection
                .body(Format::PrometheusText, Encoding::Gzip, &constant)
                .await
        }
    }))
    .await;
    // One compression: every request holds the very same bytes.
    for body in &bodies {
        assert_eq!(body.as_ptr(), bodies[0].as_ptr());
    }
    let plain = collection
        .body(Format::PrometheusText, Encoding::Identity, &constant)
        .await;
    assert_ne!(plain.as_ptr(), bodies[0].as_ptr());
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bodies[0][..]), &mut text)
        .unwrap();
    assert_eq!(text.as_bytes(), &plain[..]);
    assert!(text.starts_with(
        "# HELP pg_up Up.\n# TYPE pg_up gauge\npg_up 1.0\n# HELP pg_demo_rows Rows.\n"
    ));
    assert!(text.ends_with("pg_demo_rows{relname=\"table_999\"} 999.0\n"));
}
