//! The command line. Doc comments here are the `--help` text. What the flags say is an
//! override of the config file and the defaults; [`crate::config::resolve`] turns both
//! into the plan.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use worker::run::WorkerCommand;

const EXAMPLES: &str = "\
Examples:
  distributed-benchmark --containers 2 --duration 10
      2 pinned containers on the built-in sample corpus; efficiency with its 95% interval
  distributed-benchmark --containers 4 --duration 60 --data-dir ./pdfs
      your own PDFs, 4 cores, one minute of measurement
  distributed-benchmark --containers 2 --target-precision 3 --max-time 600
      measure until the efficiency is known to within ±3 points (or 10 minutes pass)
  distributed-benchmark --containers 2 --cpus 2,3 --memory 512m --config docker-config.yaml
      explicit cores, a memory limit and a resource-constrained config
  distributed-benchmark --containers 4 --baseline benchmark_output/results_20261126_101500_3fa2c91d.json
      efficiency against an earlier single-container figure instead of solo slots
  distributed-benchmark --scaling-test --max-containers 8
      1, 2, 4 and 8 containers in one paired schedule: CSV, SVG chart, Markdown report
  distributed-benchmark --scaling-test --compare benchmark_output/baseline-main.json --fail-below 80
      a CI gate: exit 5 on efficiency below 80% or a regression beyond noise
  distributed-benchmark --runtime process --containers 2
      the same workers as local processes (no Docker), to measure container overhead
  distributed-benchmark cleanup
      remove containers left by earlier runs
  distributed-benchmark extract paper.pdf
      print each page's text followed by a form feed

Exit codes:
  0    success
  1    the run failed (image build, a worker never became ready, I/O)
  2    bad input: flags, config file, data folder, too many containers
  3    the container engine cannot be reached
  4    a worker died, was OOM-killed or stopped writing (the others' results are saved)
  5    a scaling gate failed (--fail-below, or a regression beyond noise with --compare)
  130  interrupted by Ctrl-C or SIGTERM (what was measured is saved; a second
       signal ends at once, removing the workers but saving nothing)";

/// How many PDF pages per second does this machine extract, and how does it scale with
/// cores? Builds a container image, starts N containers each pinned to its own core, warms
/// them up, then measures in short slots in which either all N run or one runs alone
/// (rotating), and reports pages/sec and scaling efficiency with a 95% interval.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true,
    allow_negative_numbers = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Remove every container and volume of ours left by earlier runs (found by label), on
    /// the local engine or the hosts given.
    Cleanup {
        /// A host to clean (repeatable); see the run's --host.
        #[arg(long = "host", value_name = "URL", conflicts_with = "hosts")]
        host: Vec<String>,
        /// A hosts file; see the run's --hosts.
        #[arg(long, value_name = "FILE")]
        hosts: Option<PathBuf>,
    },
    /// Print what this machine is (CPUs, topology, memory), as JSON: run inside a
    /// container, it tells the orchestrator what a remote host is.
    #[command(hide = true)]
    Probe,
    /// Print each page's text followed by a form feed, as pdftotext does.
    Extract {
        /// The PDF to read.
        file: PathBuf,
    },
    /// Run the measured loop in this process: no Docker. The last stdout line is a JSON
    /// object with pages, files, errors, elapsed_s and pages_per_sec.
    Worker(WorkerCommand),
    /// Write the built-in sample corpus to a folder.
    Sample {
        /// Where to write it.
        dir: PathBuf,
        /// A few small files instead of the full corpus (for quick tests).
        #[arg(long)]
        small: bool,
    },
}

/// Where the workers run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    /// One container per worker, pinned with cpuset (the default).
    #[default]
    Docker,
    /// One local process per worker, pinned with sched_setaffinity: no Docker needed, and
    /// a side-by-side measure of what containers cost.
    Process,
}

/// How the measured window is cut up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Short slots in which either all N workers run or one runs alone, rotating which
    /// core runs alone, so each core's solo speed is paired with its own N-worker speed a
    /// moment later and drift of the machine cancels (the default).
    #[default]
    Paired,
    /// One block per step: the solo block on the first core, then the 2-worker block, and
    /// so on (the old design; kept to compare against: drift between blocks is not
    /// captured by its interval unless --repeat makes rounds).
    Sequential,
}

