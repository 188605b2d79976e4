//! Pure analysis of what the workers measured, and the exporters.
//!
//! [`Draft`] is what the pipeline knows at some moment (after any slot, or at the end);
//! [`Draft::report`] turns it into the one [`model::Report`] every exporter serializes.

pub mod analysis;
pub mod export;
#[cfg(test)]
pub mod fixtures;
pub mod model;
pub mod reference;
pub mod stats;
pub mod verdict;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::Plan;
use crate::facts::HostFacts;
use crate::schedule::Schedule;
use analysis::FileBaseline;
use model::{
    Comparison, CpuUsage, GateOutcome, HostInfo, Precision, ProcessUse, Report, RunStatus,
    ScheduleInfo, Settings, WorkerRecord,
};

/// Everything the run knows, from which the report is made.
pub struct Draft<'a> {
    pub plan: &'a Plan,
    pub schedule: &'a Schedule,
    /// One per host of the plan.
    pub hosts: &'a [HostFacts],
    pub offsets: Vec<Option<crate::pipeline::ClockOffset>>,
    pub image: &'a str,
    pub run_id: &'a str,
    pub timestamp: DateTime<Utc>,
    pub data_files: u64,
    pub data_bytes: u64,
    pub data_label: &'a str,
    pub busy_pct_before_run: Option<f64>,
    pub status: RunStatus,
    pub problems: Vec<String>,
    pub workers: Vec<WorkerRecord>,
    /// Slots every worker has finished (or will never finish).
    pub slots_done: u64,
    pub file_baseline: Option<&'a FileBaseline>,
    /// The busiest foreign programs per pinned CPU (local hosts).
    pub top_processes: BTreeMap<usize, Vec<ProcessUse>>,
    pub comparisons: Vec<Comparison>,
    pub gate: Option<GateOutcome>,
}

