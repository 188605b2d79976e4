//! The measured loop: find the files, warm up, wait at the barrier, then extract every page
//! of every file, pass after pass, until the window closes, reporting as it goes.
//!
//! Honest counting: a page counts only when its text was extracted before the window
//! closed; a file counts only when all of its pages (up to `max_pages`) were; nothing
//! extracted is kept between passes, so every pass does the full work again.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;

use crate::engine::{self, Limits};
use crate::protocol::barrier::{self, Go};
use crate::protocol::{Counters, Event, PROTOCOL_VERSION, Phase, Reason};
use crate::source;

/// The worker's settings. Defined once here: the `worker` subcommand parses them, and the
/// orchestrator turns them back into a container command line with [`WorkerArgs::to_args`].
#[derive(Args, Debug, Clone, PartialEq)]
pub struct WorkerArgs {
    /// Folder of PDFs, walked recursively (repeat the flag for several folders).
    #[arg(long = "data-dir", required = true, value_name = "DIR")]
    pub data_dirs: Vec<PathBuf>,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    pub duration: f64,
    /// Measure exactly N passes over the files instead of a timed window (--duration is
    /// then ignored): a fixed amount of work, so that instruction counts of two builds
    /// can be compared (bench/instructions.sh).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub passes: Option<u64>,
    /// Seconds of unmeasured extraction before the window (or before reporting ready).
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub warmup: f64,
    /// Barrier folder: write ready-<id> after warm-up, then wait for the go file.
    #[arg(long, value_name = "DIR", requires = "id")]
    pub barrier: Option<PathBuf>,
    /// This worker's index (names its ready file).
    #[arg(long)]
    pub id: Option<u32>,
    /// Give up waiting for the go file after this many seconds.
    #[arg(long, default_value_t = 600.0, value_name = "S")]
    pub go_timeout: f64,
    /// Skip files larger than this (processing.max_file_size_mb).
    #[arg(long, value_name = "MB")]
    pub max_file_size_mb: Option<f64>,
    /// Abandon a file after this many seconds (processing.timeout_per_file).
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
}

/// Ways a worker can be made to misbehave in tests (`--fault`, hidden from --help).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// Warm up, then never report ready.
    NeverReady,
    /// Start the window, then go silent without finishing.
    Stall,
}

impl WorkerArgs {
    /// The command-line arguments that parse back into `self` (after the subcommand name).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut push = |flag: &str, value: String| {
            args.push(flag.to_string());
            args.push(value);
        };
        for dir in &self.data_dirs {
            push("--data-dir", dir.display().to_string());
        }
        push("--duration", self.duration.to_string());
        if let Some(n) = self.passes {
            push("--passes", n.to_string());
        }
        push("--warmup", self.warmup.to_string());
        if let Some(dir) = &self.barrier {
            push("--barrier", dir.display().to_string());
        }
        if let Some(id) = self.id {
            push("--id", id.to_string());
        }
        push("--go-timeout", self.go_timeout.to_string());
        if let Some(mb) = self.max_file_size_mb {
            push("--max-file-size-mb", mb.to_string());
        }
        if let Some(s) = self.timeout_per_file {
            push("--timeout-per-file", s.to_string());
        }
        if !self.skip_extensions.is_empty() {
            push("--skip-extensions", self.skip_extensions.join(","));
        }
        if let Some(n) = self.max_pages {
            push("--max-pages", n.to_string());
        }
        if let Some(n) = self.skip_if_pages_over {
            push("--skip-if-pages-over", n.to_string());
        }
        push("--progress-interval", self.progress_interval.to_string());
        if let Some(cpu) = self.pin_cpu {
            push("--pin-cpu", cpu.to_string());
        }
        if let Some(fault) = self.fault {
            let name = match fault {
                Fault::NeverReady => "never-ready",
                Fault::Stall => "stall",
            };
            push("--fault", name.to_string());
        }
        args
    }
}

/// Why the worker stopped before producing a `done` event.
#[derive(Debug)]
pub struct Fatal(pub String);

/// Runs the worker: events go to `out`, one line each, flushed as they are written.
/// Returns the final `done` event, which has also been written.
pub fn run(args: &WorkerArgs, out: &mut dyn Write) -> Result<Event, Fatal> {
    let mut out = Emitter { out };
    let result = run_inner(args, &mut out);
    if let Err(Fatal(message)) = &result {
        out.emit(&Event::Fatal {
            message: message.clone(),
        });
    }
    result
}

