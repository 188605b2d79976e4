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
use crate::error::{self, exit};
use crate::facts::HostFacts;
use crate::monitor::display::Printer;
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

/// `cleanup`: every container of ours, from any run, and the barrier folders older
/// versions left in the temp folder.
pub async fn cleanup() -> Result<u8> {
    let engine = DockerEngine::connect_local().await?;
    let removal = engine.remove_all().await?;
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
    println!(
        "Removed {} container(s){}{}{}.",
        removal.removed.len(),
        if removal.removed.is_empty() { "" } else { ": " },
        removal.removed.join(", "),
        if folders > 0 {
            format!(" and {folders} barrier folder(s) of an older version")
        } else {
            String::new()
        }
    );
    for failed in &removal.failed {
        eprintln!("could not remove {failed}");
    }
    Ok(if removal.failed.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    })
}

pub async fn run(args: RunArgs) -> Result<u8> {
    // Everything the input says is checked before anything is written or started.
    let loaded = match &args.config {
        Some(path) => LoadedConfig::load(path)?,
        None => LoadedConfig::default(),
    };
    let mut host = HostFacts::local(args.runtime);
    let plan = config::resolve(&args, &loaded, &host)?;
    let schedule = Schedule::for_plan(&plan)?;
    let file_baseline = plan
        .baseline_file
        .as_deref()
        .map(reference::baseline_from_results)
        .transpose()?;
    let compare_with = plan.compare.as_deref().map(reference::load).transpose()?;
    let given_corpus = match &plan.data {
        Data::Paths { .. } => Some(pipeline::locate_corpus(&plan)?),
        Data::Sample => None,
    };

    if args.test_config {
        prepare_output_dir(&plan.output_dir)?;
        let corpus = pipeline::sample_dir(&plan.output_dir);
        sample::write_sample_corpus(&corpus, sample::SampleScale::Full)?;
        let path = config::write_test_config(&plan.output_dir, &corpus)?;
        println!(
            "Wrote {}; run it with: distributed-benchmark --config {}",
            path.display(),
            path.display()
        );
        return Ok(exit::OK);
    }

    let engine: Arc<dyn Engine> = match plan.runtime {
        Runtime::Docker => Arc::new(DockerEngine::connect_local().await?),
        Runtime::Process => Arc::new(ProcessEngine::default()),
    };
    host.engine = engine.info();

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

    let (cancel_tx, cancel) = watch::channel(false);
    let second_signal = signals::Signals::install()?.watch(cancel_tx, vec![Arc::clone(&engine)]);
    let mut printer = Printer::new(plan.plain);
    let ctx = RunContext {
        plan,
        schedule,
        engine,
        host,
        corpus,
        file_baseline,
        reference: compare_with,
        clock: Arc::new(SystemClock),
        cancel,
    };
    let outcome = second_signal
        .unless(pipeline::run(&ctx, &mut printer))
        .await?;
    Ok(outcome.code)
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
