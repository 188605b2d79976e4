//! The plain-text results block the terminal shows after a run: one row per container,
//! then the figures that answer the question (total throughput, scaling efficiency) and
//! how far they can be trusted (start skew, variation), then any problems.

use crate::report::model::{ContainerResult, RunResult, RunStatus};
use crate::report::study::Study;

const COLUMNS: [&str; 7] = [
    "Container",
    "CPU",
    "Pages/sec",
    "Files",
    "Pages",
    "Errors",
    "Status",
];

/// Width of the label column of the summary lines.
const LABEL_WIDTH: usize = 23;

/// The results block, ending with a newline. Expects [`finish`](crate::report::analysis::finish)
/// to have been applied.
pub fn render_table(result: &RunResult) -> String {
    let mut lines = container_rows(&result.containers);
    lines.push(String::new());
    lines.extend(summary(result));
    if result.status != RunStatus::Ok {
        lines.push(labelled("Run status", result.status.label().to_string()));
    }
    if !result.problems.is_empty() {
        lines.push(String::new());
        lines.push("Problems:".to_string());
        lines.extend(result.problems.iter().map(|p| format!("  - {p}")));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The header and one row per container, each column as wide as its widest cell; text
/// columns aligned left, numbers right.
fn container_rows(containers: &[ContainerResult]) -> Vec<String> {
    let header = COLUMNS.map(str::to_string);
    let rows: Vec<[String; 7]> = containers
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.cpu.to_string(),
                format!("{:.2}", c.pages_per_sec),
                c.files.to_string(),
                c.pages.to_string(),
                c.errors.to_string(),
                c.status.clone(),
            ]
        })
        .collect();
    let all: Vec<&[String; 7]> = std::iter::once(&header).chain(&rows).collect();
    let widths: [usize; 7] = std::array::from_fn(|i| {
        all.iter()
            .map(|row| row[i].chars().count())
            .max()
            .unwrap_or(0)
    });
    all.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .enumerate()
                .map(|(i, (cell, w))| match i {
                    0 | 6 => format!("{cell:<w$}"),
                    _ => format!("{cell:>w$}"),
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

fn summary(result: &RunResult) -> Vec<String> {
    let ok = completed(result);
    let of = if ok < result.containers.len() {
        format!(
            " ({ok} of {} containers completed)",
            result.containers.len()
        )
    } else {
        String::new()
    };
    vec![
        labelled(
            "Total throughput",
            format!("{:.2} pages/sec{of}", result.total_pages_per_sec),
        ),
        labelled(
            "Average per container",
            format!("{:.2} pages/sec", result.avg_pages_per_sec_per_container),
        ),
        labelled("Start skew", skew(result)),
        labelled("Scaling efficiency", efficiency(result)),
        labelled("Variation", variation(result)),
    ]
}

/// The study's summary for the terminal: one row per container count (mean over repeats).
pub fn render_study_table(study: &Study) -> String {
    let mut out = format!(
        "{:>10}  {:>7}  {:>13}  {:>23}  {:>13}  {:>10}  {:>17}\n",
        "Containers",
        "Repeats",
        "Pages/sec",
        "95% CI",
        "Per container",
        "Efficiency",
        "Efficiency 95% CI"
    );
    for a in study.aggregates() {
        let eff = a
            .efficiency_pct
            .map_or_else(|| "n/a".to_string(), |e| format!("{e:.1}%"));
        let eff_ci = a
            .efficiency_ci95
            .map_or_else(|| "n/a".to_string(), |(lo, hi)| format!("{lo:.1}-{hi:.1}%"));
        out.push_str(&format!(
            "{:>10}  {:>7}  {:>13.1}  {:>23}  {:>13.1}  {:>10}  {:>17}\n",
            a.containers,
            a.repeats,
            a.total_pages_per_sec,
            format!("{:.1} - {:.1}", a.ci95_low, a.ci95_high),
            a.per_container_mean,
            eff,
            eff_ci
        ));
    }
    out
}

fn labelled(label: &str, value: String) -> String {
    format!("{:<LABEL_WIDTH$}{value}", format!("{label}:"))
}

fn skew(result: &RunResult) -> String {
    match result.start_skew_ms {
        // Workers sleep until one shared instant, so the skew is often microseconds.
        Some(ms) if ms < 1.0 => format!(
            "{:.1} µs between the first and last window start",
            ms * 1000.0
        ),
        Some(ms) => format!("{ms:.2} ms between the first and last window start"),
        None => "n/a (no container reported its window start)".to_string(),
    }
}

/// Containers that delivered their result: only they count towards the figures.
fn completed(result: &RunResult) -> usize {
    result
        .containers
        .iter()
        .filter(|c| c.status == "ok")
        .count()
}

fn efficiency(result: &RunResult) -> String {
    if completed(result) < result.containers.len() {
        return "n/a (not every container completed the window)".to_string();
    }
    match (&result.baseline, result.scaling_efficiency_pct) {
        (Some(baseline), Some(pct)) => format!(
            "{pct:.1}% ({}) against {} x {:.2} pages/sec, baseline from {}",
            result.efficiency_label.as_deref().unwrap_or("?"),
            result.containers.len(),
            baseline.pages_per_sec,
            baseline.source,
        ),
        (Some(baseline), None) => format!(
            "n/a (baseline {:.2} pages/sec from {} cannot be compared)",
            baseline.pages_per_sec, baseline.source
        ),
        (None, _) => "n/a (no single-container baseline; run with 1 container first)".to_string(),
    }
}

fn variation(result: &RunResult) -> String {
    match &result.throughput_stats {
        Some(s) if s.n >= 2 => format!(
            "CV {:.1}%, 95% CI {:.2} to {:.2} pages/sec over {} intervals{}",
            s.cv_pct,
            s.ci95_low,
            s.ci95_high,
            s.n,
            match s.outliers.len() {
                0 => String::new(),
                k => format!(", {k} outlier(s)"),
            }
        ),
        Some(_) => "n/a (a single interval)".to_string(),
        None => "n/a (no per-second samples)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::analysis::finish;
    use crate::report::fixtures::run;

    #[test]
    fn a_complete_run() {
        let mut result = run();
        finish(&mut result);
        let expected = "\
Container  CPU  Pages/sec  Files  Pages  Errors  Status
bench-0      0      96.00     28    288       0  ok
bench-1      1      94.00     28    282       1  ok

Total throughput:      190.00 pages/sec
Average per container: 95.00 pages/sec
Start skew:            1.25 ms between the first and last window start
Scaling efficiency:    95.0% (perfect) against 2 x 100.00 pages/sec, baseline from solo run before this one
Variation:             CV 2.3%, 95% CI 179.17 to 200.83 pages/sec over 3 intervals
";
        assert_eq!(render_table(&result), expected);
    }

    #[test]
    fn a_failed_container_without_baseline_or_samples() {
        let mut result = run();
        result.baseline = None;
        result.status = RunStatus::ContainerFailed;
        result.problems = vec!["bench-1 was killed: out of memory (limit 512 MiB)".to_string()];
        let failed = &mut result.containers[1];
        failed.status = "oom_killed".to_string();
        failed.samples.clear();
        failed.window_start_unix_ns = None;
        finish(&mut result);
        let expected = "\
Container  CPU  Pages/sec  Files  Pages  Errors  Status
bench-0      0      96.00     28    288       0  ok
bench-1      1      94.00     28    282       1  oom_killed

Total throughput:      96.00 pages/sec (1 of 2 containers completed)
Average per container: 96.00 pages/sec
Start skew:            0.0 µs between the first and last window start
Scaling efficiency:    n/a (not every container completed the window)
Variation:             CV 1.0%, 95% CI 93.52 to 98.48 pages/sec over 3 intervals
Run status:            container_failed

Problems:
  - bench-1 was killed: out of memory (limit 512 MiB)
";
        assert_eq!(render_table(&result), expected);
    }

    #[test]
    fn wide_names_widen_their_column() {
        let mut result = run();
        result.containers[0].name = "distributed-benchmark-r1a2b3-0".to_string();
        finish(&mut result);
        let table = render_table(&result);
        let mut lines = table.lines();
        assert_eq!(
            lines.next(),
            Some("Container                       CPU  Pages/sec  Files  Pages  Errors  Status")
        );
        assert_eq!(
            lines.nth(1),
            Some("bench-1                           1      94.00     28    282       1  ok")
        );
    }
}
