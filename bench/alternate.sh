#!/usr/bin/env bash
# Wall-clock pages/sec of two worker builds, measured alternately (A B A B ...) on one
# core, and the median of the per-round ratios A/B. On a noisy machine a ratio of two
# runs a few seconds apart is far steadier than either figure alone.
#
# Usage:
#   bench/alternate.sh [--corpus DIR] [--rounds N] [--duration S] [--cpu C] A_BIN B_BIN
#
# Each run is `taskset -c C BIN worker --data-dir CORPUS --duration S --warmup 1`;
# pages/sec is its `done` event's. Run it alone on the machine (here: under
# `flock -x /work/.quiet.lock`).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$repo/../shared/corpus/realworld"
rounds=5
duration=5
cpu=1
bins=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --cpu) cpu=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) bins+=("$1"); shift ;;
    esac
done
[[ ${#bins[@]} -eq 2 ]] || { echo "give two worker binaries, A and B (see --help)" >&2; exit 2; }

rate() { # binary -> pages/sec
    taskset -c "$cpu" "$1" worker --data-dir "$corpus" --duration "$duration" --warmup 1 |
        python3 -c 'import json,sys
for l in sys.stdin:
    try: e=json.loads(l)
    except ValueError: continue
    if e.get("type")=="done": print(e["pages_per_sec"])'
}

ratios=()
for ((r = 1; r <= rounds; r++)); do
    a=$(rate "${bins[0]}")
    b=$(rate "${bins[1]}")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$ratio")
    printf 'round %d: A %.1f pages/s, B %.1f pages/s, A/B %s\n' "$r" "$a" "$b" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median A/B over %d rounds: %.3f (min %.3f, max %.3f)\n", NR, m, v[1], v[NR] }'
