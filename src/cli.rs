//! The command line. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use worker::run::WorkerArgs;

use crate::config::Runtime;

const EXAMPLES: &str = "\
Examples:
  distributed-benchmark --containers 2 --duration 10
      2 pinned containers for 10 s on the built-in sample corpus
  distributed-benchmark --containers 4 --duration 60 --data-dir ./pdfs
      your own PDFs, 4 cores, one minute
  distributed-benchmark --containers 2 --cpus 2,3 --memory 512m --config docker-config.yaml
      explicit cores, a memory limit and a resource-constrained config
  distributed-benchmark --containers 4 --baseline benchmark_output/results_20261126_101500_3fa2c91d.json
      efficiency against an earlier single-container run instead of a new solo run
  distributed-benchmark --scaling-test --max-containers 8 --repeat 3 --interleave
      1, 2, 4 and 8 containers, three times each: CSV, SVG chart, Markdown report
  distributed-benchmark --scaling-test --compare benchmark_output/baseline-main.json --fail-below 80
      a CI gate: exit 5 on efficiency below 80% or a regression beyond noise
  distributed-benchmark --runtime process --containers 2
      the same workers as local processes (no Docker), to measure container overhead
  distributed-benchmark cleanup
      remove containers and barrier folders left by earlier runs
  distributed-benchmark extract paper.pdf
      print each page's text followed by a form feed

Exit codes:
  0    success
  1    the run failed (image build, a container never became ready, I/O)
  2    bad input: flags, config file, data folder, too many containers
  3    the Docker daemon cannot be reached
  4    a container died or was OOM-killed mid-run (the others' results are saved)
  5    a scaling gate failed (--fail-below, or a regression beyond noise with --compare)
  130  interrupted by Ctrl-C or SIGTERM (what was measured is saved; a second
       signal ends at once, removing the workers but saving nothing)";

/// How many PDF pages per second does this machine extract, and how does it scale with
/// cores? Builds a container image, starts N containers each pinned to its own core, warms
/// them up, releases them together and reports pages/sec and scaling efficiency.
#[derive(Parser, Debug)]
#[command(version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Remove every container and barrier folder left by earlier runs (found by label).
    Cleanup,
    /// Print each page's text followed by a form feed, as pdftotext does.
    Extract {
        /// The PDF to read.
        file: PathBuf,
    },
    /// Run the measured loop in this process: no Docker, no barrier unless given. The last
    /// stdout line is a JSON object with pages, files, errors, elapsed_s and pages_per_sec.
    Worker(WorkerArgs),
    /// Write the built-in sample corpus to a folder.
    Sample {
        /// Where to write it.
        dir: PathBuf,
        /// A few small files instead of the full corpus (for quick tests).
        #[arg(long)]
        small: bool,
    },
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Number of containers, each pinned to its own core [default: 1].
    #[arg(short = 'n', long, value_name = "N")]
    pub containers: Option<usize>,

    /// Length of the measured window, in seconds [default: 60].
    #[arg(short, long, value_name = "S")]
    pub duration: Option<f64>,

    /// Folder of PDFs to extract (default: the built-in sample corpus, generated into the
    /// output folder). Overrides inputs.directories and inputs.files of the config.
    #[arg(long, value_name = "PATH")]
    pub data_dir: Option<PathBuf>,

    /// YAML config file (see config.yaml and docker-config.yaml).
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Where results, logs and the sample corpus go [default: benchmark_output].
    #[arg(short, long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Seconds each container extracts before the measured window (not counted)
    /// [default: 10].
    #[arg(long, value_name = "S")]
    pub warmup_time: Option<f64>,

    /// Keep the containers after the run (for inspection); remove them later with
    /// `distributed-benchmark cleanup`.
    #[arg(long)]
    pub no_cleanup: bool,

    /// Memory limit per container, e.g. 512m or 2g (overrides docker.memory).
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Cores to pin containers to, e.g. 0,2,4-6 (container i gets the i-th).
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// Allow more containers than cores (they then share cores; efficiency will drop).
    #[arg(long)]
    pub oversubscribe: bool,

    /// Results JSON of an earlier 1-container run to use as the efficiency baseline,
    /// instead of measuring a solo run first.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Scaling study: 1, 2, 4, 8 ... containers up to --max-containers (and the maximum
    /// itself), each step with its own warm-up and coordinated start.
    #[arg(long, conflicts_with_all = ["containers", "baseline"])]
    pub scaling_test: bool,

    /// Largest step of the scaling study [default: the number of cores].
    #[arg(long, value_name = "M", requires = "scaling_test")]
    pub max_containers: Option<usize>,

    /// Measure each step of the study this many times.
    #[arg(long, default_value_t = 1, value_name = "R", requires = "scaling_test")]
    pub repeat: u32,

    /// Run the study round after round (1, 2, 4, 1, 2, 4 ...) rather than repeat after
    /// repeat, so that drift of the machine does not favour one step.
    #[arg(long, requires = "scaling_test")]
    pub interleave: bool,

    /// Save the study's figures as baseline-NAME.json in the output folder.
    #[arg(long, value_name = "NAME", requires = "scaling_test")]
    pub save_baseline: Option<String>,

    /// Compare the study with a saved baseline: each figure's change, with its interval,
    /// and whether it is beyond noise.
    #[arg(long, value_name = "FILE", requires = "scaling_test")]
    pub compare: Option<PathBuf>,

    /// Exit with code 5 when any step's efficiency is below PCT percent, or (with
    /// --compare) throughput regressed beyond noise.
    #[arg(long, value_name = "PCT", requires = "scaling_test")]
    pub fail_below: Option<f64>,

    /// Write test_config.yaml (pointing at the sample corpus) into the output folder and exit.
    #[arg(long)]
    pub test_config: bool,

    /// Seconds of countdown between "all ready" and the start of the window.
    #[arg(long, default_value_t = 3, value_name = "S")]
    pub countdown: u64,

    /// Seconds to wait, after the warm-up, for every container to report ready.
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    pub ready_timeout: f64,

    /// Where workers run: `docker` (pinned containers) or `process` (local processes pinned
    /// with sched_setaffinity; no Docker needed).
    #[arg(long, value_enum, default_value_t = Runtime::Docker)]
    pub runtime: Runtime,

    /// Tests only: make one worker misbehave (never-ready@INDEX, stall@INDEX).
    #[arg(long, hide = true, value_name = "FAULT@INDEX")]
    pub inject_fault: Option<String>,

    /// Plain progress lines even on a terminal.
    #[arg(long)]
    pub plain: bool,
}
