//! Several hosts, for real: the system Docker daemon and a second, independent daemon on
//! this machine (scripts/second-host.sh), reached over its unix socket, over TCP on
//! 127.0.0.1, over TLS with certificates the script made, and over SSH through an sshd
//! of the script's. One core on each.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

const SYSTEM: &str = "unix:///var/run/docker.sock";

/// No container or volume of `run_id` on either host.
fn assert_nothing_left_on_both(run_id: &str) {
    let label = format!("distributed-benchmark.run={run_id}");
    let second = second_host();
    assert_eq!(
        containers_on(SYSTEM, &label),
        Vec::<String>::new(),
        "on the system daemon"
    );
    assert_eq!(
        containers_on(&second.unix, &label),
        Vec::<String>::new(),
        "on the second daemon"
    );
    for url in [SYSTEM, second.unix.as_str()] {
        let left: Vec<String> = volumes_on(url)
            .into_iter()
            .filter(|v| v.contains(run_id))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "volumes on {url}");
    }
}

/// A 30 s run of two containers over `hosts`, followed until it measures.
fn measuring_on_two_hosts(hosts: &std::path::Path) -> Run {
    let mut run = Run::start(&[
        "--hosts",
        hosts.to_str().unwrap(),
        "--containers",
        "2",
        "--duration",
        "30",
    ]);
    run.wait_for_line("[4/4] Measuring");
    run
}

/// The run ended with exit 4: the second host's worker failed, the first host's was
/// kept and saved. Returns the results.
fn second_failed_first_kept(ended: &Ended) -> Value {
    assert_eq!(ended.code, Some(4), "{ended}");
    let json = the_results(ended.out());
    assert_eq!(json["status"], "worker_failed", "{ended}");
    let workers = json["workers"].as_array().unwrap();
    assert_eq!(
        (workers[0]["host"].as_str(), workers[0]["status"].as_str()),
        (Some("local"), Some("ok")),
        "{ended}"
    );
    assert_eq!(workers[1]["host"], "second");
    assert_ne!(workers[1]["status"], "ok");
    assert!(
        !workers[0]["slots"].as_array().unwrap().is_empty(),
        "the first host's results are kept"
    );
    assert_eq!(json["scaling_efficiency_pct"], Value::Null);
    json
}

/// Every worker ended ok and extracted pages in some slot.
fn every_worker_extracted(json: &Value) {
    for w in json["workers"].as_array().unwrap() {
        assert_eq!(w["status"], "ok", "{w}");
        assert!(
            w["slots"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["pages"].as_u64().unwrap() > 0),
            "{w}"
        );
    }
}

fn host<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap_or_else(|| panic!("no host {name}: {}", json["hosts"]))
}

