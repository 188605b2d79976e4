//! Which slots of the measured window run which workers, and which slots are compared.
//!
//! The measured window is cut into slots of equal length with a short gap between them
//! (in which a page in progress at a slot's end may finish). In each slot either the first
//! N workers extract together (a *step* slot, one per step N of the study) or one worker
//! extracts alone (a *solo* slot). The efficiency of step N compares each worker's speed
//! in a step-N slot with its own speed alone in a nearby slot: a *pair*.
//!
//! - `paired` (the default): a block with one slot of every step, then one solo slot, then
//!   the block again in reverse order, the next solo slot, and so on, ending with a block:
//!   `S2 S4 | solo0 | S4 S2 | solo1 | S2 S4 | solo2 ...`. The solo worker rotates over the
//!   cores (cycle c: worker c mod M). Every solo slot thus sits between two slots of every
//!   step at the same distance on both sides, and is paired with their mean: a linear drift
//!   of the machine cancels within each pair. A *round* is M cycles, every core alone once;
//!   rounds are the batches the interval is computed over.
//! - `sequential` (the old design, kept to compare against): a solo block on the first
//!   core, then one block per step; with `--repeat` and `--interleave`, round after round
//!   of blocks. Sub-slot j of the solo block is paired with sub-slot j of each step's block,
//!   and compared with the mean speed of all the step's workers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cli::ScheduleKind;
use crate::config::{MIN_SLOT_S, Plan};
use crate::error::InputError;

/// The slot chosen when none is asked for. On the 2-core VM this tool is developed on
/// (runs of 60 s, the designs alternating; scripts/compare_designs.py, see the README),
/// 0.5 s slots gave intervals that held the median of every design's estimate in each run,
/// with the smallest spread between runs; 0.25 s slots gave slightly narrower intervals
/// but read about 2 points lower, and 1-2 s slots read 2-4 points higher with wider ones.
const MAX_AUTO_SLOT_S: f64 = 0.5;
/// Rounds the window should hold when the slot length is chosen for it.
const AUTO_ROUNDS: f64 = 6.0;
/// The gap between slots, as a share of a slot.
const GAP_SHARE: f64 = 0.05;

/// What runs in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SlotKind {
    /// Worker `worker` (from 0) alone.
    Solo { worker: usize },
    /// Workers 0..n together.
    Step { n: usize },
}

impl SlotKind {
    /// Whether worker `w` (from 0) extracts in this slot.
    pub fn runs(self, w: usize) -> bool {
        match self {
            SlotKind::Solo { worker } => worker == w,
            SlotKind::Step { n } => w < n,
        }
    }

    /// The workers extracting in it.
    pub fn workers(self) -> Vec<usize> {
        match self {
            SlotKind::Solo { worker } => vec![worker],
            SlotKind::Step { n } => (0..n).collect(),
        }
    }
}

/// One comparison: worker `solo_worker` alone in slot `solo`, against the mean speed of
/// `all_workers` in the slots `all` (slots of step `step`: the two either side of the
/// solo slot, or one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub step: usize,
    pub solo: u64,
    pub solo_worker: usize,
    pub all: Vec<u64>,
    pub all_workers: Vec<usize>,
    /// The batch the pair belongs to (the interval is computed over batches).
    pub batch: u64,
}

/// The window's slots, their order and length, and how many there are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub kind: ScheduleKind,
    /// The steps measured, ascending (1 is the solo figure).
    pub steps: Vec<usize>,
    /// Workers started (the largest step).
    pub workers: usize,
    pub slot: Duration,
    pub gap: Duration,
    /// One period of the slot sequence; slot k is `period[k % len]`.
    pub period: Vec<SlotKind>,
    /// Slots in one round (a whole number of rounds is always measured).
    pub round_slots: u64,
    /// Slots after the last round that belong to it (the block closing its last solo
    /// slot, in the paired schedule).
    pub tail_slots: u64,
    /// Slots planned; with a precision target, the fewest.
    pub planned: u64,
    /// With a precision target, the most slots the window may grow to.
    pub max_slots: u64,
    /// Sequential only: slots in each block.
    pub block_slots: u64,
}

