//! One benchmark run, phase by phase: build, warm-up, coordinated start, live progress,
//! results. A "step" is one coordinated run of N containers; a run with N > 1 and no
//! `--baseline` is a solo step (1 container) followed by the N-container step.
//!
//! Whatever happens inside a step (a container dies, Ctrl-C, a timeout), its containers
//! and barrier folder are removed before the step returns, and what was measured is
//! returned so it can be saved.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use bollard::Docker;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};
use worker::protocol::Event;

use crate::barrier::{Barrier, container_user};
use crate::config::{Plan, Runtime};
use crate::docker::container::ExitInfo;
use crate::docker::{EngineInfo, image};
use crate::error::exit;
use crate::fleet::{Fleet, Job, Msg, own_user};
use crate::host;
use crate::monitor::Tracker;
use crate::monitor::display::Printer;
use crate::report::analysis;
use crate::report::export::{csv, json, table};
use crate::report::model::{
    Baseline, ContainerResult, HostInfo, RunResult, RunStatus, Settings, Totals,
};
use crate::signals::InFlight;
use crate::topology::TopologySummary;

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
/// The solo baseline step is at most this long.
const SOLO_MAX_S: f64 = 10.0;

/// Shared by every step of a run.
pub struct Session {
    /// None with `--runtime process`.
    pub docker: Option<Docker>,
    pub engine: EngineInfo,
    pub printer: Printer,
    /// Machine CPU use before the run, percent.
    pub busy_pct: Option<f64>,
    /// The machine's shape, for the report.
    pub topology: Option<TopologySummary>,
    /// Becomes true on Ctrl-C or SIGTERM.
    pub cancel: watch::Receiver<bool>,
    /// The step in progress, for a second signal to remove.
    pub in_flight: InFlight,
}

impl Session {
    /// What a worker is called in messages: a container, or a local process.
    fn noun(&self) -> &'static str {
        if self.docker.is_some() {
            "Container"
        } else {
            "Process"
        }
    }

    fn docker(&self) -> Result<&Docker> {
        self.docker
            .as_ref()
            .context("the Docker runtime was chosen but no Docker connection was made")
    }
}

/// What one step measured.
pub struct Step {
    /// Workers asked for.
    n: usize,
    run_id: String,
    containers: Vec<ContainerResult>,
    status: RunStatus,
    problems: Vec<String>,
}

/// Runs the whole benchmark and returns the exit code.
pub async fn run(session: &mut Session, plan: &Plan) -> Result<u8> {
    let image = prepare(session, plan).await?;

    let mut problems = Vec::new();
    let mut baseline = None;
    if plan.containers == 1 {
        // The run itself is the single-container figure.
    } else if let Some(file) = &plan.baseline_file {
        let (loaded, earlier) = load_baseline(file)?;
        if earlier.settings.data_dir != plan.data_label
            || earlier.settings.data_files != plan.data_files
        {
            let warning = format!(
                "the baseline {} was measured on {} ({} files), this run uses {} ({} files): \
                 the efficiency compares unlike runs",
                file.display(),
                earlier.settings.data_dir,
                earlier.settings.data_files,
                plan.data_label,
                plan.data_files
            );
            session.printer.line(&format!("warning: {warning}"));
            problems.push(warning);
        }
        baseline = Some(loaded);
    } else {
        let solo_s = plan.duration_s.min(SOLO_MAX_S);
        session.printer.line(&format!(
            "Scaling efficiency needs the single-container figure: measuring a {solo_s:.0} s \
             solo run on CPU {} first (pass --baseline FILE to reuse an earlier one).",
            plan.cpus[0]
        ));
        let solo = run_step(session, plan, &image, 1, solo_s, "solo").await?;
        let ok = solo.status == RunStatus::Ok;
        if let Some(c) = solo.containers.first().filter(|_| ok) {
            session.printer.line(&format!(
                "Solo baseline: {:.1} pages/s on CPU {}",
                c.pages_per_sec, c.cpu
            ));
            baseline = Some(Baseline {
                pages_per_sec: c.pages_per_sec,
                source: format!(
                    "solo run before this one ({solo_s:.0} s, run {})",
                    solo.run_id
                ),
                containers: solo.containers.clone(),
            });
        } else {
            // An interrupted solo run may have no problem of its own to name.
            let why = if solo.problems.is_empty() {
                solo.status.label().to_string()
            } else {
                solo.problems.join("; ")
            };
            problems.push(format!(
                "the solo baseline run did not complete ({why}); no scaling efficiency"
            ));
            if solo.status == RunStatus::Interrupted {
                let result = assemble(session, plan, &image, solo, None, problems);
                return save_and_report(session, plan, result);
            }
        }
    }

    let step = run_step(
        session,
        plan,
        &image,
        plan.containers,
        plan.duration_s,
        "main",
    )
    .await?;
    if plan.containers == 1
        && step.status == RunStatus::Ok
        && let Some(c) = step.containers.first()
    {
        baseline = Some(Baseline {
            pages_per_sec: c.pages_per_sec,
            source: "this run (1 container)".into(),
            containers: Vec::new(),
        });
    }
    let result = assemble(session, plan, &image, step, baseline, problems);
    save_and_report(session, plan, result)
}

