//! `report.md`: a scaling study for people: the machine, the settings, one table row per
//! step, the warnings and the chart (`scaling.svg`, written beside it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::write_atomically;
use crate::report::analysis::efficiency_label;
use crate::report::study::{Study, StudyStep};

pub const MARKDOWN_FILE_NAME: &str = "report.md";

/// Writes `dir/report.md` atomically and returns its path.
pub fn write_markdown(study: &Study, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(MARKDOWN_FILE_NAME);
    write_atomically(&path, render_markdown(study).as_bytes())?;
    Ok(path)
}

pub fn render_markdown(study: &Study) -> String {
    let mut out = String::from("# Scaling study\n\n## Machine\n\n");
    out.push_str(&table(&machine(study)));
    out.push_str("\n## Settings\n\n");
    out.push_str(&table(&settings(study)));
    out.push_str("\n## Results\n\n");
    out.push_str(
        "| Containers | Repeat | Total pages/s | 95% CI | Per container (mean ± sd) \
         | Efficiency | Efficiency 95% CI | Start skew |\n\
         |---:|---:|---:|---|---:|---:|---|---:|\n",
    );
    for step in &study.steps {
        out.push_str(&step_row(step));
    }
    let aggregates = study.aggregates();
    if aggregates.iter().any(|a| a.repeats > 1) {
        out.push_str(
            "\nMean over repeats (interval over the repeats' totals when there are two or \
             more):\n\n\
             | Containers | Repeats | Total pages/s | 95% CI | Efficiency | Efficiency 95% CI |\n\
             |---:|---:|---:|---|---:|---|\n",
        );
        for a in &aggregates {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {:.2} – {:.2} | {} | {} |",
                a.containers,
                a.repeats,
                a.total_pages_per_sec,
                a.ci95_low,
                a.ci95_high,
                efficiency(a.efficiency_pct),
                interval(a.efficiency_ci95),
            );
        }
    }
    out.push_str("\n## Warnings\n\n");
    let warnings = study.warnings();
    if warnings.is_empty() {
        out.push_str("None.\n");
    }
    for w in warnings {
        let _ = writeln!(out, "- {w}");
    }
    out.push_str("\n## Chart\n\n![scaling](scaling.svg)\n");
    out
}

fn machine(study: &Study) -> Vec<(&'static str, String)> {
    let host = &study.host;
    let unknown = || "unknown".to_string();
    let mut rows = vec![
        ("Host", host.hostname.clone().unwrap_or_else(unknown)),
        ("CPU", host.cpu_model.clone().unwrap_or_else(unknown)),
        ("Logical CPUs", host.cores.to_string()),
        ("Memory", host.memory_bytes.map_or_else(unknown, gib)),
        ("Kernel", host.kernel.clone().unwrap_or_else(unknown)),
        (
            "Docker",
            match (&host.docker_version, &host.docker_api_version) {
                (Some(v), Some(api)) => format!("{v} (API {api})"),
                (Some(v), None) => v.clone(),
                _ => unknown(),
            },
        ),
    ];
    match &study.topology {
        Some(t) => rows.extend([
            (
                "Topology",
                format!(
                    "{} CPUs on {} physical cores, {} package(s), {} NUMA node(s), SMT {}",
                    t.cpus,
                    t.physical_cores,
                    t.packages,
                    t.numa_nodes,
                    if t.smt { "on" } else { "off" }
                ),
            ),
            ("Governor", t.governor.clone().unwrap_or_else(unknown)),
            (
                "Frequency",
                match (t.cur_freq_mhz, t.max_freq_mhz) {
                    (Some(cur), Some(max)) => format!("{cur:.0} MHz (max {max:.0} MHz)"),
                    (Some(cur), None) => format!("{cur:.0} MHz"),
                    (None, Some(max)) => format!("max {max:.0} MHz"),
                    (None, None) => unknown(),
                },
            ),
        ]),
        None => rows.push(("Topology", unknown())),
    }
    rows
}

fn settings(study: &Study) -> Vec<(&'static str, String)> {
    let steps: Vec<String> = study
        .aggregates()
        .iter()
        .map(|a| format!("{} x{}", a.containers, a.repeats))
        .collect();
    let mut rows = vec![(
        "Steps (containers x repeats)",
        if steps.is_empty() {
            "none".to_string()
        } else {
            steps.join(", ")
        },
    )];
    if let Some(s) = &study.settings {
        rows.extend([
            ("Duration per run", format!("{} s", s.duration_s)),
            ("Warm-up", format!("{} s", s.warmup_s)),
            (
                "Data",
                format!(
                    "{} ({} files, {})",
                    s.data_dir,
                    s.data_files,
                    mib(s.data_bytes)
                ),
            ),
            ("Image", s.image.clone()),
            (
                "Memory limit per container",
                s.memory_bytes.map_or_else(|| "none".to_string(), mib),
            ),
        ]);
    }
    rows.push((
        "Baseline (1 container)",
        study.baseline.map_or_else(
            || "none".to_string(),
            |b| {
                format!(
                    "{:.2} pages/s (95% CI {:.2} – {:.2})",
                    b.pages_per_sec, b.ci95_low, b.ci95_high
                )
            },
        ),
    ));
    rows.push((
        "CPU used by others before the study",
        study
            .host_busy_pct
            .map_or_else(|| "not measured".to_string(), |p| format!("{p:.0}%")),
    ));
    rows
}

