//! The worker's two streams: events out (stdout), messages in (stdin).
//!
//! A thread of its own reads the messages, so that a `ping` is answered the moment it
//! arrives (the answer's timing is what clock offsets are estimated from) and a `stop` is
//! seen by the extracting thread at its next page without any system call on the hot path.
//! Events are written whole, one line each, under a lock shared by both threads.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::{Event, Go, Message};

/// Writes events as lines, flushing each so the orchestrator sees it at once. A closed
/// stdout (the orchestrator went away) must not stop the measurement, so write errors
/// are ignored here.
#[derive(Clone)]
pub struct Emitter {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl Emitter {
    pub fn new(out: Box<dyn Write + Send>) -> Emitter {
        Emitter {
            out: Arc::new(Mutex::new(out)),
        }
    }

    pub fn emit(&self, event: &Event) {
        let line = event.to_line();
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = out.write_all(line.as_bytes());
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
}

/// `after_slot` value meaning no stop was asked for.
const NO_STOP: u64 = u64::MAX;

/// What the orchestrator has asked for so far, shared with the reading thread.
#[derive(Default)]
struct Requests {
    /// End now (`stop` without a slot, or stdin closed).
    stop_now: AtomicBool,
    /// End after this slot ([`NO_STOP`] when none).
    stop_after: AtomicU64,
    /// Stdin reached its end: the orchestrator is gone.
    closed: AtomicBool,
}

/// The messages a worker has received, as the extracting thread sees them.
pub struct Control {
    requests: Arc<Requests>,
    go: Option<Receiver<Go>>,
}

/// How waiting for `go` ended without one.
#[derive(Debug, PartialEq, Eq)]
pub enum NoGo {
    /// A `stop` came first.
    Stopped,
    /// Stdin ended: nobody will ever send it.
    Closed,
    TimedOut,
}

impl Control {
    /// No messages: a worker run by hand, which starts its window at once.
    pub fn none() -> Control {
        let requests = Requests {
            stop_after: AtomicU64::new(NO_STOP),
            ..Requests::default()
        };
        Control {
            requests: Arc::new(requests),
            go: None,
        }
    }

    /// Reads messages from `input` on a thread of its own until it ends; pings are
    /// answered through `out` at once.
    pub fn listen(input: Box<dyn BufRead + Send>, out: Emitter) -> Control {
        let control = Control::none();
        let requests = Arc::clone(&control.requests);
        let (go_tx, go_rx) = mpsc::channel();
        thread::Builder::new()
            .name("messages".into())
            .spawn(move || read_messages(input, &out, &requests, &go_tx))
            .expect("spawning the message reader");
        Control {
            go: Some(go_rx),
            ..control
        }
    }

    /// True when this worker takes messages (and so waits for `go`).
    pub fn takes_messages(&self) -> bool {
        self.go.is_some()
    }

