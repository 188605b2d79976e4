//! What a run produced, as written to `results_<timestamp>_<run id>.json`. Every figure in a report
//! is computed from these fields, and the per-second samples are kept so that each figure
//! can be traced back to what the workers printed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One complete results file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunResult {
    pub tool_version: String,
    /// Random id of this run; also the label on its containers.
    pub run_id: String,
    pub timestamp: DateTime<Utc>,
    /// Which repetition of this container count this run is, from 1 (a scaling series may
    /// measure each step several times); 1 for a single run. Older files without it read
    /// as 1.
    #[serde(default = "first_repeat")]
    pub repeat: u32,
    /// `ok`, `container_failed`, `interrupted` or `failed`.
    pub status: RunStatus,
    /// Human-readable problems, one per line (empty when status is ok).
    pub problems: Vec<String>,
    pub host: HostInfo,
    pub settings: Settings,
    pub containers: Vec<ContainerResult>,
    pub totals: Totals,
    /// Sum over containers of their pages/sec.
    pub total_pages_per_sec: f64,
    pub avg_pages_per_sec_per_container: f64,
    /// Latest window start minus earliest, in milliseconds; None with fewer than one start.
    pub start_skew_ms: Option<f64>,
    /// The single-container figure the efficiency is computed against.
    pub baseline: Option<Baseline>,
    /// total / (N x baseline) x 100.
    pub scaling_efficiency_pct: Option<f64>,
    /// perfect, excellent, good, poor or failed.
    pub efficiency_label: Option<String>,
    /// Statistics of the total throughput over the per-second samples.
    pub throughput_stats: Option<SampleStats>,
}

fn first_repeat() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    /// At least one container died or was OOM-killed; the others' figures are kept.
    ContainerFailed,
    /// Ctrl-C or SIGTERM; what was measured is kept.
    Interrupted,
    /// The run could not proceed (e.g. a container never became ready).
    Failed,
}

impl RunStatus {
    /// The same word as in the JSON, for the CSV and the terminal.
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::ContainerFailed => "container_failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct HostInfo {
    pub hostname: Option<String>,
    pub cpu_model: Option<String>,
    /// Logical CPUs online.
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub kernel: Option<String>,
    pub docker_version: Option<String>,
    pub docker_api_version: Option<String>,
    /// CPU use of the whole machine, percent, measured over a second before the run.
    #[serde(default)]
    pub busy_pct_before_run: Option<f64>,
    /// Cores, packages, NUMA nodes, SMT, governor and frequency, where readable.
    #[serde(default)]
    pub topology: Option<crate::topology::TopologySummary>,
}

/// The settings that shaped the run (the validated config plus CLI overrides).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub containers: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Path as given by the user (never rewritten to an absolute path).
    pub data_dir: String,
    pub data_files: u64,
    pub data_bytes: u64,
    pub cpus: Vec<usize>,
    pub memory_bytes: Option<u64>,
    pub image: String,
    /// Docker containers or local processes.
    #[serde(default)]
    pub runtime: crate::config::Runtime,
    pub oversubscribed: bool,
    /// The config file used, if any, and its effective values.
    pub config_file: Option<String>,
    pub config: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Baseline {
    pub pages_per_sec: f64,
    /// `solo run before this one`, `this run (1 container)` or `file <path>`.
    pub source: String,
    /// The solo run's container, when the baseline was measured for this run: its
    /// samples are the evidence for the figure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Totals {
    pub pages: u64,
    pub files: u64,
    pub errors: u64,
    pub skipped: u64,
    pub chars: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerResult {
    pub name: String,
    pub index: u32,
    pub cpu: usize,
    /// `ok`, or what went wrong: `oom_killed`, `exited (code 3)`, `never_ready` ...
    pub status: String,
    pub pages: u64,
    pub files: u64,
    pub errors: u64,
    pub skipped: u64,
    pub chars: u64,
    pub elapsed_s: f64,
    pub pages_per_sec: f64,
    pub passes: u64,
    pub window_start_unix_ns: Option<i64>,
    pub window_end_unix_ns: Option<i64>,
    pub by_reason: BTreeMap<String, u64>,
    pub max_rss_bytes: Option<u64>,
    pub warmup_pages: u64,
    /// Cumulative counters about once a second during the window, as the worker sent them.
    pub samples: Vec<Sample>,
    /// Per-file problems reported by the worker (first occurrence of each).
    pub file_errors: Vec<FileProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub elapsed_s: f64,
    pub pages: u64,
    pub files: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileProblem {
    pub path: String,
    pub reason: String,
    pub detail: String,
}

/// Summary statistics of a series of per-second values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SampleStats {
    pub n: usize,
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
    /// Coefficient of variation, percent.
    pub cv_pct: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    /// Indices of samples flagged as outliers.
    pub outliers: Vec<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_match_serde() {
        for status in [
            RunStatus::Ok,
            RunStatus::ContainerFailed,
            RunStatus::Interrupted,
            RunStatus::Failed,
        ] {
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json.trim_matches('"'), status.label());
        }
    }
}
