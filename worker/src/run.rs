//! The measured loop: find the files, warm up, wait for the schedule, then extract every
//! page of every file, pass after pass, in the slots where this worker is active, reporting
//! as it goes.
//!
//! Honest counting: a page counts only when its text was extracted inside an active slot
//! (begun and finished between the slot's start and end); a file counts only when all of
//! its pages (up to `max_pages`) were; nothing extracted is kept between passes, so every
//! pass does the full work again. At a slot's end the worker pauses where it is (between
//! two pages of a file) and goes on from there at its next active slot; the page that was
//! in progress at the end is not counted, and neither is its file.

use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs;
use std::io::BufRead;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use clap::Args;
use serde::{Deserialize, Serialize};

use crate::control::{Control, Emitter, NoGo, wall_ns};
use crate::engine::{self, Limits};
use crate::protocol::{
    Counters, CpuTicks, Event, Go, PROTOCOL_VERSION, Phase, Reason, SlotRecord, Throttling,
};
use crate::{source, usage};

/// The worker's settings. Defined once here: the `worker` subcommand parses them from
/// flags, and the orchestrator hands them over as one JSON value (`--settings`).
#[derive(Args, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerArgs {
    /// Folder of PDFs, walked recursively (repeat the flag for several folders).
    #[arg(
        long = "data-dir",
        required_unless_present = "settings",
        value_name = "DIR"
    )]
    pub data_dirs: Vec<PathBuf>,
    /// Length of the measured window, in seconds (without --messages).
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    pub duration: f64,
    /// Measure exactly N passes over the files instead of a timed window (--duration is
    /// then ignored): a fixed amount of work, so that instruction counts of two builds
    /// can be compared (bench/instructions.sh).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    #[serde(default)]
    pub passes: Option<u64>,
    /// Seconds of unmeasured extraction before the window (or before reporting ready).
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub warmup: f64,
    /// This worker's index, echoed in its hello.
    #[arg(long)]
    pub id: Option<u32>,
    /// Take messages on stdin: after the warm-up, wait for the schedule (`go`) and end on
    /// `stop` (see the protocol). Without it the window starts right after the warm-up.
    #[arg(long)]
    #[serde(default)]
    pub messages: bool,
    /// Give up waiting for `go` after this many seconds.
    #[arg(long, default_value_t = 600.0, value_name = "S")]
    pub go_timeout: f64,
    /// Skip files larger than this (processing.max_file_size_mb).
    #[arg(long, value_name = "MB")]
    pub max_file_size_mb: Option<f64>,
    /// Abandon a file after this many seconds of extraction (processing.timeout_per_file).
    #[arg(long, value_name = "S")]
    pub timeout_per_file: Option<f64>,
    /// Skip files whose name ends with one of these (processing.skip_extensions).
    #[arg(long, value_delimiter = ',', value_name = "EXT,...")]
    pub skip_extensions: Vec<String>,
    /// Extract at most this many pages of each file (pdf.max_pages_to_extract).
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u32>,
    /// Skip files with more pages than this (pdf.skip_if_pages_over).
    #[arg(long, value_name = "N")]
    pub skip_if_pages_over: Option<u32>,
    /// Seconds between progress events (debug.progress_interval).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub progress_interval: f64,
    /// Pin this process to one CPU (sched_setaffinity) before anything else; containers
    /// are pinned by their cpuset instead.
    #[arg(long, value_name = "CPU")]
    pub pin_cpu: Option<usize>,
    /// Misbehave on purpose, so tests can check how the orchestrator copes.
    #[arg(long, value_enum, hide = true)]
    pub fault: Option<Fault>,
    /// Tests only: run this worker's wall clock this many ns ahead (a host whose clock is
    /// off).
    #[arg(long, hide = true, default_value_t = 0, allow_negative_numbers = true)]
    #[serde(default)]
    pub clock_skew_ns: i64,
}

/// `distributed-benchmark worker`: the settings as flags, or all of them as one JSON value.
#[derive(Args, Debug, Clone)]
pub struct WorkerCommand {
    #[command(flatten)]
    pub args: WorkerArgs,
    /// Every setting as one JSON object, as the orchestrator passes them (replaces the
    /// other flags).
    #[arg(long, value_name = "JSON", hide = true, conflicts_with = "data_dirs")]
    pub settings: Option<String>,
}

impl WorkerCommand {
    /// The settings to run with.
    pub fn resolve(self) -> Result<WorkerArgs, Fatal> {
        match self.settings {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| Fatal(format!("--settings is not a worker settings object: {e}"))),
            None => Ok(self.args),
        }
    }
}

impl WorkerArgs {
    /// The settings as the one argument the orchestrator passes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("worker settings always serialize")
    }
}

/// Ways a worker can be made to misbehave in tests (`--fault`, hidden from --help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Warm up, then never report ready.
    NeverReady,
    /// Start the window, then go silent without finishing.
    Stall,
}

