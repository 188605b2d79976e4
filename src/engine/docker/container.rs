//! One worker container: created pinned and locked down, attached (stdin for messages,
//! stdout and stderr kept apart), started; inspected when it ends; removed by label.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CreateContainerOptionsBuilder, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use worker::protocol::Message;

use crate::engine::{
    Exit, LineSplitter, Output, WorkerData, WorkerHandle, WorkerSpec, forward_lines, labels,
};
use crate::facts::HostFacts;

/// A container's PID limit: the worker is two threads; the runtime needs a few more.
pub const PIDS_LIMIT: i64 = 64;
/// Where data folder i is mounted inside a container.
const DATA_MOUNT: &str = "/data";

/// The uid:gid a container runs as: ours, unless we are root, in which case `nobody`.
pub fn container_user() -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata("/proc/self") {
        Ok(meta) if meta.uid() != 0 => format!("{}:{}", meta.uid(), meta.gid()),
        _ => "65534:65534".to_string(),
    }
}

/// The mounts and the worker's data paths inside the container: host folder i at
/// /data/i, host file i at /data/i/<name>; a shipped corpus's volume at /data/0. Bind
/// mounts through the Mounts API, not `Binds`: a source missing on the host is refused by
/// the engine ("bind source path does not exist") instead of being created there as an
/// empty folder owned by root.
fn mounts(data: &WorkerData) -> (Vec<Mount>, Vec<PathBuf>) {
    let mount = |typ, source: String, target: &str| Mount {
        target: Some(target.to_string()),
        source: Some(source),
        typ: Some(typ),
        read_only: Some(true),
        ..Mount::default()
    };
    let inputs = match data {
        WorkerData::Volume(name) => {
            return (
                vec![mount(MountType::VOLUME, name.clone(), super::volume::MOUNT)],
                vec![PathBuf::from(super::volume::MOUNT)],
            );
        }
        WorkerData::Paths(paths) => paths,
    };
    let mut mounts = Vec::new();
    let mut data = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let target = if input.is_dir() {
            PathBuf::from(format!("{DATA_MOUNT}/{i}"))
        } else {
            let name = input.file_name().map(|n| n.to_string_lossy().into_owned());
            PathBuf::from(format!("{DATA_MOUNT}/{i}/{}", name.unwrap_or_default()))
        };
        mounts.push(mount(
            MountType::BIND,
            input.display().to_string(),
            &target.display().to_string(),
        ));
        data.push(target);
    }
    (mounts, data)
}

/// The create request: pinned to one core with one CPU of quota, the data read-only, no
/// network, a read-only root, no capabilities, no new privileges, a PID limit, not root;
/// stdin open for messages and closed when we detach (so a worker whose orchestrator is
/// gone ends its window).
pub fn body(spec: &WorkerSpec, image: &str, user: &str) -> ContainerCreateBody {
    let (mounts, data_dirs) = mounts(&spec.data);
    let mut settings = spec.settings.clone();
    settings.data_dirs = data_dirs;
    let labels = HashMap::from([
        (labels::TOOL.to_string(), "1".to_string()),
        (labels::RUN.to_string(), spec.run_id.clone()),
        (labels::INDEX.to_string(), spec.index.to_string()),
    ]);
    let memory = spec.memory_bytes.map(|b| b as i64);
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec![
            "worker".to_string(),
            "--settings".to_string(),
            settings.to_json(),
        ]),
        user: Some(user.to_string()),
        labels: Some(labels),
        network_disabled: Some(true),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(false),
        host_config: Some(HostConfig {
            cpuset_cpus: Some(spec.cpu.to_string()),
            cpuset_mems: spec.numa_node.map(|n| n.to_string()),
            nano_cpus: Some(spec.nano_cpus),
            memory,
            // Equal to the memory limit: no swap, so an over-limit worker is killed
            // rather than slowed down unseen.
            memory_swap: memory,
            mounts: Some(mounts),
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

/// Creates, attaches and starts the worker's container. When the name is taken (another
/// run, or one kept with --no-cleanup), the run id is added to it.
pub async fn start(
    docker: &Docker,
    spec: &WorkerSpec,
    image: &str,
    user: &str,
) -> Result<WorkerHandle> {
    let body = body(spec, image, user);
    let wanted = format!("distributed-benchmark-{}", spec.index);
    let mut name = wanted.clone();
    loop {
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        match docker.create_container(Some(options), body.clone()).await {
            Ok(_) => break,
            Err(DockerError::DockerResponseServerError {
                status_code: 409, ..
            }) if name == wanted => name = format!("{wanted}-{}", spec.run_id),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("creating container {name} (pinned to CPU {})", spec.cpu)
                });
            }
        }
    }
    // Attached before it starts, so not a byte of its output is missed.
    let options = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .build();
    let attached = docker
        .attach_container(&name, Some(options))
        .await
        .with_context(|| format!("attaching to container {name}"))?;
    docker
        .start_container(&name, None)
        .await
        .with_context(|| format!("starting container {name}"))?;

    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let mut output = attached.output;
    tokio::spawn(async move {
        let (mut stdout, mut stderr) = (LineSplitter::default(), LineSplitter::default());
        while let Some(Ok(item)) = output.next().await {
            match item {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    forward_lines(&mut stdout, &message, Output::Stdout, &out_tx)
                }
                LogOutput::StdErr { message } => {
                    forward_lines(&mut stderr, &message, Output::Stderr, &out_tx)
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        if let Some(line) = stdout.finish() {
            let _ = out_tx.send(Output::Stdout(line));
        }
        if let Some(line) = stderr.finish() {
            let _ = out_tx.send(Output::Stderr(line));
        }
        let _ = out_tx.send(Output::Ended);
    });

    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<Message>();
    let mut input = attached.input;
    tokio::spawn(async move {
        while let Some(message) = in_rx.recv().await {
            let line = message.to_line();
            if input.write_all(line.as_bytes()).await.is_err() || input.flush().await.is_err() {
                break;
            }
        }
        // Every sender is gone: close the worker's stdin.
        let _ = input.shutdown().await;
    });
    Ok(WorkerHandle {
        name,
        output: out_rx,
        input: in_tx,
    })
}

/// What a host is, as a container of our image sees it (`distributed-benchmark probe`):
/// /sys and /proc are the host's. The container is removed when the probe ends; it carries
/// `run` as its run label, so that an engine asked to remove that run (on a signal, or when
/// another host failed and this future was dropped) finds it.
pub async fn probe(docker: &Docker, image: &str, user: &str, run: &str) -> Result<HostFacts> {
    use bollard::query_parameters::LogsOptionsBuilder;
    let name = format!("distributed-benchmark-{run}");
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["probe".to_string()]),
        user: Some(user.to_string()),
        labels: Some(HashMap::from([
            (labels::TOOL.to_string(), "1".to_string()),
            (labels::RUN.to_string(), run.to_string()),
        ])),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let _ = remove(docker, &name).await;
    docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            body,
        )
        .await
        .with_context(|| format!("creating {name}"))?;
    let result = async {
        docker
            .start_container(&name, None)
            .await
            .with_context(|| format!("starting {name}"))?;
        let mut wait = docker.wait_container(&name, None);
        while let Some(r) = wait.next().await {
            r.with_context(|| format!("waiting for {name}"))?;
        }
        let mut logs = docker.logs(
            &name,
            Some(LogsOptionsBuilder::default().stdout(true).build()),
        );
        let mut out = Vec::new();
        while let Some(chunk) = logs.next().await {
            out.extend_from_slice(&chunk?.into_bytes());
        }
        serde_json::from_slice::<HostFacts>(&out).with_context(|| {
            format!(
                "{name} printed no description of the host: {}",
                String::from_utf8_lossy(&out)
            )
        })
    }
    .await;
    let removed = remove(docker, &name).await;
    let facts = result?;
    removed?;
    Ok(facts)
}

