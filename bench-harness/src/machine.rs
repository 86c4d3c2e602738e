//! Facts about where a run happened: CPU, cores, SIMD backend, kernel, git commit; and the
//! process's resident memory.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// The machine and source tree of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// SIMD-related CPU flags present (avx2, fma, avx512f, avx512_vnni, avx512_bf16, neon, …).
    pub cpu_flags: Vec<String>,
    /// Cores this process may use.
    pub cores: usize,
    /// Needle's distance kernel backend in use.
    pub simd_backend: String,
    /// Kernel release.
    pub os: String,
    /// Total memory, bytes.
    pub mem_total_bytes: Option<u64>,
    /// `git rev-parse HEAD` of the workspace.
    pub git_commit: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// Cargo profile the harness was built with.
    pub profile: &'static str,
    /// 1/5/15-minute load averages when the run started (other work skews absolute times).
    pub load_average_start: Option<[f64; 3]>,
    /// Single-thread memory read bandwidth, GB/s (see `bandwidth.rs`); measured by the run.
    pub read_bandwidth_gbps: Option<f64>,
}

impl Machine {
    /// Reads everything it can; missing facts are left empty rather than failing the run.
    pub fn detect(workspace: &Path, simd_backend: String) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let cpu_model = field("model name").or_else(|| field("Model")).unwrap_or_else(|| std::env::consts::ARCH.into());
        let wanted = ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"];
        let wanted_more = ["avx512_bf16", "avx512_fp16", "amx_tile", "asimd", "asimddp", "sve"];
        let flags_line = field("flags").or_else(|| field("Features")).unwrap_or_default();
        let cpu_flags = flags_line
            .split_whitespace()
            .filter(|f| wanted.contains(f) || wanted_more.contains(f))
            .map(str::to_string)
            .collect();
        let mem_total_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
                .map(|kb| kb * 1024)
        });
        let git = |args: &[&str]| {
            Command::new("git")
                .arg("-C")
                .arg(workspace)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        Machine {
            cpu_model,
            cpu_flags,
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            simd_backend,
            os: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| format!("{} {}", std::env::consts::OS, s.trim()))
                .unwrap_or_else(|_| std::env::consts::OS.into()),
            mem_total_bytes,
            git_commit: git(&["rev-parse", "HEAD"]),
            git_dirty: git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty()),
            profile: if cfg!(debug_assertions) { "debug" } else { "release" },
            load_average_start: load_average(),
            read_bandwidth_gbps: None,
        }
    }
}

/// 1/5/15-minute load averages from /proc/loadavg.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Resident set size of this process, bytes (from /proc/self/statm; 0 where unavailable).
pub fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .unwrap_or(0);
    pages * page_size()
}

/// Resident memory split by backing, bytes: `(anonymous, file-backed)` from the `RssAnon` and
/// `RssFile` lines of /proc/self/status (0 where unavailable). A memory-mapped index's file pages
/// are the kernel's page cache, dropped and re-read under pressure; anonymous pages are what the
/// process really holds.
pub fn rss_split() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |v| v * 1024)
    };
    (kib("RssAnon:"), kib("RssFile:"))
}

/// Hands the allocator's free pages back to the kernel, so that a resident-set difference taken
/// after this counts what is allocated later, not pages a freed index left in the heap. glibc keeps
/// freed small blocks (an index's many small allocations) resident until trimmed; elsewhere this
/// does nothing.
#[allow(unsafe_code)]
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes a plain integer and only returns whole free pages of the
    // allocator's arenas to the kernel; it touches no memory that Rust code owns.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn page_size() -> u64 {
    // No libc: the kernel's "KernelPageSize" of our first mapping tells the page size.
    std::fs::read_to_string("/proc/self/smaps")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("KernelPageSize:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(4096)
}

/// Current UTC time as RFC 3339 (seconds).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The resident-set tests measure the whole process: one at a time.
    static RSS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn rss_is_positive_and_grows() {
        let _one = RSS.lock().unwrap_or_else(|e| e.into_inner());
        assert!(rss_bytes() > 0);
        assert!(sees_64_mib_allocation(rss_bytes), "RSS never grew by 32 MiB for a 64 MiB buffer");
    }

    #[test]
    fn rss_split_sees_anonymous_memory() {
        let _one = RSS.lock().unwrap_or_else(|e| e.into_inner());
        let (anon, file) = rss_split();
        assert!(anon > 0 && file > 0);
        assert!(sees_64_mib_allocation(|| rss_split().0), "RssAnon never grew by 32 MiB for a 64 MiB buffer");
    }

    /// Whether `measure` grows by at least 32 MiB while a 64 MiB buffer is held, in one of five
    /// tries: other tests of this process allocate and free at the same time, and a free of theirs
    /// inside the window hides part of the growth.
    fn sees_64_mib_allocation(measure: impl Fn() -> u64) -> bool {
        (0..5).any(|_| {
            let before = measure();
            let v = std::hint::black_box(vec![1u8; 64 << 20]);
            let after = measure();
            drop(std::hint::black_box(v));
            after >= before + (32 << 20)
        })
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn released_memory_leaves_the_resident_set() {
        let _one = RSS.lock().unwrap_or_else(|e| e.into_inner());
        // 128 MiB in small blocks (which the allocator keeps in its heap when freed), half of
        // them freed: the freed half stays resident until trimmed.
        let mut blocks: Vec<Vec<u8>> = (0..1 << 19).map(|i| vec![i as u8; 256]).collect();
        let kept: Vec<Vec<u8>> = blocks.drain(..).enumerate().filter(|(i, _)| i % 64 == 0).map(|(_, b)| b).collect();
        drop(std::hint::black_box(blocks));
        let before = rss_split().0;
        release_free_memory();
        let after = rss_split().0;
        assert!(before >= after + (48 << 20), "trimming freed {} MiB", (before.saturating_sub(after)) >> 20);
        drop(std::hint::black_box(kept));
    }

    #[test]
    fn utc_format() {
        let s = utc_now();
        assert_eq!(s.len(), 20);
        assert!(s.starts_with("20") && s.ends_with('Z'));
    }
}
