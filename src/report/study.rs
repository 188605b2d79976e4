//! A scaling study: runs of 1, 2, 4 ... containers, each possibly repeated, reduced to one
//! [`StudyStep`] per run and one [`StepAggregate`] per container count, with the
//! efficiency of each against the 1-container figure and how far each figure can be trusted.
//!
//! Intervals are 95% confidence intervals of a mean (Student's t, see [`SampleStats`]):
//! within one run over its per-second total throughput; across repeats over the repeats'
//! totals, which also captures run-to-run variation and is the honest one when R >= 2.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::analysis::{scaling_efficiency_pct, total_throughput_series};
use super::model::{Baseline, HostInfo, RunResult, RunStatus, SampleStats, Settings};
use super::stats;
use crate::topology::TopologySummary;

/// Above this coefficient of variation (percent) a figure is flagged as unreliable.
pub const MAX_CV_PCT: f64 = 5.0;

/// Above this share of CPU used by others (percent) the machine is flagged as busy.
pub const MAX_HOST_BUSY_PCT: f64 = 10.0;

/// One container's throughput, against which every step's efficiency is computed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BaselineFigure {
    pub pages_per_sec: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

impl BaselineFigure {
    /// From a run's own baseline (a solo run measured before it): the interval over the
    /// solo container's per-second rates, collapsed to the figure when it has none.
    pub fn from_run_baseline(baseline: &Baseline) -> BaselineFigure {
        let stats = SampleStats::from_values(&total_throughput_series(&baseline.containers));
        let (low, high) = stats.map_or((baseline.pages_per_sec, baseline.pages_per_sec), |s| {
            (s.ci95_low, s.ci95_high)
        });
        BaselineFigure {
            pages_per_sec: baseline.pages_per_sec,
            ci95_low: low,
            ci95_high: high,
        }
    }
}

/// One run of the study (one container count, one repeat).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyStep {
    pub containers: usize,
    pub repeat: u32,
    pub run_id: String,
    pub timestamp: DateTime<Utc>,
    /// The run's `results_<timestamp>_<run id>.json`.
    pub results_file: String,
    /// `ok`, `container_failed` ... as in the results file.
    pub status: String,
    pub total_pages_per_sec: f64,
    /// 95% interval of the mean per-second total throughput; collapsed to the total when
    /// the run has no per-second samples.
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub per_container_mean: f64,
    pub per_container_stddev: f64,
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95: Option<(f64, f64)>,
    pub start_skew_ms: Option<f64>,
    pub oversubscribed: bool,
    /// Coefficient of variation of the per-second total throughput, percent.
    pub cv_pct: f64,
    pub warnings: Vec<String>,
}

impl StudyStep {
    /// The figures of one finished run (see [`finish`](super::analysis::finish)).
    pub fn from_run(result: &RunResult, baseline: Option<&BaselineFigure>) -> StudyStep {
        let n = result.containers.len();
        let total = result.total_pages_per_sec;
        let stats = SampleStats::from_values(&total_throughput_series(&result.containers));
        let (ci95_low, ci95_high) = stats
            .as_ref()
            .map_or((total, total), |s| (s.ci95_low, s.ci95_high));
        let cv_pct = stats.as_ref().map_or(0.0, |s| s.cv_pct);
        let rates: Vec<f64> = result.containers.iter().map(|c| c.pages_per_sec).collect();
        let oversubscribed = result.settings.oversubscribed;

        let mut warnings = Vec::new();
        if cv_pct > MAX_CV_PCT {
            warnings.push(high_spread(cv_pct, "second to second"));
        }
        if stats.as_ref().is_none_or(|s| s.n < 2) {
            warnings.push("fewer than two per-second samples: no interval".to_string());
        }
        if oversubscribed {
            warnings.push(format!(
                "oversubscribed: {n} containers share fewer CPUs, so a drop in efficiency is \
                 expected"
            ));
        }
        if result.status != RunStatus::Ok {
            warnings.push(format!("run status {}", result.status.label()));
        }

        StudyStep {
            containers: n,
            repeat: result.repeat,
            run_id: result.run_id.clone(),
            timestamp: result.timestamp,
            results_file: super::export::json::results_file_name(result),
            status: result.status.label().to_string(),
            total_pages_per_sec: total,
            ci95_low,
            ci95_high,
            per_container_mean: stats::mean(&rates),
            per_container_stddev: stats::stddev(&rates),
            efficiency_pct: baseline
                .and_then(|b| scaling_efficiency_pct(total, n, b.pages_per_sec)),
            efficiency_ci95: baseline.and_then(|b| efficiency_interval(ci95_low, ci95_high, n, b)),
            start_skew_ms: result.start_skew_ms,
            oversubscribed,
            cv_pct,
            warnings,
        }
    }
}

