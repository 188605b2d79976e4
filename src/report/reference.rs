//! Earlier results, read back: a saved reference (`--save-baseline NAME` writes
//! `baseline-NAME.json`, `--compare FILE` reads it) with the comparison and the pass/fail
//! gate for CI (exit code 5), and the single-container figure of an earlier results file
//! (`--baseline FILE`).
//!
//! What counts as a change beyond noise: the two 95% intervals of the total throughput do
//! not overlap. A reference keeps the figures and their intervals, not the samples, so a
//! Welch t-test is not possible; non-overlap is the stricter test (for equal widths it
//! means p < 0.01), so a flagged change is real while a small real change may go unflagged.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::analysis::FileBaseline;
use super::export::write_atomically;
use super::model::{Comparison, GateOutcome, HostInfo, Report};
use super::stats::Estimate;
use crate::error::InputError;

/// `baseline-<name>.json`: a run's figures per step, to compare later runs against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub timestamp: DateTime<Utc>,
    pub hosts: Vec<HostInfo>,
    pub steps: Vec<ReferenceStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceStep {
    pub containers: usize,
    pub total_pages_per_sec: f64,
    pub total_pages_per_sec_ci95: Option<[f64; 2]>,
    pub efficiency_pct: Option<f64>,
    pub efficiency_ci95_pct: Option<[f64; 2]>,
}

pub fn reference_file_name(name: &str) -> String {
    format!("baseline-{name}.json")
}

/// Writes `dir/baseline-<name>.json` atomically and returns its path (the name was
/// checked when the plan was made).
pub fn save(report: &Report, name: &str, dir: &Path) -> Result<PathBuf> {
    let saved = Reference {
        name: name.to_string(),
        timestamp: report.timestamp,
        hosts: report.hosts.clone(),
        steps: report
            .steps
            .iter()
            .map(|s| ReferenceStep {
                containers: s.containers,
                total_pages_per_sec: s.total_pages_per_sec,
                total_pages_per_sec_ci95: s.total_pages_per_sec_ci95,
                efficiency_pct: s.efficiency_pct,
                efficiency_ci95_pct: s.efficiency_ci95_pct,
            })
            .collect(),
    };
    let path = dir.join(reference_file_name(name));
    let mut json = serde_json::to_vec_pretty(&saved)
        .with_context(|| format!("serializing {}", path.display()))?;
    json.push(b'\n');
    write_atomically(&path, &json)?;
    Ok(path)
}

