//! The results of a run, in each format: `results_<timestamp>_<run id>.json` (everything),
//! `scaling_analysis.csv` (one row per run, for spreadsheets) and the plain-text table the
//! terminal shows. Exporters write files or return strings; the caller prints.

pub mod ascii;
pub mod csv;
pub mod json;
pub mod markdown;
pub mod svg;
pub mod table;

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};

/// Writes `bytes` to `path` so that a reader (or a crash) sees the old file or the complete
/// new one, never a part: a temporary file in the same folder (a rename is atomic only
/// within one file system), fsync, rename over `path`, then fsync of the folder so that the
/// rename itself is durable. The temporary file is removed on every error.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temp = TempPath::beside(path)?;
    let mut file = File::create(&temp.path)
        .with_context(|| format!("creating temporary file {}", temp.path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", temp.path.display()))?;
    drop(file);
    temp.persist(path)?;
    sync_dir(path);
    Ok(())
}

/// A temporary file's path, removed when dropped unless it was renamed into place.
struct TempPath {
    path: PathBuf,
    armed: bool,
}

impl TempPath {
    /// `.<name>.tmp-<pid>-<n>` beside `path`: hidden, and unique within and across
    /// processes, so concurrent writers never share one.
    fn beside(path: &Path) -> Result<TempPath> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = path
            .file_name()
            .with_context(|| format!("{} does not name a file", path.display()))?;
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = format!(
            ".{}.tmp-{}-{unique}",
            name.to_string_lossy(),
            std::process::id()
        );
        Ok(TempPath {
            path: path.with_file_name(temp),
            armed: true,
        })
    }

    fn persist(mut self, to: &Path) -> Result<()> {
        fs::rename(&self.path, to)
            .with_context(|| format!("renaming {} to {}", self.path.display(), to.display()))?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: the error that got us here is the one worth reporting.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Makes a completed rename durable. Best effort: not every platform can open a folder,
/// and the data itself is already synced.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomically(&path, b"first").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn temporary_file_is_removed_when_the_rename_fails() {
        let dir = tempfile::tempdir().unwrap();
        // A non-empty folder in the way: the data is written, the rename fails.
        let path = dir.path().join("out.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let err = write_atomically(&path, b"data").unwrap_err();
        assert!(format!("{err:#}").contains("out.json"), "{err:#}");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.json");
        let err = write_atomically(&path, b"data").unwrap_err();
        assert!(format!("{err:#}").contains("out.json"), "{err:#}");
    }
}
