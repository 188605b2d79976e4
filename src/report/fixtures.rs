//! Reports built from made-up slot records, for the tests of the exporters and of the
//! comparison with references.

use std::collections::BTreeMap;

use super::Draft;
use super::analysis::tests::worker;
use super::model::{Report, RunStatus};
use crate::facts::HostFacts;
use crate::schedule::tests::plan;
use crate::schedule::{Schedule, SlotKind};

/// A finished 2-container run of 20 s: each worker does 1000 pages/s alone and 900 to
/// 1000 together (a little noise, so the intervals have a width).
pub fn report() -> Report {
    report_of(&["--containers", "2", "--duration", "20"])
}

pub fn report_of(flags: &[&str]) -> Report {
    let plan = plan(flags);
    let schedule = Schedule::for_plan(&plan).unwrap();
    let host = HostFacts::for_tests("local", &[0, 1, 2, 3]);
    let done = schedule.planned;
    let workers = (0..plan.workers())
        .map(|w| {
            worker(
                &schedule,
                w,
                done,
                |k, kind| match kind {
                    SlotKind::Solo { .. } => 1000.0 + (k % 3) as f64 * 10.0,
                    SlotKind::Step { .. } => 940.0 + (k % 5) as f64 * 10.0,
                },
                |_| 0,
            )
        })
        .collect();
    Draft {
        plan: &plan,
        schedule: &schedule,
        hosts: std::slice::from_ref(&host),
        offsets: vec![None],
        image: "distributed-benchmark:test",
        run_id: "r1a2b3",
        timestamp: "2025-03-14T09:26:53Z".parse().unwrap(),
        data_files: 10,
        data_bytes: 1 << 20,
        data_label: "data",
        busy_pct_before_run: Some(2.0),
        status: RunStatus::Ok,
        problems: Vec::new(),
        workers,
        slots_done: done,
        file_baseline: None,
        top_processes: BTreeMap::new(),
        comparisons: Vec::new(),
        gate: None,
    }
    .report()
}
