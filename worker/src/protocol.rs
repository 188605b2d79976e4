//! The wire format between a worker and the orchestrator, the only definition; both sides
//! use it. Each side writes one JSON object per line, tagged by `type`:
//!
//! - the worker writes [`Event`]s on its stdout: `hello`, any number of `file_error`,
//!   `ready` (after warm-up), `started` (the instant its measured window began), `progress`
//!   about once a second, one `slot` at the end of every slot of the schedule, more
//!   `file_error`, and finally `done`. A fatal problem is reported as `fatal` before a
//!   non-zero exit. `pong` answers a `ping` at any time.
//! - the orchestrator writes [`Message`]s on the worker's stdin: `ping` (clock offset
//!   estimates), one `go` (the schedule of the measured window), and `stop`.
//!
//! Lines that do not parse are kept in the worker's log by the orchestrator and otherwise
//! ignored, so adding an event type is backwards compatible. Nothing else passes between
//! the two: no shared folder, so a worker on a remote host needs nothing but its engine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when an event or message changes shape in a way the other side would misread.
/// 2: the measured window is a schedule of slots, control messages on stdin.
pub const PROTOCOL_VERSION: u32 = 2;

/// Why a file (or part of one) was not counted. Stable snake_case labels: they are keys of
/// `by_reason` in the results JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Could not open, stat, map or read the file.
    Io,
    /// No `%PDF-` header and nothing that parses as a PDF.
    NotPdf,
    /// Encrypted with a password we do not have (or a method we do not support).
    Encrypted,
    /// The file is a PDF but too broken to read any page from.
    Malformed,
    /// The document has no reachable page.
    NoPages,
    /// `processing.timeout_per_file` elapsed; the file was abandoned.
    Timeout,
    /// Skipped: larger than `processing.max_file_size_mb`.
    TooLarge,
    /// Skipped: more pages than `pdf.skip_if_pages_over`.
    TooManyPages,
    /// Skipped: the extension is listed in `processing.skip_extensions`.
    SkippedExtension,
    /// The engine panicked on this file (a bug; the run goes on).
    Panic,
}

impl Reason {
    /// Every reason, for tests and documentation.
    pub const ALL: [Reason; 10] = [
        Reason::Io,
        Reason::NotPdf,
        Reason::Encrypted,
        Reason::Malformed,
        Reason::NoPages,
        Reason::Timeout,
        Reason::TooLarge,
        Reason::TooManyPages,
        Reason::SkippedExtension,
        Reason::Panic,
    ];

    /// Skips are policy, not failures: they are reported, but not as errors.
    pub fn is_skip(self) -> bool {
        matches!(
            self,
            Reason::TooLarge | Reason::TooManyPages | Reason::SkippedExtension
        )
    }

    pub fn label(self) -> &'static str {
        match self {
            Reason::Io => "io",
            Reason::NotPdf => "not_pdf",
            Reason::Encrypted => "encrypted",
            Reason::Malformed => "malformed",
            Reason::NoPages => "no_pages",
            Reason::Timeout => "timeout",
            Reason::TooLarge => "too_large",
            Reason::TooManyPages => "too_many_pages",
            Reason::SkippedExtension => "skipped_extension",
            Reason::Panic => "panic",
        }
    }
}

/// Which part of the run an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Warmup,
    Measure,
}

/// Counters of extraction work, cumulative since the start of a phase (or, in a `slot`
/// event, over that slot alone).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Pages whose text was extracted.
    pub pages: u64,
    /// Files whose every page (up to `pdf.max_pages_to_extract`) was extracted.
    pub files: u64,
    /// Files that failed (skips are not errors; see `skipped`).
    pub errors: u64,
    /// Files skipped by policy.
    pub skipped: u64,
    /// Characters of text extracted: proof that the text was really produced.
    pub chars: u64,
}

impl Counters {
    /// What was counted between `earlier` and `self` (both cumulative).
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            pages: self.pages.saturating_sub(earlier.pages),
            files: self.files.saturating_sub(earlier.files),
            errors: self.errors.saturating_sub(earlier.errors),
            skipped: self.skipped.saturating_sub(earlier.skipped),
            chars: self.chars.saturating_sub(earlier.chars),
        }
    }
}