/// Phase 1: the image (Docker runtime), then a look at how busy the machine is.
pub async fn prepare(session: &mut Session, plan: &Plan) -> Result<String> {
    let image = match plan.runtime {
        Runtime::Docker => {
            session.printer.phase(1, PHASES, "Build");
            build_image(session).await?
        }
        Runtime::Process => {
            session.printer.phase(
                1,
                PHASES,
                "Build: no image needed (--runtime process runs the workers as local processes)",
            );
            "(process runtime)".to_string()
        }
    };
    session.busy_pct = host::busy_pct(Duration::from_secs(1)).await;
    if *session.cancel.borrow() {
        // Signalled while the machine's load was sampled: no worker is started.
        bail!(Interrupted {
            during: "the check of the machine's load"
        });
    }
    if let Some(busy) = session.busy_pct.filter(|b| *b > BUSY_WARN_PCT) {
        session.printer.line(&format!(
            "warning: the machine was {busy:.0}% busy before the run (other processes). \
             Their load lowers and spreads every figure; stop them for numbers you can trust."
        ));
    }
    Ok(image)
}

async fn build_image(session: &mut Session) -> Result<String> {
    let docker = session.docker()?.clone();
    let printer = &session.printer;
    let mut on_step = |line: &str| printer.line(&format!("  {line}"));
    let mut cancel = session.cancel.clone();
    let (tag, built) = tokio::select! {
        r = image::ensure(&docker, &mut on_step) => r?,
        _ = cancel.wait_for(|c| *c) => bail!(Interrupted {
            during: "the image build"
        }),
    };
    match built {
        image::Built::UpToDate => printer.line(&format!("  Image {tag} is up to date")),
        image::Built::Built { steps } => {
            printer.line(&format!("  Built image {tag} ({steps} steps)"))
        }
    }
    Ok(tag)
}

/// Ctrl-C or SIGTERM before any worker was started: there is no run to report, so no
/// results file is written (a step that started workers always saves one).
#[derive(Debug)]
pub struct Interrupted {
    /// The phase, e.g. "the image build".
    pub during: &'static str,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted during {}, before any worker started: nothing was measured, \
             no results written",
            self.during
        )
    }
}

impl std::error::Error for Interrupted {}

