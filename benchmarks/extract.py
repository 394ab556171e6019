"""Extraction throughput: symscope's Rust core against universal-ctags, side by side, in one run.

Corpora (all fetched reproducibly through the registries):
  stdlib  the running Python's standard library (site-packages excluded);
  multi   a multi-language tree: the `perf` set of benchmarks/corpus.py (Django, lodash, rxjs, express,
          requests, click, flask, semver: Python, JavaScript, TypeScript) plus the Rust and C sources of
          crates pinned by this repository's Cargo.lock (`cargo fetch`), copied into one folder.

For each corpus and each process count (1 and 2) it measures, median of --repeat runs:
  symscope  the native Scanner as the index runs it (parallel walk + read + blake3, parsing in
            supervised worker processes, conversion to Python objects), `threads` = process count;
            every run starts its workers afresh (process start and query compilation included);
            `cpu_seconds` adds the workers' CPU time to this process's, so the cost shows even on a
            busy machine, where more processes simply get a larger share of the cores;
  symscope_in_process  the same scan with the grammars in this process (`supervised=False`), whose
            compiled queries stay warm between runs: the cost of supervision is the ratio of the two;
  ctags     `ctags -R --output-format=json --fields=+nKS` writing to a file; with 2 processes the file
            list is split in two halves (balanced by bytes) and two ctags run at once.
Plus the latency of re-outlining a 5,000-line file after a one-line edit (incremental reparse with
Tree::edit through `_native.Document`), median and p95 over --edits edits, in the supervised document
host (as the language server runs it) and in-process.

Prints one JSON document on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import corpus  # noqa: E402
from lsp_server import _native  # noqa: E402

log = logging.getLogger("benchmarks.extract")
REPO = Path(__file__).resolve().parent.parent
# Crates whose sources make the Rust/C part of the multi-language corpus (all in Cargo.lock).
CRATES = [
    "rayon",
    "rayon-core",
    "regex-automata",
    "regex-syntax",
    "ignore",
    "globset",
    "crossbeam-channel",
    "crossbeam-deque",
    "crossbeam-epoch",
    "crossbeam-utils",
    "pyo3",
    "serde",
    "serde_json",
    "blake3",
    "tree-sitter",
]


def cargo_registry_dirs() -> list[Path]:
    """Source folders of CRATES at the versions Cargo.lock pins, after `cargo fetch`."""
    subprocess.run(
        ["cargo", "fetch", "--manifest-path", str(REPO / "Cargo.toml")],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--manifest-path", str(REPO / "Cargo.toml")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    dirs = []
    for pkg in meta["packages"]:
        if pkg["name"] in CRATES and pkg["source"]:
            dirs.append(Path(pkg["manifest_path"]).parent)
    return sorted(dirs)


def multi_corpus() -> Path:
    target = corpus.DEFAULT_CACHE / "trees" / "extract-multi"
    stamp = target / ".complete"
    if stamp.exists():
        return target
    if target.exists():
        shutil.rmtree(target)
    perf = corpus.materialize("perf")
    shutil.copytree(perf, target / "packages", ignore=shutil.ignore_patterns(".*"))
    for crate_dir in cargo_registry_dirs():
        shutil.copytree(crate_dir, target / "crates" / crate_dir.name)
    stamp.write_text("ok\n")
    return target


def stdlib_corpus() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def symscope_scan(root: Path, threads: int, excludes: list[str], supervised: bool = True) -> dict:
    if supervised:
        _native.configure_workers()  # stops idle workers: this run starts its own, as `symscope index` does
    before = _cpu_seconds()
    t0 = time.perf_counter()
    files = symbols = nbytes = skipped = 0
    for batch in _native.Scanner(str(root), threads=threads, excludes=excludes, supervised=supervised):
        for r in batch:
            if r["skipped"] or r["error"]:
                skipped += 1
                continue
            files += 1
            nbytes += r["size"]
            symbols += len(r["symbols"])
    seconds = time.perf_counter() - t0
    if supervised:
        _native.configure_workers()  # reaps this run's workers, so their CPU time is counted below
    return {
        "seconds": seconds,
        "cpu_seconds": round(_cpu_seconds() - before, 3),
        "files": files,
        "bytes": nbytes,
        "symbols": symbols,
        "skipped": skipped,
    }


def _cpu_seconds() -> float:
    """User + system time of this process and of its reaped children (the parser workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def file_list(root: Path, excludes: list[str]) -> list[tuple[Path, int]]:
    """The files symscope parses (same gitignore and skip policy), to hand ctags the same set."""
    out = []
    for batch in _native.Scanner(str(root), excludes=excludes):
        for r in batch:
            if not r["skipped"] and not r["error"]:
                out.append((root / r["path"], r["size"]))
    return out


def ctags_run(files: list[tuple[Path, int]], processes: int, workdir: Path) -> dict:
    # Balance the halves by bytes: largest first into the lighter bucket.
    buckets: list[list[Path]] = [[] for _ in range(processes)]
    loads = [0] * processes
    for path, size in sorted(files, key=lambda f: -f[1]):
        i = loads.index(min(loads))
        buckets[i].append(path)
        loads[i] += size
    lists = []
    for i, bucket in enumerate(buckets):
        lst = workdir / f"files{i}.txt"
        lst.write_text("\n".join(str(p) for p in bucket) + "\n")
        lists.append(lst)
    outputs = [workdir / f"tags{i}.json" for i in range(processes)]
    for out in outputs:
        out.unlink(missing_ok=True)  # ctags refuses to overwrite a file it does not take for a tags file
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["ctags", "--output-format=json", "--fields=+nKS", "-f", str(out), "-L", str(lst)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for out, lst in zip(outputs, lists)
    ]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"ctags failed ({p.returncode}): {err.decode(errors='replace')[:500]}")
    seconds = time.perf_counter() - t0
    tags = 0
    for i in range(processes):
        with open(workdir / f"tags{i}.json", "rb") as fh:
            tags += sum(1 for line in fh if line.startswith(b'{"_type": "tag"'))
    return {"seconds": seconds, "files": len(files), "bytes": sum(s for _, s in files), "symbols": tags}