fn run_inner(args: &WorkerArgs, out: &mut Emitter) -> Result<Event, Fatal> {
    if let Some(cpu) = args.pin_cpu {
        pin_to_cpu(cpu).map_err(|e| Fatal(format!("cannot pin to CPU {cpu}: {e}")))?;
    }
    let catalog = discover(args)?;
    out.emit(&Event::Hello {
        protocol: PROTOCOL_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        worker_id: args.id,
        cpus_allowed: cpus_allowed(),
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

    let mut extractor = Passes::new(args, catalog.files);

    let warmup_start = Instant::now();
    let warmup = if args.warmup > 0.0 {
        extractor.measure(
            Phase::Warmup,
            warmup_start,
            secs(args.warmup),
            out,
            &mut |_| false,
        )
    } else {
        Window::default()
    };
    if args.fault == Some(Fault::NeverReady) {
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }
    out.emit(&Event::Ready {
        warmup_s: warmup_start.elapsed().as_secs_f64(),
        warmup: warmup.counters,
    });

    let start_at = match &args.barrier {
        Some(dir) => wait_for_go(dir, args.id.unwrap_or(0), secs(args.go_timeout))?,
        None => Instant::now(),
    };
    sleep_until(start_at);
    let start = Instant::now();
    let start_unix_ns = unix_ns(SystemTime::now());
    out.emit(&Event::Started {
        window_start_unix_ns: start_unix_ns,
    });
    if args.fault == Some(Fault::Stall) {
        loop {
            thread::sleep(Duration::from_secs(1));
        }
    }

    let stop_file = args
        .barrier
        .as_ref()
        .map(|dir| dir.join(barrier::STOP_FILE));
    let mut stop_requested = |_: &Counters| stop_file.as_ref().is_some_and(|f| f.exists());
    // With --passes the window is as long as the passes take.
    let length = match args.passes {
        Some(_) => Duration::from_secs(u64::from(u32::MAX)),
        None => secs(args.duration),
    };
    let window = extractor.measure(Phase::Measure, start, length, out, &mut stop_requested);

    let elapsed_s = window.elapsed.as_secs_f64();
    let c = window.counters;
    let done = Event::Done {
        pages: c.pages,
        files: c.files,
        errors: c.errors,
        skipped: c.skipped,
        chars: c.chars,
        elapsed_s,
        pages_per_sec: if elapsed_s > 0.0 {
            c.pages as f64 / elapsed_s
        } else {
            0.0
        },
        passes: window.passes,
        window_start_unix_ns: start_unix_ns,
        window_end_unix_ns: start_unix_ns + window.elapsed.as_nanos() as i64,
        by_reason: window.by_reason,
        max_rss_bytes: max_rss_bytes(),
    };
    out.emit(&done);
    Ok(done)
}

/// Writes events as lines, flushing each so the orchestrator sees it at once. A closed
/// stdout (the orchestrator went away) must not stop the measurement, so write errors
/// are ignored here.
struct Emitter<'a> {
    out: &'a mut dyn Write,
}

impl Emitter<'_> {
    fn emit(&mut self, event: &Event) {
        let _ = writeln!(self.out, "{}", event.to_line());
        let _ = self.out.flush();
    }
}

/// What one phase (warm-up or window) produced.
#[derive(Debug, Default)]
struct Window {
    counters: Counters,
    by_reason: BTreeMap<String, u64>,
    passes: u64,
    elapsed: Duration,
}

