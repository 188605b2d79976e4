//! End to end: the real binary against the real Docker Engine. These tests fail (never
//! skip) when no engine is reachable: the engine is the test bed.
//!
//! Docker tests hold a lock so they run one at a time: they pin containers to the same
//! cores, and one test's containers must not be mistaken for another's.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_distributed-benchmark");

fn docker_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A small corpus made once by the tool itself (`sample --small`).
fn corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // Under target/tmp (cargo's folder for integration tests), not the system's temp
        // folder: it outlives the test binary, and a fresh clone starts without it.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-corpus");
        let out = Command::new(BIN)
            .args(["sample", "--small"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

fn run(args: &[&str], out_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--output-dir")
        .arg(out_dir)
        .arg("--plain")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn results_json(out_dir: &Path) -> Value {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("results_") && name.ends_with(".json")
        })
        .collect();
    files.sort();
    let last = files.last().expect("a results file");
    serde_json::from_str(&std::fs::read_to_string(last).unwrap()).unwrap()
}

/// Names of containers (running or not) carrying `label`.
fn containers_with(label: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-a", "--format", "{{.Names}}", "--filter"])
        .arg(format!("label={label}"))
        .output()
        .expect("the docker CLI");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

fn assert_nothing_left(run_id: &str) {
    assert_eq!(
        containers_with(&format!("distributed-benchmark.run={run_id}")),
        Vec::<String>::new(),
        "containers of run {run_id} left behind"
    );
    let barrier = std::env::temp_dir().join(format!("distributed-benchmark-barrier-{run_id}"));
    assert!(!barrier.exists(), "{} left behind", barrier.display());
}

const QUICK: &[&str] = &["--duration", "2", "--warmup-time", "1", "--countdown", "1"];

fn quick(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = QUICK.iter().map(|s| s.to_string()).collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn run_quick(extra: &[&str], out_dir: &Path) -> Output {
    let args = quick(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args, out_dir)
}

#[test]
fn one_container_end_to_end() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let corpus = corpus().to_str().unwrap();
    let out = run_quick(&["--containers", "1", "--data-dir", corpus], out_dir.path());
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

    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "ok");
    let c = &json["containers"][0];
    assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
    assert!(c["pages_per_sec"].as_f64().unwrap() > 0.0);
    assert!(
        c["chars"].as_u64().unwrap() > 0,
        "text was really extracted"
    );
    assert!(c["cpu"].is_u64());
    assert!(
        !c["samples"].as_array().unwrap().is_empty(),
        "per-second samples kept"
    );
    assert!(json["start_skew_ms"].as_f64().is_some(), "{json}");
    assert_eq!(json["scaling_efficiency_pct"].as_f64(), Some(100.0));
    let total = json["total_pages_per_sec"].as_f64().unwrap();
    assert!((total - c["pages_per_sec"].as_f64().unwrap()).abs() < 1e-9);

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
}

#[test]
fn two_containers_measure_a_solo_baseline_first() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let corpus = corpus().to_str().unwrap();
    let out = run_quick(&["--containers", "2", "--data-dir", corpus], out_dir.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("solo run"),
        "{}",
        text(&out)
    );

    let json = results_json(out_dir.path());
    let containers = json["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 2);
    let cpus: Vec<u64> = containers
        .iter()
        .map(|c| c["cpu"].as_u64().unwrap())
        .collect();
    assert_eq!(cpus, vec![0, 1]);
    for c in containers {
        assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
        assert!(c["window_start_unix_ns"].as_i64().is_some());
    }
    let skew = json["start_skew_ms"].as_f64().expect("start skew");
    assert!(
        (0.0..250.0).contains(&skew),
        "windows opened {skew} ms apart"
    );
    let baseline = &json["baseline"];
    assert!(
        baseline["source"].as_str().unwrap().contains("solo"),
        "{baseline}"
    );
    assert!(baseline["pages_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(
        baseline["containers"].as_array().unwrap().len(),
        1,
        "solo samples kept"
    );
    let eff = json["scaling_efficiency_pct"].as_f64().unwrap();
    let expected = json["total_pages_per_sec"].as_f64().unwrap()
        / (2.0 * baseline["pages_per_sec"].as_f64().unwrap())
        * 100.0;
    assert!((eff - expected).abs() < 1e-6, "{eff} vs {expected}");
    assert!(json["efficiency_label"].is_string());
    assert_nothing_left(json["run_id"].as_str().unwrap());
    let solo_run = baseline["source"]
        .as_str()
        .unwrap()
        .rsplit("run ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert_nothing_left(solo_run);
}

#[test]
fn a_container_killed_mid_run_is_reported_and_the_others_are_saved() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let baseline = out_dir.path().join("baseline.json");
    write_fake_baseline(&baseline);
    let args = [
        "--containers",
        "2",
        "--duration",
        "6",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
        "--data-dir",
        corpus().to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
    ];
    let child = Command::new(BIN)
        .args(args)
        .arg("--output-dir")
        .arg(out_dir.path())
        .arg("--plain")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the second container runs, then well into the window, then kill it.
    let victim = wait_for(|| {
        containers_with("distributed-benchmark.index=2")
            .into_iter()
            .next()
    });
    std::thread::sleep(Duration::from_secs(5));
    let kill = Command::new("docker")
        .args(["kill", &victim])
        .output()
        .unwrap();
    assert!(kill.status.success(), "{}", text(&kill));

    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "container_failed");
    let containers = json["containers"].as_array().unwrap();
    let dead = containers.iter().find(|c| c["index"] == 2).unwrap();
    let alive = containers.iter().find(|c| c["index"] == 1).unwrap();
    assert_ne!(dead["status"], "ok", "{dead}");
    assert_eq!(alive["status"], "ok");
    assert!(alive["pages"].as_u64().unwrap() > 0);
    let problems = json["problems"].to_string();
    assert!(
        problems.contains(dead["name"].as_str().unwrap()),
        "{problems}"
    );
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn interrupt_during_the_window_saves_what_was_measured() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let args = [
        "--containers",
        "1",
        "--duration",
        "30",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
        "--data-dir",
        corpus().to_str().unwrap(),
    ];
    // Warm-up (1 s) + countdown (1 s) + a few seconds of window.
    let (out, _) = signal_after(&args, out_dir.path(), "-INT", Duration::from_secs(6));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "interrupted");
    let c = &json["containers"][0];
    assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
    let elapsed = c["elapsed_s"].as_f64().unwrap();
    assert!(elapsed < 20.0, "the window was cut short: {elapsed}");
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn no_cleanup_keeps_containers_until_cleanup_removes_them() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run_quick(
        &[
            "--containers",
            "1",
            "--no-cleanup",
            "--memory",
            "256m",
            "--data-dir",
            corpus().to_str().unwrap(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let run_id = results_json(out_dir.path())["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = containers_with(&format!("distributed-benchmark.run={run_id}"));
    assert_eq!(kept.len(), 1);
    assert_hardened(&kept[0]);

    let out = Command::new(BIN).arg("cleanup").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Removed"),
        "{}",
        text(&out)
    );
    assert_nothing_left(&run_id);
}

#[test]
fn docker_unreachable_says_how_to_fix_it() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(quick(&[
            "--data-dir",
            corpus().to_str().unwrap(),
            "--output-dir",
        ]))
        .arg(out_dir.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DOCKER_HOST"), "{stderr}");
    assert!(stderr.contains("/nonexistent/docker.sock"), "{stderr}");
}

#[test]
fn bad_input_is_refused_with_exit_2_and_a_message_naming_it() {
    let out_dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "no pdf").unwrap();
    let bad_config = out_dir.path().join("bad.yaml");
    std::fs::write(&bad_config, "processing:\n  max_file_size_mb: -3\n").unwrap();
    let unknown_key = out_dir.path().join("unknown.yaml");
    std::fs::write(&unknown_key, "pdf:\n  max_pages: 3\n").unwrap();
    let corpus = corpus().to_str().unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    let too_many = (cores + 7).to_string();

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data-dir", "/nonexistent/pdfs"], "/nonexistent/pdfs"),
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
            "processing.max_file_size_mb",
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
        (vec!["--data-dir", corpus, "--memory", "lots"], "--memory"),
        (vec!["--data-dir", corpus, "--duration", "0"], "--duration"),
    ];
    for (args, expected) in cases {
        let out = run(&args, out_dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{stderr}"
        );
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
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-not-a-folder");
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
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for key in ["pages", "files", "errors", "elapsed_s", "pages_per_sec"] {
        assert!(last.get(key).is_some(), "{key} missing: {last}");
    }
    assert!(last["pages"].as_u64().unwrap() > 0);
    let elapsed = last["elapsed_s"].as_f64().unwrap();
    assert!((0.9..1.5).contains(&elapsed), "{elapsed}");
}

fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < give_up, "timed out waiting");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A minimal earlier 1-container results file, so a test can skip the solo run.
fn write_fake_baseline(path: &Path) {
    let json = serde_json::json!({
        "tool_version": "0", "run_id": "baseline", "timestamp": "2026-01-01T00:00:00Z",
        "status": "ok", "problems": [],
        "host": {"hostname": null, "cpu_model": null, "cores": 2, "memory_bytes": null,
                 "kernel": null, "docker_version": null, "docker_api_version": null},
        "settings": {"containers": 1, "duration_s": 1.0, "warmup_s": 0.0, "data_dir": "x",
                     "data_files": 1, "data_bytes": 1, "cpus": [0], "memory_bytes": null,
                     "image": "x", "oversubscribed": false, "config_file": null, "config": {}},
        "containers": [], "totals": {"pages": 0, "files": 0, "errors": 0, "skipped": 0, "chars": 0},
        "total_pages_per_sec": 100.0, "avg_pages_per_sec_per_container": 100.0,
        "start_skew_ms": null,
        "baseline": {"pages_per_sec": 100.0, "source": "test"},
        "scaling_efficiency_pct": null, "efficiency_label": null, "throughput_stats": null
    });
    std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

/// A one-page PDF whose content stream inflates to `mb` MiB of spaces: small on disk,
/// large in memory once extracted.
fn write_inflating_pdf(path: &Path, mb: usize) {
    let mut content = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET\n".to_vec();
    content.resize(content.len() + mb * 1024 * 1024, b' ');
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 9);
    let mut stream = format!(
        "<< /Length {} /Filter /FlateDecode >>\nstream\n",
        packed.len()
    )
    .into_bytes();
    stream.extend_from_slice(&packed);
    stream.extend_from_slice(b"\nendstream");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(object);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    std::fs::write(path, pdf).unwrap();
}

#[test]
fn a_container_over_its_memory_limit_is_reported_as_oom_killed() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    // 56 MiB of inflated content (under the engine's per-stream cap, so it is really
    // inflated) against a 32 MiB limit.
    write_inflating_pdf(&data.path().join("inflates.pdf"), 56);
    let out = run_quick(
        &[
            "--containers",
            "1",
            "--memory",
            "32m",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        out_dir.path(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "container_failed");
    assert_eq!(json["containers"][0]["status"], "oom_killed", "{json}");
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
    let pdfs = std::fs::read_dir(out_dir.path().join("sample_corpus"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pdf")
        })
        .count();
    assert!(pdfs >= 5, "{pdfs} sample PDFs");

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
    let json = results_json(out_dir.path());
    assert!(
        json["containers"][0]["pages"].as_u64().unwrap() > 0,
        "{json}"
    );
}

#[test]
fn process_runtime_runs_the_same_workers_without_docker() {
    let out_dir = tempfile::tempdir().unwrap();
    let corpus = corpus().to_str().unwrap();
    // DOCKER_HOST points nowhere: the process runtime must not need the daemon.
    let out = Command::new(BIN)
        .args(quick(&[
            "--runtime",
            "process",
            "--containers",
            "2",
            "--data-dir",
            corpus,
        ]))
        .arg("--output-dir")
        .arg(out_dir.path())
        .arg("--plain")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Process worker-1 ready on CPU 0"),
        "{}",
        text(&out)
    );
    let json = results_json(out_dir.path());
    assert_eq!(json["settings"]["runtime"], "process");
    let containers = json["containers"].as_array().unwrap();
    let cpus: Vec<u64> = containers
        .iter()
        .map(|c| c["cpu"].as_u64().unwrap())
        .collect();
    assert_eq!(cpus, vec![0, 1]);
    for c in containers {
        assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
        assert_eq!(c["status"], "ok");
    }
    assert!(json["start_skew_ms"].as_f64().is_some());
    assert!(json["scaling_efficiency_pct"].as_f64().is_some());
    // No worker process outlives the run.
    let ps = Command::new("pgrep")
        .args(["-f", &format!("worker .*{corpus}")])
        .output()
        .unwrap();
    assert!(
        ps.stdout.is_empty(),
        "left running: {}",
        String::from_utf8_lossy(&ps.stdout)
    );
}

/// The container as the Engine API describes it: pinned, limited and locked down.
fn assert_hardened(name: &str) {
    let out = Command::new("docker")
        .args(["inspect", name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let inspect: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &inspect[0];
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
            .contains("no-new-privileges"),
        "{}",
        host["SecurityOpt"]
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
        !user.is_empty() && !user.starts_with("0:") && user != "0" && user != "root",
        "user {user:?}"
    );
    let mounts = c["Mounts"].as_array().unwrap();
    let data = mounts
        .iter()
        .find(|m| m["Destination"] == "/data/0")
        .expect("data mount");
    assert_eq!(data["RW"], false, "data mounted read-only");
    let barrier = mounts
        .iter()
        .find(|m| m["Destination"] == "/barrier")
        .expect("barrier mount");
    assert_eq!(barrier["RW"], true);
    assert!(c["Config"]["Labels"]["distributed-benchmark.run"].is_string());
}

/// Runs 2 containers against a fake baseline (no solo run) with one worker misbehaving.
fn run_with_fault(fault: &str, extra: &[&str]) -> (Output, tempfile::TempDir) {
    let out_dir = tempfile::tempdir().unwrap();
    let baseline = out_dir.path().join("baseline.json");
    write_fake_baseline(&baseline);
    let mut args = vec![
        "--containers",
        "2",
        "--data-dir",
        corpus().to_str().unwrap(),
        "--baseline",
        baseline.to_str().unwrap(),
        "--inject-fault",
        fault,
    ];
    args.extend_from_slice(extra);
    let out = run_quick(&args, out_dir.path());
    (out, out_dir)
}

#[test]
fn a_worker_that_never_becomes_ready_is_named_and_nothing_is_left() {
    let _lock = docker_lock();
    let (out, out_dir) = run_with_fault("never-ready@2", &["--ready-timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "failed");
    let problems = json["problems"].to_string();
    assert!(problems.contains("never became ready"), "{problems}");
    assert!(problems.contains("distributed-benchmark-2"), "{problems}");
    let containers = json["containers"].as_array().unwrap();
    assert_eq!(containers[1]["status"], "never became ready");
    assert!(
        containers[0]["status"]
            .as_str()
            .unwrap()
            .starts_with("not measured"),
        "{}",
        containers[0]
    );
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn a_worker_that_stops_writing_is_given_up_and_the_others_are_saved() {
    let _lock = docker_lock();
    let (out, out_dir) = run_with_fault("stall@2", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "container_failed");
    let containers = json["containers"].as_array().unwrap();
    assert_eq!(containers[0]["status"], "ok");
    assert!(containers[0]["pages"].as_u64().unwrap() > 0);
    assert!(
        containers[1]["status"]
            .as_str()
            .unwrap()
            .starts_with("stalled"),
        "{}",
        containers[1]
    );
    assert!(json["problems"].to_string().contains("stopped writing"));
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

#[test]
fn scaling_study_writes_every_file_and_gates_with_exit_5() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let corpus = corpus().to_str().unwrap();
    let study = [
        "--scaling-test",
        "--max-containers",
        "2",
        "--duration",
        "2",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
        "--data-dir",
        corpus,
        "--save-baseline",
        "e2e",
    ];
    let out = run(&study, out_dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Efficiency"), "{}", text(&out));
    assert!(stdout.contains("ideal"), "the ASCII chart: {}", text(&out));
    for file in [
        "scaling_analysis.csv",
        "scaling.svg",
        "report.md",
        "scaling_study.json",
        "baseline-e2e.json",
    ] {
        assert!(out_dir.path().join(file).exists(), "{file} missing");
    }
    let csv = std::fs::read_to_string(out_dir.path().join("scaling_analysis.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "header + one row per step:\n{csv}");
    assert!(
        rows[0].contains("ci95_low") && rows[0].contains("efficiency_pct"),
        "{csv}"
    );
    let study_json: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.path().join("scaling_study.json")).unwrap(),
    )
    .unwrap();
    let steps = study_json["steps"].as_array().unwrap();
    assert_eq!(
        steps
            .iter()
            .map(|s| s["containers"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(steps[1]["efficiency_pct"].as_f64().unwrap() > 0.0);
    // The efficiency interval divides by the single container's interval: there is one
    // when that interval stays above zero (with 2 s windows on a loaded machine, 2
    // samples may not), and none otherwise.
    let baseline_low = steps[0]["ci95_low"].as_f64().unwrap();
    assert_eq!(
        steps[1]["efficiency_ci95"].is_array(),
        baseline_low > 0.0,
        "{}\n{}",
        steps[0],
        steps[1]
    );
    let svg = std::fs::read_to_string(out_dir.path().join("scaling.svg")).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert_eq!(
        containers_with("distributed-benchmark"),
        Vec::<String>::new()
    );

    // An impossible threshold: the gate fails with its documented code.
    let gated = [
        "--scaling-test",
        "--max-containers",
        "1",
        "--duration",
        "2",
        "--warmup-time",
        "1",
        "--countdown",
        "1",
        "--data-dir",
        corpus,
        "--fail-below",
        "1000",
    ];
    let out = run(&gated, out_dir.path());
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("gate failed"),
        "{}",
        text(&out)
    );
}

#[test]
fn sigterm_during_warm_up_removes_everything_and_exits_130() {
    let _lock = docker_lock();
    let out_dir = tempfile::tempdir().unwrap();
    let corpus = corpus().to_str().unwrap();
    let args = [
        "--containers",
        "1",
        "--duration",
        "5",
        "--warmup-time",
        "30",
        "--data-dir",
        corpus,
    ];
    let (out, took) = signal_after(&args, out_dir.path(), "-TERM", Duration::from_secs(2));
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(took < Duration::from_secs(20), "stopped promptly");
    let json = results_json(out_dir.path());
    assert_eq!(json["status"], "interrupted");
    assert_nothing_left(json["run_id"].as_str().unwrap());
}

/// Starts a run, waits until its first container exists and then `delay` more, sends
/// `signal`, and returns the output and how long the run took to end after the signal.
fn signal_after(
    args: &[&str],
    out_dir: &Path,
    signal: &str,
    delay: Duration,
) -> (Output, Duration) {
    let child = Command::new(BIN)
        .args(args)
        .arg("--output-dir")
        .arg(out_dir)
        .arg("--plain")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(|| {
        containers_with("distributed-benchmark.index=1")
            .into_iter()
            .next()
    });
    std::thread::sleep(delay);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    (out, sent.elapsed())
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

    let out = run_quick(
        &[
            "--containers",
            "1",
            "--data-dir",
            data.path().to_str().unwrap(),
        ],
        out_dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = results_json(out_dir.path());
    let c = &json["containers"][0];
    assert!(c["pages"].as_u64().unwrap() > 0, "{c}");
    assert!(c["by_reason"]["not_pdf"].as_u64().unwrap() > 0, "{c}");
    assert!(c["by_reason"]["io"].as_u64().unwrap() > 0, "{c}");
    let reported: Vec<&str> = c["file_errors"]
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