/// Why the worker stopped before producing a `done` event.
#[derive(Debug)]
pub struct Fatal(pub String);

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// Runs the worker: events go to `out`, one line each, flushed as they are written;
/// messages are read from `input` when the settings ask for them. Returns the final `done`
/// event, which has also been written.
pub fn run(
    args: &WorkerArgs,
    out: Emitter,
    input: Option<Box<dyn BufRead + Send>>,
) -> Result<Event, Fatal> {
    let control = match input {
        Some(input) if args.messages => Control::listen(input, out.clone()),
        _ => Control::none(),
    };
    let result = run_inner(args, &out, &control);
    if let Err(Fatal(message)) = &result {
        out.emit(&Event::Fatal {
            message: message.clone(),
        });
    }
    result
}

fn run_inner(args: &WorkerArgs, out: &Emitter, control: &Control) -> Result<Event, Fatal> {
    crate::control::set_clock_skew(args.clock_skew_ns);
    if let Some(cpu) = args.pin_cpu {
        usage::pin_to_cpu(cpu).map_err(|e| Fatal(format!("cannot pin to CPU {cpu}: {e}")))?;
    }
    let catalog = discover(args)?;
    out.emit(&Event::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        worker_id: args.id,
        cpus_allowed: usage::cpus_allowed(),
        files_found: catalog.files.len() as u64,
        bytes_found: catalog.bytes,
        skipped_at_discovery: catalog.skipped.clone(),
    });
    for (path, reason, detail) in &catalog.skip_notes {
        out.emit(&Event::FileError {
            phase: Phase::Warmup,
            path: path.clone(),
            reason: *reason,
            detail: detail.clone(),
        });
    }
    if catalog.files.is_empty() {
        return Err(Fatal(format!(
            "no PDF file to extract under {} (files ending in .pdf, after skips)",
            join_paths(&args.data_dirs)
        )));
    }

    let mut passes = Passes::new(args, catalog.files);
    let readings = Readings::find();

    let warmup_start = Instant::now();
    let mut warmup = Window::default();
    if args.warmup > 0.0 {
        let go = Go::single_window(wall_ns(), secs(args.warmup).as_nanos() as u64);
        let mut timeline = Timeline::new(&go, Phase::Warmup, args, control, out, &readings);
        passes.measure(&mut timeline, &mut warmup);
    }
    if args.fault == Some(Fault::NeverReady) {
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
    out.emit(&Event::Ready {
        warmup_s: warmup_start.elapsed().as_secs_f64(),
        warmup: warmup.counters,
    });

    let go = if control.takes_messages() {
        control
            .wait_for_go(secs(args.go_timeout))
            .map_err(|why| match why {
                NoGo::Stopped => Fatal("stopped by the orchestrator before the start".into()),
                NoGo::Closed => Fatal("stdin closed before the schedule (go) came".into()),
                NoGo::TimedOut => Fatal(format!(
                    "no schedule (go) within {:.0} s of being ready",
                    args.go_timeout
                )),
            })?
    } else if args.passes.is_some() {
        // As long as the passes take.
        Go::single_window(wall_ns(), u64::MAX / 2)
    } else {
        Go::single_window(wall_ns(), secs(args.duration).as_nanos() as u64)
    };
    let mut timeline = Timeline::new(&go, Phase::Measure, args, control, out, &readings);
    let mut window = Window::default();
    timeline.wait_for_start();
    out.emit(&Event::Started {
        window_start_unix_ns: timeline.started_unix_ns,
    });
    if args.fault == Some(Fault::Stall) {
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
    passes.measure(&mut timeline, &mut window);

    let active_s = timeline.active_time.as_secs_f64();
    let c = window.counters;
    let done = Event::Done {
        counters: c,
        elapsed_s: active_s,
        pages_per_sec: if active_s > 0.0 {
            c.pages as f64 / active_s
        } else {
            0.0
        },
        cpu_s: timeline.active_cpu.as_secs_f64(),
        passes: window.passes,
        window_start_unix_ns: timeline.started_unix_ns,
        window_end_unix_ns: timeline.ended_unix_ns,
        by_reason: window.by_reason,
        max_rss_bytes: usage::max_rss_bytes(),
    };
    out.emit(&done);
    Ok(done)
}

/// What one phase (warm-up or window) produced.
#[derive(Debug, Default)]
struct Window {
    counters: Counters,
    by_reason: BTreeMap<String, u64>,
    passes: u64,
}

/// Where the readings of the kernel come from, found once.
struct Readings {
    cpu: Option<usize>,
    cpu_stat: Option<PathBuf>,
}

impl Readings {
    fn find() -> Readings {
        Readings {
            cpu: usage::pinned_cpu(),
            cpu_stat: usage::cpu_stat_path(),
        }
    }
}

/// The state at one instant, to take differences of.
#[derive(Clone, Copy)]
struct Snapshot {
    counters: Counters,
    cpu: Duration,
    ticks: Option<CpuTicks>,
    throttling: Option<Throttling>,
}

/// What the timeline says about the page that just finished.
struct PageFlow {
    /// It finished inside an active slot and was counted.
    counted: bool,
    /// The worker paused (between slots) this long before going on.
    paused: Duration,
    /// The window is over: stop extracting.
    stop: bool,
}

/// The schedule of one phase as it unfolds: which slot is current, when it ends, what has
/// been measured in it, when progress is due. Measurement code asks it after every page
/// and between files; it pauses the worker across the slots it is not active in.
struct Timeline<'a> {
    go: Go,
    phase: Phase,
    control: &'a Control,
    out: &'a Emitter,
    readings: &'a Readings,
    /// Slot 0's start on the monotonic clock.
    t0: Instant,
    slot_len: Duration,
    stride: Duration,
    /// The current slot, its bounds, and the state when it began.
    k: u64,
    start: Instant,
    start_unix_ns: i64,
    end: Instant,
    at_start: Snapshot,
    /// No slot is current: the window is over.
    over: bool,
    /// Over the active slots so far.
    active_time: Duration,
    active_cpu: Duration,
    next_tick: Instant,
    interval: Duration,
    started_unix_ns: i64,
    ended_unix_ns: i64,
}

