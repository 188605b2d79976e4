//! The workers of one step, however they run: Docker containers pinned with cpuset, or
//! local processes pinned with sched_setaffinity (`--runtime process`). Either way each
//! worker's output arrives as lines on one channel, tagged with the worker's position.

use anyhow::Result;
use bollard::Docker;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::mpsc;
use worker::run::WorkerArgs;

use crate::barrier::Barrier;
use crate::config::Plan;
use crate::docker::container::{self, ContainerSpec, ExitInfo};
use crate::monitor::{LineBuffer, Tracker};
use crate::process;

/// A message from a container's log follower.
pub enum Msg {
    Line(String),
    Ended,
}

/// The uid:gid of this process (the process runtime's workers run as us).
pub fn own_user() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map_or((0, 0), |m| (m.uid(), m.gid()))
}

/// What every worker of a step shares.
pub struct Job<'a> {
    pub plan: &'a Plan,
    pub image: &'a str,
    pub n: usize,
    pub duration_s: f64,
    pub run_id: &'a str,
    pub barrier: &'a Barrier,
    pub user: (u32, u32),
}

impl Job<'_> {
    /// The worker settings for this step, with host paths.
    fn worker_args(&self) -> WorkerArgs {
        let mut worker = self.plan.worker.clone();
        worker.duration = self.duration_s;
        // Workers give up waiting for the go file a little after the orchestrator would.
        worker.go_timeout =
            self.plan.warmup_s + self.plan.ready_timeout_s + self.plan.countdown_s as f64 + 60.0;
        worker
    }

    /// `--inject-fault` applies to one worker only.
    fn with_fault(&self, worker: &WorkerArgs, index: u32) -> WorkerArgs {
        let mut worker = worker.clone();
        worker.fault = self
            .plan
            .inject_fault
            .filter(|(_, at)| *at == index)
            .map(|(fault, _)| fault);
        worker
    }
}

/// The workers of one step, however they run.
pub enum Fleet {
    Docker { docker: Docker, run_id: String },
    Process { children: Vec<Child> },
}

impl Fleet {
    /// Starts `job.n` workers, each followed by a task that sends its output lines.
    pub async fn start(
        &mut self,
        job: &Job<'_>,
        tx: &mpsc::UnboundedSender<(usize, Msg)>,
        trackers: &mut Vec<Tracker>,
    ) -> Result<()> {
        let worker = job.worker_args();
        match self {
            Fleet::Docker { docker, .. } => {
                for i in 0..job.n {
                    let index = i as u32 + 1;
                    let spec = ContainerSpec {
                        name: format!("distributed-benchmark-{index}"),
                        index,
                        cpu: job.plan.cpus[i],
                        image: job.image.to_string(),
                        run_id: job.run_id.to_string(),
                        barrier_host: job.barrier.dir().to_path_buf(),
                        inputs: job.plan.inputs.clone(),
                        worker: job.with_fault(&worker, index),
                        memory_bytes: job.plan.memory_bytes,
                        numa_node: job.plan.numa_nodes.get(i).copied().flatten(),
                        nano_cpus: job.plan.nano_cpus,
                        user: format!("{}:{}", job.user.0, job.user.1),
                    };
                    let name = container::create(docker, &spec).await?;
                    trackers.push(Tracker::new(name, index, spec.cpu));
                }
                for (i, t) in trackers.iter().enumerate() {
                    container::start(docker, &t.name).await?;
                    let mut logs = container::logs(docker, &t.name);
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let mut lines = LineBuffer::default();
                        while let Some(Ok(chunk)) = logs.next().await {
                            for line in lines.push(&chunk) {
                                let _ = tx.send((i, Msg::Line(line)));
                            }
                        }
                        if let Some(rest) = lines.finish() {
                            let _ = tx.send((i, Msg::Line(rest)));
                        }
                        let _ = tx.send((i, Msg::Ended));
                    });
                }
            }
            Fleet::Process { children } => {
                for i in 0..job.n {
                    let index = i as u32 + 1;
                    let cpu = job.plan.cpus[i];
                    let args = WorkerArgs {
                        barrier: Some(job.barrier.dir().to_path_buf()),
                        id: Some(index),
                        pin_cpu: Some(cpu),
                        ..job.with_fault(&worker, index)
                    };
                    let (line_tx, mut line_rx) = mpsc::unbounded_channel();
                    children.push(process::spawn(&args, line_tx)?);
                    trackers.push(Tracker::new(format!("worker-{index}"), index, cpu));
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        while let Some(line) = line_rx.recv().await {
                            let msg = line.map_or(Msg::Ended, Msg::Line);
                            let _ = tx.send((i, msg));
                        }
                    });
                }
            }
        }
        Ok(())
    }

    /// The process ids of local workers (none for containers).
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Fleet::Docker { .. } => Vec::new(),
            Fleet::Process { children } => children.iter().filter_map(Child::id).collect(),
        }
    }

    /// How worker `i` ended (or that it still runs).
    pub async fn exit_info(&mut self, i: usize, name: &str) -> Option<ExitInfo> {
        match self {
            Fleet::Docker { docker, .. } => container::inspect_exit(docker, name).await.ok(),
            Fleet::Process { children } => {
                let child = children.get_mut(i)?;
                // Give a worker that is finishing a moment to exit.
                let status = tokio::time::timeout(Duration::from_secs(2), child.wait())
                    .await
                    .ok()
                    .and_then(Result::ok);
                Some(process::exit_info(status))
            }
        }
    }

    /// Removes the step's containers (by label, so one created just before an error goes
    /// too) or kills its processes.
    pub async fn cleanup(&mut self) -> Result<()> {
        match self {
            Fleet::Docker { docker, run_id } => {
                container::cleanup(docker, Some(run_id)).await?;
            }
            Fleet::Process { children } => {
                for child in children.iter_mut() {
                    let _ = child.kill().await;
                }
            }
        }
        Ok(())
    }
}
