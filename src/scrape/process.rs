//! The standard `process_*` metrics of the exporter itself (resident and
//! virtual memory and its limit, CPU time, start time, file descriptors,
//! network bytes), read from Linux's
//! `/proc/self` on every scrape. Elsewhere they are simply absent.

use crate::metrics::{Desc, Family};

static CPU: Desc = Desc::counter(
    "process_cpu_seconds_total",
    &[],
    "Total user and system CPU time spent in seconds.",
);
static RESIDENT: Desc = Desc::gauge(
    "process_resident_memory_bytes",
    &[],
    "Resident memory size in bytes.",
);
static VIRTUAL: Desc = Desc::gauge(
    "process_virtual_memory_bytes",
    &[],
    "Virtual memory size in bytes.",
);
static START: Desc = Desc::gauge(
    "process_start_time_seconds",
    &[],
    "Start time of the process since unix epoch in seconds.",
);
static OPEN_FDS: Desc = Desc::gauge("process_open_fds", &[], "Number of open file descriptors.");
static MAX_FDS: Desc = Desc::gauge(
    "process_max_fds",
    &[],
    "Maximum number of open file descriptors.",
);
static MAX_VIRTUAL: Desc = Desc::gauge(
    "process_virtual_memory_max_bytes",
    &[],
    "Maximum amount of virtual memory available in bytes.",
);
static RECEIVED: Desc = Desc::counter(
    "process_network_receive_bytes_total",
    &[],
    "Number of bytes received by the process over the network.",
);
static TRANSMITTED: Desc = Desc::counter(
    "process_network_transmit_bytes_total",
    &[],
    "Number of bytes sent by the process over the network.",
);

/// Every process family, for the catalogue.
pub fn metrics() -> Vec<&'static Desc> {
    vec![
        &CPU,
        &RESIDENT,
        &VIRTUAL,
        &START,
        &OPEN_FDS,
        &MAX_FDS,
        &MAX_VIRTUAL,
        &RECEIVED,
        &TRANSMITTED,
    ]
}

/// CPU time (user plus system) this process has used, in seconds.
pub fn cpu_seconds() -> Option<f64> {
    Stat::read().map(|stat| stat.cpu_seconds)
}

/// The process families, or none when `/proc` cannot be read.
pub fn families() -> Vec<Family> {
    let Some(stat) = Stat::read() else {
        return Vec::new();
    };
    let mut families = vec![
        CPU.single(stat.cpu_seconds),
        RESIDENT.single(stat.rss_bytes),
        VIRTUAL.single(stat.vsize_bytes),
    ];
    if let Some(start) = stat.start_time_seconds {
        families.push(START.single(start));
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        families.push(OPEN_FDS.single(entries.count() as f64));
    }
    if let Some(max) = limit("Max open files") {
        families.push(MAX_FDS.single(max));
    }
    if let Some(max) = limit("Max address space") {
        families.push(MAX_VIRTUAL.single(max));
    }
    if let Some((received, transmitted)) = network_bytes() {
        families.push(RECEIVED.single(received));
        families.push(TRANSMITTED.single(transmitted));
    }
    families
}

struct Stat {
    cpu_seconds: f64,
    rss_bytes: f64,
    vsize_bytes: f64,
    start_time_seconds: Option<f64>,
}

impl Stat {
    fn read() -> Option<Stat> {
        let text = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) may contain spaces; fields after it are plain.
        let after_name = &text[text.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // Field numbers from proc(5), minus 3 for pid, comm and the split.
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
        let start_ticks = field(22)?;
        Some(Stat {
            cpu_seconds: (field(14)? + field(15)?) / ticks,
            vsize_bytes: field(23)?,
            rss_bytes: field(24)? * page,
            start_time_seconds: boot_time().map(|boot| boot + start_ticks / ticks),
        })
    }
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A soft limit from `/proc/self/limits`; "unlimited" is the largest 64-bit
/// value, as the Go client reports it.
fn limit(name: &str) -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with(name))?;
    let soft = line[name.len()..].split_whitespace().next()?;
    match soft {
        "unlimited" => Some(u64::MAX as f64),
        soft => soft.parse().ok(),
    }
}

/// Bytes received and sent over every interface of the process's network
/// namespace (`/proc/self/net/dev`), as the Go client counts them.
fn network_bytes() -> Option<(f64, f64)> {
    let dev = std::fs::read_to_string("/proc/self/net/dev").ok()?;
    let mut totals = (0.0, 0.0);
    for line in dev.lines().skip(2) {
        let (_, counters) = line.split_once(':')?;
        let fields: Vec<f64> = counters
            .split_whitespace()
            .map(|f| f.parse().ok())
            .collect::<Option<_>>()?;
        totals.0 += fields.first()?;
        totals.1 += fields.get(8)?;
    }
    Some(totals)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let families = super::families();
        let value = |name: &str| {
            families
                .iter()
                .find(|f| f.name == name)
                .map(|f| f.samples[0].value)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_virtual_memory_max_bytes") >= value("process_virtual_memory_bytes"));
        assert!(value("process_network_receive_bytes_total") >= 0.0);
        assert!(value("process_network_transmit_bytes_total") >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value("process_start_time_seconds");
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "start {start} now {now}"
        );
    }
}

/// Gives the memory the collection freed back to the system (glibc keeps
/// freed pages inside its heap otherwise, and a fragmented heap grows from
/// scrape to scrape): the next collection starts from what is in use.
pub fn return_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}
