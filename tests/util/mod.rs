//! What the end-to-end tests share: the binary, a lock for the Docker tests, a small
//! corpus, runs followed line by line, and checks on what a run leaves behind.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_distributed-benchmark");

/// How long a phase line may take to appear (an image build on a loaded machine is slow).
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a run may take to end after a signal (or its window) before it counts as hung.
pub const END_TIMEOUT: Duration = Duration::from_secs(90);

/// Docker tests run one at a time: they pin containers to the same cores, and one test's
/// containers must not be mistaken for another's. When a test that held the lock ends
/// without failing, no container of ours may be left on any engine the tests use: a leak
/// fails the test that caused it (what it left is removed, so that the next test starts
/// clean), not whichever test comes next. Containers of ours that were already there when
/// the lock was taken (left by something outside the tests, or by a run of the tool still
/// going on this machine) are not this test's doing: they are named on stderr and left.
pub fn docker_lock() -> DockerLock {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let before = engines_of_the_tests()
        .into_iter()
        .map(|url| {
            let ids = ours_on(url.as_deref());
            if !ids.is_empty() {
                eprintln!(
                    "note: {} container(s) of ours were already on {} before this test: {}",
                    ids.len(),
                    engine_name(url.as_deref()),
                    ids.join(" ")
                );
            }
            (url, ids)
        })
        .collect();
    DockerLock {
        _guard: guard,
        before,
    }
}

pub struct DockerLock {
    _guard: MutexGuard<'static, ()>,
    /// Per engine (`None`: the default one), the ids of our containers at the start.
    before: Vec<(Option<String>, Vec<String>)>,
}

/// The default engine, and the second host's when the tests know its address yet.
fn engines_of_the_tests() -> Vec<Option<String>> {
    let second = SECOND_HOST
        .get()
        .map(|s| s.unix.clone())
        .or_else(|| std::env::var("DB_SECOND_HOST_UNIX").ok());
    std::iter::once(None).chain(second.map(Some)).collect()
}

fn engine_name(url: Option<&str>) -> String {
    url.map_or_else(|| "the default engine".into(), String::from)
}

fn docker_on(url: Option<&str>) -> Vec<&str> {
    url.map_or_else(Vec::new, |url| vec!["-H", url])
}

/// Ids of the containers of ours (running or not) on the engine at `url`.
fn ours_on(url: Option<&str>) -> Vec<String> {
    let mut args = docker_on(url);
    args.extend([
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        "label=distributed-benchmark",
    ]);
    docker_lines(&args)
}

impl Drop for DockerLock {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let mut left = Vec::new();
        for url in engines_of_the_tests() {
            let before = self
                .before
                .iter()
                .find(|(u, _)| *u == url)
                .map(|(_, ids)| ids.as_slice())
                .unwrap_or_default();
            let new: Vec<String> = ours_on(url.as_deref())
                .into_iter()
                .filter(|id| !before.contains(id))
                .collect();
            if new.is_empty() {
                continue;
            }
            left.push(format!(
                "{} container(s) on {}",
                new.len(),
                engine_name(url.as_deref())
            ));
            let mut rm = docker_on(url.as_deref());
            rm.extend(["rm", "-f"]);
            rm.extend(new.iter().map(String::as_str));
            let _ = Command::new("docker").args(&rm).output();
        }
        assert!(
            left.is_empty(),
            "this test left containers of ours behind: {}",
            left.join(", ")
        );
    }
}

/// A small corpus made once by the tool itself (`sample --small`), under cargo's folder for
/// integration tests (it outlives the test binary; a fresh clone starts without it).
pub fn corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-corpus");
        let out = Command::new(BIN)
            .args(["sample", "--small"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        dir
    })
}

pub fn corpus_str() -> &'static str {
    corpus().to_str().unwrap()
}

/// Short phases: warm-up 1 s, countdown 1 s.
pub const QUICK: &[&str] = &["--warmup-time", "1", "--countdown", "1", "--plain"];