/// The interval of `total / (n x baseline)` in percent, from the intervals of both, by
/// taking the extreme ratios (interval arithmetic): low = total_low / (n x base_high),
/// high = total_high / (n x base_low). It is conservative (wider than a delta-method
/// interval) because it assumes both ends are reached at once. `None` when the baseline
/// interval reaches zero.
pub fn efficiency_interval(
    total_low: f64,
    total_high: f64,
    n: usize,
    baseline: &BaselineFigure,
) -> Option<(f64, f64)> {
    let low = scaling_efficiency_pct(total_low, n, baseline.ci95_high)?;
    let high = scaling_efficiency_pct(total_high, n, baseline.ci95_low)?;
    Some((low, high))
}

fn high_spread(cv_pct: f64, between: &str) -> String {
    format!(
        "spread is high: results unreliable (throughput varies {cv_pct:.1}% {between}, \
         above {MAX_CV_PCT}%)"
    )
}

/// Where an aggregate's interval comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalSource {
    /// Over the repeats' totals (R >= 2).
    Repeats,
    /// Over the per-second totals of the single run.
    WithinRun,
}

/// The repeats of one container count, reduced to one figure with its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepAggregate {
    pub containers: usize,
    pub repeats: usize,
    /// Mean over the repeats of their total pages/sec.
    pub total_pages_per_sec: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
    pub interval: IntervalSource,
    /// Coefficient of variation across repeats, percent (None for one repeat).
    pub repeat_cv_pct: Option<f64>,
    pub per_container_mean: f64,
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95: Option<(f64, f64)>,
}

impl StepAggregate {
    /// `steps` all have the same container count and there is at least one.
    fn from_steps(steps: &[&StudyStep], baseline: Option<&BaselineFigure>) -> StepAggregate {
        let containers = steps[0].containers;
        let totals: Vec<f64> = steps.iter().map(|s| s.total_pages_per_sec).collect();
        let per_container: Vec<f64> = steps.iter().map(|s| s.per_container_mean).collect();
        let (mean, low, high, interval, repeat_cv_pct) = match SampleStats::from_values(&totals) {
            Some(s) if s.n >= 2 => (
                s.mean,
                s.ci95_low,
                s.ci95_high,
                IntervalSource::Repeats,
                Some(s.cv_pct),
            ),
            _ => (
                totals[0],
                steps[0].ci95_low,
                steps[0].ci95_high,
                IntervalSource::WithinRun,
                None,
            ),
        };
        StepAggregate {
            containers,
            repeats: steps.len(),
            total_pages_per_sec: mean,
            ci95_low: low,
            ci95_high: high,
            interval,
            repeat_cv_pct,
            per_container_mean: stats::mean(&per_container),
            efficiency_pct: baseline
                .and_then(|b| scaling_efficiency_pct(mean, containers, b.pages_per_sec)),
            efficiency_ci95: baseline.and_then(|b| efficiency_interval(low, high, containers, b)),
        }
    }
}

/// A whole scaling study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Study {
    pub host: HostInfo,
    pub topology: Option<TopologySummary>,
    /// The first run's settings (all steps share them but the container count).
    pub settings: Option<Settings>,
    /// Share of the machine's CPU used by other processes, measured before the study.
    pub host_busy_pct: Option<f64>,
    pub baseline: Option<BaselineFigure>,
    /// In the order the runs were made.
    pub steps: Vec<StudyStep>,
}

impl Study {
    /// The study of `runs` (finished, in the order they ran). The baseline is the
    /// aggregate of the 1-container runs; without any, the first run's own baseline.
    pub fn from_runs(
        runs: &[RunResult],
        topology: Option<TopologySummary>,
        host_busy_pct: Option<f64>,
    ) -> Study {
        let solo: Vec<StudyStep> = runs
            .iter()
            .filter(|r| r.containers.len() == 1)
            .map(|r| StudyStep::from_run(r, None))
            .collect();
        let baseline = if solo.is_empty() {
            runs.iter()
                .find_map(|r| r.baseline.as_ref())
                .map(BaselineFigure::from_run_baseline)
        } else {
            let agg = StepAggregate::from_steps(&solo.iter().collect::<Vec<_>>(), None);
            Some(BaselineFigure {
                pages_per_sec: agg.total_pages_per_sec,
                ci95_low: agg.ci95_low,
                ci95_high: agg.ci95_high,
            })
        };
        Study {
            host: runs.first().map(|r| r.host.clone()).unwrap_or_default(),
            topology,
            settings: runs.first().map(|r| r.settings.clone()),
            host_busy_pct,
            baseline,
            steps: runs
                .iter()
                .map(|r| StudyStep::from_run(r, baseline.as_ref()))
                .collect(),
        }
    }

