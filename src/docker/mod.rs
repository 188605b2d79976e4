//! Everything that talks to the Docker Engine: connecting, the image, containers, cleanup.

pub mod container;
pub mod image;

use anyhow::Result;
use bollard::Docker;

use crate::error::DockerUnreachable;

/// Label keys on everything we create, so cleanup removes exactly ours.
pub mod labels {
    /// Present on every container of ours.
    pub const TOOL: &str = "distributed-benchmark";
    /// The run id.
    pub const RUN: &str = "distributed-benchmark.run";
    /// The host path of the run's barrier folder.
    pub const BARRIER: &str = "distributed-benchmark.barrier";
    /// The container's index within its run.
    pub const INDEX: &str = "distributed-benchmark.index";
}

/// The daemon's identity, for the report.
#[derive(Debug, Clone, Default)]
pub struct EngineInfo {
    pub version: Option<String>,
    pub api_version: Option<String>,
}

/// Connects (DOCKER_HOST or the local socket), agrees on an API version the daemon speaks,
/// and checks that it answers.
pub async fn connect() -> Result<(Docker, EngineInfo)> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unreachable = |e: &dyn std::fmt::Display| {
        DockerUnreachable(format!(
            "cannot reach the Docker daemon at {host}: {e}.\n\
             Start it (e.g. `sudo systemctl start docker`), check that you may use its socket \
             (e.g. membership of the docker group), or set DOCKER_HOST to its address."
        ))
    };
    let docker = Docker::connect_with_defaults().map_err(|e| unreachable(&e))?;
    // bollard speaks a newer API than older engines accept; negotiating asks the daemon
    // for its version and steps down to it.
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| unreachable(&e))?;
    let version = docker.version().await.map_err(|e| unreachable(&e))?;
    Ok((
        docker,
        EngineInfo {
            version: version.version,
            api_version: version.api_version,
        },
    ))
}