    /// Waits for the schedule.
    pub fn wait_for_go(&self, timeout: Duration) -> Result<Go, NoGo> {
        let Some(rx) = &self.go else {
            return Err(NoGo::Closed);
        };
        let give_up = std::time::Instant::now() + timeout;
        loop {
            // Short waits, so that a stop is noticed while no go is coming.
            let left = give_up.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(NoGo::TimedOut);
            }
            match rx.recv_timeout(left.min(Duration::from_millis(20))) {
                Ok(go) => return Ok(go),
                Err(RecvTimeoutError::Disconnected) => return Err(NoGo::Closed),
                Err(RecvTimeoutError::Timeout) if self.stop_now() => {
                    return Err(NoGo::Stopped);
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// A stop without a slot was asked for, or the orchestrator went away.
    pub fn stop_now(&self) -> bool {
        self.requests.stop_now.load(Ordering::Relaxed)
    }

    /// The last slot of the window, when a stop named one.
    pub fn stop_after(&self) -> Option<u64> {
        Some(self.requests.stop_after.load(Ordering::Relaxed)).filter(|&k| k != NO_STOP)
    }

    /// Stdin ended.
    pub fn closed(&self) -> bool {
        self.requests.closed.load(Ordering::Relaxed)
    }
}

fn read_messages(
    mut input: Box<dyn BufRead + Send>,
    out: &Emitter,
    requests: &Requests,
    go: &mpsc::Sender<Go>,
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match Message::parse(&line) {
            Some(Message::Ping { id }) => out.emit(&Event::Pong {
                id,
                worker_unix_ns: wall_ns(),
            }),
            Some(Message::Go(schedule)) => {
                let _ = go.send(schedule);
            }
            Some(Message::Stop {
                after_slot: Some(k),
            }) => {
                requests.stop_after.fetch_min(k, Ordering::Relaxed);
            }
            Some(Message::Stop { after_slot: None }) => {
                requests.stop_now.store(true, Ordering::Relaxed);
            }
            // Not a message of this protocol version: said on stderr, which the
            // orchestrator keeps in the worker's log.
            None => eprintln!(
                "ignored a line on stdin that is not a message: {}",
                String::from_utf8_lossy(line.trim_ascii())
            ),
        }
    }
    // The orchestrator is gone (or closed our stdin): nobody will read what we measure,
    // and nobody will stop us, so end the window now.
    requests.closed.store(true, Ordering::Relaxed);
    requests.stop_now.store(true, Ordering::Relaxed);
}

pub fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Added to every wall-clock reading of this worker (tests only: a host whose clock is
/// off, to check that the orchestrator measures and corrects the offset).
static CLOCK_SKEW_NS: AtomicI64 = AtomicI64::new(0);

pub fn set_clock_skew(ns: i64) {
    CLOCK_SKEW_NS.store(ns, Ordering::Relaxed);
}

/// This worker's wall clock, ns since the Unix epoch: what its instants are reported in.
pub fn wall_ns() -> i64 {
    unix_ns(SystemTime::now()) + CLOCK_SKEW_NS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An output shared with the test.
    #[derive(Clone, Default)]
    pub struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn wait_until(mut f: impl FnMut() -> bool) {
        let give_up = std::time::Instant::now() + Duration::from_secs(5);
        while !f() {
            assert!(std::time::Instant::now() < give_up, "timed out");
            thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn pings_are_answered_go_is_handed_over_and_stops_are_remembered() {
        let go = Go::single_window(7, 1000);
        let input = [
            Message::Ping { id: 3 }.to_line(),
            "not a message\n".to_string(),
            Message::Go(go.clone()).to_line(),
            Message::Stop {
                after_slot: Some(9),
            }
            .to_line(),
            Message::Stop {
                after_slot: Some(4),
            }
            .to_line(),
        ]
        .concat();
        let out = Captured::default();
        let control = Control::listen(
            Box::new(Cursor::new(input.into_bytes())),
            Emitter::new(Box::new(out.clone())),
        );
        assert_eq!(control.wait_for_go(Duration::from_secs(5)), Ok(go));
        wait_until(|| control.closed());
        assert_eq!(control.stop_after(), Some(4), "the earliest stop wins");
        assert!(control.stop_now(), "stdin ended: nobody is listening");
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let pong = Event::parse(text.lines().next().unwrap().as_bytes());
        assert!(matches!(pong, Some(Event::Pong { id: 3, .. })), "{text}");
    }

    #[test]
    fn waiting_for_go_ends_on_stop_on_close_and_on_timeout() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let control = Control::listen(
            Box::new(std::io::BufReader::new(reader)),
            Emitter::new(Box::new(std::io::sink())),
        );
        assert_eq!(
            control.wait_for_go(Duration::from_millis(30)),
            Err(NoGo::TimedOut)
        );
        writer
            .write_all(Message::Stop { after_slot: None }.to_line().as_bytes())
            .unwrap();
        assert_eq!(
            control.wait_for_go(Duration::from_secs(5)),
            Err(NoGo::Stopped)
        );
        drop(writer);
        wait_until(|| control.closed());
        assert_eq!(
            control.wait_for_go(Duration::from_secs(5)),
            Err(NoGo::Closed)
        );
        assert!(!Control::none().takes_messages());
    }
}
