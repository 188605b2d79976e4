#!/usr/bin/env python3
"""Soak test: a long run with a container on every core, watched from outside.

Usage: scripts/soak.py [--minutes 30] [--data-dir DIR] [--binary PATH] [--every 30]

Starts `distributed-benchmark --containers <cores>` for the given time and, every
--every seconds, records the orchestrator's CPU use (from /proc/PID/stat), each worker
process's own memory (RssAnon from /proc/PID/status: its heap and stacks, what a leak
would grow) and each container's memory as `docker stats` shows it (which also counts the
page cache of the corpus the container has read, so it rises as files are cached). At
the end it prints one line per sample and a summary: the orchestrator's mean CPU in % of
one core, and each worker's memory at the first and last sample and its maximum, so a
leak shows as a rising column. It is not part of the test suite (it takes half an hour);
its figures go into the issue notes.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def container_memory():
    """{name: bytes} for our running containers."""
    out = subprocess.run(
        ["docker", "stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"],
        capture_output=True, text=True, check=False).stdout
    names = subprocess.run(
        ["docker", "ps", "--filter", "label=distributed-benchmark", "--format", "{{.Names}}"],
        capture_output=True, text=True, check=False).stdout.split()
    usage = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names:
            usage[parts[0]] = parse_size(parts[1])
    return usage


def worker_memory():
    """{pid: RssAnon bytes} of the worker processes (containers' processes are visible
    from the host)."""
    pids = subprocess.run(["pgrep", "-f", "distributed-benchmark worker"],
                          capture_output=True, text=True, check=False).stdout.split()
    usage = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        usage[int(pid)] = int(line.split()[1]) * 1024
        except OSError:
            pass
    return usage


def parse_size(text):
    units = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "corpus", "realworld"))
    parser.add_argument("--binary", default=os.path.join(REPO, "target", "x86_64-unknown-linux-gnu", "release", "distributed-benchmark"))
    parser.add_argument("--every", type=float, default=30)
    parser.add_argument("--output-dir", default="soak_output")
    args = parser.parse_args()

    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: build it first with `cargo build --release`")
    cores = os.cpu_count()
    cmd = [args.binary, "--containers", str(cores), "--duration", str(args.minutes * 60),
           "--warmup-time", "10", "--data-dir", args.data_dir, "--output-dir", args.output_dir,
           "--plain"]
    print("running:", " ".join(cmd), flush=True)
    os.makedirs(args.output_dir, exist_ok=True)
    log = open(os.path.join(args.output_dir, "soak.log"), "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    samples = []
    last_cpu, last_t = cpu_seconds(proc.pid), time.monotonic()
    while proc.poll() is None:
        time.sleep(args.every)
        if proc.poll() is not None:
            break
        now_cpu, now_t = cpu_seconds(proc.pid), time.monotonic()
        cpu_pct = 100 * (now_cpu - last_cpu) / (now_t - last_t)
        last_cpu, last_t = now_cpu, now_t
        mem = container_memory()
        anon = worker_memory()
        samples.append((now_t, cpu_pct, mem, anon))
        mems = " ".join(f"{n}={m / 2**20:.1f}MiB" for n, m in sorted(mem.items()))
        anons = " ".join(f"pid{p}={m / 2**20:.1f}MiB" for p, m in sorted(anon.items()))
        print(f"t={len(samples) * args.every:6.0f}s orchestrator_cpu={cpu_pct:5.2f}% "
              f"worker_rss_anon: {anons} docker_stats: {mems}", flush=True)
    print(f"exit code {proc.returncode}")
    if not samples:
        sys.exit("no samples taken")
    cpus = [c for _, c, _, _ in samples]
    print(f"orchestrator CPU: mean {sum(cpus) / len(cpus):.2f}% of one core, max {max(cpus):.2f}%")
    for label, index in (("worker RssAnon", 3), ("docker stats", 2)):
        keys = sorted({k for s in samples for k in s[index]})
        for key in keys:
            series = [s[index][key] / 2**20 for s in samples if key in s[index]]
            print(f"{label} {key}: first {series[0]:.1f} MiB, last {series[-1]:.1f} MiB, "
                  f"max {max(series):.1f} MiB over {len(series)} samples")


if __name__ == "__main__":
    main()