impl<'a> Timeline<'a> {
    fn new(
        go: &Go,
        phase: Phase,
        args: &WorkerArgs,
        control: &'a Control,
        out: &'a Emitter,
        readings: &'a Readings,
    ) -> Timeline<'a> {
        // The wall-clock start, on this process's monotonic clock.
        let now = Instant::now();
        let ahead_ns = go.start_at_unix_ns.saturating_sub(wall_ns());
        let t0 = now + Duration::from_nanos(ahead_ns.max(0) as u64);
        let slot_len = Duration::from_nanos(go.slot_ns);
        Timeline {
            go: go.clone(),
            phase,
            control,
            out,
            readings,
            t0,
            slot_len,
            stride: slot_len + Duration::from_nanos(go.gap_ns),
            k: 0,
            start: t0,
            start_unix_ns: 0,
            end: t0,
            at_start: Snapshot {
                counters: Counters::default(),
                cpu: Duration::ZERO,
                ticks: None,
                throttling: None,
            },
            over: false,
            active_time: Duration::ZERO,
            active_cpu: Duration::ZERO,
            next_tick: t0,
            interval: secs(args.progress_interval.max(0.05)),
            started_unix_ns: 0,
            ended_unix_ns: 0,
        }
    }

    /// Sleeps until the window opens (slot 0), and notes when it really did.
    fn wait_for_start(&mut self) {
        sleep_until(self.t0);
        self.started_unix_ns = wall_ns();
    }

    fn measured(&self) -> bool {
        self.phase == Phase::Measure
    }

    /// The last slot of the schedule, counting a stop that named one.
    fn last_slot(&self) -> Option<u64> {
        let planned = self.go.slots.map(|n| n.saturating_sub(1));
        match (planned, self.control.stop_after()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn snapshot(&self, counters: &Counters) -> Snapshot {
        let measured = self.measured();
        Snapshot {
            counters: *counters,
            cpu: usage::thread_cpu(),
            ticks: self
                .readings
                .cpu
                .filter(|_| measured)
                .and_then(usage::cpu_ticks),
            throttling: self
                .readings
                .cpu_stat
                .as_deref()
                .filter(|_| measured)
                .and_then(usage::throttling),
        }
    }

    /// Moves to the first active slot from slot `k` on, sleeping through the others (and
    /// reporting them); false when the schedule ends first. Returns how long it paused.
    fn enter_active_slot(&mut self, counters: &Counters) -> (bool, Duration) {
        let paused_from = Instant::now();
        loop {
            if self.control.stop_now() || self.last_slot().is_some_and(|last| self.k > last) {
                self.over = true;
                self.ended_unix_ns = wall_ns();
                return (false, paused_from.elapsed());
            }
            let Some(start) = u32::try_from(self.k)
                .ok()
                .and_then(|k| self.stride.checked_mul(k))
                .map(|offset| self.t0 + offset)
            else {
                // Past 4 billion slots: the schedule is over in any practical sense.
                self.over = true;
                return (false, paused_from.elapsed());
            };
            self.sleep_reporting(start, counters);
            if self.control.stop_now() {
                continue;
            }
            self.start = Instant::now().max(start);
            self.start_unix_ns = wall_ns();
            self.end = start + self.slot_len;
            self.at_start = self.snapshot(counters);
            if self.go.active(self.k) {
                if self.next_tick <= self.start {
                    self.next_tick = self.start + self.interval;
                }
                return (true, paused_from.elapsed());
            }
            // Not ours: sleep it out, then report it.
            self.sleep_reporting(self.end, counters);
            self.close_slot(counters, Duration::ZERO, false);
            self.k += 1;
        }
    }

    /// Sleeps until `until` (or a stop), emitting progress as usual so the orchestrator
    /// knows this worker is alive.
    fn sleep_reporting(&mut self, until: Instant, counters: &Counters) {
        loop {
            let now = Instant::now();
            if now >= until || self.control.stop_now() {
                return;
            }
            if self.measured() && now >= self.next_tick {
                self.progress(now, counters, None);
            }
            let wake = until.min(self.next_tick.max(now + Duration::from_millis(1)));
            if wake >= until {
                sleep_until(until);
            } else {
                thread::sleep(wake - now);
            }
        }
    }

    /// Ends the current slot, `spill` after its nominal end, and reports it.
    fn close_slot(&mut self, counters: &Counters, spill: Duration, active: bool) {
        let now = self.snapshot(counters);
        let cpu = now.cpu.saturating_sub(self.at_start.cpu);
        if active {
            self.active_time += self.end.saturating_duration_since(self.start);
            self.active_cpu += cpu;
        }
        let nominal_end_unix_ns =
            self.start_unix_ns + self.end.saturating_duration_since(self.start).as_nanos() as i64;
        self.ended_unix_ns = nominal_end_unix_ns;
        if !self.measured() {
            return;
        }
        self.out.emit(&Event::Slot(SlotRecord {
            slot: self.k,
            active,
            start_unix_ns: self.start_unix_ns,
            end_unix_ns: nominal_end_unix_ns,
            counters: counters.since(&self.at_start.counters),
            cpu_ns: cpu.as_nanos() as u64,
            spill_ns: spill.as_nanos() as u64,
            cpu: self.readings.cpu,
            ticks: now.ticks.zip(self.at_start.ticks).map(|(b, a)| b.since(&a)),
            throttling: now
                .throttling
                .zip(self.at_start.throttling)
                .map(|(b, a)| b.since(&a)),
        }));
    }

    /// Ends the current active slot early (a stop), at `now`.
    fn stop_here(&mut self, counters: &Counters, now: Instant) {
        self.end = now.min(self.end);
        self.close_slot(counters, Duration::ZERO, true);
        self.over = true;
        self.ended_unix_ns = wall_ns();
    }

    fn progress(&mut self, now: Instant, counters: &Counters, in_slot: Option<Instant>) {
        let (active, cpu) = match in_slot {
            Some(start) => (
                self.active_time + now.saturating_duration_since(start),
                self.active_cpu + usage::thread_cpu().saturating_sub(self.at_start.cpu),
            ),
            None => (self.active_time, self.active_cpu),
        };
        self.out.emit(&Event::Progress {
            elapsed_s: now.saturating_duration_since(self.t0).as_secs_f64(),
            slot: self.k,
            active_s: active.as_secs_f64(),
            cpu_s: cpu.as_secs_f64(),
            counters: *counters,
        });
        self.next_tick += self.interval;
        if self.next_tick <= now {
            self.next_tick = now + self.interval;
        }
    }

    /// Between two files: is there still time in the slot? When it is over, the worker
    /// moves to its next active slot (pausing meanwhile) or the window ends.
    fn between_files(&mut self, counters: &Counters) -> ControlFlow<()> {
        self.checkpoint(counters)
            .map_or(ControlFlow::Break(()), |_| ControlFlow::Continue(()))
    }

    /// A page just finished: counts it when it finished inside the slot.
    fn page(&mut self, counters: &mut Counters, chars: u64) -> PageFlow {
        let now = Instant::now();
        let counted = now < self.end && !self.over;
        if counted {
            counters.pages += 1;
            counters.chars += chars;
        }
        match self.checkpoint(counters) {
            Some(paused) => PageFlow {
                counted,
                paused,
                stop: false,
            },
            None => PageFlow {
                counted,
                paused: Duration::ZERO,
                stop: true,
            },
        }
    }

    /// Where the slot stands now. `Some(paused)` to go on (after pausing that long);
    /// `None` when the window is over.
    fn checkpoint(&mut self, counters: &Counters) -> Option<Duration> {
        if self.over {
            return None;
        }
        let now = Instant::now();
        if self.control.stop_now() {
            self.stop_here(counters, now);
            return None;
        }
        if now < self.end {
            if self.measured() && now >= self.next_tick {
                self.progress(now, counters, Some(self.start));
            }
            return Some(Duration::ZERO);
        }
        // Whatever the worker was doing when the slot ended (a page, or opening a file,
        // which has no page boundary) ran this far past it.
        self.close_slot(counters, now - self.end, true);
        self.k += 1;
        match self.enter_active_slot(counters) {
            (true, paused) => Some(paused),
            (false, _) => None,
        }
    }
}

/// Extracts files in passes, with the buffers and the first-failure memory reused.
struct Passes {
    files: Vec<PathBuf>,
    /// The engine, with its scratch buffers kept from one file to the next.
    engine: engine::Extractor,
    limits: Limits,
    timeout_per_file: Option<Duration>,
    buf: Vec<u8>,
    /// Files whose failure has already been reported (each is reported once per phase).
    reported: HashSet<(usize, Phase)>,
    /// `--passes`: the measured phase ends after this many passes.
    passes: Option<u64>,
    /// The engine's checks of each file's bytes before parsing (compression bombs,
    /// hostile nesting), made once when the files are found, not in every pass;
    /// `None` for a file that could not be read then.
    verdicts: Vec<Option<engine::Verdict>>,
}

impl Passes {
    fn new(args: &WorkerArgs, files: Vec<PathBuf>) -> Self {
        let mut buf = Vec::new();
        let verdicts = files
            .iter()
            .map(|path| {
                let bytes = source::load(path, &mut buf).ok()?;
                Some(engine::Verdict::of(&bytes))
            })
            .collect();
        Passes {
            files,
            engine: engine::Extractor::default(),
            limits: Limits {
                max_pages: args.max_pages,
                skip_if_pages_over: args.skip_if_pages_over,
                deadline: Cell::new(None),
            },
            timeout_per_file: args.timeout_per_file.map(secs),
            buf: Vec::new(),
            reported: HashSet::new(),
            passes: args.passes,
            verdicts,
        }
    }

    /// Extracts pass after pass, in the timeline's active slots, until it is over.
    fn measure(&mut self, timeline: &mut Timeline, w: &mut Window) {
        if !timeline.enter_active_slot(&w.counters).0 {
            return;
        }
        'passes: loop {
            for index in 0..self.files.len() {
                if timeline.between_files(&w.counters).is_break()
                    || self.extract_one(index, timeline, w).is_break()
                {
                    break 'passes;
                }
            }
            w.passes += 1;
            if timeline.measured() && self.passes.is_some_and(|n| w.passes >= n) {
                timeline.stop_here(&w.counters, Instant::now());
                break;
            }
        }
    }

    /// Extracts file `index` into `w`; breaks when the window ended during it (the file
    /// then does not count, its pages counted before that instant do).
    fn extract_one(
        &mut self,
        index: usize,
        timeline: &mut Timeline,
        w: &mut Window,
    ) -> ControlFlow<()> {
        let phase = timeline.phase;
        let path = &self.files[index];
        self.limits
            .deadline
            .set(self.timeout_per_file.map(|t| Instant::now() + t));
        let deadline = &self.limits.deadline;
        let mut stopped = false;
        // A page finished past its slot's end is not counted, and so neither is its file.
        let mut lost_a_page = false;

        let result = match source::load(path, &mut self.buf) {
            Ok(bytes) => {
                let counters = &mut w.counters;
                let mut on_page = |_page: u32, text: &str| {
                    let flow = timeline.page(counters, text.chars().count() as u64);
                    lost_a_page |= !flow.counted;
                    if !flow.paused.is_zero() {
                        // The time limit is for extracting, not for waiting between slots.
                        deadline.set(deadline.get().map(|d| d + flow.paused));
                    }
                    if flow.stop {
                        stopped = true;
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                };
                let verdict = self.verdicts[index].as_ref();
                self.engine
                    .extract_vetted(&bytes, verdict, &self.limits, &mut on_page)
            }
            Err(err) => Err(engine::ExtractError {
                reason: Reason::Io,
                detail: err.to_string(),
            }),
        };
        if stopped {
            return ControlFlow::Break(());
        }

        match result {
            Ok(outcome) if outcome.complete && !lost_a_page => w.counters.files += 1,
            Ok(_) => {} // cut by a slot's end: the file does not count
            Err(err) => {
                if timeline.over && err.reason == Reason::Timeout {
                    // The per-file deadline fell after the window closed: not a failure
                    // of the file, just the end of the run.
                    return ControlFlow::Break(());
                }
                if err.reason.is_skip() {
                    w.counters.skipped += 1;
                } else {
                    w.counters.errors += 1;
                }
                *w.by_reason
                    .entry(err.reason.label().to_string())
                    .or_default() += 1;
                if self.reported.insert((index, phase)) {
                    timeline.out.emit(&Event::FileError {
                        phase,
                        path: display_path(&self.files[index]),
                        reason: err.reason,
                        detail: err.detail,
                    });
                }
            }
        }
        ControlFlow::Continue(())
    }
}

/// The files to extract, found once before warm-up.
#[derive(Debug, Default)]
pub struct Catalog {
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    pub skipped: BTreeMap<String, u64>,
    pub skip_notes: Vec<(String, Reason, String)>,
}

/// Walks the data folders (recursively, following symlinks but never the same folder
/// twice) and keeps files named `*.pdf`, minus those skipped by extension or size.
/// Sorted, so every worker walks the corpus in the same order.
pub fn discover(args: &WorkerArgs) -> Result<Catalog, Fatal> {
    let mut found = Vec::new();
    let mut seen_dirs = HashSet::new();
    for dir in &args.data_dirs {
        let meta = fs::metadata(dir)
            .map_err(|e| Fatal(format!("cannot read data folder {}: {e}", dir.display())))?;
        if meta.is_file() {
            found.push((dir.clone(), meta.len()));
        } else {
            walk(dir, &mut seen_dirs, &mut found, 0);
        }
    }
    found.sort();
    found.dedup();

    let max_bytes = args
        .max_file_size_mb
        .map(|mb| (mb * 1024.0 * 1024.0) as u64);
    let mut catalog = Catalog::default();
    for (path, len) in found {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let skip = if let Some(ext) = args
            .skip_extensions
            .iter()
            .find(|ext| !ext.is_empty() && name.ends_with(&ext.to_lowercase()))
        {
            Some((Reason::SkippedExtension, format!("name ends with {ext}")))
        } else if max_bytes.is_some_and(|max| len > max) {
            Some((
                Reason::TooLarge,
                format!(
                    "{len} bytes is over processing.max_file_size_mb ({} MB)",
                    args.max_file_size_mb.unwrap_or_default()
                ),
            ))
        } else {
            None
        };
        match skip {
            Some((reason, detail)) => {
                *catalog
                    .skipped
                    .entry(reason.label().to_string())
                    .or_default() += 1;
                catalog
                    .skip_notes
                    .push((display_path(&path), reason, detail));
            }
            None => {
                catalog.bytes += len;
                catalog.files.push(path);
            }
        }
    }
    Ok(catalog)
}

/// Symlinked folders are followed, but a folder already seen (by device and inode) is not
/// entered again, so a symlink loop ends. Unreadable entries are left out here and the
/// run goes on; a file that cannot be opened later is counted as an `io` error.
fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>, found: &mut Vec<(PathBuf, u64)>, depth: usize) {
    use std::os::unix::fs::MetadataExt;
    const MAX_DEPTH: usize = 64;
    let Ok(meta) = fs::metadata(dir) else { return };
    if depth > MAX_DEPTH || !seen.insert((meta.dev(), meta.ino())) {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, seen, found, depth + 1);
        } else if meta.is_file() && is_pdf_name(&path) {
            found.push((path, meta.len()));
        }
    }
}