/// Extracts files in passes, with the buffers and the first-failure memory reused.
struct Passes {
    files: Vec<PathBuf>,
    /// The engine, with its scratch buffers kept from one file to the next.
    engine: engine::Extractor,
    limits: Limits,
    timeout_per_file: Option<Duration>,
    progress_interval: Duration,
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
                deadline: None,
            },
            timeout_per_file: args.timeout_per_file.map(secs),
            progress_interval: secs(args.progress_interval.max(0.05)),
            buf: Vec::new(),
            reported: HashSet::new(),
            passes: args.passes,
            verdicts,
        }
    }

    /// Extracts pass after pass from `start` for `length`, or until `stop` says so.
    /// Every progress interval (between files or between the pages of one) a progress
    /// event goes out in the measured phase and `stop` is asked.
    fn measure(
        &mut self,
        phase: Phase,
        start: Instant,
        length: Duration,
        out: &mut Emitter,
        stop: &mut dyn FnMut(&Counters) -> bool,
    ) -> Window {
        let end = start + length;
        let mut w = Window::default();
        let mut tick = Tick {
            next: start + self.progress_interval,
            interval: self.progress_interval,
            phase,
            start,
        };
        let mut stopped_at = None;

        'passes: loop {
            for index in 0..self.files.len() {
                let now = Instant::now();
                if now >= end {
                    break 'passes;
                }
                if tick.due(now, &w.counters, out, stop) {
                    stopped_at = Some(now);
                    break 'passes;
                }
                stopped_at = self.extract_one(index, end, &mut w, out, &mut tick, stop);
                if stopped_at.is_some() {
                    break 'passes;
                }
            }
            w.passes += 1;
            if phase == Phase::Measure && self.passes.is_some_and(|n| w.passes >= n) {
                stopped_at = Some(Instant::now());
                break;
            }
        }
        w.elapsed = stopped_at.unwrap_or(end).min(Instant::now()) - start;
        w
    }

    /// Extracts file `index` into `w`; returns when `stop` asked the window to end
    /// during it (the file then does not count, its pages before that instant do).
    fn extract_one(
        &mut self,
        index: usize,
        end: Instant,
        w: &mut Window,
        out: &mut Emitter,
        tick: &mut Tick,
        stop: &mut dyn FnMut(&Counters) -> bool,
    ) -> Option<Instant> {
        let phase = tick.phase;
        let path = &self.files[index];
        let mut limits = self.limits.clone();
        limits.deadline = self.timeout_per_file.map(|t| Instant::now() + t);
        let mut stopped_at = None;

        let result = match source::load(path, &mut self.buf) {
            Ok(bytes) => {
                let counters = &mut w.counters;
                let mut on_page = |_page: u32, text: &str| {
                    let now = Instant::now();
                    if now >= end {
                        // Finished after the window closed: not counted.
                        return ControlFlow::Break(());
                    }
                    counters.pages += 1;
                    counters.chars += text.chars().count() as u64;
                    if tick.due(now, counters, out, stop) {
                        stopped_at = Some(now);
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                };
                let verdict = self.verdicts[index].as_ref();
                self.engine
                    .extract_vetted(&bytes, verdict, &limits, &mut on_page)
            }
            Err(err) => Err(engine::ExtractError {
                reason: Reason::Io,
                detail: err.to_string(),
            }),
        };
        if stopped_at.is_some() {
            return stopped_at;
        }

        match result {
            Ok(outcome) if outcome.complete => w.counters.files += 1,
            Ok(_) => {} // stopped by the window's end: the file does not count
            Err(err) => {
                if Instant::now() >= end && err.reason == Reason::Timeout {
                    // The per-file deadline fell after the window closed: not a failure
                    // of the file, just the end of the run.
                    return None;
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
                    out.emit(&Event::FileError {
                        phase,
                        path: display_path(&self.files[index]),
                        reason: err.reason,
                        detail: err.detail,
                    });
                }
            }
        }
        None
    }
}

/// The progress interval's clock in a window: when it is due, a progress event goes
/// out (measured phase only) and the stop request is asked.
struct Tick {
    next: Instant,
    interval: Duration,
    phase: Phase,
    start: Instant,
}

