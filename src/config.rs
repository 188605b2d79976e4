//! The YAML config file, the flags and the facts of the host, resolved into one
//! validated [`Plan`] by one pure function, [`resolve`].
//!
//! Precedence: a flag beats the config file, which beats the built-in default. Relative
//! paths in a config file are relative to the file's folder, as in docker compose. Every
//! error names where the value came from: the flag, or `file: key`.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use worker::run::{Fault, WorkerArgs};
use worker::usage::parse_cpu_list;

use crate::origin::Origin;
use crate::topology::format_cpu_list;

use crate::cli::{RunArgs, Runtime, ScheduleKind};
use crate::error::InputError;
use crate::facts::HostFacts;
use crate::hosts::HostSpec;

/// The config file as written.
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

/// A config file and where it was read from (relative paths in it already rebased).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedConfig {
    pub path: Option<PathBuf>,
    pub config: FileConfig,
}

impl LoadedConfig {
    /// Reads a config file; a file that cannot be read or parsed is named, with the fix.
    pub fn load(path: &Path) -> Result<LoadedConfig, InputError> {
        let text = fs::read_to_string(path).map_err(|e| {
            InputError(format!(
                "cannot read config file {} (--config): {e}. Check the path.",
                path.display()
            ))
        })?;
        let mut config: FileConfig = serde_yaml::from_str(&text).map_err(|e| {
            InputError(format!(
                "{}: {e}. See config.yaml for the keys and their types.",
                path.display()
            ))
        })?;
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
        Ok(LoadedConfig {
            path: Some(path.to_path_buf()),
            config,
        })
    }

    /// Where a key of this file came from, for messages: `config.yaml: benchmark.duration`.
    fn key(&self, key: &'static str) -> Origin {
        Origin::File {
            file: self
                .path
                .as_ref()
                .map_or_else(String::new, |p| p.display().to_string()),
            key,
        }
    }
}

/// A value and its origin: the flag's if given, else the file's, else the default.
fn pick<T: Clone>(
    flag: Option<T>,
    flag_name: &'static str,
    file: Option<T>,
    loaded: &LoadedConfig,
    key: &'static str,
    default: T,
) -> (T, Origin) {
    match (flag, file) {
        (Some(v), _) => (v, Origin::Flag(flag_name)),
        (None, Some(v)) => (v, loaded.key(key)),
        (None, None) => (default, Origin::Default),
    }
}

fn bad(origin: &Origin, what: impl fmt::Display) -> InputError {
    InputError(format!("{origin} {what}"))
}

/// Where the corpus comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// Folders and files, as absolute paths once located.
    Paths {
        paths: Vec<PathBuf>,
        /// As the user named them, for reports.
        label: String,
        origin: Origin,
    },
    /// The built-in sample corpus, generated into the output folder.
    Sample,
}

/// One host of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub spec: HostSpec,
    /// The engine is reached through a unix socket: the host is this machine.
    pub local: bool,
    /// Folders named for this host in the hosts file (`data_dir`); the corpus otherwise.
    pub data_dir: Option<PathBuf>,
    /// Ship the corpus to it.
    pub ship: bool,
}

/// Where one worker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerPlace {
    /// Index into [`Plan::hosts`].
    pub host: usize,
    pub cpu: usize,
    /// NUMA node for its memory (cpuset-mems), on multi-node machines.
    pub numa_node: Option<usize>,
}