/// The quick phases, less those `args` sets itself.
pub fn quick_unless_given(args: &[&str]) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < QUICK.len() {
        let flag = QUICK[i];
        let takes_value = QUICK.get(i + 1).is_some_and(|v| !v.starts_with("--"));
        if !args.contains(&flag) {
            out.push(flag);
            if takes_value {
                out.push(QUICK[i + 1]);
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    out
}

/// Runs the binary to its end with `args`, the quick phases and `--output-dir out_dir`.
pub fn run(args: &[&str], out_dir: &Path) -> Output {
    Command::new(BIN)
        .args(quick_unless_given(args))
        .args(args)
        .arg("--output-dir")
        .arg(out_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn results_files(out_dir: &Path) -> Vec<PathBuf> {
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

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The only results file of a run.
pub fn the_results(out_dir: &Path) -> Value {
    let files = results_files(out_dir);
    assert_eq!(files.len(), 1, "one results file: {files:?}");
    read_json(&files[0])
}

/// The lines the docker CLI prints for `args`.
fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// Names of containers (running or not) carrying `label`, on the default engine.
pub fn containers_with(label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    docker_lines(&["ps", "-a", "--format", "{{.Names}}", "--filter", &filter])
}

/// No container of run `run_id` exists, running or not.
pub fn assert_nothing_left(run_id: &str) {
    assert_eq!(
        containers_with(&format!("distributed-benchmark.run={run_id}")),
        Vec::<String>::new(),
        "containers of run {run_id} left behind"
    );
}

/// No temporary file of an atomic write is left in the output folder.
pub fn assert_no_temporary_files(out_dir: &Path) {
    let temps: Vec<PathBuf> = files_under(out_dir)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp"))
        .collect();
    assert_eq!(temps, Vec::<PathBuf>::new(), "temporary files left");
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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

/// Local worker processes of this binary still running whose settings name `marker`.
pub fn workers_running(marker: &str) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-a", "-f", &format!("worker --settings .*{marker}")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

pub fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    let give_up = Instant::now() + PHASE_TIMEOUT;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < give_up, "timed out waiting");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One run of the binary, followed line by line on stderr.
pub struct Run {
    pub child: Child,
    lines: Receiver<String>,
    /// Every stderr line received so far.
    pub seen: Vec<String>,
    stdout: JoinHandle<String>,
    pub out_dir: tempfile::TempDir,
    pub corpus: PathBuf,
    signalled_at: Option<Instant>,
}

/// How a run ended.
pub struct Ended {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the first signal to the exit.
    pub after_signal: Duration,
    pub out_dir: tempfile::TempDir,
}

impl Ended {
    pub fn out(&self) -> &Path {
        self.out_dir.path()
    }
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
    /// Runs the binary on the small corpus (unless `args` names one) with the quick
    /// phases (later flags win) and `--plain` output.
    pub fn start(args: &[&str]) -> Run {
        Run::start_with(args, &[])
    }

    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Run {
        let out_dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(BIN);
        command.args(quick_unless_given(args));
        if !args.contains(&"--data-dir") {
            command.arg("--data-dir").arg(corpus());
        }
        let mut child = command
            .args(args)
            .arg("--output-dir")
            .arg(out_dir.path())
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
            out_dir,
            corpus: corpus().to_path_buf(),
            signalled_at: None,
        }
    }

    /// Waits for a stderr line containing `needle` (after the lines already consumed).
    pub fn wait_for_line(&mut self, needle: &str) {
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
    pub fn signal(&mut self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} {pid}");
        self.signalled_at.get_or_insert_with(Instant::now);
    }

    /// Waits for the exit (a run that does not end within [`END_TIMEOUT`] of the signal,
    /// or of this call, is killed and the test fails: a hang is a bug).
    pub fn end(mut self) -> Ended {
        let give_up = Instant::now() + END_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= give_up {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "still running {END_TIMEOUT:?} later; stderr:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let after_signal = self.signalled_at.map_or(Duration::ZERO, |at| at.elapsed());
        self.seen.extend(self.lines.iter());
        Ended {
            code: status.code(),
            stdout: self.stdout.join().unwrap(),
            stderr: self.seen.join("\n"),
            after_signal,
            out_dir: self.out_dir,
        }
    }
}

/// A minimal earlier results file holding a single-container figure of 100 pages/sec, so
/// a test can do without solo slots.
pub fn write_fake_baseline(path: &Path) {
    let json = serde_json::json!({
        "run_id": "baseline",
        "baseline": {"pages_per_sec": 100.0, "ci95": [95.0, 105.0]},
    });
    std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

/// A one-page PDF whose content stream inflates to `mb` MiB of spaces: small on disk,
/// large in memory once extracted.
pub fn write_inflating_pdf(path: &Path, mb: usize) {
    use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref};
    let mut content = b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET\n".to_vec();
    content.resize(content.len() + mb * 1024 * 1024, b' ');
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(&content, 9);
    let (catalog, tree, page, font, stream) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, 612.0, 792.0))
        .parent(tree)
        .contents(stream);
    p.resources().fonts().pair(Name(b"F1"), font);
    p.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));
    pdf.stream(stream, &packed).filter(Filter::FlateDecode);
    std::fs::write(path, pdf.finish()).unwrap();
}

/// The container as the Engine API describes it.
pub fn inspect(name: &str) -> Value {
    let out = Command::new("docker")
        .args(["inspect", name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let inspect: Value = serde_json::from_slice(&out.stdout).unwrap();
    inspect[0].clone()
}

/// The second Docker daemon of the tests (scripts/second-host.sh): its addresses, read
/// from the environment `.ci/run` sets, or from the script, which starts it when it does
/// not run yet (it is then stopped when the tests end).
pub struct SecondHost {
    pub unix: String,
    pub tcp: String,
    pub tls: String,
    pub certs: String,
    /// `ssh://USER@second-host`, an alias that only the `ssh` in `ssh_path` knows.
    pub ssh: String,
    /// A folder to put first in PATH: its `ssh` reads the script's ssh configuration.
    pub ssh_path: String,
}

impl SecondHost {
    /// The addresses from `get` (a variable's value by its name), when it has them all.
    fn from(get: impl Fn(&str) -> Option<String>) -> Option<SecondHost> {
        Some(SecondHost {
            unix: get("DB_SECOND_HOST_UNIX")?,
            tcp: get("DB_SECOND_HOST_TCP")?,
            tls: get("DB_SECOND_HOST_TLS")?,
            certs: get("DB_SECOND_HOST_CERTS")?,
            ssh: get("DB_SECOND_HOST_SSH")?,
            ssh_path: get("DB_SECOND_HOST_SSH_PATH")?,
        })
    }
}

static SECOND_HOST: OnceLock<SecondHost> = OnceLock::new();

pub fn second_host() -> &'static SecondHost {
    SECOND_HOST.get_or_init(|| {
        if let Some(set) = SecondHost::from(|k| std::env::var(k).ok()) {
            return set;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/second-host.sh");
        let already = Command::new(script).arg("env").output().unwrap();
        let running = String::from_utf8_lossy(&already.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("DB_SECOND_HOST_UNIX="))
            .is_some_and(|url| {
                Command::new("docker")
                    .args(["-H", url, "version"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
        let out = Command::new(script).arg("start").output().unwrap();
        assert!(
            out.status.success(),
            "starting the second host: {}",
            text(&out)
        );
        if !running {
            extern "C" fn stop() {
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/second-host.sh");
                let _ = Command::new(script).arg("stop").status();
            }
            // SAFETY: registers a plain function with no captured state, run once at exit.
            #[allow(unsafe_code)]
            unsafe {
                libc::atexit(stop);
            }
        }
        let env = String::from_utf8_lossy(&out.stdout).to_string();
        SecondHost::from(|k| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(String::from)
        })
        .unwrap_or_else(|| panic!("an address is missing from the script's output:\n{env}"))
    })
}

/// Names of containers carrying `label` on the engine at `url`.
pub fn containers_on(url: &str, label: &str) -> Vec<String> {
    let filter = format!("label={label}");
    docker_lines(&[
        "-H",
        url,
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &filter,
    ])
}

/// Names of volumes carrying our label on the engine at `url`.
pub fn volumes_on(url: &str) -> Vec<String> {
    let filter = "label=distributed-benchmark";
    docker_lines(&[
        "-H",
        url,
        "volume",
        "ls",
        "--format",
        "{{.Name}}",
        "--filter",
        filter,
    ])
}

/// A hosts file: the system engine with CPU 0, and `second` (at `url`) with CPU 1.
pub fn two_hosts_file(dir: &Path, url: &str, extra_second: &str) -> PathBuf {
    let path = dir.join("hosts.yaml");
    std::fs::write(
        &path,
        format!(
            "hosts:\n  - name: local\n    url: unix:///var/run/docker.sock\n    cpus: \"0\"\n  \
             - name: second\n    url: {url}\n    cpus: \"1\"\n{extra_second}"
        ),
    )
    .unwrap();
    path
}
