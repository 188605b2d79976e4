//! Runs end to end against the real Docker Engine (and local processes): a single run, a
//! study, a precision target, the failure exits, the hardening of containers, bad input,
//! and a CPU hog whose contention the report must name.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

fn ok_statuses(json: &Value) {
    for w in json["workers"].as_array().unwrap() {
        assert_eq!(w["status"], "ok", "{}", w["status_detail"]);
    }
}

#[test]
fn one_container_end_to_end() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    // 9 s: long enough for two batches of at least 4 s, so the throughput has an interval.
    let out = run(
        &[
            "--containers",
            "1",
            "--duration",
            "9",
            "--data-dir",
            corpus_str(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for phase in [
        "[1/4] Build",
        "[2/4] Warm-up",
        "ready on CPU",
        "GO!",
        "[4/4] Measuring",
    ] {
        assert!(stderr.contains(phase), "missing {phase:?}\n{}", text(&out));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Total throughput"), "{}", text(&out));

    let json = the_results(out_dir.path());
    assert_eq!(json["status"], "ok");
    ok_statuses(&json);
    let c = &json["containers"][0];
    assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
    assert!(c["pages_per_sec"].as_f64().unwrap() > 0.0);
    assert!(
        c["chars"].as_u64().unwrap() > 0,
        "text was really extracted"
    );
    assert!(c["cpu"].is_u64());
    let share = c["cpu_share_pct"].as_f64().unwrap();
    assert!(share > 10.0 && share <= 100.0, "{c}");
    let slots = json["workers"][0]["slots"].as_array().unwrap();
    assert!(!slots.is_empty(), "per-slot samples kept");
    assert!(slots[0]["cpu_ns"].as_u64().unwrap() > 0, "{}", slots[0]);
    assert!(
        slots[0]["ticks"].is_object(),
        "/proc/stat read in the container: {}",
        slots[0]
    );
    assert!(json["start_skew_ms"].as_f64().is_some(), "{json}");
    assert!(
        json["scaling_efficiency_pct"].is_null(),
        "one container: no efficiency"
    );
    let total = json["total_pages_per_sec"].as_f64().unwrap();
    assert!((total - c["pages_per_sec"].as_f64().unwrap()).abs() < 1e-6);
    assert!(json["total_pages_per_sec_ci95"].is_array(), "{json}");

    let csv = std::fs::read_to_string(out_dir.path().join("scaling_analysis.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].starts_with("timestamp,"), "{csv}");

    let name = c["name"].as_str().unwrap();
    let log = std::fs::read_to_string(
        out_dir
            .path()
            .join("containers")
            .join(format!("{name}.log")),
    )
    .unwrap();
    assert!(log.contains("\"type\":\"done\""), "{log}");
    assert_nothing_left(json["run_id"].as_str().unwrap());
    assert_no_temporary_files(out_dir.path());
}

/// The README's main command, shortened: two containers, paired slots, an efficiency with
/// its interval, a label only when the interval allows, every file written.
#[test]
fn two_containers_measure_their_efficiency_from_paired_slots() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            "6",
            "--data-dir",
            corpus_str(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(out_dir.path());
    ok_statuses(&json);
    let containers = json["containers"].as_array().unwrap();
    let cpus: Vec<u64> = containers
        .iter()
        .map(|c| c["cpu"].as_u64().unwrap())
        .collect();
    assert_eq!(cpus, vec![0, 1]);
    for c in containers {
        assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
        assert!(c["pages_per_cpu_s"].as_f64().unwrap() > 0.0, "{c}");
    }
    let skew = json["start_skew_ms"].as_f64().expect("start skew");
    assert!(
        (0.0..250.0).contains(&skew),
        "windows opened {skew} ms apart"
    );
    let baseline = &json["baseline"];
    assert_eq!(baseline["source"]["kind"], "solo_slots", "{baseline}");
    assert_eq!(
        baseline["per_cpu"].as_array().unwrap().len(),
        2,
        "each core alone"
    );
    let eff = json["scaling_efficiency_pct"].as_f64().unwrap();
    let ci = json["scaling_efficiency_ci95_pct"]
        .as_array()
        .expect("an interval");
    let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
    assert!(lo <= eff && eff <= hi, "{lo} {eff} {hi}");
    // A label only when the whole interval lies in one band.
    let band = |p: f64| match p {
        p if p >= 95.0 => "perfect",
        p if p >= 85.0 => "excellent",
        p if p >= 70.0 => "good",
        p if p >= 50.0 => "poor",
        _ => "failed",
    };
    match json["efficiency_label"].as_str() {
        Some(label) => {
            assert!(
                band(lo) == label && band(hi) == label && eff <= 100.0,
                "{label} {lo} {hi}"
            )
        }
        None => assert!(band(lo) != band(hi) || eff > 100.0, "{lo} {hi}"),
    }
    assert!(
        json["efficiency_verdict"]
            .as_str()
            .unwrap()
            .contains("95% CI")
    );
    assert!(json["efficiency_loss"].is_object(), "{json}");
    assert_eq!(json["host_usage"].as_array().unwrap().len(), 2);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Scaling efficiency:") && stdout.contains("95% CI"),
        "{stdout}"
    );
    for file in ["scaling_analysis.csv", "scaling.svg", "report.md"] {
        assert!(out_dir.path().join(file).exists(), "{file} missing");
    }
    let csv = std::fs::read_to_string(out_dir.path().join("scaling_analysis.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header + a row per step:\n{csv}");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("efficiency_ci95_low_pct")
    );
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn a_study_writes_every_file_and_gates_with_exit_5() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--scaling-test",
            "--max-containers",
            "2",
            "--duration",
            "4",
            "--data-dir",
            corpus_str(),
            "--save-baseline",
            "e2e",
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    for file in [
        "scaling_analysis.csv",
        "scaling.svg",
        "report.md",
        "baseline-e2e.json",
    ] {
        assert!(out_dir.path().join(file).exists(), "{file} missing");
    }
    let json = the_results(out_dir.path());
    let steps: Vec<u64> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["containers"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![1, 2]);
    assert!(json["steps"][1]["efficiency_pct"].as_f64().unwrap() > 0.0);
    let svg = std::fs::read_to_string(out_dir.path().join("scaling.svg")).unwrap();
    assert!(svg.contains("<svg"), "{}", &svg[..80.min(svg.len())]);
    let md = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(md.contains("## Where the efficiency went"), "{md}");
    assert_eq!(
        containers_with("distributed-benchmark"),
        Vec::<String>::new()
    );

    // An impossible threshold and a comparison with the reference just saved: the gate
    // fails with its documented code.
    let reference = out_dir.path().join("baseline-e2e.json");
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            "4",
            "--data-dir",
            corpus_str(),
            "--compare",
            reference.to_str().unwrap(),
            "--fail-below",
            "1000",
        ],
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("gate failed") && stdout.contains("Compared with the reference"),
        "{}",
        text(&out)
    );
    let csv = std::fs::read_to_string(out_dir.path().join("scaling_analysis.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "both runs' rows are kept:\n{csv}");
}

#[test]
fn a_precision_target_measures_until_met_or_says_it_was_not() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    // ±0.01 points cannot be reached in 8 s on any machine: the run says so.
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            "4",
            "--target-precision",
            "0.01",
            "--max-time",
            "8",
            "--data-dir",
            corpus_str(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(out_dir.path());
    let p = &json["precision"];
    assert_eq!(p["met"], false, "{p}");
    let measured = p["measured_s"].as_f64().unwrap();
    assert!(
        measured > 4.0 && measured <= 8.0,
        "grew past --duration up to --max-time: {p}"
    );
    assert!(
        json["schedule"]["slots_measured"].as_u64() > json["schedule"]["slots_planned"].as_u64()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("NOT met"),
        "{}",
        text(&out)
    );
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn a_container_killed_mid_run_fails_the_run_and_the_others_are_saved() {
    let _lock = docker_lock();
    let mut run = Run::start(&["--containers", "2", "--duration", "30"]);
    run.wait_for_line("[4/4] Measuring");
    let victim = wait_for(|| {
        containers_with("distributed-benchmark.index=2")
            .into_iter()
            .next()
    });
    std::thread::sleep(Duration::from_secs(2));
    let kill = Command::new("docker")
        .args(["kill", &victim])
        .output()
        .unwrap();
    assert!(kill.status.success(), "{}", text(&kill));
    let ended = run.end();
    assert_eq!(ended.code, Some(4), "{ended}");
    let json = the_results(ended.out());
    assert_eq!(json["status"], "worker_failed");
    let workers = json["workers"].as_array().unwrap();
    assert_eq!(workers[1]["status"], "exited", "{}", workers[1]);
    assert_eq!(workers[0]["status"], "ok", "asked to stop, it reported");
    assert!(!workers[0]["slots"].as_array().unwrap().is_empty());
    assert!(
        json["problems"].to_string().contains(&victim),
        "{}",
        json["problems"]
    );
    assert!(json["scaling_efficiency_pct"].is_null());
    assert!(ended.after_signal.is_zero());
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn no_cleanup_keeps_hardened_containers_until_cleanup_removes_them() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--containers",
            "1",
            "--duration",
            "2",
            "--no-cleanup",
            "--memory",
            "256m",
            "--data-dir",
            corpus_str(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let run_id = the_results(out_dir.path())["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = containers_with(&format!("distributed-benchmark.run={run_id}"));
    assert_eq!(kept.len(), 1);
    assert_hardened(&kept[0]);

    let out = Command::new(BIN).arg("cleanup").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed 1 container"),
        "{}",
        text(&out)
    );
    assert_nothing_left(&run_id);
}

/// Pinned, limited and locked down, as the Engine API describes it; no host folder but the
/// data is mounted (messages go through the attached stdin).
fn assert_hardened(name: &str) {
    let c = inspect(name);
    let host = &c["HostConfig"];
    assert_eq!(host["ReadonlyRootfs"], true, "read-only root");
    assert_eq!(
        host["CapDrop"],
        serde_json::json!(["ALL"]),
        "capabilities dropped"
    );
    assert!(
        host["SecurityOpt"]
            .to_string()
            .contains("no-new-privileges")
    );
    assert_eq!(host["NetworkMode"], "none", "no network");
    assert!(host["PidsLimit"].as_i64().unwrap() > 0, "pids limit");
    assert_eq!(host["Memory"].as_i64(), Some(256 << 20), "memory limit");
    assert_eq!(host["MemorySwap"].as_i64(), Some(256 << 20), "no swap");
    assert_eq!(
        host["NanoCpus"].as_i64(),
        Some(1_000_000_000),
        "one CPU of quota"
    );
    assert_eq!(host["CpusetCpus"], "0", "pinned to core 0");
    let user = c["Config"]["User"].as_str().unwrap();
    assert!(
        !user.is_empty() && !user.starts_with("0:") && user != "root",
        "user {user:?}"
    );
    let mounts = c["Mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 1, "only the data: {mounts:?}");
    assert_eq!(mounts[0]["Destination"], "/data/0");
    assert_eq!(mounts[0]["RW"], false, "data mounted read-only");
    assert_eq!(c["Config"]["OpenStdin"], true);
    assert!(c["Config"]["Labels"]["distributed-benchmark.run"].is_string());
}

#[test]
fn docker_unreachable_says_how_to_fix_it() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(QUICK)
        .args(["--data-dir", corpus_str(), "--output-dir"])
        .arg(out_dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DOCKER_HOST") && stderr.contains("/nonexistent/docker.sock"),
        "{stderr}"
    );
    assert_eq!(
        files_under(out_dir.path()),
        Vec::<std::path::PathBuf>::new(),
        "nothing written"
    );
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_is_written() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "no pdf").unwrap();
    let configs = tempfile::tempdir().unwrap();
    let bad_config = configs.path().join("bad.yaml");
    std::fs::write(&bad_config, "processing:\n  max_file_size_mb: -3\n").unwrap();
    let bad_duration = configs.path().join("duration.yaml");
    std::fs::write(&bad_duration, "benchmark:\n  duration: -3\n").unwrap();
    let unknown_key = configs.path().join("unknown.yaml");
    std::fs::write(&unknown_key, "pdf:\n  max_pages: 3\n").unwrap();
    let missing_data = configs.path().join("hosts.yaml");
    std::fs::write(
        &missing_data,
        "hosts:\n  - name: local\n    url: unix:///var/run/docker.sock\n    data_dir: /nonexistent/pdfs\n",
    )
    .unwrap();
    let corpus = corpus_str();
    let cores = std::thread::available_parallelism().unwrap().get();
    let too_many = (cores + 7).to_string();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data-dir", "/nonexistent/pdfs"], "/nonexistent/pdfs"),
        (
            vec!["--hosts", missing_data.to_str().unwrap()],
            "hosts.yaml: hosts[0].data_dir: /nonexistent/pdfs does not exist",
        ),
        (vec!["--host", "ftp://somewhere"], "--host: ftp://somewhere"),
        (
            vec!["--data-dir", empty.path().to_str().unwrap()],
            "holds no PDF",
        ),
        (
            vec![
                "--data-dir",
                corpus,
                "--config",
                bad_config.to_str().unwrap(),
            ],
            "bad.yaml: processing.max_file_size_mb",
        ),
        (
            vec![
                "--data-dir",
                corpus,
                "--config",
                bad_duration.to_str().unwrap(),
            ],
            "duration.yaml: benchmark.duration",
        ),
        (
            vec![
                "--data-dir",
                corpus,
                "--config",
                unknown_key.to_str().unwrap(),
            ],
            "max_pages",
        ),
        (
            vec!["--data-dir", corpus, "--config", "/nonexistent.yaml"],
            "/nonexistent.yaml",
        ),
        (
            vec!["--data-dir", corpus, "--containers", &too_many],
            "--oversubscribe",
        ),
        (vec!["--data-dir", corpus, "--cpus", "999"], "CPU 999"),
        (
            vec!["--data-dir", corpus, "--cpus", "0,x"],
            "--cpus \"0,x\" is not a CPU list",
        ),
        (vec!["--data-dir", corpus, "--memory", "lots"], "--memory"),
        (vec!["--data-dir", corpus, "--duration", "0"], "--duration"),
        (
            vec![
                "--data-dir",
                corpus,
                "--containers",
                "2",
                "--duration",
                "0.5",
            ],
            "too short",
        ),
        (
            vec![
                "--data-dir",
                corpus,
                "--containers",
                "2",
                "--baseline",
                "/nonexistent.json",
            ],
            "--baseline",
        ),
        (
            vec!["--data-dir", corpus, "--compare", "/nonexistent.json"],
            "--compare",
        ),
        // No data folder: the sample corpus is not written before the input is checked.
        (vec!["--duration", "-1"], "--duration"),
    ];
    for (args, expected) in cases {
        let out_dir = tempfile::tempdir().unwrap();
        let target = out_dir.path().join("out");
        let out = Command::new(BIN)
            .args(&args)
            .arg("--output-dir")
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{stderr}"
        );
        assert!(!target.exists(), "{args:?}: nothing written");
    }
    if let Some(file) = unwritable_output() {
        let out = Command::new(BIN)
            .args(["--data-dir", corpus, "--output-dir", &file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--output-dir"),
            "{}",
            text(&out)
        );
    }
}

/// A path that cannot be a folder: below a regular file (unwritable even for root).
fn unwritable_output() -> Option<String> {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-not-a-folder");
    std::fs::write(&file, "x").ok()?;
    Some(file.join("out").display().to_string())
}

#[test]
fn extract_prints_pages_separated_by_form_feeds() {
    let pdf = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .unwrap();
    let out = Command::new(BIN).arg("extract").arg(&pdf).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.ends_with('\u{c}'));
    let pages: Vec<&str> = stdout.trim_end_matches('\u{c}').split('\u{c}').collect();
    assert!(pages.len() > 1, "a multi-page sample");
    assert!(
        pages.iter().all(|p| p.split_whitespace().count() > 5),
        "every page has text"
    );

    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), b"definitely not a pdf").unwrap();
    let out = Command::new(BIN)
        .arg("extract")
        .arg(garbage.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!out.stderr.is_empty());
    let out = Command::new(BIN)
        .args(["extract", "/nonexistent.pdf"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.pdf"));
}

#[test]
fn worker_runs_in_process_and_ends_with_a_json_summary() {
    let out = Command::new(BIN)
        .args(["worker", "--duration", "1", "--data-dir"])
        .arg(corpus())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for key in [
        "pages",
        "files",
        "errors",
        "elapsed_s",
        "pages_per_sec",
        "cpu_s",
    ] {
        assert!(last.get(key).is_some(), "{key} missing: {last}");
    }
    assert!(last["pages"].as_u64().unwrap() > 0);
    let elapsed = last["elapsed_s"].as_f64().unwrap();
    assert!((0.9..1.5).contains(&elapsed), "{elapsed}");
    let out = Command::new(BIN)
        .args(["worker", "--settings", "{}"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_container_over_its_memory_limit_is_reported_as_oom_killed() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // 56 MiB of inflated content (under the engine's per-stream cap, so it is really
    // inflated) against a 32 MiB limit.
    write_inflating_pdf(&data.path().join("inflates.pdf"), 56);
    let out = run(
        &[
            "--containers",
            "1",
            "--duration",
            "2",
            "--memory",
            "32m",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let json = the_results(out_dir.path());
    assert_eq!(json["status"], "worker_failed");
    assert_eq!(json["workers"][0]["status"], "oom_killed", "{json}");
    assert!(json["problems"].to_string().contains("oom_killed"));
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn test_config_points_at_the_sample_corpus_and_runs() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--test-config")
        .arg("--output-dir")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let config = out_dir.path().join("test_config.yaml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    assert!(yaml.contains("sample_corpus"), "{yaml}");
    let out = Command::new(BIN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--duration",
            "1",
            "--warmup-time",
            "0",
            "--countdown",
            "0",
            "--plain",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(out_dir.path());
    assert!(
        json["containers"][0]["pages"].as_u64().unwrap() > 0,
        "{json}"
    );
}

#[test]
fn process_runtime_runs_the_same_workers_without_docker() {
    let out_dir = tempfile::tempdir().unwrap();
    // DOCKER_HOST points nowhere: the process runtime must not need the daemon.
    let out = Command::new(BIN)
        .args(QUICK)
        .args([
            "--runtime",
            "process",
            "--containers",
            "2",
            "--duration",
            "4",
            "--data-dir",
            corpus_str(),
            "--output-dir",
        ])
        .arg(out_dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Process worker-1 ready on CPU 0"),
        "{}",
        text(&out)
    );
    let json = the_results(out_dir.path());
    assert_eq!(json["settings"]["runtime"], "process");
    ok_statuses(&json);
    let cpus: Vec<u64> = json["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cpu"].as_u64().unwrap())
        .collect();
    assert_eq!(cpus, vec![0, 1]);
    assert!(json["scaling_efficiency_pct"].as_f64().is_some());
    assert_eq!(
        workers_running(corpus_str()),
        Vec::<String>::new(),
        "no worker outlives the run"
    );
}

#[test]
fn a_worker_that_never_becomes_ready_is_named_and_nothing_is_left() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            "4",
            "--data-dir",
            corpus_str(),
            "--inject-fault",
            "never-ready@2",
            "--ready-timeout",
            "2",
        ],
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = the_results(out_dir.path());
    assert_eq!(json["status"], "failed");
    let problems = json["problems"].to_string();
    assert!(
        problems.contains("never became ready") && problems.contains("distributed-benchmark-2"),
        "{problems}"
    );
    assert_eq!(json["workers"][1]["status"], "never_ready");
    assert_eq!(
        json["workers"][0]["status"], "not_measured",
        "{}",
        json["workers"][0]
    );
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn a_worker_that_stops_writing_is_given_up_and_the_others_are_saved() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            "30",
            "--data-dir",
            corpus_str(),
            "--inject-fault",
            "stall@2",
        ],
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let json = the_results(out_dir.path());
    assert_eq!(json["status"], "worker_failed");
    assert_eq!(json["workers"][0]["status"], "ok");
    assert_eq!(json["workers"][1]["status"], "stalled");
    assert!(json["problems"].to_string().contains("stopped writing"));
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn hostile_data_folder_is_counted_by_reason_and_the_run_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "pdf") {
            std::fs::copy(&path, data.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    // Not a PDF despite its name; unreadable by the container's user; a symlink loop.
    std::fs::write(data.path().join("fake.pdf"), b"<html>not a pdf</html>").unwrap();
    let locked = data.path().join("locked.pdf");
    std::fs::copy(data.path().join("fake.pdf"), &locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::os::unix::fs::symlink(data.path(), data.path().join("loop")).unwrap();

    let out = run(
        &[
            "--containers",
            "1",
            "--duration",
            "2",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(out_dir.path());
    let w = &json["workers"][0];
    assert!(json["containers"][0]["pages"].as_u64().unwrap() > 0);
    assert!(w["by_reason"]["not_pdf"].as_u64().unwrap() > 0, "{w}");
    assert!(w["by_reason"]["io"].as_u64().unwrap() > 0, "{w}");
    let reported: Vec<&str> = w["file_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reported.contains(&"io") && reported.contains(&"not_pdf"),
        "{reported:?}"
    );
}

/// Runs `--containers 2` on the e2e corpus with a busy loop beside it, started with
/// `taskset_cpu` (pinned) or free to run anywhere; returns the run's output, its results
/// and the loop's pid.
fn run_beside_a_hog(taskset_cpu: Option<&str>, seconds: &str) -> (Output, Value, u32) {
    let mut hog = match taskset_cpu {
        Some(cpu) => Command::new("taskset")
            .args(["-c", cpu, "sh", "-c", "while :; do :; done"])
            .spawn(),
        None => Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn(),
    }
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "--containers",
            "2",
            "--duration",
            seconds,
            "--data-dir",
            corpus_str(),
        ],
        out_dir.path(),
    );
    let _ = hog.kill();
    let _ = hog.wait();
    assert!(out.status.success(), "{}", text(&out));
    (out, the_results(out_dir.path()), hog.id())
}

fn named_on(json: &Value, cpu: u64, pid: u32) -> bool {
    json["host_usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["cpu"] == cpu)
        .flat_map(|u| u["top_processes"].as_array().unwrap())
        .any(|p| p["pid"] == pid)
}

/// Issue 9: another program busy on CPU 1 during the whole window. Each core is compared
/// with itself, so a program on CPU 1 in every slot, alone and together alike, slows
/// CPU 1's solo slots as much as its others and takes nothing from the efficiency; it takes
/// throughput, and the results say so: CPU 1 mostly used by others, the program named
/// with its pid, the throughput lost to other programs, in the JSON and the terminal.
#[test]
fn a_cpu_hog_on_a_pinned_core_is_named_as_the_cause_of_the_loss() {
    let _lock = docker_lock();
    let (out, json, pid) = run_beside_a_hog(Some("1"), "8");
    let usage = |cpu: u64| {
        json["host_usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["cpu"] == cpu)
            .unwrap()
            .clone()
    };
    let (cpu0, cpu1) = (usage(0), usage(1));
    assert!(cpu1["others_pct"].as_f64().unwrap() > 25.0, "{cpu1}");
    assert!(named_on(&json, 1, pid), "the hog is named on CPU 1: {cpu1}");
    assert!(
        cpu1["others_pct"].as_f64().unwrap() > cpu0["others_pct"].as_f64().unwrap() + 15.0,
        "CPU 1 is the contended one: {}",
        json["host_usage"]
    );
    let loss = &json["efficiency_loss"];
    // One core of two, mostly taken: well over a tenth of the throughput.
    let lost = loss["throughput_lost_to_others_pct"].as_f64().unwrap();
    assert!(lost > 12.0, "{loss}");
    // CPU 1's solo slots were slowed like its others: alone, it did fewer pages than CPU 0.
    let per_cpu = json["baseline"]["per_cpu"].as_array().unwrap();
    let alone = |cpu: u64| {
        per_cpu.iter().find(|c| c["cpu"] == cpu).unwrap()["pages_per_sec"]
            .as_f64()
            .unwrap()
    };
    assert!(alone(1) < 0.85 * alone(0), "{per_cpu:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("(pid {pid})")), "{stdout}");
    assert!(
        stdout.contains("below what free cores would give"),
        "{stdout}"
    );
}

/// Issue 9: a program free to run on any core takes the one that is idle while a core runs
/// alone, and competes with a worker only when all of them run: a real loss of efficiency,
/// which the results put down to contention on the pinned cores and name the program for.
#[test]
fn a_cpu_hog_that_competes_only_when_all_run_is_a_loss_by_contention() {
    let _lock = docker_lock();
    let (out, json, pid) = run_beside_a_hog(None, "8");
    let loss = &json["efficiency_loss"];
    let pts = |k: &str| loss[k].as_f64().unwrap();
    let contention = pts("contention_pts");
    // Half a core of two lost together, none alone: about 25 points.
    assert!(contention > 10.0, "{loss}");
    for other in [
        "steal_pts",
        "throttling_pts",
        "slower_cores_pts",
        "unexplained_pts",
    ] {
        assert!(
            contention > pts(other).abs(),
            "contention is the main cause: {loss}"
        );
    }
    assert!(
        pts("others_together_pct") > pts("others_solo_pct") + 10.0,
        "{loss}"
    );
    assert!(
        named_on(&json, 0, pid) || named_on(&json, 1, pid),
        "the hog is named: {}",
        json["host_usage"]
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("contention on the pinned cores"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("(pid {pid})")), "{stdout}");
}