/// Everything a run needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runtime: Runtime,
    /// The container counts measured, ascending; 1 is the solo step (absent when the
    /// baseline comes from a file).
    pub steps: Vec<usize>,
    /// The step the results' top-level figures describe (N of `--containers N`, or the
    /// largest of a study).
    pub reported: usize,
    pub schedule: ScheduleKind,
    /// `--slot`, when given.
    pub slot_s: Option<f64>,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub repeat: u32,
    pub interleave: bool,
    pub target_precision_pts: Option<f64>,
    pub max_time_s: f64,
    pub data: Data,
    pub output_dir: PathBuf,
    /// The hosts, in the order given.
    pub hosts: Vec<HostPlan>,
    /// Worker i runs on `places[i]`.
    pub places: Vec<WorkerPlace>,
    /// The largest corpus `--ship-corpus` uploads.
    pub ship_limit_bytes: u64,
    pub oversubscribed: bool,
    pub memory_bytes: Option<u64>,
    pub nano_cpus: i64,
    /// The worker's settings; data paths and the per-worker fields are filled in later.
    pub worker: WorkerArgs,
    pub config_file: Option<PathBuf>,
    pub config: FileConfig,
    pub cleanup: bool,
    pub countdown_s: u64,
    pub ready_timeout_s: f64,
    pub baseline_file: Option<PathBuf>,
    pub save_reference: Option<String>,
    pub compare: Option<PathBuf>,
    pub fail_below_pct: Option<f64>,
    /// Tests only: make worker `index` (1-based) misbehave.
    pub inject_fault: Option<(Fault, u32)>,
    /// Tests only: (host index from 0, ns) whose workers' clocks run ahead.
    pub inject_clock_skew: Option<(usize, i64)>,
}

impl Plan {
    /// Workers started: one per core of the largest step.
    pub fn workers(&self) -> usize {
        self.steps.last().copied().unwrap_or(0)
    }

    /// The core each worker is pinned to, in worker order.
    pub fn cpus(&self) -> Vec<usize> {
        self.places.iter().map(|p| p.cpu).collect()
    }
}

pub const DEFAULT_OUTPUT_DIR: &str = "benchmark_output";
const DEFAULT_DURATION_S: f64 = 60.0;
const DEFAULT_WARMUP_S: f64 = 10.0;
/// Docker refuses a memory limit below this.
const MIN_MEMORY_BYTES: u64 = 6 * 1024 * 1024;
/// Slots shorter than this are mostly boundary (waking up, the page in progress).
pub const MIN_SLOT_S: f64 = 0.25;

/// The output folder from the flag, the config, or the default.
pub fn output_dir(args: &RunArgs, loaded: &LoadedConfig) -> PathBuf {
    args.output_dir
        .clone()
        .or_else(|| loaded.config.output.directory.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUTPUT_DIR))
}

/// The values checked without any fact of the hosts.
struct Values {
    duration_s: f64,
    warmup_s: f64,
    memory_bytes: Option<u64>,
    ship_limit_bytes: u64,
}

/// Checks everything the flags and the config file say that needs no fact of a host, so
/// that bad input is refused before any engine is reached.
pub fn check(args: &RunArgs, loaded: &LoadedConfig) -> Result<(), InputError> {
    values(args, loaded).map(|_| ())
}

