//! The host side of the start barrier: a folder bind-mounted into every container. Each
//! worker writes `ready-<id>` after its warm-up; once all are there the orchestrator writes
//! `go` (atomically) naming the instant every window opens. `stop` asks workers to end early.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use worker::protocol::barrier::{self, Go};
use worker::run::write_atomically;

/// Barrier folders are named `<prefix><run id>` in the temp folder; cleanup relies on it.
pub const FOLDER_PREFIX: &str = "distributed-benchmark-barrier-";

/// The uid:gid a container runs as: ours, unless we are root, in which case `nobody`.
pub fn container_user() -> (u32, u32) {
    match fs::metadata("/proc/self") {
        Ok(meta) if meta.uid() != 0 => (meta.uid(), meta.gid()),
        _ => (65534, 65534),
    }
}

#[derive(Debug)]
pub struct Barrier {
    dir: PathBuf,
}

impl Barrier {
    /// Makes the folder for `run_id`, writable by the container user `owner`.
    pub fn create(run_id: &str, owner: (u32, u32)) -> Result<Barrier> {
        let dir = std::env::temp_dir().join(format!("{FOLDER_PREFIX}{run_id}"));
        fs::create_dir_all(&dir)
            .with_context(|| format!("creating barrier folder {}", dir.display()))?;
        let barrier = Barrier { dir };
        let mine = fs::metadata(&barrier.dir)?.uid();
        if mine != owner.0 {
            // We are root and the workers run as nobody: hand the folder over.
            std::os::unix::fs::chown(&barrier.dir, Some(owner.0), Some(owner.1)).with_context(
                || {
                    format!(
                        "handing barrier folder {} to the container user",
                        barrier.dir.display()
                    )
                },
            )?;
        }
        fs::set_permissions(&barrier.dir, fs::Permissions::from_mode(0o700))?;
        Ok(barrier)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_ready(&self, id: u32) -> bool {
        self.dir.join(barrier::ready_file(id)).exists()
    }

    /// Releases every worker: their windows open at `start_at`.
    pub fn release(&self, start_at: SystemTime) -> Result<()> {
        let go = Go {
            start_at_unix_ns: start_at
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0),
        };
        let path = self.dir.join(barrier::GO_FILE);
        write_atomically(&path, serde_json::to_string(&go)?.as_bytes())
            .with_context(|| format!("writing the go file {}", path.display()))
    }

    /// Asks workers to end their window now (they report what they measured).
    pub fn stop(&self) -> Result<()> {
        let path = self.dir.join(barrier::STOP_FILE);
        write_atomically(&path, b"stop\n").with_context(|| format!("writing {}", path.display()))
    }

    /// Deletes the folder and everything in it (already gone is fine: cleanup by label
    /// may have removed it).
    pub fn remove(self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing barrier folder {}", self.dir.display()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_writes_a_go_file_workers_can_parse() {
        let run = format!("test-{}", std::process::id());
        let b = Barrier::create(&run, container_user()).unwrap();
        assert!(!b.is_ready(1));
        fs::write(b.dir().join("ready-1"), "ready").unwrap();
        assert!(b.is_ready(1));
        let at = UNIX_EPOCH + std::time::Duration::from_secs(5);
        b.release(at).unwrap();
        let go: Go =
            serde_json::from_str(&fs::read_to_string(b.dir().join("go")).unwrap()).unwrap();
        assert_eq!(go.start_at_unix_ns, 5_000_000_000);
        let leftovers: Vec<_> = fs::read_dir(b.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        let dir = b.dir().to_path_buf();
        b.remove().unwrap();
        assert!(!dir.exists());
    }
}
