#!/usr/bin/env bash
# Instructions per page (cachegrind Ir) of the worker over one pass of a corpus: this
# build, and optionally another build or git revision, one after the other.
#
# Two figures per build: the whole process for --passes N (start, file discovery and the
# checks made once per file included), and one pass more (--passes N+1 minus --passes
# N): the work of a pass in the measured window, the primary figure.
#
# Usage:
#   bench/instructions.sh [--corpus DIR] [--passes N] [--keep DIR] [--no-build] [OTHER]
#
#   OTHER     a worker binary (a path), or a git revision (d877750, main, HEAD~3 ...):
#             the revision is checked out in a temporary worktree and built there with
#             `cargo build --release` (the build is kept under target/instructions/ by
#             commit id, so the next comparison against it does not build again).
#   --corpus  the PDFs (default: ../shared/corpus/realworld next to the repository)
#   --passes  N, passes over the corpus of the first run (default 1)
#   --keep    write the cachegrind.out files there (for cg_annotate), else they are dropped
#   --no-build  use this tree's release binary as it is
#
# The worker runs `worker --data-dir CORPUS --passes N` under
# `valgrind --tool=cachegrind --cache-sim=no`: a fixed amount of work, so the count is
# deterministic (process start and file discovery are included; they are small). Prints
# one line per build and, with OTHER, the ratio this/other.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus="$repo/../shared/corpus/realworld"
passes=1
keep=""
build=1
other=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --corpus) corpus=$2; shift 2 ;;
        --passes) passes=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) other=$1; shift ;;
    esac
done
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)" >&2; exit 2; }
[[ -d $corpus ]] || { echo "no corpus folder $corpus (give --corpus DIR)" >&2; exit 2; }
corpus=$(cd "$corpus" && pwd)

release_binary() { # the release binary under a target folder
    local target=$1
    for rel in x86_64-unknown-linux-gnu/release release; do
        if [[ -x $target/$rel/distributed-benchmark ]]; then
            echo "$target/$rel/distributed-benchmark"
            return
        fi
    done
    return 1
}

if [[ $build -eq 1 ]]; then
    echo "[build] this tree: cargo build --release" >&2
    (cd "$repo" && cargo build --release --quiet)
fi
this=$(release_binary "$repo/target") || { echo "no release binary in $repo/target" >&2; exit 2; }

other_bin=""
if [[ -n $other ]]; then
    if [[ -x $other && ! -d $other ]]; then
        other_bin=$(cd "$(dirname "$other")" && pwd)/$(basename "$other")
    else
        commit=$(git -C "$repo" rev-parse --verify --quiet "$other^{commit}") ||
            { echo "$other is neither an executable nor a git revision" >&2; exit 2; }
        cache="$repo/target/instructions/$commit"
        if ! other_bin=$(release_binary "$cache/target" 2>/dev/null); then
            tree=$(mktemp -d "${TMPDIR:-/tmp}/instructions-tree.XXXXXX")
            echo "[build] $other (${commit:0:12}) in a temporary worktree" >&2
            git -C "$repo" worktree add --detach --quiet "$tree" "$commit"
            mkdir -p "$cache"
            status=0
            (cd "$tree" && CARGO_TARGET_DIR="$cache/target" cargo build --release --quiet) || status=$?
            git -C "$repo" worktree remove --force "$tree"
            rm -rf "$tree"
            [[ $status -eq 0 ]] || { echo "building $other failed" >&2; exit 1; }
            other_bin=$(release_binary "$cache/target")
        fi
    fi
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/instructions.XXXXXX")
measure() { # name binary passes -> "Ir pages"
    local name=$1 bin=$2 passes=$3
    echo "[cachegrind] $name: $bin worker --passes $passes" >&2
    valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/cachegrind.out.$name" \
        "$bin" worker --data-dir "$corpus" --passes "$passes" >"$out/$name.events" 2>"$out/$name.stderr"
    local ir pages
    ir=$(sed -n 's/.*I *refs: *//p' "$out/$name.stderr" | tr -d ',' | tail -1)
    pages=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    try: e=json.loads(l)
    except ValueError: continue
    if e.get("type")=="done": print(e["pages"])' "$out/$name.events")
    [[ -n $ir && -n $pages && $pages -gt 0 ]] ||
        { echo "$name: no count (see $out/$name.stderr)" >&2; exit 1; }
    echo "$ir $pages"
}

declare -A ir pages
builds=(this)
[[ -n $other_bin ]] && builds+=(other)
for b in "${builds[@]}"; do
    bin=$this
    [[ $b == other ]] && bin=$other_bin
    # measure runs in a subshell: its exit does not end this script, so check what it gave.
    read -r ir[$b] pages[$b] <<<"$(measure "$b" "$bin" "$passes")"
    [[ -n ${ir[$b]} ]] || exit 1
    read -r ir[$b.more] pages[$b.more] <<<"$(measure "$b.more" "$bin" $((passes + 1)))"
    [[ -n ${ir[$b.more]} ]] || exit 1
done
printf '%-6s %16s %8s %12s   %14s %12s\n' build "Ir, $passes pass(es)" pages per_page "Ir, one more" per_page
for b in "${builds[@]}"; do
    more=$((ir[$b.more] - ir[$b]))
    pass_pages=$((pages[$b.more] - pages[$b]))
    printf '%-6s %16d %8d %12d   %14d %12d\n' "$b" "${ir[$b]}" "${pages[$b]}" \
        $((ir[$b] / pages[$b])) "$more" $((more / pass_pages))
done
if [[ -n $other_bin ]]; then
    awk -v a="${ir[this.more]}" -v b="${ir[this]}" -v c="${ir[other.more]}" -v d="${ir[other]}" \
        'BEGIN { printf "this/other, one more pass: %.3f\n", (a - b) / (c - d) }'
fi
if [[ -n $keep ]]; then
    mkdir -p "$keep"
    cp "$out"/cachegrind.out.* "$keep"/
    echo "cachegrind files in $keep (cg_annotate $keep/cachegrind.out.this)" >&2
fi
rm -rf "$out"
