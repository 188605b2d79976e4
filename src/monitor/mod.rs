//! From a worker's output to its record: lines (already split from bytes by the engine)
//! become protocol events, events update the worker's state. A stdout line that is not an
//! event, and every stderr line, is kept in the worker's log and otherwise ignored.

pub mod display;

use std::collections::BTreeMap;
use std::time::Instant;

use worker::protocol::{Counters, Event, SlotRecord};

use crate::engine::{Exit, Output};
use crate::report::model::{FileProblem, Sample, WorkerRecord, WorkerStatus};

/// What a worker's `done` event said beyond the counters kept in its slots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    pub passes: u64,
    pub window_end_unix_ns: i64,
    pub by_reason: BTreeMap<String, u64>,
    pub max_rss_bytes: Option<u64>,
}

/// Everything known about one worker, built from its output.
#[derive(Debug, Clone, Default)]
pub struct WorkerState {
    pub name: String,
    /// From 1.
    pub index: u32,
    pub cpu: usize,
    /// Index of its host in the plan.
    pub host: usize,
    pub files_found: Option<u64>,
    pub ready: bool,
    pub warmup_pages: u64,
    pub started_unix_ns: Option<i64>,
    pub slots: BTreeMap<u64, SlotRecord>,
    pub progress: Vec<Sample>,
    pub last_counters: Option<(f64, Counters)>,
    pub done: Option<Done>,
    pub fatal: Option<String>,
    pub file_errors: Vec<FileProblem>,
    /// Answers to pings: (id, the worker's clock, when the answer arrived).
    pub pongs: Vec<(u64, i64, Instant)>,
    /// Its output as it printed it, stdout and stderr interleaved as they arrived.
    pub log: Vec<u8>,
    /// Its output ended (it stopped, or its engine lost it).
    pub ended: bool,
    /// When the last line arrived.
    pub last_heard: Option<Instant>,
    /// Given up: it stopped writing while it should have been measuring.
    pub stalled: bool,
    /// It did not say it was ready within the time allowed.
    pub never_ready: bool,
    /// How it ended, as its engine tells.
    pub exit: Option<Exit>,
}

impl WorkerState {
    pub fn new(name: String, index: u32, cpu: usize) -> WorkerState {
        WorkerState {
            name,
            index,
            cpu,
            ..WorkerState::default()
        }
    }

