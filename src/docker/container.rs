//! Container lifecycle: create pinned and locked down, start, follow logs, inspect the
//! exit, remove; and cleanup of earlier runs by label.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};
use worker::protocol::barrier::{BARRIER_MOUNT, DATA_MOUNT};
use worker::run::WorkerArgs;

use super::labels;

/// A container's PID limit: the worker is one thread; the runtime needs a few more.
pub const PIDS_LIMIT: i64 = 64;

/// Everything needed to create one worker container.
#[derive(Debug, Clone)]
pub struct ContainerSpec {
    pub name: String,
    pub index: u32,
    pub cpu: usize,
    pub image: String,
    pub run_id: String,
    pub barrier_host: PathBuf,
    /// Host folders and files to mount read-only.
    pub inputs: Vec<PathBuf>,
    /// Settings with host paths; mount paths are substituted here.
    pub worker: WorkerArgs,
    pub memory_bytes: Option<u64>,
    /// NUMA node for the container's memory (cpuset-mems), on multi-node machines.
    pub numa_node: Option<usize>,
    pub nano_cpus: i64,
    /// `uid:gid` the worker runs as (never root).
    pub user: String,
}

impl ContainerSpec {
    /// The bind mounts and the worker's data paths inside the container: folder i is
    /// mounted at /data/i, file i at /data/i/<name>.
    fn mounts(&self) -> (Vec<String>, Vec<PathBuf>) {
        let mut binds = Vec::new();
        let mut data = Vec::new();
        for (i, input) in self.inputs.iter().enumerate() {
            let mount = if input.is_dir() {
                PathBuf::from(format!("{DATA_MOUNT}/{i}"))
            } else {
                let name = input.file_name().map(|n| n.to_string_lossy().into_owned());
                PathBuf::from(format!("{DATA_MOUNT}/{i}/{}", name.unwrap_or_default()))
            };
            binds.push(format!("{}:{}:ro", input.display(), mount.display()));
            data.push(mount);
        }
        binds.push(format!(
            "{}:{BARRIER_MOUNT}:rw",
            self.barrier_host.display()
        ));
        (binds, data)
    }

    fn body(&self) -> ContainerCreateBody {
        let (binds, data_dirs) = self.mounts();
        let worker = WorkerArgs {
            data_dirs,
            barrier: Some(PathBuf::from(BARRIER_MOUNT)),
            id: Some(self.index),
            ..self.worker.clone()
        };
        let mut cmd = vec!["worker".to_string()];
        cmd.extend(worker.to_args());
        let labels = HashMap::from([
            (labels::TOOL.to_string(), "1".to_string()),
            (labels::RUN.to_string(), self.run_id.clone()),
            (
                labels::BARRIER.to_string(),
                self.barrier_host.display().to_string(),
            ),
            (labels::INDEX.to_string(), self.index.to_string()),
        ]);
        let memory = self.memory_bytes.map(|b| b as i64);
        ContainerCreateBody {
            image: Some(self.image.clone()),
            cmd: Some(cmd),
            user: Some(self.user.clone()),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                cpuset_cpus: Some(self.cpu.to_string()),
                cpuset_mems: self.numa_node.map(|n| n.to_string()),
                nano_cpus: Some(self.nano_cpus),
                memory,
                // Equal to the memory limit: no swap, so an over-limit worker is killed
                // rather than slowed down unseen.
                memory_swap: memory,
                binds: Some(binds),
                network_mode: Some("none".into()),
                readonly_rootfs: Some(true),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                pids_limit: Some(PIDS_LIMIT),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        }
    }
}

/// Creates the container; when its name is taken (another run, or one kept with
/// --no-cleanup), the run id is added to the name. Returns the name used.
pub async fn create(docker: &Docker, spec: &ContainerSpec) -> Result<String> {
    let body = spec.body();
    let mut name = spec.name.clone();
    loop {
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        match docker.create_container(Some(options), body.clone()).await {
            Ok(_) => return Ok(name),
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) if name == spec.name => {
                name = format!("{}-{}", spec.name, spec.run_id);
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("creating container {name} (pinned to CPU {})", spec.cpu)
                });
            }
        }
    }
}

