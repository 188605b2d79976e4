//! What a run produced, as written to `results_<timestamp>_<run id>.json`: one model for a
//! single run and a scaling study alike. Every figure in a report is computed from these
//! fields by [`super::analysis`], and the per-slot records of every worker are kept, so
//! that each figure can be traced back to what the workers measured.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use worker::protocol::SlotRecord;

use crate::cli::{Runtime, ScheduleKind};
use crate::facts::EngineInfo;
use crate::schedule::SlotKind;
use crate::topology::TopologySummary;

/// One complete results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub tool_version: String,
    /// Random id of this run; also the label on its containers.
    pub run_id: String,
    pub timestamp: DateTime<Utc>,
    pub status: RunStatus,
    /// Human-readable problems, one per line (empty when status is ok).
    pub problems: Vec<String>,
    /// Every host the run spanned, in the order given.
    pub hosts: Vec<HostInfo>,
    /// CPU use of this machine, percent, over a second before the run.
    pub busy_pct_before_run: Option<f64>,
    pub settings: Settings,
    pub schedule: ScheduleInfo,

    // The figures of the reported step (N of `--containers N`, the largest of a study).
    /// Its workers, each over the slots of that step.
    pub containers: Vec<ContainerResult>,
    pub totals: Totals,
    /// Sum over its containers of their pages/sec.
    pub total_pages_per_sec: f64,
    pub total_pages_per_sec_ci95: Option<[f64; 2]>,
    pub avg_pages_per_sec_per_container: f64,
    /// Latest window start minus earliest, in milliseconds.
    pub start_skew_ms: Option<f64>,
    /// Over every slot: the latest start of a slot's workers minus the earliest, in ms.
    pub slot_start_skew_max_ms: Option<f64>,
    /// The single-container figure efficiencies are computed against.
    pub baseline: Option<Baseline>,
    /// total / (N x single) x 100, from paired slots.
    pub scaling_efficiency_pct: Option<f64>,
    pub scaling_efficiency_ci95_pct: Option<[f64; 2]>,
    /// The band the whole interval lies in; null when it spans bands (or is above 100%).
    pub efficiency_label: Option<Band>,
    /// The efficiency in words, as the terminal shows it.
    pub efficiency_verdict: Option<String>,
    /// With `--target-precision`: whether it was met.
    pub precision: Option<Precision>,
    /// Why the reported step fell short of 100%.
    pub efficiency_loss: Option<Loss>,
    /// Per pinned CPU, over the measured window.
    pub host_usage: Vec<CpuUsage>,
    /// Every step measured, ascending.
    pub steps: Vec<StepResult>,
    /// Every worker started, with its per-slot records.
    pub workers: Vec<WorkerRecord>,
    /// With `--compare`: each step against the saved reference.
    pub comparisons: Vec<Comparison>,
    /// With `--fail-below` or `--compare`.
    pub gate: Option<GateOutcome>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    /// A worker died, was OOM-killed or stopped writing; the others' figures are kept.
    WorkerFailed,
    /// Ctrl-C or SIGTERM; what was measured is kept.
    Interrupted,
    /// The run could not proceed (e.g. a worker never became ready).
    Failed,
}

impl RunStatus {
    /// The same word as in the JSON, for the CSV and the terminal.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::WorkerFailed => "worker_failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// A scaling efficiency band, so a reader need not know what "87%" means.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Below 50%.
    Failed,
    /// 50 to 70%.
    Poor,
    /// 70 to 85%.
    Good,
    /// 85 to 95%.
    Excellent,
    /// 95% and above.
    Perfect,
}

impl Band {
    pub fn label(self) -> &'static str {
        match self {
            Band::Failed => "failed",
            Band::Poor => "poor",
            Band::Good => "good",
            Band::Excellent => "excellent",
            Band::Perfect => "perfect",
        }
    }

    /// The band of one value (NaN is failed).
    pub fn of(pct: f64) -> Band {
        match pct {
            p if p >= 95.0 => Band::Perfect,
            p if p >= 85.0 => Band::Excellent,
            p if p >= 70.0 => Band::Good,
            p if p >= 50.0 => Band::Poor,
            _ => Band::Failed,
        }
    }
}

