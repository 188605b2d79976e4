//! The plain-text results block the terminal shows after a run: one row per container of
//! the reported step, then the figures that answer the question (throughput, scaling
//! efficiency with its interval, in words), why it fell short, how far the figures can be
//! trusted (start skew, the pinned CPUs), the steps of a study, and any problems.

use crate::report::model::{Loss, Precision, Report, RunStatus, StepResult, WorkerStatus};
use crate::report::verdict::{decimals_for, with_interval};

const COLUMNS: [&str; 9] = [
    "Container",
    "CPU",
    "Pages/sec",
    "CPU share",
    "Pages/CPU-s",
    "Files",
    "Pages",
    "Errors",
    "Status",
];

/// Width of the label column of the summary lines.
const LABEL_WIDTH: usize = 23;

/// The results block, ending with a newline.
pub fn render(report: &Report) -> String {
    let mut lines = container_rows(report);
    lines.push(String::new());
    lines.extend(summary(report));
    if report.steps.len() > 2 || (report.steps.len() == 2 && report.steps[0].containers != 1) {
        lines.push(String::new());
        lines.extend(steps_table(&report.steps));
    }
    if report.status != RunStatus::Ok {
        lines.push(labelled("Run status", report.status.label().to_string()));
    }
    if !report.problems.is_empty() {
        lines.push(String::new());
        lines.push("Problems:".to_string());
        lines.extend(report.problems.iter().map(|p| format!("  - {p}")));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whether `--target-precision` was met, what was reached and in how long.
pub fn precision(p: &Precision) -> String {
    match (p.met, p.reached_pts) {
        (true, Some(r)) => format!(
            "met: ±{r:.1} points (target ±{}) after {:.0} s",
            p.target_pts, p.measured_s
        ),
        (false, Some(r)) => format!(
            "NOT met: ±{r:.1} points after {:.0} s (target ±{}, --max-time {:.0} s)",
            p.measured_s, p.target_pts, p.max_time_s
        ),
        (_, None) => "NOT met: no interval yet".to_string(),
    }
}

/// `8990 pages/sec (95% CI 8710-9270)`, with the digits the interval supports.
pub fn throughput(value: f64, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => {
            let half = (hi - lo) / 2.0;
            let d = decimals_for(half);
            // No digit finer than the interval's second significant one: ±255 gives
            // tens, ±2,500 hundreds.
            let step = if half.is_finite() && half >= 100.0 {
                10f64.powi(half.log10().floor() as i32 - 1)
            } else {
                1.0
            };
            let r = |x: f64| {
                if step > 1.0 {
                    (x / step).round() * step
                } else {
                    x
                }
            };
            format!(
                "{:.d$} pages/sec (95% CI {:.d$}-{:.d$})",
                r(value),
                // Pages/sec are never negative: an interval of a few rounds reaching
                // below 0 is shown from 0.
                r(lo.max(0.0)),
                r(hi)
            )
        }
        None => format!("{value:.0} pages/sec (no interval: too little was measured for one)"),
    }
}

/// The header and one row per container, each column as wide as its widest cell; text
/// columns aligned left, numbers right.
fn container_rows(report: &Report) -> Vec<String> {
    let header = COLUMNS.map(str::to_string);
    let rows: Vec<[String; 9]> = report
        .containers
        .iter()
        .map(|c| {
            let worker = report.workers.iter().find(|w| w.index == c.index);
            let status = match worker.and_then(|w| w.status_detail.as_deref()) {
                Some(detail) if c.status != WorkerStatus::Ok => {
                    format!("{}: {detail}", c.status.label())
                }
                _ => c.status.label().to_string(),
            };
            [
                c.name.clone(),
                c.cpu.to_string(),
                format!("{:.0}", c.pages_per_sec),
                c.cpu_share_pct
                    .map_or_else(|| "n/a".into(), |s| format!("{s:.0}%")),
                c.pages_per_cpu_s
                    .map_or_else(|| "n/a".into(), |s| format!("{s:.0}")),
                c.files.to_string(),
                c.pages.to_string(),
                c.errors.to_string(),
                status,
            ]
        })
        .collect();
    let all: Vec<&[String; 9]> = std::iter::once(&header).chain(&rows).collect();
    let widths: [usize; 9] = std::array::from_fn(|i| {
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
                    0 | 8 => format!("{cell:<w$}"),
                    _ => format!("{cell:>w$}"),
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

fn summary(report: &Report) -> Vec<String> {
    let n = report.containers.len();
    let ok = report
        .containers
        .iter()
        .filter(|c| c.status == WorkerStatus::Ok)
        .count();
    let of = if ok < n {
        format!(" ({ok} of {n} containers completed)")
    } else {
        String::new()
    };
    let mut lines = vec![labelled(
        "Total throughput",
        format!(
            "{}{of}",
            throughput(report.total_pages_per_sec, report.total_pages_per_sec_ci95)
        ),
    )];
    if n > 1 {
        lines.push(labelled(
            "Average per container",
            format!("{:.0} pages/sec", report.avg_pages_per_sec_per_container),
        ));
    }
    if report.hosts.len() > 1 {
        for h in &report.hosts {
            let eff = h.efficiency_pct.map_or_else(String::new, |e| {
                format!(
                    ", efficiency on this host {}",
                    with_interval(e, h.efficiency_ci95_pct.map(|[a, b]| (a, b)))
                )
            });
            let clock = match (h.clock_offset_ms, h.clock_uncertainty_ms) {
                (Some(o), Some(u)) => format!("; clock {o:+.3} ms (± {u:.3})"),
                _ => String::new(),
            };
            lines.push(labelled(
                &format!("Host {}", h.name),
                format!(
                    "{} container(s), {}{eff}{clock}",
                    h.containers,
                    throughput(h.total_pages_per_sec, h.total_pages_per_sec_ci95)
                ),
            ));
        }
    }
    if let Some(b) = &report.baseline {
        let per_cpu: Vec<String> = b
            .per_cpu
            .iter()
            .map(|s| format!("CPU {} {:.0}", s.cpu, s.pages_per_sec))
            .collect();
        let source = match &b.source {
            crate::report::model::BaselineSource::SoloSlots if per_cpu.len() > 1 => {
                format!(", each core alone: {}", per_cpu.join(", "))
            }
            crate::report::model::BaselineSource::SoloSlots => String::new(),
            crate::report::model::BaselineSource::File { path } => format!(", from {path}"),
        };
        if n > 1 {
            lines.push(labelled(
                "One container alone",
                format!("{}{source}", throughput(b.pages_per_sec, b.ci95)),
            ));
        }
    }
    if n > 1 {
        lines.push(labelled("Scaling efficiency", efficiency(report)));
        if let Some(loss) = &report.efficiency_loss {
            lines.push(labelled(
                "Efficiency lost",
                loss_line(loss, report.scaling_efficiency_ci95_pct),
            ));
            lines.extend(
                loss.notes
                    .iter()
                    .map(|n| format!("{:LABEL_WIDTH$}- {n}", "")),
            );
        }
    }
    if let Some(p) = &report.precision {
        lines.push(labelled("Target precision", precision(p)));
    }
    lines.push(labelled("Start skew", skew(report)));
    if let Some(step) = report.steps.iter().find(|s| s.containers == n && n > 1) {
        lines.push(labelled(
            "Measured together",
            format!(
                "{:.2} s of the {:.2} s of its slots; start skew took {:.3} ms of them",
                step.together_s,
                step.seconds,
                (step.seconds - step.together_s).max(0.0) * 1e3
            ),
        ));
    }
    let busy: Vec<String> = report
        .host_usage
        .iter()
        .map(|u| {
            let mut text = format!(
                "CPU {}: {:.0}% used by others, steal {:.1}%",
                u.cpu, u.others_pct, u.steal_pct
            );
            if u.throttled_pct >= 0.5 {
                text.push_str(&format!(", throttled {:.0}%", u.throttled_pct));
            }
            // With a loss explained, its notes name the programs already.
            let named = u.busiest(3);
            if !named.is_empty() && report.efficiency_loss.is_none() {
                text.push_str(&format!(" [{}]", named.join(", ")));
            }
            text
        })
        .collect();
    if !busy.is_empty() {
        lines.push(labelled("Pinned CPUs", busy.join("; ")));
    }
    lines
}

fn efficiency(report: &Report) -> String {
    let n = report.containers.len();
    if report
        .containers
        .iter()
        .any(|c| c.status != WorkerStatus::Ok)
    {
        return "n/a (not every container completed the window)".to_string();
    }
    match (&report.efficiency_verdict, report.baseline.as_ref()) {
        (Some(verdict), Some(b)) => {
            let step = report.steps.iter().find(|s| s.containers == n);
            let basis = match step {
                Some(s) if s.pairs > 0 => format!(" [{} pairs in {} rounds]", s.pairs, s.batches),
                _ => format!(" [against {n} x {:.0} pages/sec]", b.pages_per_sec),
            };
            format!("{verdict}{basis}")
        }
        (None, None) => "n/a (no single-container figure)".to_string(),
        _ => "n/a".to_string(),
    }
}

fn loss_line(loss: &Loss, interval: Option<[f64; 2]>) -> String {
    let mut parts = Vec::new();
    for (name, pts) in [
        ("contention", loss.contention_pts),
        ("hypervisor steal", loss.steal_pts),
        ("CPU quota throttling", loss.throttling_pts),
        ("slower cores", loss.slower_cores_pts),
        ("unexplained", loss.unexplained_pts),
    ] {
        parts.push(format!("{name} {pts:.1}"));
    }
    // A shortfall the interval does not tell from none is split all the same (the
    // readings are what they are), but said to be within noise.
    let noise = match interval {
        Some([lo, hi]) if lo <= 100.0 && hi >= 100.0 => {
            " (within noise: the interval includes 100%)"
        }
        _ => "",
    };
    format!(
        "{:.1} points{noise}: {}",
        loss.shortfall_pts,
        parts.join(", ")
    )
}

fn steps_table(steps: &[StepResult]) -> Vec<String> {
    let mut lines = vec![format!(
        "{:>10}  {:>34}  {:>13}  {}",
        "Containers", "Pages/sec (95% CI)", "Per container", "Efficiency"
    )];
    for s in steps {
        let eff = match (&s.efficiency_verdict, s.efficiency_pct) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => format!("{e:.0}%"),
            _ => String::new(),
        };
        lines.push(
            format!(
                "{:>10}  {:>34}  {:>13.0}  {eff}",
                format!(
                    "{}{}",
                    s.containers,
                    if s.oversubscribed { "*" } else { "" }
                ),
                throughput(s.total_pages_per_sec, s.total_pages_per_sec_ci95),
                s.per_container_mean,
            )
            .trim_end()
            .to_string(),
        );
    }
    lines
}

fn labelled(label: &str, value: String) -> String {
    format!("{:<LABEL_WIDTH$}{value}", format!("{label}:"))
}

fn skew(report: &Report) -> String {
    let fmt = |ms: f64| {
        if ms < 1.0 {
            format!("{:.1} µs", ms * 1000.0)
        } else {
            format!("{ms:.2} ms")
        }
    };
    match (report.start_skew_ms, report.slot_start_skew_max_ms) {
        (Some(w), Some(s)) => format!(
            "{} between the first and last window start; at most {} within a slot",
            fmt(w),
            fmt(s)
        ),
        (Some(w), None) => format!("{} between the first and last window start", fmt(w)),
        _ => "n/a (no worker reported its window start)".to_string(),
    }
}

/// The efficiency of a step in a short form for progress lines.
pub fn short_efficiency(step: &StepResult) -> String {
    match step.efficiency_pct {
        Some(e) => with_interval(e, step.efficiency_ci95_pct.map(|[a, b]| (a, b))),
        None => "n/a".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn a_run_shows_its_containers_its_efficiency_in_words_and_the_loss() {
        let report = fixtures::report();
        let text = render(&report);
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("Container  CPU  Pages/sec  CPU share"),
            "{text}"
        );
        assert!(text.contains("Total throughput:      "), "{text}");
        assert!(text.contains("One container alone:   "), "{text}");
        let eff = text
            .lines()
            .find(|l| l.starts_with("Scaling efficiency:"))
            .unwrap();
        assert!(eff.contains("(95% CI "), "{eff}");
        assert!(eff.contains("pairs in"), "{eff}");
        assert!(text.contains("Efficiency lost:"), "{text}");
        assert!(text.contains("Start skew:"), "{text}");
        assert!(!text.contains("Problems:"));
    }

    #[test]
    fn a_failed_container_voids_the_efficiency_and_is_named() {
        let mut report = fixtures::report();
        report.status = RunStatus::WorkerFailed;
        report.containers[1].status = WorkerStatus::OomKilled;
        report.workers[1].status_detail = Some("out of memory (limit 512 MiB)".into());
        report.problems = vec!["w1 was killed: out of memory".into()];
        let text = render(&report);
        assert!(
            text.contains("oom_killed: out of memory (limit 512 MiB)"),
            "{text}"
        );
        assert!(text.contains("n/a (not every container completed the window)"));
        assert!(text.contains("(1 of 2 containers completed)"));
        assert!(text.contains("Run status:            worker_failed"));
        assert!(text.contains("  - w1 was killed: out of memory"));
    }

    #[test]
    fn a_study_lists_its_steps() {
        let report = fixtures::report_of(&["--scaling-test", "--duration", "60"]);
        let text = render(&report);
        assert!(
            text.contains("Containers                  Pages/sec (95% CI)"),
            "{text}"
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
                .count(),
            3,
            "{text}"
        );
    }

    #[test]
    fn throughput_digits_follow_the_interval() {
        assert_eq!(
            throughput(8992.4, Some([8710.0, 9270.0])),
            "8990 pages/sec (95% CI 8710-9270)"
        );
        assert_eq!(
            throughput(800.0, Some([-300.0, 1900.0])),
            "800 pages/sec (95% CI 0-1900)"
        );
        assert_eq!(
            throughput(12.34, Some([12.1, 12.6])),
            "12.3 pages/sec (95% CI 12.1-12.6)"
        );
        assert_eq!(
            throughput(16582.3, Some([16327.0, 16837.0])),
            "16580 pages/sec (95% CI 16330-16840)",
            "±255: tens"
        );
        assert_eq!(
            throughput(8992.0, Some([8950.0, 9034.0])),
            "8992 pages/sec (95% CI 8950-9034)",
            "±42: units"
        );
        assert_eq!(
            throughput(50.0, None),
            "50 pages/sec (no interval: too little was measured for one)"
        );
    }
}
