//! `--scaling-test`: 1, 2, 4, 8 ... containers up to `--max-containers` (and the maximum
//! itself), each step with its own warm-up and coordinated start, `--repeat` times,
//! optionally interleaved. The image is built once. Results are written after every step,
//! so an interruption loses only the step in progress (whose partial measurement is saved
//! in its own results file, outside the study). The 1-container steps are the baseline of
//! every efficiency figure of the study.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::benchmark::{self, Session};
use crate::config::Plan;
use crate::error::exit;
use crate::report::compare;
use crate::report::export::{ascii, csv, json, markdown, svg, table};
use crate::report::model::{RunResult, RunStatus};
use crate::report::study::Study;
use crate::topology::TopologySummary;

/// How the study is run and judged.
#[derive(Debug, Clone, Default)]
pub struct StudyOptions {
    pub max_containers: usize,
    pub repeat: u32,
    pub interleave: bool,
    pub save_baseline: Option<String>,
    pub compare: Option<PathBuf>,
    pub fail_below_pct: Option<f64>,
}

/// 1, 2, 4 ... up to `max`, and `max` itself when it is not a power of two.
pub fn step_counts(max: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut n = 1;
    while n <= max {
        counts.push(n);
        n *= 2;
    }
    if counts.last() != Some(&max) && max > 0 {
        counts.push(max);
    }
    counts
}

/// The order of the runs: every repeat of a count before the next count, or (interleaved)
/// round after round of all counts, so slow drift of the machine does not favour one count.
pub fn schedule(counts: &[usize], repeat: u32, interleave: bool) -> Vec<(usize, u32)> {
    let repeats = 1..=repeat.max(1);
    if interleave {
        repeats
            .flat_map(|r| counts.iter().map(move |&n| (n, r)))
            .collect()
    } else {
        counts
            .iter()
            .flat_map(|&n| repeats.clone().map(move |r| (n, r)))
            .collect()
    }
}

/// Runs the study and returns the exit code.
pub async fn run(
    session: &mut Session,
    plan: &Plan,
    options: &StudyOptions,
    topology: Option<TopologySummary>,
) -> Result<u8> {
    let earlier = match &options.compare {
        Some(file) => Some(compare::load_baseline(file)?),
        None => None,
    };
    let image = benchmark::prepare(session, plan).await?;
    let order = schedule(
        &step_counts(options.max_containers),
        options.repeat,
        options.interleave,
    );
    session.printer.line(&format!(
        "Scaling study: {} run(s) of {:.0} s, as containers/repeat: {}",
        order.len(),
        plan.duration_s,
        order
            .iter()
            .map(|(n, r)| format!("{n}/{r}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));

    let mut runs: Vec<RunResult> = Vec::new();
    let mut study = Study::from_runs(&runs, topology.clone(), session.busy_pct);
    let mut interrupted = false;
    for (k, &(n, repeat)) in order.iter().enumerate() {
        if *session.cancel.borrow() {
            // Signalled after the last step had measured its whole window: no new step.
            interrupted = true;
            break;
        }
        let label = format!(
            "step {}/{}: {n} container(s), repeat {repeat}/{}",
            k + 1,
            order.len(),
            options.repeat.max(1)
        );
        let step = benchmark::run_step(session, plan, &image, n, plan.duration_s, &label).await?;
        let mut result = benchmark::assemble(session, plan, &image, step, None, Vec::new());
        result.repeat = repeat;
        let path = json::write_json(&result, &plan.output_dir)?;
        if result.status == RunStatus::Interrupted {
            // A window cut short (or never opened) is not comparable with the others: the
            // study keeps the steps done, the partial one stays in its own results file.
            session.printer.line(&format!(
                "  Step interrupted: what it measured is in {}, not in the study",
                path.display()
            ));
            interrupted = true;
            break;
        }
        runs.push(result);
        study = Study::from_runs(&runs, topology.clone(), session.busy_pct);
        write_study(&study, &plan.output_dir)?;
        if let Some(step) = study.steps.last() {
            session.printer.line(&format!(
                "  {n} container(s), repeat {repeat}: {:.1} pages/s (95% CI {:.1} to {:.1}){}",
                step.total_pages_per_sec,
                step.ci95_low,
                step.ci95_high,
                step.efficiency_pct
                    .map(|e| format!(", efficiency {e:.1}%"))
                    .unwrap_or_default()
            ));
        }
    }

    let paths = write_study(&study, &plan.output_dir)?;
    session.printer.results(&table::render_study_table(&study));
    session.printer.results(&ascii::render_ascii(&study));
    for warning in study.warnings() {
        session.printer.results(&format!("warning: {warning}\n"));
    }
    if let Some(name) = &options.save_baseline {
        let path = compare::save_baseline(&study, name, &plan.output_dir)?;
        session
            .printer
            .line(&format!("Saved baseline {name}: {}", path.display()));
    }
    let mut code = if interrupted {
        exit::INTERRUPTED
    } else if runs.iter().any(|r| r.status != RunStatus::Ok) {
        exit::CONTAINER_FAILED
    } else {
        exit::OK
    };
    let comparisons = match &earlier {
        Some(earlier) => {
            let comparisons = compare::compare(&study, earlier);
            session
                .printer
                .results(&compare::render_comparisons(&comparisons));
            comparisons
        }
        None => Vec::new(),
    };
    if earlier.is_some() || options.fail_below_pct.is_some() {
        let gate = compare::gate(&study, &comparisons, options.fail_below_pct);
        if !gate.passed {
            for reason in &gate.reasons {
                session.printer.results(&format!("gate failed: {reason}\n"));
            }
            if code == exit::OK {
                code = exit::GATE_FAILED;
            }
        }
    }
    session.printer.line(&format!(
        "Study: {}",
        paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(code)
}

/// The study's files, rewritten whole after every step.
fn write_study(study: &Study, dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(vec![
        csv::write_study_csv(study, dir)?,
        svg::write_svg(study, dir)?,
        markdown::write_markdown(study, dir)?,
        json::write_study_json(study, dir)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_powers_of_two_then_the_maximum() {
        assert_eq!(step_counts(1), vec![1]);
        assert_eq!(step_counts(2), vec![1, 2]);
        assert_eq!(step_counts(8), vec![1, 2, 4, 8]);
        assert_eq!(step_counts(6), vec![1, 2, 4, 6]);
        assert_eq!(step_counts(0), Vec::<usize>::new());
    }

    #[test]
    fn repeats_run_in_blocks_or_interleaved() {
        assert_eq!(
            schedule(&[1, 2], 2, false),
            vec![(1, 1), (1, 2), (2, 1), (2, 2)]
        );
        assert_eq!(
            schedule(&[1, 2], 2, true),
            vec![(1, 1), (2, 1), (1, 2), (2, 2)]
        );
        assert_eq!(schedule(&[1, 2], 0, false), vec![(1, 1), (2, 1)]);
    }
}
