//! The `festival-pg-exporter` binary: parses the command line once, sets up
//! logging and hands over to the library. Everything else lives in the library
//! so that tests can drive it.

use std::process::ExitCode;

use festival_pg_exporter::cmd::{health_check, sql_baseline};
use festival_pg_exporter::config::{self, Parsed};
use festival_pg_exporter::{http, logging, scrape};

fn main() -> ExitCode {
    tune_malloc();
    let config = match config::parse(std::env::args_os()) {
        Ok(Parsed::Run(config)) => config,
        Ok(Parsed::Health(config, output)) => {
            // The table is the output; log lines only for trouble.
            logging::init(
                config.log_level.min(tracing::Level::WARN),
                config.log_format,
            );
            return run_once(health_check::run(config, output));
        }
        Ok(Parsed::Baseline(config, rounds)) => {
            logging::init(
                config.log_level.min(tracing::Level::WARN),
                config.log_format,
            );
            return run_once(sql_baseline::run(config, rounds));
        }
        Ok(Parsed::Catalogue) => {
            print!("{}", scrape::catalogue_text());
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            // One line naming what is wrong; exit code 2 as for any usage error.
            eprintln!("festival-pg-exporter: {err}");
            return ExitCode::from(2);
        }
    };
    logging::init(config.log_level, config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("festival-pg-exporter")
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("festival-pg-exporter: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(http::server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %format!("{err:#}"), "exporter stopped");
            eprintln!("festival-pg-exporter: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a one-shot subcommand on a single-threaded runtime; its result is the exit code.
fn run_once(task: impl std::future::Future<Output = i32>) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => ExitCode::from(runtime.block_on(task) as u8),
        Err(err) => {
            eprintln!("festival-pg-exporter: cannot start the async runtime: {err}");
            ExitCode::FAILURE
        }
    }
}

/// glibc gives each thread that allocates its own malloc arena, and each keeps
/// the memory a collection freed: with the runtime's threads a large scrape's
/// peak stays resident several times over. One arena keeps it once; the
/// exporter allocates too little for the threads to wait on each other.
/// Blocks of 128 KiB and more (a family's samples, a part's compressed bytes) are mapped
/// apart and unmapped when freed: by default glibc raises that threshold to
/// the largest block freed so far, and from then on keeps such blocks in its
/// heap, where the next collection's blocks fragment it.
/// Called before any thread starts.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator settings; no other thread exists yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}