impl ScheduleKind {
    pub fn label(self) -> &'static str {
        match self {
            ScheduleKind::Paired => "paired",
            ScheduleKind::Sequential => "sequential",
        }
    }
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Number of containers, each pinned to its own core [default: 1].
    #[arg(short = 'n', long, value_name = "N")]
    pub containers: Option<usize>,

    /// Length of the measured window, in seconds, cut into slots [default: 60]. With
    /// --target-precision, the shortest window.
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

    /// Seconds each worker extracts before the measured window (not counted)
    /// [default: 10].
    #[arg(long, value_name = "S")]
    pub warmup_time: Option<f64>,

    /// Remove the containers after the run (the default; accepted for old scripts).
    #[arg(long, conflicts_with = "no_cleanup")]
    pub cleanup: bool,

    /// Keep the containers after the run (for inspection); remove them later with
    /// `distributed-benchmark cleanup`.
    #[arg(long)]
    pub no_cleanup: bool,

    /// Memory limit per container, e.g. 512m or 2g (overrides docker.memory).
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,

    /// Cores to pin containers to, e.g. 0,2,4-6 (container i gets the i-th). With several
    /// hosts, give each host's cores in the hosts file instead.
    #[arg(long, value_name = "LIST")]
    pub cpus: Option<String>,

    /// A Docker Engine to run containers on: unix://PATH, tcp://HOST:PORT, https://HOST:PORT
    /// (TLS from DOCKER_CERT_PATH), ssh://USER@HOST, or a docker context's name. Repeat for
    /// several hosts [default: the local engine, or DOCKER_HOST].
    #[arg(long = "host", value_name = "URL", conflicts_with = "hosts")]
    pub host: Vec<String>,

    /// A YAML file listing the hosts, each with its url and optionally name, cpus and
    /// data_dir (see the README's "Several hosts").
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,

    /// How containers are spread over the hosts: round-robin, or one host filled first.
    #[arg(long, value_enum, default_value_t = crate::hosts::Placement::Spread)]
    pub placement: crate::hosts::Placement,

    /// Upload the corpus once to every host, into a volume of this run (removed at the
    /// end), instead of mounting a folder that must exist there.
    #[arg(long)]
    pub ship_corpus: bool,

    /// The largest corpus --ship-corpus uploads, e.g. 2g.
    #[arg(long, value_name = "SIZE", default_value = "2g")]
    pub ship_limit: String,

    /// Allow more containers than cores (they then share cores; efficiency will drop).
    #[arg(long)]
    pub oversubscribe: bool,

    /// Results JSON of an earlier run whose single-container figure is the efficiency
    /// baseline, instead of solo slots in this run.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Scaling study: 1, 2, 4, 8 ... containers up to --max-containers (and the maximum
    /// itself), all in one schedule of slots.
    #[arg(long, conflicts_with_all = ["containers", "baseline"])]
    pub scaling_test: bool,

    /// Largest step of the scaling study [default: the number of cores].
    #[arg(long, value_name = "M", requires = "scaling_test")]
    pub max_containers: Option<usize>,

    /// Measure R windows of --duration, one after the other, from the same warmed workers.
    #[arg(long, default_value_t = 1, value_name = "R")]
    pub repeat: u32,

    /// With --schedule sequential and --repeat: run the blocks round after round (1, 2, 4,
    /// 1, 2, 4 ...) rather than repeat after repeat (paired slots always interleave).
    #[arg(long)]
    pub interleave: bool,

    /// How the measured window is cut up.
    #[arg(long, value_enum, default_value_t = ScheduleKind::Paired)]
    pub schedule: ScheduleKind,

    /// Length of one slot, in seconds [default: 0.5, shorter when the window would hold
    /// fewer than 6 rounds; at least 0.25].
    #[arg(long, value_name = "S")]
    pub slot: Option<f64>,

    /// Keep measuring, round after round, until the efficiency's 95% interval is at most
    /// ±PTS percentage points wide (or --max-time passes).
    #[arg(long, value_name = "PTS")]
    pub target_precision: Option<f64>,

    /// With --target-precision: the longest the measured window may grow to, in seconds.
    #[arg(
        long,
        default_value_t = 600.0,
        value_name = "S",
        requires = "target_precision"
    )]
    pub max_time: f64,

    /// Save the figures as baseline-NAME.json in the output folder (a reference for
    /// --compare).
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,

    /// Compare with a saved reference (baseline-NAME.json): each step's change, with its
    /// interval, and whether it is beyond noise.
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,

    /// Exit with code 5 when any step's efficiency is below PCT percent, or (with
    /// --compare) throughput regressed beyond noise.
    #[arg(long, value_name = "PCT")]
    pub fail_below: Option<f64>,

    /// Write test_config.yaml (pointing at the sample corpus) into the output folder and exit.
    #[arg(long)]
    pub test_config: bool,

    /// Seconds of countdown between "all ready" and the start of the window.
    #[arg(long, default_value_t = 3, value_name = "S")]
    pub countdown: u64,

    /// Seconds to wait, after the warm-up, for every worker to report ready.
    #[arg(long, default_value_t = 60.0, value_name = "S")]
    pub ready_timeout: f64,

    /// Where workers run: `docker` (pinned containers) or `process` (local processes pinned
    /// with sched_setaffinity; no Docker needed).
    #[arg(long, value_enum, default_value_t = Runtime::Docker)]
    pub runtime: Runtime,

    /// Tests only: make one worker misbehave (never-ready@INDEX, stall@INDEX).
    #[arg(long, hide = true, value_name = "FAULT@INDEX")]
    pub inject_fault: Option<String>,

    /// Tests only: run the clock of host INDEX (from 1) NS nanoseconds ahead, as a host
    /// whose clock is off would be (NS@INDEX).
    #[arg(long, hide = true, value_name = "NS@INDEX", allow_hyphen_values = true)]
    pub inject_clock_skew: Option<String>,

    /// Plain progress lines even on a terminal.
    #[arg(long)]
    pub plain: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cleanup_is_accepted_and_conflicts_with_no_cleanup() {
        let cli = Cli::try_parse_from(["db", "--cleanup"]).unwrap();
        assert!(cli.run.cleanup);
        assert!(Cli::try_parse_from(["db", "--cleanup", "--no-cleanup"]).is_err());
    }

    #[test]
    fn max_time_needs_a_target() {
        assert!(Cli::try_parse_from(["db", "--max-time", "60"]).is_err());
        let cli = Cli::try_parse_from(["db", "--target-precision", "3"]).unwrap();
        assert_eq!(cli.run.max_time, 600.0);
    }
}
