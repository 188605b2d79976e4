//! `results_<timestamp>_<run id>.json`: the complete [`Report`], from which every other
//! format can be recomputed.

use anyhow::{Context, Result};

use super::Exporter;
use crate::report::model::Report;

pub struct Json;

/// `results_<timestamp>_<run id>.json`, the timestamp being the run's own (UTC), so that
/// the name does not depend on when the file is written and rewriting a run replaces its
/// file; the run id keeps two runs of the same second apart.
pub fn results_file_name(report: &Report) -> String {
    format!(
        "results_{}_{}.json",
        report.timestamp.format("%Y%m%d_%H%M%S"),
        report.run_id
    )
}

impl Exporter for Json {
    fn file_name(&self, report: &Report) -> String {
        results_file_name(report)
    }

    fn render(&self, report: &Report, _existing: Option<&[u8]>) -> Result<Vec<u8>> {
        let mut json = serde_json::to_vec_pretty(report).context("serializing the results")?;
        json.push(b'\n');
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn round_trips_and_keeps_the_stable_keys() {
        let report = fixtures::report();
        let bytes = Json.render(&report, None).unwrap();
        let back: Report = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, report);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for key in [
            "total_pages_per_sec",
            "start_skew_ms",
            "scaling_efficiency_pct",
            "scaling_efficiency_ci95_pct",
            "efficiency_label",
            "host_usage",
            "efficiency_loss",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        let c = &v["containers"][0];
        for key in [
            "cpu",
            "pages",
            "pages_per_sec",
            "cpu_share_pct",
            "pages_per_cpu_s",
        ] {
            assert!(c.get(key).is_some(), "containers[].{key} missing");
        }
        assert_eq!(
            v["scaling_efficiency_ci95_pct"].as_array().unwrap().len(),
            2
        );
        assert!(
            v["workers"][0]["slots"][0]["cpu_ns"].is_u64(),
            "the samples are kept"
        );
        assert_eq!(
            Json.file_name(&report),
            "results_20250314_092653_r1a2b3.json"
        );
    }
}