/// Time one logical CPU spent in each state over an interval, from its `cpuN` line of
/// /proc/stat (proc(5)), in clock ticks (USER_HZ, 1/100 s on Linux). Read by the worker for
/// the CPU it is pinned to, so it works wherever the worker runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuTicks {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    /// Time the hypervisor ran something else while this virtual CPU wanted to run.
    pub steal: u64,
}

impl CpuTicks {
    /// Ticks between `earlier` and `self` (both cumulative readings).
    pub fn since(&self, earlier: &CpuTicks) -> CpuTicks {
        CpuTicks {
            user: self.user.saturating_sub(earlier.user),
            nice: self.nice.saturating_sub(earlier.nice),
            system: self.system.saturating_sub(earlier.system),
            idle: self.idle.saturating_sub(earlier.idle),
            iowait: self.iowait.saturating_sub(earlier.iowait),
            irq: self.irq.saturating_sub(earlier.irq),
            softirq: self.softirq.saturating_sub(earlier.softirq),
            steal: self.steal.saturating_sub(earlier.steal),
        }
    }

    /// Ticks in which the CPU ran something (anything but idle, iowait and steal).
    pub fn busy(&self) -> u64 {
        self.user + self.nice + self.system + self.irq + self.softirq
    }

    /// Every tick of the interval.
    pub fn total(&self) -> u64 {
        self.busy() + self.idle + self.iowait + self.steal
    }
}

/// CFS bandwidth control of the worker's cgroup over an interval (`cpu.stat`): how many
/// enforcement periods there were, in how many the quota ran out, and for how long the
/// group was held back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_ns: u64,
}

impl Throttling {
    pub fn since(&self, earlier: &Throttling) -> Throttling {
        Throttling {
            periods: self.periods.saturating_sub(earlier.periods),
            throttled_periods: self
                .throttled_periods
                .saturating_sub(earlier.throttled_periods),
            throttled_ns: self.throttled_ns.saturating_sub(earlier.throttled_ns),
        }
    }
}

/// What one worker did in one slot of the schedule, active or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotRecord {
    /// The slot's index in the schedule, from 0.
    pub slot: u64,
    /// Whether this worker extracted in the slot (otherwise it slept).
    pub active: bool,
    /// When the slot began and ended on this worker's wall clock, ns since the Unix epoch.
    pub start_unix_ns: i64,
    pub end_unix_ns: i64,
    /// Work counted in the slot: pages begun and finished inside it.
    #[serde(flatten)]
    pub counters: Counters,
    /// CPU time of the extracting thread during the slot (CLOCK_THREAD_CPUTIME_ID).
    pub cpu_ns: u64,
    /// How far the page in progress at the slot's end ran past it (that page is not
    /// counted); the next slot starts after a gap meant to absorb this.
    pub spill_ns: u64,
    /// The CPU this worker is pinned to, and what /proc/stat says it did in the slot.
    pub cpu: Option<usize>,
    pub ticks: Option<CpuTicks>,
    /// CFS throttling of the worker's cgroup in the slot, where readable.
    pub throttling: Option<Throttling>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// First line: who this is and what it found.
    Hello {
        protocol: u32,
        version: String,
        /// The worker index given by the orchestrator, if any.
        worker_id: Option<u32>,
        /// CPUs this process may run on (sched_getaffinity), as the kernel sees them.
        cpus_allowed: Vec<usize>,
        /// Candidate files found under the data directory.
        files_found: u64,
        bytes_found: u64,
        /// Files left out before the run by policy (extension, size), by reason label.
        skipped_at_discovery: BTreeMap<String, u64>,
    },
    /// Warm-up finished; the worker is waiting for `go` (when it takes messages).
    Ready { warmup_s: f64, warmup: Counters },
    /// The measured window began at this wall-clock instant (ns since the Unix epoch).
    Started { window_start_unix_ns: i64 },
    /// About once a second during the window: cumulative counters over the active slots.
    Progress {
        /// Since the window began (wall time, active or not).
        elapsed_s: f64,
        /// The slot in progress.
        slot: u64,
        /// Wall time spent in active slots, and CPU time of the extracting thread in them.
        active_s: f64,
        cpu_s: f64,
        #[serde(flatten)]
        counters: Counters,
    },
    /// The end of one slot of the schedule.
    Slot(SlotRecord),
    /// A file that failed or was skipped, with the reason. Repeated failures of the same
    /// file on later passes are counted but reported only once per phase.
    FileError {
        phase: Phase,
        path: String,
        reason: Reason,
        detail: String,
    },
    /// The answer to a `ping`, sent as soon as it was read: the worker's wall clock then.
    Pong { id: u64, worker_unix_ns: i64 },
    /// The measured window is over. Its last line. Figures are over the active slots.
    Done {
        /// Over the active slots (the same keys as everywhere: `pages`, `files` ...).
        #[serde(flatten)]
        counters: Counters,
        /// Wall time spent extracting (the active slots).
        elapsed_s: f64,
        pages_per_sec: f64,
        /// CPU time of the extracting thread in the active slots.
        cpu_s: f64,
        /// Complete passes over the file list during the window.
        passes: u64,
        window_start_unix_ns: i64,
        window_end_unix_ns: i64,
        /// Errors and skips during the window, by reason label.
        by_reason: BTreeMap<String, u64>,
        /// Peak resident set size of the worker process, when readable.
        max_rss_bytes: Option<u64>,
    },
    /// The worker cannot go on (no data, no go message ...). It exits non-zero after this.
    Fatal { message: String },
}

