//! A scripted engine for pipeline tests (as hyperfine's mock executor is): its workers
//! are tasks that speak the real protocol (hello, ready, pong, slot records, done) with
//! pages/sec chosen by the test, and fail on cue. Under tokio's paused clock a whole run
//! of minutes takes milliseconds. The real engines stay the test bed of the end-to-end
//! tests; this one tests the pipeline's logic: schedules, pairing, precision targets,
//! failures and interruptions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Result, bail};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};
use worker::protocol::{Counters, CpuTicks, Event, Message, SlotRecord};
use worker::run::WorkerArgs;

use super::{Engine, Exit, Output, Removal, ShippedFile, WorkerHandle, WorkerSpec};
use crate::facts::{EngineInfo, HostFacts};
use crate::pipeline::Clock;
use crate::schedule::{Schedule, SlotKind};

/// A worker's pages/sec in a slot: (worker from 0, slot, whether others run beside it).
pub type Rate = Arc<dyn Fn(usize, u64, bool) -> f64 + Send + Sync>;

/// How a scripted worker misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Its engine refuses to start it.
    FailStart,
    /// It exits with this code during its warm-up.
    DieInWarmup(i64),
    /// It warms up and never says it is ready.
    NeverReady,
    /// It exits with this code when slot `k` begins.
    DieAtSlot(u64, i64),
    /// It goes silent when slot `k` begins.
    StallAtSlot(u64),
}

#[derive(Clone)]
pub struct Script {
    pub rate: Rate,
    /// By worker index from 0.
    pub faults: HashMap<usize, Fault>,
    /// Share of the CPU other programs take from worker w in slots it shares.
    pub others: Arc<dyn Fn(usize, bool) -> f64 + Send + Sync>,
}

impl Script {
    /// Every worker at `alone` pages/sec alone and `together` with the others.
    pub fn steady(alone: f64, together: f64) -> Script {
        Script {
            rate: Arc::new(move |_, _, with_others| if with_others { together } else { alone }),
            faults: HashMap::new(),
            others: Arc::new(|_, _| 0.0),
        }
    }
}

/// The wall clock of a test: an epoch plus tokio's (paused) time.
pub struct TestClock {
    base: Instant,
    epoch_ns: i64,
}

impl TestClock {
    pub fn new() -> TestClock {
        TestClock {
            base: Instant::now(),
            epoch_ns: 1_800_000_000_000_000_000,
        }
    }
}

impl Clock for TestClock {
    fn now_unix_ns(&self) -> i64 {
        self.epoch_ns + self.base.elapsed().as_nanos() as i64
    }
}

#[derive(Default)]
struct State {
    /// Worker name -> (run id, how it ended so far).
    workers: HashMap<String, (String, Exit)>,
    tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
}

pub struct ScriptedEngine {
    script: Script,
    clock: Arc<dyn Clock>,
    /// What the pipeline will run: a scripted worker is told, unlike a real one, whether
    /// it is alone in a slot (a real one's speed just is what it is).
    schedule: Schedule,
    state: Arc<Mutex<State>>,
}

impl ScriptedEngine {
    pub fn new(script: Script, clock: Arc<dyn Clock>, schedule: Schedule) -> ScriptedEngine {
        ScriptedEngine {
            script,
            clock,
            schedule,
            state: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remove(&self, pick: impl Fn(&str) -> bool) -> Removal {
        let mut state = self.lock();
        let mut removal = Removal::default();
        let names: Vec<String> = state
            .workers
            .iter()
            .filter(|(_, (run, _))| pick(run))
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            state.workers.remove(&name);
            for (n, task) in &state.tasks {
                if *n == name {
                    task.abort();
                }
            }
            removal.removed.push(name);
        }
        removal
    }
}

#[async_trait]
impl Engine for ScriptedEngine {
    fn host(&self) -> &str {
        "local"
    }

    fn info(&self) -> EngineInfo {
        EngineInfo {
            kind: "scripted".to_string(),
            version: None,
            api_version: None,
        }
    }