impl Tick {
    /// At `now`: when due, reports `counters` and returns whether `stop` asks to end.
    fn due(
        &mut self,
        now: Instant,
        counters: &Counters,
        out: &mut Emitter,
        stop: &mut dyn FnMut(&Counters) -> bool,
    ) -> bool {
        if now < self.next {
            return false;
        }
        if self.phase == Phase::Measure {
            out.emit(&Event::Progress {
                elapsed_s: (now - self.start).as_secs_f64(),
                counters: counters.clone(),
            });
        }
        self.next += self.interval;
        if self.next < now {
            self.next = now + self.interval;
        }
        stop(counters)
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

/// Waits for the go file (or the stop file) and returns the instant the window opens.
fn wait_for_go(dir: &Path, id: u32, timeout: Duration) -> Result<Instant, Fatal> {
    write_atomically(&dir.join(barrier::ready_file(id)), b"ready\n").map_err(|e| {
        Fatal(format!(
            "cannot write the ready file in barrier folder {}: {e}",
            dir.display()
        ))
    })?;
    let go_path = dir.join(barrier::GO_FILE);
    let stop_path = dir.join(barrier::STOP_FILE);
    let give_up = Instant::now() + timeout;
    loop {
        if let Ok(text) = fs::read_to_string(&go_path)
            && let Ok(go) = serde_json::from_str::<Go>(&text)
        {
            // Convert the wall-clock target to this process's monotonic clock.
            let now_ns = unix_ns(SystemTime::now());
            let wait =
                Duration::from_nanos(go.start_at_unix_ns.saturating_sub(now_ns).max(0) as u64);
            return Ok(Instant::now() + wait);
        }
        if stop_path.exists() {
            return Err(Fatal("stopped by the orchestrator before the start".into()));
        }
        if Instant::now() >= give_up {
            return Err(Fatal(format!(
                "no go signal after {:.0} s in {}",
                timeout.as_secs_f64(),
                dir.display()
            )));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Sleeps until `at`, finishing with a short spin so the window opens within
/// microseconds of the target rather than within a scheduler tick.
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

/// Writes `bytes` to a temporary name beside `path`, then renames it into place, so that
/// a reader never sees a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
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

/// Restricts this process (the calling thread, which is the only one) to `cpu`.
fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CPU number too large",
        ));
    }
    // SAFETY: cpu_set_t is plain data, zeroed is the empty set; CPU_SET writes inside it
    // (cpu < CPU_SETSIZE was checked); sched_setaffinity reads size_of::<cpu_set_t>() bytes.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The CPUs this process may run on, from /proc/self/status (Cpus_allowed_list).
fn cpus_allowed() -> Vec<usize> {
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|list| parse_cpu_list(list.trim()))
        .unwrap_or_default()
}

/// Parses a kernel CPU list such as `0-3,8,10-11`.
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<usize>().ok()),
        }
    }
    cpus
}

/// Peak resident set size (VmHWM), in bytes.
fn max_rss_bytes() -> Option<u64> {
    kb_field(&fs::read_to_string("/proc/self/status").ok()?, "VmHWM:")
}