pub async fn inspect_exit(docker: &Docker, name: &str) -> Option<Exit> {
    let info = docker.inspect_container(name, None).await.ok()?;
    let state = info.state.unwrap_or_default();
    Some(Exit {
        running: state.running.unwrap_or(false),
        oom_killed: state.oom_killed.unwrap_or(false),
        code: state.exit_code,
        error: state.error.filter(|e| !e.is_empty()),
    })
}

/// The host pid of a running container's worker (its init process).
pub async fn pid(docker: &Docker, name: &str) -> Option<u32> {
    let info = docker.inspect_container(name, None).await.ok()?;
    let pid = info.state?.pid?;
    u32::try_from(pid).ok().filter(|&p| p > 0)
}

/// Removes a container, running or not. A container already gone is not an error.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(name, Some(options)).await {
        Ok(())
        | Err(DockerError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        // 409: a removal is already in progress (a second signal, say): it will be gone.
        Err(DockerError::DockerResponseServerError {
            status_code: 409, ..
        }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing container {name}")),
    }
}

/// Names of the containers carrying our tool label (only those of one run, when given).
pub async fn list_ours(docker: &Docker, run_id: Option<&str>) -> Result<Vec<String>> {
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
        .filter_map(|c| Some(c.names?.first()?.trim_start_matches('/').to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_is_pinned_locked_down_and_takes_its_settings_as_one_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("one.pdf");
        std::fs::write(&file, b"%PDF").unwrap();
        let spec = WorkerSpec {
            run_id: "r1".into(),
            index: 2,
            cpu: 1,
            numa_node: None,
            settings: crate::engine::scripted::settings(),
            data: WorkerData::Paths(vec![dir.path().to_path_buf(), file.clone()]),
            memory_bytes: Some(512 << 20),
            nano_cpus: 1_000_000_000,
        };
        let body = body(&spec, "img:tag", "65534:65534");
        let cmd = body.cmd.unwrap();
        assert_eq!(&cmd[..2], ["worker", "--settings"]);
        let sent: worker::run::WorkerArgs = serde_json::from_str(&cmd[2]).unwrap();
        assert_eq!(
            sent.data_dirs,
            [PathBuf::from("/data/0"), PathBuf::from("/data/1/one.pdf")]
        );
        let host = body.host_config.unwrap();
        assert_eq!(host.cpuset_cpus.as_deref(), Some("1"));
        assert_eq!(host.memory, host.memory_swap);
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        let mounts = host.mounts.unwrap();
        assert_eq!(mounts.len(), 2);
        assert!(mounts.iter().all(|m| m.read_only == Some(true)));
        assert!(mounts.iter().all(|m| m.typ == Some(MountType::BIND)));
        assert_eq!(mounts[1].target.as_deref(), Some("/data/1/one.pdf"));
        assert_eq!((body.open_stdin, body.stdin_once), (Some(true), Some(true)));
        assert_eq!(body.labels.unwrap()[labels::RUN], "r1");
    }
}
