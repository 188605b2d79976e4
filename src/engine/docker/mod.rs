//! A Docker Engine, reached through its API: the image built from an in-memory context,
//! one pinned container per worker, cleanup by label.

pub mod container;
pub mod image;

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};
use async_trait::async_trait;
use bollard::Docker;

use crate::engine::{Engine, Exit, Removal, WorkerHandle, WorkerSpec};
use crate::error::EngineUnreachable;
use crate::facts::EngineInfo;

pub struct DockerEngine {
    host: String,
    /// Where it was reached, for messages.
    url: String,
    docker: Docker,
    info: EngineInfo,
    user: String,
    /// The image built or found by `prepare`.
    image: Mutex<Option<String>>,
    /// Runs this engine started containers for, in this process.
    runs: Mutex<BTreeSet<String>>,
}

impl DockerEngine {
    /// The local engine: `DOCKER_HOST`, or the default socket.
    pub async fn connect_local() -> Result<DockerEngine> {
        let url =
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
        let unreachable = |e: &dyn std::fmt::Display| {
            EngineUnreachable(format!(
                "cannot reach the Docker daemon at {url}: {e}.\n\
                 Start it (e.g. `sudo systemctl start docker`), check that you may use its \
                 socket (e.g. membership of the docker group), or set DOCKER_HOST to its address."
            ))
        };
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(&e))?;
        DockerEngine::negotiate("local", url.clone(), docker)
            .await
            .map_err(|e| unreachable(&e).into())
    }

    /// Agrees on an API version the daemon speaks and checks that it answers.
    async fn negotiate(
        host: &str,
        url: String,
        docker: Docker,
    ) -> Result<DockerEngine, bollard::errors::Error> {
        // bollard speaks a newer API than older engines accept; negotiating asks the daemon
        // for its version and steps down to it.
        let docker = docker.negotiate_version().await?;
        let version = docker.version().await?;
        Ok(DockerEngine {
            host: host.to_string(),
            url,
            docker,
            info: EngineInfo {
                kind: "docker".to_string(),
                version: version.version,
                api_version: version.api_version,
            },
            user: container::container_user(),
            image: Mutex::new(None),
            runs: Mutex::new(BTreeSet::new()),
        })
    }

    fn remember(&self, run_id: &str) {
        self.runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(run_id.to_string());
    }

    async fn remove_listed(&self, names: Vec<String>) -> Removal {
        let mut removal = Removal::default();
        for name in names {
            match container::remove(&self.docker, &name).await {
                Ok(()) => removal.removed.push(name),
                Err(e) => removal
                    .failed
                    .push(format!("{name} on {}: {e:#}", self.host)),
            }
        }
        removal
    }
}

#[async_trait]
impl Engine for DockerEngine {
    fn host(&self) -> &str {
        &self.host
    }

    fn info(&self) -> EngineInfo {
        self.info.clone()
    }

    async fn prepare(&self, say: &(dyn Fn(String) + Send + Sync)) -> Result<String> {
        let (tag, built) = image::ensure(&self.docker, &|line| say(line.to_string()))
            .await
            .with_context(|| format!("the image on {} ({})", self.host, self.url))?;
        say(match built {
            image::Built::UpToDate => format!("Image {tag} is up to date"),
            image::Built::Built { steps } => format!("Built image {tag} ({steps} steps)"),
        });
        *self.image.lock().unwrap_or_else(PoisonError::into_inner) = Some(tag.clone());
        Ok(tag)
    }

    async fn start(&self, spec: &WorkerSpec) -> Result<WorkerHandle> {
        let image = self
            .image
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .context("the image must be prepared before workers start")?;
        // Remembered before anything exists, so a container created just before an error
        // or a signal is still found by its label.
        self.remember(&spec.run_id);
        container::start(&self.docker, spec, &image, &self.user).await
    }

    async fn exit(&self, name: &str) -> Option<Exit> {
        container::inspect_exit(&self.docker, name).await
    }

    async fn local_pids(&self, run_id: &str) -> Option<Vec<u32>> {
        if !self.url.starts_with("unix://") {
            return None;
        }
        let mut pids = Vec::new();
        for name in container::list_ours(&self.docker, Some(run_id))
            .await
            .ok()?
        {
            pids.extend(container::pid(&self.docker, &name).await);
        }
        Some(pids)
    }

    async fn remove_run(&self, run_id: &str) -> Removal {
        match container::list_ours(&self.docker, Some(run_id)).await {
            Ok(names) => self.remove_listed(names).await,
            Err(e) => Removal {
                removed: Vec::new(),
                failed: vec![format!(
                    "the containers of run {run_id} on {}: {e:#}",
                    self.host
                )],
            },
        }
    }

    async fn remove_started(&self) -> Removal {
        let runs: Vec<String> = self
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let mut removal = Removal::default();
        for run in runs {
            removal.merge(self.remove_run(&run).await);
        }
        removal
    }

    async fn remove_all(&self) -> Result<Removal> {
        let names = container::list_ours(&self.docker, None)
            .await
            .with_context(|| format!("listing our containers on {}", self.host))?;
        Ok(self.remove_listed(names).await)
    }
}