/// A `Key:   1234 kB` line of a /proc file (status, meminfo), in bytes.
pub fn kb_field(text: &str, key: &str) -> Option<u64> {
    let kb = text
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: WorkerArgs,
    }

    #[test]
    fn args_round_trip_through_the_command_line() {
        let args = WorkerArgs {
            data_dirs: vec!["/data/0".into(), "/data/1".into()],
            duration: 2.5,
            passes: Some(4),
            warmup: 1.0,
            barrier: Some("/barrier".into()),
            id: Some(3),
            go_timeout: 30.0,
            max_file_size_mb: Some(50.0),
            timeout_per_file: Some(5.0),
            skip_extensions: vec![".tmp.pdf".into(), ".bak.pdf".into()],
            max_pages: Some(15),
            skip_if_pages_over: Some(500),
            progress_interval: 0.5,
            pin_cpu: Some(1),
            fault: Some(Fault::Stall),
        };
        let mut argv = vec!["worker".to_string()];
        argv.extend(args.to_args());
        assert_eq!(Cli::parse_from(argv).args, args);
    }

    #[test]
    fn pinning_restricts_the_allowed_cpus() {
        // In a thread of its own, so the test harness's other threads keep their CPUs.
        thread::spawn(|| {
            pin_to_cpu(0).unwrap();
            let status = fs::read_to_string("/proc/thread-self/status").unwrap();
            let list = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .unwrap();
            assert_eq!(parse_cpu_list(list.trim()), vec![0]);
            assert!(pin_to_cpu(usize::MAX).is_err());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn cpu_lists_parse_like_the_kernel_writes_them() {
        assert_eq!(parse_cpu_list("0-3,8,10-11"), vec![0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpu_list("5"), vec![5]);
        assert_eq!(parse_cpu_list(""), Vec::<usize>::new());
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
            barrier: None,
            id: None,
            go_timeout: 5.0,
            max_file_size_mb: None,
            timeout_per_file: None,
            skip_extensions: vec![],
            max_pages: None,
            skip_if_pages_over: None,
            progress_interval: 0.05,
            pin_cpu: None,
            fault: None,
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
        let mut out = Vec::new();
        let err = run(&args_for(&dir), &mut out).unwrap_err();
        assert!(err.0.contains("no PDF file"), "{}", err.0);
        assert!(err.0.contains(&dir.display().to_string()), "{}", err.0);
        let last = String::from_utf8(out).unwrap();
        let last = last.lines().last().unwrap();
        assert!(
            matches!(Event::parse(last), Some(Event::Fatal { .. })),
            "{last}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn broken_files_are_counted_by_reason_and_reported_once() {
        let dir = temp_dir("broken");
        fs::write(dir.join("garbage.pdf"), b"this is not a pdf at all").unwrap();
        let mut out = Vec::new();
        let done = run(&args_for(&dir), &mut out).unwrap();
        let Event::Done {
            pages,
            errors,
            passes,
            by_reason,
            ..
        } = done
        else {
            panic!("not a done event")
        };
        assert_eq!(pages, 0);
        assert!(passes > 1, "the file list is walked again and again");
        assert_eq!(errors, passes, "one error per pass");
        assert_eq!(by_reason.values().sum::<u64>(), errors);
        let text = String::from_utf8(out).unwrap();
        let reports = text
            .lines()
            .filter_map(Event::parse)
            .filter(|e| matches!(e, Event::FileError { .. }))
            .count();
        assert_eq!(reports, 1, "{text}");
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
            pages,
            files,
            errors,
            passes,
            ..
        } = run(&args, &mut Vec::new()).unwrap()
        else {
            panic!("not a done event")
        };
        assert_eq!((passes, pages, files, errors), (3, 9, 3, 3));
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

    #[test]
    fn a_stop_request_ends_the_window_within_a_file() {
        // One long file: the stop must be seen between its pages, not only between files.
        let dir = temp_dir("stop-within");
        fs::write(dir.join("long.pdf"), many_pages(20_000)).unwrap();
        let mut passes = Passes::new(&args_for(&dir), discover(&args_for(&dir)).unwrap().files);
        let mut sink = Vec::new();
        let mut out = Emitter { out: &mut sink };
        let start = Instant::now();
        let mut asked = 0;
        let window = passes.measure(
            Phase::Measure,
            start,
            Duration::from_secs(30),
            &mut out,
            &mut |_| {
                asked += 1;
                asked == 3
            },
        );
        assert_eq!(asked, 3);
        // Three ticks of 50 ms: well before the 30 s window, whatever the machine.
        assert!(
            window.elapsed < Duration::from_secs(5),
            "{:?}",
            window.elapsed
        );
        assert!(window.counters.pages > 0);
        assert_eq!(
            window.counters.files, 0,
            "the file cut short does not count"
        );
        let text = String::from_utf8(sink).unwrap();
        let progress = text.lines().filter(|l| l.contains("progress")).count();
        assert_eq!(progress, 3, "{text}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn barrier_waits_for_go_and_starts_at_the_given_instant() {
        let dir = temp_dir("barrier");
        let go = Go {
            start_at_unix_ns: unix_ns(SystemTime::now()) + 150_000_000,
        };
        let writer = {
            let dir = dir.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                assert!(dir.join("ready-7").exists(), "ready file written first");
                write_atomically(
                    &dir.join(barrier::GO_FILE),
                    serde_json::to_string(&go).unwrap().as_bytes(),
                )
                .unwrap();
            })
        };
        let before = Instant::now();
        let start = wait_for_go(&dir, 7, Duration::from_secs(5)).unwrap();
        writer.join().unwrap();
        let waited = start - before;
        assert!(
            waited >= Duration::from_millis(100) && waited <= Duration::from_millis(1000),
            "{waited:?}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn barrier_gives_up_on_stop_and_on_timeout() {
        let dir = temp_dir("stop");
        fs::write(dir.join(barrier::STOP_FILE), b"").unwrap();
        let err = wait_for_go(&dir, 0, Duration::from_secs(5)).unwrap_err();
        assert!(err.0.contains("stopped"), "{}", err.0);
        fs::remove_file(dir.join(barrier::STOP_FILE)).unwrap();
        let err = wait_for_go(&dir, 0, Duration::from_millis(20)).unwrap_err();
        assert!(err.0.contains("no go signal"), "{}", err.0);
        fs::remove_dir_all(&dir).unwrap();
    }
}