impl Event {
    /// One line of JSON, no trailing newline.
    pub fn to_line(&self) -> String {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        serde_json::to_string(self).expect("protocol events always serialize")
    }

    /// Parses one line; `None` when the line is not a protocol event.
    pub fn parse(line: &[u8]) -> Option<Event> {
        parse_json_line(line)
    }
}

/// The schedule of the measured window: slot `k` begins at `start_at + k x (slot + gap)`
/// and lasts `slot`; this worker extracts in it when `pattern[k % pattern.len()]`, and
/// sleeps otherwise. A single uninterrupted window is one slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Go {
    /// The instant slot 0 begins, on this worker's wall clock (the orchestrator has
    /// corrected for the host's clock offset), ns since the Unix epoch. Workers sleep
    /// until then, so the window starts together even though each worker reads the message
    /// at a slightly different moment.
    pub start_at_unix_ns: i64,
    pub slot_ns: u64,
    /// Pause between slots, in which the page in progress at a slot's end may finish.
    pub gap_ns: u64,
    /// Whether this worker extracts in each slot, repeating.
    pub pattern: Vec<bool>,
    /// Slots in all; `None`: until a `stop` says where to end.
    pub slots: Option<u64>,
}

impl Go {
    /// One uninterrupted window of `duration_ns`, starting at `start_at_unix_ns`.
    pub fn single_window(start_at_unix_ns: i64, duration_ns: u64) -> Go {
        Go {
            start_at_unix_ns,
            slot_ns: duration_ns,
            gap_ns: 0,
            pattern: vec![true],
            slots: Some(1),
        }
    }

    /// Whether this worker extracts in slot `k`.
    pub fn active(&self, k: u64) -> bool {
        let n = self.pattern.len() as u64;
        n > 0 && self.pattern[(k % n) as usize]
    }
}

/// What the orchestrator tells a worker, one per line on the worker's stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// Answer at once with a `pong` (clock offset estimates).
    Ping { id: u64 },
    /// The window's schedule; the worker starts waiting for it after `ready`.
    Go(Go),
    /// End the window: after slot `after_slot` (all workers end at the same boundary), or,
    /// without one, now (the pages counted so far are reported).
    Stop { after_slot: Option<u64> },
}

impl Message {
    /// One line of JSON with its newline.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("protocol messages always serialize");
        line.push('\n');
        line
    }

    pub fn parse(line: &[u8]) -> Option<Message> {
        parse_json_line(line)
    }
}

