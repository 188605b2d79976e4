//! The commands behind the command line: a benchmark run (or study), `extract`, `cleanup`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::cli::RunArgs;
use crate::config::{self, FileConfig};
use crate::error::{self, exit};
use crate::monitor::display::Printer;
use crate::{benchmark, docker, sample, scaling, signals, topology};

/// `extract FILE`: each page's text followed by a form feed.
pub fn extract(file: &std::path::Path) -> Result<u8> {
    let mut buf = Vec::new();
    let bytes = worker::source::load(file, &mut buf)
        .map_err(|e| error::InputError(format!("cannot read {}: {e}", file.display())))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut write_error = None;
    let mut on_page = |_: u32, text: &str| {
        let text = text.replace('\u{c}', " ");
        match out
            .write_all(text.as_bytes())
            .and_then(|()| out.write_all(b"\x0c"))
        {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(e) => {
                write_error = Some(e);
                std::ops::ControlFlow::Break(())
            }
        }
    };
    let limits = worker::engine::Limits::default();
    let outcome =
        worker::engine::Extractor::default().extract_loaded(&bytes, &limits, &mut on_page);
    if let Err(e) = out.flush() {
        write_error.get_or_insert(e);
    }
    if let Some(e) = write_error {
        // The reader went away (e.g. `| head`): not an error, as with other Unix tools.
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(exit::OK);
        }
        return Err(e).context("writing to stdout");
    }
    match outcome {
        Ok(_) => Ok(exit::OK),
        Err(e) => {
            eprintln!(
                "error: {}: {} ({})",
                file.display(),
                e.detail,
                e.reason.label()
            );
            Ok(exit::FAILED)
        }
    }
}

pub async fn cleanup() -> Result<u8> {
    let (docker, _) = docker::connect().await?;
    let (names, folders) = docker::container::cleanup(&docker, None).await?;
    // Barrier folders whose containers are already gone (e.g. after a kill -9).
    let mut orphans = Vec::new();
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let path = entry.path();
            if docker::container::is_barrier_folder(&path)
                && path.is_dir()
                && !folders.contains(&path)
            {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                orphans.push(path);
            }
        }
    }
    println!(
        "Removed {} container(s){}{} and {} barrier folder(s).",
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", "),
        folders.len() + orphans.len()
    );
    Ok(exit::OK)
}

pub async fn run(args: RunArgs) -> Result<u8> {
    let config = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let output_dir = config::output_dir(&args, &config);
    prepare_output_dir(&output_dir)?;

    if args.test_config {
        let corpus = benchmark::sample_dir(&output_dir);
        sample::write_sample_corpus(&corpus, sample::SampleScale::Full)?;
        let path = config::write_test_config(&output_dir, &corpus)?;
        println!(
            "Wrote {}; run it with: distributed-benchmark --config {}",
            path.display(),
            path.display()
        );
        return Ok(exit::OK);
    }

    let (inputs, label): (Vec<PathBuf>, String) = if let Some(dir) = &args.data_dir {
        if !dir.exists() {
            return Err(error::InputError(format!(
                "data folder {} does not exist. Give an existing folder of PDFs with --data-dir, \
                 or leave it out to use the built-in sample corpus.",
                dir.display()
            ))
            .into());
        }
        (vec![dir.clone()], dir.display().to_string())
    } else if !config.inputs.directories.is_empty() || !config.inputs.files.is_empty() {
        let inputs: Vec<PathBuf> = config
            .inputs
            .directories
            .iter()
            .chain(&config.inputs.files)
            .cloned()
            .collect();
        let label = inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        (inputs, label)
    } else {
        let dir = benchmark::sample_dir(&output_dir);
        let corpus = sample::write_sample_corpus(&dir, sample::SampleScale::Full)?;
        eprintln!(
            "No --data-dir: using the built-in sample corpus ({} files, {} pages) in {}",
            corpus.files,
            corpus.pages,
            dir.display()
        );
        (
            vec![dir.clone()],
            format!("{} (built-in sample corpus)", dir.display()),
        )
    };

    // Containers go to distinct physical cores before SMT siblings (see Topology::placement);
    // without a readable topology, the online CPUs in order.
    let topology = topology::Topology::read(std::path::Path::new("/sys")).ok();
    let online = match &topology {
        Some(t) => t.placement(t.cpus.len()).iter().map(|p| p.cpu).collect(),
        None => config::online_cpus(),
    };
    let mut args = args;
    if args.scaling_test {
        // The plan is made for the largest step; step n uses its first n cores.
        let pool = args
            .cpus
            .as_deref()
            .map_or(online.len(), |list| worker::run::parse_cpu_list(list).len());
        args.containers = Some(args.max_containers.unwrap_or(pool));
        if args.repeat == 0 {
            return Err(error::InputError("--repeat must be at least 1".into()).into());
        }
        if args
            .fail_below
            .is_some_and(|p| !(0.0..=1000.0).contains(&p))
        {
            return Err(
                error::InputError("--fail-below takes a percentage, e.g. 80".into()).into(),
            );
        }
    }
    let mut plan = config::plan(&args, config, inputs, label, &online)?;
    if let Some(t) = topology.as_ref().filter(|t| t.describe().numa_nodes > 1) {
        // Keep each container's memory on its core's NUMA node.
        plan.numa_nodes = plan.cpus.iter().map(|&c| t.numa_node_of(c)).collect();
    }
    let summary = topology.as_ref().map(topology::Topology::describe);
    let (docker, engine) = match plan.runtime {
        config::Runtime::Docker => {
            let (docker, engine) = docker::connect().await?;
            (Some(docker), engine)
        }
        config::Runtime::Process => (None, docker::EngineInfo::default()),
    };

    let (cancel_tx, cancel) = watch::channel(false);
    let in_flight = signals::InFlight::default();
    let second_signal = signals::Signals::install()?.watch(cancel_tx, in_flight.clone());
    let mut session = benchmark::Session {
        docker,
        engine,
        printer: Printer::new(plan.plain),
        busy_pct: None,
        topology: summary.clone(),
        cancel,
        in_flight,
    };
    let run = async {
        if args.scaling_test {
            let options = scaling::StudyOptions {
                max_containers: plan.containers,
                repeat: args.repeat,
                interleave: args.interleave,
                save_baseline: args.save_baseline.clone(),
                compare: args.compare.clone(),
                fail_below_pct: args.fail_below,
            };
            scaling::run(&mut session, &plan, &options, summary).await
        } else {
            benchmark::run(&mut session, &plan).await
        }
    };
    second_signal.unless(run).await
}

/// Creates the output folder and checks that it is writable before anything runs, so a
/// long benchmark never ends with nowhere to put its results.
fn prepare_output_dir(dir: &std::path::Path) -> Result<()> {
    let unusable = |e: std::io::Error| {
        error::InputError(format!(
            "output folder {} cannot be written: {e}. Choose another with --output-dir.",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(unusable)?;
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(unusable)?;
    std::fs::remove_file(&probe).map_err(unusable)?;
    Ok(())
}
