//! postgres_exporter's families about the exporter itself rather than the
//! server: how the last reading of the configuration and query files went
//! (`postgres_exporter_config_last_reload_*`,
//! `pg_exporter_user_queries_load_error`) and the version
//! (`postgres_exporter_build_info`), so its dashboards find them.

use super::catalogue::{BUILD_INFO, QUERY_FILE_ERROR, RELOAD_SUCCESSFUL, RELOAD_SUCCESS_TIME};
use crate::config::LoadStatus;
use crate::metrics::Family;

/// postgres_exporter's families about the files and the build: the last
/// reading of the configuration and query files, and the version.
pub(super) fn families(status: &LoadStatus) -> Vec<Family> {
    let mut files = QUERY_FILE_ERROR.family();
    for file in &status.query_files {
        files.push(
            vec![file.filename.clone(), file.hashsum.clone()],
            if file.failed { 1.0 } else { 0.0 },
        );
    }
    let mut build = BUILD_INFO.family();
    let goarch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    build.push(
        vec![
            String::new(),
            goarch.to_string(),
            std::env::consts::OS.to_string(),
            String::new(),
            String::new(),
            String::new(),
            env!("CARGO_PKG_VERSION").to_string(),
        ],
        1.0,
    );
    vec![
        files,
        RELOAD_SUCCESSFUL.single(if status.successful { 1.0 } else { 0.0 }),
        RELOAD_SUCCESS_TIME.single(status.success_time_seconds),
        build,
    ]
}
