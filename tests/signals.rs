//! SIGINT and SIGTERM in every phase of a run, each against the real Docker engine (the
//! window and the second signal once more with `--runtime process`). In every case the run
//! must end with exit code 130 and say so on stderr, keep what was measured (results
//! written atomically: no temporary file in the output folder), and leave no container,
//! barrier folder or worker process behind. These tests fail (never skip) when no engine
//! is reachable.
//!
//! Signals are sent when the phase's line appears on stderr (`--plain` prints one line per
//! phase), not after blind sleeps, so a loaded machine only makes them slower. Each run
//! gets its own TMPDIR: every barrier folder it makes is inside, so "nothing left" is
//! checked for the whole run, solo and study steps included, without knowing their ids.
//!
//! Docker tests hold a lock so they run one at a time (they pin containers to the same
//! cores); cargo runs this file and tests/e2e.rs one after the other.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_distributed-benchmark");

/// How long a phase line may take to appear (an image build on a loaded machine is slow).
const PHASE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a run may take to end after the signal before it counts as hung.
const END_TIMEOUT: Duration = Duration::from_secs(60);

fn docker_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A small corpus made by the tool itself (`sample --small`), removed with the test.
fn small_corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["sample", "--small"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// One run of the binary, followed line by line on stderr.
struct Run {
    child: Child,
    /// stderr lines as they arrive.
    lines: Receiver<String>,
    /// Every stderr line received so far.
    seen: Vec<String>,
    stdout: JoinHandle<String>,
    /// The run's TMPDIR: its barrier folders are made here.
    tmp: tempfile::TempDir,
    out_dir: tempfile::TempDir,
    _corpus: tempfile::TempDir,
    signalled_at: Option<Instant>,
}

/// How a run ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From the first signal to the exit.
    after_signal: Duration,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?} {:.1} s after the signal\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.after_signal.as_secs_f64(),
            self.stdout,
            self.stderr
        )
    }
}

impl Run {
    fn start(args: &[&str]) -> Run {
        Run::start_with(args, &[])
    }

