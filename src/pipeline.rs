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
use crate::engine::{Engine, Output, ShippedFile, WorkerData, WorkerSpec};
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
/// How long an engine may take to say how a worker ended, after the window.
const EXIT_QUERY: Duration = Duration::from_secs(10);
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
    /// Every file, as it would be shipped: (path here, name in a volume, size).
    pub listing: Vec<ShippedFile>,
}

/// A host's clock against the orchestrator's: what to add to an orchestrator instant to
/// get the host's, and how far off that may be (half the best round trip).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockOffset {
    pub offset_ns: i64,
    pub uncertainty_ns: i64,
}

/// What a run needs besides its plan.
pub struct Context {
    pub plan: Plan,
    pub schedule: Schedule,
    /// One engine and its facts per host of the plan, in the same order.
    pub engines: Vec<Arc<dyn Engine>>,
    pub hosts: Vec<HostFacts>,
    pub corpus: Corpus,
    pub file_baseline: Option<FileBaseline>,
    pub reference: Option<Reference>,
    pub clock: Arc<dyn Clock>,
    /// Becomes true on Ctrl-C or SIGTERM.
    pub cancel: watch::Receiver<bool>,
}

/// What the run ended with: its report and exit code.
pub struct Outcome {
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the pipeline tests"))]
    pub report: Report,
    pub code: u8,
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the pipeline tests"))]
    pub files: Vec<PathBuf>,
}