/// Issue 10's "done when": across the system daemon and a second daemon reached over TCP,
/// one core on each: per-host and total figures, the offsets, the start skew; nothing of
/// the run left on either host but the image.
#[test]
fn a_run_across_two_hosts_reports_each_and_the_total() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let hosts = two_hosts_file(dir.path(), &second_host().tcp, "");
    let out = run(
        &[
            "--hosts",
            hosts.to_str().unwrap(),
            "--containers",
            "2",
            "--duration",
            "6",
            "--data-dir",
            corpus_str(),
        ],
        dir.path(),
    );
    // The second host cannot see this machine's folder as its own unless shipped: here
    // it can (it is the same machine), so the folder is mounted on both.
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(dir.path());
    let containers = json["containers"].as_array().unwrap();
    let placed: Vec<(String, u64)> = containers
        .iter()
        .map(|c| {
            (
                c["host"].as_str().unwrap().to_string(),
                c["cpu"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placed,
        [("local".to_string(), 0), ("second".to_string(), 1)]
    );
    for name in ["local", "second"] {
        let h = host(&json, name);
        assert_eq!(h["containers"], 1, "{h}");
        assert!(h["total_pages_per_sec"].as_f64().unwrap() > 0.0, "{h}");
        assert!(
            h["clock_offset_ms"].as_f64().is_some() && h["clock_uncertainty_ms"].as_f64().is_some(),
            "{h}"
        );
        assert!(h["engine"]["version"].is_string(), "{h}");
        assert!(
            h["cores"].as_u64().unwrap() >= 2,
            "read through the engine: {h}"
        );
    }
    assert_eq!(host(&json, "second")["url"], second_host().tcp.as_str());
    let total = json["total_pages_per_sec"].as_f64().unwrap();
    let sum = host(&json, "local")["total_pages_per_sec"]
        .as_f64()
        .unwrap()
        + host(&json, "second")["total_pages_per_sec"]
            .as_f64()
            .unwrap();
    assert!((total - sum).abs() < 1e-6 * total, "{total} {sum}");
    let skew = json["start_skew_ms"].as_f64().unwrap();
    assert!(skew < 50.0, "windows opened {skew} ms apart across hosts");
    assert_eq!(json["steps"][1]["per_host"].as_array().unwrap().len(), 2);
    assert!(json["scaling_efficiency_ci95_pct"].is_array());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Host local:") && stdout.contains("Host second:"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("scaling_analysis.csv")).unwrap();
    assert!(
        csv.lines().any(|l| l.contains(",second,")),
        "per-host rows:\n{csv}"
    );
    assert_nothing_left_on_both(json["run_id"].as_str().unwrap());
}

/// `--ship-corpus`: no folder is shared; the corpus is uploaded to each host into a volume
/// of the run, which is gone afterwards. The second host is reached over TLS.
#[test]
fn ship_corpus_works_with_no_path_shared_over_tls() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let second = second_host();
    let https = second.tls.replacen("tcp://", "https://", 1);
    let hosts = two_hosts_file(dir.path(), &https, "");
    let out = Command::new(BIN)
        .args(QUICK)
        .args([
            "--hosts",
            hosts.to_str().unwrap(),
            "--containers",
            "2",
            "--duration",
            "4",
            "--ship-corpus",
            "--data-dir",
            corpus_str(),
            "--output-dir",
        ])
        .arg(dir.path())
        .env("DOCKER_CERT_PATH", &second.certs)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Shipped to local into volume")
            && stderr.contains("Shipped to second into volume"),
        "{stderr}"
    );
    let json = the_results(dir.path());
    for name in ["local", "second"] {
        assert_eq!(
            host(&json, name)["data"],
            "shipped into a volume of the run"
        );
    }
    every_worker_extracted(&json);
    assert_nothing_left_on_both(json["run_id"].as_str().unwrap());
}

