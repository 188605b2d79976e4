//! Ctrl-C (SIGINT) and SIGTERM. The first asks the run to stop: each phase watches the
//! `cancel` flag, the workers are asked to stop and report, they are removed, and what was
//! measured is saved. The second ends the program at once, after asking every engine to
//! remove what it started (best effort, within [`SECOND_SIGNAL_CLEANUP`]): the engines
//! know what they started, so this module keeps no copy of it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::engine::Engine;
use crate::error::exit;

/// How long the second signal waits for the workers to be removed.
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

    /// First signal: sets `cancel`. Second: asks `engines` to remove what they started,
    /// then exits with the interrupted code.
    pub fn watch(
        mut self,
        cancel: watch::Sender<bool>,
        engines: Vec<Arc<dyn Engine>>,
    ) -> SecondSignal {
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
                "\n{name} received again: ending now, without saving; removing the workers first"
            );
            let _ = second_tx.send(true);
            // Every host at once: a host that does not answer must not use up the time
            // of the others.
            let remove_all = futures_util::future::join_all(engines.iter().map(|engine| async {
                let removal = engine.remove_started().await;
                for failed in removal.failed {
                    eprintln!("warning: could not remove {failed}");
                }
            }));
            if tokio::time::timeout(SECOND_SIGNAL_CLEANUP, remove_all)
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
    /// to the watcher, which removes the workers and exits: `work` is dropped on the spot
    /// (its local worker processes are killed on drop), so it cannot race the watcher to
    /// an exit of its own, e.g. with an error about a container the watcher is removing.
    pub async fn unless<T>(mut self, work: impl Future<Output = T>) -> T {
        tokio::select! {
            biased;
            Ok(_) = self.0.wait_for(|second| *second) => std::future::pending().await,
            out = work => out,
        }
    }
}