impl Draft<'_> {
    /// Each host, with its share of the reported step.
    fn hosts(&self, reported: Option<&model::StepResult>) -> Vec<HostInfo> {
        self.plan
            .hosts
            .iter()
            .enumerate()
            .map(|(h, plan)| {
                let facts = self.hosts.get(h);
                let offset = self.offsets.get(h).copied().flatten();
                let name = &plan.spec.name;
                let mine: Vec<&model::ContainerResult> = reported
                    .map(|s| {
                        s.containers_detail
                            .iter()
                            .filter(|c| &c.host == name)
                            .collect()
                    })
                    .unwrap_or_default();
                let split = reported.and_then(|s| s.per_host.iter().find(|f| &f.host == name));
                // The step's own figures are this host's only when it is the only one.
                let whole = reported.filter(|_| self.plan.hosts.len() == 1);
                let total: f64 = mine.iter().map(|c| c.pages_per_sec).sum();
                HostInfo {
                    name: name.clone(),
                    url: plan.spec.url.clone(),
                    hostname: facts.and_then(|f| f.hostname.clone()),
                    cpu_model: facts.and_then(|f| f.cpu_model.clone()),
                    cores: facts.map_or(0, |f| f.online_cpus.len()),
                    memory_bytes: facts.and_then(|f| f.memory_bytes),
                    kernel: facts.and_then(|f| f.kernel.clone()),
                    engine: facts.map(|f| f.engine.clone()).unwrap_or_default(),
                    topology: facts.and_then(|f| f.topology.clone()),
                    clock_offset_ms: offset.map(|o| o.offset_ns as f64 / 1e6),
                    clock_uncertainty_ms: offset.map(|o| o.uncertainty_ns as f64 / 1e6),
                    data: if plan.ship {
                        "shipped into a volume of the run".to_string()
                    } else {
                        match &plan.data_dir {
                            Some(dir) => format!("mounted {}", dir.display()),
                            None => format!("mounted {}", self.data_label),
                        }
                    },
                    containers: mine.len(),
                    total_pages_per_sec: split.map_or(total, |f| f.total_pages_per_sec),
                    total_pages_per_sec_ci95: split
                        .and_then(|f| f.total_pages_per_sec_ci95)
                        .or_else(|| whole.and_then(|s| s.total_pages_per_sec_ci95)),
                    efficiency_pct: split.map_or_else(
                        || whole.and_then(|s| s.efficiency_pct),
                        |f| f.efficiency_pct,
                    ),
                    efficiency_ci95_pct: split.map_or_else(
                        || whole.and_then(|s| s.efficiency_ci95_pct),
                        |f| f.efficiency_ci95_pct,
                    ),
                }
            })
            .collect()
    }

    pub fn report(&self) -> Report {
        let plan = self.plan;
        let mut figures = analysis::figures(
            self.schedule,
            &self.workers,
            self.slots_done,
            self.file_baseline,
        );
        for step in &mut figures.steps {
            step.oversubscribed = plan.oversubscribed && step.containers > 1;
        }
        // Failures are failures: with a worker failed, no step's efficiency stands (its
        // solo slots, the pairs after its death, all miss it); throughput measured stays.
        // On several hosts, a host whose workers all delivered keeps its own figure.
        let failed_hosts: Vec<&str> = self
            .workers
            .iter()
            .filter(|w| w.status.failed())
            .map(|w| w.host.as_str())
            .collect();
        if !failed_hosts.is_empty() {
            for step in &mut figures.steps {
                step.efficiency_pct = None;
                step.efficiency_ci95_pct = None;
                step.efficiency_label = None;
                step.efficiency_verdict = None;
                step.loss = None;
                for part in &mut step.per_host {
                    if failed_hosts.contains(&part.host.as_str()) {
                        part.efficiency_pct = None;
                        part.efficiency_ci95_pct = None;
                    }
                }
            }
        }
        let reported = figures
            .steps
            .iter()
            .find(|s| s.containers == plan.reported)
            .cloned();
        let mut host_usage: Vec<CpuUsage> = figures.host_usage.clone();
        for usage in &mut host_usage {
            usage.top_processes = self
                .top_processes
                .get(&usage.cpu)
                .cloned()
                .unwrap_or_default();
        }
        let measured_s = self.schedule.span(self.slots_done).as_secs_f64();
        let precision = plan.target_precision_pts.map(|target| {
            let reached = figures
                .steps
                .iter()
                .filter(|s| s.containers > 1)
                .filter_map(|s| s.efficiency_ci95_pct.map(|[lo, hi]| (hi - lo) / 2.0))
                .reduce(f64::max);
            Precision {
                target_pts: target,
                reached_pts: reached,
                met: reached.is_some_and(|r| r <= target),
                measured_s,
                max_time_s: plan.max_time_s,
            }
        });
        // A step's figures count only when none of its workers failed.
        let all_ok = !self.workers.iter().any(|w| w.status.failed());
        let (containers, total, total_ci, efficiency, efficiency_ci, label, verdict, loss) =
            match &reported {
                Some(step) => (
                    step.containers_detail.clone(),
                    step.total_pages_per_sec,
                    step.total_pages_per_sec_ci95,
                    step.efficiency_pct.filter(|_| all_ok),
                    step.efficiency_ci95_pct.filter(|_| all_ok),
                    step.efficiency_label.filter(|_| all_ok),
                    step.efficiency_verdict.clone().filter(|_| all_ok),
                    step.loss.clone().filter(|_| all_ok),
                ),
                None => (Vec::new(), 0.0, None, None, None, None, None, None),
            };
        // Name who used the pinned cores, where the host lets us see: whether or not they
        // lowered the efficiency, they lowered the throughput.
        let loss = loss.map(|mut loss| {
            for u in host_usage.iter().filter(|u| u.others_pct >= 5.0) {
                let named = u.busiest(3);
                loss.notes.push(if named.is_empty() {
                    format!("CPU {}: {:.0}% used by other programs", u.cpu, u.others_pct)
                } else {
                    format!(
                        "CPU {}: {:.0}% used by other programs ({})",
                        u.cpu,
                        u.others_pct,
                        named.join(", ")
                    )
                });
            }
            loss
        });
        let n = containers.len();
        Report {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: self.run_id.to_string(),
            timestamp: self.timestamp,
            status: self.status,
            problems: self.problems.clone(),
            hosts: self.hosts(reported.as_ref()),
            busy_pct_before_run: self.busy_pct_before_run,
            settings: Settings {
                containers: plan.workers(),
                duration_s: plan.duration_s,
                warmup_s: plan.warmup_s,
                data_dir: self.data_label.to_string(),
                data_files: self.data_files,
                data_bytes: self.data_bytes,
                cpus: plan.cpus(),
                memory_bytes: plan.memory_bytes,
                image: self.image.to_string(),
                runtime: plan.runtime,
                oversubscribed: plan.oversubscribed,
                repeat: plan.repeat,
                target_precision_pts: plan.target_precision_pts,
                max_time_s: plan.target_precision_pts.map(|_| plan.max_time_s),
                config_file: plan.config_file.as_ref().map(|p| p.display().to_string()),
                config: serde_json::to_value(&plan.config).unwrap_or_default(),
            },
            schedule: ScheduleInfo {
                kind: self.schedule.kind,
                steps: self.schedule.steps.clone(),
                slot_s: self.schedule.slot.as_secs_f64(),
                gap_s: self.schedule.gap.as_secs_f64(),
                round_slots: self.schedule.round_slots,
                slots_planned: self.schedule.planned,
                slots_measured: self.slots_done,
                period: self.schedule.period.clone(),
            },
            totals: analysis::totals(&containers),
            total_pages_per_sec: total,
            total_pages_per_sec_ci95: total_ci,
            avg_pages_per_sec_per_container: if n == 0 { 0.0 } else { total / n as f64 },
            containers,
            start_skew_ms: analysis::start_skew_ms(&self.workers),
            slot_start_skew_max_ms: figures.slot_start_skew_max_ms,
            baseline: figures.baseline.clone(),
            scaling_efficiency_pct: efficiency,
            scaling_efficiency_ci95_pct: efficiency_ci,
            efficiency_label: label,
            efficiency_verdict: verdict,
            precision,
            efficiency_loss: loss,
            host_usage,
            steps: figures.steps,
            workers: self.workers.clone(),
            comparisons: self.comparisons.clone(),
            gate: self.gate.clone(),
        }
    }
}
