//! One run, phase by phase, whatever engine the workers run under: the image, the
//! workers started pinned, their warm-up, one coordinated start, the slots of the schedule
//! (the figures and every file rewritten after each round, a precision target checked),
//! the end, the cleanup and the report.
//!
//! Whatever happens (a worker dies, Ctrl-C, a timeout), the run's workers are removed
//! before it returns, and what was measured is saved.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};
use worker::protocol::{Event, Go, Message};

use crate::config::{Data, Plan};
use crate::engine::{Engine, Output, WorkerSpec};
use crate::error::{Interrupted, exit};
use crate::facts::HostFacts;
use crate::monitor::WorkerState;
use crate::monitor::display::Printer;
use crate::report::Draft;
use crate::report::analysis::FileBaseline;
use crate::report::export::{Writer, ascii, table};
use crate::report::model::{Report, RunStatus};
use crate::report::reference::{self, Reference};
use crate::schedule::Schedule;
use crate::usage::{self, ProcessScan};

/// Extra seconds, after the window should have closed, to wait for every `done` event.
const DONE_GRACE_S: f64 = 30.0;
/// Seconds of silence (plus three progress intervals) after which a measuring worker is
/// given up as stalled.
const STALL_AFTER_S: f64 = 10.0;
/// Seconds to wait for `done` after asking workers to stop early.
const STOP_GRACE_S: f64 = 5.0;
/// Phases shown as [k/PHASES].
const PHASES: usize = 4;
/// Machine CPU use before a run above which the report warns.
const BUSY_WARN_PCT: f64 = 10.0;
/// How often the other programs on the pinned CPUs are looked at.
const SCAN_EVERY: Duration = Duration::from_secs(2);

/// The wall clock the workers' start instant is given in.
pub trait Clock: Send + Sync {
    fn now_unix_ns(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ns(&self) -> i64 {
        worker::control::unix_ns(std::time::SystemTime::now())
    }
}

/// The corpus, located.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub paths: Vec<PathBuf>,
    pub label: String,
    pub files: u64,
    pub bytes: u64,
}

/// What a run needs besides its plan.
pub struct Context {
    pub plan: Plan,
    pub schedule: Schedule,
    pub engine: Arc<dyn Engine>,
    pub host: HostFacts,
    pub corpus: Corpus,
    pub file_baseline: Option<FileBaseline>,
    pub reference: Option<Reference>,
    pub clock: Arc<dyn Clock>,
    /// Becomes true on Ctrl-C or SIGTERM.
    pub cancel: watch::Receiver<bool>,
}

/// What the run ended with: its report and exit code.
pub struct Outcome {
    pub report: Report,
    pub code: u8,
    pub files: Vec<PathBuf>,
}

/// Runs the benchmark and returns its outcome (the report has been written and printed).
pub async fn run(ctx: &Context, printer: &mut Printer) -> Result<Outcome> {
    let plan = &ctx.plan;
    let mut cancel = ctx.cancel.clone();

    // 1. The image.
    printer.phase(
        1,
        PHASES,
        &format!(
            "Build ({} on {})",
            ctx.engine.info().kind,
            ctx.engine.host()
        ),
    );
    let image = {
        let shown: &Printer = printer;
        let say = |line: String| shown.line(&format!("  {line}"));
        tokio::select! {
            r = ctx.engine.prepare(&say) => r?,
            _ = cancel.wait_for(|c| *c) => {
                return Err(Interrupted { during: "the image build" }.into())
            }
        }
    };
    let busy = usage::busy_pct(Duration::from_secs(1)).await;
    if *cancel.borrow() {
        return Err(Interrupted {
            during: "the check of the machine's load",
        }
        .into());
    }
    if let Some(b) = busy.filter(|b| *b > BUSY_WARN_PCT) {
        printer.line(&format!(
            "warning: the machine was {b:.0}% busy before the run (other processes). Their \
             load lowers and spreads every figure; the report names them if they use the \
             pinned cores."
        ));
    }

    let run_id = new_run_id(ctx.clock.now_unix_ns());
    let mut run = Run {
        ctx,
        image,
        run_id,
        timestamp: Utc::now(),
        busy,
        workers: Vec::new(),
        inputs: Vec::new(),
        problems: Vec::new(),
        status: RunStatus::Ok,
        writer: Writer::new(&plan.output_dir),
        scan: None,
        written: Vec::new(),
    };
    let result = run.drive(printer).await;

    // Whatever happened: how each worker ended, their logs, then cleanup.
    for w in &mut run.workers {
        if w.done.is_none() || w.exit.is_none() {
            w.exit = ctx.engine.exit(&w.name).await;
        }
    }
    if let Err(e) = write_logs(&plan.output_dir, &run.workers) {
        printer.line(&format!("warning: {e:#}"));
    }
    run.inputs.clear();
    if plan.cleanup || ctx.engine.info().kind == "process" {
        let removal = ctx.engine.remove_run(&run.run_id).await;
        for failed in removal.failed {
            run.problems.push(format!(
                "could not remove {failed}; `distributed-benchmark cleanup` will"
            ));
        }
    } else {
        printer.line(&format!(
            "  Kept {} container(s) (--no-cleanup); remove them with `distributed-benchmark cleanup`",
            run.workers.len()
        ));
    }
    if let Err(e) = result {
        run.problems.push(format!("{e:#}"));
        run.status = RunStatus::Failed;
    }
    run.finish(printer)
}