pub fn load(path: &Path) -> Result<Reference, InputError> {
    let bytes = fs::read(path).map_err(|e| {
        InputError(format!(
            "--compare {}: cannot read it: {e}. Save one first with --save-baseline NAME.",
            path.display()
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        InputError(format!(
            "--compare {}: not a saved reference of this tool (baseline-NAME.json): {e}",
            path.display()
        ))
    })
}

/// The single-container figure of an earlier results file: its solo baseline, or its
/// 1-container step. Older results files (one container, `pages_per_sec`) are read too.
pub fn baseline_from_results(path: &Path) -> Result<FileBaseline, InputError> {
    let bad = |why: String| InputError(format!("--baseline {}: {why}", path.display()));
    let text = fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let interval = |x: &serde_json::Value| {
        let a = x.as_array()?;
        Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
    };
    let from_baseline = v.get("baseline").and_then(|b| {
        Some((
            b.get("pages_per_sec")?.as_f64()?,
            b.get("ci95").and_then(interval),
        ))
    });
    let from_step = v.get("steps").and_then(|steps| {
        steps.as_array()?.iter().find_map(|s| {
            (s.get("containers")?.as_u64()? == 1).then(|| {
                Some((
                    s.get("total_pages_per_sec")?.as_f64()?,
                    s.get("total_pages_per_sec_ci95").and_then(interval),
                ))
            })?
        })
    });
    let from_old = v
        .get("containers")
        .and_then(|c| match c.as_array()?.as_slice() {
            [one] if one.get("status")?.as_str()? == "ok" => {
                Some((one.get("pages_per_sec")?.as_f64()?, None))
            }
            _ => None,
        });
    let (value, ci95) = from_baseline.or(from_step).or(from_old).ok_or_else(|| {
        bad("it holds no single-container figure (a baseline, or a 1-container run)".into())
    })?;
    if !(value > 0.0 && value.is_finite()) {
        return Err(bad("its single-container figure is zero".into()));
    }
    Ok(FileBaseline {
        path: path.display().to_string(),
        estimate: Estimate {
            value,
            ci95,
            batches: 0,
        },
    })
}

/// One comparison per step measured both now and in `earlier`, ascending.
pub fn compare(now: &Report, earlier: &Reference) -> Vec<Comparison> {
    now.steps
        .iter()
        .filter_map(|step| {
            let before = earlier
                .steps
                .iter()
                .find(|b| b.containers == step.containers)?;
            let change = (before.total_pages_per_sec != 0.0).then(|| {
                (step.total_pages_per_sec - before.total_pages_per_sec) / before.total_pages_per_sec
                    * 100.0
            });
            let beyond_noise = match (
                step.total_pages_per_sec_ci95,
                before.total_pages_per_sec_ci95,
            ) {
                (Some([lo, hi]), Some([blo, bhi])) => hi < blo || lo > bhi,
                _ => false,
            };
            Some(Comparison {
                containers: step.containers,
                before_pages_per_sec: before.total_pages_per_sec,
                before_ci95: before.total_pages_per_sec_ci95,
                now_pages_per_sec: step.total_pages_per_sec,
                now_ci95: step.total_pages_per_sec_ci95,
                throughput_change_pct: change,
                before_efficiency_pct: before.efficiency_pct,
                now_efficiency_pct: step.efficiency_pct,
                efficiency_change_points: step
                    .efficiency_pct
                    .zip(before.efficiency_pct)
                    .map(|(n, b)| n - b),
                beyond_noise,
            })
        })
        .collect()
}

/// Fails when a step's efficiency is below `fail_below_pct` (judged by its point estimate,
/// as the CI gate has always been), or unknown while a threshold is set, or when a
/// throughput fell beyond noise. Oversubscribed steps are exempt from the threshold:
/// sharing CPUs lowers efficiency by design.
pub fn gate(now: &Report, comparisons: &[Comparison], fail_below_pct: Option<f64>) -> GateOutcome {
    let mut reasons = Vec::new();
    if let Some(threshold) = fail_below_pct {
        for step in now.steps.iter().filter(|s| s.containers > 1) {
            match step.efficiency_pct {
                _ if step.oversubscribed => {}
                Some(pct) if pct < threshold => reasons.push(format!(
                    "{} containers: efficiency {} is below the {threshold}% threshold",
                    step.containers,
                    super::verdict::with_interval(
                        pct,
                        step.efficiency_ci95_pct.map(|[a, b]| (a, b))
                    )
                )),
                Some(_) => {}
                None => reasons.push(format!(
                    "{} containers: efficiency unknown, so the {threshold}% threshold cannot \
                     be checked",
                    step.containers
                )),
            }
        }
    }
    for c in comparisons {
        if let Some(change) = c
            .throughput_change_pct
            .filter(|ch| c.beyond_noise && *ch < 0.0)
        {
            let [blo, bhi] = c.before_ci95.unwrap_or([f64::NAN; 2]);
            let [lo, hi] = c.now_ci95.unwrap_or([f64::NAN; 2]);
            reasons.push(format!(
                "{} containers: throughput fell {:.1}% ({:.0} -> {:.0} pages/s), beyond noise \
                 (95% intervals {blo:.0}-{bhi:.0} and {lo:.0}-{hi:.0} do not overlap)",
                c.containers, -change, c.before_pages_per_sec, c.now_pages_per_sec,
            ));
        }
    }
    GateOutcome {
        passed: reasons.is_empty(),
        reasons,
    }
}

/// The comparison for the terminal: each step's change with both intervals.
pub fn render(comparisons: &[Comparison]) -> String {
    if comparisons.is_empty() {
        return "Compared with the reference: no container count in common.\n".to_string();
    }
    let mut out = String::from("Compared with the reference:\n");
    let ci = |c: Option<[f64; 2]>| {
        c.map_or_else(|| "no interval".into(), |[a, b]| format!("{a:.0}-{b:.0}"))
    };
    for c in comparisons {
        let change = c
            .throughput_change_pct
            .map_or_else(|| "n/a".to_string(), |ch| format!("{ch:+.1}%"));
        let eff = c
            .efficiency_change_points
            .map(|p| format!(", efficiency {p:+.1} points"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {} containers: {:.0} -> {:.0} pages/s ({change}; 95% CI {} -> {}){eff}: {}\n",
            c.containers,
            c.before_pages_per_sec,
            c.now_pages_per_sec,
            ci(c.before_ci95),
            ci(c.now_ci95),
            if c.beyond_noise {
                "beyond noise"
            } else {
                "within noise"
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn saves_loads_and_compares_with_itself() {
        let report = fixtures::report();
        let dir = tempfile::tempdir().unwrap();
        let path = save(&report, "main", dir.path()).unwrap();
        assert_eq!(path, dir.path().join("baseline-main.json"));
        let reference = load(&path).unwrap();
        let comparisons = compare(&report, &reference);
        assert_eq!(comparisons.len(), report.steps.len());
        for c in &comparisons {
            assert!(c.throughput_change_pct.unwrap().abs() < 1e-9, "{c:?}");
            assert!(!c.beyond_noise);
        }
        assert!(gate(&report, &comparisons, Some(80.0)).passed);
    }

    #[test]
    fn a_regression_beyond_noise_and_a_low_efficiency_fail_the_gate() {
        let before = fixtures::report();
        let dir = tempfile::tempdir().unwrap();
        let reference = load(&save(&before, "main", dir.path()).unwrap()).unwrap();
        let mut now = before.clone();
        let two = now.steps.iter_mut().find(|s| s.containers == 2).unwrap();
        two.total_pages_per_sec *= 0.8;
        two.total_pages_per_sec_ci95 = two
            .total_pages_per_sec_ci95
            .map(|[a, b]| [a * 0.8, b * 0.8]);
        two.efficiency_pct = Some(72.0);
        let comparisons = compare(&now, &reference);
        let c2 = comparisons.iter().find(|c| c.containers == 2).unwrap();
        assert!(c2.beyond_noise);
        let outcome = gate(&now, &comparisons, Some(75.0));
        assert!(!outcome.passed);
        assert_eq!(outcome.reasons.len(), 2, "{:?}", outcome.reasons);
        assert!(outcome.reasons[0].contains("below the 75% threshold"));
        assert!(outcome.reasons[1].contains("throughput fell 20.0%"));
        assert_eq!(gate(&now, &comparisons, None).reasons.len(), 1);
    }

    #[test]
    fn bad_files_are_input_errors_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&dir.path().join("none.json")).unwrap_err().to_string();
        assert!(
            e.starts_with("--compare") && e.contains("--save-baseline"),
            "{e}"
        );
        fs::write(dir.path().join("bad.json"), "{}").unwrap();
        let e = load(&dir.path().join("bad.json")).unwrap_err().to_string();
        assert!(e.contains("not a saved reference"), "{e}");
        let e = baseline_from_results(&dir.path().join("bad.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--baseline") && e.contains("no single-container figure"),
            "{e}"
        );
    }

    #[test]
    fn the_single_container_figure_of_new_and_old_results_files() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.json");
        fs::write(&new, serde_json::to_vec(&fixtures::report()).unwrap()).unwrap();
        let b = baseline_from_results(&new).unwrap();
        assert_eq!(
            b.estimate.value,
            fixtures::report().baseline.unwrap().pages_per_sec
        );
        assert!(b.estimate.ci95.is_some());
        let old = dir.path().join("old.json");
        fs::write(
            &old,
            r#"{"containers":[{"status":"ok","pages_per_sec":4669.5}],"baseline":null}"#,
        )
        .unwrap();
        assert_eq!(baseline_from_results(&old).unwrap().estimate.value, 4669.5);
    }
}