/// One host: what it is, how its clock compares with ours, and its share of the figures
/// (of the reported step).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct HostInfo {
    pub name: String,
    pub url: String,
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    /// Logical CPUs online.
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub engine: EngineInfo,
    /// Cores, packages, NUMA nodes, SMT, governor and frequency, where readable.
    pub topology: Option<TopologySummary>,
    /// Its clock minus ours, in ms, and how far off that estimate may be (half the best
    /// round trip of the pings it came from).
    pub clock_offset_ms: Option<f64>,
    pub clock_uncertainty_ms: Option<f64>,
    /// How its workers got the corpus: `mounted PATH`, or `shipped`.
    pub data: String,
    /// Its containers in the reported step, their pages/sec, and the efficiency of that
    /// step measured on its workers alone.
    pub containers: usize,
    pub total_pages_per_sec: f64,
    pub total_pages_per_sec_ci95: Option<[f64; 2]>,
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95_pct: Option<[f64; 2]>,
}

/// The settings that shaped the run (the validated config plus flags).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// Workers started (the largest step).
    pub containers: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Path as given by the user (never rewritten to an absolute path).
    pub data_dir: String,
    pub data_files: u64,
    pub data_bytes: u64,
    pub cpus: Vec<usize>,
    pub memory_bytes: Option<u64>,
    /// The image the workers ran (or a description for local processes).
    pub image: String,
    pub runtime: Runtime,
    pub oversubscribed: bool,
    pub repeat: u32,
    pub target_precision_pts: Option<f64>,
    pub max_time_s: Option<f64>,
    /// The config file used, if any, and its effective values.
    pub config_file: Option<String>,
    pub config: serde_json::Value,
}

/// How the window was cut up (see [`crate::schedule`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScheduleInfo {
    pub kind: ScheduleKind,
    pub steps: Vec<usize>,
    pub slot_s: f64,
    pub gap_s: f64,
    /// Slots per round (each core alone once, beside every step).
    pub round_slots: u64,
    pub slots_planned: u64,
    pub slots_measured: u64,
    /// One period of the slot sequence.
    pub period: Vec<SlotKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    /// Mean over the cores of one worker's pages/sec alone.
    pub pages_per_sec: f64,
    pub ci95: Option<[f64; 2]>,
    pub source: BaselineSource,
    /// Each core alone, when measured in this run.
    pub per_cpu: Vec<SoloFigure>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BaselineSource {
    /// Solo slots of this run, each paired with the steps' slots next to it.
    SoloSlots,
    /// `--baseline FILE`: an earlier run's single-container figure.
    File { path: String },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SoloFigure {
    pub cpu: usize,
    pub pages_per_sec: f64,
    pub pages_per_cpu_s: Option<f64>,
    pub cpu_share_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Totals {
    pub pages: u64,
    pub files: u64,
    pub errors: u64,
    pub skipped: u64,
    pub chars: u64,
}

/// One worker's figures over the slots of one step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerResult {
    pub name: String,
    pub index: u32,
    pub cpu: usize,
    pub host: String,
    pub status: WorkerStatus,
    pub pages: u64,
    pub files: u64,
    pub errors: u64,
    pub skipped: u64,
    pub chars: u64,
    /// Seconds of the step's slots.
    pub elapsed_s: f64,
    pub pages_per_sec: f64,
    /// CPU time of the extracting thread in those slots.
    pub cpu_s: f64,
    /// The share of the slots' time the worker was actually running.
    pub cpu_share_pct: Option<f64>,
    pub pages_per_cpu_s: Option<f64>,
    /// CFS bandwidth control of its cgroup in those slots: periods in which the quota ran
    /// out, and how long it was held back.
    pub throttled_periods: Option<u64>,
    pub throttled_s: Option<f64>,
    pub window_start_unix_ns: Option<i64>,
}

/// How a worker ended, in one word (details in `status_detail`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WorkerStatus {
    /// It delivered its result.
    Ok,
    OomKilled,
    /// It exited before its result (code in `status_detail`).
    Exited,
    /// It stopped printing while it should have been measuring, and was given up.
    Stalled,
    NeverReady,
    /// The run ended before its window (an interrupt, or another worker's failure).
    NotMeasured,
    /// It was still running at the deadline, without a result.
    NoResult,
    /// Its engine could not start it, or lost it.
    Lost,
    /// Still measuring: the file was written during the window, after a round.
    Measuring,
}

impl WorkerStatus {
    /// It failed: it did not deliver, and will not (a worker still measuring has not
    /// failed).
    pub fn failed(self) -> bool {
        !matches!(self, WorkerStatus::Ok | WorkerStatus::Measuring)
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkerStatus::Ok => "ok",
            WorkerStatus::OomKilled => "oom_killed",
            WorkerStatus::Exited => "exited",
            WorkerStatus::Stalled => "stalled",
            WorkerStatus::NeverReady => "never_ready",
            WorkerStatus::NotMeasured => "not_measured",
            WorkerStatus::Measuring => "measuring",
            WorkerStatus::NoResult => "no_result",
            WorkerStatus::Lost => "lost",
        }
    }
}