/// The second host over SSH: bollard runs `ssh USER@second-host docker system dial-stdio`,
/// through a real sshd (scripts/second-host.sh) whose sessions talk to the second daemon.
/// The alias and the key come from an ssh configuration of the script's, read by the
/// `ssh` first in PATH, as a user's ~/.ssh/config would be. No --data-dir: the built-in
/// sample corpus is shipped to the remote host. An ssh:// address with a port is refused
/// before anything starts (bollard's SSH transport would drop the port).
#[test]
fn a_run_over_ssh_reaches_the_second_host() {
    let _lock = docker_lock();
    let second = second_host();
    let path = format!(
        "{}:{}",
        second.ssh_path,
        std::env::var("PATH").unwrap_or_default()
    );
    let over_ssh = |hosts: &std::path::Path, out: &std::path::Path| {
        Command::new(BIN)
            .args(QUICK)
            .args(["--hosts", hosts.to_str().unwrap()])
            .args(["--containers", "2", "--duration", "4", "--output-dir"])
            .arg(out)
            .env("PATH", &path)
            .output()
            .unwrap()
    };

    let dir = tempfile::tempdir().unwrap();
    let with_port = two_hosts_file(dir.path(), "ssh://root@127.0.0.1:23770", "");
    let refused = over_ssh(&with_port, dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("hosts[1]") && stderr.contains("~/.ssh/config"),
        "{stderr}"
    );
    assert!(results_files(dir.path()).is_empty());

    let hosts = two_hosts_file(dir.path(), &second.ssh, "");
    let out = over_ssh(&hosts, dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(dir.path());
    let second_host_json = host(&json, "second");
    assert_eq!(second_host_json["url"], second.ssh.as_str());
    assert_eq!(
        second_host_json["data"], "shipped into a volume of the run",
        "{second_host_json}"
    );
    let version = Command::new("docker")
        .args([
            "-H",
            &second.unix,
            "version",
            "--format",
            "{{.Server.Version}}",
        ])
        .output()
        .unwrap();
    assert_eq!(
        second_host_json["engine"]["version"].as_str(),
        Some(String::from_utf8_lossy(&version.stdout).trim()),
        "the engine reached over ssh is the second daemon"
    );
    every_worker_extracted(&json);
    assert_nothing_left_on_both(json["run_id"].as_str().unwrap());
    // bollard's transport starts ssh masters with ControlPersist=yes; they are ours to end
    // (`ssh -O exit` is answered before the master has gone: it is given 3 s).
    let masters = || {
        let found = Command::new("pgrep")
            .args(["-af", "ControlPersist=yes.*second-host"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&found.stdout).into_owned()
    };
    let give_up = std::time::Instant::now() + Duration::from_secs(3);
    while !masters().is_empty() && std::time::Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(masters(), "", "ssh masters left running");
}

#[test]
fn a_host_unreachable_at_start_is_named_and_nothing_starts_anywhere() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let hosts = two_hosts_file(dir.path(), "tcp://127.0.0.1:9", "");
    let before = containers_with("distributed-benchmark");
    let out = run(
        &[
            "--hosts",
            hosts.to_str().unwrap(),
            "--containers",
            "2",
            "--duration",
            "4",
            "--data-dir",
            corpus_str(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("host second") && stderr.contains("tcp://127.0.0.1:9"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hosts[1]"),
        "names where it was given: {stderr}"
    );
    assert_eq!(
        containers_with("distributed-benchmark"),
        before,
        "nothing started on local"
    );
    assert!(results_files(dir.path()).is_empty());
}

#[test]
fn a_container_killed_on_the_second_host_fails_the_run_and_the_first_is_saved() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let second = second_host();
    let hosts = two_hosts_file(dir.path(), &second.unix, "");
    let run = measuring_on_two_hosts(&hosts);
    let victim = wait_for(|| {
        containers_on(&second.unix, "distributed-benchmark.index=2")
            .into_iter()
            .next()
    });
    std::thread::sleep(Duration::from_secs(2));
    let kill = Command::new("docker")
        .args(["-H", &second.unix, "kill", &victim])
        .output()
        .unwrap();
    assert!(kill.status.success(), "{}", text(&kill));
    let json = second_failed_first_kept(&run.end());
    assert_nothing_left_on_both(json["run_id"].as_str().unwrap());
}

#[test]
fn ctrl_c_across_two_hosts_cleans_both() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let hosts = two_hosts_file(dir.path(), &second_host().tcp, "");
    let mut run = measuring_on_two_hosts(&hosts);
    std::thread::sleep(Duration::from_millis(1500));
    run.signal("INT");
    let ended = run.end();
    assert_eq!(ended.code, Some(130), "{ended}");
    let json = the_results(ended.out());
    assert_eq!(json["status"], "interrupted");
    assert_nothing_left_on_both(json["run_id"].as_str().unwrap());
}

#[test]
fn cleanup_cleans_every_host_given() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let second = second_host();
    let hosts = two_hosts_file(dir.path(), &second.unix, "");
    let out = run(
        &[
            "--hosts",
            hosts.to_str().unwrap(),
            "--containers",
            "2",
            "--duration",
            "2",
            "--no-cleanup",
            "--ship-corpus",
            "--data-dir",
            corpus_str(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let run_id = the_results(dir.path())["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    let label = format!("distributed-benchmark.run={run_id}");
    let kept_second = containers_on(&second.unix, &label);
    let kept_local = containers_on(SYSTEM, &label);
    assert_eq!(kept_second.len(), 1, "kept on the second host");
    assert_eq!(kept_local.len(), 1, "kept on the first");
    let volume = |url: &str| {
        volumes_on(url)
            .into_iter()
            .find(|v| v.contains(&run_id))
            .unwrap_or_else(|| panic!("the run's shipped volume on {url}"))
    };
    let (volume_local, volume_second) = (volume(SYSTEM), volume(&second.unix));
    let out = Command::new(BIN)
        .args(["cleanup", "--hosts", hosts.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Each host's line names what was removed there: this run's container and volume
    // (cleanup removes every run's, so anything else of ours found there is listed too).
    let line = |host: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{host}: removed ")))
            .unwrap_or_else(|| panic!("no line for {host}: {stdout}"))
            .to_string()
    };
    let (local, second_line) = (line("local"), line("second"));
    assert!(local.contains(&kept_local[0]), "{stdout}");
    assert!(
        local.contains(&format!("volume {volume_local}")),
        "{stdout}"
    );
    assert!(second_line.contains(&kept_second[0]), "{stdout}");
    assert!(
        second_line.contains(&format!("volume {volume_second}")),
        "{stdout}"
    );
    assert_nothing_left_on_both(&run_id);
}

/// A host whose clock is 5 ms ahead: the pings find the offset, and the windows still
/// open together in true time (the skew, corrected, stays small).
#[test]
fn a_clock_offset_is_measured_and_corrected() {
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let hosts = two_hosts_file(dir.path(), &second_host().tcp, "");
    let out = run(
        &[
            "--hosts",
            hosts.to_str().unwrap(),
            "--containers",
            "2",
            "--duration",
            "3",
            "--data-dir",
            corpus_str(),
            "--inject-clock-skew",
            "5000000@2",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let json = the_results(dir.path());
    let second = host(&json, "second");
    let offset = second["clock_offset_ms"].as_f64().unwrap();
    let uncertainty = second["clock_uncertainty_ms"].as_f64().unwrap();
    assert!(
        (offset - 5.0).abs() <= uncertainty + 0.5,
        "{offset} ± {uncertainty}"
    );
    let local = host(&json, "local")["clock_offset_ms"].as_f64().unwrap();
    assert!(local.abs() < 1.0, "{local}");
    let skew = json["start_skew_ms"].as_f64().unwrap();
    assert!(
        skew < 2.0,
        "corrected for the offset, the windows opened together: {skew} ms"
    );
    // The worker's own instants are in its clock, 5 ms ahead.
    let raw: Vec<i64> = json["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["window_start_unix_ns"].as_i64().unwrap())
        .collect();
    let apart_ms = (raw[1] - raw[0]) as f64 / 1e6;
    assert!((apart_ms - 5.0).abs() < 2.0, "{apart_ms}");
}

/// Issue 10: a host lost mid-run. The second host is reached through a TCP proxy of this
/// test's own, which is killed (with every connection it forwards) during the window: its
/// worker is marked failed, the first host's results are kept and saved, the run says
/// what it could not remove and exits 4; `cleanup` through the host's socket then removes
/// what was left there.
#[test]
fn a_host_lost_mid_run_fails_its_workers_and_the_others_are_saved() {
    use std::os::unix::process::CommandExt;
    let _lock = docker_lock();
    let dir = tempfile::tempdir().unwrap();
    let second = second_host();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let socket = second.unix.strip_prefix("unix://").unwrap();
    let mut proxy = Command::new("socat")
        .args([
            &format!("TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork"),
            &format!("UNIX-CONNECT:{socket}"),
        ])
        .process_group(0)
        .spawn()
        .unwrap();
    let url = format!("tcp://127.0.0.1:{port}");
    wait_for(|| {
        Command::new("docker")
            .args(["-H", &url, "version"])
            .output()
            .ok()
            .filter(|o| o.status.success())
    });
    let hosts = two_hosts_file(dir.path(), &url, "");
    let run = measuring_on_two_hosts(&hosts);
    std::thread::sleep(Duration::from_secs(2));
    // The proxy and the children it forked for each connection: its process group.
    let pgid = proxy.id() as i32;
    // SAFETY: kill(2) on a process group this test created; no memory is involved.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = proxy.wait();
    let json = second_failed_first_kept(&run.end());
    let problems = json["problems"].to_string();
    assert!(
        problems.contains("could not remove") && problems.contains(&url),
        "says what it could not remove, and how to: {problems}"
    );
    // Nothing of the run on the first host; on the second, what the lost connection left
    // is removed by `cleanup` through the host's own socket.
    let run_id = json["run_id"].as_str().unwrap().to_string();
    let label = format!("distributed-benchmark.run={run_id}");
    assert_eq!(containers_on(SYSTEM, &label), Vec::<String>::new());
    let out = Command::new(BIN)
        .args(["cleanup", "--host", &second.unix])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_nothing_left_on_both(&run_id);
}
