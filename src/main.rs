//! distributed-benchmark: how many PDF pages per second does this machine extract, and
//! how does that scale with cores?
//!
//! # Layout
//! - [`cli`]: flags (overrides); [`config`]: flags + YAML + [`facts`] of the host -> one
//!   validated [`config::Plan`], by one pure function.
//! - [`engine`]: where workers run, behind one trait (Docker, local processes, a scripted
//!   engine for tests); each engine owns the cleanup of what it started.
//! - [`schedule`]: which slots run which workers, and which slots are compared.
//! - [`pipeline`]: the phases of a run; [`monitor`]: worker output -> events -> per-worker
//!   state, and the terminal display; [`usage`]: other programs on the pinned CPUs.
//! - [`report`]: pure analysis (throughput, efficiency and its interval, the loss) and the
//!   exporters (JSON, CSV, Markdown, SVG, the terminal table and chart).
//! - [`commands`]: what each subcommand does; [`signals`]: Ctrl-C and SIGTERM.
//! - The worker (engine + measured loop + protocol) is the `worker` crate in worker/.

mod cli;
mod commands;
mod config;
mod engine;
mod error;
mod facts;
mod hosts;
mod monitor;
mod origin;
mod pipeline;
mod report;
mod sample;
mod schedule;
mod signals;
mod topology;
mod usage;

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
            error::exit_code(&err)
        }
    };
    ExitCode::from(code)
}

fn dispatch(cli: Cli) -> Result<u8> {
    match cli.command {
        Some(Command::Extract { file }) => commands::extract(&file),
        Some(Command::Worker(command)) => {
            let args = match command.resolve() {
                Ok(args) => args,
                Err(fatal) => {
                    eprintln!("error: {fatal}");
                    return Ok(exit::INPUT);
                }
            };
            let out = worker::control::Emitter::new(Box::new(std::io::stdout()));
            let input: Box<dyn std::io::BufRead + Send> =
                Box::new(std::io::BufReader::new(std::io::stdin()));
            match worker::run::run(&args, out, Some(input)) {
                Ok(_) => Ok(exit::OK),
                Err(fatal) => {
                    eprintln!("error: {fatal}");
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
        Some(Command::Cleanup { host, hosts }) => {
            runtime()?.block_on(commands::cleanup(&host, hosts.as_deref()))
        }
        Some(Command::Probe) => {
            let facts = facts::HostFacts::local(cli::Runtime::Docker);
            println!("{}", serde_json::to_string(&facts)?);
            Ok(exit::OK)
        }
        None => {
            let rt = runtime()?;
            let result = rt.block_on(commands::run(cli.run));
            // The tasks still on the runtime hold the engines' connections: dropping them
            // closes those connections, and an SSH one (bollard's transport starts an ssh
            // master with ControlPersist=yes) runs `ssh -O exit` as it is dropped. Without
            // this wait, the process ended first and left the ssh master running. Work
            // that is not the runtime's (the image's hashing, cut short by a signal) is
            // not waited for.
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
            result
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    // Two threads are plenty to follow the workers; the cores belong to the workers.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}
