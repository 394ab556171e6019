"""Index performance benchmark on a real corpus of >= 50,000 symbols (Django's sdist + npm package sources).

Owns measuring, in one process, with JSON on stdout and logs on stderr:
  * the first build with embedding off (symbols/s, files/s), in a fresh temporary index;
  * re-index time when nothing changed, when one file changed (full `update()` and the watcher path
    `update_files()`), and after reverting that file, each also as a share of the first build (goal < 5%);
  * embeddings/s of the real default model by batch size (8, 16, 32, 64) on ~2,000 real embed texts;
  * warm in-process latency p50/p95 of `Searcher.search` (hybrid, including the query embedding) and
    `Searcher.symbols` over ~200 queries each;
  * index size on disk and the process's peak RSS;
  * with --embed-all, the full-embedding first build in a persistent index (benchmarks/.corpus/indexes/),
    which later runs reuse (embeddings are cached by (text_hash, model_id)), so the whole corpus is
    embedded once per model, not once per run.

Never: edits a corpus file without restoring its bytes (the one-file change is undone in a `finally`),
reaches the network after the corpus is cached, or reports a figure it did not measure (a search latency
taken without vectors says so).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # there is no model hub here; never try to reach one

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import corpus  # benchmarks/corpus.py (this folder is sys.path[0])

log = logging.getLogger("benchmarks.index_perf")

MIN_SYMBOLS = 50_000
BATCH_SIZES = (8, 16, 32, 64)
DEFAULT_EMBEDDED_INDEX = corpus.DEFAULT_CACHE / "indexes"
EVAL_QUERIES = BENCH_DIR / "eval" / "queries.json"
# The file changed for the one-file re-index, per corpus set (a real, mid-sized source file).
PROBE_FILES = {
    "perf": "django-5.1.4/django/utils/text.py",
    "perf-quick": "requests-2.32.3/src/requests/utils.py",
}
PROBE_SUFFIX = {
    ".py": "\n\ndef symscope_bench_probe_{n}(value):\n    return value + {n}\n",
    ".js": "\n\nfunction symscopeBenchProbe{n}(value) {{\n  return value + {n}\n}}\n",
}

# Natural-language searches beyond the evaluation set, so the latency set covers ~200 queries
# and the larger corpus (Django, lodash, rxjs).
EXTRA_SEARCHES = [
    "validate an email address",
    "escape HTML special characters",
    "parse a date string into a datetime",
    "cache the result of an expensive call",
    "paginate a list of objects",
    "send mail to site admins",
    "build a SQL join clause",
    "serialize a model instance to JSON",
    "check a password against its hash",
    "generate a random secret key",
    "compress a response with gzip",
    "deep clone an object",
    "debounce a function call",
    "flatten nested arrays",
    "merge two observables",
    "retry on error with delay",
    "throttle emitted values",
    "convert a string to camel case",
    "group items by a key",
    "migrate a database schema",
    "handle a CSRF token",
    "render a form field widget",
    "translate a message into the active language",
    "register a signal receiver",
    "lazy evaluation of a translated string",
    "timezone aware current time",
    "truncate text to a number of words",
    "slugify a title",
    "read an uploaded file in chunks",
    "resolve a URL path to a view",
    "reverse a named URL pattern",
    "authenticate a user with credentials",
    "emit a value after a timeout",
    "check whether a value is a plain object",
]


WARMUP_QUERIES = {
    "search": [
        "open a network socket",
        "sort records by date",
        "write bytes to disk",
        "format a log line",
        "compare two strings ignoring case",
        "load plugins from entry points",
    ],
    "symbols": ["warmupx", "zzq", "getvalu", "prse", "HTTPResp", "to_strng"],
}


class BenchError(RuntimeError):
    """The corpus or the index cannot give a meaningful measurement."""


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(1000 * s for s in samples_s)
    q = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else ms * 99
    return {
        "n": len(ms),
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(ms[-1], 2),
    }


def throttled_progress(label: str, every_s: float = 10.0) -> Callable[[object], None]:
    last = [0.0]

    def report(progress: object) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            log.info("%s: %s", label, getattr(progress, "__dict__", None) or progress)

    return report


def stats_dict(stats) -> dict:
    return {
        "files": stats.files,
        "changed": stats.changed,
        "deleted": stats.deleted,
        "symbols": stats.symbols,
        "embedded": stats.embedded,
        "reused": stats.reused,
        "skipped": dict(stats.skipped),
        "errors": len(stats.errors),
        "seconds": round(stats.seconds, 3),
    }


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def open_index(root: Path, index_dir: Path, *, embed: bool, embedder=None):
    from lsp_server.config import Settings
    from lsp_server.index import Index

    index = Index.open(Settings(root=root, index_dir=index_dir, embed=embed), embedder=embedder)
    if not index.is_writer:
        index.close()
        raise BenchError(f"another process holds the writer lock on {index_dir}")
    return index


# --------------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------------


def measure_builds(root: Path, index_dir: Path, probe_rel: str) -> dict:
    """First build without embedding, then no-change, one-file-change and revert re-indexes."""
    index = open_index(root, index_dir, embed=False)
    try:
        log.info("first build (embedding off) of %s", root)
        first, first_s = timed(lambda: index.update(progress=throttled_progress("first build")))
        symbols = first.symbols
        log.info("first build: %d files, %d symbols in %.1fs", first.files, symbols, first_s)
        out: dict = {
            "first_build": {
                **stats_dict(first),
                "wall_seconds": round(first_s, 3),
                "symbols_per_s": round(symbols / first_s, 1),
                "files_per_s": round(first.files / first_s, 1),
            },
            "index_bytes_no_vectors": dir_bytes(index_dir),
        }

        nochange, nochange_s = timed(index.update)
        out["reindex_nochange"] = {
            **stats_dict(nochange),
            "wall_seconds": round(nochange_s, 3),
            "share_of_first_build": round(nochange_s / first_s, 4),
        }
        log.info("no-change re-index: %.2fs (%.2f%% of the first build)", nochange_s, 100 * nochange_s / first_s)

        probe = root / probe_rel
        original = probe.read_bytes()
        stat = probe.stat()
        try:
            probe.write_bytes(original + PROBE_SUFFIX[probe.suffix].format(n=1).encode())
            one, one_s = timed(index.update)
            out["reindex_one_file_changed"] = {
                **stats_dict(one),
                "file": probe_rel,
                "wall_seconds": round(one_s, 3),
                "share_of_first_build": round(one_s / first_s, 4),
            }
            log.info("one-file re-index (update): %.2fs", one_s)
            probe.write_bytes(original + PROBE_SUFFIX[probe.suffix].format(n=2).encode())
            watched, watched_s = timed(lambda: index.update_files([probe]))
            out["update_files_one_file"] = {
                **stats_dict(watched),
                "file": probe_rel,
                "wall_seconds": round(watched_s, 3),
            }
            log.info("one-file re-index (update_files): %.3fs", watched_s)
        finally:
            probe.write_bytes(original)
            os.utime(probe, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        reverted, reverted_s = timed(index.update)
        out["reindex_after_revert"] = {
            **stats_dict(reverted),
            "wall_seconds": round(reverted_s, 3),
            "share_of_first_build": round(reverted_s / first_s, 4),
        }
        out["status"] = status_dict(index.status())
        out["peak_rss_mib_after_builds"] = peak_rss_mib()
        return out
    finally:
        index.close()


def status_dict(status) -> dict:
    return {
        "files": status.files,
        "symbols": status.symbols,
        "vectors": status.vectors,
        "pending": status.pending,
        "model_id": status.model_id,
        "device": status.device,
        "index_bytes": status.index_bytes,
    }


def sample_embed_texts(root: Path, index_dir: Path, n: int, seed: int) -> list[str]:
    from lsp_server.config import Settings
    from lsp_server.index import Index

    index = Index.open(Settings(root=root, index_dir=index_dir, embed=False), readonly=True)
    try:
        texts = [s.embed_text for s in index.iter_symbols()]
    finally:
        index.close()
    random.Random(seed).shuffle(texts)
    return texts[:n]


def measure_embedding(embedder, texts: list[str], batch_sizes: tuple[int, ...], rounds: int = 4) -> dict:
    """embeddings/s per batch size over the same texts; the embedder sorts each call's texts by length.

    The texts are cut into `rounds` chunks and every batch size embeds every chunk, in a rotating
    order, so drift in machine load (other builds on a shared machine) spreads over all sizes alike.
    """
    embedder.embed(texts[:32])  # warm the session (first-run allocations, thread pool)
    chunks = [texts[i::rounds] for i in range(rounds)]
    seconds = dict.fromkeys(batch_sizes, 0.0)
    original = embedder.batch_size
    try:
        for r, chunk in enumerate(chunks):
            order = batch_sizes[r % len(batch_sizes) :] + batch_sizes[: r % len(batch_sizes)]
            for size in order:
                embedder.batch_size = size
                seconds[size] += timed(lambda chunk=chunk: embedder.embed(chunk))[1]
    finally:
        embedder.batch_size = original
    rows = {}
    for size in batch_sizes:
        rows[str(size)] = {
            "texts": len(texts),
            "seconds": round(seconds[size], 2),
            "embeddings_per_s": round(len(texts) / seconds[size], 1),
        }
        log.info("batch %d: %.1f embeddings/s", size, len(texts) / seconds[size])
    return rows


def symbol_queries(names: list[str], n: int, seed: int) -> list[str]:
    """Identifier-style queries as people type them: full names, prefixes, abbreviations, typos."""
    rng = random.Random(seed)
    names = sorted({x for x in names if len(x) >= 5 and x.isidentifier()})
    picked = rng.sample(names, min(n, len(names)))
    queries = []
    for i, name in enumerate(picked):
        parts = [p for p in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name) if p]
        kind = i % 4
        if kind == 0:
            queries.append(name)
        elif kind == 1:
            queries.append(name[: max(3, len(name) // 2)])
        elif kind == 2 and len(parts) > 1:
            queries.append("".join(p[:2].lower() for p in parts))  # load_config -> loco
        else:
            j = rng.randrange(1, len(name) - 1)
            queries.append(name[:j] + name[j + 1] + name[j] + name[j + 2 :])  # swap two letters
    return queries


def search_queries(n: int) -> list[str]:
    texts = []
    if EVAL_QUERIES.is_file():
        texts = [q["query"] for q in json.loads(EVAL_QUERIES.read_text())["queries"]]
    texts += EXTRA_SEARCHES
    return texts[:n]


def measure_latency(searcher, index, n_queries: int, seed: int) -> dict:
    names = [s.name for s in index.iter_symbols()]
    sym_q = symbol_queries(names, n_queries, seed)
    nl_q = search_queries(n_queries)
    out = {}
    for label, fn, queries in (
        ("search", lambda q: searcher.search(q, limit=10), nl_q),
        ("symbols", lambda q: searcher.symbols(q, limit=50), sym_q),
    ):
        # Warm the session, SQLite pages and name table with queries outside the measured set
        # (the Searcher caches query vectors, so repeating a measured query would flatter it).
        for q in WARMUP_QUERIES[label]:
            fn(q)
        samples = []
        empty = 0
        for q in queries:
            started = time.perf_counter()
            results = fn(q)
            samples.append(time.perf_counter() - started)
            empty += not results
        out[label] = {**percentiles(samples), "queries_without_results": empty}
        log.info("%s latency: %s", label, out[label])
    return out


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> tuple[dict, int]:
    set_name = "perf-quick" if args.quick else "perf"
    root = corpus.materialize(set_name, args.corpus_cache)
    report: dict = {
        "benchmark": "index_perf",
        "corpus": {
            "set": set_name,
            "root": str(root),
            "sources": [f"{s.registry}:{s.name}=={s.version}" for s in corpus.SETS[set_name]],
        },
        # The load average says how far other processes on a shared machine skew the timings.
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": sys.platform,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    code = 0
    with tempfile.TemporaryDirectory(prefix="symscope-perf-") as tmp:
        fresh_dir = Path(tmp) / "index"
        report.update(measure_builds(root, fresh_dir, PROBE_FILES[set_name]))
        symbols = report["first_build"]["symbols"]
        report["corpus"]["symbols"] = symbols
        report["corpus"]["files"] = report["first_build"]["files"]
        if symbols < MIN_SYMBOLS and not args.quick:
            log.error(
                "the corpus has %d symbols, fewer than %d: add sources to corpus.SETS['perf']", symbols, MIN_SYMBOLS
            )
            code = 2
        report["goal_nochange_under_5pct"] = report["reindex_nochange"]["share_of_first_build"] < 0.05

        from lsp_server.embed import load_embedder
        from lsp_server.search import Searcher

        embedder, load_s = timed(lambda: load_embedder(args.model, args.device))
        report["embedder"] = {
            "model_id": embedder.model_id,
            "device": embedder.device,
            "load_seconds": round(load_s, 2),
        }
        if args.embed_sample:
            texts = sample_embed_texts(root, fresh_dir, args.embed_sample, args.seed)
            report["embedding_sample"] = {
                "texts": len(texts),
                "mean_chars": round(statistics.fmean(map(len, texts)), 1),
                "device": embedder.device,
            }
            report["embedding_by_batch_size"] = measure_embedding(embedder, texts, tuple(args.batch_sizes))

        # Search latency needs vectors: a persistent, fully embedded index (built once with --embed-all).
        embedded_dir = args.embedded_index_dir / f"{set_name}-{re.sub(r'[^A-Za-z0-9._-]+', '_', embedder.model_id)}"
        latency_index = None
        if args.embed_all:
            latency_index = open_index(root, embedded_dir, embed=True, embedder=embedder)
            vectors_before = latency_index.status().vectors
            log.info("full-embedding build in %s (%d vectors from earlier runs)", embedded_dir, vectors_before)
            stats, seconds = timed(lambda: latency_index.update(progress=throttled_progress("embedding build")))
            # "reused" also counts symbols whose text repeats within the corpus (rxjs ships each file in
            # several builds), so a first build is told by the vectors that were there before it.
            report["embed_all_build"] = {
                **stats_dict(stats),
                "wall_seconds": round(seconds, 2),
                "index_dir": str(embedded_dir),
                "vectors_before": vectors_before,
                "from_scratch": vectors_before == 0,
            }
            if stats.embedded:
                report["embed_all_build"]["embeddings_per_s"] = round(stats.embedded / seconds, 1)
        elif embedded_dir.is_dir() and any(embedded_dir.iterdir()):
            # An earlier --embed-all run: read it as it is (updating could start a long embedding run).
            from lsp_server.config import Settings
            from lsp_server.index import Index

            latency_index = Index.open(Settings(root=root, index_dir=embedded_dir), embedder=embedder, readonly=True)
        if latency_index is None:
            latency_index = open_index(root, fresh_dir, embed=False)
        try:
            status = status_dict(latency_index.status())
            report["latency_index"] = {**status, "vectors_complete": status["vectors"] >= status["symbols"] > 0}
            if not report["latency_index"]["vectors_complete"]:
                report["latency_index"]["note"] = (
                    "search latency measured without a full vector table; "
                    "run once with --embed-all for the representative figure"
                )
            searcher = Searcher(latency_index, embedder)
            report["latency"] = measure_latency(searcher, latency_index, args.queries, args.seed)
            report["index_bytes_with_vectors"] = dir_bytes(embedded_dir) if embedded_dir.is_dir() else None
        finally:
            latency_index.close()
    report["goals"] = {
        "nochange_reindex_under_5pct": report["goal_nochange_under_5pct"],
        "symbols_p95_under_10ms": report["latency"]["symbols"]["p95_ms"] < 10,
        # None: measured without a full vector table (no query embedding, no vector scan): not the goal's setting.
        "search_p95_under_50ms": (report["latency"]["search"]["p95_ms"] < 50)
        if report["latency_index"]["vectors_complete"]
        else None,
        "at_least_50k_symbols": report["corpus"]["symbols"] >= MIN_SYMBOLS,
    }
    del report["goal_nochange_under_5pct"]
    report["peak_rss_mib"] = peak_rss_mib()
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure indexing throughput, re-index cost, embedding throughput, query latency, index "
        "size and peak RSS on a pinned corpus of >= 50,000 real symbols; print JSON.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small corpus (requests, click, flask, semver, express, lodash) for a smoke run",
    )
    parser.add_argument(
        "--embed-all",
        action="store_true",
        help="also build a fully embedded index (slow on 2 cores; reused by later runs) and time it",
    )
    parser.add_argument(
        "--embedded-index-dir",
        type=Path,
        default=DEFAULT_EMBEDDED_INDEX,
        help="parent folder of the persistent embedded index (default: %(default)s)",
    )
    parser.add_argument(
        "--embed-sample",
        type=int,
        default=2000,
        metavar="N",
        help="texts for the batch-size benchmark, 0 to skip (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES), metavar="B", help="default: %(default)s"
    )
    parser.add_argument(
        "--queries", type=int, default=200, metavar="N", help="queries per latency measurement (default: %(default)s)"
    )
    parser.add_argument("--model", default=None, help="model setting (default: the bundled default model)")
    parser.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda", "auto"], help="embedding device (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1234, help="seed for samples (default: %(default)s)")
    parser.add_argument(
        "--corpus-cache", type=Path, default=corpus.DEFAULT_CACHE, help="corpus archive cache (default: %(default)s)"
    )
    parser.add_argument("--json-out", type=Path, default=None, metavar="FILE", help="also write the report to FILE")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if any(b < 1 for b in args.batch_sizes) or args.queries < 1 or args.embed_sample < 0:
        parser.error("batch sizes and --queries must be >= 1, --embed-sample >= 0")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        report, code = run(args)
    except (BenchError, corpus.CorpusError) as exc:
        log.error("%s", exc)
        return 2
    text = json.dumps(report, indent=2)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
