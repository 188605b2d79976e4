//! `--runtime process`: the same workers as local processes, pinned with
//! sched_setaffinity (by the worker itself, `--pin-cpu`), with the same barrier and
//! protocol. For machines without Docker, and to measure what containers cost.

use std::process::{ExitStatus, Stdio};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use worker::run::WorkerArgs;

use crate::docker::container::ExitInfo;

/// Starts `worker` as a child process. Its stdout and stderr lines are sent as
/// `Some(line)`; `None` follows the last stdout line.
pub fn spawn(args: &WorkerArgs, lines: mpsc::UnboundedSender<Option<String>>) -> Result<Child> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let mut child = Command::new(&exe)
        .arg("worker")
        .args(args.to_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {} worker", exe.display()))?;
    if let Some(stderr) = child.stderr.take() {
        forward(stderr, lines.clone(), false);
    }
    if let Some(stdout) = child.stdout.take() {
        forward(stdout, lines, true);
    }
    Ok(child)
}

/// Sends each line; `None` after the last one when `announce_end`.
fn forward(
    stream: impl AsyncRead + Unpin + Send + 'static,
    tx: mpsc::UnboundedSender<Option<String>>,
    announce_end: bool,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(Some(line));
        }
        if announce_end {
            let _ = tx.send(None);
        }
    });
}

/// How a child ended, in the same terms as a container.
pub fn exit_info(status: Option<ExitStatus>) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => ExitInfo {
            running: true,
            ..ExitInfo::default()
        },
        Some(status) => ExitInfo {
            running: false,
            oom_killed: false,
            exit_code: status
                .code()
                .map(i64::from)
                .or_else(|| status.signal().map(|s| 128 + i64::from(s))),
            error: None,
        },
    }
}
