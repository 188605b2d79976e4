//! SIGINT and SIGTERM in every phase of a run, against the real Docker engine (the window
//! and the second signal once more with `--runtime process`). In every case the run must
//! end with exit code 130 and say so on stderr, keep what was measured (results written
//! atomically: no temporary file in the output folder), and leave no container or worker
//! process behind.
//!
//! Signals are sent when the phase's line appears on stderr (`--plain` prints one line per
//! phase), not after blind sleeps, so a loaded machine only makes them slower.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::util::*;

/// Exit 130, the signal named on stderr, no container of ours, no temporary file.
fn assert_interrupted_and_clean(ended: &Ended, signal: &str) {
    assert_eq!(ended.code, Some(130), "{ended}");
    assert!(
        ended.stderr.contains(&format!("SIG{signal} received")),
        "the signal is reported\n{ended}"
    );
    assert_eq!(
        containers_with("distributed-benchmark"),
        Vec::<String>::new(),
        "containers left\n{ended}"
    );
    assert_no_temporary_files(ended.out());
}

/// A run interrupted in its window: status interrupted, each container's pages and
/// per-slot records kept, its window cut short (under `max_elapsed_s` of slots).
fn assert_measured_and_cut_short(json: &Value, max_elapsed_s: f64) {
    assert_eq!(json["status"], "interrupted", "{json}");
    let containers = json["containers"].as_array().unwrap();
    assert!(!containers.is_empty(), "{json}");
    for c in containers {
        assert!(c["pages"].as_u64().unwrap() > 0, "pages kept: {c}");
        let elapsed = c["elapsed_s"].as_f64().unwrap();
        assert!(
            elapsed > 0.0 && elapsed < max_elapsed_s,
            "window cut short: {elapsed} s"
        );
    }
    for w in json["workers"].as_array().unwrap() {
        assert!(
            !w["slots"].as_array().unwrap().is_empty(),
            "slots kept: {w}"
        );
    }
    assert_nothing_left(json["run_id"].as_str().unwrap());
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
        assert!(rmi.status.success(), "{}", text(&rmi));
    }
    let mut run = Run::start(&["--containers", "1", "--duration", "2"]);
    run.wait_for_line(line);
    run.signal(signal);
    let ended = run.end();
    assert_interrupted_and_clean(&ended, signal);
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
    let written: Vec<PathBuf> = files_under(ended.out())
        .into_iter()
        .filter(|p| !p.starts_with(ended.out().join("sample_corpus")))
        .collect();
    assert_eq!(
        written,
        Vec::<PathBuf>::new(),
        "nothing measured, nothing written"
    );
    // Hashing and packing the executable run off the async threads, and are not waited
    // for: the signal is acted on at once.
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
        "2",
        "--duration",
        "5",
        "--warmup-time",
        "30",
    ]);
    run.wait_for_line("[2/4] Warm-up");
    std::thread::sleep(Duration::from_secs(1));
    run.signal("INT");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "INT");
    assert!(!ended.stderr.contains("[3/4]"), "{ended}");
    let json = the_results(ended.out());
    assert_eq!(json["status"], "interrupted", "{json}");
    for w in json["workers"].as_array().unwrap() {
        assert_eq!(w["status"], "not_measured", "{w}");
        assert_eq!(w["status_detail"], "interrupted during its warm-up", "{w}");
    }
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigint_during_the_countdown_stops_before_the_window() {
    let _lock = docker_lock();
    let mut run = Run::start(&["--containers", "1", "--duration", "5", "--countdown", "30"]);
    run.wait_for_line("[3/4] Coordinated start");
    run.signal("INT");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "INT");
    assert!(
        !ended.stderr.contains("GO!") && !ended.stderr.contains("[4/4]"),
        "{ended}"
    );
    let json = the_results(ended.out());
    assert_eq!(json["status"], "interrupted", "{json}");
    assert!(
        json["workers"][0]["slots"].as_array().unwrap().is_empty(),
        "{json}"
    );
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigterm_during_the_window_saves_what_was_measured() {
    let _lock = docker_lock();
    let mut run = Run::start(&["--containers", "2", "--duration", "30"]);
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(2500));
    run.signal("TERM");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "TERM");
    let json = the_results(ended.out());
    assert_measured_and_cut_short(&json, 15.0);
    let csv = std::fs::read_to_string(ended.out().join("scaling_analysis.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + the run's steps\n{csv}");
    assert!(
        csv.lines().nth(1).unwrap().ends_with(",interrupted"),
        "{csv}"
    );
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

#[test]
fn sigint_during_a_study_keeps_every_step_measured_so_far() {
    let _lock = docker_lock();
    let mut run = Run::start(&[
        "--scaling-test",
        "--max-containers",
        "2",
        "--duration",
        "40",
    ]);
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_secs(4));
    run.signal("INT");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "INT");
    let json = the_results(ended.out());
    assert_measured_and_cut_short(&json, 20.0);
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps[1]["pairs"].as_u64().unwrap() > 0, "{}", steps[1]);
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
        ],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    run.wait_for_line("[4/4] Measuring");
    let marker = run.corpus.display().to_string();
    assert!(
        !workers_running(&marker).is_empty(),
        "a worker process runs in the window"
    );
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("INT");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "INT");
    assert_eq!(workers_running(&marker), Vec::<String>::new(), "{ended}");
    let json = the_results(ended.out());
    assert_eq!(json["settings"]["runtime"], "process");
    assert_measured_and_cut_short(&json, 15.0);
    assert!(ended.after_signal < Duration::from_secs(15), "{ended}");
}

