//! `results_<timestamp>_<run id>.json`: the complete [`RunResult`], from which every other export
//! can be recomputed.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::write_atomically;
use crate::report::model::RunResult;
use crate::report::study::Study;

/// `results_<timestamp>_<run id>.json`, the timestamp being the run's own (UTC), so that
/// the name does not depend on when the file is written and rewriting a run replaces its
/// file. The run id keeps two runs of the same second apart (a study step interrupted
/// right after the previous one ended would otherwise replace its file).
pub fn results_file_name(result: &RunResult) -> String {
    format!(
        "results_{}_{}.json",
        result.timestamp.format("%Y%m%d_%H%M%S"),
        result.run_id
    )
}

/// Writes `result` as pretty JSON into `dir`, atomically (see [`write_atomically`]), and
/// returns the path written.
pub fn write_json(result: &RunResult, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(results_file_name(result));
    let mut json = serde_json::to_vec_pretty(result)
        .with_context(|| format!("serializing the results for {}", path.display()))?;
    json.push(b'\n');
    write_atomically(&path, &json)?;
    Ok(path)
}

/// The scaling study's file, rewritten after every step.
pub const STUDY_FILE_NAME: &str = "scaling_study.json";

/// Writes the whole study (every step's figures, the baseline, the machine) as
/// `dir/scaling_study.json`, atomically.
pub fn write_study_json(study: &Study, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(STUDY_FILE_NAME);
    let mut json = serde_json::to_vec_pretty(study)
        .with_context(|| format!("serializing the study for {}", path.display()))?;
    json.push(b'\n');
    write_atomically(&path, &json)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::analysis::finish;
    use crate::report::fixtures::run;

    #[test]
    fn round_trips_under_the_timestamped_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut result = run();
        finish(&mut result);
        let path = write_json(&result, dir.path()).unwrap();
        assert_eq!(path, dir.path().join("results_20250314_092653_r1a2b3.json"));
        let back: RunResult = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(back, result);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn keys_carry_their_units() {
        let mut result = run();
        finish(&mut result);
        let v = serde_json::to_value(&result).unwrap();
        assert_eq!(v["total_pages_per_sec"], 190.0);
        assert_eq!(v["status"], "ok");
        assert_eq!(v["containers"][0]["samples"][0]["elapsed_s"], 1.0);
    }

    #[test]
    fn a_result_without_repeat_reads_as_the_first() {
        let mut v = serde_json::to_value(run()).unwrap();
        v.as_object_mut().unwrap().remove("repeat");
        let back: RunResult = serde_json::from_value(v).unwrap();
        assert_eq!(back.repeat, 1);
    }

    #[test]
    fn a_missing_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_json(&run(), &dir.path().join("nope")).unwrap_err();
        assert!(format!("{err:#}").contains("results_20250314_092653_r1a2b3.json"));
    }
}