/// Runs the benchmark and returns its outcome (the report has been written and printed).
pub async fn run(ctx: &Context, printer: &mut Printer) -> Result<Outcome> {
    let plan = &ctx.plan;
    let mut cancel = ctx.cancel.clone();

    // 1. The image, on every host (skipped where it is present).
    let names: Vec<String> = ctx
        .engines
        .iter()
        .map(|e| format!("{} on {}", e.info().kind, e.host()))
        .collect();
    printer.phase(1, PHASES, &format!("Build ({})", names.join(", ")));
    let images = {
        let shown: &Printer = printer;
        let say = |line: String| shown.line(&format!("  {line}"));
        let all = futures_util::future::try_join_all(ctx.engines.iter().map(|e| e.prepare(&say)));
        tokio::select! {
            r = all => r?,
            _ = cancel.wait_for(|c| *c) => {
                return Err(Interrupted { during: "the image build" }.into())
            }
        }
    };
    let mut unique = images.clone();
    unique.dedup();
    let image = unique.join(", ");
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
        offsets: vec![None; ctx.engines.len()],
    };
    let result = run.drive(printer).await;

    // Whatever happened: how each worker ended, their logs, then cleanup on every host.
    // Asked of every engine at once, each for a bounded time: a host lost mid-run must not
    // hold up the others (its workers' ends stay unknown).
    let asked = futures_util::future::join_all(run.workers.iter().map(|w| async {
        if w.done.is_some() && w.exit.is_some() {
            return w.exit.clone();
        }
        tokio::time::timeout(EXIT_QUERY, ctx.engines[w.host].exit(&w.name))
            .await
            .ok()
            .flatten()
    }))
    .await;
    for (w, exit) in run.workers.iter_mut().zip(asked) {
        w.exit = exit;
    }
    if let Err(e) = write_logs(&plan.output_dir, &run.workers) {
        printer.line(&format!("warning: {e:#}"));
    }
    run.inputs.clear();
    if plan.cleanup || plan.runtime == crate::cli::Runtime::Process {
        let removals =
            futures_util::future::join_all(ctx.engines.iter().map(|e| e.remove_run(&run.run_id)))
                .await;
        for (h, removal) in removals.into_iter().enumerate() {
            for failed in removal.failed {
                run.problems.push(format!(
                    "could not remove {failed}; `distributed-benchmark cleanup --host {}` will",
                    plan.hosts[h].spec.url
                ));
            }
        }
    } else {
        let hosts: Vec<String> = plan
            .hosts
            .iter()
            .map(|h| format!("--host {}", h.spec.url))
            .collect();
        printer.line(&format!(
            "  Kept {} container(s) (--no-cleanup); remove them with `distributed-benchmark \
             cleanup{}`",
            run.workers.len(),
            if plan.hosts.len() > 1 {
                format!(" {}", hosts.join(" "))
            } else {
                String::new()
            }
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
    /// Each host's clock against ours, once measured.
    offsets: Vec<Option<ClockOffset>>,
}

impl Run<'_> {
    async fn drive(&mut self, printer: &mut Printer) -> Result<()> {
        let ctx = self.ctx;
        let plan = &ctx.plan;
        let mut cancel = ctx.cancel.clone();
        let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Output)>();

        // 2. The corpus, shipped to the hosts that need it; then every worker, pinned.
        let mut volumes: Vec<Option<String>> = vec![None; ctx.engines.len()];
        for (h, host) in plan.hosts.iter().enumerate().filter(|(_, h)| h.ship) {
            printer.line(&format!(
                "  Shipping the corpus to {} ({} files, {:.1} MiB)...",
                host.spec.name,
                ctx.corpus.files,
                ctx.corpus.bytes as f64 / (1 << 20) as f64
            ));
            let bar = printer.transfer(&host.spec.name, ctx.corpus.bytes);
            let shown = bar.clone();
            let progress = move |sent: u64| shown.set_position(sent);
            let shipped = ctx.engines[h].ship(&self.run_id, ctx.corpus.listing.clone(), &progress);
            let volume = tokio::select! {
                r = shipped => r,
                _ = cancel.wait_for(|c| *c) => {
                    self.status = RunStatus::Interrupted;
                    return Ok(());
                }
            };
            bar.finish_and_clear();
            let volume = volume?;
            printer.line(&format!(
                "  Shipped to {} into volume {volume}",
                host.spec.name
            ));
            volumes[h] = Some(volume);
        }
        let noun = self.noun();
        for (i, place) in plan.places.iter().enumerate() {
            let index = i as u32 + 1;
            let host = &plan.hosts[place.host];
            let data = match &volumes[place.host] {
                Some(volume) => WorkerData::Volume(volume.clone()),
                None => WorkerData::Paths(match &host.data_dir {
                    Some(dir) => vec![dir.clone()],
                    None => ctx.corpus.paths.clone(),
                }),
            };
            let spec = WorkerSpec {
                run_id: self.run_id.clone(),
                index,
                cpu: place.cpu,
                numa_node: place.numa_node,
                settings: worker::run::WorkerArgs {
                    id: Some(index),
                    fault: plan
                        .inject_fault
                        .filter(|(_, at)| *at == index)
                        .map(|(f, _)| f),
                    clock_skew_ns: plan
                        .inject_clock_skew
                        .filter(|(h, _)| *h == place.host)
                        .map_or(0, |(_, ns)| ns),
                    ..plan.worker.clone()
                },
                data,
                memory_bytes: plan.memory_bytes,
                nano_cpus: plan.nano_cpus,
            };
            let started = tokio::select! {
                r = ctx.engines[place.host].start(&spec) => r,
                _ = cancel.wait_for(|c| *c) => {
                    self.status = RunStatus::Interrupted;
                    return Ok(());
                }
            };
            let mut handle = started.with_context(|| format!("on host {}", host.spec.name))?;
            let mut state = WorkerState::new(handle.name.clone(), index, spec.cpu);
            state.host = place.host;
            self.workers.push(state);
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
                "Warm-up: {} {}, {:.0} s each",
                self.workers.len(),
                if noun == "Process" {
                    "process(es)"
                } else {
                    "container(s)"
                },
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
                let mut waiting = Vec::new();
                for w in self.workers.iter_mut().filter(|w| !w.ready) {
                    w.never_ready = true;
                    waiting.push(format!("{} (CPU {})", w.name, w.cpu));
                }
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

        // 4. One start for all: each host's clock against ours, then the schedule, with
        // the instant slot 0 begins in each worker's own clock.
        printer.phase(3, PHASES, "Coordinated start");
        self.measure_offsets(&mut rx, printer).await;
        for (h, offset) in self.offsets.iter().enumerate() {
            if let Some(o) = offset
                && (ctx.engines.len() > 1 || o.offset_ns.abs() > 1_000_000)
            {
                printer.line(&format!(
                    "  Clock of {}: {:+.3} ms against this machine's (± {:.3} ms)",
                    plan.hosts[h].spec.name,
                    o.offset_ns as f64 / 1e6,
                    o.uncertainty_ns as f64 / 1e6
                ));
            }
        }
        let schedule = &ctx.schedule;
        let countdown = Duration::from_secs(plan.countdown_s);
        let start_at_ns = ctx.clock.now_unix_ns() + countdown.as_nanos() as i64;
        let start = Instant::now() + countdown;
        for (i, input) in self.inputs.iter().enumerate() {
            let offset = self.offsets[self.workers[i].host].map_or(0, |o| o.offset_ns);
            let go = Go {
                start_at_unix_ns: start_at_ns + offset,
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
        // Who else uses the pinned cores: on the hosts that are this machine.
        let mut local_cpus = Vec::new();
        let mut pids = Vec::new();
        for (h, engine) in ctx.engines.iter().enumerate() {
            if let Some(mine) = engine.local_pids(&self.run_id).await {
                pids.extend(mine);
                local_cpus.extend(plan.places.iter().filter(|p| p.host == h).map(|p| p.cpu));
            }
        }
        if !local_cpus.is_empty() {
            self.scan = Some(ProcessScan::start(&local_cpus, &pids));
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
                                    .draft(schedule.end_of_round(rounds - 1) + 1, true)
                                    .report();
                                printer.live_status(progress_line(&report, rounds, schedule));
                                self.writer.write(&report)?;
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
        if self.ctx.plan.runtime == crate::cli::Runtime::Process {
            "Process"
        } else {
            "Container"
        }
    }

    /// Each host's clock against ours, estimated from pings to its first worker (as NTP
    /// and Cristian's algorithm do): of several round trips, the shortest, whose midpoint
    /// is taken as the instant the worker read its clock.
    async fn measure_offsets(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<(usize, Output)>,
        printer: &Printer,
    ) {
        const PINGS: u64 = 8;
        const WAIT: Duration = Duration::from_millis(500);
        let clock = &self.ctx.clock;
        for h in 0..self.ctx.engines.len() {
            let Some(w) = self.workers.iter().position(|w| w.host == h && w.alive()) else {
                continue;
            };
            let mut best: Option<(i64, i64)> = None;
            for k in 0..PINGS {
                let id = h as u64 * 1000 + k;
                let sent_ns = clock.now_unix_ns();
                let sent = Instant::now();
                let _ = self.inputs[w].send(Message::Ping { id });
                let give_up = sent + WAIT;
                loop {
                    let answered = self.workers[w].pongs.iter().find(|p| p.0 == id).copied();
                    if let Some((_, worker_ns, at)) = answered {
                        let rtt = at.saturating_duration_since(sent.into_std()).as_nanos() as i64;
                        let offset = worker_ns - (sent_ns + rtt / 2);
                        if best.is_none_or(|(r, _)| rtt < r) {
                            best = Some((rtt, offset));
                        }
                        break;
                    }
                    if Instant::now() >= give_up {
                        break;
                    }
                    tokio::select! {
                        msg = rx.recv() => if let Some((i, out)) = msg {
                            self.apply(printer, i, &out, false);
                        },
                        _ = sleep_until(give_up) => {}
                    }
                }
            }
            self.offsets[h] = best.map(|(rtt, offset)| ClockOffset {
                offset_ns: offset,
                uncertainty_ns: rtt / 2,
            });
            if best.is_none() {
                self.problems.push(format!(
                    "host {}: its worker answered none of {PINGS} pings within {} ms each, so \
                     its clock could not be compared with ours; its start instant was given \
                     as if the clocks agreed, and its workers may have started off by as much \
                     as they differ",
                    self.ctx.engines[h].host(),
                    WAIT.as_millis()
                ));
            }
        }
    }

    /// The report's input so far: `live` during the window, final in `finish`.
    fn draft(&self, slots_done: u64, live: bool) -> Draft<'_> {
        let ctx = self.ctx;
        let interrupted = self.status == RunStatus::Interrupted;
        Draft {
            plan: &ctx.plan,
            schedule: &ctx.schedule,
            hosts: &ctx.hosts,
            offsets: self.offsets.clone(),
            image: &self.image,
            run_id: &self.run_id,
            timestamp: self.timestamp,
            data_files: ctx.corpus.files,
            data_bytes: ctx.corpus.bytes,
            data_label: &ctx.corpus.label,
            busy_pct_before_run: self.busy,
            status: self.status,
            problems: self.problems.clone(),
            workers: self
                .workers
                .iter()
                .map(|w| {
                    let mut r = w.record(interrupted, live);
                    r.host = ctx.plan.hosts[w.host].spec.name.clone();
                    r.clock_offset_ns = self.offsets[w.host].map_or(0, |o| o.offset_ns);
                    r
                })
                .collect(),
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
                // This line says more than the one the window wrote when it saw the worker
                // end: one line per worker.
                let seen_ending = [
                    format!("{} (CPU {}) stopped before its result", w.name, w.cpu),
                    format!("{} (CPU {}) stopped during its warm-up", w.name, w.cpu),
                ];
                self.problems
                    .retain(|p| !seen_ending.iter().any(|seen| p.starts_with(seen.as_str())));
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
        let mut draft = self.draft(done, false);
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
        None => table::throughput(report.total_pages_per_sec, report.total_pages_per_sec_ci95),
    };
    let target = report
        .precision
        .as_ref()
        .map(|p| match p.reached_pts {
            Some(r) => format!(", ±{r:.1} points (target ±{})", p.target_pts),
            None => format!(", target ±{}", p.target_pts),
        })
        .unwrap_or_default();
    format!("{}: {figure}{target}", round_label(rounds, planned))
}

/// "round 3/28"; a precision target may measure past the planned rounds: "round 133 (28
/// planned)" rather than "133/28".
fn round_label(rounds: u64, planned: u64) -> String {
    if rounds > planned {
        format!("round {rounds} ({planned} planned)")
    } else {
        format!("round {rounds}/{planned}")
    }
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
    // As it would be shipped: input i's files under `i/`, by their path within it.
    let listing = catalog
        .files
        .iter()
        .filter_map(|file| {
            let (i, root) = paths
                .iter()
                .enumerate()
                .find(|(_, root)| file.starts_with(root))?;
            let within = if file == root {
                PathBuf::from(file.file_name()?)
            } else {
                file.strip_prefix(root).ok()?.to_path_buf()
            };
            Some(ShippedFile {
                source: file.clone(),
                name: format!("{i}/{}", within.display()),
                bytes: std::fs::metadata(file).ok()?.len(),
            })
        })
        .collect();
    Ok(Corpus {
        paths,
        label,
        files: catalog.files.len() as u64,
        bytes: catalog.bytes,
        listing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scripted::{Fault, Script, ScriptedEngine, TestClock};
    use crate::report::model::{Band, WorkerStatus};
    use crate::schedule::tests::plan;

    #[test]
    fn rounds_past_the_plan_are_not_shown_as_a_fraction() {
        assert_eq!(round_label(3, 28), "round 3/28");
        assert_eq!(round_label(28, 28), "round 28/28");
        assert_eq!(round_label(133, 28), "round 133 (28 planned)");
    }

    struct Scripted {
        outcome: Outcome,
        _dir: tempfile::TempDir,
    }

    /// Runs `flags` against `script`; `cancel_after` sends a Ctrl-C that many (virtual)
    /// seconds in.
    async fn run_scripted(flags: &[&str], script: Script, cancel_after: Option<f64>) -> Scripted {
        let dir = tempfile::tempdir().unwrap();
        let mut all = vec![
            "--warmup-time",
            "2",
            "--countdown",
            "1",
            "--output-dir",
            dir.path().to_str().unwrap(),
        ];
        all.extend(flags);
        let plan = plan(&all);
        let schedule = Schedule::for_plan(&plan).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(TestClock::new());
        let engine = Arc::new(ScriptedEngine::new(
            script,
            Arc::clone(&clock),
            schedule.clone(),
        ));
        let (cancel_tx, cancel) = watch::channel(false);
        if let Some(after) = cancel_after {
            let tx = cancel_tx.clone();
            tokio::spawn(async move {
                sleep(Duration::from_secs_f64(after)).await;
                let _ = tx.send(true);
            });
        }
        let ctx = Context {
            file_baseline: plan.baseline_file.as_ref().map(|path| {
                crate::report::analysis::FileBaseline {
                    path: path.display().to_string(),
                    estimate: crate::report::stats::Estimate {
                        value: 1000.0,
                        ci95: Some((990.0, 1010.0)),
                        batches: 5,
                    },
                }
            }),
            plan,
            schedule,
            engines: vec![engine],
            hosts: vec![HostFacts::for_tests("local", &[0, 1, 2, 3])],
            corpus: Corpus {
                paths: Vec::new(),
                label: "scripted".into(),
                files: 10,
                bytes: 1 << 20,
                listing: Vec::new(),
            },
            reference: None,
            clock,
            cancel,
        };
        let mut printer = Printer::new(true);
        let outcome = run(&ctx, &mut printer).await.unwrap();
        drop(cancel_tx);
        Scripted { outcome, _dir: dir }
    }

    /// A pseudo-random factor in [1 - spread, 1 + spread], fixed by (worker, slot).
    fn noise(w: usize, k: u64, spread: f64) -> f64 {
        let mut x = (w as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 29;
        1.0 + spread * ((x % 2001) as f64 / 1000.0 - 1.0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_run_measures_its_efficiency_from_paired_slots() {
        let r = run_scripted(
            &["--containers", "2", "--duration", "60"],
            Script::steady(1000.0, 900.0),
            None,
        )
        .await;
        let (o, report) = (&r.outcome, &r.outcome.report);
        assert_eq!(o.code, exit::OK, "{:?}", report.problems);
        assert_eq!(report.status, RunStatus::Ok);
        assert_eq!(report.containers.len(), 2);
        let e = report.scaling_efficiency_pct.unwrap();
        assert!((e - 90.0).abs() < 0.01, "{e}");
        let [lo, hi] = report.scaling_efficiency_ci95_pct.unwrap();
        assert!(lo <= e && e <= hi && hi - lo < 0.5, "{lo} {hi}");
        assert_eq!(report.efficiency_label, Some(Band::Excellent));
        assert!((report.total_pages_per_sec - 1800.0).abs() < 1.0);
        assert_eq!(report.baseline.as_ref().unwrap().per_cpu.len(), 2);
        assert_eq!(o.files.len(), 4, "results, CSV, report.md, scaling.svg");
        assert!(o.files.iter().all(|f| f.exists()));
        assert_eq!(
            report.schedule.slots_measured,
            report.schedule.slots_planned
        );
        assert!(report.workers.iter().all(|w| w.status == WorkerStatus::Ok));
    }

    #[tokio::test(start_paused = true)]
    async fn a_study_is_the_same_pipeline_with_more_steps() {
        let r = run_scripted(
            &["--scaling-test", "--duration", "120"],
            Script::steady(1000.0, 800.0),
            None,
        )
        .await;
        let report = &r.outcome.report;
        assert_eq!(r.outcome.code, exit::OK);
        assert_eq!(
            report
                .steps
                .iter()
                .map(|s| s.containers)
                .collect::<Vec<_>>(),
            [1, 2, 4]
        );
        for step in &report.steps[1..] {
            // Pages are whole numbers: 800 x 1.587 s and 1000 x 1.587 s round to 1270 and 1587.
            assert!(
                (step.efficiency_pct.unwrap() - 80.0).abs() < 0.1,
                "{step:?}"
            );
            assert_eq!(step.efficiency_label, Some(Band::Good));
        }
        assert_eq!(
            report.containers.len(),
            4,
            "the top-level figures are the largest step's"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_precision_target_keeps_measuring_until_it_is_met() {
        let mut script = Script::steady(1000.0, 900.0);
        script.rate =
            Arc::new(|w, k, together| (if together { 900.0 } else { 1000.0 }) * noise(w, k, 0.15));
        let r = run_scripted(
            &[
                "--containers",
                "2",
                "--duration",
                "20",
                "--target-precision",
                "2",
                "--max-time",
                "600",
            ],
            script.clone(),
            None,
        )
        .await;
        let report = &r.outcome.report;
        let p = report.precision.as_ref().unwrap();
        assert!(p.met, "{p:?}");
        assert!(p.reached_pts.unwrap() <= 2.0);
        // Stopped when met (about 100 s here), long before --max-time: the interval is
        // judged after every round, while the workers are still measuring.
        assert!(p.measured_s > 20.0 && p.measured_s < 300.0, "{p:?}");
        assert!(report.schedule.slots_measured > report.schedule.slots_planned);
        assert_eq!(r.outcome.code, exit::OK);
        let [lo, hi] = report.scaling_efficiency_ci95_pct.unwrap();
        assert!(lo < 90.0 && 90.0 < hi, "{lo} {hi}");

        let r = run_scripted(
            &[
                "--containers",
                "2",
                "--duration",
                "20",
                "--target-precision",
                "0.05",
                "--max-time",
                "60",
            ],
            script,
            None,
        )
        .await;
        let p = r.outcome.report.precision.clone().unwrap();
        assert!(!p.met, "{p:?}");
        assert!(p.measured_s <= 60.0 && p.measured_s > 50.0, "{p:?}");
        let table = table::render(&r.outcome.report);
        assert!(table.contains("NOT met"), "{table}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_dying_mid_run_fails_the_run_and_the_others_are_saved() {
        let mut script = Script::steady(1000.0, 900.0);
        script.faults.insert(1, Fault::DieAtSlot(6, 137));
        let r = run_scripted(&["--containers", "2", "--duration", "60"], script, None).await;
        let report = &r.outcome.report;
        assert_eq!(r.outcome.code, exit::WORKER_FAILED);
        assert_eq!(report.status, RunStatus::WorkerFailed);
        assert_eq!(report.workers[1].status, WorkerStatus::Exited);
        assert!(
            report.problems.iter().any(|p| p.contains("scripted-2")),
            "{:?}",
            report.problems
        );
        assert_eq!(
            report.workers[0].status,
            WorkerStatus::Ok,
            "asked to stop, it reported"
        );
        assert!(!report.workers[0].slots.is_empty());
        assert_eq!(
            report.scaling_efficiency_pct, None,
            "N did not run together throughout"
        );
        // Nor does any step carry one, in any export.
        for step in &report.steps {
            assert_eq!(
                (
                    step.efficiency_pct,
                    step.efficiency_label,
                    step.loss.is_some()
                ),
                (None, None, false),
                "step {}",
                step.containers
            );
        }
        assert!(
            report.steps[1].total_pages_per_sec > 0.0,
            "throughput stays"
        );
        let csv =
            std::fs::read_to_string(r.outcome.files[0].with_file_name("scaling_analysis.csv"))
                .unwrap();
        let mut rows = csv.lines().map(|l| l.split(',').collect::<Vec<_>>());
        let header = rows.next().unwrap();
        let column = header.iter().position(|c| *c == "efficiency_pct").unwrap();
        for row in rows {
            assert_eq!(row[column], "", "{row:?}");
        }
        assert!(r.outcome.files[0].exists());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_in_every_phase_are_failures() {
        for (fault, code, status) in [
            (
                Fault::DieInWarmup(3),
                exit::WORKER_FAILED,
                RunStatus::WorkerFailed,
            ),
            (Fault::NeverReady, exit::FAILED, RunStatus::Failed),
            (Fault::FailStart, exit::FAILED, RunStatus::Failed),
            (
                Fault::StallAtSlot(3),
                exit::WORKER_FAILED,
                RunStatus::WorkerFailed,
            ),
        ] {
            let mut script = Script::steady(1000.0, 900.0);
            script.faults.insert(0, fault);
            let r = run_scripted(&["--containers", "2", "--duration", "20"], script, None).await;
            let report = &r.outcome.report;
            assert_eq!(
                (r.outcome.code, report.status),
                (code, status),
                "{fault:?}: {:?}",
                report.problems
            );
            assert!(!report.problems.is_empty(), "{fault:?}");
            assert!(
                r.outcome.files[0].exists(),
                "{fault:?}: the results are saved"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_interrupt_stops_the_workers_and_keeps_what_they_measured() {
        let r = run_scripted(
            &["--containers", "2", "--duration", "60"],
            Script::steady(1000.0, 900.0),
            Some(30.0),
        )
        .await;
        let report = &r.outcome.report;
        assert_eq!(r.outcome.code, exit::INTERRUPTED);
        assert_eq!(report.status, RunStatus::Interrupted);
        let measured = report.schedule.slots_measured;
        assert!(
            measured > 4 && measured < report.schedule.slots_planned,
            "{measured}"
        );
        assert!(report.workers.iter().all(|w| w.status == WorkerStatus::Ok));
        assert!(report.steps[1].efficiency_pct.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn another_program_on_a_core_is_named_as_the_loss() {
        let mut script = Script::steady(1000.0, 1000.0);
        script.rate = Arc::new(|w, _, together| if w == 1 && together { 400.0 } else { 1000.0 });
        script.others = Arc::new(|w, together| if w == 1 && together { 0.6 } else { 0.0 });
        let r = run_scripted(&["--containers", "2", "--duration", "60"], script, None).await;
        let loss = r.outcome.report.efficiency_loss.clone().unwrap();
        assert!((loss.contention_pts - 30.0).abs() < 1.0, "{loss:?}");
        assert!(loss.unexplained_pts.abs() < 1.0, "{loss:?}");
        let cpu1 = r
            .outcome
            .report
            .host_usage
            .iter()
            .find(|u| u.cpu == 1)
            .unwrap();
        assert!(cpu1.others_pct > 10.0, "{cpu1:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_baseline_from_a_file_needs_no_solo_slots() {
        let r = run_scripted(
            &[
                "--containers",
                "2",
                "--duration",
                "20",
                "--baseline",
                "b.json",
            ],
            Script::steady(1000.0, 950.0),
            None,
        )
        .await;
        let report = &r.outcome.report;
        assert_eq!(report.steps.len(), 1);
        assert!((report.scaling_efficiency_pct.unwrap() - 95.0).abs() < 0.01);
        assert!(report.scaling_efficiency_ci95_pct.is_some());
        assert!(matches!(
            report.baseline.as_ref().unwrap().source,
            crate::report::model::BaselineSource::File { .. }
        ));
    }
}