    /// Runs the binary on a small corpus of its own, with `--plain` output.
    fn start_with(args: &[&str], env: &[(&str, &str)]) -> Run {
        let tmp = tempfile::tempdir().unwrap();
        let out_dir = tempfile::tempdir().unwrap();
        let corpus = small_corpus();
        let mut child = Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(corpus.path())
            .arg("--output-dir")
            .arg(out_dir.path())
            .arg("--plain")
            .env("TMPDIR", tmp.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stdout = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        Run {
            child,
            lines,
            seen: Vec::new(),
            stdout,
            tmp,
            out_dir,
            _corpus: corpus,
            signalled_at: None,
        }
    }

    /// Waits for a stderr line containing `needle` (after the lines already consumed).
    fn wait_for_line(&mut self, needle: &str) {
        let give_up = Instant::now() + PHASE_TIMEOUT;
        loop {
            let left = give_up.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "no line with {needle:?} within {PHASE_TIMEOUT:?}; stderr so far:\n{}",
                        self.seen.join("\n")
                    );
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the run ended before a line with {needle:?}; stderr:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `signal` (`"INT"`, `"TERM"`) to the orchestrator.
    fn signal(&mut self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
        self.signalled_at.get_or_insert_with(Instant::now);
    }

    /// Waits for the exit (a run that does not end within [`END_TIMEOUT`] is killed and
    /// the test fails: a hang is a bug).
    fn end(mut self) -> (Ended, Dirs) {
        let give_up = Instant::now() + END_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= give_up {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running {END_TIMEOUT:?} after the signal; stderr:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let after_signal = self.signalled_at.map_or(Duration::ZERO, |at| at.elapsed());
        self.seen.extend(self.lines.iter());
        let ended = Ended {
            code: status.code(),
            stdout: self.stdout.join().unwrap(),
            stderr: self.seen.join("\n"),
            after_signal,
        };
        eprintln!(
            "run ended with exit {:?}, {:.2} s after the signal",
            ended.code,
            after_signal.as_secs_f64()
        );
        (
            ended,
            Dirs {
                tmp: self.tmp,
                out: self.out_dir,
            },
        )
    }
}

/// The folders of an ended run, kept until the test's checks are done.
struct Dirs {
    tmp: tempfile::TempDir,
    out: tempfile::TempDir,
}

impl Dirs {
    fn out(&self) -> &Path {
        self.out.path()
    }
}

/// Exit 130, the signal named on stderr, and nothing left behind by the run: no container
/// whose barrier folder was in its TMPDIR, nothing at all in that TMPDIR (barrier folders
/// live there), no temporary file in the output folder.
fn assert_interrupted_and_clean(ended: &Ended, dirs: &Dirs, signal: &str) {
    assert_eq!(ended.code, Some(130), "{ended}");
    assert!(
        ended.stderr.contains(&format!("SIG{signal} received")),
        "the signal is reported\n{ended}"
    );
    let tmp = dirs.tmp.path().to_str().unwrap();
    let left: Vec<String> = containers_with("distributed-benchmark")
        .into_iter()
        .filter(|(_, barrier)| barrier.starts_with(tmp))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(left, Vec::<String>::new(), "containers left\n{ended}");
    let in_tmp: Vec<PathBuf> = std::fs::read_dir(dirs.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(in_tmp, Vec::<PathBuf>::new(), "left in TMPDIR\n{ended}");
    let temps = files_under(dirs.out())
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .collect::<Vec<_>>();
    assert_eq!(temps, Vec::<PathBuf>::new(), "temporary files left");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// (name, barrier folder label) of every container (running or not) carrying `label`.
fn containers_with(label: &str) -> Vec<(String, String)> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--format",
            "{{.Names}}\t{{.Label \"distributed-benchmark.barrier\"}}",
            "--filter",
        ])
        .arg(format!("label={label}"))
        .output()
        .expect("the docker CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let (name, barrier) = l.split_once('\t').unwrap_or((l, ""));
            (name.to_string(), barrier.to_string())
        })
        .collect()
}

/// No container of this run id (the check of tests/e2e.rs, for ids read from results).
fn assert_no_container_of(run_id: &str) {
    assert_eq!(
        containers_with(&format!("distributed-benchmark.run={run_id}")),
        Vec::<(String, String)>::new(),
        "containers of run {run_id} left behind"
    );
}

fn results_files(out_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("results_") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The only results file of a run.
fn the_results(out_dir: &Path) -> Value {
    let files = results_files(out_dir);
    assert_eq!(files.len(), 1, "one results file: {files:?}");
    read_json(&files[0])
}

/// A saved run interrupted in its window: status interrupted, each container's pages and
/// per-second samples kept, its window cut short (under `max_elapsed_s`).
fn assert_measured_and_cut_short(json: &Value, max_elapsed_s: f64) {
    assert_eq!(json["status"], "interrupted", "{json}");
    let containers = json["containers"].as_array().unwrap();
    assert!(!containers.is_empty(), "{json}");
    for c in containers {
        assert!(c["pages"].as_u64().unwrap() > 0, "pages kept: {c}");
        assert!(!c["samples"].as_array().unwrap().is_empty(), "samples kept");
        let elapsed = c["elapsed_s"].as_f64().unwrap();
        assert!(
            elapsed > 0.0 && elapsed < max_elapsed_s,
            "window cut short: {elapsed} s"
        );
    }
    assert_no_container_of(json["run_id"].as_str().unwrap());
}

/// The tag `image::tag_for` gives this binary: sha256 of the Dockerfile and the executable.
fn our_image_tag() -> String {
    let mut hash = Sha256::new();
    hash.update(std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap());
    hash.update(std::fs::read(BIN).unwrap());
    let hex: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("distributed-benchmark:{hex}")
}

fn image_exists(tag: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", tag])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Signal in `[1/4] Build` once `line` is printed, with this binary's image removed first
/// so that the build really runs. Nothing was measured: nothing is written, and the
/// message says so.
fn signal_during_the_build(signal: &str, line: &str) {
    let _lock = docker_lock();
    let tag = our_image_tag();
    if image_exists(&tag) {
        let rmi = Command::new("docker").args(["rmi", &tag]).output().unwrap();
        assert!(
            rmi.status.success(),
            "{}",
            String::from_utf8_lossy(&rmi.stderr)
        );
    }
    let mut run = Run::start(&[
        "--containers",
        "1",
        "--duration",
        "2",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
    ]);
    run.wait_for_line(line);
    run.signal(signal);
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, signal);
    assert!(
        !ended.stderr.contains("Built image")
            && !ended.stderr.contains("up to date")
            && !ended.stderr.contains("[2/4]"),
        "the signal landed inside the build\n{ended}"
    );
    assert!(
        ended.stderr.contains("interrupted during the image build"),
        "the phase is named\n{ended}"
    );
    assert!(
        ended.stderr.contains("no results written"),
        "says that nothing is saved\n{ended}"
    );
    assert_eq!(
        files_under(dirs.out()),
        Vec::<PathBuf>::new(),
        "nothing measured, nothing written"
    );
    // Hashing and packing the executable run off the async threads, and are not waited
    // for: the signal is acted on at once (it took 2-3 s while they blocked).
    assert!(ended.after_signal < Duration::from_secs(1), "{ended}");
}

#[test]
fn sigint_during_the_image_build_writes_nothing_and_exits_130() {
    // While the context is hashed, packed and sent.
    signal_during_the_build("INT", "[1/4] Build");
}

#[test]
fn sigterm_during_the_image_build_writes_nothing_and_exits_130() {
    // While the daemon runs the Dockerfile's steps (about a second each).
    signal_during_the_build("TERM", "Step 2/");
}

#[test]
fn sigint_during_warm_up_saves_an_interrupted_run_and_removes_everything() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--containers",
        "1",
        "--duration",
        "5",
        "--warmup-time",
        "30",
    ]);
    run.wait_for_line("[2/4] Warm-up");
    // The container is created and started before this line; let it get into its warm-up.
    std::thread::sleep(Duration::from_secs(1));
    run.signal("INT");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "INT");
    assert!(!ended.stderr.contains("[3/4]"), "{ended}");
    let json = the_results(dirs.out());
    assert_eq!(json["status"], "interrupted", "{json}");
    let c = &json["containers"][0];
    assert!(
        c["status"].as_str().unwrap().starts_with("not measured"),
        "{c}"
    );
    assert_eq!(c["pages"], 0, "{c}");
    assert_no_container_of(json["run_id"].as_str().unwrap());
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigint_during_the_countdown_stops_before_the_window() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--containers",
        "1",
        "--duration",
        "5",
        "--warmup-time",
        "1",
        "--countdown",
        "30",
    ]);
    run.wait_for_line("[3/4] Coordinated start");
    run.signal("INT");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "INT");
    assert!(!ended.stderr.contains("GO!"), "{ended}");
    assert!(!ended.stderr.contains("[4/4]"), "{ended}");
    let json = the_results(dirs.out());
    assert_eq!(json["status"], "interrupted", "{json}");
    let c = &json["containers"][0];
    assert!(
        c["status"].as_str().unwrap().starts_with("not measured"),
        "{c}"
    );
    assert_no_container_of(json["run_id"].as_str().unwrap());
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigterm_during_the_solo_baseline_run_saves_the_solo_measurement() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--containers",
        "2",
        "--duration",
        "20",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
    ]);
    run.wait_for_line("Warm-up (solo)");
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("TERM");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "TERM");
    assert!(
        !ended.stderr.contains("Warm-up (main)"),
        "the 2-container step never starts\n{ended}"
    );
    let json = the_results(dirs.out());
    assert_measured_and_cut_short(&json, 10.0);
    assert_eq!(json["containers"].as_array().unwrap().len(), 1, "{json}");
    assert!(
        json["problems"].to_string().contains("solo baseline"),
        "{json}"
    );
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigterm_during_the_window_saves_what_was_measured() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--containers",
        "1",
        "--duration",
        "30",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
    ]);
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("TERM");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "TERM");
    let json = the_results(dirs.out());
    assert_measured_and_cut_short(&json, 15.0);
    let csv = std::fs::read_to_string(dirs.out().join("scaling_analysis.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "header + the run's row\n{csv}");
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",interrupted"),
        "{csv}"
    );
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigint_during_the_window_stops_local_worker_processes() {
    let _lock = docker_lock();
    // DOCKER_HOST points nowhere: the process runtime must not need the daemon.
    let mut run = Run::start_with(
        &[
            "--runtime",
            "process",
            "--containers",
            "1",
            "--duration",
            "30",
            "--warmup-time",
            "1",
            "--countdown",
            "1",
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    run.wait_for_line("[4/4] Measuring");
    let tmp = run.tmp.path().to_str().unwrap().to_string();
    assert!(
        !workers_running(&tmp).is_empty(),
        "a worker process runs in the window"
    );
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("INT");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "INT");
    assert_eq!(workers_running(&tmp), Vec::<String>::new(), "{ended}");
    let json = the_results(dirs.out());
    assert_eq!(json["settings"]["runtime"], "process");
    assert_measured_and_cut_short(&json, 15.0);
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

/// Worker processes whose command line names `tmp` (their barrier folder is inside).
fn workers_running(tmp: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-a", "-f", &format!("worker .*--barrier {tmp}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The study's files in `dir`: the steps of scaling_study.json as (containers, status),
/// and the rows of scaling_analysis.csv.
fn study(dir: &Path) -> (Vec<(u64, String)>, Vec<String>) {
    let json = read_json(&dir.join("scaling_study.json"));
    let steps = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["containers"].as_u64().unwrap(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let csv = std::fs::read_to_string(dir.join("scaling_analysis.csv")).unwrap();
    (steps, csv.lines().map(String::from).collect())
}

/// A study of 1 then 2 containers, each step warming up for `warmup` seconds and
/// measuring for `duration`.
fn start_study(warmup: &str, duration: &str) -> Run {
    Run::start(&[
        "--scaling-test",
        "--max-containers",
        "2",
        "--duration",
        duration,
        "--warmup-time",
        warmup,
        "--countdown",
        "1",
    ])
}

#[test]
fn sigint_before_the_second_study_step_is_measured_keeps_the_first() {
    let _lock = docker_lock();
    // The step's containers are started before this line, and warm up for 3 s after it.
    let mut run = start_study("3", "3");
    run.wait_for_line("Warm-up (step 2/2");
    run.signal("INT");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "INT");
    let second_step = ended.stderr.split("Warm-up (step 2/2").nth(1).unwrap();
    assert!(
        !second_step.contains("[3/4]"),
        "stopped in its warm-up\n{ended}"
    );
    let (steps, csv) = study(dirs.out());
    assert_eq!(steps, vec![(1, "ok".to_string())], "only the step done");
    assert_eq!(csv.len(), 2, "header + step 1: {csv:?}");
    assert!(csv[1].ends_with(",ok"), "{csv:?}");
    // The second step has its results file (the same second as the first's: the names
    // differ by run id), outside the study: nothing measured.
    let files = results_files(dirs.out());
    assert_eq!(files.len(), 2, "{files:?}");
    let mut runs: Vec<Value> = files.iter().map(|f| read_json(f)).collect();
    runs.sort_by_key(|r| r["containers"].as_array().unwrap().len());
    assert_eq!(runs[0]["status"], "ok", "step 1 kept: {}", runs[0]);
    let second = &runs[1];
    assert_eq!(second["status"], "interrupted", "{second}");
    for c in second["containers"].as_array().unwrap() {
        assert!(
            c["status"].as_str().unwrap().starts_with("not measured"),
            "{c}"
        );
    }
    assert_no_container_of(second["run_id"].as_str().unwrap());
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigterm_in_the_second_study_steps_window_keeps_the_first_step_and_the_partial_one_apart() {
    let _lock = docker_lock();
    let mut run = start_study("1", "8");
    run.wait_for_line("Warm-up (step 2/2");
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("TERM");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "TERM");
    let (steps, csv) = study(dirs.out());
    assert_eq!(steps, vec![(1, "ok".to_string())], "only the step done");
    assert_eq!(csv.len(), 2, "header + step 1: {csv:?}");
    // Both steps have their results file; the second is the partial one.
    let files = results_files(dirs.out());
    assert_eq!(files.len(), 2, "{files:?}");
    let partial = files
        .iter()
        .map(|f| read_json(f))
        .find(|j| j["status"] == "interrupted")
        .expect("the interrupted step's results");
    assert_eq!(partial["containers"].as_array().unwrap().len(), 2);
    assert_measured_and_cut_short(&partial, 8.0);
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

/// A run whose worker stalls in its window (so the first signal leaves the orchestrator
/// waiting out its 5 s grace for a result that never comes), signalled a second time as
/// soon as it says it is stopping. Returns the run and how long it took after the second.
fn signal_twice_with_a_stalled_worker(
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Ended, Dirs, Duration) {
    let mut args = vec![
        "--containers",
        "1",
        "--duration",
        "30",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
        "--inject-fault",
        "stall@1",
    ];
    args.extend_from_slice(extra);
    let mut run = Run::start_with(&args, env);
    run.wait_for_line("[4/4] Measuring");
    run.signal("INT");
    run.wait_for_line("Interrupted: asking the workers to stop");
    let again = Instant::now();
    run.signal("INT");
    let (ended, dirs) = run.end();
    let after_second = again.elapsed();
    eprintln!(
        "second signal: ended {:.2} s after it",
        after_second.as_secs_f64()
    );
    (ended, dirs, after_second)
}

/// Ended by the second signal, at once (before the 5 s grace the first one started),
/// saying so, and without saving.
fn assert_ended_by_the_second_signal(ended: &Ended, dirs: &Dirs, after_second: Duration) {
    assert!(
        ended.stderr.contains("SIGINT received again: ending now"),
        "{ended}"
    );
    assert!(after_second < Duration::from_secs(5), "{ended}");
    assert_eq!(
        results_files(dirs.out()),
        Vec::<PathBuf>::new(),
        "ended at once, without saving"
    );
    assert_interrupted_and_clean(ended, dirs, "INT");
}

#[test]
fn a_second_signal_ends_at_once_and_still_removes_the_containers() {
    let _lock = docker_lock();
    let (ended, dirs, after_second) = signal_twice_with_a_stalled_worker(&[], &[]);
    assert_ended_by_the_second_signal(&ended, &dirs, after_second);
}

#[test]
fn a_second_signal_ends_at_once_and_still_stops_local_worker_processes() {
    let _lock = docker_lock();
    let (ended, dirs, after_second) = signal_twice_with_a_stalled_worker(
        &["--runtime", "process"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    // A stalled worker left behind would never end: stop it before failing.
    let left = workers_running(dirs.tmp.path().to_str().unwrap());
    for line in &left {
        let pid = line.split_whitespace().next().unwrap();
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    assert_eq!(left, Vec::<String>::new(), "{ended}");
    assert_ended_by_the_second_signal(&ended, &dirs, after_second);
}

/// Asked to stop in its window, a worker ends it and reports its result (`done`) at
/// once: the stop file is looked at on every progress tick, also between the pages of a
/// file (`Passes::measure` in worker/src/run.rs). Before that fix it was looked at only
/// when a tick fell between two files, so the orchestrator waited out its 5 s grace and
/// kept the worker's last progress line instead of its result.
#[test]
fn a_worker_asked_to_stop_reports_its_result_at_once() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--containers",
        "1",
        "--duration",
        "30",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
    ]);
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("INT");
    let (ended, dirs) = run.end();
    assert_interrupted_and_clean(&ended, &dirs, "INT");
    let json = the_results(dirs.out());
    assert_eq!(json["containers"][0]["status"], "ok", "{json}");
    assert!(json["total_pages_per_sec"].as_f64().unwrap() > 0.0);
    assert!(ended.after_signal < Duration::from_secs(3), "{ended}");
}
