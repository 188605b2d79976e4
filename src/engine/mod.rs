//! Where workers run, behind one interface: the local Docker engine (or any Docker Engine
//! API), local processes (`--runtime process`), and a scripted engine for pipeline tests.
//!
//! An engine starts a worker with its settings on a core, hands back its output (protocol
//! lines from stdout, decoded from bytes; stderr kept apart for the log) and a way to send
//! it messages (its stdin), tells how it ended, and removes everything of a run. The engine
//! that started something owns its cleanup: it remembers the runs it started, so that
//! signal handling can ask it to remove them without keeping copies of its state.

pub mod docker;
pub mod process;
#[cfg(test)]
pub mod scripted;

use std::path::PathBuf;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use tokio_util::codec::{AnyDelimiterCodec, Decoder};
use worker::protocol::Message;
use worker::run::WorkerArgs;

use crate::facts::{EngineInfo, HostFacts};
pub use docker::volume::ShippedFile;

/// Label keys on everything a container engine creates for us, so cleanup removes exactly
/// ours.
pub mod labels {
    /// Present on every container of ours.
    pub const TOOL: &str = "distributed-benchmark";
    /// The run id.
    pub const RUN: &str = "distributed-benchmark.run";
    /// The worker's index within its run.
    pub const INDEX: &str = "distributed-benchmark.index";
}

/// Where a worker finds the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerData {
    /// Folders and files of its host, mounted read-only.
    Paths(Vec<PathBuf>),
    /// A volume of the run on its host, holding the shipped corpus.
    Volume(String),
}

/// One worker to start.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    pub run_id: String,
    /// From 1.
    pub index: u32,
    pub cpu: usize,
    /// NUMA node for the worker's memory (cpuset-mems), on multi-node machines.
    pub numa_node: Option<usize>,
    /// The worker's settings; its data folders are set by the engine from `data`.
    pub settings: WorkerArgs,
    pub data: WorkerData,
    pub memory_bytes: Option<u64>,
    /// CPU quota, in billionths of a CPU.
    pub nano_cpus: i64,
}

/// What a worker printed: whole lines, without their newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A line of stdout: protocol events (and anything else the worker printed there).
    Stdout(Bytes),
    /// A line of stderr: for the log only, never parsed.
    Stderr(Bytes),
    /// Its output ended: it exited (or its engine connection was lost).
    Ended,
}

/// A started worker.
pub struct WorkerHandle {
    /// The name the engine gave it (a container name, or `worker-<index>`).
    pub name: String,
    pub output: mpsc::UnboundedReceiver<Output>,
    /// Messages to its stdin; dropping the sender closes it.
    pub input: mpsc::UnboundedSender<Message>,
}

/// How a worker ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exit {
    pub running: bool,
    pub oom_killed: bool,
    /// Its exit code; 128 + N when a signal N ended it.
    pub code: Option<i64>,
    /// The engine's own error for it (e.g. a mount that failed), if any.
    pub error: Option<String>,
}

/// What removing a run's (or every run's) things did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// What was removed, by name.
    pub removed: Vec<String>,
    /// What could not be, with why.
    pub failed: Vec<String>,
}

impl Removal {
    pub fn merge(&mut self, other: Removal) {
        self.removed.extend(other.removed);
        self.failed.extend(other.failed);
    }
}

#[async_trait]
pub trait Engine: Send + Sync {
    /// The host's name, for messages and reports.
    fn host(&self) -> &str;

    /// What engine this is, for the report.
    fn info(&self) -> EngineInfo;

    /// Makes ready what workers need (the image), reporting each step through `say`.
    /// Returns what the workers run (an image tag, or a description). Done once; later
    /// calls return the same.
    async fn prepare(&self, say: &(dyn Fn(String) + Send + Sync)) -> anyhow::Result<String>;

    /// What the host is: its CPUs (usable, in placement order), topology, memory, kernel,
    /// engine. Read through the engine (a probe container on a remote host, which needs
    /// the image: prepared first if it is not).
    async fn facts(&self, say: &(dyn Fn(String) + Send + Sync)) -> anyhow::Result<HostFacts>;

