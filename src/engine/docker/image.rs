//! The worker image: the Dockerfile (embedded in the binary) and this very executable,
//! sent as an in-memory tar context. Tagged by content hash, so an unchanged binary is
//! found and not rebuilt.

use anyhow::{Context, Result, bail};
use bollard::Docker;
use bollard::query_parameters::BuildImageOptionsBuilder;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

/// The Dockerfile at the repository root, compiled in so an installed binary works
/// anywhere.
pub const DOCKERFILE: &str = include_str!("../../../Dockerfile");
pub const REPOSITORY: &str = "distributed-benchmark";
/// The executable's name inside the image.
const EXE_NAME: &str = "distributed-benchmark";

/// What [`ensure`] did.
pub enum Built {
    UpToDate,
    Built { steps: usize },
}

/// The image tag for this executable: `distributed-benchmark:<first 16 hex of sha256>`.
pub fn tag_for(exe: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(DOCKERFILE.as_bytes());
    hash.update(exe);
    let digest = hash.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{REPOSITORY}:{hex}")
}

/// `work` on a thread of its own, outside the runtime's blocking pool: the runtime is shut
/// down with a timeout when the run ends (so that connections, an SSH session among them,
/// are closed), and work cut short by a signal is not waited for.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("image".into())
        .spawn(move || {
            let _ = tx.send(work());
        })
        .context("starting a thread")?;
    rx.await.context("the thread ended without an answer")
}

/// Builds the image unless an image with the same content tag exists. `on_step` gets one
/// line per Dockerfile step.
pub async fn ensure(
    docker: &Docker,
    on_step: &(dyn Fn(&str) + Send + Sync),
) -> Result<(String, Built)> {
    // Reading, hashing and packing the executable (100 MB in a debug build) take seconds:
    // off the async threads, so that a signal is acted on meanwhile.
    let (exe, tag) = off_runtime(read_this_executable)
        .await
        .context("reading this executable")??;
    if docker.inspect_image(&tag).await.is_ok() {
        return Ok((tag, Built::UpToDate));
    }

    let context = off_runtime(move || build_context(&exe))
        .await
        .context("packing the build context")?
        .context("packing the build context")?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut steps = 0;
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("building image {tag}"))?;
        if let Some(detail) = info.error_detail {
            bail!(
                "building image {tag} failed: {}",
                detail.message.unwrap_or_default()
            );
        }
        if let Some(line) = info.stream.as_deref().map(str::trim)
            && line.starts_with("Step ")
        {
            steps += 1;
            on_step(line);
        }
    }
    if docker.inspect_image(&tag).await.is_err() {
        bail!("building image {tag} finished without producing it; see the Docker daemon's log");
    }
    Ok((tag, Built::Built { steps }))
}

/// This executable's bytes and its image tag; refused when it is dynamically linked.
fn read_this_executable() -> Result<(Vec<u8>, String)> {
    let exe_path = std::env::current_exe().context("locating this executable")?;
    let exe = std::fs::read(&exe_path)
        .with_context(|| format!("reading this executable ({})", exe_path.display()))?;
    if is_dynamically_linked(&exe) {
        bail!(
            "this executable ({}) is dynamically linked, but the image is FROM scratch and \
             needs a static one. Build from the repository, whose .cargo/config.toml links \
             statically: cargo build --release",
            exe_path.display()
        );
    }
    let tag = tag_for(&exe);
    Ok((exe, tag))
}

/// A tar holding the Dockerfile and the executable.
fn build_context(exe: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |name: &str, mode: u32, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, data)
    };
    add("Dockerfile", 0o644, DOCKERFILE.as_bytes())?;
    add(EXE_NAME, 0o755, exe)?;
    tar.into_inner()
}

/// True when the ELF file asks for a dynamic loader (has a PT_INTERP program header).
/// A FROM scratch image has no loader, so such an executable would not start.
pub fn is_dynamically_linked(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    };
    // Only 64-bit little-endian ELF is built here; anything else is left to Docker.
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(4) != Some(&2) || elf.get(5) != Some(&1) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum as usize).any(|i| u32_at(phoff as usize + i * phentsize as usize) == Some(PT_INTERP))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_changes_with_the_executable() {
        let a = tag_for(b"one");
        assert!(a.starts_with("distributed-benchmark:"));
        assert_eq!(a.len(), "distributed-benchmark:".len() + 16);
        assert_eq!(a, tag_for(b"one"));
        assert_ne!(a, tag_for(b"two"));
    }

    #[test]
    fn this_test_binary_is_static_and_a_system_binary_is_not() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(
            !is_dynamically_linked(&me),
            "tests are built with crt-static"
        );
        let sh = std::fs::read("/bin/sh").unwrap();
        assert!(is_dynamically_linked(&sh));
        assert!(!is_dynamically_linked(b"not an elf"));
    }

    #[test]
    fn context_holds_the_dockerfile_and_the_executable() {
        let tar_bytes = build_context(b"\x7fELF...").unwrap();
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["Dockerfile", "distributed-benchmark"]);
        assert!(DOCKERFILE.contains("FROM scratch"));
    }
}