/// One coordinated run of `n` containers for `duration_s`.
pub async fn run_step(
    session: &mut Session,
    plan: &Plan,
    image: &str,
    n: usize,
    duration_s: f64,
    label: &str,
) -> Result<Step> {
    let run_id = new_run_id();
    let user = match plan.runtime {
        Runtime::Docker => container_user(),
        Runtime::Process => own_user(),
    };
    let barrier = Barrier::create(&run_id, user)?;
    let mut trackers: Vec<Tracker> = Vec::new();
    let (tx, rx) = mpsc::unbounded_channel();

    // Start every worker; the step's cleanup runs whatever happens next.
    let mut fleet = match plan.runtime {
        Runtime::Docker => Fleet::Docker {
            docker: session.docker()?.clone(),
            run_id: run_id.clone(),
        },
        Runtime::Process => Fleet::Process {
            children: Vec::new(),
        },
    };
    let removable = match &fleet {
        Fleet::Docker { docker, run_id } if plan.cleanup => Some((docker.clone(), run_id.clone())),
        _ => None,
    };
    session
        .in_flight
        .begin(removable, barrier.dir().to_path_buf());
    let job = Job {
        plan,
        image,
        n,
        duration_s,
        run_id: &run_id,
        barrier: &barrier,
        user,
    };
    let started = fleet.start(&job, &tx, &mut trackers).await;
    session.in_flight.add_pids(fleet.pids());
    drop(tx);
    let outcome = match started {
        Ok(()) => {
            drive(
                session,
                plan,
                &barrier,
                &mut trackers,
                rx,
                duration_s,
                label,
            )
            .await
        }
        Err(e) => Err(e),
    };

    // Exit states, then cleanup, then the figures.
    let mut exits = HashMap::new();
    for (i, t) in trackers.iter().enumerate() {
        if let Some(info) = fleet.exit_info(i, &t.name).await {
            exits.insert(t.name.clone(), info);
        }
    }
    if let Err(e) = write_logs(&plan.output_dir, &trackers) {
        session.printer.line(&format!("warning: {e:#}"));
    }
    let cleanup_result = if plan.cleanup || plan.runtime == Runtime::Process {
        fleet.cleanup().await
    } else {
        session.printer.line(&format!(
            "  Kept {} container(s) (--no-cleanup); remove them with `distributed-benchmark cleanup`",
            trackers.len()
        ));
        Ok(())
    };
    let barrier_result = barrier.remove();
    session.in_flight.end();

    let (status, mut problems) = outcome?;
    cleanup_result?;
    barrier_result?;
    let containers = trackers
        .iter()
        .map(|t| {
            let interrupted = status == RunStatus::Interrupted;
            t.to_result(container_status(t, exits.get(&t.name), interrupted))
        })
        .collect::<Vec<_>>();
    let mut status = status;
    for c in &containers {
        if c.status != "ok" {
            problems.push(format!("{} (CPU {}): {}", c.name, c.cpu, c.status));
            if status == RunStatus::Ok {
                status = RunStatus::ContainerFailed;
            }
        }
    }
    Ok(Step {
        n,
        run_id,
        containers,
        status,
        problems,
    })
}