fn step_row(step: &StudyStep) -> String {
    format!(
        "| {}{} | {} | {:.2} | {:.2} – {:.2} | {:.2} ± {:.2} | {} | {} | {} |\n",
        step.containers,
        if step.oversubscribed { " (over)" } else { "" },
        step.repeat,
        step.total_pages_per_sec,
        step.ci95_low,
        step.ci95_high,
        step.per_container_mean,
        step.per_container_stddev,
        efficiency(step.efficiency_pct),
        interval(step.efficiency_ci95),
        step.start_skew_ms.map_or_else(|| "n/a".to_string(), skew),
    )
}

fn table(rows: &[(&str, String)]) -> String {
    let mut out = String::from("| | |\n|---|---|\n");
    for (label, value) in rows {
        let _ = writeln!(out, "| {label} | {} |", value.replace('|', "\\|"));
    }
    out
}

fn efficiency(pct: Option<f64>) -> String {
    pct.map_or_else(
        || "n/a".to_string(),
        |p| format!("{p:.1}% ({})", efficiency_label(p)),
    )
}

fn interval(ci: Option<(f64, f64)>) -> String {
    ci.map_or_else(
        || "n/a".to_string(),
        |(low, high)| format!("{low:.1} – {high:.1}%"),
    )
}

/// Workers start at one shared instant, so the skew is often microseconds.
fn skew(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.1} µs", ms * 1000.0)
    } else {
        format!("{ms:.2} ms")
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::study::tests::{run_of, study};
    use crate::topology::TopologySummary;

    #[test]
    fn a_study_with_one_repeat_per_step() {
        let mut study = study();
        study.host.hostname = Some("bench-host".to_string());
        study.host.cores = 4;
        study.host.memory_bytes = Some(8 << 30);
        study.host_busy_pct = Some(2.0);
        study.topology = Some(TopologySummary {
            cpus: 4,
            physical_cores: 2,
            packages: 1,
            numa_nodes: 1,
            smt: true,
            governor: Some("performance".to_string()),
            cur_freq_mhz: Some(3150.0),
            max_freq_mhz: Some(3600.0),
        });
        let expected = "\
# Scaling study

## Machine

| | |
|---|---|
| Host | bench-host |
| CPU | unknown |
| Logical CPUs | 4 |
| Memory | 8.0 GiB |
| Kernel | unknown |
| Docker | unknown |
| Topology | 4 CPUs on 2 physical cores, 1 package(s), 1 NUMA node(s), SMT on |
| Governor | performance |
| Frequency | 3150 MHz (max 3600 MHz) |

## Settings

| | |
|---|---|
| Steps (containers x repeats) | 1 x1, 2 x1, 4 x1 |
| Duration per run | 3 s |
| Warm-up | 1 s |
| Data | data (10 files, 1.0 MiB) |
| Image | distributed-benchmark-worker:test |
| Memory limit per container | none |
| Baseline (1 container) | 100.00 pages/s (95% CI 95.03 – 104.97) |
| CPU used by others before the study | 2% |

## Results

| Containers | Repeat | Total pages/s | 95% CI | Per container (mean ± sd) | Efficiency | Efficiency 95% CI | Start skew |
|---:|---:|---:|---|---:|---:|---|---:|
| 1 | 1 | 100.00 | 95.03 – 104.97 | 100.00 ± 0.00 | 100.0% (perfect) | 90.5 – 110.5% | 0.0 µs |
| 2 | 1 | 190.00 | 190.00 – 190.00 | 95.00 ± 0.00 | 95.0% (perfect) | 90.5 – 100.0% | 1.25 ms |
| 4 | 1 | 360.00 | 360.00 – 360.00 | 90.00 ± 0.00 | 90.0% (excellent) | 85.7 – 94.7% | 3.75 ms |

## Warnings

None.

## Chart

![scaling](scaling.svg)
";
        let md = render_markdown(&study);
        assert_eq!(md, expected, "\n{md}");
    }

    #[test]
    fn repeats_and_warnings_get_their_sections() {
        let runs = [
            run_of(1, &[100, 100], 1),
            run_of(1, &[100, 100], 2),
            run_of(2, &[90, 90], 1),
            run_of(2, &[100, 100], 2),
        ];
        let study = Study::from_runs(&runs, None, None);
        let md = render_markdown(&study);
        assert!(md.contains(
            "| Containers | Repeats | Total pages/s | 95% CI | Efficiency | Efficiency 95% CI |"
        ));
        // Totals 180 and 200: mean 190, sd 14.142, t(1) = 12.706, ± 127.06.
        assert!(
            md.contains("| 2 | 2 | 190.00 | 62.94 – 317.06 | 95.0% (perfect) | 31.5 – 158.5% |"),
            "\n{md}"
        );
        assert!(md.contains("- 2 containers: spread is high: results unreliable"));
        assert!(md.contains("| Topology | unknown |"));
    }

    #[test]
    fn writes_report_md() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_markdown(&study(), dir.path()).unwrap();
        assert_eq!(path, dir.path().join("report.md"));
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            render_markdown(&study())
        );
    }
}
