"""Exact text / regex search: symscope's core (`rust/grep.rs`, ripgrep's libraries) against ripgrep
itself, side by side, in one run, on the same files: the indexed files of the pinned `perf` corpus
(benchmarks/corpus.py), handed to `rg` as arguments so both search exactly the same set.

For each pattern (literals rare and common, regexes, case-insensitive) it measures, median of
--repeat runs, wall time and matching lines:
  symscope_core   `_native.search_text` over the index's file list, every match (no limit);
  symscope_page   `text_search.search_text` as the MCP tool and `symscope grep` run it: the first
                  50 matches with their enclosing symbols;
  rg              `rg --no-config -n --no-heading -j <threads> PATTERN FILES...`.
The counts of matching lines must agree between symscope_core and rg, or the run fails.

Prints one JSON document on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import corpus  # noqa: E402
from lsp_server import _native  # noqa: E402
from lsp_server.config import Settings  # noqa: E402
from lsp_server.index import Index  # noqa: E402
from lsp_server.text_search import search_text  # noqa: E402

log = logging.getLogger("benchmarks.grep")

# (pattern, regex, case_insensitive)
PATTERNS = [
    ("DEFAULT_AUTO_FIELD", False, False),  # a config key: rare
    ("return", False, False),  # everywhere
    ("TODO", False, False),
    ("ValueError(", False, False),
    (r"def test_\w+_(empty|none)\b", True, False),
    (r"\bimport\s+\{[^}]*\}\s+from", True, False),
    (r"[A-Z_]{4,}_TIMEOUT", True, False),
    ("deprecated", False, True),
]


def median_run(fn, repeat: int) -> tuple[float, int]:
    runs = []
    count = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        count = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), count


def rg_count(root: Path, files: list[str], pattern: str, regex: bool, ci: bool, threads: int) -> int:
    args = ["rg", "--no-config", "-n", "--no-heading", "-j", str(threads), "--color", "never"]
    if not regex:
        args.append("-F")
    if ci:
        args.append("-i")
    proc = subprocess.run([*args, "-e", pattern, "--", *files], cwd=root, capture_output=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"rg failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[:300]}")
    return proc.stdout.count(b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="rg -j and the core's rayon threads")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    if not shutil.which("rg"):
        print("rg not found: apt-get install ripgrep", file=sys.stderr)
        return 2
    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    root = corpus.materialize("perf")
    rg_version = subprocess.run(["rg", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    report: dict = {"corpus": "perf", "root": str(root), "rg": rg_version, "threads": args.threads, "patterns": []}
    with tempfile.TemporaryDirectory() as tmp:
        log.info("indexing %s (no embeddings: only the file list is needed)", root)
        with Index.open(Settings(root=root, index_dir=Path(tmp) / "idx", embed=False)) as index:
            index.update()
            files = index.text_searchable_paths()
            report["files"] = len(files)
            report["megabytes"] = round(sum((root / f).stat().st_size for f in files) / 1e6, 1)
            mismatches = []
            for pattern, regex, ci in PATTERNS:
                log.info("pattern %r", pattern)

                def core() -> int:
                    return len(
                        _native.search_text(
                            str(root), files, pattern, regex=regex, case_insensitive=ci, limit=10**9, timeout_ms=600_000
                        )["matches"]
                    )

                def page() -> int:
                    return len(search_text(index, pattern, regex=regex, case_insensitive=ci, limit=50).hits)

                core_s, core_n = median_run(core, args.repeat)
                page_s, page_n = median_run(page, args.repeat)
                rg_s, rg_n = median_run(lambda: rg_count(root, files, pattern, regex, ci, args.threads), args.repeat)
                if core_n != rg_n:
                    mismatches.append(pattern)
                report["patterns"].append(
                    {
                        "pattern": pattern,
                        "regex": regex,
                        "case_insensitive": ci,
                        "matching_lines": core_n,
                        "rg_matching_lines": rg_n,
                        "symscope_core_ms": round(core_s * 1000, 1),
                        "symscope_page_ms": round(page_s * 1000, 1),
                        "page_hits": page_n,
                        "rg_ms": round(rg_s * 1000, 1),
                        "ratio_core_over_rg": round(core_s / rg_s, 2),
                        "ratio_page_over_rg": round(page_s / rg_s, 2),
                    }
                )
    ratios = [p["ratio_core_over_rg"] for p in report["patterns"]]
    report["median_ratio_core_over_rg"] = round(statistics.median(ratios), 2)
    report["median_ratio_page_over_rg"] = round(
        statistics.median(p["ratio_page_over_rg"] for p in report["patterns"]), 2
    )
    report["count_mismatches"] = mismatches
    print(json.dumps(report, indent=1))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
