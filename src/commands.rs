//! The commands behind the command line: a run (a single run and a study are one thing),
//! `extract`, `cleanup`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::cli::{RunArgs, Runtime};
use crate::config::{self, Data, LoadedConfig};
use crate::engine::Engine;
use crate::engine::docker::DockerEngine;
use crate::engine::process::ProcessEngine;
use crate::error::{self, Interrupted, exit};
use crate::facts::HostFacts;
use crate::hosts::HostSpec;
use crate::monitor::display::Printer;
use crate::origin::Origin;
use crate::pipeline::{self, Context as RunContext, SystemClock};
use crate::report::export::csv;
use crate::report::reference;
use crate::schedule::Schedule;
use crate::{sample, signals};

/// `extract FILE`: each page's text followed by a form feed.
pub fn extract(file: &Path) -> Result<u8> {
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

/// The hosts the flags name: `--hosts FILE`, `--host URL`..., or the local engine.
pub fn host_specs(host: &[String], hosts: Option<&Path>) -> Result<Vec<HostSpec>> {
    Ok(match (hosts, host) {
        (Some(file), _) => crate::hosts::load(file)?,
        (None, []) => vec![HostSpec {
            name: "local".to_string(),
            url: DockerEngine::local_url(),
            cpus: None,
            data_dir: None,
            origin: Origin::Default,
        }],
        (None, urls) => crate::hosts::from_flags(urls)?,
    })
}

/// Connects to every host's engine at once; the first that does not answer is refused,
/// named, before anything starts anywhere.
async fn connect_all(specs: &[HostSpec]) -> Result<Vec<Arc<dyn Engine>>> {
    let connected = futures_util::future::join_all(specs.iter().map(DockerEngine::connect)).await;
    let mut engines: Vec<Arc<dyn Engine>> = Vec::new();
    for engine in connected {
        engines.push(Arc::new(engine?));
    }
    Ok(engines)
}

/// Asks every engine, all at once, to remove what it started in this process; says what
/// could not be removed.
async fn remove_started(engines: &[Arc<dyn Engine>]) {
    let removals = futures_util::future::join_all(engines.iter().map(|e| e.remove_started())).await;
    for failed in removals.into_iter().flat_map(|r| r.failed) {
        eprintln!("warning: could not remove {failed}; `distributed-benchmark cleanup` will");
    }
}

/// `cleanup`: every container and volume of ours, from any run, on every host given (or
/// the local engine), and the barrier folders older versions left in the temp folder.
pub async fn cleanup(host: &[String], hosts: Option<&Path>) -> Result<u8> {
    let specs = host_specs(host, hosts)?;
    let mut failed = false;
    // The first host that cannot be reached decides the exit code (2 for an address that
    // names no engine, 3 for an engine that does not answer); the others are cleaned all
    // the same.
    let mut code = exit::OK;
    for spec in &specs {
        let engine = match DockerEngine::connect(spec).await {
            Ok(engine) => engine,
            Err(e) => {
                eprintln!("error: {e:#}");
                let this = error::exit_code(&e);
                if code == exit::OK {
                    code = this;
                }
                continue;
            }
        };
        let removal = match engine.remove_all().await {
            Ok(removal) => removal,
            Err(e) => {
                eprintln!("error: {e:#}");
                failed = true;
                continue;
            }
        };
        let containers = removal
            .removed
            .iter()
            .filter(|r| !r.starts_with("volume "))
            .count();
        let volumes = removal.removed.len() - containers;
        println!(
            "{}: removed {containers} container(s) and {volumes} volume(s){}{}.",
            spec.name,
            if removal.removed.is_empty() { "" } else { ": " },
            removal.removed.join(", "),
        );
        for f in &removal.failed {
            eprintln!("could not remove {f}");
            failed = true;
        }
    }
    let mut folders = 0;
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let path = entry.path();
            let ours = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("distributed-benchmark-barrier-"));
            if ours && path.is_dir() {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                folders += 1;
            }
        }
    }
    if folders > 0 {
        println!("Removed {folders} barrier folder(s) of an older version.");
    }
    if code != exit::OK {
        return Ok(code);
    }
    Ok(if failed { exit::FAILED } else { exit::OK })
}