    /// Uploads `files` once into a volume of run `run_id` on the host (`--ship-corpus`),
    /// reporting the bytes sent; returns the volume's name.
    async fn ship(
        &self,
        run_id: &str,
        files: Vec<ShippedFile>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> anyhow::Result<String>;

    /// Starts one worker.
    async fn start(&self, spec: &WorkerSpec) -> anyhow::Result<WorkerHandle>;

    /// How the worker `name` ended, or that it still runs; `None` when the engine cannot
    /// tell (it is gone, or the host unreachable).
    async fn exit(&self, name: &str) -> Option<Exit>;

    /// The host's process ids of the run's workers, when the host is this machine (to
    /// tell their CPU time from everybody else's); `None` for a remote host.
    async fn local_pids(&self, run_id: &str) -> Option<Vec<u32>>;

    /// Removes everything of run `run_id` that this engine made, running or not.
    async fn remove_run(&self, run_id: &str) -> Removal;

    /// Removes everything of every run this engine made in this process (on a second
    /// Ctrl-C): the runs it remembers starting.
    async fn remove_started(&self) -> Removal;

    /// Removes everything of ours the engine can find, from any run (the `cleanup`
    /// command).
    async fn remove_all(&self) -> anyhow::Result<Removal>;
}

/// The longest line kept whole; a longer one is dropped (and said so in the log).
const MAX_LINE: usize = 1 << 20;

/// Turns chunks of bytes, as they arrive, into lines.
pub struct LineSplitter {
    codec: AnyDelimiterCodec,
    pending: BytesMut,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter {
            codec: AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), MAX_LINE),
            pending: BytesMut::new(),
        }
    }
}

impl LineSplitter {
    /// Adds a chunk; returns the lines it completed (without `\n` or `\r\n`).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        loop {
            match self.codec.decode(&mut self.pending) {
                Ok(Some(line)) => lines.push(trim_cr(line)),
                Ok(None) => break,
                // Too long: the codec discards it up to the next newline.
                Err(_) => lines.push(Bytes::from_static(b"(a line over 1 MiB was dropped)")),
            }
        }
        lines
    }

    /// The last line, when the stream ended without a newline.
    pub fn finish(&mut self) -> Option<Bytes> {
        match self.codec.decode_eof(&mut self.pending) {
            Ok(Some(line)) if !line.is_empty() => Some(trim_cr(line)),
            _ => None,
        }
    }
}

fn trim_cr(line: Bytes) -> Bytes {
    if line.ends_with(b"\r") {
        line.slice(..line.len() - 1)
    } else {
        line
    }
}

/// Forwards the output of one stream to `tx` as lines.
pub fn forward_lines(
    splitter: &mut LineSplitter,
    chunk: &[u8],
    wrap: fn(Bytes) -> Output,
    tx: &mpsc::UnboundedSender<Output>,
) {
    for line in splitter.push(chunk) {
        let _ = tx.send(wrap(line));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_reassembled_from_arbitrary_chunks_of_bytes() {
        let mut s = LineSplitter::default();
        assert!(s.push(b"{\"type\":").is_empty());
        assert_eq!(
            s.push(b"\"x\"}\nsecond\r\nthi"),
            vec![Bytes::from("{\"type\":\"x\"}"), Bytes::from("second")]
        );
        // Invalid UTF-8 stays bytes: nothing is replaced before parsing.
        assert_eq!(s.push(b"rd\xff\n"), vec![Bytes::from_static(b"third\xff")]);
        assert!(s.push(b"tail").is_empty());
        assert_eq!(s.finish(), Some(Bytes::from("tail")));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn an_overlong_line_is_dropped_and_the_next_one_kept() {
        let mut s = LineSplitter::default();
        let mut big = vec![b'x'; MAX_LINE + 10];
        big.extend_from_slice(b"\nnext\n");
        let lines = s.push(&big);
        assert_eq!(lines.last(), Some(&Bytes::from("next")));
        assert!(
            lines.iter().all(|l| l.len() < 100),
            "the long one is not kept"
        );
    }
}
