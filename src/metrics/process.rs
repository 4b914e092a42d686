//! The process metrics every Prometheus client library exports, under their conventional names,
//! read from `/proc` at scrape time (Linux; elsewhere they are left out): resident memory,
//! open and allowed file descriptors, CPU seconds, start time.

use super::text::{Exposition, Kind};

/// What `/proc/self` says now; `None` off Linux or when it cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    /// Resident set size, bytes.
    pub resident_bytes: u64,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Start time, unix seconds.
    pub start_time_seconds: f64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors, if there is one.
    pub max_fds: Option<u64>,
}

impl ProcessStats {
    /// Reads `/proc/self/stat`, `/proc/stat` and `/proc/self/fd`.
    pub fn read() -> Option<ProcessStats> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        // SAFETY: sysconf only reads a system constant.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let (ticks, page) = (u64::try_from(ticks).ok()?, u64::try_from(page).ok()?);
        parse(&stat, &boot, ticks, page, open_fds, max_fds())
    }

    /// Writes the `process_*` families.
    pub(super) fn write(&self, e: &mut Exposition) {
        let families: [(&str, Kind, &str, f64); 4] = [
            (
                "process_resident_memory_bytes",
                Kind::Gauge,
                "Resident memory size in bytes.",
                self.resident_bytes as f64,
            ),
            (
                "process_cpu_seconds_total",
                Kind::Counter,
                "Total user and system CPU time spent in seconds.",
                self.cpu_seconds,
            ),
            (
                "process_start_time_seconds",
                Kind::Gauge,
                "Start time of the process since unix epoch in seconds.",
                self.start_time_seconds,
            ),
            (
                "process_open_fds",
                Kind::Gauge,
                "Number of open file descriptors.",
                self.open_fds as f64,
            ),
        ];
        for (name, kind, help, value) in families {
            e.family(name, kind, help);
            e.sample(name, &[], value);
        }
        if let Some(max) = self.max_fds {
            let name = "process_max_fds";
            e.family(
                name,
                Kind::Gauge,
                "Maximum number of open file descriptors.",
            );
            e.sample(name, &[], max);
        }
    }
}

/// The soft `RLIMIT_NOFILE`, unless unlimited.
fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed to it.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (read && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// The stats from the text of `/proc/self/stat` and `/proc/stat`.
fn parse(
    stat: &str,
    boot: &str,
    ticks: u64,
    page: u64,
    open_fds: u64,
    max_fds: Option<u64>,
) -> Option<ProcessStats> {
    // The command name (field 2) may hold spaces and parentheses: count fields after its end.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field n of proc(5) is fields[n - 3].
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let (utime, stime, start, rss) = (field(14)?, field(15)?, field(22)?, field(24)?);
    let btime = boot
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse::<u64>()
        .ok()?;
    let ticks = ticks.max(1) as f64;
    Some(ProcessStats {
        resident_bytes: rss.saturating_mul(page),
        cpu_seconds: (utime + stime) as f64 / ticks,
        start_time_seconds: btime as f64 + start as f64 / ticks,
        open_fds,
        max_fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat_past_a_tricky_command_name() {
        let stat = "4242 (hook box) (x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 12300 \
                    999 300 18446744073709551615";
        let boot = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let s = parse(stat, boot, 100, 4096, 7, Some(1024)).expect("parses");
        assert_eq!(s.resident_bytes, 300 * 4096);
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.start_time_seconds, 1_700_000_123.0);
        assert_eq!((s.open_fds, s.max_fds), (7, Some(1024)));
        assert_eq!(parse("garbage", boot, 100, 4096, 0, None), None);
    }

    #[test]
    fn reads_this_process() {
        let s = ProcessStats::read().expect("Linux /proc");
        assert!(s.resident_bytes > 0 && s.open_fds > 0 && s.start_time_seconds > 1.6e9);
    }
}