pub async fn run(args: RunArgs) -> Result<u8> {
    // Everything the input says that needs no host is checked before anything is
    // reached, written or started.
    let loaded = match &args.config {
        Some(path) => LoadedConfig::load(path)?,
        None => LoadedConfig::default(),
    };
    config::check(&args, &loaded)?;
    let specs = match args.runtime {
        Runtime::Docker => host_specs(&args.host, args.hosts.as_deref())?,
        Runtime::Process => host_specs(&[], None)?,
    };

    if args.test_config {
        let output_dir = config::output_dir(&args, &loaded);
        prepare_output_dir(&output_dir)?;
        let corpus = pipeline::sample_dir(&output_dir);
        sample::write_sample_corpus(&corpus, sample::SampleScale::Full)?;
        let path = config::write_test_config(&output_dir, &corpus)?;
        println!(
            "Wrote {}; run it with: distributed-benchmark --config {}",
            path.display(),
            path.display()
        );
        return Ok(exit::OK);
    }

    // Every engine reached before anything starts anywhere.
    let engines: Vec<Arc<dyn Engine>> = match args.runtime {
        Runtime::Docker => connect_all(&specs).await?,
        Runtime::Process => vec![Arc::new(ProcessEngine::default())],
    };
    let (cancel_tx, mut cancel) = watch::channel(false);
    let second_signal = signals::Signals::install()?.watch(cancel_tx, engines.clone());
    let mut printer = Printer::new(args.plain);

    second_signal
        .unless(async move {
            // What each host is, through its engine (a probe container on a remote host).
            let facts = {
                let shown: &Printer = &printer;
                // A remote host is probed by a container of our image, built there first:
                // what that prints comes under a heading of its own, before the run's phases.
                let heading = std::sync::Once::new();
                let say = |line: String| {
                    heading.call_once(|| {
                        let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
                        shown.line(&format!("Looking at the hosts: {}", names.join(", ")));
                    });
                    shown.line(&format!("  {line}"))
                };
                let all =
                    futures_util::future::try_join_all(engines.iter().map(|e| e.facts(&say)));
                let looked: Result<Vec<HostFacts>> = tokio::select! {
                    r = all => r,
                    _ = cancel.wait_for(|c| *c) => {
                        Err(Interrupted { during: "the look at the hosts" }.into())
                    }
                };
                if looked.is_err() {
                    // A probe container cut short (by the signal, or by another host's
                    // failure) is still on its host: its engine removes it.
                    remove_started(&engines).await;
                }
                looked?
            };
            let hosts: Vec<(HostSpec, HostFacts)> =
                specs.iter().cloned().zip(facts.iter().cloned()).collect();
            let plan = config::resolve(&args, &loaded, &hosts)?;
            let schedule = Schedule::for_plan(&plan)?;
            let file_baseline = plan
                .baseline_file
                .as_deref()
                .map(reference::baseline_from_results)
                .transpose()?;
            let compare_with = plan.compare.as_deref().map(reference::load).transpose()?;
            // A host of this machine's own data folder (data_dir in --hosts) must exist
            // here; a remote host's is checked by its engine when the worker's container
            // is created.
            for host in plan.hosts.iter().filter(|h| h.local) {
                if let Some(dir) = &host.data_dir
                    && !dir.exists()
                {
                    return Err(error::InputError(format!(
                        "{}.data_dir: {} does not exist on host {} (this machine). Give an \
                         existing folder of PDFs there.",
                        host.spec.origin,
                        dir.display(),
                        host.spec.name
                    ))
                    .into());
                }
            }
            let given_corpus = match &plan.data {
                Data::Paths { .. } => Some(pipeline::locate_corpus(&plan)?),
                Data::Sample => None,
            };
            if let Some(corpus) = &given_corpus
                && plan.hosts.iter().any(|h| h.ship)
                && corpus.bytes > plan.ship_limit_bytes
            {
                return Err(error::InputError(format!(
                    "--ship-limit {}: the corpus is {:.1} MiB; raise --ship-limit, or give \
                     each host its own copy (data_dir in --hosts)",
                    args.ship_limit,
                    corpus.bytes as f64 / (1 << 20) as f64
                ))
                .into());
            }

            prepare_output_dir(&plan.output_dir)?;
            if let Some(aside) = csv::set_aside_if_foreign(&plan.output_dir)? {
                eprintln!(
                    "note: {} had the columns of an older version; it was kept as {}",
                    csv::CSV_FILE_NAME,
                    aside.display()
                );
            }
            let corpus = match given_corpus {
                Some(corpus) => corpus,
                None => {
                    let dir = pipeline::sample_dir(&plan.output_dir);
                    let sample = sample::write_sample_corpus(&dir, sample::SampleScale::Full)?;
                    eprintln!(
                        "No --data-dir: using the built-in sample corpus ({} files, {} pages) in {}",
                        sample.files,
                        sample.pages,
                        dir.display()
                    );
                    pipeline::locate_corpus(&plan)?
                }
            };
            let ctx = RunContext {
                plan,
                schedule,
                engines,
                hosts: facts,
                corpus,
                file_baseline,
                reference: compare_with,
                clock: Arc::new(SystemClock),
                cancel,
            };
            let outcome = pipeline::run(&ctx, &mut printer).await?;
            Ok(outcome.code)
        })
        .await
}
/// Creates the output folder and checks that it is writable before anything runs, so a
/// long benchmark never ends with nowhere to put its results.
fn prepare_output_dir(dir: &Path) -> Result<()> {
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
