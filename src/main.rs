//! distributed-benchmark: how many PDF pages per second does this machine extract, and how
//! does that scale with cores?
//!
//! # Layout
//! - [`cli`] and [`config`]: flags + YAML -> one validated [`config::Plan`].
//! - [`docker`]: image build, container lifecycle, cleanup by label.
//! - [`barrier`]: ready files in, one go file out.
//! - [`monitor`]: log streams -> lines -> protocol events -> per-container records; the
//!   terminal display.
//! - [`report`]: pure analysis and the exporters (JSON, CSV, table).
//! - [`benchmark`]: the phases of a run; [`fleet`]: its workers (containers or processes);
//!   [`scaling`]: the 1, 2, 4 ... study; [`commands`]: what each subcommand does;
//!   [`signals`]: Ctrl-C and SIGTERM.
//! - The worker (engine + measured loop + protocol) is the `worker` crate in worker/.

mod barrier;
mod benchmark;
mod cli;
mod commands;
mod config;
mod docker;
mod error;
mod fleet;
mod host;
mod monitor;
mod process;
mod report;
mod sample;
mod scaling;
mod signals;
mod topology;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::exit;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<benchmark::Interrupted>().is_some() {
                exit::INTERRUPTED
            } else {
                error::exit_code(&err)
            }
        }
    };
    ExitCode::from(code)
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Extract { file }) => commands::extract(&file),
        Some(Command::Worker(args)) => {
            let mut stdout = std::io::stdout().lock();
            match worker::run::run(&args, &mut stdout) {
                Ok(_) => Ok(exit::OK),
                Err(fatal) => {
                    eprintln!("error: {}", fatal.0);
                    Ok(exit::FAILED)
                }
            }
        }
        Some(Command::Sample { dir, small }) => {
            let scale = if small {
                sample::SampleScale::Small
            } else {
                sample::SampleScale::Full
            };
            let corpus = sample::write_sample_corpus(&dir, scale)?;
            println!(
                "Sample corpus in {}: {} files, {} pages",
                dir.display(),
                corpus.files,
                corpus.pages
            );
            Ok(exit::OK)
        }
        Some(Command::Cleanup) => runtime()?.block_on(commands::cleanup()),
        None => {
            let rt = runtime()?;
            let result = rt.block_on(commands::run(cli.run));
            // After an interrupt during the image build, the executable may still be being
            // hashed or packed on a blocking thread: not waited for.
            rt.shutdown_background();
            result
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    // Two threads are plenty to follow the logs; the cores belong to the workers.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}
