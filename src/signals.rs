//! Ctrl-C (SIGINT) and SIGTERM. The first asks the run to stop: each phase watches the
//! `cancel` flag, the step in progress removes its workers and what was measured is saved.
//! The second ends the program at once, after removing the workers and the barrier folder
//! of the step in progress (best effort, within [`SECOND_SIGNAL_CLEANUP`]), so that even an
//! impatient user is left with no container, process or folder of ours.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use bollard::Docker;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::docker::container;
use crate::error::exit;

/// How long the second signal waits for the step's workers to be removed.
const SECOND_SIGNAL_CLEANUP: Duration = Duration::from_secs(5);

/// The two signals, listened to from the moment they are installed: a signal that
/// arrives before the watching task first runs is not lost (nor does it kill us).
pub struct Signals {
    int: Signal,
    term: Signal,
}

impl Signals {
    pub fn install() -> Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
            term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    /// The name of the next signal received.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// First signal: sets `cancel`. Second: removes what `in_flight` names, then exits
    /// with the interrupted code.
    pub fn watch(mut self, cancel: watch::Sender<bool>, in_flight: InFlight) -> SecondSignal {
        let (second_tx, second) = watch::channel(false);
        tokio::spawn(async move {
            let name = self.next().await;
            // Said before the run is told: once told, it may end (and this task with it)
            // at once.
            eprintln!(
                "\n{name} received: stopping, removing the workers and saving what was \
                 measured (a second signal ends at once)..."
            );
            let _ = cancel.send(true);
            let name = self.next().await;
            eprintln!(
                "\n{name} received again: ending now, without saving; removing the workers \
                 of the step in progress first"
            );
            let _ = second_tx.send(true);
            if tokio::time::timeout(SECOND_SIGNAL_CLEANUP, in_flight.remove())
                .await
                .is_err()
            {
                eprintln!(
                    "warning: removing the workers took over {} s; remove what is left with \
                     `distributed-benchmark cleanup`",
                    SECOND_SIGNAL_CLEANUP.as_secs()
                );
            }
            std::process::exit(exit::INTERRUPTED.into());
        });
        SecondSignal(second)
    }
}

/// Becomes true on the second signal.
pub struct SecondSignal(watch::Receiver<bool>);

impl SecondSignal {
    /// Runs `work` unless a second signal comes first. From then on the program belongs
    /// to the watcher, which removes the step's workers and exits: `work` is dropped on the
    /// spot (its local worker processes are killed on drop), so it cannot race the
    /// watcher to an exit of its own, e.g. with an error about a container the watcher is
    /// removing.
    pub async fn unless<T>(mut self, work: impl Future<Output = T>) -> T {
        tokio::select! {
            biased;
            Ok(_) = self.0.wait_for(|second| *second) => std::future::pending().await,
            out = work => out,
        }
    }
}

/// What the step in progress has made, for a second signal to remove: shared between the
/// step (which sets and clears it) and the signal watcher.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<Option<Step>>>);

/// One step's workers and barrier folder.
#[derive(Clone)]
struct Step {
    /// Its containers carry the run id as a label (None with `--runtime process`).
    docker: Option<(Docker, String)>,
    barrier: PathBuf,
    /// Process ids of local workers (`--runtime process`).
    pids: Vec<u32>,
}

impl InFlight {
    /// A step has begun: its barrier folder exists and, with Docker, its containers will
    /// carry `run_id`.
    pub fn begin(&self, docker: Option<(Docker, String)>, barrier: PathBuf) {
        *self.lock() = Some(Step {
            docker,
            barrier,
            pids: Vec::new(),
        });
    }

    /// Local workers of the step in progress.
    pub fn add_pids(&self, pids: impl IntoIterator<Item = u32>) {
        if let Some(step) = self.lock().as_mut() {
            step.pids.extend(pids);
        }
    }

    /// The step has removed everything itself.
    pub fn end(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Step>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills the step's processes, removes its containers and barrier folder; every
    /// failure is skipped (the program is ending).
    async fn remove(&self) {
        let Some(step) = self.lock().clone() else {
            return;
        };
        for pid in step.pids.into_iter().filter(|&pid| is_our_child(pid)) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        if let Some((docker, run_id)) = &step.docker
            && let Ok(found) = container::list_ours(docker, Some(run_id)).await
        {
            for (name, _) in found {
                let _ = container::remove(docker, &name).await;
            }
        }
        let _ = std::fs::remove_dir_all(&step.barrier);
    }
}

/// True when `pid` is still a child of this process: a worker already reaped may have
/// had its id reused by some other program, which must not be killed.
fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so read after
    // the last `)`.
    let ppid = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|p| p.parse::<u32>().ok());
    ppid == Some(std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_children_are_ours() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        assert!(is_our_child(child.id()));
        assert!(!is_our_child(std::process::id()), "not our own child");
        assert!(!is_our_child(1), "init is not our child");
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!is_our_child(child.id()), "reaped");
    }
}