    /// One aggregate per container count, ascending.
    pub fn aggregates(&self) -> Vec<StepAggregate> {
        let mut by_count: BTreeMap<usize, Vec<&StudyStep>> = BTreeMap::new();
        for step in &self.steps {
            by_count.entry(step.containers).or_default().push(step);
        }
        by_count
            .values()
            .map(|steps| StepAggregate::from_steps(steps, self.baseline.as_ref()))
            .collect()
    }

    /// Everything a reader should know before trusting the figures, in plain words.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(busy) = self.host_busy_pct.filter(|b| *b > MAX_HOST_BUSY_PCT) {
            warnings.push(format!(
                "the machine was busy: other processes used {busy:.0}% of the CPU, so the \
                 figures understate what it can do"
            ));
        }
        if self.baseline.is_none() {
            warnings.push("no 1-container figure: efficiency cannot be computed".to_string());
        }
        for agg in self.aggregates() {
            if let Some(cv) = agg.repeat_cv_pct.filter(|cv| *cv > MAX_CV_PCT) {
                warnings.push(format!(
                    "{} containers: {}",
                    agg.containers,
                    high_spread(cv, "between repeats")
                ));
            }
        }
        for step in &self.steps {
            for w in &step.warnings {
                warnings.push(format!(
                    "{} containers, repeat {}: {w}",
                    step.containers, step.repeat
                ));
            }
        }
        warnings
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::report::analysis::finish;
    use crate::report::fixtures::{container, run, sample};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// A finished run of `n` containers, each with the per-second rates `rates` (so every
    /// container reports the same), repeat `repeat`.
    pub fn run_of(n: usize, rates: &[u64], repeat: u32) -> RunResult {
        let mut samples = Vec::new();
        let mut pages = 0;
        for (i, r) in rates.iter().enumerate() {
            pages += r;
            samples.push(sample((i + 1) as f64, pages));
        }
        let pps = pages as f64 / rates.len().max(1) as f64;
        let mut result = run();
        result.repeat = repeat;
        result.settings.containers = n;
        result.settings.cpus = (0..n).collect();
        result.containers = (0..n as u32)
            .map(|i| container(i, pps, samples.clone()))
            .collect();
        result.baseline = None;
        finish(&mut result);
        result
    }

    /// A study of 1, 2 and 4 containers, one repeat each: solo rates 98, 100, 102 (mean
    /// 100, sd 2, t(2) = 4.303, interval 100 ± 4.969); two containers of 95 each, four of
    /// 90 each, all steady.
    pub fn study() -> Study {
        let runs = [
            run_of(1, &[98, 100, 102], 1),
            run_of(2, &[95, 95, 95], 1),
            run_of(4, &[90, 90, 90], 1),
        ];
        Study::from_runs(&runs, None, None)
    }

    #[test]
    fn a_step_from_a_run() {
        let mut result = run();
        finish(&mut result);
        let base = BaselineFigure {
            pages_per_sec: 100.0,
            ci95_low: 95.0,
            ci95_high: 105.0,
        };
        let step = StudyStep::from_run(&result, Some(&base));
        assert_eq!(step.containers, 2);
        assert_eq!(step.results_file, "results_20250314_092653_r1a2b3.json");
        assert_eq!(step.total_pages_per_sec, 190.0);
        // Interval totals 185, 193, 192: 190 ± 4.303 x 4.358898943540674 / √3.
        let half = 4.303 * 4.358898943540674 / 3f64.sqrt();
        assert!(close(step.ci95_low, 190.0 - half), "{}", step.ci95_low);
        assert!(close(step.ci95_high, 190.0 + half), "{}", step.ci95_high);
        assert_eq!(step.per_container_mean, 95.0);
        assert!(close(step.per_container_stddev, 2f64.sqrt()));
        assert_eq!(step.efficiency_pct, Some(95.0));
        // (190 - half) / (2 x 105) and (190 + half) / (2 x 95).
        let (low, high) = step.efficiency_ci95.unwrap();
        assert!(close(low, (190.0 - half) / 2.1), "{low}");
        assert!(close(high, (190.0 + half) / 1.9), "{high}");
        assert_eq!(step.start_skew_ms, Some(1.25));
        assert!(step.warnings.is_empty(), "{:?}", step.warnings);
    }

    #[test]
    fn a_step_without_baseline_has_no_efficiency() {
        let step = StudyStep::from_run(&run_of(2, &[95, 95], 1), None);
        assert_eq!((step.efficiency_pct, step.efficiency_ci95), (None, None));
        assert_eq!((step.ci95_low, step.ci95_high), (190.0, 190.0));
    }

    #[test]
    fn warnings_for_spread_oversubscription_and_status() {
        let mut result = run_of(2, &[50, 150, 100], 1);
        result.settings.oversubscribed = true;
        result.status = RunStatus::ContainerFailed;
        let step = StudyStep::from_run(&result, None);
        // Totals 100, 300, 200: sd 100, mean 200, CV 50%.
        assert!(close(step.cv_pct, 50.0));
        assert_eq!(step.warnings.len(), 3, "{:?}", step.warnings);
        assert!(step.warnings[0].starts_with("spread is high: results unreliable"));
        assert!(step.warnings[1].starts_with("oversubscribed"));
        assert_eq!(step.warnings[2], "run status container_failed");

        let empty = StudyStep::from_run(&run_of(1, &[], 1), None);
        assert_eq!(
            empty.warnings,
            ["fewer than two per-second samples: no interval"]
        );
    }

    #[test]
    fn the_baseline_is_the_solo_step() {
        let study = study();
        let base = study.baseline.unwrap();
        assert_eq!(base.pages_per_sec, 100.0);
        assert!(close(base.ci95_low, 100.0 - 4.303 * 2.0 / 3f64.sqrt()));
        let effs: Vec<f64> = study
            .steps
            .iter()
            .map(|s| s.efficiency_pct.unwrap())
            .collect();
        assert_eq!(effs, [100.0, 95.0, 90.0]);
        // Steady 4-container run: total exactly 360, so 360/(4 x 104.969) .. 360/(4 x 95.031).
        let (low, high) = study.steps[2].efficiency_ci95.unwrap();
        assert!(close(low, 360.0 / (4.0 * base.ci95_high) * 100.0));
        assert!(close(high, 360.0 / (4.0 * base.ci95_low) * 100.0));
        assert!(low < 90.0 && high > 90.0);
        assert!(study.warnings().is_empty(), "{:?}", study.warnings());
    }

    #[test]
    fn repeats_aggregate_with_an_interval_over_their_totals() {
        let runs = [
            run_of(1, &[100, 100], 1),
            run_of(1, &[100, 100], 2),
            run_of(2, &[90, 90], 1),
            run_of(2, &[100, 100], 2),
            run_of(2, &[95, 95], 3),
        ];
        let study = Study::from_runs(&runs, None, None);
        let aggs = study.aggregates();
        assert_eq!(aggs.len(), 2);
        assert_eq!(aggs[0].interval, IntervalSource::Repeats);
        assert_eq!((aggs[0].ci95_low, aggs[0].ci95_high), (100.0, 100.0));
        let two = &aggs[1];
        // Totals 180, 200, 190: mean 190, sd 10, t(2) = 4.303.
        assert_eq!((two.containers, two.repeats), (2, 3));
        assert_eq!(two.total_pages_per_sec, 190.0);
        assert!(close(two.ci95_low, 190.0 - 43.03 / 3f64.sqrt()));
        assert!(close(two.repeat_cv_pct.unwrap(), 10.0 / 190.0 * 100.0));
        assert_eq!(two.efficiency_pct, Some(95.0));
        assert_eq!(two.per_container_mean, 95.0);
        let warnings = study.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("2 containers: spread is high"));
    }

    #[test]
    fn one_repeat_keeps_the_within_run_interval() {
        let study = study();
        let aggs = study.aggregates();
        assert_eq!(aggs[0].interval, IntervalSource::WithinRun);
        assert_eq!(aggs[0].ci95_low, study.steps[0].ci95_low);
        assert_eq!(aggs[0].repeat_cv_pct, None);
    }

    #[test]
    fn without_a_solo_step_the_runs_baseline_is_used() {
        let mut two = run_of(2, &[95, 95], 1);
        two.baseline = Some(Baseline {
            pages_per_sec: 100.0,
            source: "file b.json".to_string(),
            containers: Vec::new(),
        });
        let study = Study::from_runs(&[two], None, Some(25.0));
        assert_eq!(
            study.baseline,
            Some(BaselineFigure {
                pages_per_sec: 100.0,
                ci95_low: 100.0,
                ci95_high: 100.0
            })
        );
        assert_eq!(study.steps[0].efficiency_pct, Some(95.0));
        assert!(study.warnings()[0].starts_with("the machine was busy: other processes used 25%"));

        let alone = Study::from_runs(&[run_of(2, &[95, 95], 1)], None, None);
        assert_eq!(
            alone.warnings(),
            ["no 1-container figure: efficiency cannot be computed"]
        );
    }
}