impl Schedule {
    /// The schedule for `plan`. A window too short for one round is refused, with the
    /// shortest that works.
    pub fn for_plan(plan: &Plan) -> Result<Schedule, InputError> {
        let steps = plan.steps.clone();
        let workers = plan.workers();
        let multi: Vec<usize> = steps.iter().copied().filter(|&n| n > 1).collect();
        let has_solo = steps.contains(&1);
        let kinds = multi.len() + usize::from(has_solo);
        let (period, round_slots, tail_slots) = match plan.schedule {
            ScheduleKind::Paired => paired_period(workers, &multi, has_solo),
            ScheduleKind::Sequential => (Vec::new(), kinds as u64, 0),
        };
        let round_slots = round_slots.max(1);
        let window_s = plan.duration_s * f64::from(plan.repeat);
        let slot_s = plan.slot_s.unwrap_or_else(|| {
            (window_s / (AUTO_ROUNDS * round_slots as f64 * (1.0 + GAP_SHARE)))
                .clamp(MIN_SLOT_S, MAX_AUTO_SLOT_S)
        });
        let slot = Duration::from_secs_f64(slot_s);
        let gap = Duration::from_secs_f64(slot_s * GAP_SHARE);
        let stride = (slot + gap).as_secs_f64();
        let slots_in = |seconds: f64| ((seconds + gap.as_secs_f64()) / stride).floor() as u64;

        let too_short = |need_slots: u64| {
            let need_s = (need_slots as f64 * stride).ceil();
            InputError(format!(
                "--duration {} is too short for this schedule: one round ({need_slots} slots \
                 of {slot_s:.2} s: each core alone once, beside every step) takes {need_s:.0} s. \
                 Use --duration {:.0} or more (two rounds give the first interval){}.",
                plan.duration_s,
                2.0 * need_s,
                if slot_s > MIN_SLOT_S {
                    format!(", or a shorter --slot (down to {MIN_SLOT_S} s)")
                } else {
                    String::new()
                }
            ))
        };
        let mut schedule = Schedule {
            kind: plan.schedule,
            steps,
            workers,
            slot,
            gap,
            period,
            round_slots,
            tail_slots,
            planned: 0,
            max_slots: 0,
            block_slots: 0,
        };
        match plan.schedule {
            ScheduleKind::Paired => {
                let rounds_in =
                    |seconds: f64| slots_in(seconds).saturating_sub(tail_slots) / round_slots;
                let rounds = rounds_in(window_s);
                if rounds == 0 {
                    return Err(too_short(round_slots + tail_slots));
                }
                schedule.planned = rounds * round_slots + tail_slots;
                schedule.max_slots = match plan.target_precision_pts {
                    Some(_) => rounds_in(plan.max_time_s).max(rounds) * round_slots + tail_slots,
                    None => schedule.planned,
                };
            }
            ScheduleKind::Sequential => {
                let rounds = u64::from(if plan.interleave { plan.repeat } else { 1 });
                let per_block = slots_in(window_s) / (kinds as u64 * rounds);
                if per_block == 0 {
                    return Err(too_short(kinds as u64 * rounds));
                }
                if plan.target_precision_pts.is_some() {
                    return Err(InputError(
                        "--target-precision needs --schedule paired: a sequential schedule \
                         cannot grow round by round"
                            .into(),
                    ));
                }
                schedule.block_slots = per_block;
                schedule.round_slots = kinds as u64 * per_block;
                let mut order = Vec::new();
                if has_solo {
                    order.push(SlotKind::Solo { worker: 0 });
                }
                order.extend(multi.iter().map(|&n| SlotKind::Step { n }));
                schedule.period = order
                    .iter()
                    .flat_map(|&k| std::iter::repeat_n(k, per_block as usize))
                    .collect();
                schedule.planned = schedule.round_slots * rounds;
                schedule.max_slots = schedule.planned;
            }
        }
        Ok(schedule)
    }