fn values(args: &RunArgs, loaded: &LoadedConfig) -> Result<Values, InputError> {
    let file = &loaded.config;
    check_file_values(loaded)?;

    let (duration_s, origin) = pick(
        args.duration,
        "--duration",
        file.benchmark.duration,
        loaded,
        "benchmark.duration",
        DEFAULT_DURATION_S,
    );
    if !positive(duration_s) {
        return Err(bad(&origin, "must be a positive number of seconds"));
    }
    let (warmup_s, origin) = pick(
        args.warmup_time,
        "--warmup-time",
        file.benchmark.warmup_time,
        loaded,
        "benchmark.warmup_time",
        DEFAULT_WARMUP_S,
    );
    if !(positive(warmup_s) || warmup_s == 0.0) {
        return Err(bad(&origin, "must be zero or a positive number of seconds"));
    }
    let (memory, origin) = pick(
        args.memory.clone().map(Some),
        "--memory",
        file.docker.memory.clone().map(Some),
        loaded,
        "docker.memory",
        None,
    );
    let memory_bytes = match memory {
        Some(text) => {
            let bytes = parse_size(&text).ok_or_else(|| {
                bad(
                    &origin,
                    format!("{text:?} is not a size: use a number with an optional unit, e.g. 512m or 2g"),
                )
            })?;
            if bytes < MIN_MEMORY_BYTES {
                return Err(bad(
                    &origin,
                    format!(
                        "{text:?} is below Docker's minimum of 6 MB per container: use e.g. 512m"
                    ),
                ));
            }
            Some(bytes)
        }
        None => None,
    };
    if args.repeat == 0 {
        return Err(bad(&Origin::Flag("--repeat"), "must be at least 1"));
    }
    if let Some(s) = args.slot
        && !(s >= MIN_SLOT_S && s.is_finite())
    {
        return Err(bad(
            &Origin::Flag("--slot"),
            format!("must be at least {MIN_SLOT_S} seconds"),
        ));
    }
    if let Some(p) = args.target_precision
        && !(positive(p) && p < 100.0)
    {
        return Err(bad(
            &Origin::Flag("--target-precision"),
            "takes a half-width in percentage points, e.g. 3",
        ));
    }
    if args.target_precision.is_some()
        && !(args.max_time >= duration_s && args.max_time.is_finite())
    {
        return Err(bad(
            &Origin::Flag("--max-time"),
            format!("must be at least the window's --duration ({duration_s} s)"),
        ));
    }
    if let Some(p) = args.fail_below
        && !(0.0..=1000.0).contains(&p)
    {
        return Err(bad(
            &Origin::Flag("--fail-below"),
            "takes a percentage, e.g. 80",
        ));
    }
    if let Some(name) = &args.save_baseline {
        check_reference_name(name)?;
    }
    if args.runtime == Runtime::Process
        && (args.ship_corpus || !args.host.is_empty() || args.hosts.is_some())
    {
        return Err(bad(
            &Origin::Flag("--runtime process"),
            "runs local processes: --host, --hosts and --ship-corpus need a container engine",
        ));
    }
    let ship_limit_bytes = parse_size(&args.ship_limit).ok_or_else(|| {
        bad(
            &Origin::Flag("--ship-limit"),
            format!("{:?} is not a size: use e.g. 500m or 2g", args.ship_limit),
        )
    })?;
    Ok(Values {
        duration_s,
        warmup_s,
        memory_bytes,
        ship_limit_bytes,
    })
}