pub async fn start(docker: &Docker, name: &str) -> Result<()> {
    docker
        .start_container(name, None)
        .await
        .with_context(|| format!("starting container {name}"))
}

/// The container's stdout and stderr from the beginning, following until it exits.
pub fn logs(
    docker: &Docker,
    name: &str,
) -> impl Stream<Item = Result<String, DockerError>> + use<> {
    let options = LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .build();
    docker
        .logs(name, Some(options))
        .map(|item| item.map(|out| String::from_utf8_lossy(&out.into_bytes()).into_owned()))
}

/// How a container ended.
#[derive(Debug, Clone, Default)]
pub struct ExitInfo {
    pub running: bool,
    pub oom_killed: bool,
    pub exit_code: Option<i64>,
    /// Docker's own error for the container (e.g. a mount that failed), if any.
    pub error: Option<String>,
}

impl ExitInfo {
    /// A short status for the report: `ok`, `oom_killed`, `exited (code 3)` ...
    pub fn status(&self) -> String {
        if self.oom_killed {
            "oom_killed".into()
        } else if self.running {
            "running".into()
        } else {
            if let Some(error) = &self.error {
                return format!("failed: {error}");
            }
            match self.exit_code {
                Some(0) => "ok".into(),
                Some(137) => "killed (SIGKILL)".into(),
                Some(code) => format!("exited (code {code})"),
                None => "unknown".into(),
            }
        }
    }
}

pub async fn inspect_exit(docker: &Docker, name: &str) -> Result<ExitInfo> {
    let info = docker
        .inspect_container(name, None)
        .await
        .with_context(|| format!("inspecting container {name}"))?;
    let state = info.state.unwrap_or_default();
    Ok(ExitInfo {
        running: state.running.unwrap_or(false),
        oom_killed: state.oom_killed.unwrap_or(false),
        exit_code: state.exit_code,
        error: state.error.filter(|e| !e.is_empty()),
    })
}

/// Removes a container, running or not. A container already gone is not an error.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing container {name}")),
    }
}

/// Containers carrying our tool label (optionally only those of one run): (name, barrier).
pub async fn list_ours(
    docker: &Docker,
    run_id: Option<&str>,
) -> Result<Vec<(String, Option<PathBuf>)>> {
    let label = match run_id {
        Some(run) => format!("{}={run}", labels::RUN),
        None => labels::TOOL.to_string(),
    };
    let filters = HashMap::from([("label".to_string(), vec![label])]);
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filters)
        .build();
    let found = docker
        .list_containers(Some(options))
        .await
        .context("listing containers")?;
    Ok(found
        .into_iter()
        .filter_map(|c| {
            let name = c.names?.first()?.trim_start_matches('/').to_string();
            let barrier = c
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::BARRIER))
                .map(PathBuf::from);
            Some((name, barrier))
        })
        .collect())
}

/// Removes every container of ours (or of one run) and their barrier folders. Returns the
/// names removed and the folders removed.
pub async fn cleanup(docker: &Docker, run_id: Option<&str>) -> Result<(Vec<String>, Vec<PathBuf>)> {
    let mut names = Vec::new();
    let mut folders = Vec::new();
    for (name, barrier) in list_ours(docker, run_id).await? {
        remove(docker, &name).await?;
        names.push(name);
        if let Some(dir) = barrier
            && is_barrier_folder(&dir)
            && !folders.contains(&dir)
        {
            if dir.exists() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing barrier folder {}", dir.display()))?;
            }
            folders.push(dir);
        }
    }
    Ok((names, folders))
}

/// Only folders we would have made are ever deleted on the strength of a label.
pub fn is_barrier_folder(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(crate::barrier::FOLDER_PREFIX))
}
