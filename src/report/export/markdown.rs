//! `report.md`: the run for people: the machine, the settings, how it was measured, one
//! row per step, the efficiency in words, why it fell short, what the pinned CPUs did, the
//! problems, and the chart (`scaling.svg`, written beside it).

use std::fmt::Write as _;

use anyhow::Result;

use super::Exporter;
use super::table::{precision, throughput};
use crate::report::model::{BaselineSource, Report};
use crate::report::verdict::with_interval;

pub const MARKDOWN_FILE_NAME: &str = "report.md";

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self, _report: &Report) -> String {
        MARKDOWN_FILE_NAME.to_string()
    }

    fn render(&self, report: &Report, _existing: Option<&[u8]>) -> Result<Vec<u8>> {
        Ok(render_markdown(report).into_bytes())
    }
}

pub fn render_markdown(r: &Report) -> String {
    let mut out = format!(
        "# Scaling efficiency, run {}\n\n{} UTC, status **{}**.\n\n## Machine\n\n",
        r.run_id,
        r.timestamp.format("%Y-%m-%d %H:%M:%S"),
        r.status.label()
    );
    out.push_str(&table(&machine(r)));
    if r.hosts.len() > 1 {
        out.push_str(
            "\n| Host | Containers | Pages/s (95% CI) | Efficiency on this host |\n|---|---:|---|---|\n",
        );
        for h in &r.hosts {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                h.name,
                h.containers,
                throughput(h.total_pages_per_sec, h.total_pages_per_sec_ci95),
                h.efficiency_pct.map_or_else(
                    || "n/a".to_string(),
                    |e| with_interval(e, h.efficiency_ci95_pct.map(|[a, b]| (a, b)))
                )
            );
        }
    }
    out.push_str("\n## Settings\n\n");
    out.push_str(&table(&settings(r)));
    out.push_str("\n## Results\n\n");
    if let Some(verdict) = &r.efficiency_verdict {
        let _ = writeln!(
            out,
            "**Scaling efficiency of {} containers: {verdict}**\n",
            r.containers.len()
        );
    }
    if let Some(p) = &r.precision {
        let _ = writeln!(out, "Target precision: {}.\n", precision(p));
    }
    out.push_str(
        "| Containers | Total pages/s (95% CI) | Per container (mean ± sd) | Efficiency | Pairs | Rounds |\n\
         |---:|---|---:|---|---:|---:|\n",
    );
    for s in &r.steps {
        let eff = match s.efficiency_pct {
            Some(e) => {
                let text = with_interval(e, s.efficiency_ci95_pct.map(|[a, b]| (a, b)));
                match s.efficiency_label {
                    Some(b) => format!("{text} {}", b.label()),
                    None => text,
                }
            }
            None => "n/a".to_string(),
        };
        let _ = writeln!(
            out,
            "| {}{} | {} | {:.0} ± {:.0} | {eff} | {} | {} |",
            s.containers,
            if s.oversubscribed { " (over)" } else { "" },
            throughput(s.total_pages_per_sec, s.total_pages_per_sec_ci95),
            s.per_container_mean,
            s.per_container_stddev,
            s.pairs,
            s.batches,
        );
    }
    if let Some(b) = &r.baseline {
        let _ = write!(
            out,
            "\nOne container alone: {}",
            throughput(b.pages_per_sec, b.ci95)
        );
        match &b.source {
            BaselineSource::SoloSlots => {
                let cores: Vec<String> = b
                    .per_cpu
                    .iter()
                    .map(|s| format!("CPU {}: {:.0}", s.cpu, s.pages_per_sec))
                    .collect();
                let _ = writeln!(out, " (solo slots; {}).", cores.join(", "));
            }
            BaselineSource::File { path } => {
                let _ = writeln!(out, " (from `{path}`).");
            }
        }
    }
    if let Some(loss) = &r.efficiency_loss {
        out.push_str("\n## Where the efficiency went\n\n| Cause | Points |\n|---|---:|\n");
        for (cause, pts) in [
            (
                "Contention on the pinned cores (other programs)",
                loss.contention_pts,
            ),
            ("Hypervisor steal", loss.steal_pts),
            ("Throttling by the CPU quota", loss.throttling_pts),
            (
                "Slower cores (pages per CPU-second below solo)",
                loss.slower_cores_pts,
            ),
            ("Unexplained (noise included)", loss.unexplained_pts),
            ("**Shortfall from 100%**", loss.shortfall_pts),
        ] {
            let _ = writeln!(out, "| {cause} | {pts:.1} |");
        }
        let _ = writeln!(
            out,
            "\nCPU share of the workers: {:.1}% alone, {:.1}% together; pages per CPU-second: \
             {:.0} alone, {:.0} together.",
            loss.cpu_share_solo_pct,
            loss.cpu_share_together_pct,
            loss.pages_per_cpu_s_solo,
            loss.pages_per_cpu_s_together
        );
        if let Some([lo, hi]) = r.scaling_efficiency_ci95_pct
            && lo <= 100.0
            && hi >= 100.0
        {
            out.push_str(
                "\nThe interval includes 100%: this shortfall is within noise, and so is its split.\n",
            );
        }
        for note in &loss.notes {
            let _ = writeln!(out, "- {note}");
        }
    }
    if !r.host_usage.is_empty() {
        out.push_str(
            "\n## The pinned CPUs\n\n| CPU | Used by others | Steal | Throttled | Busiest other programs |\n\
             |---:|---:|---:|---:|---|\n",
        );
        for u in &r.host_usage {
            let named: Vec<String> = u.top_processes.iter().map(|p| p.describe()).collect();
            let _ = writeln!(
                out,
                "| {} | {:.1}% | {:.1}% | {:.1}% | {} |",
                u.cpu,
                u.others_pct,
                u.steal_pct,
                u.throttled_pct,
                if named.is_empty() {
                    "none seen".to_string()
                } else {
                    named.join(", ")
                }
            );
        }
    }
    out.push_str("\n## Problems\n\n");
    if r.problems.is_empty() {
        out.push_str("None.\n");
    }
    for p in &r.problems {
        let _ = writeln!(out, "- {p}");
    }
    out.push_str("\n## Chart\n\n![scaling](scaling.svg)\n");
    out
}

