//! Saved study baselines, the comparison of a study against one, and the pass/fail gate
//! for CI (`GATE_FAILED`, exit code 5, in `error.rs`).
//!
//! What counts as a change beyond noise: the two 95% confidence intervals of the total
//! throughput do not overlap. A baseline file keeps the aggregate figures and their
//! intervals, not the samples, so a Welch t-test is not possible; non-overlap is the
//! stricter test (for equal widths it means p < 0.01), so a flagged change is real while a
//! small real change may go unflagged.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::export::write_atomically;
use super::model::HostInfo;
use super::study::{BaselineFigure, StepAggregate, Study};
use crate::error::InputError;
use crate::topology::TopologySummary;

/// `baseline-<name>.json`: a study's figures per container count, to compare later
/// studies against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyBaseline {
    pub name: String,
    /// When the study's last run started.
    pub timestamp: Option<DateTime<Utc>>,
    pub host: HostInfo,
    pub topology: Option<TopologySummary>,
    /// The 1-container figure the efficiencies were computed against.
    pub baseline: Option<BaselineFigure>,
    /// Ascending by container count.
    pub steps: Vec<StepAggregate>,
}

pub fn baseline_file_name(name: &str) -> String {
    format!("baseline-{name}.json")
}

/// Writes `dir/baseline-<name>.json` atomically and returns its path. The name must be a
/// plain file-name fragment (letters, digits, `.`, `_`, `-`).
pub fn save_baseline(study: &Study, name: &str, dir: &Path) -> Result<PathBuf> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(plain) {
        bail!(InputError(format!(
            "baseline name {name:?} cannot be used in a file name: use letters, digits, \
             '.', '_' and '-' only, e.g. main-2cpu"
        )));
    }
    let saved = StudyBaseline {
        name: name.to_string(),
        timestamp: study.steps.iter().map(|s| s.timestamp).max(),
        host: study.host.clone(),
        topology: study.topology.clone(),
        baseline: study.baseline,
        steps: study.aggregates(),
    };
    let path = dir.join(baseline_file_name(name));
    let mut json = serde_json::to_vec_pretty(&saved)
        .with_context(|| format!("serializing {}", path.display()))?;
    json.push(b'\n');
    write_atomically(&path, &json)?;
    Ok(path)
}