/// A run whose worker stalls in its window (so the first signal leaves the orchestrator
/// waiting out its 5 s grace for a result that never comes), signalled a second time as
/// soon as it says it is stopping. Returns the run and how long it took after the second.
fn signal_twice_with_a_stalled_worker(extra: &[&str], env: &[(&str, &str)]) -> (Ended, Duration) {
    let mut args = vec![
        "--containers",
        "1",
        "--duration",
        "30",
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
    let ended = run.end();
    (ended, again.elapsed())
}

/// Ended by the second signal, at once (before the 5 s grace the first one started),
/// saying so, and without saving.
fn assert_ended_by_the_second_signal(ended: &Ended, after_second: Duration) {
    assert!(
        ended.stderr.contains("SIGINT received again: ending now"),
        "{ended}"
    );
    assert!(after_second < Duration::from_secs(5), "{ended}");
    assert_eq!(
        results_files(ended.out()),
        Vec::<PathBuf>::new(),
        "ended at once, without saving"
    );
    assert_interrupted_and_clean(ended, "INT");
}

#[test]
fn a_second_signal_ends_at_once_and_still_removes_the_containers() {
    let _lock = docker_lock();
    let (ended, after_second) = signal_twice_with_a_stalled_worker(&[], &[]);
    assert_ended_by_the_second_signal(&ended, after_second);
}

#[test]
fn a_second_signal_ends_at_once_and_still_stops_local_worker_processes() {
    let _lock = docker_lock();
    let (ended, after_second) = signal_twice_with_a_stalled_worker(
        &["--runtime", "process"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    let marker = corpus().display().to_string();
    // A stalled worker left behind would never end: stop it before failing.
    let left = workers_running(&format!("stall.*{marker}"));
    let left_too = workers_running(&format!("{marker}.*stall"));
    for line in left.iter().chain(&left_too) {
        let pid = line.split_whitespace().next().unwrap();
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
    assert_eq!(
        (left, left_too),
        (Vec::<String>::new(), Vec::<String>::new()),
        "{ended}"
    );
    assert_ended_by_the_second_signal(&ended, after_second);
}

/// Asked to stop in its window, a worker ends it and reports its result (`done`) at once:
/// the stop message is seen between the pages of a file, not only between files.
#[test]
fn a_worker_asked_to_stop_reports_its_result_at_once() {
    let _lock = docker_lock();
    let mut run = Run::start(&["--containers", "1", "--duration", "30"]);
    run.wait_for_line("[4/4] Measuring");
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("INT");
    let ended = run.end();
    assert_interrupted_and_clean(&ended, "INT");
    let json = the_results(ended.out());
    assert_eq!(json["workers"][0]["status"], "ok", "{json}");
    assert!(json["total_pages_per_sec"].as_f64().unwrap() > 0.0);
    assert!(ended.after_signal < Duration::from_secs(3), "{ended}");
}
