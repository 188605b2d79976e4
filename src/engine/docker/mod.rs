//! A Docker Engine, reached through its API: the image built from an in-memory context,
//! one pinned container per worker, cleanup by label.

pub mod connect;
pub mod container;
pub mod image;
pub mod volume;

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};
use async_trait::async_trait;
use bollard::Docker;

use crate::cli::Runtime;
use crate::engine::{Engine, Exit, Removal, ShippedFile, WorkerHandle, WorkerSpec};
use crate::error::EngineUnreachable;
use crate::facts::{EngineInfo, HostFacts};
use crate::hosts::HostSpec;

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
    /// See [`DockerEngine::is_local`].
    local: bool,
}

impl DockerEngine {
    /// The local engine's address: `DOCKER_HOST`, or the default socket.
    pub fn local_url() -> String {
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| crate::hosts::LOCAL_SOCKET.into())
    }

    /// The engine of host `spec`, checked to answer. An engine that does not is named,
    /// with what to check.
    pub async fn connect(spec: &HostSpec) -> Result<DockerEngine> {
        let url = &spec.url;
        let unreachable = |e: String| {
            let fix = if url.starts_with("unix://") {
                "Start it (e.g. `sudo systemctl start docker`), check that you may use its \
                 socket (e.g. membership of the docker group), or set DOCKER_HOST to its address."
            } else if url.starts_with("ssh://") {
                "Check that `ssh` reaches the host without a password prompt and that the docker \
                 CLI is installed there (bollard runs `docker system dial-stdio` over ssh)."
            } else {
                "Check that the engine listens there (dockerd -H), and for TLS that \
                 DOCKER_CERT_PATH holds key.pem, cert.pem and ca.pem."
            };
            EngineUnreachable(format!(
                "cannot reach the Docker engine of host {} at {url} ({}): {}.\n{fix}",
                spec.name, spec.origin, e
            ))
        };
        // An address that names no engine is bad input, not an engine that is down.
        let endpoint = connect::endpoint(url, &connect::docker_config_dir(), &connect::env_tls())
            .map_err(|e| {
            crate::error::InputError(format!(
                "{}: {url} is not an address this tool can use: {e}.",
                spec.origin
            ))
        })?;
        let docker = connect::client(&endpoint).map_err(unreachable)?;
        DockerEngine::negotiate(&spec.name, url.clone(), docker)
            .await
            .map_err(|e| unreachable(with_causes(&e)).into())
    }

    /// The host is this machine: reached through a unix socket, by an engine that gives
    /// this machine's host name (a socket forwarded from another machine, e.g. by
    /// `ssh -L`, is another host: its facts come through a probe, and its processes are
    /// not ours to read).
    fn is_local(&self) -> bool {
        self.local
    }

    async fn image(&self) -> Result<String> {
        self.image
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .context("the image must be prepared first")
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
        let local = url.starts_with("unix://") && {
            let theirs = docker.info().await?.name;
            let ours = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
            theirs.is_some() && theirs.as_deref().map(str::trim) == ours.as_deref().map(str::trim)
        };
        Ok(DockerEngine {
            local,
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

    /// The volumes of a run (or of every run), after their containers are gone.
    async fn remove_volumes(&self, run_id: Option<&str>) -> Removal {
        let mut removal = Removal::default();
        match volume::list_ours(&self.docker, run_id).await {
            Ok(names) => {
                for name in names {
                    match volume::remove(&self.docker, &name).await {
                        Ok(()) => removal.removed.push(format!("volume {name}")),
                        Err(e) => removal
                            .failed
                            .push(format!("volume {name} on {}: {e:#}", self.host)),
                    }
                }
            }
            Err(e) => removal
                .failed
                .push(format!("the volumes on {}: {e:#}", self.host)),
        }
        removal
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
        if let Some(tag) = self
            .image
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Ok(tag);
        }
        let (tag, built) = image::ensure(&self.docker, &|line| say(line.to_string()))
            .await
            .with_context(|| format!("the image on {} ({})", self.host, self.url))?;
        say(match built {
            image::Built::UpToDate => format!("Image {tag} is up to date on {}", self.host),
            image::Built::Built { steps } => {
                format!("Built image {tag} on {} ({steps} steps)", self.host)
            }
        });
        *self.image.lock().unwrap_or_else(PoisonError::into_inner) = Some(tag.clone());
        Ok(tag)
    }

    async fn facts(&self, say: &(dyn Fn(String) + Send + Sync)) -> Result<HostFacts> {
        let info = self
            .docker
            .info()
            .await
            .with_context(|| format!("asking the engine of {} what it is", self.host))?;
        let mut facts = if self.is_local() {
            HostFacts::local(Runtime::Docker)
        } else {
            let image = self.prepare(say).await?;
            let run = format!("probe-{}", std::process::id());
            self.remember(&run);
            container::probe(&self.docker, &image, &self.user, &run)
                .await
                .with_context(|| format!("probing host {} with a container", self.host))?
        };
        facts.name = self.host.clone();
        facts.this_machine = self.is_local();
        facts.hostname = info.name.or(facts.hostname);
        facts.engine = self.info();
        Ok(facts)
    }

    async fn ship(
        &self,
        run_id: &str,
        files: Vec<ShippedFile>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<String> {
        self.remember(run_id);
        let image = self.image().await?;
        volume::ship(&self.docker, &image, run_id, files, progress)
            .await
            .with_context(|| format!("shipping the corpus to {}", self.host))
    }

    async fn start(&self, spec: &WorkerSpec) -> Result<WorkerHandle> {
        let image = self.image().await?;
        // Remembered before anything exists, so a container created just before an error
        // or a signal is still found by its label.
        self.remember(&spec.run_id);
        container::start(&self.docker, spec, &image, &self.user).await
    }

    async fn exit(&self, name: &str) -> Option<Exit> {
        container::inspect_exit(&self.docker, name).await
    }

    async fn local_pids(&self, run_id: &str) -> Option<Vec<u32>> {
        if !self.is_local() {
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
        let mut removal = match container::list_ours(&self.docker, Some(run_id)).await {
            Ok(names) => self.remove_listed(names).await,
            Err(e) => Removal {
                removed: Vec::new(),
                failed: vec![format!(
                    "the containers of run {run_id} on {}: {e:#}",
                    self.host
                )],
            },
        };
        removal.merge(self.remove_volumes(Some(run_id)).await);
        removal
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
        let mut removal = self.remove_listed(names).await;
        removal.merge(self.remove_volumes(None).await);
        Ok(removal)
    }
}

/// An error and the errors that caused it, each once: bollard's own message for a failed
/// connection is only "client error (Connect)"; what failed (ssh's refusal, a refused
/// port, a bad certificate) is in its sources.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_told_with_its_causes_each_once() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let connect = anyhow::Error::new(refused).context("client error (Connect)");
        let top = connect.context("Error in the hyper legacy client: client error (Connect)");
        let error: &dyn std::error::Error = top.as_ref();
        assert_eq!(
            with_causes(error),
            "Error in the hyper legacy client: client error (Connect): refused"
        );
    }
}