pub fn load_baseline(path: &Path) -> Result<StudyBaseline> {
    let bytes = fs::read(path).map_err(|e| {
        InputError(format!(
            "baseline {} cannot be read: {e}. Save one first with the same name.",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        InputError(format!(
            "baseline {} is not a saved study baseline: {e}",
            path.display()
        ))
        .into()
    })
}

/// One container count, now against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub containers: usize,
    pub before_pages_per_sec: f64,
    pub before_ci95: (f64, f64),
    pub now_pages_per_sec: f64,
    pub now_ci95: (f64, f64),
    /// (now - before) / before x 100; None when before is 0.
    pub throughput_change_pct: Option<f64>,
    pub before_efficiency_pct: Option<f64>,
    pub now_efficiency_pct: Option<f64>,
    /// Now minus before, in percentage points (efficiency is already a percentage).
    pub efficiency_change_points: Option<f64>,
    /// The two throughput intervals do not overlap.
    pub beyond_noise: bool,
}

/// One comparison per container count measured both now and in `earlier`, ascending.
pub fn compare(current: &Study, earlier: &StudyBaseline) -> Vec<Comparison> {
    current
        .aggregates()
        .into_iter()
        .filter_map(|now| {
            let before = earlier
                .steps
                .iter()
                .find(|b| b.containers == now.containers)?;
            let change = (before.total_pages_per_sec != 0.0).then(|| {
                (now.total_pages_per_sec - before.total_pages_per_sec) / before.total_pages_per_sec
                    * 100.0
            });
            Some(Comparison {
                containers: now.containers,
                before_pages_per_sec: before.total_pages_per_sec,
                before_ci95: (before.ci95_low, before.ci95_high),
                now_pages_per_sec: now.total_pages_per_sec,
                now_ci95: (now.ci95_low, now.ci95_high),
                throughput_change_pct: change,
                before_efficiency_pct: before.efficiency_pct,
                now_efficiency_pct: now.efficiency_pct,
                efficiency_change_points: now
                    .efficiency_pct
                    .zip(before.efficiency_pct)
                    .map(|(n, b)| n - b),
                beyond_noise: now.ci95_high < before.ci95_low || now.ci95_low > before.ci95_high,
            })
        })
        .collect()
}

/// The comparison for the terminal: each count's change with both intervals.
pub fn render_comparisons(comparisons: &[Comparison]) -> String {
    if comparisons.is_empty() {
        return "Compared with the baseline: no container count in common.\n".to_string();
    }
    let mut out = String::from("Compared with the baseline:\n");
    for c in comparisons {
        let change = c
            .throughput_change_pct
            .map_or_else(|| "n/a".to_string(), |ch| format!("{ch:+.1}%"));
        let eff = c
            .efficiency_change_points
            .map(|p| format!(", efficiency {p:+.1} points"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {} containers: {:.1} -> {:.1} pages/s ({change}; 95% CI {:.1}-{:.1} -> {:.1}-{:.1}){eff}: {}\n",
            c.containers,
            c.before_pages_per_sec,
            c.now_pages_per_sec,
            c.before_ci95.0,
            c.before_ci95.1,
            c.now_ci95.0,
            c.now_ci95.1,
            if c.beyond_noise { "beyond noise" } else { "within noise" }
        ));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateOutcome {
    pub passed: bool,
    /// Why it failed, one plain sentence per problem; empty when it passed.
    pub reasons: Vec<String>,
}

/// Fails when a container count's efficiency (mean over repeats) is below
/// `fail_below_pct`, or unknown while a threshold is set, or when a throughput fell beyond
/// noise. Oversubscribed container counts are exempt from the efficiency threshold: sharing
/// CPUs lowers efficiency by design.
pub fn gate(
    current: &Study,
    comparisons: &[Comparison],
    fail_below_pct: Option<f64>,
) -> GateOutcome {
    let mut reasons = Vec::new();
    if let Some(threshold) = fail_below_pct {
        for agg in current.aggregates() {
            let oversubscribed = current
                .steps
                .iter()
                .any(|s| s.containers == agg.containers && s.oversubscribed);
            match agg.efficiency_pct {
                _ if oversubscribed => {}
                Some(pct) if pct < threshold => reasons.push(format!(
                    "{} containers: efficiency {pct:.1}% is below the {threshold}% threshold",
                    agg.containers
                )),
                Some(_) => {}
                None => reasons.push(format!(
                    "{} containers: efficiency unknown (no 1-container step), so the \
                     {threshold}% threshold cannot be checked",
                    agg.containers
                )),
            }
        }
    }
    for c in comparisons {
        if let Some(change) = c
            .throughput_change_pct
            .filter(|ch| c.beyond_noise && *ch < 0.0)
        {
            reasons.push(format!(
                "{} containers: throughput fell {:.1}% ({:.2} -> {:.2} pages/s), beyond noise \
                 (95% intervals {:.2}-{:.2} and {:.2}-{:.2} do not overlap)",
                c.containers,
                -change,
                c.before_pages_per_sec,
                c.now_pages_per_sec,
                c.before_ci95.0,
                c.before_ci95.1,
                c.now_ci95.0,
                c.now_ci95.1,
            ));
        }
    }
    GateOutcome {
        passed: reasons.is_empty(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::study::tests::{run_of, study};

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Saved from `study()`: 1 x 100 (95.031-104.969), 2 x 95 = 190, 4 x 90 = 360 (steady,
    /// so their intervals are points).
    fn saved() -> StudyBaseline {
        let dir = tempfile::tempdir().unwrap();
        let path = save_baseline(&study(), "main", dir.path()).unwrap();
        assert_eq!(path, dir.path().join("baseline-main.json"));
        load_baseline(&path).unwrap()
    }

    #[test]
    fn saves_and_loads_the_aggregates() {
        let saved = saved();
        assert_eq!(saved.name, "main");
        // Through JSON text on both sides: serde_json's default float parser may land one
        // ulp away from the value written.
        let text = serde_json::to_string(&study().aggregates()).unwrap();
        let expected: Vec<StepAggregate> = serde_json::from_str(&text).unwrap();
        assert_eq!(saved.steps, expected);
        assert_eq!(saved.steps[2].total_pages_per_sec, 360.0);
        assert_eq!(saved.baseline, study().baseline);
    }

    #[test]
    fn bad_names_and_missing_files_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["", "../x", "a b", ".hidden"] {
            let err = save_baseline(&study(), name, dir.path()).unwrap_err();
            assert!(err.downcast_ref::<InputError>().is_some(), "{name}");
        }
        let err = load_baseline(&dir.path().join("baseline-none.json")).unwrap_err();
        assert!(err.downcast_ref::<InputError>().is_some());
        fs::write(dir.path().join("bad.json"), "{}").unwrap();
        let err = load_baseline(&dir.path().join("bad.json")).unwrap_err();
        assert!(
            err.to_string().contains("not a saved study baseline"),
            "{err}"
        );
    }

    #[test]
    fn the_same_study_shows_no_change() {
        let comparisons = compare(&study(), &saved());
        assert_eq!(comparisons.len(), 3);
        for c in &comparisons {
            assert_eq!(c.throughput_change_pct, Some(0.0));
            assert_eq!(c.efficiency_change_points, Some(0.0));
            assert!(!c.beyond_noise);
        }
        assert_eq!(
            gate(&study(), &comparisons, Some(85.0)),
            GateOutcome {
                passed: true,
                reasons: Vec::new()
            }
        );
    }

    /// Now: solo 98/100/102 again, 2 x 95 again, 4 x 72 = 288 (was 360): -20%, the
    /// efficiency 72% (was 90%), -18 points, and the intervals (points) do not overlap.
    #[test]
    fn a_regression_beyond_noise_fails_the_gate() {
        let runs = [
            run_of(1, &[98, 100, 102], 1),
            run_of(2, &[95, 95, 95], 1),
            run_of(4, &[72, 72, 72], 1),
        ];
        let now = Study::from_runs(&runs, None, None);
        let comparisons = compare(&now, &saved());
        let four = &comparisons[2];
        assert_eq!(four.containers, 4);
        assert!(close(four.throughput_change_pct.unwrap(), -20.0));
        assert!(close(four.efficiency_change_points.unwrap(), -18.0));
        assert!(four.beyond_noise);
        assert!(!comparisons[0].beyond_noise);

        let outcome = gate(&now, &comparisons, Some(75.0));
        assert!(!outcome.passed);
        assert_eq!(
            outcome.reasons,
            [
                "4 containers: efficiency 72.0% is below the 75% threshold",
                "4 containers: throughput fell 20.0% (360.00 -> 288.00 pages/s), beyond noise \
                 (95% intervals 360.00-360.00 and 288.00-288.00 do not overlap)",
            ]
        );
        // Without a threshold only the regression counts.
        assert_eq!(gate(&now, &comparisons, None).reasons.len(), 1);
    }

    /// A gain beyond noise, and a drop inside the noise, both pass.
    #[test]
    fn gains_and_noise_pass() {
        let runs = [
            run_of(1, &[98, 100, 102], 1),
            run_of(2, &[80, 100, 105], 1),
            run_of(4, &[95, 95, 95], 1),
        ];
        let now = Study::from_runs(&runs, None, None);
        let comparisons = compare(&now, &saved());
        // 2 containers: 285 pages in 3 s each, so 190 in total as before, and per-second
        // totals 160, 200, 210 (sd 26.5) give a wide interval around it.
        assert!(!comparisons[1].beyond_noise);
        assert!(comparisons[2].beyond_noise);
        assert!(close(
            comparisons[2].throughput_change_pct.unwrap(),
            20.0 / 360.0 * 100.0
        ));
        assert!(gate(&now, &comparisons, Some(70.0)).passed);
    }

    #[test]
    fn counts_missing_on_either_side_are_skipped() {
        let mut earlier = saved();
        earlier.steps.retain(|s| s.containers != 2);
        let comparisons = compare(&study(), &earlier);
        assert_eq!(
            comparisons.iter().map(|c| c.containers).collect::<Vec<_>>(),
            [1, 4]
        );
    }

    #[test]
    fn oversubscribed_steps_are_exempt_and_unknown_efficiency_fails() {
        let mut over = run_of(4, &[50, 50], 1);
        over.settings.oversubscribed = true;
        let study_over = Study::from_runs(&[run_of(1, &[100, 100], 1), over], None, None);
        assert_eq!(study_over.aggregates()[1].efficiency_pct, Some(50.0));
        assert!(gate(&study_over, &[], Some(70.0)).passed);

        let no_solo = Study::from_runs(&[run_of(2, &[95, 95], 1)], None, None);
        let outcome = gate(&no_solo, &[], Some(70.0));
        assert!(!outcome.passed);
        assert!(outcome.reasons[0].contains("efficiency unknown"));
    }
}
