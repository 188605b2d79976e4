//! `scaling_analysis.csv`: one row per run, so that a scaling series (and runs on
//! different days) line up in one spreadsheet. A single run appends its row; a scaling
//! study rewrites the file with one row per step. Both write the same columns.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::write_atomically;
use crate::report::model::RunResult;
use crate::report::stats;
use crate::report::study::{Study, StudyStep};

pub const CSV_FILE_NAME: &str = "scaling_analysis.csv";

pub const HEADER: [&str; 12] = [
    "timestamp",
    "run_id",
    "containers",
    "repeat",
    "total_pages_per_sec",
    "ci95_low",
    "ci95_high",
    "per_container_mean",
    "per_container_stddev",
    "efficiency_pct",
    "start_skew_ms",
    "status",
];

/// Appends `result`'s row to `dir/scaling_analysis.csv`, writing the header first when the
/// file is new or empty, and returns the path. Figures missing from the result (no
/// baseline, no samples ...) are empty cells, not zeros, so that averages stay honest.
pub fn append_csv(result: &RunResult, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(CSV_FILE_NAME);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let is_empty = file
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?
        .len()
        == 0;
    let mut writer = ::csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(file);
    if is_empty {
        writer
            .write_record(HEADER)
            .with_context(|| format!("writing the header of {}", path.display()))?;
    }
    writer
        .write_record(row(result))
        .with_context(|| format!("appending to {}", path.display()))?;
    writer
        .flush()
        .with_context(|| format!("appending to {}", path.display()))?;
    Ok(path)
}

/// The cells of `result`'s row, in [`HEADER`] order.
pub fn row(result: &RunResult) -> [String; 12] {
    let rates: Vec<f64> = result.containers.iter().map(|c| c.pages_per_sec).collect();
    let ci = result.throughput_stats.as_ref();
    [
        result
            .timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        result.run_id.clone(),
        result.containers.len().to_string(),
        result.repeat.to_string(),
        number(Some(result.total_pages_per_sec)),
        number(ci.map(|s| s.ci95_low)),
        number(ci.map(|s| s.ci95_high)),
        number((!rates.is_empty()).then(|| stats::mean(&rates))),
        number((!rates.is_empty()).then(|| stats::stddev(&rates))),
        number(result.scaling_efficiency_pct),
        number(result.start_skew_ms),
        result.status.label().to_string(),
    ]
}

/// Rewrites `dir/scaling_analysis.csv` with the header and one row per step of `study`, in
/// the order the runs were made, atomically, and returns the path. Efficiency is against
/// the study's baseline (the 1-container step), not each run's own.
pub fn write_study_csv(study: &Study, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(CSV_FILE_NAME);
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    writer
        .write_record(HEADER)
        .and_then(|()| {
            study
                .steps
                .iter()
                .try_for_each(|step| writer.write_record(step_row(step)))
        })
        .with_context(|| format!("formatting {}", path.display()))?;
    let bytes = writer
        .into_inner()
        .with_context(|| format!("formatting {}", path.display()))?;
    write_atomically(&path, &bytes)?;
    Ok(path)
}

/// The cells of a study step's row, in [`HEADER`] order.
#[allow(dead_code)]
pub fn step_row(step: &StudyStep) -> [String; 12] {
    [
        step.timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        step.run_id.clone(),
        step.containers.to_string(),
        step.repeat.to_string(),
        number(Some(step.total_pages_per_sec)),
        number(Some(step.ci95_low)),
        number(Some(step.ci95_high)),
        number(Some(step.per_container_mean)),
        number(Some(step.per_container_stddev)),
        number(step.efficiency_pct),
        number(step.start_skew_ms),
        step.status.clone(),
    ]
}

/// Three decimals: finer than any of these figures is meaningful, and fixed so that
/// columns are easy to compare by eye.
fn number(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::analysis::finish;
    use crate::report::fixtures::run;
    use crate::report::model::RunStatus;

    const HEADER_LINE: &str = "timestamp,run_id,containers,repeat,total_pages_per_sec,\
        ci95_low,ci95_high,per_container_mean,per_container_stddev,efficiency_pct,\
        start_skew_ms,status\n";

    #[test]
    fn header_once_then_one_row_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = run();
        finish(&mut first);
        let mut second = first.clone();
        second.repeat = 2;
        second.baseline = None;
        second.status = RunStatus::ContainerFailed;
        finish(&mut second);

        append_csv(&first, dir.path()).unwrap();
        let path = append_csv(&second, dir.path()).unwrap();
        assert_eq!(path, dir.path().join("scaling_analysis.csv"));
        // Interval totals 185, 193, 192: mean 190, stdev 4.358898943540674 (Python 3
        // statistics), t(2) = 4.303, so the interval is 190 ± 10.829.
        let expected = format!(
            "{HEADER_LINE}\
             2025-03-14T09:26:53Z,r1a2b3,2,1,190.000,179.171,200.829,95.000,1.414,95.000,1.250,ok\n\
             2025-03-14T09:26:53Z,r1a2b3,2,2,190.000,179.171,200.829,95.000,1.414,,1.250,container_failed\n"
        );
        assert_eq!(fs::read_to_string(path).unwrap(), expected);
    }

    #[test]
    fn an_empty_existing_file_gets_the_header() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CSV_FILE_NAME), "").unwrap();
        let path = append_csv(&run(), dir.path()).unwrap();
        assert!(fs::read_to_string(path).unwrap().starts_with(HEADER_LINE));
    }

    /// The study of `study::tests::study()`: solo 98/100/102 (interval 100 ± 4.303 x 2 /
    /// √3 = 4.969), 2 x 95 and 4 x 90, steady.
    #[test]
    fn a_study_rewrites_the_file_one_row_per_step() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(CSV_FILE_NAME), "old contents\n").unwrap();
        let path = write_study_csv(&crate::report::study::tests::study(), dir.path()).unwrap();
        let expected = format!(
            "{HEADER_LINE}\
             2025-03-14T09:26:53Z,r1a2b3,1,1,100.000,95.031,104.969,100.000,0.000,100.000,0.000,ok\n\
             2025-03-14T09:26:53Z,r1a2b3,2,1,190.000,190.000,190.000,95.000,0.000,95.000,1.250,ok\n\
             2025-03-14T09:26:53Z,r1a2b3,4,1,360.000,360.000,360.000,90.000,0.000,90.000,3.750,ok\n"
        );
        assert_eq!(fs::read_to_string(path).unwrap(), expected);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_figures_are_empty_cells() {
        let mut result = run();
        result.containers.clear();
        result.baseline = None;
        finish(&mut result);
        let row = row(&result);
        assert_eq!(row[4], "0.000");
        for cell in &row[5..11] {
            assert_eq!(cell, "");
        }
    }
}
