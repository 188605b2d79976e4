//! Who else uses the pinned CPUs of this machine: every thread's CPU time, read from
//! /proc/<pid>/task/<tid>/stat now and then, is credited to the CPU it last ran on and
//! to its process, so the report can name the busiest programs on each core, e.g.
//! `CPU 1: yes (pid 4242) 64%`. Our own workers are left out; this program and the
//! container engine are named as such (on a machine with as many workers as cores they
//! compete too). Only for a host that is this machine; a remote host's /proc is out of
//! reach, and its report names no process.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::time::{Duration, Instant};

use crate::report::model::{ProcessRole, ProcessUse};

/// Clock ticks per second of /proc's times (USER_HZ; 100 on every Linux we run on).
const TICKS_PER_S: f64 = 100.0;
/// Programs below this share of a CPU are not named.
const NAME_FROM_PCT: f64 = 2.0;
/// Programs of the container engine.
const ENGINE_COMMANDS: [&str; 6] = [
    "dockerd",
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "runc",
    "docker-proxy",
];

/// Thread id -> (process id, ticks so far).
type Seen = HashMap<u32, (u32, u64)>;

pub struct ProcessScan {
    cpus: HashSet<usize>,
    excluded: HashSet<u32>,
    seen: Seen,
    /// CPU -> process id -> ticks credited.
    credited: BTreeMap<usize, HashMap<u32, u64>>,
    commands: HashMap<u32, String>,
    started: Instant,
}

impl ProcessScan {
    /// Starts watching `cpus`, leaving out the processes `excluded` (our workers).
    pub fn start(cpus: &[usize], excluded: &[u32]) -> ProcessScan {
        let mut scan = ProcessScan {
            cpus: cpus.iter().copied().collect(),
            excluded: excluded.iter().copied().collect(),
            seen: HashMap::new(),
            credited: BTreeMap::new(),
            commands: HashMap::new(),
            started: Instant::now(),
        };
        scan.seen = scan.read(false);
        scan
    }

    /// Credits the CPU time used since the last look.
    pub fn sample(&mut self) {
        self.seen = self.read(true);
    }

    /// Reads every thread; when `credit`, adds what each used since the last reading to
    /// the CPU it is on now.
    fn read(&mut self, credit: bool) -> Seen {
        let mut now = Seen::new();
        let Ok(procs) = fs::read_dir("/proc") else {
            return now;
        };
        for entry in procs.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if self.excluded.contains(&pid) {
                continue;
            }
            let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for task in tasks.flatten() {
                let Some(tid) = task
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                else {
                    continue;
                };
                let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")) else {
                    continue;
                };
                let Some((ticks, cpu)) = parse_stat(&stat) else {
                    continue;
                };
                if credit && self.cpus.contains(&cpu) {
                    let before = self
                        .seen
                        .get(&tid)
                        .filter(|(p, _)| *p == pid)
                        .map_or(0, |(_, t)| *t);
                    let used = ticks.saturating_sub(before);
                    if used > 0 {
                        *self
                            .credited
                            .entry(cpu)
                            .or_default()
                            .entry(pid)
                            .or_default() += used;
                        self.commands.entry(pid).or_insert_with(|| command_of(pid));
                    }
                }
                now.insert(tid, (pid, ticks));
            }
        }
        now
    }

    /// The busiest programs on each watched CPU since the start, as shares of the CPU.
    pub fn top(&self) -> BTreeMap<usize, Vec<ProcessUse>> {
        let elapsed = self
            .started
            .elapsed()
            .max(Duration::from_millis(1))
            .as_secs_f64();
        let own = std::process::id();
        self.credited
            .iter()
            .map(|(&cpu, by_pid)| {
                let mut uses: Vec<ProcessUse> = by_pid
                    .iter()
                    .map(|(&pid, &ticks)| {
                        let command = self.commands.get(&pid).cloned().unwrap_or_default();
                        ProcessUse {
                            pid,
                            pct: ticks as f64 / TICKS_PER_S / elapsed * 100.0,
                            role: if pid == own {
                                ProcessRole::Orchestrator
                            } else if ENGINE_COMMANDS.contains(&command.as_str()) {
                                ProcessRole::Engine
                            } else {
                                ProcessRole::Other
                            },
                            command,
                        }
                    })
                    .filter(|u| u.pct >= NAME_FROM_PCT)
                    .collect();
                uses.sort_by(|a, b| b.pct.total_cmp(&a.pct));
                uses.truncate(5);
                (cpu, uses)
            })
            .collect()
    }
}

/// (utime + stime, processor) of a `stat` line; comm may hold spaces and parentheses, so
/// the fields are counted after the last `)`.
fn parse_stat(stat: &str) -> Option<(u64, usize)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // After the comm: state is field 3, so field n is at index n - 3.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    let cpu: usize = fields.get(39 - 3)?.parse().ok()?;
    Some((utime + stime, cpu))
}

fn command_of(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// CPU time used by anything on the machine over `window`, as a percentage of all cores,
/// from /proc/stat. Measured before a run: a busy machine makes every figure lower and
/// noisier, and the report says so.
pub async fn busy_pct(window: Duration) -> Option<f64> {
    let read = || {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let mut fields = stat.lines().next()?.split_ascii_whitespace();
        (fields.next()? == "cpu").then_some(())?;
        worker::usage::parse_ticks(fields)
    };
    let before = read()?;
    tokio::time::sleep(window).await;
    let d = read()?.since(&before);
    (d.total() > 0).then(|| 100.0 * d.busy() as f64 / d.total() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_cpu_time_and_the_last_cpu() {
        let line = "4242 (yes (x) y) R 1 4242 1 34816 4242 4194304 95 0 0 0 512 30 0 0 20 0 1 0 \
                    1234 2260992 180 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat(line), Some((542, 1)));
        assert_eq!(parse_stat("garbage"), None);
    }

    /// A busy thread pinned to CPU 0 is credited to CPU 0 by its name, and our own
    /// process (excluded here) is not.
    #[test]
    fn a_busy_pinned_process_is_named_on_its_cpu() {
        let mut hog = std::process::Command::new("sh")
            .args(["-c", "exec taskset -c 0 sh -c 'while :; do :; done'"])
            .spawn()
            .unwrap();
        let mut scan = ProcessScan::start(&[0], &[std::process::id()]);
        std::thread::sleep(Duration::from_millis(600));
        scan.sample();
        let top = scan.top();
        let _ = hog.kill();
        let _ = hog.wait();
        let on_zero = top.get(&0).cloned().unwrap_or_default();
        let hog_use = on_zero.iter().find(|u| u.pid == hog.id());
        assert!(
            hog_use.is_some_and(|u| u.pct > 5.0 && u.role == ProcessRole::Other),
            "{on_zero:?}"
        );
    }
}