fn is_pdf_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("pdf"))
}

/// Sleeps until `at`, finishing with a short spin so a slot opens within microseconds of
/// its target rather than within a scheduler tick.
fn sleep_until(at: Instant) {
    const SPIN: Duration = Duration::from_millis(2);
    let now = Instant::now();
    if at > now + SPIN {
        thread::sleep(at - now - SPIN);
    }
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(if s.is_finite() { s.max(0.0) } else { 0.0 })
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Message;
    use clap::Parser;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        command: WorkerCommand,
    }

    /// Output the test can read while the worker writes it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn events(&self) -> Vec<Event> {
            let bytes = self.0.lock().unwrap().clone();
            bytes
                .split(|b| *b == b'\n')
                .filter_map(Event::parse)
                .collect()
        }
        fn emitter(&self) -> Emitter {
            Emitter::new(Box::new(self.clone()))
        }
    }

    fn settings() -> WorkerArgs {
        WorkerArgs {
            data_dirs: vec!["/data/0".into(), "/data/1".into()],
            duration: 2.5,
            passes: Some(4),
            warmup: 1.0,
            id: Some(3),
            messages: true,
            go_timeout: 30.0,
            max_file_size_mb: Some(50.0),
            timeout_per_file: Some(5.0),
            skip_extensions: vec![".tmp.pdf".into(), ".bak.pdf".into()],
            max_pages: Some(15),
            skip_if_pages_over: Some(500),
            progress_interval: 0.5,
            pin_cpu: Some(1),
            fault: Some(Fault::Stall),
            clock_skew_ns: -5,
        }
    }

    #[test]
    fn settings_travel_as_one_json_value_or_as_flags() {
        let args = settings();
        let json = args.to_json();
        let cli = Cli::parse_from(["worker", "--settings", &json]);
        assert_eq!(cli.command.resolve().unwrap(), args);

        let cli = Cli::parse_from(["worker", "--data-dir", "/d", "--duration", "3"]);
        let args = cli.command.resolve().unwrap();
        assert_eq!(
            (args.data_dirs, args.duration),
            (vec![PathBuf::from("/d")], 3.0)
        );

        let cli = Cli::parse_from(["worker", "--settings", "{\"data_dirs\": 5}"]);
        let err = cli.command.resolve().unwrap_err();
        assert!(err.0.contains("--settings"), "{err}");
        assert!(
            Cli::try_parse_from(["worker"]).is_err(),
            "a data folder is required"
        );
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dbw-run-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn args_for(dir: &Path) -> WorkerArgs {
        WorkerArgs {
            data_dirs: vec![dir.to_path_buf()],
            duration: 0.2,
            passes: None,
            warmup: 0.0,
            id: None,
            messages: false,
            go_timeout: 5.0,
            max_file_size_mb: None,
            timeout_per_file: None,
            skip_extensions: vec![],
            max_pages: None,
            skip_if_pages_over: None,
            progress_interval: 0.05,
            pin_cpu: None,
            fault: None,
            clock_skew_ns: 0,
        }
    }

    #[test]
    fn discovery_keeps_pdfs_applies_skips_and_survives_symlink_loops() {
        let dir = temp_dir("discover");
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.pdf"), b"%PDF-1.4").unwrap();
        fs::write(dir.join("sub/B.PDF"), b"%PDF-1.4").unwrap();
        fs::write(dir.join("notes.txt"), b"text").unwrap();
        fs::write(dir.join("old.bak.pdf"), b"%PDF-1.4").unwrap();
        fs::write(dir.join("big.pdf"), vec![b' '; 2 * 1024 * 1024]).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("sub/loop")).unwrap();

        let mut args = args_for(&dir);
        args.skip_extensions = vec![".bak.pdf".into()];
        args.max_file_size_mb = Some(1.0);
        let catalog = discover(&args).unwrap();
        let names: Vec<_> = catalog
            .files
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["a.pdf", "sub/B.PDF"]);
        assert_eq!(catalog.skipped.get("skipped_extension"), Some(&1));
        assert_eq!(catalog.skipped.get("too_large"), Some(&1));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_without_pdfs_is_fatal_with_its_name() {
        let dir = temp_dir("empty");
        fs::write(dir.join("readme.txt"), b"no pdf here").unwrap();
        let out = Captured::default();
        let err = run(&args_for(&dir), out.emitter(), None).unwrap_err();
        assert!(err.0.contains("no PDF file"), "{}", err.0);
        assert!(err.0.contains(&dir.display().to_string()), "{}", err.0);
        assert!(
            matches!(out.events().last(), Some(Event::Fatal { .. })),
            "{:?}",
            out.events()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn broken_files_are_counted_by_reason_and_reported_once() {
        let dir = temp_dir("broken");
        fs::write(dir.join("garbage.pdf"), b"this is not a pdf at all").unwrap();
        let out = Captured::default();
        let done = run(&args_for(&dir), out.emitter(), None).unwrap();
        let Event::Done {
            counters: Counters { pages, errors, .. },
            passes,
            by_reason,
            ..
        } = done
        else {
            panic!("not a done event")
        };
        assert_eq!(pages, 0);
        assert!(passes > 1, "the file list is walked again and again");
        assert!(
            errors == passes || errors == passes + 1,
            "one error per pass"
        );
        assert_eq!(by_reason.values().sum::<u64>(), errors);
        let reports = out
            .events()
            .iter()
            .filter(|e| matches!(e, Event::FileError { .. }))
            .count();
        assert_eq!(reports, 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A PDF of `pages` pages sharing one content stream that shows "Hello".
    fn many_pages(pages: i32) -> Vec<u8> {
        use pdf_writer::{Finish, Name, Pdf, Rect, Ref};
        let (catalog, tree, font, content) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        let ids: Vec<Ref> = (0..pages).map(|i| Ref::new(10 + i)).collect();
        pdf.pages(tree).kids(ids.iter().copied()).count(pages);
        for &id in &ids {
            let mut page = pdf.page(id);
            page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0))
                .parent(tree)
                .contents(content);
            page.resources().fonts().pair(Name(b"F1"), font);
            page.finish();
        }
        pdf.type1_font(font).base_font(Name(b"Helvetica"));
        pdf.stream(content, b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET");
        pdf.finish()
    }

    /// A worker that takes messages, fed from a pipe the test writes to.
    struct Driven {
        tx: std::io::PipeWriter,
        out: Captured,
        worker: thread::JoinHandle<Result<Event, Fatal>>,
    }

    fn drive(args: WorkerArgs) -> Driven {
        let (rx, tx) = std::io::pipe().unwrap();
        let out = Captured::default();
        let emitter = out.emitter();
        let worker = thread::spawn(move || {
            run(
                &WorkerArgs {
                    messages: true,
                    ..args
                },
                emitter,
                Some(Box::new(std::io::BufReader::new(rx))),
            )
        });
        Driven { tx, out, worker }
    }

    impl Driven {
        fn send(&mut self, m: &Message) {
            self.tx.write_all(m.to_line().as_bytes()).unwrap();
        }
        fn wait_for(&self, what: impl Fn(&Event) -> bool) {
            let give_up = Instant::now() + Duration::from_secs(20);
            while !self.out.events().iter().any(&what) {
                assert!(Instant::now() < give_up, "{:?}", self.out.events());
                thread::sleep(Duration::from_millis(5));
            }
        }
    }

    impl Captured {
        fn slots(&self) -> Vec<SlotRecord> {
            self.events()
                .into_iter()
                .filter_map(|e| match e {
                    Event::Slot(s) => Some(s),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn the_schedule_runs_in_active_slots_only_and_sleeps_in_the_others() {
        let dir = temp_dir("slots");
        fs::write(dir.join("long.pdf"), many_pages(300)).unwrap();
        let mut w = drive(args_for(&dir));
        w.send(&Message::Ping { id: 1 });
        w.wait_for(|e| matches!(e, Event::Ready { .. }));
        let start = wall_ns() + 20_000_000;
        w.send(&Message::Go(Go {
            start_at_unix_ns: start,
            slot_ns: 300_000_000,
            gap_ns: 10_000_000,
            pattern: vec![true, false],
            slots: Some(4),
        }));
        let done = w.worker.join().unwrap().unwrap();
        let slots = w.out.slots();
        assert_eq!(
            slots.iter().map(|s| s.slot).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(
            slots.iter().map(|s| s.active).collect::<Vec<_>>(),
            [true, false, true, false]
        );
        for (i, s) in slots.iter().enumerate() {
            // On time, unless the previous slot's last page (or the opening of a file,
            // which has no page boundary) ran past its end: that spill is reported.
            let expected = start + s.slot as i64 * 310_000_000;
            let late_by_spill = i
                .checked_sub(1)
                .map_or(0, |p| slots[p].spill_ns as i64 - 10_000_000)
                .max(0);
            let off = s.start_unix_ns - expected;
            assert!(
                off > -2_000_000 && off < 20_000_000 + late_by_spill,
                "slot {} began {off} ns off",
                s.slot,
            );
            if s.active {
                assert!(s.counters.pages > 0, "{s:?}");
                assert!(s.cpu_ns > 50_000_000, "the extracting thread ran: {s:?}");
            } else {
                assert_eq!(s.counters.pages, 0, "{s:?}");
                assert!(s.cpu_ns < 20_000_000, "asleep: {s:?}");
            }
        }
        let Event::Done {
            counters: Counters { pages, .. },
            elapsed_s,
            cpu_s,
            ..
        } = done
        else {
            panic!()
        };
        assert_eq!(pages, slots.iter().map(|s| s.counters.pages).sum::<u64>());
        assert!(
            (elapsed_s - 0.6).abs() < 0.02,
            "two active slots: {elapsed_s}"
        );
        assert!(cpu_s > 0.0 && cpu_s <= elapsed_s + 0.05, "{cpu_s}");
        assert!(
            w.out
                .events()
                .iter()
                .any(|e| matches!(e, Event::Pong { id: 1, .. }))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn passes_run_a_fixed_amount_of_work() {
        let dir = temp_dir("passes");
        fs::write(dir.join("one.pdf"), many_pages(3)).unwrap();
        fs::write(dir.join("garbage.pdf"), b"not a pdf").unwrap();
        let mut args = args_for(&dir);
        args.passes = Some(3);
        args.duration = 0.0; // ignored with --passes
        let Event::Done {
            counters:
                Counters {
                    pages,
                    files,
                    errors,
                    ..
                },
            passes,
            ..
        } = run(&args, Captured::default().emitter(), None).unwrap()
        else {
            panic!("not a done event")
        };
        assert_eq!((passes, pages, files, errors), (3, 9, 3, 3));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stop_naming_a_slot_ends_the_window_there() {
        let dir = temp_dir("stop-after");
        fs::write(dir.join("long.pdf"), many_pages(2_000)).unwrap();
        let mut w = drive(args_for(&dir));
        w.wait_for(|e| matches!(e, Event::Ready { .. }));
        w.send(&Message::Go(Go {
            start_at_unix_ns: wall_ns(),
            slot_ns: 100_000_000,
            gap_ns: 0,
            pattern: vec![true],
            slots: None,
        }));
        w.send(&Message::Stop {
            after_slot: Some(2),
        });
        w.worker.join().unwrap().unwrap();
        assert_eq!(w.out.slots().len(), 3);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stop_now_ends_the_window_within_a_file() {
        // One long file: the stop must be seen between its pages, not only between files.
        let dir = temp_dir("stop-within");
        fs::write(dir.join("long.pdf"), many_pages(20_000)).unwrap();
        let mut w = drive(args_for(&dir));
        w.wait_for(|e| matches!(e, Event::Ready { .. }));
        w.send(&Message::Go(Go::single_window(wall_ns(), 30_000_000_000)));
        w.wait_for(|e| matches!(e, Event::Progress { counters, .. } if counters.pages > 0));
        w.send(&Message::Stop { after_slot: None });
        let Event::Done {
            counters: Counters { pages, files, .. },
            elapsed_s,
            ..
        } = w.worker.join().unwrap().unwrap()
        else {
            panic!()
        };
        // Far short of the 30 s window, whatever the machine.
        assert!(elapsed_s < 10.0, "{elapsed_s}");
        assert!(pages > 0);
        assert_eq!(files, 0, "the file cut short does not count");
        assert_eq!(w.out.slots().len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn waiting_for_go_gives_up_on_stop_and_on_a_closed_stdin() {
        let dir = temp_dir("nogo");
        fs::write(dir.join("garbage.pdf"), b"x").unwrap();
        let mut w = drive(args_for(&dir));
        w.wait_for(|e| matches!(e, Event::Ready { .. }));
        w.send(&Message::Stop { after_slot: None });
        let err = w.worker.join().unwrap().unwrap_err();
        assert!(err.0.contains("stopped"), "{err}");

        let w = drive(args_for(&dir));
        w.wait_for(|e| matches!(e, Event::Ready { .. }));
        drop(w.tx);
        let err = w.worker.join().unwrap().unwrap_err();
        assert!(err.0.contains("stdin closed"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn without_messages_the_window_starts_after_the_warm_up() {
        let dir = temp_dir("plain");
        fs::write(dir.join("long.pdf"), many_pages(200)).unwrap();
        let out = Captured::default();
        let mut args = args_for(&dir);
        args.warmup = 0.1;
        let done = run(&args, out.emitter(), None).unwrap();
        let events = out.events();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                Event::Hello { .. } => "hello",
                Event::Ready { .. } => "ready",
                Event::Started { .. } => "started",
                Event::Slot(_) => "slot",
                Event::Done { .. } => "done",
                _ => "other",
            })
            .filter(|k| *k != "other")
            .collect();
        assert_eq!(kinds, ["hello", "ready", "started", "slot", "done"]);
        let Event::Done {
            counters: Counters { pages, .. },
            elapsed_s,
            ..
        } = done
        else {
            panic!()
        };
        assert!(
            pages > 0 && (elapsed_s - 0.2).abs() < 0.05,
            "{pages} {elapsed_s}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
