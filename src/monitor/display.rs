//! The one place that writes to the terminal. Phases and progress go to stderr (bars on a
//! terminal, plain lines otherwise); the results table goes to stdout.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::WorkerState;

/// How often a plain progress line is printed when stderr is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Printer {
    bars: bool,
    live: Option<Live>,
}

struct Live {
    multi: Option<MultiProgress>,
    bars: Vec<ProgressBar>,
    total: Option<ProgressBar>,
    last_plain: Instant,
    started: Instant,
    /// The latest word on the figures (the efficiency interval as it narrows).
    status: String,
    /// The status line last printed in plain mode.
    printed_status: String,
}

impl Printer {
    pub fn new(plain: bool) -> Printer {
        Printer {
            bars: !plain && std::io::stderr().is_terminal(),
            live: None,
        }
    }

    /// A phase heading, e.g. `[2/4] Warm-up`.
    pub fn phase(&self, step: usize, of: usize, title: &str) {
        eprintln!("[{step}/{of}] {title}");
    }

    pub fn line(&self, text: &str) {
        match self.live.as_ref().and_then(|l| l.multi.as_ref()) {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// The countdown before the window opens, one word a second.
    pub fn countdown_word(&self, word: &str, last: bool) {
        if last {
            eprintln!("{word}");
        } else {
            eprint!("{word}");
            let _ = std::io::stderr().flush();
        }
    }

    /// Starts the live display for the measured window.
    pub fn live_start(&mut self, workers: &[WorkerState], duration_s: f64) {
        let mut live = Live {
            multi: None,
            bars: Vec::new(),
            total: None,
            last_plain: Instant::now(),
            started: Instant::now(),
            status: String::new(),
            printed_status: String::new(),
        };
        if self.bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{prefix:<28} [{bar:30}] {pos:>4}/{len}s {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            for t in workers {
                let bar = multi.add(ProgressBar::new(duration_s.ceil() as u64));
                bar.set_style(style.clone());
                bar.set_prefix(format!("{} (CPU {})", t.name, t.cpu));
                live.bars.push(bar);
            }
            let total = multi.add(ProgressBar::new(duration_s.ceil() as u64));
            total.set_style(style);
            total.set_prefix("all");
            live.total = Some(total);
            live.multi = Some(multi);
        }
        self.live = Some(live);
    }

    /// The latest word on the figures, shown beside the bars (and printed in plain mode
    /// when it changes).
    pub fn live_status(&mut self, status: String) {
        if let Some(live) = self.live.as_mut() {
            live.status = status;
        }
    }

    /// Shows each worker's current pages/sec (0 in the slots it sits out).
    pub fn live_update(&mut self, workers: &[WorkerState]) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let rates: Vec<Option<f64>> = workers.iter().map(WorkerState::current_rate).collect();
        let total: f64 = rates.iter().flatten().sum();
        if live.multi.is_some() {
            for ((bar, t), rate) in live.bars.iter().zip(workers).zip(&rates) {
                let elapsed = t.progress.last().map_or(0.0, |s| s.elapsed_s);
                bar.set_position(elapsed as u64);
                bar.set_message(rate_text(*rate, t));
            }
            if let Some(bar) = &live.total {
                bar.set_position(live.started.elapsed().as_secs());
                bar.set_message(format!("{total:.0} pages/s  {}", live.status));
            }
        } else if live.last_plain.elapsed() >= PLAIN_EVERY {
            live.last_plain = Instant::now();
            let parts: Vec<String> = workers
                .iter()
                .zip(&rates)
                .map(|(t, r)| format!("{}: {}", t.name, rate_text(*r, t)))
                .collect();
            eprintln!(
                "  [{:>4.0}s] {} | total {total:.0} pages/s",
                live.started.elapsed().as_secs_f64(),
                parts.join(" | ")
            );
            if live.status != live.printed_status {
                eprintln!("         {}", live.status);
                live.printed_status = live.status.clone();
            }
        }
    }

    pub fn live_finish(&mut self) {
        if let Some(live) = self.live.take() {
            for bar in live.bars.iter().chain(live.total.iter()) {
                bar.finish_and_clear();
            }
            if let Some(multi) = live.multi {
                let _ = multi.clear();
            }
        }
    }

    /// A bar of bytes sent to host `name` (hidden when not on a terminal).
    pub fn transfer(&self, name: &str, total: u64) -> ProgressBar {
        if !self.bars {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "  {prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// The results block, on stdout.
    pub fn results(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

fn rate_text(rate: Option<f64>, t: &WorkerState) -> String {
    if !t.alive() && t.done.is_none() {
        return "stopped".into();
    }
    match rate {
        Some(r) => format!("{r:.0} pages/s"),
        None => "starting".into(),
    }
}