/// The state of one run.
struct Run<'a> {
    ctx: &'a Context,
    image: String,
    run_id: String,
    timestamp: DateTime<Utc>,
    busy: Option<f64>,
    workers: Vec<WorkerState>,
    inputs: Vec<mpsc::UnboundedSender<Message>>,
    problems: Vec<String>,
    status: RunStatus,
    writer: Writer,
    scan: Option<ProcessScan>,
    written: Vec<PathBuf>,
}

impl Run<'_> {
    async fn drive(&mut self, printer: &mut Printer) -> Result<()> {
        let ctx = self.ctx;
        let plan = &ctx.plan;
        let mut cancel = ctx.cancel.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Output)>();

        // 2. Start every worker, pinned.
        let noun = self.noun();
        for i in 0..plan.workers() {
            let index = i as u32 + 1;
            let spec = WorkerSpec {
                run_id: self.run_id.clone(),
                index,
                cpu: plan.cpus[i],
                numa_node: plan.numa_nodes.get(i).copied().flatten(),
                settings: worker::run::WorkerArgs {
                    data_dirs: ctx.corpus.paths.clone(),
                    id: Some(index),
                    fault: plan
                        .inject_fault
                        .filter(|(_, at)| *at == index)
                        .map(|(f, _)| f),
                    ..plan.worker.clone()
                },
                memory_bytes: plan.memory_bytes,
                nano_cpus: plan.nano_cpus,
            };
            let started = tokio::select! {
                r = ctx.engine.start(&spec) => r,
                _ = cancel.wait_for(|c| *c) => {
                    self.status = RunStatus::Interrupted;
                    return Ok(());
                }
            };
            let mut handle = started?;
            self.workers
                .push(WorkerState::new(handle.name.clone(), index, spec.cpu));
            self.inputs.push(handle.input.clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(out) = handle.output.recv().await {
                    if tx.send((i, out)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);

        // 3. Warm-up: every worker walks the corpus, then says it is ready.
        printer.phase(
            2,
            PHASES,
            &format!(
                "Warm-up: {} {}(s), {:.0} s each",
                self.workers.len(),
                noun.to_lowercase(),
                plan.warmup_s
            ),
        );
        let ready_deadline = Instant::now() + secs(plan.warmup_s + plan.ready_timeout_s);
        loop {
            if let Some(dead) = self.workers.iter().find(|w| !w.alive()) {
                self.problems.push(format!(
                    "{} (CPU {}) stopped during its warm-up{}",
                    dead.name,
                    dead.cpu,
                    dead.fatal
                        .as_ref()
                        .map(|f| format!(": {f}"))
                        .unwrap_or_default()
                ));
                self.status = RunStatus::WorkerFailed;
                self.stop_all();
                return Ok(());
            }
            if self.workers.iter().all(|w| w.ready) {
                break;
            }
            if Instant::now() >= ready_deadline {
                let waiting: Vec<String> = self
                    .workers
                    .iter()
                    .filter(|w| !w.ready)
                    .map(|w| format!("{} (CPU {})", w.name, w.cpu))
                    .collect();
                self.problems.push(format!(
                    "never became ready within {:.0} s of warm-up + {:.0} s: {}",
                    plan.warmup_s,
                    plan.ready_timeout_s,
                    waiting.join(", ")
                ));
                self.status = RunStatus::Failed;
                self.stop_all();
                return Ok(());
            }
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some((i, out)) => {
                        self.apply(printer, i, &out, false);
                    }
                    None => continue,
                },
                _ = sleep(Duration::from_millis(50)) => {}
                _ = cancel.wait_for(|c| *c) => {
                    self.status = RunStatus::Interrupted;
                    self.stop_all();
                    return Ok(());
                }
            }
        }

        // 4. One start for all: the schedule, with the instant slot 0 begins.
        printer.phase(3, PHASES, "Coordinated start");
        let schedule = &ctx.schedule;
        let countdown = Duration::from_secs(plan.countdown_s);
        let start_at_ns = ctx.clock.now_unix_ns() + countdown.as_nanos() as i64;
        let start = Instant::now() + countdown;
        for (i, input) in self.inputs.iter().enumerate() {
            let go = Go {
                start_at_unix_ns: start_at_ns,
                slot_ns: schedule.slot.as_nanos() as u64,
                gap_ns: schedule.gap.as_nanos() as u64,
                pattern: schedule.pattern_for(i),
                slots: Some(schedule.max_slots),
            };
            let _ = input.send(Message::Go(go));
        }
        for k in (1..=plan.countdown_s).rev() {
            printer.countdown_word(&format!("{k}..."), false);
            tokio::select! {
                _ = sleep_until(start - Duration::from_secs(k - 1)) => {}
                _ = cancel.wait_for(|c| *c) => {
                    printer.countdown_word("", true);
                    self.status = RunStatus::Interrupted;
                    self.stop_all();
                    return Ok(());
                }
            }
        }
        printer.countdown_word("GO!", true);
        if let Some(pids) = ctx.engine.local_pids(&self.run_id).await {
            self.scan = Some(ProcessScan::start(&plan.cpus, &pids));
        }

        // 5. The slots.
        let planned_s = schedule.span(schedule.planned).as_secs_f64();
        printer.phase(
            4,
            PHASES,
            &format!(
                "Measuring: {} slots of {:.2} s ({} schedule, {:.0} s{})",
                schedule.planned,
                schedule.slot.as_secs_f64(),
                schedule.kind.label(),
                planned_s,
                match plan.target_precision_pts {
                    Some(p) => format!(
                        ", then on until ±{p} points or {:.0} s",
                        schedule.span(schedule.max_slots).as_secs_f64()
                    ),
                    None => String::new(),
                }
            ),
        );
        printer.live_start(
            &self.workers,
            schedule.span(schedule.max_slots).as_secs_f64(),
        );
        let max_s = schedule.span(schedule.max_slots).as_secs_f64();
        let mut deadline = start + secs(max_s + DONE_GRACE_S);
        let stall_after = secs(STALL_AFTER_S + 3.0 * plan.worker.progress_interval);
        let mut rounds_seen = 0;
        let mut stop_sent = false;
        let mut next_scan = Instant::now() + SCAN_EVERY;
        loop {
            if self.workers.iter().all(|w| w.done.is_some() || !w.alive()) {
                break;
            }
            if Instant::now() >= deadline {
                for w in self
                    .workers
                    .iter()
                    .filter(|w| w.done.is_none() && w.alive())
                {
                    self.problems
                        .push(if self.status == RunStatus::Interrupted {
                            format!(
                                "{} sent no result within {STOP_GRACE_S:.0} s of being asked to \
                             stop; its slots so far are kept",
                                w.name
                            )
                        } else {
                            format!(
                                "{} sent no result within {DONE_GRACE_S:.0} s of the window's end",
                                w.name
                            )
                        });
                }
                break;
            }
            // A worker that died or stopped writing ends the run: N no longer run together.
            let mut failed = Vec::new();
            for w in &mut self.workers {
                let silent = w.last_heard.map_or(Duration::ZERO, |at| at.elapsed());
                if w.done.is_none() && w.alive() && silent > stall_after {
                    w.stalled = true;
                    failed.push(format!(
                        "{} (CPU {}) stopped writing: no output for {:.0} s",
                        w.name,
                        w.cpu,
                        silent.as_secs_f64()
                    ));
                }
            }
            let died: Vec<String> = self
                .workers
                .iter()
                .filter(|w| w.done.is_none() && w.ended)
                .map(|w| format!("{} (CPU {}) stopped before its result", w.name, w.cpu))
                .collect();
            if (!failed.is_empty() || !died.is_empty()) && self.status == RunStatus::Ok {
                self.problems.extend(failed);
                self.problems.extend(died);
                self.status = RunStatus::WorkerFailed;
                printer.line(
                    "A worker failed: asking the others to stop and report what they measured...",
                );
                self.stop_all();
                deadline = deadline.min(Instant::now() + secs(STOP_GRACE_S));
            }

            if Instant::now() >= next_scan {
                next_scan = Instant::now() + SCAN_EVERY;
                if let Some(scan) = self.scan.as_mut() {
                    scan.sample();
                }
            }

            tokio::select! {
                msg = rx.recv() => match msg {
                    Some((i, out)) => {
                        let slot_ended = self.apply(printer, i, &out, true);
                        if slot_ended {
                            let rounds = self.rounds_done();
                            if rounds > rounds_seen {
                                rounds_seen = rounds;
                                let report = self
                                    .draft(schedule.end_of_round(rounds - 1) + 1)
                                    .report();
                                printer.live_status(progress_line(&report, rounds, schedule));
                                self.written = self.writer.write(&report)?;
                                if !stop_sent && self.precise_enough(&report, rounds) {
                                    // Stop at the end of the round in progress, all together.
                                    let last = schedule.end_of_round(rounds);
                                    for input in &self.inputs {
                                        let _ = input.send(Message::Stop { after_slot: Some(last) });
                                    }
                                    stop_sent = true;
                                    deadline = deadline.min(
                                        start + schedule.offset_of(last + 1) + secs(DONE_GRACE_S),
                                    );
                                }
                            }
                        }
                    }
                    None => break,
                },
                _ = sleep(Duration::from_millis(250)) => {}
                _ = cancel.wait_for(|c| *c), if self.status != RunStatus::Interrupted => {
                    self.status = RunStatus::Interrupted;
                    printer.line("Interrupted: asking the workers to stop and report what they measured...");
                    self.stop_all();
                    deadline = deadline.min(Instant::now() + secs(STOP_GRACE_S));
                }
            }
            printer.live_update(&self.workers);
        }
        printer.live_finish();
        if let Some(scan) = self.scan.as_mut() {
            scan.sample();
        }
        Ok(())
    }

    /// Applies one piece of output from worker `i`; true when it ended a slot.
    fn apply(&mut self, printer: &Printer, i: usize, out: &Output, live: bool) -> bool {
        let noun = self.noun();
        let w = &mut self.workers[i];
        match w.apply(out) {
            Some(Event::Ready { warmup_s, warmup }) => {
                printer.line(&format!(
                    "  {noun} {} ready on CPU {} (warm-up: {} pages in {:.1} s)",
                    w.name, w.cpu, warmup.pages, warmup_s
                ));
                false
            }
            Some(Event::Fatal { message }) => {
                printer.line(&format!("  {}: {message}", w.name));
                false
            }
            Some(Event::FileError {
                path,
                reason,
                detail,
                ..
            }) if !live => {
                printer.line(&format!(
                    "  {}: {path} ({}): {detail}",
                    w.name,
                    reason.label()
                ));
                false
            }
            Some(Event::Slot(_)) => true,
            None if matches!(out, Output::Ended) && w.done.is_none() => {
                printer.line(&format!(
                    "  {noun} {} (CPU {}) stopped before reporting its result",
                    w.name, w.cpu
                ));
                false
            }
            _ => false,
        }
    }

    /// Whole rounds every live worker has reported.
    fn rounds_done(&self) -> u64 {
        let reported = self
            .workers
            .iter()
            .filter(|w| w.alive() || w.done.is_some())
            .map(|w| w.slots_reported())
            .min()
            .unwrap_or(0);
        self.ctx.schedule.rounds_within(reported)
    }

    /// With a precision target: the planned slots are done and every step's efficiency is
    /// known to within the target.
    fn precise_enough(&self, report: &Report, rounds: u64) -> bool {
        let Some(target) = self.ctx.plan.target_precision_pts else {
            return false;
        };
        let schedule = &self.ctx.schedule;
        schedule.end_of_round(rounds - 1) + 1 >= schedule.planned
            && report.precision.as_ref().is_some_and(|p| p.met)
            && rounds >= 2
            && target > 0.0
    }

    fn stop_all(&self) {
        for input in &self.inputs {
            let _ = input.send(Message::Stop { after_slot: None });
        }
    }

    fn noun(&self) -> &'static str {
        if self.ctx.engine.info().kind == "process" {
            "Process"
        } else {
            "Container"
        }
    }

    fn draft(&self, slots_done: u64) -> Draft<'_> {
        let ctx = self.ctx;
        let interrupted = self.status == RunStatus::Interrupted;
        Draft {
            plan: &ctx.plan,
            schedule: &ctx.schedule,
            host: &ctx.host,
            image: &self.image,
            run_id: &self.run_id,
            timestamp: self.timestamp,
            data_files: ctx.corpus.files,
            data_bytes: ctx.corpus.bytes,
            data_label: &ctx.corpus.label,
            busy_pct_before_run: self.busy,
            status: self.status,
            problems: self.problems.clone(),
            workers: self.workers.iter().map(|w| w.record(interrupted)).collect(),
            slots_done,
            file_baseline: ctx.file_baseline.as_ref(),
            top_processes: self.scan.as_ref().map(ProcessScan::top).unwrap_or_default(),
            comparisons: Vec::new(),
            gate: None,
        }
    }

    /// The final report: written, printed, and the exit code.
    fn finish(mut self, printer: &mut Printer) -> Result<Outcome> {
        let ctx = self.ctx;
        let plan = &ctx.plan;
        // A worker that did not deliver is a failure, whatever the phase.
        let interrupted = self.status == RunStatus::Interrupted;
        for w in &self.workers {
            let (status, detail) = w.status(interrupted);
            if status != crate::report::model::WorkerStatus::Ok && !interrupted {
                let why = detail.unwrap_or_else(|| status.label().to_string());
                let line = format!("{} (CPU {}): {}: {why}", w.name, w.cpu, status.label());
                if !self.problems.contains(&line) {
                    self.problems.push(line);
                }
                if self.status == RunStatus::Ok {
                    self.status = RunStatus::WorkerFailed;
                }
            }
        }
        let done = self
            .workers
            .iter()
            .map(|w| w.slots.keys().next_back().map_or(0, |k| k + 1))
            .max()
            .unwrap_or(0);
        let mut draft = self.draft(done);
        let mut report = draft.report();
        if let Some(reference) = &ctx.reference {
            draft.comparisons = reference::compare(&report, reference);
        }
        if ctx.reference.is_some() || plan.fail_below_pct.is_some() {
            draft.gate = Some(reference::gate(
                &report,
                &draft.comparisons,
                plan.fail_below_pct,
            ));
        }
        if draft.gate.is_some() || !draft.comparisons.is_empty() {
            report = draft.report();
        }
        let files = if self.workers.is_empty() && report.status == RunStatus::Interrupted {
            Vec::new()
        } else {
            self.writer.write(&report)?
        };
        printer.results(&table::render(&report));
        if report.steps.len() > 2 {
            printer.results(&ascii::render_ascii(&report));
        }
        if !report.comparisons.is_empty() || ctx.reference.is_some() {
            printer.results(&reference::render(&report.comparisons));
        }
        if let Some(gate) = report.gate.as_ref().filter(|g| !g.passed) {
            for reason in &gate.reasons {
                printer.results(&format!("gate failed: {reason}\n"));
            }
        }
        if let Some(name) = &plan.save_reference
            && report.status == RunStatus::Ok
        {
            let path = reference::save(&report, name, &plan.output_dir)?;
            printer.line(&format!("Saved reference {name}: {}", path.display()));
        }
        if !files.is_empty() {
            printer.line(&format!(
                "Results: {}\nAlso: {}\nWorker logs: {}",
                files[0].display(),
                files[1..]
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                plan.output_dir.join("containers").display()
            ));
        }
        let code = match report.status {
            RunStatus::Ok if report.gate.as_ref().is_some_and(|g| !g.passed) => exit::GATE_FAILED,
            RunStatus::Ok => exit::OK,
            RunStatus::WorkerFailed => exit::WORKER_FAILED,
            RunStatus::Interrupted => exit::INTERRUPTED,
            RunStatus::Failed => exit::FAILED,
        };
        Ok(Outcome {
            report,
            code,
            files,
        })
    }
}

