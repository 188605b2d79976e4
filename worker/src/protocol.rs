//! The wire format between a worker and the orchestrator: one JSON object per line on the
//! worker's stdout, tagged by `type`. This is the only definition; both sides use it.
//!
//! A worker prints, in order: `hello`, any number of `file_error`, `ready` (after warm-up),
//! `started` (the instant its measured window began), `progress` about once a second,
//! more `file_error`, and finally `done`. A fatal problem is reported as `fatal` before a
//! non-zero exit. Lines that do not parse as an [`Event`] are kept in the container's log by
//! the orchestrator and otherwise ignored, so adding an event type is backwards compatible.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when an event changes shape in a way an older orchestrator would misread.
pub const PROTOCOL_VERSION: u32 = 1;

/// Why a file (or part of one) was not counted. Stable snake_case labels: they are keys of
/// `errors_by_reason` in the results JSON.
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

/// Cumulative counters since the start of a phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Warm-up finished; the worker is waiting for the go signal.
    Ready { warmup_s: f64, warmup: Counters },
    /// The measured window began at this wall-clock instant (ns since the Unix epoch).
    Started { window_start_unix_ns: i64 },
    /// About once a second during the window: cumulative counters.
    Progress {
        elapsed_s: f64,
        #[serde(flatten)]
        counters: Counters,
    },
    /// A file that failed or was skipped, with the reason. Repeated failures of the same
    /// file on later passes are counted but reported only once.
    FileError {
        phase: Phase,
        path: String,
        reason: Reason,
        detail: String,
    },
    /// The measured window is over. Its last line.
    Done {
        pages: u64,
        files: u64,
        errors: u64,
        skipped: u64,
        chars: u64,
        elapsed_s: f64,
        pages_per_sec: f64,
        /// Complete passes over the file list during the window.
        passes: u64,
        window_start_unix_ns: i64,
        window_end_unix_ns: i64,
        /// Errors and skips during the window, by reason label.
        by_reason: BTreeMap<String, u64>,
        /// Peak resident set size of the worker process, when readable.
        max_rss_bytes: Option<u64>,
    },
    /// The worker cannot go on (no data, barrier timeout ...). It exits non-zero after this.
    Fatal { message: String },
}

impl Event {
    /// One line of JSON, no trailing newline.
    pub fn to_line(&self) -> String {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        serde_json::to_string(self).expect("protocol events always serialize")
    }

    /// Parses one line; `None` when the line is not a protocol event.
    pub fn parse(line: &str) -> Option<Event> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }
}

/// Names of the files in the barrier folder (bind-mounted at [`BARRIER_MOUNT`]).
pub mod barrier {
    /// Where the barrier folder is mounted inside a container.
    pub const BARRIER_MOUNT: &str = "/barrier";
    /// Where the data folder is mounted inside a container.
    pub const DATA_MOUNT: &str = "/data";

    /// Written by worker `id` after warm-up.
    pub fn ready_file(id: u32) -> String {
        format!("ready-{id}")
    }

    /// Written once (atomically) by the orchestrator when every worker is ready.
    pub const GO_FILE: &str = "go";
    /// Written by the orchestrator to ask every worker to stop early (Ctrl-C).
    pub const STOP_FILE: &str = "stop";

    /// Content of the go file: the wall-clock instant at which every worker opens its
    /// window. Workers sleep until then, so the window starts together even though each
    /// worker notices the file at a slightly different moment.
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
    pub struct Go {
        pub start_at_unix_ns: i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_round_trips_and_keeps_the_documented_keys() {
        let done = Event::Done {
            pages: 10,
            files: 2,
            errors: 1,
            skipped: 0,
            chars: 1234,
            elapsed_s: 2.0,
            pages_per_sec: 5.0,
            passes: 1,
            window_start_unix_ns: 1,
            window_end_unix_ns: 2,
            by_reason: BTreeMap::from([("malformed".to_string(), 1)]),
            max_rss_bytes: None,
        };
        let line = done.to_line();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "done");
        for key in ["pages", "files", "errors", "elapsed_s", "pages_per_sec"] {
            assert!(v.get(key).is_some(), "{key} missing from {line}");
        }
        assert_eq!(Event::parse(&line), Some(done));
    }

    #[test]
    fn progress_counters_are_flat_on_the_wire() {
        let p = Event::Progress {
            elapsed_s: 1.5,
            counters: Counters {
                pages: 7,
                ..Counters::default()
            },
        };
        let line = p.to_line();
        assert!(line.contains("\"pages\":7"), "{line}");
        assert_eq!(Event::parse(&line), Some(p));
    }

    #[test]
    fn non_protocol_lines_are_not_events() {
        assert_eq!(Event::parse("thread 'main' panicked at ..."), None);
        assert_eq!(Event::parse("{\"type\":\"unknown_kind\"}"), None);
        assert_eq!(Event::parse(""), None);
    }

    #[test]
    fn reason_labels_match_serde() {
        for r in [Reason::Io, Reason::TooManyPages, Reason::SkippedExtension] {
            let s = serde_json::to_string(&r).unwrap();
            assert_eq!(s.trim_matches('"'), r.label());
        }
    }
}
