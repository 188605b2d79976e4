//! The results of a run in each format. Every format serializes the same
//! [`Report`](crate::report::model::Report) behind one [`Exporter`] interface, and one
//! [`Writer`] rewrites every file atomically after each round of slots, so an interruption
//! or a crash loses at most the round in progress:
//!
//! - `results_<timestamp>_<run id>.json`: everything, samples included ([`json`]);
//! - `scaling_analysis.csv`: one row per step, earlier runs' rows kept ([`csv`]);
//! - `report.md` ([`markdown`]) and `scaling.svg` ([`svg`]).
//!
//! The terminal's summary ([`table`]) and chart ([`ascii`]) are rendered from the same
//! report; the printer prints them.

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

use crate::report::model::Report;

/// One format of the report, written as one file.
pub trait Exporter {
    /// The file's name in the output folder.
    fn file_name(&self, report: &Report) -> String;

    /// The file's bytes. `existing` is the file as it is now, for formats that keep what
    /// earlier runs wrote (the CSV).
    fn render(&self, report: &Report, existing: Option<&[u8]>) -> Result<Vec<u8>>;
}

/// Rewrites every file of a run, atomically, each time it is asked.
pub struct Writer {
    dir: PathBuf,
    exporters: Vec<Box<dyn Exporter + Send + Sync>>,
}

impl Writer {
    /// All the formats, into `dir`.
    pub fn new(dir: &Path) -> Writer {
        Writer {
            dir: dir.to_path_buf(),
            exporters: vec![
                Box::new(json::Json),
                Box::new(csv::Csv),
                Box::new(markdown::Markdown),
                Box::new(svg::Svg),
            ],
        }
    }

    /// Writes every file; returns their paths (the results JSON first).
    pub fn write(&self, report: &Report) -> Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for exporter in &self.exporters {
            let path = self.dir.join(exporter.file_name(report));
            let existing = fs::read(&path).ok();
            let bytes = exporter.render(report, existing.as_deref())?;
            write_atomically(&path, &bytes)?;
            paths.push(path);
        }
        Ok(paths)
    }
}

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

    #[test]
    fn the_writer_writes_every_format_and_rewrites_them() {
        let dir = tempfile::tempdir().unwrap();
        let report = crate::report::fixtures::report();
        let writer = Writer::new(dir.path());
        let paths = writer.write(&report).unwrap();
        assert_eq!(paths.len(), 4);
        assert!(paths[0].ends_with("results_20250314_092653_r1a2b3.json"));
        let again = writer.write(&report).unwrap();
        assert_eq!(paths, again);
        let mut names = names(dir.path());
        names.sort();
        assert_eq!(
            names,
            [
                "report.md",
                "results_20250314_092653_r1a2b3.json",
                "scaling.svg",
                "scaling_analysis.csv"
            ]
        );
    }

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