    async fn prepare(&self, say: &(dyn Fn(String) + Send + Sync)) -> Result<String> {
        say("scripted workers: nothing to build".into());
        Ok("(scripted)".to_string())
    }

    async fn facts(&self, _say: &(dyn Fn(String) + Send + Sync)) -> Result<HostFacts> {
        Ok(HostFacts::for_tests("local", &[0, 1, 2, 3]))
    }

    async fn ship(
        &self,
        run_id: &str,
        _files: Vec<ShippedFile>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String> {
        progress(0);
        Ok(format!("scripted-{run_id}"))
    }

    async fn start(&self, spec: &WorkerSpec) -> Result<WorkerHandle> {
        let w = spec.index as usize - 1;
        let fault = self.script.faults.get(&w).copied();
        if fault == Some(Fault::FailStart) {
            bail!("the scripted engine refused to start worker {}", spec.index);
        }
        let name = format!("scripted-{}", spec.index);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        self.lock().workers.insert(
            name.clone(),
            (
                spec.run_id.clone(),
                Exit {
                    running: true,
                    ..Exit::default()
                },
            ),
        );
        let task = tokio::spawn(scripted_worker(
            w,
            spec.cpu,
            spec.settings.clone(),
            self.script.clone(),
            fault,
            Arc::clone(&self.clock),
            self.schedule.clone(),
            out_tx,
            in_rx,
            Arc::clone(&self.state),
            name.clone(),
        ));
        self.lock().tasks.push((name.clone(), task));
        Ok(WorkerHandle {
            name,
            output: out_rx,
            input: in_tx,
        })
    }

    async fn exit(&self, name: &str) -> Option<Exit> {
        self.lock().workers.get(name).map(|(_, e)| e.clone())
    }

    async fn local_pids(&self, _run_id: &str) -> Option<Vec<u32>> {
        None
    }

    async fn remove_run(&self, run_id: &str) -> Removal {
        self.remove(|run| run == run_id)
    }

    async fn remove_started(&self) -> Removal {
        self.remove(|_| true)
    }

    async fn remove_all(&self) -> Result<Removal> {
        Ok(self.remove(|_| true))
    }
}

/// The settings of a scripted worker (tests fill in what they need).
pub fn settings() -> WorkerArgs {
    WorkerArgs {
        data_dirs: Vec::new(),
        duration: 1.0,
        warmup: 0.0,
        id: None,
        messages: true,
        go_timeout: 60.0,
        max_file_size_mb: None,
        timeout_per_file: None,
        skip_extensions: Vec::new(),
        max_pages: None,
        skip_if_pages_over: None,
        progress_interval: 1.0,
        pin_cpu: None,
        fault: None,
        passes: None,
        clock_skew_ns: 0,
    }
}

#[allow(clippy::too_many_arguments)]
async fn scripted_worker(
    w: usize,
    cpu: usize,
    settings: WorkerArgs,
    script: Script,
    fault: Option<Fault>,
    clock: Arc<dyn Clock>,
    schedule: Schedule,
    out: mpsc::UnboundedSender<Output>,
    mut input: mpsc::UnboundedReceiver<Message>,
    state: Arc<Mutex<State>>,
    name: String,
) {
    let emit = |e: &Event| {
        let _ = out.send(Output::Stdout(Bytes::from(e.to_line())));
    };
    let end = |code: i64| {
        if let Some((_, exit)) = state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .workers
            .get_mut(&name)
        {
            *exit = Exit {
                running: false,
                code: Some(code),
                ..Exit::default()
            };
        }
        let _ = out.send(Output::Ended);
    };
    emit(&Event::Hello {
        protocol: worker::protocol::PROTOCOL_VERSION,
        version: "scripted".into(),
        worker_id: settings.id,
        cpus_allowed: vec![cpu],
        files_found: 10,
        bytes_found: 1 << 20,
        skipped_at_discovery: Default::default(),
    });
    sleep(Duration::from_secs_f64(settings.warmup)).await;
    if let Some(Fault::DieInWarmup(code)) = fault {
        end(code);
        return;
    }
    if fault == Some(Fault::NeverReady) {
        std::future::pending::<()>().await;
    }
    emit(&Event::Ready {
        warmup_s: settings.warmup,
        warmup: Counters::default(),
    });
    let go = loop {
        match input.recv().await {
            Some(Message::Go(go)) => break go,
            Some(Message::Ping { id }) => emit(&Event::Pong {
                id,
                worker_unix_ns: clock.now_unix_ns(),
            }),
            Some(Message::Stop { .. }) | None => {
                emit(&Event::Fatal {
                    message: "stopped before the start".into(),
                });
                end(1);
                return;
            }
        }
    };
    let t0 = Instant::now()
        + Duration::from_nanos(
            go.start_at_unix_ns
                .saturating_sub(clock.now_unix_ns())
                .max(0) as u64,
        );
    sleep_until(t0).await;
    let started = clock.now_unix_ns();
    emit(&Event::Started {
        window_start_unix_ns: started,
    });
    let slot = Duration::from_nanos(go.slot_ns);
    let stride = slot + Duration::from_nanos(go.gap_ns);
    let mut last = go.slots.map(|n| n.saturating_sub(1));
    let mut totals = Counters::default();
    let mut active_s = 0.0;
    let mut k = 0u64;
    loop {
        while let Ok(m) = input.try_recv() {
            match m {
                Message::Stop {
                    after_slot: Some(s),
                } => last = Some(last.map_or(s, |l| l.min(s))),
                Message::Stop { after_slot: None } => last = Some(k.saturating_sub(1)),
                Message::Ping { id } => emit(&Event::Pong {
                    id,
                    worker_unix_ns: clock.now_unix_ns(),
                }),
                Message::Go(_) => {}
            }
        }
        if last.is_some_and(|l| k > l) {
            break;
        }
        let start = t0 + stride * k as u32;
        sleep_until(start).await;
        match fault {
            Some(Fault::DieAtSlot(at, code)) if at == k => {
                end(code);
                return;
            }
            Some(Fault::StallAtSlot(at)) if at == k => {
                std::future::pending::<()>().await;
            }
            _ => {}
        }
        let active = go.active(k);
        let together = matches!(schedule.kind_of(k), SlotKind::Step { .. });
        let secs = slot.as_secs_f64();
        let share = 1.0 - (script.others)(w, together);
        let pages = if active {
            ((script.rate)(w, k, together) * secs).round() as u64
        } else {
            0
        };
        let ticks = (secs * 100.0).round() as u64;
        let ours = if active {
            (ticks as f64 * share).round() as u64
        } else {
            0
        };
        let theirs = if active { ticks - ours } else { 0 };
        sleep_until(start + slot).await;
        let counters = Counters {
            pages,
            files: pages / 10,
            chars: pages * 1000,
            ..Counters::default()
        };
        totals.pages += pages;
        totals.files += counters.files;
        totals.chars += counters.chars;
        if active {
            active_s += secs;
        }
        let start_ns = started + (stride * k as u32).as_nanos() as i64;
        emit(&Event::Slot(SlotRecord {
            slot: k,
            active,
            start_unix_ns: start_ns,
            end_unix_ns: start_ns + go.slot_ns as i64,
            counters,
            cpu_ns: ours * 10_000_000,
            spill_ns: 0,
            cpu: Some(cpu),
            ticks: Some(CpuTicks {
                user: ours + theirs,
                idle: ticks - ours - theirs,
                ..CpuTicks::default()
            }),
            throttling: None,
        }));
        emit(&Event::Progress {
            elapsed_s: (stride * (k + 1) as u32).as_secs_f64(),
            slot: k,
            active_s,
            cpu_s: active_s,
            counters: totals,
        });
        k += 1;
    }
    emit(&Event::Done {
        counters: totals,
        elapsed_s: active_s,
        pages_per_sec: if active_s > 0.0 {
            totals.pages as f64 / active_s
        } else {
            0.0
        },
        cpu_s: active_s,
        passes: 1,
        window_start_unix_ns: started,
        window_end_unix_ns: clock.now_unix_ns(),
        by_reason: Default::default(),
        max_rss_bytes: None,
    });
    end(0);
}