/// Flags, the config file and the hosts' facts, into the plan. Pure: it reads nothing
/// and writes nothing, so every problem with the input is found before anything runs.
pub fn resolve(
    args: &RunArgs,
    loaded: &LoadedConfig,
    hosts: &[(HostSpec, HostFacts)],
) -> Result<Plan, InputError> {
    let file = &loaded.config;
    let Values {
        duration_s,
        warmup_s,
        memory_bytes,
        ship_limit_bytes,
    } = values(args, loaded)?;
    if hosts.is_empty() {
        return Err(InputError("no host to run on".into()));
    }
    if args.cpus.is_some() && hosts.len() > 1 {
        return Err(bad(
            &Origin::Flag("--cpus"),
            "applies to a single host: with several, give each host's cores as cpus in the \
             hosts file (--hosts)",
        ));
    }
    // Each host's cores: the flag's or the hosts file's list, or its own in placement
    // order. A core the host does not have is refused, naming the host.
    let mut cores = Vec::new();
    for (spec, facts) in hosts {
        let (list, origin) = match (&args.cpus, &spec.cpus) {
            (Some(list), _) => (Some(list.clone()), Origin::Flag("--cpus")),
            (None, Some(list)) => (Some(list.clone()), spec.origin.clone()),
            (None, None) => (None, Origin::Default),
        };
        let usable =
            match list {
                Some(list) => {
                    let cpus = parse_cpu_list(&list).filter(|c| !c.is_empty()).ok_or_else(|| {
                    bad(
                        &origin,
                        format!("{list:?} is not a CPU list: use numbers and ranges, e.g. 0,2,4-6"),
                    )
                })?;
                    if let Some(unknown) = cpus.iter().find(|c| !facts.usable_cpus.contains(c)) {
                        return Err(bad(
                            &origin,
                            format!(
                                "names CPU {unknown}, which host {} cannot use (usable: {})",
                                spec.name,
                                format_cpu_list(&facts.usable_cpus)
                            ),
                        ));
                    }
                    cpus
                }
                None => facts.placement.clone(),
            };
        cores.push(crate::hosts::HostCores {
            name: spec.name.clone(),
            cores: usable,
        });
    }

    let study = args.scaling_test;
    let (reported, origin) = if study {
        let all: usize = cores.iter().map(|c| c.cores.len()).sum();
        (
            args.max_containers.unwrap_or(all),
            Origin::Flag("--max-containers"),
        )
    } else {
        pick(
            args.containers,
            "--containers",
            file.benchmark.containers,
            loaded,
            "benchmark.containers",
            1,
        )
    };
    if reported == 0 {
        return Err(bad(&origin, "must be at least 1"));
    }
    let placed = crate::hosts::place(
        reported,
        &cores,
        args.placement,
        args.oversubscribe,
        &origin.to_string(),
    )?;
    let per_host = |h: usize| placed.iter().filter(|(host, _)| *host == h).count();
    let oversubscribed = (0..hosts.len()).any(|h| per_host(h) > cores[h].cores.len());
    let places: Vec<WorkerPlace> = placed
        .iter()
        .map(|&(host, cpu)| WorkerPlace {
            host,
            cpu,
            numa_node: (hosts[host].1.numa_nodes > 1)
                .then(|| hosts[host].1.numa_node_of(cpu))
                .flatten(),
        })
        .collect();

    let mut steps = if study {
        step_counts(reported)
    } else if reported == 1 {
        vec![1]
    } else {
        vec![1, reported]
    };
    if args.baseline.is_some() {
        if reported == 1 {
            return Err(bad(
                &Origin::Flag("--baseline"),
                "is the single-container figure for runs of 2 or more containers; a \
                 1-container run measures it itself",
            ));
        }
        steps.retain(|&n| n != 1);
    }

    let data = match &args.data_dir {
        Some(dir) => Data::Paths {
            paths: vec![dir.clone()],
            label: dir.display().to_string(),
            origin: Origin::Flag("--data-dir"),
        },
        None if !file.inputs.directories.is_empty() || !file.inputs.files.is_empty() => {
            let paths: Vec<PathBuf> = file
                .inputs
                .directories
                .iter()
                .chain(&file.inputs.files)
                .cloned()
                .collect();
            Data::Paths {
                label: paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                paths,
                origin: loaded.key("inputs"),
            }
        }
        None => Data::Sample,
    };
    let plans: Vec<HostPlan> = hosts
        .iter()
        .map(|(spec, facts)| {
            let local = facts.this_machine;
            HostPlan {
                spec: spec.clone(),
                local,
                data_dir: spec.data_dir.clone(),
                // A remote host cannot see the sample corpus of this machine's output folder.
                ship: args.ship_corpus
                    || (!local && spec.data_dir.is_none() && data == Data::Sample),
            }
        })
        .collect();

    let worker = WorkerArgs {
        data_dirs: Vec::new(),
        duration: duration_s,
        passes: None,
        warmup: warmup_s,
        id: None,
        messages: true,
        // Workers give up waiting for go a little after the orchestrator would.
        go_timeout: args.ready_timeout + args.countdown as f64 + 60.0,
        max_file_size_mb: file.processing.max_file_size_mb,
        timeout_per_file: file.processing.timeout_per_file,
        skip_extensions: file.processing.skip_extensions.clone(),
        max_pages: file.pdf.max_pages_to_extract,
        skip_if_pages_over: file.pdf.skip_if_pages_over,
        progress_interval: file.debug.progress_interval,
        pin_cpu: None,
        fault: None,
        clock_skew_ns: 0,
    };

    Ok(Plan {
        runtime: args.runtime,
        steps,
        reported,
        schedule: args.schedule,
        slot_s: args.slot,
        duration_s,
        warmup_s,
        repeat: args.repeat,
        interleave: args.interleave,
        target_precision_pts: args.target_precision,
        max_time_s: args.max_time,
        data,
        output_dir: output_dir(args, loaded),
        hosts: plans,
        places,
        ship_limit_bytes,
        oversubscribed,
        memory_bytes,
        nano_cpus: (file.docker.cpus_per_container.unwrap_or(1.0) * 1e9) as i64,
        worker,
        config_file: loaded.path.clone(),
        config: file.clone(),
        cleanup: !args.no_cleanup,
        countdown_s: args.countdown,
        ready_timeout_s: args.ready_timeout,
        baseline_file: args.baseline.clone(),
        save_reference: args.save_baseline.clone(),
        compare: args.compare.clone(),
        fail_below_pct: args.fail_below,
        inject_fault: args.inject_fault.as_deref().map(parse_fault).transpose()?,
        inject_clock_skew: args
            .inject_clock_skew
            .as_deref()
            .map(|text| {
                let bad = || {
                    InputError(format!(
                        "--inject-clock-skew {text:?}: use NS@HOST, e.g. 5000000@2"
                    ))
                };
                let (ns, host) = text.split_once('@').ok_or_else(bad)?;
                let host: usize = host.parse().map_err(|_| bad())?;
                let ns: i64 = ns.parse().map_err(|_| bad())?;
                if host == 0 || host > hosts.len() {
                    return Err(bad());
                }
                Ok((host - 1, ns))
            })
            .transpose()?,
    })
}