    /// What runs in slot `k`.
    pub fn kind_of(&self, k: u64) -> SlotKind {
        self.period[(k % self.period.len() as u64) as usize]
    }

    /// Whether worker `w` extracts in each slot of one period (what it is sent).
    pub fn pattern_for(&self, w: usize) -> Vec<bool> {
        self.period.iter().map(|k| k.runs(w)).collect()
    }

    /// The round slot `k` belongs to.
    pub fn round_of(&self, k: u64) -> u64 {
        k / self.round_slots
    }

    /// When slot `k` begins, after the window's start.
    pub fn offset_of(&self, k: u64) -> Duration {
        (self.slot + self.gap).mul_f64(k as f64)
    }

    /// How long `slots` slots take, gaps between them included.
    pub fn span(&self, slots: u64) -> Duration {
        if slots == 0 {
            Duration::ZERO
        } else {
            self.offset_of(slots - 1) + self.slot
        }
    }

    /// The pairs among the first `done` slots, for every step above 1, in slot order.
    pub fn pairs(&self, done: u64) -> Vec<Pair> {
        match self.kind {
            ScheduleKind::Paired => self.paired_pairs(done),
            ScheduleKind::Sequential => self.sequential_pairs(done),
        }
    }

    fn paired_pairs(&self, done: u64) -> Vec<Pair> {
        let mut pairs = Vec::new();
        let block = self.tail_slots;
        for solo in 0..done {
            let SlotKind::Solo { worker } = self.kind_of(solo) else {
                continue;
            };
            for n in self.steps.iter().copied().filter(|&n| n > worker && n > 1) {
                // The nearest slot of step n on each side, within the adjacent blocks.
                let is_n = |k: &u64| self.kind_of(*k) == SlotKind::Step { n };
                let before = (solo.saturating_sub(block)..solo).rev().find(is_n);
                let after = (solo + 1..(solo + 1 + block).min(done)).find(is_n);
                let (Some(before), Some(after)) = (before, after) else {
                    continue;
                };
                pairs.push(Pair {
                    step: n,
                    solo,
                    solo_worker: worker,
                    all: vec![before, after],
                    all_workers: vec![worker],
                    batch: self.round_of(solo),
                });
            }
        }
        pairs
    }

    fn sequential_pairs(&self, done: u64) -> Vec<Pair> {
        let rounds_total = self.planned / self.round_slots.max(1);
        let a = self.block_slots;
        let mut pairs = Vec::new();
        for k in 0..done {
            let (round, within) = (k / self.round_slots, k % self.round_slots);
            let (block, j) = (within / a, within % a);
            let SlotKind::Step { n } = self.kind_of(k) else {
                continue;
            };
            if block == 0 {
                continue;
            }
            // The solo block is the first of the round, when there is one.
            let solo = round * self.round_slots + j;
            if solo >= done || self.kind_of(solo) != (SlotKind::Solo { worker: 0 }) {
                continue;
            }
            pairs.push(Pair {
                step: n,
                solo,
                solo_worker: 0,
                all: vec![k],
                all_workers: (0..n).collect(),
                // Rounds are the batches when there are several; within one round only
                // the sub-slots are (and drift between the blocks goes unseen).
                batch: if rounds_total >= 2 { round } else { j },
            });
        }
        pairs
    }

    /// The last slot of round `r`: its last solo slot's closing block included.
    pub fn end_of_round(&self, r: u64) -> u64 {
        (r + 1) * self.round_slots + self.tail_slots - 1
    }

    /// Whole rounds among the first `slots` slots.
    pub fn rounds_within(&self, slots: u64) -> u64 {
        slots.saturating_sub(self.tail_slots) / self.round_slots
    }
}