/// What the live display says after a round: the efficiency of the reported step as it
/// narrows.
fn progress_line(report: &Report, rounds: u64, schedule: &Schedule) -> String {
    let planned = schedule.rounds_within(schedule.planned);
    let step = report
        .steps
        .iter()
        .rev()
        .find(|s| s.containers > 1 && s.efficiency_pct.is_some());
    let figure = match step {
        Some(s) => format!(
            "{} containers: efficiency {}",
            s.containers,
            table::short_efficiency(s)
        ),
        None => format!(
            "{}",
            table::throughput(report.total_pages_per_sec, report.total_pages_per_sec_ci95)
        ),
    };
    let target = report
        .precision
        .as_ref()
        .map(|p| match p.reached_pts {
            Some(r) => format!(", ±{r:.1} points (target ±{})", p.target_pts),
            None => format!(", target ±{}", p.target_pts),
        })
        .unwrap_or_default();
    format!("round {rounds}/{planned}: {figure}{target}")
}

fn write_logs(output_dir: &Path, workers: &[WorkerState]) -> Result<()> {
    let dir = output_dir.join("containers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for w in workers {
        let path = dir.join(format!("{}.log", w.name));
        std::fs::write(&path, &w.log).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Eight hex digits, different for every run (the instant and the process id).
fn new_run_id(now_ns: i64) -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hash = Sha256::new();
    hash.update(format!(
        "{now_ns}{}{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    hash.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Where the sample corpus lives inside the output folder.
pub fn sample_dir(output_dir: &Path) -> PathBuf {
    output_dir.join("sample_corpus")
}

/// The corpus the plan names, located (walked for its PDFs) — or the sample corpus, which
/// `write_sample` generates when asked.
pub fn locate_corpus(plan: &Plan) -> Result<Corpus> {
    let (paths, label) = match &plan.data {
        Data::Paths {
            paths,
            label,
            origin,
        } => {
            let mut absolute = Vec::new();
            for p in paths {
                let abs = p.canonicalize().map_err(|e| {
                    crate::error::InputError(format!(
                        "{origin}: data folder {} cannot be used: {e}. Give an existing folder \
                         of PDFs, or leave it out to use the built-in sample corpus.",
                        p.display()
                    ))
                })?;
                absolute.push(abs);
            }
            (absolute, label.clone())
        }
        Data::Sample => {
            let dir = sample_dir(&plan.output_dir);
            let abs = dir.canonicalize().unwrap_or(dir.clone());
            (
                vec![abs],
                format!("{} (built-in sample corpus)", dir.display()),
            )
        }
    };
    let probe = worker::run::WorkerArgs {
        data_dirs: paths.clone(),
        ..plan.worker.clone()
    };
    let catalog = worker::run::discover(&probe).map_err(|e| crate::error::InputError(e.0))?;
    if catalog.files.is_empty() {
        return Err(crate::error::InputError(format!(
            "data folder {label} holds no PDF (no file ending in .pdf, after skips). \
             Point --data-dir at a folder of PDFs, or leave it out to use the sample corpus."
        ))
        .into());
    }
    Ok(Corpus {
        paths,
        label,
        files: catalog.files.len() as u64,
        bytes: catalog.bytes,
    })
}