fn machine(r: &Report) -> Vec<(&'static str, String)> {
    let unknown = || "unknown".to_string();
    let mut rows = Vec::new();
    for host in &r.hosts {
        rows.extend([
            (
                "Host",
                format!(
                    "{} ({}, {})",
                    host.name,
                    host.url,
                    host.hostname.clone().unwrap_or_else(unknown)
                ),
            ),
            ("CPU", host.cpu_model.clone().unwrap_or_else(unknown)),
            ("Logical CPUs", host.cores.to_string()),
            (
                "Memory",
                host.memory_bytes.map_or_else(unknown, |b| {
                    format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
                }),
            ),
            ("Kernel", host.kernel.clone().unwrap_or_else(unknown)),
            (
                "Engine",
                match (&host.engine.version, &host.engine.api_version) {
                    (Some(v), Some(api)) => format!("{} {v} (API {api})", host.engine.kind),
                    (Some(v), None) => format!("{} {v}", host.engine.kind),
                    _ => host.engine.kind.clone(),
                },
            ),
            ("Corpus", host.data.clone()),
        ]);
        if let Some(t) = &host.topology {
            rows.push((
                "Topology",
                format!(
                    "{} CPUs on {} physical cores, {} package(s), {} NUMA node(s), SMT {}",
                    t.cpus,
                    t.physical_cores,
                    t.packages,
                    t.numa_nodes,
                    if t.smt { "on" } else { "off" }
                ),
            ));
        }
        if let (Some(o), Some(u)) = (host.clock_offset_ms, host.clock_uncertainty_ms) {
            rows.push((
                "Clock against this machine's",
                format!("{o:+.3} ms (± {u:.3} ms)"),
            ));
        }
    }
    rows.push((
        "CPU used by others before the run",
        r.busy_pct_before_run
            .map_or_else(|| "not measured".to_string(), |p| format!("{p:.0}%")),
    ));
    rows
}

fn settings(r: &Report) -> Vec<(&'static str, String)> {
    let s = &r.settings;
    let sch = &r.schedule;
    vec![
        (
            "Schedule",
            format!(
                "{}: {} slots of {:.2} s (gap {:.3} s), {} per round; steps {:?}",
                sch.kind.label(),
                sch.slots_measured,
                sch.slot_s,
                sch.gap_s,
                sch.round_slots,
                sch.steps
            ),
        ),
        (
            "Measured window",
            format!("{} s (x{} repeat)", s.duration_s, s.repeat),
        ),
        ("Warm-up", format!("{} s", s.warmup_s)),
        (
            "Data",
            format!(
                "{} ({} files, {:.1} MiB)",
                s.data_dir,
                s.data_files,
                s.data_bytes as f64 / (1u64 << 20) as f64
            ),
        ),
        ("CPUs", format!("{:?}", s.cpus)),
        ("Image", s.image.clone()),
        (
            "Memory limit per container",
            s.memory_bytes.map_or_else(
                || "none".to_string(),
                |b| format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64),
            ),
        ),
    ]
}

fn table(rows: &[(&str, String)]) -> String {
    let mut out = String::from("| | |\n|---|---|\n");
    for (label, value) in rows {
        let _ = writeln!(out, "| {label} | {} |", value.replace('|', "\\|"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn the_report_has_its_sections_and_one_row_per_step() {
        let report = fixtures::report();
        let md = render_markdown(&report);
        for section in [
            "## Machine",
            "## Settings",
            "## Results",
            "## Where the efficiency went",
            "## The pinned CPUs",
            "## Problems",
            "![scaling](scaling.svg)",
        ] {
            assert!(md.contains(section), "{section} missing:\n{md}");
        }
        let one = md.lines().find(|l| l.starts_with("| 1 |")).unwrap();
        assert!(
            one.contains(" pages/sec (95% CI ") && one.ends_with("| n/a | 0 | 0 |"),
            "{one}"
        );
        let two = md.lines().find(|l| l.starts_with("| 2 |")).unwrap();
        assert!(two.contains("(95% CI "), "{two}");
        assert!(
            md.contains("**Scaling efficiency of 2 containers: "),
            "{md}"
        );
        assert!(!md.contains("Target precision"), "none was asked for");
    }

    #[test]
    fn a_precision_target_is_said_met_or_not() {
        let mut report = fixtures::report();
        report.precision = Some(crate::report::model::Precision {
            target_pts: 3.0,
            reached_pts: Some(4.2),
            met: false,
            measured_s: 600.0,
            max_time_s: 600.0,
        });
        let md = render_markdown(&report);
        assert!(
            md.contains(
                "Target precision: NOT met: ±4.2 points after 600 s (target ±3, --max-time 600 s)."
            ),
            "{md}"
        );
    }
}
