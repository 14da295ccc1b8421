//! Unit tests of the engine: the deadline a Prometheus timeout header sets.

use super::*;

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