/// Everything one worker reported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkerRecord {
    pub name: String,
    pub index: u32,
    pub cpu: usize,
    /// The host it ran on.
    pub host: String,
    /// Its host's clock against the orchestrator's, as estimated: instants it reports
    /// (window and slot starts) are in its own clock; subtract this to compare them with
    /// other hosts'.
    pub clock_offset_ns: i64,
    pub status: WorkerStatus,
    pub status_detail: Option<String>,
    pub warmup_pages: u64,
    pub window_start_unix_ns: Option<i64>,
    pub window_end_unix_ns: Option<i64>,
    pub passes: u64,
    pub max_rss_bytes: Option<u64>,
    /// Errors and skips during the window, by reason label.
    pub by_reason: BTreeMap<String, u64>,
    /// One record per slot of the schedule, as the worker sent it.
    pub slots: Vec<SlotRecord>,
    /// Cumulative counters about once a second, as the worker sent them.
    pub progress: Vec<Sample>,
    /// Per-file problems reported by the worker (first occurrence of each).
    pub file_errors: Vec<FileProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub elapsed_s: f64,
    pub slot: u64,
    pub pages: u64,
    pub cpu_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileProblem {
    pub path: String,
    pub reason: String,
    pub detail: String,
}

/// One step: N workers together (or, for 1, each alone).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepResult {
    pub containers: usize,
    pub oversubscribed: bool,
    /// Slots of this step measured, and their seconds.
    pub slots: u64,
    pub seconds: f64,
    pub total_pages_per_sec: f64,
    pub total_pages_per_sec_ci95: Option<[f64; 2]>,
    pub per_container_mean: f64,
    pub per_container_stddev: f64,
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95_pct: Option<[f64; 2]>,
    pub efficiency_label: Option<Band>,
    pub efficiency_verdict: Option<String>,
    /// Pairs (a worker alone, the same worker in this step a moment later) and the
    /// batches (rounds) the interval is computed over.
    pub pairs: usize,
    pub batches: usize,
    pub containers_detail: Vec<ContainerResult>,
    pub loss: Option<Loss>,
    /// Each host's part of the step (when it spans several).
    pub per_host: Vec<HostFigures>,
    /// Of the step's slot time, how long all its workers were measuring at once (their
    /// slots' starts and ends differ by the start skew), in seconds.
    pub together_s: f64,
}

/// One host's part of a step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HostFigures {
    pub host: String,
    pub containers: usize,
    pub total_pages_per_sec: f64,
    pub total_pages_per_sec_ci95: Option<[f64; 2]>,
    /// From the pairs of this host's workers only: how well the step scaled on it.
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95_pct: Option<[f64; 2]>,
}

/// The shortfall from 100%, split by cause, in percentage points (they add up to it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Loss {
    pub shortfall_pts: f64,
    /// Other programs on the pinned cores (more than when alone).
    pub contention_pts: f64,
    /// Time the hypervisor took (more than when alone).
    pub steal_pts: f64,
    /// CFS throttling by the CPU quota.
    pub throttling_pts: f64,
    /// Pages per CPU-second below the solo figure: memory bandwidth, caches, frequency,
    /// an SMT sibling.
    pub slower_cores_pts: f64,
    /// What the measurements do not account for (noise included).
    pub unexplained_pts: f64,
    pub cpu_share_solo_pct: f64,
    pub cpu_share_together_pct: f64,
    pub pages_per_cpu_s_solo: f64,
    pub pages_per_cpu_s_together: f64,
    pub others_solo_pct: f64,
    pub others_together_pct: f64,
    /// The share of the step's throughput that other programs took, in its slots: what
    /// they used of the pinned cores over what our workers and they used together. Not a
    /// loss of efficiency when they used the cores as much when one ran alone (each core is
    /// compared with itself), but a loss against free cores all the same.
    #[serde(default)]
    pub throughput_lost_to_others_pct: f64,
    /// In plain words, one line per cause worth naming.
    pub notes: Vec<String>,
}

/// One pinned CPU over the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpuUsage {
    pub cpu: usize,
    /// CPU time used on it by anything but our worker, percent of the time.
    pub others_pct: f64,
    /// Time the hypervisor took from it, percent.
    pub steal_pct: f64,
    /// Our worker's cgroup held back by its CPU quota, percent of the time.
    pub throttled_pct: f64,
    /// The busiest programs seen on it besides our workers (local hosts only).
    pub top_processes: Vec<ProcessUse>,
}