def rates(m: dict) -> dict:
    s = m["seconds"]
    return {
        **{k: v for k, v in m.items() if k != "seconds"},
        "seconds": round(s, 3),
        "mb_per_s": round(m["bytes"] / 1e6 / s, 2),
        "files_per_s": round(m["files"] / s, 1),
        "symbols_per_s": round(m["symbols"] / s),
    }


def median_run(fn, repeat: int) -> dict:
    runs = [fn() for _ in range(repeat)]
    runs.sort(key=lambda m: m["seconds"])
    return runs[len(runs) // 2]


def compare(name: str, root: Path, excludes: list[str], repeat: int, with_ctags: bool = True) -> dict:
    log.info("%s: listing files under %s", name, root)
    files = file_list(root, excludes)
    out: dict = {
        "corpus": name,
        "root": str(root),
        "files": len(files),
        "megabytes": round(sum(s for _, s in files) / 1e6, 2),
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for processes in (1, 2):
            log.info("%s: symscope with %d thread(s), supervised and in-process", name, processes)
            ours = rates(median_run(lambda: symscope_scan(root, processes, excludes), repeat))
            bare = rates(median_run(lambda: symscope_scan(root, processes, excludes, supervised=False), repeat))
            run = {
                "processes": processes,
                "symscope": ours,
                "symscope_in_process": bare,
                "supervision_wall_ratio": round(ours["seconds"] / bare["seconds"], 3),
                "supervision_cpu_ratio": round(ours["cpu_seconds"] / bare["cpu_seconds"], 3),
            }
            if with_ctags:
                log.info("%s: ctags with %d process(es)", name, processes)
                theirs = rates(median_run(lambda: ctags_run(files, processes, Path(tmp)), repeat))
                run["ctags"] = theirs
                run["wall_ratio_symscope_over_ctags"] = round(ours["seconds"] / theirs["seconds"], 2)
            out["runs"].append(run)
    return out


EDIT_UNITS = {
    "python": (
        'class Service{i}:\n    """Handles case {i}."""\n\n    def handle(self, request):\n'
        "        value = request.get('k{i}')\n        return self.process(value) + {i}\n\n"
        "    def process(self, value):\n        return value * 2\n\n"
    ),
    "javascript": (
        "class Service{i} {{\n  // Handles case {i}.\n\n  handle(request) {{\n"
        "    const value = request.get('k{i}');\n    return this.process(value) + {i};\n  }}\n\n"
        "  process(value) {{\n    return value * 2;\n  }}\n}}\n"
    ),
}


def edit_latency(language: str, edits: int, supervised: bool = True) -> dict:
    """Re-outline a 5,000-line file after a one-line edit: the incremental re-parse (Tree::edit)
    and the outline extraction, timed apart."""
    text = "".join(EDIT_UNITS[language].format(i=i) for i in range(500)).encode()
    assert text.count(b"\n") >= 5000
    doc = _native.Document(language, text, supervised=supervised)
    marker = b"return value * 2"
    positions = [i for i in range(len(text)) if text.startswith(marker, i)][:edits]
    reparse, outline = [], []
    for n, pos in enumerate(positions):
        start = pos + len(b"return value * ")
        t0 = time.perf_counter()
        doc.edit(start, start + 1, str(3 + n % 5).encode())
        t1 = time.perf_counter()
        result = doc.symbols(references=False)  # what an outline asks for
        t2 = time.perf_counter()
        reparse.append((t1 - t0) * 1000)
        outline.append((t2 - t0) * 1000)
        assert len(result["symbols"]) == 1500
    full = []
    for _ in range(5):
        t0 = time.perf_counter()
        _native.extract(f"big.{language}", doc.text, language=language)
        full.append((time.perf_counter() - t0) * 1000)

    def p95(values: list[float]) -> float:
        return round(sorted(values)[int(len(values) * 0.95) - 1], 2)

    return {
        "language": language,
        "supervised": supervised,
        "lines": text.count(b"\n"),
        "symbols": 1500,
        "edits": len(outline),
        "incremental_reparse_ms_median": round(statistics.median(reparse), 2),
        "edit_to_outline_ms_median": round(statistics.median(outline), 2),
        "edit_to_outline_ms_p95": p95(outline),
        "full_parse_and_outline_ms_median": round(statistics.median(full), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["stdlib", "multi", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument(
        "--no-ctags", action="store_true", help="only symscope's own figures (supervised vs in-process)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    with_ctags = not args.no_ctags
    if with_ctags and not shutil.which("ctags"):
        print("ctags not found: apt-get install universal-ctags", file=sys.stderr)
        return 2
    version = (
        subprocess.run(["ctags", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        if with_ctags
        else None
    )
    report: dict = {
        "machine": {"cpus": os.cpu_count()},
        "ctags": version,
        "symscope_native": _native.__version__,
        "corpora": [],
    }
    if args.corpus in ("stdlib", "both"):
        report["corpora"].append(compare("stdlib", stdlib_corpus(), ["site-packages"], args.repeat, with_ctags))
    if args.corpus in ("multi", "both"):
        report["corpora"].append(compare("multi", multi_corpus(), [], args.repeat, with_ctags))
    report["edit_latency"] = [
        edit_latency(lang, args.edits, supervised) for lang in EDIT_UNITS for supervised in (True, False)
    ]
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
