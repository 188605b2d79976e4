//! Results built by hand for the tests of analysis and exporters.

use std::collections::BTreeMap;

use super::model::{
    Baseline, ContainerResult, HostInfo, RunResult, RunStatus, Sample, Settings, Totals,
};

/// A cumulative sample with one file per ten pages.
pub fn sample(elapsed_s: f64, pages: u64) -> Sample {
    Sample {
        elapsed_s,
        pages,
        files: pages / 10,
        errors: 0,
    }
}

/// Container `index` on CPU `index`, with `index` errors and its window opening
/// `index` x 1.25 ms after container 0's; counters are those of its last sample.
pub fn container(index: u32, pages_per_sec: f64, samples: Vec<Sample>) -> ContainerResult {
    let pages = samples.last().map_or(0, |s| s.pages);
    ContainerResult {
        name: format!("bench-{index}"),
        index,
        cpu: index as usize,
        status: "ok".to_string(),
        pages,
        files: pages / 10,
        errors: u64::from(index),
        skipped: 0,
        chars: pages * 1000,
        elapsed_s: samples.last().map_or(0.0, |s| s.elapsed_s),
        pages_per_sec,
        passes: 1,
        window_start_unix_ns: Some(1_700_000_000_000_000_000 + i64::from(index) * 1_250_000),
        window_end_unix_ns: None,
        by_reason: BTreeMap::new(),
        max_rss_bytes: None,
        warmup_pages: 0,
        samples,
        file_errors: Vec::new(),
    }
}

/// A two-container run with a 100 pages/sec baseline; `finish` not yet applied.
pub fn run() -> RunResult {
    RunResult {
        tool_version: "0.1.0".to_string(),
        run_id: "r1a2b3".to_string(),
        timestamp: "2025-03-14T09:26:53Z".parse().unwrap(),
        repeat: 1,
        status: RunStatus::Ok,
        problems: Vec::new(),
        host: HostInfo::default(),
        settings: Settings {
            containers: 2,
            duration_s: 3.0,
            warmup_s: 1.0,
            data_dir: "data".to_string(),
            data_files: 10,
            data_bytes: 1 << 20,
            cpus: vec![0, 1],
            memory_bytes: None,
            image: "distributed-benchmark-worker:test".to_string(),
            runtime: crate::config::Runtime::Docker,
            oversubscribed: false,
            config_file: None,
            config: serde_json::Value::Null,
        },
        containers: vec![
            container(
                0,
                96.0,
                vec![sample(1.0, 95), sample(2.0, 192), sample(3.0, 288)],
            ),
            container(
                1,
                94.0,
                vec![sample(1.0, 90), sample(2.0, 186), sample(3.0, 282)],
            ),
        ],
        totals: Totals::default(),
        total_pages_per_sec: 0.0,
        avg_pages_per_sec_per_container: 0.0,
        start_skew_ms: None,
        baseline: Some(Baseline {
            pages_per_sec: 100.0,
            source: "solo run before this one".to_string(),
            containers: Vec::new(),
        }),
        scaling_efficiency_pct: None,
        efficiency_label: None,
        throughput_stats: None,
    }
}