/// A line (without or with its `\r\n`) as a JSON value of type `T`; `None` otherwise.
fn parse_json_line<T: serde::de::DeserializeOwned>(line: &[u8]) -> Option<T> {
    let line = line.trim_ascii();
    if !line.starts_with(b"{") {
        return None;
    }
    serde_json::from_slice(line).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_round_trips_and_keeps_the_documented_keys() {
        let done = Event::Done {
            counters: Counters {
                pages: 10,
                files: 2,
                errors: 1,
                skipped: 0,
                chars: 1234,
            },
            elapsed_s: 2.0,
            pages_per_sec: 5.0,
            cpu_s: 1.9,
            passes: 1,
            window_start_unix_ns: 1,
            window_end_unix_ns: 2,
            by_reason: BTreeMap::from([("malformed".to_string(), 1)]),
            max_rss_bytes: None,
        };
        let line = done.to_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "done");
        for key in [
            "pages",
            "files",
            "errors",
            "skipped",
            "chars",
            "elapsed_s",
            "pages_per_sec",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(Event::parse(line.as_bytes()), Some(done));
    }

    #[test]
    fn progress_and_slot_counters_are_flat_on_the_wire() {
        let p = Event::Progress {
            elapsed_s: 1.5,
            slot: 3,
            active_s: 1.0,
            cpu_s: 0.98,
            counters: Counters {
                pages: 7,
                ..Counters::default()
            },
        };
        let line = p.to_line();
        assert!(line.contains("\"pages\":7"), "{line}");
        assert_eq!(Event::parse(line.as_bytes()), Some(p));

        let s = Event::Slot(SlotRecord {
            slot: 4,
            active: true,
            start_unix_ns: 10,
            end_unix_ns: 20,
            counters: Counters {
                pages: 3,
                ..Counters::default()
            },
            cpu_ns: 9,
            spill_ns: 1,
            cpu: Some(1),
            ticks: Some(CpuTicks {
                user: 50,
                ..CpuTicks::default()
            }),
            throttling: None,
        });
        let line = s.to_line();
        assert!(line.starts_with("{\"type\":\"slot\""), "{line}");
        assert!(line.contains("\"pages\":3"), "{line}");
        assert_eq!(Event::parse(line.as_bytes()), Some(s));
    }

    #[test]
    fn messages_round_trip_one_per_line() {
        let go = Message::Go(Go {
            start_at_unix_ns: 5,
            slot_ns: 2_000_000_000,
            gap_ns: 100_000_000,
            pattern: vec![true, false],
            slots: None,
        });
        for m in [
            Message::Ping { id: 9 },
            go,
            Message::Stop {
                after_slot: Some(12),
            },
            Message::Stop { after_slot: None },
        ] {
            let line = m.to_line();
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            assert_eq!(Message::parse(line.as_bytes()), Some(m));
        }
    }

    #[test]
    fn the_schedule_pattern_repeats() {
        let go = Go {
            start_at_unix_ns: 0,
            slot_ns: 1,
            gap_ns: 0,
            pattern: vec![true, false, false],
            slots: None,
        };
        let active: Vec<bool> = (0..7).map(|k| go.active(k)).collect();
        assert_eq!(active, [true, false, false, true, false, false, true]);
        assert!(Go::single_window(0, 5).active(0));
    }

    #[test]
    fn non_protocol_lines_are_not_events() {
        assert_eq!(Event::parse(b"thread 'main' panicked at ..."), None);
        assert_eq!(Event::parse(b"{\"type\":\"unknown_kind\"}"), None);
        assert_eq!(Event::parse(b""), None);
        assert_eq!(Event::parse(b"{\"type\":\"ready\", \xff}"), None);
    }

    #[test]
    fn every_reason_label_matches_serde() {
        for r in Reason::ALL {
            let s = serde_json::to_string(&r).unwrap();
            assert_eq!(s.trim_matches('"'), r.label());
        }
        // ALL names every variant: this match fails to compile when one is added.
        let count = |r: Reason| match r {
            Reason::Io
            | Reason::NotPdf
            | Reason::Encrypted
            | Reason::Malformed
            | Reason::NoPages
            | Reason::Timeout
            | Reason::TooLarge
            | Reason::TooManyPages
            | Reason::SkippedExtension
            | Reason::Panic => 1,
        };
        assert_eq!(Reason::ALL.iter().map(|r| count(*r)).sum::<usize>(), 10);
        let mut labels: Vec<&str> = Reason::ALL.iter().map(|r| r.label()).collect();
        labels.dedup();
        assert_eq!(labels.len(), 10);
    }

    #[test]
    fn cpu_ticks_split_into_busy_and_the_rest() {
        let a = CpuTicks {
            user: 100,
            nice: 1,
            system: 20,
            idle: 500,
            iowait: 3,
            irq: 2,
            softirq: 4,
            steal: 10,
        };
        let mut b = a;
        b.user += 60;
        b.idle += 30;
        b.steal += 10;
        let d = b.since(&a);
        assert_eq!((d.busy(), d.total(), d.steal), (60, 100, 10));
        assert_eq!(a.since(&b).user, 0, "a reading going backwards saturates");
    }
}
