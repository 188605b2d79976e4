//! `--runtime process`: the same workers as local processes of this executable, each
//! pinned with sched_setaffinity (by the worker itself, `--pin-cpu`), talking the same
//! protocol over pipes. For machines without Docker, and to measure what containers cost.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use worker::protocol::Message;

use crate::cli::Runtime;
use crate::engine::{
    Engine, Exit, LineSplitter, Output, Removal, ShippedFile, WorkerData, WorkerHandle, WorkerSpec,
    forward_lines,
};
use crate::facts::{EngineInfo, HostFacts};

/// How long a worker that is finishing is given to exit before it is said to run.
const EXIT_GRACE: Duration = Duration::from_secs(2);

struct Started {
    run_id: String,
    child: Child,
}

#[derive(Default)]
pub struct ProcessEngine {
    /// Live and ended children by worker name; removed by `remove_run`.
    children: Mutex<HashMap<String, Started>>,
}

impl ProcessEngine {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Started>> {
        self.children.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills and reaps the children `pick` selects.
    async fn kill(&self, pick: impl Fn(&Started) -> bool) -> Removal {
        let picked: Vec<(String, Started)> = {
            let mut children = self.lock();
            let names: Vec<String> = children
                .iter()
                .filter(|(_, s)| pick(s))
                .map(|(n, _)| n.clone())
                .collect();
            names
                .into_iter()
                .filter_map(|n| children.remove(&n).map(|s| (n, s)))
                .collect()
        };
        let mut removal = Removal::default();
        for (name, mut started) in picked {
            match started.child.kill().await {
                Ok(()) => removal.removed.push(name),
                // Already exited and reaped: nothing left of it.
                Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                    removal.removed.push(name)
                }
                Err(e) => removal.failed.push(format!("{name}: {e}")),
            }
        }
        removal
    }
}

#[async_trait]
impl Engine for ProcessEngine {
    fn host(&self) -> &str {
        "local"
    }

    fn info(&self) -> EngineInfo {
        EngineInfo {
            kind: "process".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
            api_version: None,
        }
    }

    async fn prepare(&self, say: &(dyn Fn(String) + Send + Sync)) -> Result<String> {
        say("no image needed: the workers run as local processes of this executable".into());
        Ok("(process runtime)".to_string())
    }

    async fn facts(&self, _say: &(dyn Fn(String) + Send + Sync)) -> Result<HostFacts> {
        let mut facts = HostFacts::local(Runtime::Process);
        facts.engine = self.info();
        Ok(facts)
    }

    async fn ship(
        &self,
        _run_id: &str,
        _files: Vec<ShippedFile>,
        _progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String> {
        anyhow::bail!("local processes read the corpus where it is: there is nothing to ship")
    }

    async fn start(&self, spec: &WorkerSpec) -> Result<WorkerHandle> {
        let exe: PathBuf = std::env::current_exe().context("locating this executable")?;
        let mut settings = spec.settings.clone();
        settings.pin_cpu = Some(spec.cpu);
        settings.data_dirs = match &spec.data {
            WorkerData::Paths(paths) => paths.clone(),
            WorkerData::Volume(v) => anyhow::bail!("local processes cannot read volume {v}"),
        };
        let mut child = Command::new(&exe)
            .arg("worker")
            .arg("--settings")
            .arg(settings.to_json())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} worker", exe.display()))?;
        let name = format!("worker-{}", spec.index);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(read_lines(stderr, Output::Stderr, out_tx.clone(), false));
        }
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(read_lines(stdout, Output::Stdout, out_tx, true));
        }
        let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Message>();
        if let Some(mut stdin) = child.stdin.take() {
            tokio::spawn(async move {
                while let Some(message) = in_rx.recv().await {
                    if stdin.write_all(message.to_line().as_bytes()).await.is_err() {
                        break;
                    }
                }
                // Dropping stdin closes it.
            });
        }
        self.lock().insert(
            name.clone(),
            Started {
                run_id: spec.run_id.clone(),
                child,
            },
        );
        Ok(WorkerHandle {
            name,
            output: out_rx,
            input: in_tx,
        })
    }

    async fn exit(&self, name: &str) -> Option<Exit> {
        let give_up = tokio::time::Instant::now() + EXIT_GRACE;
        loop {
            let status = {
                let mut children = self.lock();
                let started = children.get_mut(name)?;
                started.child.try_wait().ok()?
            };
            if let Some(status) = status {
                use std::os::unix::process::ExitStatusExt;
                return Some(Exit {
                    running: false,
                    oom_killed: false,
                    code: status
                        .code()
                        .map(i64::from)
                        .or_else(|| status.signal().map(|s| 128 + i64::from(s))),
                    error: None,
                });
            }
            if tokio::time::Instant::now() >= give_up {
                return Some(Exit {
                    running: true,
                    ..Exit::default()
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn local_pids(&self, run_id: &str) -> Option<Vec<u32>> {
        Some(
            self.lock()
                .values()
                .filter(|s| s.run_id == run_id)
                .filter_map(|s| s.child.id())
                .collect(),
        )
    }

    async fn remove_run(&self, run_id: &str) -> Removal {
        self.kill(|s| s.run_id == run_id).await
    }

    async fn remove_started(&self) -> Removal {
        self.kill(|_| true).await
    }

    async fn remove_all(&self) -> Result<Removal> {
        // Local workers never outlive the program that started them (kill on drop).
        Ok(self.remove_started().await)
    }
}

/// Sends each line of `stream`, then (for stdout) that it ended.
async fn read_lines(
    mut stream: impl AsyncRead + Unpin,
    wrap: fn(bytes::Bytes) -> Output,
    tx: mpsc::UnboundedSender<Output>,
    announce_end: bool,
) {
    let mut splitter = LineSplitter::default();
    let mut chunk = vec![0u8; 64 * 1024];
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        forward_lines(&mut splitter, &chunk[..n], wrap, &tx);
    }
    if let Some(line) = splitter.finish() {
        let _ = tx.send(wrap(line));
    }
    if announce_end {
        let _ = tx.send(Output::Ended);
    }
}
