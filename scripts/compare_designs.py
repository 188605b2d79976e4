#!/usr/bin/env python3
"""Which measurement design gives the narrower honest interval in the same wall time?

Runs distributed-benchmark with each design K times, the designs alternating (A B C A B C
...), so that drift of the machine does not favour one; reads every results file and
prints, per design:

  - the point estimates of the efficiency and their spread across runs;
  - the median width of the 95% intervals the runs claimed;
  - how many of the intervals hold the median of all the runs' point estimates
    (of every design: the efficiency of these N containers on this machine is one
    number, whatever measures it);
  - honesty: the spread of the point estimates across runs against the spread the
    intervals claim (half-width / t). An honest interval has a ratio near 1 or below;
    a ratio well above 1 means the intervals are too narrow.

Usage:
  scripts/compare_designs.py --runs 5 --duration 60 --design paired \\
      --design "paired --slot 0.5" --design sequential -- --containers 2
Everything after -- is passed to every run.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "x86_64-unknown-linux-gnu",
                   "release", "distributed-benchmark")

# Two-sided 95% t for df 1..30 (then ~1.96).
T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
       2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
       2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t95(df):
    return T95[df - 1] if 1 <= df <= len(T95) else 1.96


def run_once(design, duration, extra, out_dir):
    args = [BIN, "--duration", str(duration), "--plain", "--output-dir", out_dir]
    args += ["--schedule"] + design.split()
    args += extra
    proc = subprocess.run(args, capture_output=True, text=True)
    files = sorted(glob.glob(os.path.join(out_dir, "results_*.json")), key=os.path.getmtime)
    if proc.returncode != 0 or not files:
        sys.stderr.write(proc.stderr[-2000:])
        raise SystemExit(f"run failed ({proc.returncode}): {' '.join(args)}")
    with open(files[-1]) as f:
        r = json.load(f)
    step = [s for s in r["steps"] if s["containers"] > 1][-1]
    ci = step["efficiency_ci95_pct"]
    return {
        "eff": step["efficiency_pct"],
        "ci": ci,
        "batches": step["batches"],
        "label": step["efficiency_label"],
        "verdict": step["efficiency_verdict"],
        "others": [u["others_pct"] for u in r["host_usage"]],
        "file": files[-1],
    }


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--design", action="append", required=True,
                   help='a --schedule value, with its own flags: "paired --slot 0.5"')
    p.add_argument("--out", default=None, help="keep the results here")
    a = p.parse_args(argv)
    out = a.out or tempfile.mkdtemp(prefix="designs-")
    results = {d: [] for d in a.design}
    for k in range(a.runs):
        for d in a.design:
            folder = os.path.join(out, d.replace(" ", "_").replace("-", ""), str(k))
            os.makedirs(folder, exist_ok=True)
            r = run_once(d, a.duration, extra, folder)
            results[d].append(r)
            lo, hi = r["ci"] or (float("nan"), float("nan"))
            print(f"run {k + 1} {d:<22} {r['eff']:6.1f}% [{lo:6.1f}, {hi:6.1f}] "
                  f"others {', '.join(f'{o:.0f}%' for o in r['others'])}", flush=True)
    pooled = statistics.median(r["eff"] for rs in results.values() for r in rs)
    print(f"\nmedian of every point estimate: {pooled:.1f}%")
    print(f"{'design':<22} {'median':>7} {'sd':>6} {'median width':>13} {'hold median':>12} "
          f"{'sd / claimed se':>16}")
    for d, rs in results.items():
        effs = [r["eff"] for r in rs]
        widths = [r["ci"][1] - r["ci"][0] for r in rs if r["ci"]]
        held = sum(1 for r in rs if r["ci"] and r["ci"][0] <= pooled <= r["ci"][1])
        claimed_se = statistics.median(
            (r["ci"][1] - r["ci"][0]) / 2 / t95(max(r["batches"] - 1, 1)) for r in rs if r["ci"])
        sd = statistics.stdev(effs) if len(effs) > 1 else float("nan")
        print(f"{d:<22} {statistics.median(effs):6.1f}% {sd:6.1f} {statistics.median(widths):12.1f}"
              f"  {held:>4} of {len(rs):<4} {sd / claimed_se:15.2f}")
    print(f"\nresults kept in {out}")


if __name__ == "__main__":
    main()