/// Warm-up, countdown and window. Returns the step's status and problems found so far.
async fn drive(
    session: &mut Session,
    plan: &Plan,
    barrier: &Barrier,
    trackers: &mut [Tracker],
    mut rx: mpsc::UnboundedReceiver<(usize, Msg)>,
    duration_s: f64,
    label: &str,
) -> Result<(RunStatus, Vec<String>)> {
    let mut cancel = session.cancel.clone();
    let mut problems = Vec::new();

    // Warm-up: every container walks the corpus, then writes its ready file.
    session.printer.phase(
        2,
        PHASES,
        &format!(
            "Warm-up ({label}): {} {}(s), {:.0} s each",
            trackers.len(),
            session.noun().to_lowercase(),
            plan.warmup_s
        ),
    );
    let ready_deadline = Instant::now() + secs(plan.warmup_s + plan.ready_timeout_s);
    loop {
        let alive = trackers.iter().filter(|t| !t.exited).count();
        let waiting: Vec<&Tracker> = trackers
            .iter()
            .filter(|t| !t.exited && !t.ready_at(barrier))
            .collect();
        if alive == 0 {
            // Each container's own status (OOM-killed, exit code, last word) is added
            // when the step is summed up.
            problems.push(format!(
                "every container stopped during warm-up: {}",
                describe_stops(trackers)
            ));
            return Ok((RunStatus::ContainerFailed, problems));
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() >= ready_deadline {
            let names: Vec<String> = waiting
                .iter()
                .map(|t| format!("{} (CPU {})", t.name, t.cpu))
                .collect();
            problems.push(format!(
                "never became ready within {:.0} s of warm-up + {:.0} s: {}",
                plan.warmup_s,
                plan.ready_timeout_s,
                names.join(", ")
            ));
            return Ok((RunStatus::Failed, problems));
        }
        tokio::select! {
            msg = rx.recv() => {
                if let Some((i, msg)) = msg {
                    handle(session, trackers, i, msg, false);
                }
            }
            _ = sleep(Duration::from_millis(50)) => {}
            _ = cancel.wait_for(|c| *c) => return Ok((RunStatus::Interrupted, problems)),
        }
    }

    // Coordinated start: the go file names the instant every window opens.
    session.printer.phase(3, PHASES, "Coordinated start");
    let countdown = plan.countdown_s;
    let start_at = SystemTime::now() + Duration::from_secs(countdown);
    let start_instant = Instant::now() + Duration::from_secs(countdown);
    barrier.release(start_at)?;
    for k in (1..=countdown).rev() {
        session.printer.countdown_word(&format!("{k}..."), false);
        let tick = start_instant - Duration::from_secs(k - 1);
        tokio::select! {
            _ = sleep_until(tick) => {}
            _ = cancel.wait_for(|c| *c) => {
                session.printer.countdown_word("", true);
                let _ = barrier.stop();
                return Ok((RunStatus::Interrupted, problems));
            }
        }
        // Lines that arrive meanwhile (rare) are applied later, in order.
    }
    session.printer.countdown_word("GO!", true);

    // The window: live progress until every container has reported `done` or stopped.
    session
        .printer
        .phase(4, PHASES, &format!("Measuring for {duration_s:.0} s"));
    session.printer.live_start(trackers, duration_s);
    let mut deadline = start_instant + secs(duration_s + DONE_GRACE_S);
    // A worker prints progress every interval; far longer silence means it is stuck.
    let stall_after = secs(STALL_AFTER_S + 3.0 * plan.worker.progress_interval);
    let mut status = RunStatus::Ok;
    loop {
        if trackers.iter().all(|t| t.done.is_some() || t.exited) {
            break;
        }
        if Instant::now() >= deadline {
            for t in trackers.iter().filter(|t| t.done.is_none() && !t.exited) {
                problems.push(if status == RunStatus::Interrupted {
                    format!(
                        "{} sent no result within {STOP_GRACE_S:.0} s of being asked to stop; \
                         its pages up to its last progress line are kept",
                        t.name
                    )
                } else {
                    format!(
                        "{} sent no result within {DONE_GRACE_S:.0} s of the window's end",
                        t.name
                    )
                });
            }
            break;
        }
        for t in trackers.iter_mut() {
            let silent = t.last_heard.map_or(Duration::ZERO, |at| at.elapsed());
            if t.done.is_none() && !t.exited && silent > stall_after {
                t.stalled = true;
                t.exited = true;
                problems.push(format!(
                    "{} (CPU {}) stopped writing: no output for {:.0} s",
                    t.name,
                    t.cpu,
                    silent.as_secs_f64()
                ));
            }
        }
        tokio::select! {
            msg = rx.recv() => match msg {
                Some((i, msg)) => handle(session, trackers, i, msg, true),
                None => break,
            },
            _ = sleep(Duration::from_millis(250)) => {}
            _ = cancel.wait_for(|c| *c), if status != RunStatus::Interrupted => {
                status = RunStatus::Interrupted;
                session.printer.line("Interrupted: asking the workers to stop and report what they measured...");
                let _ = barrier.stop();
                deadline = deadline.min(Instant::now() + secs(STOP_GRACE_S));
            }
        }
        session.printer.live_update(trackers);
    }
    session.printer.live_finish();
    Ok((status, problems))
}

/// Applies one message from container `i`.
fn handle(session: &Session, trackers: &mut [Tracker], i: usize, msg: Msg, live: bool) {
    let t = &mut trackers[i];
    t.last_heard = Some(std::time::Instant::now());
    match msg {
        Msg::Line(line) => match t.apply(&line) {
            Some(Event::Ready { warmup_s, warmup }) => session.printer.line(&format!(
                "  {} {} ready on CPU {} (warm-up: {} pages in {:.1} s)",
                session.noun(),
                t.name,
                t.cpu,
                warmup.pages,
                warmup_s
            )),
            Some(Event::Fatal { message }) => {
                session.printer.line(&format!("  {}: {message}", t.name))
            }
            Some(Event::FileError {
                path,
                reason,
                detail,
                ..
            }) if !live => session.printer.line(&format!(
                "  {}: {} ({}): {detail}",
                t.name,
                path,
                reason.label()
            )),
            _ => {}
        },
        Msg::Ended => {
            t.exited = true;
            if t.done.is_none() {
                session.printer.line(&format!(
                    "  {} {} (CPU {}) stopped before reporting its result",
                    session.noun(),
                    t.name,
                    t.cpu
                ));
            }
        }
    }
}

impl Tracker {
    /// Ready by its own word and by its file in the barrier folder.
    fn ready_at(&self, barrier: &Barrier) -> bool {
        self.ready && barrier.is_ready(self.index)
    }
}

fn describe_stops(trackers: &[Tracker]) -> String {
    trackers
        .iter()
        .map(|t| match &t.fatal {
            Some(m) => format!("{}: {m}", t.name),
            None => format!("{}: stopped", t.name),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The container's status for the report: `ok` when it delivered its result, otherwise
/// what Docker says happened, with the worker's own last word if it had one. A worker
/// still warming up when the run was `interrupted` did not fail to become ready.
fn container_status(t: &Tracker, exit: Option<&ExitInfo>, interrupted: bool) -> String {
    if t.done.is_some() {
        return "ok".into();
    }
    if t.stalled {
        return "stalled (stopped writing during the window)".into();
    }
    let mut status = match exit {
        Some(e) if e.oom_killed => "oom_killed".to_string(),
        Some(e) if e.running && !t.ready && interrupted => {
            "not measured (interrupted during its warm-up)".to_string()
        }
        Some(e) if e.running && !t.ready => "never became ready".to_string(),
        Some(e) if e.running && t.window_start_unix_ns.is_none() => {
            "not measured (the run ended before its window)".to_string()
        }
        Some(e) if e.running => "no result (still running at the deadline)".to_string(),
        Some(e) => e.status(),
        None => "no result".to_string(),
    };
    if status == "ok" {
        status = "exited without a result".into();
    }
    if let Some(fatal) = &t.fatal {
        status.push_str(&format!(": {fatal}"));
    }
    status
}

fn write_logs(output_dir: &Path, trackers: &[Tracker]) -> Result<()> {
    let dir = output_dir.join("containers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for t in trackers {
        let path = dir.join(format!("{}.log", t.name));
        std::fs::write(&path, &t.log).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

pub fn assemble(
    session: &Session,
    plan: &Plan,
    image: &str,
    step: Step,
    baseline: Option<Baseline>,
    mut problems: Vec<String>,
) -> RunResult {
    problems.extend(step.problems);
    let cores = crate::config::online_cpus().len();
    let mut result = RunResult {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: step.run_id,
        timestamp: Utc::now(),
        status: step.status,
        problems,
        host: HostInfo {
            busy_pct_before_run: session.busy_pct,
            topology: session.topology.clone(),
            ..host::describe(&session.engine, cores)
        },
        settings: Settings {
            containers: step.n,
            duration_s: plan.duration_s,
            warmup_s: plan.warmup_s,
            data_dir: plan.data_label.clone(),
            data_files: plan.data_files,
            data_bytes: plan.data_bytes,
            cpus: plan.cpus[..step.n.min(plan.cpus.len())].to_vec(),
            memory_bytes: plan.memory_bytes,
            image: image.to_string(),
            runtime: plan.runtime,
            oversubscribed: plan.oversubscribed,
            config_file: plan.config_file.as_ref().map(|p| p.display().to_string()),
            config: serde_json::to_value(&plan.config).unwrap_or_default(),
        },
        containers: step.containers,
        totals: Totals::default(),
        total_pages_per_sec: 0.0,
        avg_pages_per_sec_per_container: 0.0,
        start_skew_ms: None,
        baseline,
        scaling_efficiency_pct: None,
        efficiency_label: None,
        throughput_stats: None,
        repeat: 1,
    };
    analysis::finish(&mut result);
    result
}

/// Writes the JSON and the CSV row, prints the results, and maps the status to an exit code.
fn save_and_report(session: &Session, plan: &Plan, result: RunResult) -> Result<u8> {
    let json = json::write_json(&result, &plan.output_dir)?;
    let csv = csv::append_csv(&result, &plan.output_dir)?;
    session.printer.results(&table::render_table(&result));
    session.printer.line(&format!(
        "Results: {}\nCSV row: {}\nContainer logs: {}",
        json.display(),
        csv.display(),
        plan.output_dir.join("containers").display()
    ));
    Ok(match result.status {
        RunStatus::Ok => exit::OK,
        RunStatus::ContainerFailed => exit::CONTAINER_FAILED,
        RunStatus::Interrupted => exit::INTERRUPTED,
        RunStatus::Failed => exit::FAILED,
    })
}

/// An earlier results file as the baseline: its single container's pages/sec, or the
/// baseline it used itself.
fn load_baseline(file: &Path) -> Result<(Baseline, RunResult)> {
    let bad =
        |why: String| crate::error::InputError(format!("--baseline {}: {why}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let earlier: RunResult = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a results file of this tool: {e}")))?;
    let pps = match (earlier.containers.as_slice(), &earlier.baseline) {
        ([one], _) if one.status == "ok" => one.pages_per_sec,
        (_, Some(b)) => b.pages_per_sec,
        _ => return Err(bad("it has neither a 1-container result nor a baseline".into()).into()),
    };
    if pps.is_nan() || pps <= 0.0 {
        return Err(bad("its single-container figure is zero".into()).into());
    }
    Ok((
        Baseline {
            pages_per_sec: pps,
            source: format!("file {}", file.display()),
            containers: Vec::new(),
        },
        earlier,
    ))
}

fn new_run_id() -> String {
    let mut hash = Sha256::new();
    hash.update(format!("{:?}{}", SystemTime::now(), std::process::id()));
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
