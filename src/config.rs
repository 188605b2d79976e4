//! The YAML config file and the command line, merged into one validated [`Plan`].
//!
//! Precedence: a flag beats the config file, which beats the built-in default. Relative
//! paths in a config file are relative to the file's folder, as in docker compose.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use worker::run::{WorkerArgs, parse_cpu_list};

use crate::cli::RunArgs;
use crate::error::InputError;

/// The config file as written. Keys follow the original engine's config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FileConfig {
    pub inputs: Inputs,
    pub processing: Processing,
    pub pdf: PdfSettings,
    pub output: Output,
    pub debug: Debug,
    pub docker: DockerSettings,
    pub benchmark: BenchmarkSettings,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Inputs {
    pub directories: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Processing {
    pub max_file_size_mb: Option<f64>,
    /// Seconds.
    pub timeout_per_file: Option<f64>,
    pub skip_extensions: Vec<String>,
}

impl Default for Processing {
    fn default() -> Self {
        Processing {
            max_file_size_mb: Some(100.0),
            timeout_per_file: Some(30.0),
            skip_extensions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PdfSettings {
    pub max_pages_to_extract: Option<u32>,
    pub skip_if_pages_over: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Output {
    pub directory: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Debug {
    /// Seconds between progress events from each worker.
    pub progress_interval: f64,
}

impl Default for Debug {
    fn default() -> Self {
        Debug {
            progress_interval: 1.0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DockerSettings {
    /// Memory limit per container, e.g. "1g".
    pub memory: Option<String>,
    /// CPU quota per container, in CPUs (default 1).
    pub cpus_per_container: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BenchmarkSettings {
    pub containers: Option<usize>,
    /// Seconds.
    pub duration: Option<f64>,
    /// Seconds.
    pub warmup_time: Option<f64>,
}

impl FileConfig {
    /// Reads and checks a config file; errors name the file and the key.
    pub fn load(path: &Path) -> Result<FileConfig> {
        let text = fs::read_to_string(path).map_err(|e| {
            InputError(format!(
                "cannot read config file {}: {e}. Check the path given to --config.",
                path.display()
            ))
        })?;
        let mut config: FileConfig = serde_yaml::from_str(&text).map_err(|e| {
            InputError(format!(
                "invalid config file {}: {e}. See config.yaml for the keys and their types.",
                path.display()
            ))
        })?;
        config.check(path)?;
        let base = path.parent().unwrap_or(Path::new(""));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        config.inputs.directories.iter_mut().for_each(rebase);
        config.inputs.files.iter_mut().for_each(rebase);
        if let Some(dir) = config.output.directory.as_mut() {
            rebase(dir);
        }
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |key: &str, why: &str| -> Result<()> {
            Err(InputError(format!(
                "invalid config file {}: {key} {why}",
                path.display()
            ))
            .into())
        };
        if let Some(mb) = self.processing.max_file_size_mb
            && !positive(mb)
        {
            return bad(
                "processing.max_file_size_mb",
                "must be a positive number of MB",
            );
        }
        if let Some(s) = self.processing.timeout_per_file
            && !positive(s)
        {
            return bad(
                "processing.timeout_per_file",
                "must be a positive number of seconds",
            );
        }
        if self.pdf.max_pages_to_extract == Some(0) {
            return bad(
                "pdf.max_pages_to_extract",
                "must be at least 1 (or left out)",
            );
        }
        if self.pdf.skip_if_pages_over == Some(0) {
            return bad("pdf.skip_if_pages_over", "must be at least 1 (or left out)");
        }
        if !(0.1..=60.0).contains(&self.debug.progress_interval) {
            return bad(
                "debug.progress_interval",
                "must be between 0.1 and 60 seconds",
            );
        }
        if let Some(cpus) = self.docker.cpus_per_container
            && !positive(cpus)
        {
            return bad(
                "docker.cpus_per_container",
                "must be a positive number of CPUs",
            );
        }
        if let Some(memory) = &self.docker.memory
            && parse_size(memory).is_none()
        {
            return bad("docker.memory", "must be a size such as 512m or 2g");
        }
        if self.benchmark.containers == Some(0) {
            return bad("benchmark.containers", "must be at least 1");
        }
        Ok(())
    }
}

/// Where the workers run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// One container per worker, pinned with cpuset (the default).
    #[default]
    Docker,
    /// One local process per worker, pinned with sched_setaffinity: no Docker needed, and
    /// a side-by-side measure of what containers cost.
    Process,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runtime: Runtime,
    pub containers: usize,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Folders and files to mount, as absolute host paths.
    pub inputs: Vec<PathBuf>,
    /// The data location as the user named it, for reports.
    pub data_label: String,
    pub data_files: u64,
    pub data_bytes: u64,
    pub output_dir: PathBuf,
    pub cpus: Vec<usize>,
    /// NUMA node of each chosen CPU (for cpuset-mems); empty on a single-node machine.
    pub numa_nodes: Vec<Option<usize>>,
    pub oversubscribed: bool,
    pub memory_bytes: Option<u64>,
    pub nano_cpus: i64,
    /// The worker's settings, with host paths (the container gets its own mount paths).
    pub worker: WorkerArgs,
    pub config_file: Option<PathBuf>,
    pub config: FileConfig,
    pub cleanup: bool,
    pub countdown_s: u64,
    pub ready_timeout_s: f64,
    pub baseline_file: Option<PathBuf>,
    pub plain: bool,
    /// Tests only: make worker `index` misbehave.
    pub inject_fault: Option<(worker::run::Fault, u32)>,
}

pub const DEFAULT_OUTPUT_DIR: &str = "benchmark_output";
const DEFAULT_DURATION_S: f64 = 60.0;
const DEFAULT_WARMUP_S: f64 = 10.0;

/// The output folder from the flag, the config, or the default.
pub fn output_dir(args: &RunArgs, config: &FileConfig) -> PathBuf {
    args.output_dir
        .clone()
        .or_else(|| config.output.directory.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUTPUT_DIR))
}

/// Merges flags and config into a plan. `inputs` are the data folders/files to use (the
/// caller resolves the sample corpus when none is given); `online_cpus` the host's cores.
pub fn plan(
    args: &RunArgs,
    config: FileConfig,
    inputs: Vec<PathBuf>,
    data_label: String,
    online_cpus: &[usize],
) -> Result<Plan> {
    let containers = args.containers.or(config.benchmark.containers).unwrap_or(1);
    if containers == 0 {
        bail!(InputError("--containers must be at least 1".into()));
    }
    let duration_s = args
        .duration
        .or(config.benchmark.duration)
        .unwrap_or(DEFAULT_DURATION_S);
    if !positive(duration_s) {
        bail!(InputError(
            "--duration must be a positive number of seconds".into()
        ));
    }
    let warmup_s = args
        .warmup_time
        .or(config.benchmark.warmup_time)
        .unwrap_or(DEFAULT_WARMUP_S);
    if !(positive(warmup_s) || warmup_s == 0.0) {
        bail!(InputError(
            "--warmup-time must be zero or a positive number of seconds".into()
        ));
    }

    let memory_bytes = match args.memory.as_deref().or(config.docker.memory.as_deref()) {
        Some(text) => Some(parse_size(text).ok_or_else(|| {
            InputError(format!(
                "--memory {text:?} is not a size: use a number with an optional unit, e.g. 512m or 2g"
            ))
        })?),
        None => None,
    };
    if let Some(bytes) = memory_bytes
        && bytes < 6 * 1024 * 1024
    {
        bail!(InputError(format!(
            "--memory {bytes} bytes is below Docker's minimum of 6 MB per container"
        )));
    }

    let (cpus, oversubscribed) = choose_cpus(args, containers, online_cpus)?;

    let mut inputs_abs = Vec::new();
    for input in &inputs {
        let abs = input.canonicalize().map_err(|e| {
            InputError(format!(
                "data folder {} cannot be used: {e}. Give an existing folder of PDFs with --data-dir.",
                input.display()
            ))
        })?;
        inputs_abs.push(abs);
    }

    let worker = WorkerArgs {
        data_dirs: inputs_abs.clone(),
        duration: duration_s,
        passes: None,
        warmup: warmup_s,
        barrier: None,
        id: None,
        go_timeout: 600.0,
        max_file_size_mb: config.processing.max_file_size_mb,
        timeout_per_file: config.processing.timeout_per_file,
        skip_extensions: config.processing.skip_extensions.clone(),
        max_pages: config.pdf.max_pages_to_extract,
        skip_if_pages_over: config.pdf.skip_if_pages_over,
        progress_interval: config.debug.progress_interval,
        pin_cpu: None,
        fault: None,
    };
    let catalog = worker::run::discover(&worker).map_err(|e| InputError(e.0))?;
    if catalog.files.is_empty() {
        bail!(InputError(format!(
            "data folder {data_label} holds no PDF (no file ending in .pdf, after skips). \
             Point --data-dir at a folder of PDFs, or leave it out to use the sample corpus."
        )));
    }

    let nano_cpus = (config.docker.cpus_per_container.unwrap_or(1.0) * 1e9) as i64;
    Ok(Plan {
        runtime: args.runtime,
        containers,
        duration_s,
        warmup_s,
        inputs: inputs_abs,
        data_label,
        data_files: catalog.files.len() as u64,
        data_bytes: catalog.bytes,
        output_dir: output_dir(args, &config),
        cpus,
        numa_nodes: Vec::new(),
        oversubscribed,
        memory_bytes,
        nano_cpus,
        worker,
        config_file: args.config.clone(),
        config,
        cleanup: !args.no_cleanup,
        countdown_s: args.countdown,
        ready_timeout_s: args.ready_timeout,
        baseline_file: args.baseline.clone(),
        plain: args.plain,
        inject_fault: args.inject_fault.as_deref().map(parse_fault).transpose()?,
    })
}

/// Container i is pinned to the i-th chosen core: the `--cpus` list, or `online` in the
/// order given (the topology's placement: distinct physical cores first). More containers than cores is refused unless `--oversubscribe`.
fn choose_cpus(args: &RunArgs, n: usize, online: &[usize]) -> Result<(Vec<usize>, bool)> {
    let pool: Vec<usize> = match &args.cpus {
        Some(list) => {
            let cpus = parse_cpu_list(list);
            if cpus.is_empty() || list.split(',').any(|p| p.trim().is_empty()) {
                bail!(InputError(format!(
                    "--cpus {list:?} is not a CPU list: use e.g. 0,2,4-6"
                )));
            }
            if let Some(bad) = cpus.iter().find(|c| !online.contains(c)) {
                bail!(InputError(format!(
                    "--cpus names CPU {bad}, which is not online here (online: {})",
                    format_cpu_list(online)
                )));
            }
            cpus
        }
        None => online.to_vec(),
    };
    if pool.is_empty() {
        bail!("no online CPU found in /sys/devices/system/cpu/online");
    }
    let oversubscribed = n > pool.len();
    if oversubscribed && !args.oversubscribe {
        bail!(InputError(format!(
            "{n} containers but only {} core(s) to pin them to ({}). Use --containers {} or fewer, \
             or add --oversubscribe to let containers share cores (efficiency will drop).",
            pool.len(),
            format_cpu_list(&pool),
            pool.len()
        )));
    }
    Ok((
        (0..n).map(|i| pool[i % pool.len()]).collect(),
        oversubscribed,
    ))
}

/// `never-ready@2`: the fault and the 1-based worker index.
fn parse_fault(text: &str) -> Result<(worker::run::Fault, u32)> {
    use clap::ValueEnum;
    let bad = || {
        InputError(format!(
            "--inject-fault {text:?}: use FAULT@INDEX, e.g. stall@2"
        ))
    };
    let (name, index) = text.split_once('@').ok_or_else(bad)?;
    let fault = worker::run::Fault::from_str(name, true).map_err(|_| bad())?;
    let index = index.parse().map_err(|_| bad())?;
    Ok((fault, index))
}

/// True for a number above zero (false for NaN).
fn positive(x: f64) -> bool {
    x > 0.0
}

pub fn format_cpu_list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `512m`, `2g`, `1.5GiB`, `1048576` (bytes) into bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = value * mult as f64;
    (bytes >= 1.0 && bytes.is_finite()).then_some(bytes as u64)
}

/// The host's online CPUs.
pub fn online_cpus() -> Vec<usize> {
    fs::read_to_string("/sys/devices/system/cpu/online")
        .map(|s| parse_cpu_list(s.trim()))
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n).collect()
        })
}

/// Writes `test_config.yaml` into `output_dir`, pointing at `sample_dir`.
pub fn write_test_config(output_dir: &Path, sample_dir: &Path) -> Result<PathBuf> {
    let mut config = FileConfig::default();
    // The config file lives in output_dir, and its relative paths resolve from there.
    let rel = sample_dir.strip_prefix(output_dir).unwrap_or(sample_dir);
    config.inputs.directories = vec![rel.to_path_buf()];
    config.output.directory = Some(PathBuf::from("."));
    config.benchmark = BenchmarkSettings {
        containers: Some(1),
        duration: Some(5.0),
        warmup_time: Some(1.0),
    };
    let path = output_dir.join("test_config.yaml");
    let yaml = serde_yaml::to_string(&config).context("serializing the test config")?;
    let text = format!(
        "# Written by `distributed-benchmark --test-config`: a short run on the sample corpus.\n\
         # Use it with: distributed-benchmark --config {}\n{yaml}",
        path.display()
    );
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn the_shipped_configs_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["config.yaml", "docker-config.yaml"] {
            let config = FileConfig::load(&root.join(name)).unwrap();
            assert!(config.debug.progress_interval > 0.0, "{name}");
        }
        let constrained = FileConfig::load(&root.join("docker-config.yaml")).unwrap();
        assert_eq!(constrained.docker.cpus_per_container, Some(1.0));
        assert_eq!(constrained.docker.memory.as_deref(), Some("1g"));
        assert!(constrained.pdf.max_pages_to_extract.is_some());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.yaml", "processing:\n  max_file_size: 5\n");
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("max_file_size"), "{err}");
        assert!(err.contains("c.yaml"), "{err}");

        let path = write(
            dir.path(),
            "d.yaml",
            "processing:\n  timeout_per_file: -1\n",
        );
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("processing.timeout_per_file"), "{err}");
        assert!(err.contains("d.yaml"), "{err}");

        let path = write(dir.path(), "e.yaml", "pdf:\n  max_pages_to_extract: many\n");
        let err = FileConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("max_pages_to_extract"), "{err}");
    }

    #[test]
    fn relative_paths_resolve_from_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.yaml",
            "inputs:\n  directories: [pdfs]\noutput:\n  directory: out\n",
        );
        let config = FileConfig::load(&path).unwrap();
        assert_eq!(config.inputs.directories, vec![dir.path().join("pdfs")]);
        assert_eq!(config.output.directory, Some(dir.path().join("out")));
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("5x"), None);
        assert_eq!(parse_size("0"), None);
    }

    #[test]
    fn cpus_are_chosen_in_order_and_oversubscription_is_refused() {
        let online = [0, 1, 2, 3];
        let args = RunArgs::default();
        assert_eq!(choose_cpus(&args, 2, &online).unwrap(), (vec![0, 1], false));
        let err = choose_cpus(&args, 5, &online).unwrap_err().to_string();
        assert!(err.contains("--oversubscribe"), "{err}");

        let args = RunArgs {
            oversubscribe: true,
            ..RunArgs::default()
        };
        assert_eq!(
            choose_cpus(&args, 5, &online).unwrap(),
            (vec![0, 1, 2, 3, 0], true)
        );

        let args = RunArgs {
            cpus: Some("3,1".into()),
            ..RunArgs::default()
        };
        assert_eq!(choose_cpus(&args, 2, &online).unwrap(), (vec![3, 1], false));
        let args = RunArgs {
            cpus: Some("7".into()),
            ..RunArgs::default()
        };
        let err = choose_cpus(&args, 1, &online).unwrap_err().to_string();
        assert!(err.contains("CPU 7"), "{err}");
    }
}
