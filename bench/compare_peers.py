#!/usr/bin/env python3
"""Pages per second of our worker against PyMuPDF, pypdfium2 and pdftotext, one core each.

Usage (from anywhere; paths default relative to the repository):
    bench/compare_peers.py [CORPUS] [--duration S] [--cpu N] [--fidelity]
                           [--peers pymupdf,pypdfium2,pdftotext] [--tools DIR]
                           [--reference DIR] [--no-build]

CORPUS defaults to ../shared/corpus/realworld next to the repository. One after
another, on the same core (CPU --cpu, default 0):

  * ours: `distributed-benchmark worker --data-dir CORPUS --duration S`, pinned with
    `taskset -c CPU`, built first with `cargo build --release` (skip with --no-build);
    pages/s is the `done` event's pages_per_sec, peak RSS its max_rss_bytes;
  * the peers: TOOLS/bench_peers.py (TOOLS defaults to ../shared/tools next to the
    repository), which pins its own worker to CPU 0; so --cpu other than 0 is refused
    when peers run. A peer whose library or CLI is missing is skipped with a message
    (pip install pymupdf pypdfium2; apt-get install poppler-utils).

--fidelity: every engine's text is also dumped (untimed) and scored with
TOOLS/fidelity.py against --reference (default CORPUS/../reference/pymupdf when it
exists, else the fresh PyMuPDF dump): mean page F1 and the share of pages where the
reference has text and the engine none.

Prints one table; nothing is written outside a temporary folder.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = {"pymupdf": "pymupdf", "pypdfium2": "pypdfium2", "pdftotext": None}


def peer_available(name):
    if name == "pdftotext":
        return shutil.which("pdftotext") is not None, "apt-get install poppler-utils"
    return importlib.util.find_spec(PEERS[name]) is not None, "pip install " + name


def build():
    print("[build] cargo build --release", flush=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)


def binary():
    # The root .cargo/config.toml names the target, so the binary lands under it.
    for rel in ("target/x86_64-unknown-linux-gnu/release", "target/release"):
        path = os.path.join(REPO, rel, "distributed-benchmark")
        if os.path.exists(path):
            return path
    sys.exit("no release binary under target/: run without --no-build")


def run_ours(corpus, duration, cpu):
    cmd = ["taskset", "-c", str(cpu), binary(), "worker", "--data-dir", corpus,
           "--duration", str(duration)]
    print("[bench] ours: " + " ".join(cmd[:3]) + " distributed-benchmark worker ...",
          flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    done = None
    for line in out.stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "done":
            done = event
    if done is None:
        sys.exit("the worker gave no done event (exit %d): %s"
                 % (out.returncode, out.stderr.strip()[-500:]))
    rss = done.get("max_rss_bytes")
    return {"engine": "ours", "pages_per_s": done["pages_per_sec"], "pages": done["pages"],
            "errors": done["errors"], "rss_mib": rss / 2**20 if rss else None}


def run_peers(corpus, peers, duration, tools, tmp):
    if not peers:
        return []
    out = os.path.join(tmp, "peers.json")
    cmd = [sys.executable, os.path.join(tools, "bench_peers.py"), corpus, "--engines",
           ",".join(peers), "--duration", str(duration), "--out", out]
    print("[bench] peers: bench_peers.py --engines %s" % ",".join(peers), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as f:
        doc = json.load(f)
    rows = []
    for name in peers:
        r = doc["engines"][name]
        rss = r.get("peak_rss_children_mib") if name == "pdftotext" else r.get("peak_rss_mib")
        rows.append({"engine": name, "pages_per_s": r["pages_per_s"], "pages": r["pages"],
                     "errors": r["failures"], "rss_mib": rss})
    return rows


def dump_ours(corpus, dest):
    exe = binary()
    for root, _, names in os.walk(corpus):
        for name in sorted(names):
            if not name.lower().endswith(".pdf"):
                continue
            pdf = os.path.join(root, name)
            rel = os.path.relpath(pdf, corpus)
            txt = os.path.join(dest, os.path.splitext(rel)[0] + ".txt")
            os.makedirs(os.path.dirname(txt), exist_ok=True)
            with open(txt, "wb") as f:
                subprocess.run([exe, "extract", pdf], stdout=f, stderr=subprocess.DEVNULL,
                               check=False)


def fidelity(tools, reference, cand):
    out = subprocess.run([sys.executable, os.path.join(tools, "fidelity.py"), reference, cand],
                         capture_output=True, text=True, check=True).stdout
    f1 = empty = None
    ref_pages = None
    for line in out.splitlines():
        if line.startswith("fidelity:"):
            f1 = float(line.split("mean_page_f1=")[1].split()[0])
        elif line.startswith("ref text but candidate empty:"):
            empty = int(line.split(":")[1].split()[0])
        elif re.search(r"ref pages with text [0-9.]+ \((\d+)\)", line):
            ref_pages = int(re.search(r"ref pages with text [0-9.]+ \((\d+)\)", line).group(1))
    share = 100.0 * empty / ref_pages if empty is not None and ref_pages else None
    return f1, share


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?",
                    default=os.path.join(REPO, "..", "shared", "corpus", "realworld"))
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per engine")
    ap.add_argument("--cpu", type=int, default=0, help="the core every engine runs on")
    ap.add_argument("--peers", default="pymupdf,pypdfium2,pdftotext")
    ap.add_argument("--tools", default=os.path.join(REPO, "..", "shared", "tools"),
                    help="folder holding bench_peers.py and fidelity.py")
    ap.add_argument("--fidelity", action="store_true", help="also score the text")
    ap.add_argument("--reference", help="reference text dump (default: see above)")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    corpus = os.path.abspath(args.corpus)
    if not os.path.isdir(corpus):
        ap.error("not a folder: %s (give the corpus path as the first argument)" % corpus)
    if shutil.which("taskset") is None:
        ap.error("taskset not found (apt-get install util-linux)")
    peers = []
    for name in [p.strip() for p in args.peers.split(",") if p.strip()]:
        if name not in PEERS:
            ap.error("unknown peer %r (known: %s)" % (name, ",".join(PEERS)))
        ok, hint = peer_available(name)
        if ok:
            peers.append(name)
        else:
            print("[skip] %s is not installed (%s)" % (name, hint), flush=True)
    if peers and args.cpu != 0:
        ap.error("bench_peers.py pins peers to CPU 0; use --cpu 0 to compare on one core")
    if peers and not os.path.exists(os.path.join(args.tools, "bench_peers.py")):
        ap.error("no bench_peers.py in %s (set --tools)" % args.tools)
    if not args.no_build:
        build()

    rows = [run_ours(corpus, args.duration, args.cpu)]
    tmp = tempfile.mkdtemp(prefix="compare_peers_")
    try:
        rows += run_peers(corpus, peers, args.duration, args.tools, tmp)
        if args.fidelity:
            dumps = os.path.join(tmp, "dump")
            print("[fidelity] dumping text (untimed)", flush=True)
            dump_ours(corpus, os.path.join(dumps, "ours"))
            if peers:
                subprocess.run([sys.executable, os.path.join(args.tools, "bench_peers.py"),
                                corpus, "--engines", ",".join(peers), "--duration", "0",
                                "--dump-text", dumps], check=True, stdout=subprocess.DEVNULL)
            reference = args.reference
            default_ref = os.path.join(os.path.dirname(corpus), "reference", "pymupdf")
            if reference is None:
                reference = default_ref if os.path.isdir(default_ref) else (
                    os.path.join(dumps, "pymupdf") if "pymupdf" in peers else None)
            if reference is None:
                print("[fidelity] no reference dump: give --reference DIR", flush=True)
            else:
                for row in rows:
                    row["f1"], row["empty_pct"] = fidelity(
                        args.tools, reference, os.path.join(dumps, row["engine"]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    best_peer = max((r["pages_per_s"] for r in rows[1:] if r["pages_per_s"]), default=None)
    print()
    print("corpus: %s, %gs per engine, CPU %d" % (args.corpus, args.duration, args.cpu))
    header = "%-10s %10s %8s %7s %8s" % ("engine", "pages/s", "pages", "errors", "RSS_MiB")
    if args.fidelity:
        header += " %8s %7s" % ("page_F1", "empty%")
    print(header)
    print("-" * len(header))
    for r in rows:
        line = "%-10s %10.1f %8d %7d %8s" % (
            r["engine"], r["pages_per_s"] or 0.0, r["pages"], r["errors"],
            "-" if r["rss_mib"] is None else "%.1f" % r["rss_mib"])
        if args.fidelity:
            line += " %8s %7s" % (
                "-" if r.get("f1") is None else "%.3f" % r["f1"],
                "-" if r.get("empty_pct") is None else "%.2f" % r["empty_pct"])
        print(line)
    if best_peer:
        print("ours / fastest peer: %.2fx" % (rows[0]["pages_per_s"] / best_peer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
