//! The worker of distributed-benchmark.
//!
//! # Layout
//! - [`protocol`]: the JSON-lines events a worker prints; the one definition both sides use.
//! - [`engine`]: bytes of a PDF in, page texts out (built on [`pdf`] and [`text`]).
//! - [`source`]: a file's bytes through mmap, with a plain read fallback.
//! - [`run`]: the measured loop: discover files, warm up, wait for the schedule, slots,
//!   counters; [`control`]: events out, messages in; [`usage`]: what the kernel says
//!   about the worker (CPU time, affinity, /proc/stat, cgroup throttling).

pub mod control;
pub mod engine;
pub mod pdf;
pub mod protocol;
pub mod run;
pub mod source;
pub mod text;
pub mod usage;