/// The paired period, the slots of one round (M cycles of a block and a solo slot) and
/// the closing block. The period is one or two rounds: the blocks alternate in order, so
/// with an odd number of workers the pattern repeats after two rounds.
fn paired_period(workers: usize, multi: &[usize], has_solo: bool) -> (Vec<SlotKind>, u64, u64) {
    let block: Vec<SlotKind> = multi.iter().map(|&n| SlotKind::Step { n }).collect();
    if !has_solo {
        // Against a baseline from a file: step slots only, round after round.
        let len = block.len() as u64;
        return (block, len, 0);
    }
    let m = workers.max(1);
    let cycles = if m.is_multiple_of(2) || block.is_empty() {
        m
    } else {
        2 * m
    };
    let mut period = Vec::new();
    for c in 0..cycles {
        if c % 2 == 0 {
            period.extend(block.iter().copied());
        } else {
            period.extend(block.iter().rev().copied());
        }
        period.push(SlotKind::Solo { worker: c % m });
    }
    let per_cycle = (block.len() + 1) as u64;
    (period, per_cycle * m as u64, block.len() as u64)
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::config::LoadedConfig;
    use crate::config::resolve;
    use crate::facts::HostFacts;
    use clap::Parser;

    pub fn plan(flags: &[&str]) -> Plan {
        let mut argv = vec!["distributed-benchmark"];
        argv.extend(flags);
        let args = crate::cli::Cli::try_parse_from(argv).unwrap().run;
        let local = crate::hosts::HostSpec {
            name: "local".into(),
            url: crate::hosts::LOCAL_SOCKET.into(),
            cpus: None,
            data_dir: None,
            origin: crate::origin::Origin::Default,
        };
        resolve(
            &args,
            &LoadedConfig::default(),
            &[(local, HostFacts::for_tests("local", &[0, 1, 2, 3]))],
        )
        .unwrap()
    }

    fn schedule(flags: &[&str]) -> Schedule {
        Schedule::for_plan(&plan(flags)).unwrap()
    }

    use SlotKind::{Solo, Step};

    #[test]
    fn each_solo_slot_sits_between_two_slots_of_the_step() {
        let s = schedule(&["--containers", "2", "--duration", "60"]);
        assert_eq!(s.steps, vec![1, 2]);
        assert_eq!(
            s.period,
            [
                Step { n: 2 },
                Solo { worker: 0 },
                Step { n: 2 },
                Solo { worker: 1 }
            ]
        );
        assert_eq!((s.round_slots, s.tail_slots), (4, 1));
        assert_eq!(s.slot, Duration::from_millis(500));
        // 60 s hold 114 slots of 0.525 s: 28 rounds of 4 and the closing block.
        assert_eq!(
            s.planned,
            28 * 4 + 1,
            "whole rounds, and the block closing the last"
        );
        assert_eq!(s.kind_of(s.planned - 1), Step { n: 2 });
        assert!(s.span(s.planned) <= Duration::from_secs(60));
        assert!(s.span(s.planned + 4) > Duration::from_secs(60));
        assert_eq!(s.pattern_for(1), [true, false, true, true]);
        // Every worker alone once per round, against its own speed on both sides.
        let pairs = s.pairs(9);
        assert_eq!(
            pairs
                .iter()
                .map(|p| (p.solo_worker, p.solo, p.all.clone(), p.batch))
                .collect::<Vec<_>>(),
            [
                (0, 1, vec![0, 2], 0),
                (1, 3, vec![2, 4], 0),
                (0, 5, vec![4, 6], 1),
                (1, 7, vec![6, 8], 1)
            ]
        );
        assert!(pairs.iter().all(|p| p.all_workers == [p.solo_worker]));
        assert_eq!(
            s.pairs(8).len(),
            3,
            "a solo slot without its closing slot is no pair"
        );
        assert_eq!(
            (s.end_of_round(0), s.rounds_within(9), s.rounds_within(8)),
            (4, 2, 1)
        );
    }

    #[test]
    fn a_study_pairs_each_step_with_the_cores_it_uses_at_equal_distances() {
        let s = schedule(&["--scaling-test", "--duration", "600"]);
        assert_eq!(s.steps, vec![1, 2, 4]);
        assert_eq!(
            (s.round_slots, s.tail_slots),
            (12, 2),
            "4 cycles of a block of two and a solo slot"
        );
        assert_eq!(
            s.period[..6],
            [
                Step { n: 2 },
                Step { n: 4 },
                Solo { worker: 0 },
                Step { n: 4 },
                Step { n: 2 },
                Solo { worker: 1 }
            ]
        );
        let pairs = s.pairs(s.round_slots + s.tail_slots);
        let of = |n: usize| {
            pairs
                .iter()
                .filter(|p| p.step == n)
                .map(|p| p.solo_worker)
                .collect::<Vec<_>>()
        };
        assert_eq!(of(2), [0, 1]);
        assert_eq!(of(4), [0, 1, 2, 3]);
        for p in &pairs {
            assert_eq!(p.solo - p.all[0], p.all[1] - p.solo, "symmetric: {p:?}");
        }
    }

    #[test]
    fn an_odd_number_of_workers_repeats_after_two_rounds() {
        let s = schedule(&[
            "--scaling-test",
            "--max-containers",
            "3",
            "--duration",
            "300",
        ]);
        assert_eq!(s.steps, vec![1, 2, 3]);
        assert_eq!(s.period.len() as u64, 2 * s.round_slots);
        let pairs = s.pairs(s.planned);
        for p in &pairs {
            assert_eq!(p.solo - p.all[0], p.all[1] - p.solo, "symmetric: {p:?}");
        }
    }

    #[test]
    fn short_windows_get_short_slots_and_too_short_ones_are_refused() {
        let s = schedule(&["--containers", "2", "--duration", "10"]);
        assert!(s.slot < Duration::from_secs(1) && s.slot >= Duration::from_millis(250));
        assert!(s.rounds_within(s.planned) >= 4, "{s:?}");
        let err = Schedule::for_plan(&plan(&["--containers", "4", "--duration", "1"])).unwrap_err();
        assert!(
            err.to_string().starts_with("--duration 1 is too short"),
            "{err}"
        );
        let s = schedule(&["--duration", "3"]);
        assert_eq!(
            s.period,
            [Solo { worker: 0 }],
            "one container: solo slots only"
        );
        assert_eq!(s.tail_slots, 0);
        assert!(s.pairs(s.planned).is_empty());
    }

    #[test]
    fn a_precision_target_may_grow_the_window_to_max_time() {
        let s = schedule(&[
            "--containers",
            "2",
            "--duration",
            "20",
            "--target-precision",
            "3",
            "--max-time",
            "100",
        ]);
        assert!(s.max_slots > s.planned);
        assert!(s.span(s.max_slots) <= Duration::from_secs(100));
        assert_eq!((s.max_slots - s.tail_slots) % s.round_slots, 0);
    }

    #[test]
    fn the_sequential_design_is_blocks_paired_by_position() {
        let s = schedule(&[
            "--containers",
            "2",
            "--duration",
            "20",
            "--schedule",
            "sequential",
        ]);
        let a = s.block_slots as usize;
        assert!(a >= 2);
        assert!(s.period[..a].iter().all(|k| *k == Solo { worker: 0 }));
        assert!(s.period[a..].iter().all(|k| *k == Step { n: 2 }));
        let pairs = s.pairs(s.planned);
        assert_eq!(pairs.len(), a);
        assert_eq!(
            (pairs[1].solo, pairs[1].all.clone()),
            (1, vec![a as u64 + 1])
        );
        assert_eq!(pairs[1].all_workers, [0, 1]);
        assert_eq!(
            pairs[1].batch, 1,
            "one round: the sub-slots are the batches"
        );

        let s = schedule(&[
            "--containers",
            "2",
            "--duration",
            "20",
            "--schedule",
            "sequential",
            "--repeat",
            "3",
            "--interleave",
        ]);
        let pairs = s.pairs(s.planned);
        assert_eq!(
            pairs.iter().map(|p| p.batch).max(),
            Some(2),
            "rounds are the batches"
        );
    }

    #[test]
    fn against_a_baseline_file_only_the_steps_run() {
        let s = schedule(&[
            "--containers",
            "2",
            "--baseline",
            "b.json",
            "--duration",
            "10",
        ]);
        assert!(s.period.iter().all(|k| *k == Step { n: 2 }));
        assert!(s.pairs(s.planned).is_empty());
    }
}