impl CpuUsage {
    /// The `n` busiest other programs on this CPU, described (`sh (pid 4242) 64%`).
    pub fn busiest(&self, n: usize) -> Vec<String> {
        self.top_processes
            .iter()
            .take(n)
            .map(|p| {
                // A process's time is credited to the core it is on when it is looked at
                // (every 2 s): one that moves between cores can be credited more than the
                // core lost to others. Said so, rather than as this core's share.
                if p.pct > self.others_pct + 5.0 {
                    format!("{}, moving between cores", p.describe())
                } else {
                    p.describe()
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessUse {
    pub pid: u32,
    pub command: String,
    /// Percent of the CPU over the window.
    pub pct: f64,
    pub role: ProcessRole,
}

impl ProcessUse {
    /// `yes (pid 4242) 64%`, `this program (pid 7) 3%`, `dockerd (container engine, pid 9) 2%`.
    pub fn describe(&self) -> String {
        match self.role {
            ProcessRole::Orchestrator => {
                format!("this program (pid {}) {:.0}%", self.pid, self.pct)
            }
            ProcessRole::Engine => format!(
                "{} (container engine, pid {}) {:.0}%",
                self.command, self.pid, self.pct
            ),
            ProcessRole::Other => format!("{} (pid {}) {:.0}%", self.command, self.pid, self.pct),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProcessRole {
    /// This program (the orchestrator).
    Orchestrator,
    /// The container engine (dockerd, containerd, shims).
    Engine,
    Other,
}

/// With `--target-precision`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Precision {
    pub target_pts: f64,
    /// The widest half-width among the steps' efficiencies at the end.
    pub reached_pts: Option<f64>,
    pub met: bool,
    pub measured_s: f64,
    pub max_time_s: f64,
}

/// One step against a saved reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub containers: usize,
    pub before_pages_per_sec: f64,
    pub before_ci95: Option<[f64; 2]>,
    pub now_pages_per_sec: f64,
    pub now_ci95: Option<[f64; 2]>,
    /// (now - before) / before x 100; None when before is 0.
    pub throughput_change_pct: Option<f64>,
    pub before_efficiency_pct: Option<f64>,
    pub now_efficiency_pct: Option<f64>,
    /// Now minus before, in percentage points.
    pub efficiency_change_points: Option<f64>,
    /// The two throughput intervals do not overlap.
    pub beyond_noise: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateOutcome {
    pub passed: bool,
    /// Why it failed, one plain sentence per problem; empty when it passed.
    pub reasons: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_credited_more_than_its_core_lost_is_said_to_move() {
        let usage = |others_pct| CpuUsage {
            cpu: 0,
            others_pct,
            steal_pct: 0.0,
            throttled_pct: 0.0,
            top_processes: vec![ProcessUse {
                pid: 42,
                command: "yes".into(),
                pct: 83.0,
                role: ProcessRole::Other,
            }],
        };
        assert_eq!(usage(80.0).busiest(3), vec!["yes (pid 42) 83%"]);
        assert_eq!(
            usage(2.0).busiest(3),
            vec!["yes (pid 42) 83%, moving between cores"]
        );
    }

    #[test]
    fn labels_match_serde() {
        for status in [
            RunStatus::Ok,
            RunStatus::WorkerFailed,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json.trim_matches('"'), status.label());
        }
        for band in [
            Band::Failed,
            Band::Poor,
            Band::Good,
            Band::Excellent,
            Band::Perfect,
        ] {
            let json = serde_json::to_string(&band).unwrap();
            assert_eq!(json.trim_matches('"'), band.label());
        }
        for status in [
            WorkerStatus::Ok,
            WorkerStatus::OomKilled,
            WorkerStatus::Exited,
            WorkerStatus::Stalled,
            WorkerStatus::NeverReady,
            WorkerStatus::NotMeasured,
            WorkerStatus::NoResult,
            WorkerStatus::Lost,
            WorkerStatus::Measuring,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json.trim_matches('"'), status.label());
        }
    }

    #[test]
    fn bands_follow_their_bounds() {
        let cases = [
            (120.0, Band::Perfect),
            (95.0, Band::Perfect),
            (94.9, Band::Excellent),
            (85.0, Band::Excellent),
            (84.9, Band::Good),
            (70.0, Band::Good),
            (69.9, Band::Poor),
            (50.0, Band::Poor),
            (49.9, Band::Failed),
            (f64::NAN, Band::Failed),
        ];
        for (pct, band) in cases {
            assert_eq!(Band::of(pct), band, "{pct}");
        }
    }
}