/// The values of the config file that need no flag to be judged.
fn check_file_values(loaded: &LoadedConfig) -> Result<(), InputError> {
    let c = &loaded.config;
    let check = |ok: bool, key: &'static str, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(bad(&loaded.key(key), what))
        }
    };
    check(
        c.processing.max_file_size_mb.is_none_or(positive),
        "processing.max_file_size_mb",
        "must be a positive number of MB",
    )?;
    check(
        c.processing.timeout_per_file.is_none_or(positive),
        "processing.timeout_per_file",
        "must be a positive number of seconds",
    )?;
    check(
        c.pdf.max_pages_to_extract != Some(0),
        "pdf.max_pages_to_extract",
        "must be at least 1 (or left out)",
    )?;
    check(
        c.pdf.skip_if_pages_over != Some(0),
        "pdf.skip_if_pages_over",
        "must be at least 1 (or left out)",
    )?;
    check(
        (0.1..=60.0).contains(&c.debug.progress_interval),
        "debug.progress_interval",
        "must be between 0.1 and 60 seconds",
    )?;
    check(
        c.docker.cpus_per_container.is_none_or(positive),
        "docker.cpus_per_container",
        "must be a positive number of CPUs",
    )
}

/// 1, 2, 4 ... up to `max`, and `max` itself when it is not a power of two.
pub fn step_counts(max: usize) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut n = 1;
    while n <= max {
        counts.push(n);
        n *= 2;
    }
    if counts.last() != Some(&max) && max > 0 {
        counts.push(max);
    }
    counts
}

/// A reference name must be a plain file-name fragment.
pub fn check_reference_name(name: &str) -> Result<(), InputError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(plain) {
        return Err(InputError(format!(
            "--save-baseline {name:?} cannot be used in a file name: use letters, digits, \
             '.', '_' and '-' only, e.g. main-2cpu"
        )));
    }
    Ok(())
}

/// `never-ready@2`: the fault and the 1-based worker index.
fn parse_fault(text: &str) -> Result<(Fault, u32), InputError> {
    use clap::ValueEnum;
    let bad = || {
        InputError(format!(
            "--inject-fault {text:?}: use FAULT@INDEX, e.g. stall@2"
        ))
    };
    let (name, index) = text.split_once('@').ok_or_else(bad)?;
    let fault = Fault::from_str(name, true).map_err(|_| bad())?;
    let index = index.parse().map_err(|_| bad())?;
    Ok((fault, index))
}

