//! `scaling_analysis.csv`: one row per step of every run, so that a scaling series (and
//! runs on different days) line up in one spreadsheet. A run rewrites its own rows after
//! every round and keeps every other run's; a file with other columns (an older version's)
//! is set aside under another name before the run starts ([`set_aside_if_foreign`]).

use anyhow::{Context, Result};

use super::Exporter;
use crate::report::model::{HostFigures, Report, StepResult};

pub const CSV_FILE_NAME: &str = "scaling_analysis.csv";

pub const HEADER: [&str; 17] = [
    "timestamp",
    "run_id",
    "host",
    "schedule",
    "containers",
    "total_pages_per_sec",
    "ci95_low",
    "ci95_high",
    "per_container_mean",
    "per_container_stddev",
    "efficiency_pct",
    "efficiency_ci95_low_pct",
    "efficiency_ci95_high_pct",
    "efficiency_label",
    "pairs",
    "start_skew_ms",
    "status",
];

pub struct Csv;

impl Exporter for Csv {
    fn file_name(&self, _report: &Report) -> String {
        CSV_FILE_NAME.to_string()
    }

    fn render(&self, report: &Report, existing: Option<&[u8]>) -> Result<Vec<u8>> {
        let mut writer = ::csv::Writer::from_writer(Vec::new());
        writer.write_record(HEADER)?;
        if let Some(bytes) = existing {
            let mut reader = ::csv::Reader::from_reader(bytes);
            let same_columns = reader
                .headers()
                .is_ok_and(|h| h.iter().eq(HEADER.iter().copied()));
            if same_columns {
                for row in reader.records() {
                    let row = row.with_context(|| format!("reading {CSV_FILE_NAME}"))?;
                    if row.get(1) != Some(report.run_id.as_str()) {
                        writer.write_record(&row)?;
                    }
                }
            } else {
                anyhow::bail!(
                    "{CSV_FILE_NAME} in the output folder has other columns (an older \
                     version's?): move it aside, or choose another --output-dir"
                );
            }
        }
        for step in &report.steps {
            writer.write_record(row(report, step, None))?;
            for host in &step.per_host {
                writer.write_record(row(report, step, Some(host)))?;
            }
        }
        writer
            .into_inner()
            .with_context(|| format!("formatting {CSV_FILE_NAME}"))
    }
}

/// Renames an existing CSV whose columns are not [`HEADER`] (written by an older version)
/// to `scaling_analysis.before-<timestamp>.csv`, so that this run neither mixes rows of two
/// shapes nor erases it. Returns the new name when it did.
pub fn set_aside_if_foreign(dir: &std::path::Path) -> Result<Option<std::path::PathBuf>> {
    let path = dir.join(CSV_FILE_NAME);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let mut reader = ::csv::Reader::from_reader(bytes.as_slice());
    if bytes.is_empty()
        || reader
            .headers()
            .is_ok_and(|h| h.iter().eq(HEADER.iter().copied()))
    {
        return Ok(None);
    }
    let aside = dir.join(format!(
        "scaling_analysis.before-{}.csv",
        chrono::Utc::now().format("%Y%m%d_%H%M%S")
    ));
    std::fs::rename(&path, &aside)
        .with_context(|| format!("setting aside {} as {}", path.display(), aside.display()))?;
    Ok(Some(aside))
}

/// The cells of one step's row (all its hosts, or one), in [`HEADER`] order. Missing
/// figures are empty cells, not zeros, so that averages stay honest.
pub fn row(report: &Report, step: &StepResult, host: Option<&HostFigures>) -> Vec<String> {
    let (name, containers, total, ci, eff, eff_ci, label) = match host {
        Some(h) => (
            h.host.clone(),
            h.containers,
            h.total_pages_per_sec,
            h.total_pages_per_sec_ci95,
            h.efficiency_pct,
            h.efficiency_ci95_pct,
            None,
        ),
        None => (
            if report.hosts.len() == 1 {
                report.hosts[0].name.clone()
            } else {
                "all".to_string()
            },
            step.containers,
            step.total_pages_per_sec,
            step.total_pages_per_sec_ci95,
            step.efficiency_pct,
            step.efficiency_ci95_pct,
            step.efficiency_label,
        ),
    };
    vec![
        report
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        report.run_id.clone(),
        name,
        report.schedule.kind.label().to_string(),
        containers.to_string(),
        number(Some(total)),
        number(ci.map(|c| c[0])),
        number(ci.map(|c| c[1])),
        number(Some(step.per_container_mean)),
        number(Some(step.per_container_stddev)),
        number(eff),
        number(eff_ci.map(|c| c[0])),
        number(eff_ci.map(|c| c[1])),
        label.map_or_else(String::new, |b| b.label().to_string()),
        step.pairs.to_string(),
        number(report.start_skew_ms),
        report.status.label().to_string(),
    ]
}

/// Three decimals: finer than any of these figures is meaningful, and fixed so that
/// columns are easy to compare by eye.
fn number(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    fn lines(bytes: &[u8]) -> Vec<String> {
        String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(String::from)
            .collect()
    }

    #[test]
    fn one_row_per_step_with_the_efficiency_interval() {
        let report = fixtures::report();
        let out = lines(&Csv.render(&report, None).unwrap());
        assert_eq!(out[0], HEADER.join(","));
        assert_eq!(out.len(), 1 + report.steps.len());
        let two: Vec<&str> = out[2].split(',').collect();
        assert_eq!(two[1], "r1a2b3");
        assert_eq!(two[4], "2");
        assert!(!two[11].is_empty() && !two[12].is_empty(), "{}", out[2]);
        let one: Vec<&str> = out[1].split(',').collect();
        assert_eq!(one[10], "", "no efficiency for the solo step");
    }

    #[test]
    fn other_runs_rows_are_kept_and_this_runs_replaced() {
        let report = fixtures::report();
        let mut other = report.clone();
        other.run_id = "earlier".into();
        let first = Csv.render(&other, None).unwrap();
        let second = Csv.render(&report, Some(&first)).unwrap();
        let third = Csv.render(&report, Some(&second)).unwrap();
        let out = lines(&third);
        assert_eq!(out.len(), 1 + 2 * report.steps.len(), "{out:?}");
        assert_eq!(out.iter().filter(|l| l.contains(",earlier,")).count(), 2);
        assert_eq!(out.iter().filter(|l| l.contains(",r1a2b3,")).count(), 2);
    }

    #[test]
    fn a_file_of_another_shape_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(set_aside_if_foreign(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(CSV_FILE_NAME), "a,b\n1,2\n").unwrap();
        let aside = set_aside_if_foreign(dir.path()).unwrap().unwrap();
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "a,b\n1,2\n");
        assert!(!dir.path().join(CSV_FILE_NAME).exists());
        let err = Csv
            .render(&fixtures::report(), Some(b"a,b\n1,2\n"))
            .unwrap_err();
        assert!(err.to_string().contains("other columns"), "{err}");
    }
}
