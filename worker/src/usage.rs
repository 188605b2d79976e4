//! What the kernel says about this worker: its CPU time, the CPU it may run on, what that
//! CPU did (/proc/stat), whether its cgroup was throttled, its peak memory. Read by the
//! worker itself, at slot boundaries, so the readings are the same wherever it runs (a
//! local process, a local or remote container): /proc/stat is not namespaced, and a
//! container sees its own cgroup.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::{CpuTicks, Throttling};

/// CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID): the extracting thread
/// only, not the one reading messages.
pub fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Restricts the calling thread (the worker's only extracting thread) to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    if cpu >= rustix::thread::CpuSet::MAX_CPU {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "CPU {cpu} is beyond the {} this system can address",
                rustix::thread::CpuSet::MAX_CPU
            ),
        ));
    }
    let mut set = rustix::thread::CpuSet::new();
    set.set(cpu);
    rustix::thread::sched_setaffinity(None, &set).map_err(io::Error::from)
}

/// The CPUs this thread may run on (sched_getaffinity), ascending.
pub fn cpus_allowed() -> Vec<usize> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU)
            .filter(|&c| set.is_set(c))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The one CPU this thread is confined to, if it is confined to one.
pub fn pinned_cpu() -> Option<usize> {
    match cpus_allowed().as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// The cumulative `cpuN` line of /proc/stat for `cpu`.
pub fn cpu_ticks(cpu: usize) -> Option<CpuTicks> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let name = format!("cpu{cpu}");
    stat.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        (fields.next()? == name).then(|| parse_ticks(fields))?
    })
}

/// The values after a `cpu` or `cpuN` name: user nice system idle iowait irq softirq
/// steal (guest time is already inside user; older kernels stop before steal).
pub fn parse_ticks<'a>(fields: impl Iterator<Item = &'a str>) -> Option<CpuTicks> {
    let v: Vec<u64> = fields.take(8).map_while(|f| f.parse().ok()).collect();
    if v.len() < 4 {
        return None;
    }
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    Some(CpuTicks {
        user: at(0),
        nice: at(1),
        system: at(2),
        idle: at(3),
        iowait: at(4),
        irq: at(5),
        softirq: at(6),
        steal: at(7),
    })
}

/// Where this process's `cpu.stat` is, found once: its cgroup's own file (cgroup v2, or
/// the v1 `cpu` hierarchy), as seen from inside a container (whose cgroup is the root of
/// what it sees) or from the host.
pub fn cpu_stat_path() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut candidates = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            candidates.push(PathBuf::from("/sys/fs/cgroup").join(path));
        } else if controllers.split(',').any(|c| c == "cpu") {
            candidates.push(PathBuf::from("/sys/fs/cgroup").join(controllers).join(path));
            candidates.push(PathBuf::from("/sys/fs/cgroup/cpu").join(path));
        }
    }
    // Inside a container its own cgroup is mounted at the root of the hierarchy.
    candidates.extend(
        [
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/cpu",
            "/sys/fs/cgroup/cpu,cpuacct",
        ]
        .iter()
        .map(PathBuf::from),
    );
    candidates
        .into_iter()
        .map(|dir| dir.join("cpu.stat"))
        .find(|file| fs::read_to_string(file).is_ok_and(|t| t.contains("nr_periods")))
}

/// The cumulative throttling counters of a `cpu.stat` file.
pub fn throttling(path: &std::path::Path) -> Option<Throttling> {
    parse_cpu_stat(&fs::read_to_string(path).ok()?)
}

/// `nr_periods`, `nr_throttled` and `throttled_time` (v1, ns) or `throttled_usec` (v2).
pub fn parse_cpu_stat(text: &str) -> Option<Throttling> {
    let field = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse::<u64>().ok())?
        })
    };
    Some(Throttling {
        periods: field("nr_periods")?,
        throttled_periods: field("nr_throttled")?,
        throttled_ns: field("throttled_time")
            .or_else(|| field("throttled_usec").map(|us| us * 1000))
            .unwrap_or(0),
    })
}

/// Peak resident set size (VmHWM), in bytes.
pub fn max_rss_bytes() -> Option<u64> {
    kb_field(&fs::read_to_string("/proc/self/status").ok()?, "VmHWM:")
}

/// A `Key:   1234 kB` line of a /proc file (status, meminfo), in bytes.
pub fn kb_field(text: &str, key: &str) -> Option<u64> {
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// Parses a kernel CPU list such as `0-3,8,10-11`; `None` when any part is not a CPU
/// number or range (so `0,x` is refused, not read as `0`).
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (
                    a.trim().parse::<usize>().ok()?,
                    b.trim().parse::<usize>().ok()?,
                );
                if a > b {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse::<usize>().ok()?),
        }
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_time_grows_with_work_and_not_with_sleep() {
        let start = thread_cpu();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let worked = thread_cpu() - start;
        assert!(worked > Duration::ZERO);
        let before_sleep = thread_cpu();
        std::thread::sleep(Duration::from_millis(50));
        assert!(thread_cpu() - before_sleep < Duration::from_millis(10));
    }

    #[test]
    fn pinning_restricts_the_allowed_cpus() {
        // In a thread of its own, so the test harness's other threads keep their CPUs.
        std::thread::spawn(|| {
            pin_to_cpu(0).unwrap();
            assert_eq!(cpus_allowed(), vec![0]);
            assert_eq!(pinned_cpu(), Some(0));
            assert!(pin_to_cpu(usize::MAX).is_err());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn proc_stat_lines_parse() {
        let t = parse_ticks("100 5 50 800 20 3 2 10 7 0".split(' ')).unwrap();
        assert_eq!((t.user, t.idle, t.steal), (100, 800, 10));
        let old = parse_ticks("1 2 3 4".split(' ')).unwrap();
        assert_eq!((old.idle, old.steal), (4, 0));
        assert!(parse_ticks("1 2".split(' ')).is_none());
        assert!(cpu_ticks(0).is_some(), "this machine has a CPU 0");
    }

    #[test]
    fn cpu_stat_of_both_cgroup_versions() {
        let v1 = "nr_periods 100\nnr_throttled 7\nthrottled_time 123456\n";
        assert_eq!(
            parse_cpu_stat(v1),
            Some(Throttling {
                periods: 100,
                throttled_periods: 7,
                throttled_ns: 123456
            })
        );
        let v2 = "usage_usec 9\nuser_usec 5\nsystem_usec 4\nnr_periods 3\nnr_throttled 1\nthrottled_usec 20\n";
        assert_eq!(parse_cpu_stat(v2).unwrap().throttled_ns, 20_000);
        assert_eq!(parse_cpu_stat("usage_usec 9\n"), None);
    }

    #[test]
    fn cpu_lists_parse_like_the_kernel_writes_them_and_nothing_else() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("5"), Some(vec![5]));
        assert_eq!(parse_cpu_list(" 1 , 2 "), Some(vec![1, 2]));
        for bad in ["", "0,x", "0,", "3-1", "a-b", "1-"] {
            assert_eq!(parse_cpu_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kb_fields_are_bytes() {
        assert_eq!(kb_field("VmHWM:\t  1234 kB\n", "VmHWM:"), Some(1234 * 1024));
        assert_eq!(kb_field("Other: 1 kB\n", "VmHWM:"), None);
    }
}