/// True for a number above zero (false for NaN and infinity).
fn positive(x: f64) -> bool {
    x > 0.0 && x.is_finite()
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
    use clap::Parser;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn args(flags: &[&str]) -> RunArgs {
        let mut argv = vec!["distributed-benchmark"];
        argv.extend(flags);
        crate::cli::Cli::try_parse_from(argv).unwrap().run
    }

    fn four_cores() -> Vec<(HostSpec, HostFacts)> {
        vec![local("local", &[0, 1, 2, 3])]
    }

    fn local(name: &str, cpus: &[usize]) -> (HostSpec, HostFacts) {
        (
            HostSpec {
                name: name.to_string(),
                url: crate::hosts::LOCAL_SOCKET.to_string(),
                cpus: None,
                data_dir: None,
                origin: Origin::Default,
            },
            HostFacts::for_tests(name, cpus),
        )
    }

    fn resolve_flags(flags: &[&str]) -> Result<Plan, InputError> {
        resolve(&args(flags), &LoadedConfig::default(), &four_cores())
    }

    fn err(flags: &[&str]) -> String {
        resolve_flags(flags).unwrap_err().to_string()
    }

    #[test]
    fn the_shipped_configs_parse() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in ["config.yaml", "docker-config.yaml"] {
            let loaded = LoadedConfig::load(&root.join(name)).unwrap();
            resolve(&args(&[]), &loaded, &four_cores()).unwrap();
        }
        let constrained = LoadedConfig::load(&root.join("docker-config.yaml")).unwrap();
        assert_eq!(constrained.config.docker.cpus_per_container, Some(1.0));
        assert_eq!(constrained.config.docker.memory.as_deref(), Some("1g"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.yaml", "processing:\n  max_file_size: 5\n");
        let e = LoadedConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("max_file_size") && e.contains("c.yaml"), "{e}");

        let path = write(
            dir.path(),
            "d.yaml",
            "processing:\n  timeout_per_file: -1\n",
        );
        let loaded = LoadedConfig::load(&path).unwrap();
        let e = resolve(&args(&[]), &loaded, &four_cores())
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.yaml: processing.timeout_per_file"), "{e}");

        let path = write(dir.path(), "e.yaml", "pdf:\n  max_pages_to_extract: many\n");
        let e = LoadedConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("max_pages_to_extract"), "{e}");
    }

    #[test]
    fn a_bad_value_in_the_file_is_named_by_its_key_not_by_a_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "b.yaml",
            "benchmark:\n  duration: -5\n  containers: 0\n",
        );
        let loaded = LoadedConfig::load(&path).unwrap();
        let e = resolve(&args(&[]), &loaded, &four_cores())
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.yaml: benchmark.duration"), "{e}");
        assert!(!e.contains("--duration"), "{e}");
        // A flag overrides the bad value; the next bad one is then named.
        let e = resolve(&args(&["--duration", "5"]), &loaded, &four_cores())
            .unwrap_err()
            .to_string();
        assert!(e.contains("b.yaml: benchmark.containers"), "{e}");
        let e = err(&["--duration", "-1"]);
        assert!(e.starts_with("--duration must be"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_from_the_config_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.yaml",
            "inputs:\n  directories: [pdfs]\noutput:\n  directory: out\n",
        );
        let loaded = LoadedConfig::load(&path).unwrap();
        assert_eq!(
            loaded.config.inputs.directories,
            vec![dir.path().join("pdfs")]
        );
        let plan = resolve(&args(&[]), &loaded, &four_cores()).unwrap();
        assert_eq!(plan.output_dir, dir.path().join("out"));
        assert!(
            matches!(&plan.data, Data::Paths { paths, .. } if paths == &[dir.path().join("pdfs")])
        );
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
        let e = err(&["--memory", "1m"]);
        assert!(e.contains("\"1m\"") && e.contains("512m"), "{e}");
    }

    #[test]
    fn cpus_are_chosen_in_order_and_oversubscription_is_refused() {
        let plan = resolve_flags(&["--containers", "2"]).unwrap();
        assert_eq!((plan.cpus(), plan.steps), (vec![0, 1], vec![1, 2]));
        let e = err(&["--containers", "5"]);
        assert!(
            e.contains("--oversubscribe") && e.contains("local has 4"),
            "{e}"
        );
        let plan = resolve_flags(&["--containers", "5", "--oversubscribe"]).unwrap();
        assert_eq!(
            (plan.cpus(), plan.oversubscribed),
            (vec![0, 1, 2, 3, 0], true)
        );
        let plan = resolve_flags(&["--containers", "2", "--cpus", "3,1"]).unwrap();
        assert_eq!(plan.cpus(), vec![3, 1]);
        let e = err(&["--cpus", "7"]);
        assert!(e.contains("CPU 7"), "{e}");
    }

    #[test]
    fn a_cpu_list_with_a_bad_part_is_refused_whole() {
        for list in ["0,x", "0,", "", "2-1"] {
            let e = err(&["--cpus", list]);
            assert!(
                e.starts_with("--cpus") && e.contains("not a CPU list"),
                "{list}: {e}"
            );
        }
    }

    #[test]
    fn a_single_run_is_the_study_of_one_and_n() {
        assert_eq!(resolve_flags(&[]).unwrap().steps, vec![1]);
        let plan = resolve_flags(&["--containers", "3"]).unwrap();
        assert_eq!((plan.steps, plan.reported), (vec![1, 3], 3));
        let plan = resolve_flags(&["--scaling-test"]).unwrap();
        assert_eq!((plan.steps, plan.reported), (vec![1, 2, 4], 4));
        let plan = resolve_flags(&["--scaling-test", "--max-containers", "3"]).unwrap();
        assert_eq!(plan.steps, vec![1, 2, 3]);
        let plan = resolve_flags(&["--containers", "2", "--baseline", "b.json"]).unwrap();
        assert_eq!(plan.steps, vec![2], "the solo figure comes from the file");
        assert!(err(&["--baseline", "b.json"]).contains("1-container run"));
    }

    #[test]
    fn two_hosts_share_the_steps_and_refuse_what_they_do_not_have() {
        let mut second = local("second", &[0, 1]);
        second.0.url = "tcp://127.0.0.1:23750".into();
        second.1.this_machine = false;
        second.0.cpus = Some("1".into());
        second.0.origin = Origin::File {
            file: "hosts.yaml".into(),
            key: "hosts[1]",
        };
        let mut first = local("local", &[0, 1]);
        first.0.cpus = Some("0".into());
        let hosts = vec![first.clone(), second.clone()];
        let plan = resolve(
            &args(&["--containers", "2"]),
            &LoadedConfig::default(),
            &hosts,
        )
        .unwrap();
        assert_eq!(
            plan.places
                .iter()
                .map(|p| (p.host, p.cpu))
                .collect::<Vec<_>>(),
            [(0, 0), (1, 1)]
        );
        assert!(plan.hosts[0].local && !plan.hosts[1].local);
        assert!(
            plan.hosts[1].ship,
            "a remote host gets the sample corpus shipped"
        );
        assert!(!plan.hosts[0].ship);
        let e = resolve(
            &args(&["--containers", "3"]),
            &LoadedConfig::default(),
            &hosts,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("local has 1 (0)") && e.contains("second has 1 (1)"),
            "{e}"
        );
        second.0.cpus = Some("7".into());
        let e = resolve(&args(&[]), &LoadedConfig::default(), &[first, second])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("hosts.yaml: hosts[1] names CPU 7, which host second"),
            "{e}"
        );
        let e = resolve(&args(&["--cpus", "0"]), &LoadedConfig::default(), &hosts)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--cpus applies to a single host"), "{e}");
    }

    #[test]
    fn counts_are_powers_of_two_then_the_maximum() {
        assert_eq!(step_counts(1), vec![1]);
        assert_eq!(step_counts(8), vec![1, 2, 4, 8]);
        assert_eq!(step_counts(6), vec![1, 2, 4, 6]);
        assert_eq!(step_counts(0), Vec::<usize>::new());
    }

    #[test]
    fn precision_slots_and_gates_are_checked() {
        assert!(err(&["--target-precision", "0"]).starts_with("--target-precision"));
        let e = err(&[
            "--target-precision",
            "3",
            "--max-time",
            "10",
            "--duration",
            "60",
        ]);
        assert!(e.starts_with("--max-time"), "{e}");
        assert!(err(&["--slot", "0.1"]).starts_with("--slot"));
        assert!(err(&["--fail-below", "-3"]).starts_with("--fail-below"));
        assert!(err(&["--repeat", "0"]).starts_with("--repeat"));
        assert!(err(&["--save-baseline", "../x"]).contains("file name"));
        assert!(err(&["--inject-fault", "boom"]).contains("FAULT@INDEX"));
    }
}