    /// Records one piece of output. Returns the event it carried, if any.
    pub fn apply(&mut self, output: &Output) -> Option<Event> {
        self.last_heard = Some(Instant::now());
        let line = match output {
            Output::Ended => {
                self.ended = true;
                return None;
            }
            Output::Stderr(line) => {
                self.log.extend_from_slice(b"stderr: ");
                self.log.extend_from_slice(line);
                self.log.push(b'\n');
                return None;
            }
            Output::Stdout(line) => line,
        };
        self.log.extend_from_slice(line);
        self.log.push(b'\n');
        let event = Event::parse(line)?;
        match &event {
            Event::Hello { files_found, .. } => self.files_found = Some(*files_found),
            Event::Ready { warmup, .. } => {
                self.ready = true;
                self.warmup_pages = warmup.pages;
            }
            Event::Started {
                window_start_unix_ns,
            } => self.started_unix_ns = Some(*window_start_unix_ns),
            Event::Progress {
                elapsed_s,
                slot,
                cpu_s,
                counters,
                ..
            } => {
                self.progress.push(Sample {
                    elapsed_s: *elapsed_s,
                    slot: *slot,
                    pages: counters.pages,
                    cpu_s: *cpu_s,
                });
                self.last_counters = Some((*elapsed_s, *counters));
            }
            Event::Slot(record) => {
                self.slots.insert(record.slot, record.clone());
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
            Event::Pong { id, worker_unix_ns } => {
                self.pongs.push((*id, *worker_unix_ns, Instant::now()));
            }
            Event::Done {
                passes,
                window_end_unix_ns,
                by_reason,
                max_rss_bytes,
                ..
            } => {
                self.done = Some(Done {
                    passes: *passes,
                    window_end_unix_ns: *window_end_unix_ns,
                    by_reason: by_reason.clone(),
                    max_rss_bytes: *max_rss_bytes,
                })
            }
            Event::Fatal { message } => self.fatal = Some(message.clone()),
        }
        Some(event)
    }

    /// Still running as far as its output tells.
    pub fn alive(&self) -> bool {
        !self.ended && !self.stalled
    }

    /// Slots it has reported, from 0, without a hole.
    pub fn slots_reported(&self) -> u64 {
        self.slots
            .keys()
            .enumerate()
            .take_while(|(i, k)| *i as u64 == **k)
            .count() as u64
    }

    /// Pages/sec over the latest interval between progress samples in which it worked.
    pub fn current_rate(&self) -> Option<f64> {
        let n = self.progress.len();
        let last = self.progress.last()?;
        let prev = n.checked_sub(2).map(|i| &self.progress[i]);
        let (t0, p0) = prev.map_or((0.0, 0), |p| (p.elapsed_s, p.pages));
        let dt = last.elapsed_s - t0;
        (dt > 0.0).then(|| last.pages.saturating_sub(p0) as f64 / dt)
    }

    /// How it ended, in one word and a detail. `interrupted`: the run was stopped by a
    /// signal (a worker still warming up then was not measured, rather than never ready).
    pub fn status(&self, interrupted: bool) -> (WorkerStatus, Option<String>) {
        let with_fatal = |detail: String| match &self.fatal {
            Some(f) => format!("{detail}: {f}"),
            None => detail,
        };
        if self.done.is_some() {
            return (WorkerStatus::Ok, None);
        }
        if self.stalled {
            return (
                WorkerStatus::Stalled,
                Some("stopped writing during the window".into()),
            );
        }
        match &self.exit {
            Some(e) if e.oom_killed => (
                WorkerStatus::OomKilled,
                Some("killed by the kernel: over its memory limit".into()),
            ),
            Some(e) if e.running && !self.ready && self.never_ready => (
                WorkerStatus::NeverReady,
                Some("it did not say it was ready in time".into()),
            ),
            Some(e) if e.running && !self.ready => (
                WorkerStatus::NotMeasured,
                Some(if interrupted {
                    "interrupted during its warm-up".into()
                } else {
                    "the run ended during its warm-up".into()
                }),
            ),
            Some(e) if e.running && self.started_unix_ns.is_none() => (
                WorkerStatus::NotMeasured,
                Some("the run ended before its window".into()),
            ),
            Some(e) if e.running => (
                WorkerStatus::NoResult,
                Some("still running at the deadline".into()),
            ),
            Some(Exit {
                error: Some(error), ..
            }) => (WorkerStatus::Lost, Some(with_fatal(error.clone()))),
            Some(Exit { code, .. }) => (
                WorkerStatus::Exited,
                Some(with_fatal(match code {
                    Some(137) => "killed (SIGKILL)".to_string(),
                    Some(c) if *c > 128 => format!("killed by signal {}", c - 128),
                    Some(c) => format!("exited with code {c} before its result"),
                    None => "exited before its result".to_string(),
                })),
            ),
            None => (
                WorkerStatus::Lost,
                Some(with_fatal("its engine cannot tell how it ended".into())),
            ),
        }
    }

    /// Its record for the report: `live` during the window (a worker still running, not
    /// given up, is measuring), or at the end (one without its result has failed).
    pub fn record(&self, interrupted: bool, live: bool) -> WorkerRecord {
        let (status, status_detail) = if live && self.done.is_none() && self.alive() {
            (WorkerStatus::Measuring, None)
        } else {
            self.status(interrupted)
        };
        let done = self.done.clone().unwrap_or_default();
        WorkerRecord {
            name: self.name.clone(),
            index: self.index,
            cpu: self.cpu,
            host: String::new(),
            clock_offset_ns: 0,
            status,
            status_detail,
            warmup_pages: self.warmup_pages,
            window_start_unix_ns: self.started_unix_ns,
            window_end_unix_ns: self.done.as_ref().map(|d| d.window_end_unix_ns),
            passes: done.passes,
            max_rss_bytes: done.max_rss_bytes,
            by_reason: done.by_reason,
            slots: self.slots.values().cloned().collect(),
            progress: self.progress.clone(),
            file_errors: self.file_errors.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn line(text: &str) -> Output {
        Output::Stdout(Bytes::from(text.to_string()))
    }

    #[test]
    fn events_build_the_record_and_other_lines_are_only_logged() {
        let mut w = WorkerState::new("w-1".into(), 1, 0);
        assert!(w.apply(&line("warning: something odd")).is_none());
        assert!(
            w.apply(&Output::Stderr(Bytes::from("{\"type\":\"ready\"}")))
                .is_none()
        );
        assert!(!w.ready, "stderr is never parsed");
        w.apply(&line(r#"{"type":"started","window_start_unix_ns":42}"#));
        w.apply(&line(r#"{"type":"progress","elapsed_s":1.0,"slot":0,"active_s":1.0,"cpu_s":0.9,"pages":100,"files":3,"errors":0,"skipped":0,"chars":5000}"#));
        w.apply(&line(r#"{"type":"progress","elapsed_s":2.0,"slot":1,"active_s":2.0,"cpu_s":1.8,"pages":250,"files":7,"errors":1,"skipped":0,"chars":9000}"#));
        w.apply(&line(r#"{"type":"slot","slot":0,"active":true,"start_unix_ns":1,"end_unix_ns":2,"pages":3,"files":0,"errors":0,"skipped":0,"chars":9,"cpu_ns":5,"spill_ns":0,"cpu":0,"ticks":null,"throttling":null}"#));
        w.apply(&line(r#"{"type":"slot","slot":2,"active":true,"start_unix_ns":1,"end_unix_ns":2,"pages":3,"files":0,"errors":0,"skipped":0,"chars":9,"cpu_ns":5,"spill_ns":0,"cpu":0,"ticks":null,"throttling":null}"#));
        assert_eq!(w.started_unix_ns, Some(42));
        assert_eq!(w.current_rate(), Some(150.0));
        assert_eq!(w.slots_reported(), 1, "slot 1 is missing");
        assert!(w.log.starts_with(b"warning: something odd\nstderr: "));

        // Died before `done`.
        w.exit = Some(Exit {
            oom_killed: true,
            ..Exit::default()
        });
        let r = w.record(false, false);
        assert_eq!(r.status, WorkerStatus::OomKilled);
        assert_eq!(r.slots.len(), 2);
        assert_eq!(r.progress.len(), 2);
    }

    #[test]
    fn how_a_worker_ended_in_one_word() {
        let mut w = WorkerState::new("w".into(), 1, 0);
        let running = Exit {
            running: true,
            ..Exit::default()
        };
        w.exit = Some(running.clone());
        assert_eq!(w.status(false).0, WorkerStatus::NotMeasured);
        w.never_ready = true;
        assert_eq!(w.status(false).0, WorkerStatus::NeverReady);
        w.never_ready = false;
        assert_eq!(
            w.status(true).1.as_deref(),
            Some("interrupted during its warm-up")
        );
        w.ready = true;
        assert_eq!(w.status(false).0, WorkerStatus::NotMeasured);
        w.started_unix_ns = Some(1);
        assert_eq!(w.status(false).0, WorkerStatus::NoResult);
        // During the window, the same worker is measuring; one that ended or was given
        // up has failed whenever it is looked at.
        assert_eq!(w.record(false, true).status, WorkerStatus::Measuring);
        assert!(!WorkerStatus::Measuring.failed());
        w.ended = true;
        assert_eq!(w.record(false, true).status, WorkerStatus::NoResult);
        w.ended = false;
        w.exit = Some(Exit {
            code: Some(137),
            ..Exit::default()
        });
        assert_eq!(
            w.status(false),
            (WorkerStatus::Exited, Some("killed (SIGKILL)".into()))
        );
        w.fatal = Some("no go".into());
        w.exit = Some(Exit {
            code: Some(1),
            ..Exit::default()
        });
        assert_eq!(
            w.status(false).1.as_deref(),
            Some("exited with code 1 before its result: no go")
        );
        w.exit = None;
        assert_eq!(w.status(false).0, WorkerStatus::Lost);
        w.stalled = true;
        assert_eq!(w.status(false).0, WorkerStatus::Stalled);
        w.done = Some(Done::default());
        assert_eq!(w.status(false).0, WorkerStatus::Ok);
    }
}
