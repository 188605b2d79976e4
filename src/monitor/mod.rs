//! From container log streams to per-container state: bytes arrive in arbitrary chunks,
//! become lines, lines become protocol events, events update the container's record. A
//! line that is not an event is kept in the log and otherwise ignored.

pub mod display;

use std::collections::BTreeMap;

use worker::protocol::{Counters, Event};

use crate::report::model::{ContainerResult, FileProblem, Sample};

/// Splits a byte stream delivered in chunks into complete lines.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: String,
}

impl LineBuffer {
    /// Adds a chunk and returns the lines it completed (without their newline).
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.pending.push_str(chunk);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=end).collect();
            lines.push(line.trim_end_matches(['\n', '\r']).to_string());
        }
        lines
    }

    /// What is left when the stream ends (a last line without a newline).
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.pending);
        (!rest.is_empty()).then_some(rest)
    }
}

/// Everything known about one container, built from its events.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    pub name: String,
    pub index: u32,
    pub cpu: usize,
    pub files_found: Option<u64>,
    pub ready: bool,
    pub warmup_pages: u64,
    pub window_start_unix_ns: Option<i64>,
    pub samples: Vec<Sample>,
    pub last: Option<(f64, Counters)>,
    pub done: Option<Event>,
    pub fatal: Option<String>,
    pub file_errors: Vec<FileProblem>,
    /// The full output, as the container printed it.
    pub log: String,
    /// Set when the log stream ended (the container stopped).
    pub exited: bool,
    /// When the last line arrived.
    pub last_heard: Option<std::time::Instant>,
    /// Gave up on it: it stopped writing while it should have been measuring.
    pub stalled: bool,
}

impl Tracker {
    pub fn new(name: String, index: u32, cpu: usize) -> Tracker {
        Tracker {
            name,
            index,
            cpu,
            ..Tracker::default()
        }
    }

    /// Records one line of output. Returns the event it carried, if any.
    pub fn apply(&mut self, line: &str) -> Option<Event> {
        self.log.push_str(line);
        self.log.push('\n');
        let event = Event::parse(line)?;
        match &event {
            Event::Hello { files_found, .. } => self.files_found = Some(*files_found),
            Event::Ready { warmup, .. } => {
                self.ready = true;
                self.warmup_pages = warmup.pages;
            }
            Event::Started {
                window_start_unix_ns,
            } => self.window_start_unix_ns = Some(*window_start_unix_ns),
            Event::Progress {
                elapsed_s,
                counters,
            } => {
                self.samples.push(Sample {
                    elapsed_s: *elapsed_s,
                    pages: counters.pages,
                    files: counters.files,
                    errors: counters.errors,
                });
                self.last = Some((*elapsed_s, counters.clone()));
            }
            Event::FileError {
                path,
                reason,
                detail,
                ..
            } => self.file_errors.push(FileProblem {
                path: path.clone(),
                reason: reason.label().to_string(),
                detail: detail.clone(),
            }),
            Event::Done {
                pages,
                files,
                errors,
                elapsed_s,
                ..
            } => {
                // The window's last stretch, after the last progress event, as a final
                // sample: the samples then add up to the totals.
                if self.samples.last().is_none_or(|s| s.elapsed_s < *elapsed_s) {
                    self.samples.push(Sample {
                        elapsed_s: *elapsed_s,
                        pages: *pages,
                        files: *files,
                        errors: *errors,
                    });
                }
                self.done = Some(event.clone());
            }
            Event::Fatal { message } => self.fatal = Some(message.clone()),
        }
        Some(event)
    }

    /// Pages/sec over the latest interval between progress samples.
    pub fn current_rate(&self) -> Option<f64> {
        let n = self.samples.len();
        let last = self.samples.last()?;
        let (t0, p0) = match n {
            1 => (0.0, 0),
            _ => (self.samples[n - 2].elapsed_s, self.samples[n - 2].pages),
        };
        let dt = last.elapsed_s - t0;
        (dt > 0.0).then(|| (last.pages - p0) as f64 / dt)
    }

    /// The container's figures for the report. Without a `done` event (the container died
    /// or was stopped), the last progress sample is used and `status` says why.
    pub fn to_result(&self, status: String) -> ContainerResult {
        let mut r = ContainerResult {
            name: self.name.clone(),
            index: self.index,
            cpu: self.cpu,
            status,
            pages: 0,
            files: 0,
            errors: 0,
            skipped: 0,
            chars: 0,
            elapsed_s: 0.0,
            pages_per_sec: 0.0,
            passes: 0,
            window_start_unix_ns: self.window_start_unix_ns,
            window_end_unix_ns: None,
            by_reason: BTreeMap::new(),
            max_rss_bytes: None,
            warmup_pages: self.warmup_pages,
            samples: self.samples.clone(),
            file_errors: self.file_errors.clone(),
        };
        match &self.done {
            Some(Event::Done {
                pages,
                files,
                errors,
                skipped,
                chars,
                elapsed_s,
                pages_per_sec,
                passes,
                window_end_unix_ns,
                by_reason,
                max_rss_bytes,
                ..
            }) => {
                r.pages = *pages;
                r.files = *files;
                r.errors = *errors;
                r.skipped = *skipped;
                r.chars = *chars;
                r.elapsed_s = *elapsed_s;
                r.pages_per_sec = *pages_per_sec;
                r.passes = *passes;
                r.window_end_unix_ns = Some(*window_end_unix_ns);
                r.by_reason = by_reason.clone();
                r.max_rss_bytes = *max_rss_bytes;
            }
            _ => {
                if let Some((elapsed_s, c)) = &self.last {
                    r.pages = c.pages;
                    r.files = c.files;
                    r.errors = c.errors;
                    r.skipped = c.skipped;
                    r.chars = c.chars;
                    r.elapsed_s = *elapsed_s;
                    if *elapsed_s > 0.0 {
                        r.pages_per_sec = c.pages as f64 / elapsed_s;
                    }
                }
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reassembled_from_arbitrary_chunks() {
        let mut buf = LineBuffer::default();
        assert!(buf.push("{\"type\":").is_empty());
        assert_eq!(
            buf.push("\"x\"}\nsecond\r\nthi"),
            vec!["{\"type\":\"x\"}", "second"]
        );
        assert_eq!(buf.push("rd\n"), vec!["third"]);
        assert_eq!(buf.push("tail"), Vec::<String>::new());
        assert_eq!(buf.finish(), Some("tail".to_string()));
        assert_eq!(buf.finish(), None);
    }

    #[test]
    fn events_build_the_record_and_other_lines_are_only_logged() {
        let mut t = Tracker::new("c-1".into(), 1, 0);
        assert!(t.apply("warning: something odd").is_none());
        t.apply(r#"{"type":"started","window_start_unix_ns":42}"#);
        t.apply(r#"{"type":"progress","elapsed_s":1.0,"pages":100,"files":3,"errors":0,"skipped":0,"chars":5000}"#);
        t.apply(r#"{"type":"progress","elapsed_s":2.0,"pages":250,"files":7,"errors":1,"skipped":0,"chars":9000}"#);
        assert_eq!(t.window_start_unix_ns, Some(42));
        assert_eq!(t.current_rate(), Some(150.0));
        assert!(t.log.starts_with("warning: something odd\n"));

        // Died before `done`: the last sample is used.
        let r = t.to_result("oom_killed".into());
        assert_eq!((r.pages, r.files, r.errors), (250, 7, 1));
        assert_eq!(r.pages_per_sec, 125.0);
        assert_eq!(r.samples.len(), 2);
        assert_eq!(r.status, "oom_killed");
    }
}
