//! Unit tests of the router: no flag value makes building it panic.

use proptest::prelude::*;

use super::app;
use super::server::build_state;
use crate::config::{parse, Parsed};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any `--web.telemetry-path` is refused with one line or gives a router
    /// (axum panics on overlapping or malformed routes).
    #[test]
    fn no_telemetry_path_makes_the_router_panic(
        path in prop_oneof![
            "/[a-z{}:*/.~%?#-]{0,12}",
            Just("/probe".to_string()),
            Just("/-/reload".to_string()),
            Just("/".to_string()),
            "\\PC{0,16}",
        ]
    ) {
        // One argument, so that a value starting with `-` is not a flag.
        match parse(["festival-pg-exporter".to_string(), format!("--web.telemetry-path={path}")]) {
            Ok(Parsed::Run(config)) => {
                let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| app(build_state(config))));
                prop_assert!(built.is_ok(), "{path:?} was accepted but the router panicked");
            }
            Ok(other) => prop_assert!(false, "{path:?}: {other:?}"),
            Err(err) => {
                let err = err.to_string();
                prop_assert!(err.contains("--web.telemetry-path") && !err.contains('\n'), "{err}");
            }
        }
    }
}

#[test]
fn plain_telemetry_paths_are_accepted() {
    for path in ["/metrics", "/m", "/a/b-c_d.e~f", "/probe2", "/healthz/x"] {
        let parsed = parse(["festival-pg-exporter", "--web.telemetry-path", path]);
        assert!(matches!(parsed, Ok(Parsed::Run(_))), "{path}: {parsed:?}");
    }
}
