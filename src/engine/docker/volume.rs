//! `--ship-corpus`: the corpus uploaded once to a host, into a named volume of the run, so
//! that a remote host needs no copy of its own. A helper container (our image, the volume
//! mounted read-write, never started) receives a tar stream through the Engine API
//! (`PUT /containers/{id}/archive`); the helper is removed at once, the volume at cleanup.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::container;
use crate::engine::labels;

/// Where a shipped corpus is mounted in the helper and in the workers.
pub const MOUNT: &str = "/data/0";

/// The volume of run `run_id`.
pub fn name(run_id: &str) -> String {
    format!("distributed-benchmark-corpus-{run_id}")
}

/// One file to ship: its path here and its name in the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedFile {
    pub source: PathBuf,
    pub name: String,
    pub bytes: u64,
}

/// Creates the volume and uploads `files` into it, reporting bytes sent through
/// `progress`. Returns the volume's name.
pub async fn ship(
    docker: &Docker,
    image: &str,
    run_id: &str,
    files: Vec<ShippedFile>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<String> {
    let volume = name(run_id);
    docker
        .create_volume(VolumeCreateRequest {
            name: Some(volume.clone()),
            labels: Some(HashMap::from([
                (labels::TOOL.to_string(), "1".to_string()),
                (labels::RUN.to_string(), run_id.to_string()),
            ])),
            ..VolumeCreateRequest::default()
        })
        .await
        .with_context(|| format!("creating volume {volume}"))?;
    let helper = format!("distributed-benchmark-ship-{run_id}");
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(vec!["probe".to_string()]),
        labels: Some(HashMap::from([
            (labels::TOOL.to_string(), "1".to_string()),
            (labels::RUN.to_string(), run_id.to_string()),
        ])),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{volume}:{MOUNT}:rw")]),
            network_mode: Some("none".into()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    docker
        .create_container(
            Some(
                CreateContainerOptionsBuilder::default()
                    .name(&helper)
                    .build(),
            ),
            body,
        )
        .await
        .with_context(|| format!("creating the upload helper {helper}"))?;
    let uploaded = upload(docker, &helper, files, progress).await;
    let removed = container::remove(docker, &helper).await;
    uploaded?;
    removed?;
    Ok(volume)
}

async fn upload(
    docker: &Docker,
    helper: &str,
    files: Vec<ShippedFile>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<()> {
    // The tar is written on a blocking thread into a bounded channel the upload reads
    // from: the writer waits when the network is slower than the disk, so at most
    // IN_FLIGHT chunks (of up to 1 MiB, the tar's buffer) are held in memory.
    let (tx, rx) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let writer = tokio::task::spawn_blocking(move || write_tar(files, ChannelWriter(tx)));
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<u64>();
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let stream = chunks.map(move |chunk| {
        let _ = sent_tx.send(chunk.len() as u64);
        chunk
    });
    let options = UploadToContainerOptionsBuilder::default()
        .path(MOUNT)
        .build();
    let upload = docker.upload_to_container(helper, Some(options), bollard::body_stream(stream));
    tokio::pin!(upload);
    let mut sent = 0u64;
    let result = loop {
        tokio::select! {
            r = &mut upload => break r,
            Some(n) = sent_rx.recv() => {
                sent += n;
                progress(sent);
            }
        }
    };
    result.with_context(|| format!("uploading the corpus into {helper}"))?;
    writer
        .await
        .context("writing the corpus tar")?
        .context("reading the corpus to ship")?;
    Ok(())
}

/// Chunks of the tar waiting for the upload, at most.
const IN_FLIGHT: usize = 8;

/// Bytes written go to the channel as chunks; a write waits while the channel is full
/// (it runs on a blocking thread).
struct ChannelWriter(mpsc::Sender<Bytes>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .blocking_send(Bytes::copy_from_slice(buf))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the upload stopped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A tar of `files`, readable by anyone (the workers do not run as root).
fn write_tar(files: Vec<ShippedFile>, out: impl Write) -> io::Result<()> {
    let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, out));
    tar.mode(tar::HeaderMode::Deterministic);
    for f in files {
        let mut file = std::fs::File::open(&f.source)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(f.bytes);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        // A file that changed size since it was found is shipped as found or refused
        // by tar (it checks the length), never silently cut.
        tar.append_data(
            &mut header,
            &f.name,
            &mut std::io::Read::take(&mut file, f.bytes),
        )?;
    }
    tar.into_inner()?.flush()
}

/// The volumes of our runs (of one run, when given).
pub async fn list_ours(docker: &Docker, run_id: Option<&str>) -> Result<Vec<String>> {
    let label = match run_id {
        Some(run) => format!("{}={run}", labels::RUN),
        None => labels::TOOL.to_string(),
    };
    let filters = HashMap::from([("label".to_string(), vec![label])]);
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let found = docker
        .list_volumes(Some(options))
        .await
        .context("listing volumes")?;
    Ok(found
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect())
}

/// Removes a volume; one already gone is not an error.
pub async fn remove(docker: &Docker, name: &str) -> Result<()> {
    let options = RemoveVolumeOptionsBuilder::default().force(true).build();
    match docker.remove_volume(name, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing volume {name}")),
    }
}

/// A `Stream` over an unbounded receiver (what tokio-stream's wrapper does, without the
/// crate).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_holds_every_file_readable_under_its_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pdf"), b"%PDF-a").unwrap();
        std::fs::write(dir.path().join("b.pdf"), b"%PDF-bb").unwrap();
        let files = vec![
            ShippedFile {
                source: dir.path().join("a.pdf"),
                name: "0/a.pdf".into(),
                bytes: 6,
            },
            ShippedFile {
                source: dir.path().join("b.pdf"),
                name: "0/sub/b.pdf".into(),
                bytes: 7,
            },
        ];
        let mut out = Vec::new();
        write_tar(files, &mut out).unwrap();
        let mut archive = tar::Archive::new(&out[..]);
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mode().unwrap(),
                    e.header().size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("0/a.pdf".to_string(), 0o644, 6),
                ("0/sub/b.pdf".to_string(), 0o644, 7)
            ]
        );
    }
}
