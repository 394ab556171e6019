"""Scale benchmark (issue #12): symscope on a 100,000+ file corpus (Linux kernel + a big node_modules).

Owns measuring, on the corpus of `benchmarks/scale_corpus.py` (or a deterministic slice of it), each
figure a JSON field next to the machine's load average when it was taken:
  * scan: a cold `symscope index --no-embed` (wall time, files, symbols, skipped counts, errors,
    peak RSS of the process tree, index size on disk per component);
  * switch: a "branch switch" touching 5 % of the indexed files (a deterministic sample, each
    file's content changed by one appended newline), the `symscope index --no-embed` update that
    follows (time, changed count), and the update after restoring them;
  * lsp: a real `symscope lsp` over stdio (benchmarks/lsp_perf.py's client) on an empty index: time
    from `initialize` to the first *complete* workspace/symbol answer (probe definitions spread over
    the corpus), then the embedding that follows for a bounded slice (`--embed-seconds`): vectors
    per second from the server's own counts, pending at the end, and RSS of the server process
    (VmRSS, VmHWM) with the supervised parser workers reported separately. "Time until every symbol
    has a vector" is a number only when the slice saw the end; otherwise it is null with the reason;
  * storm: a `symscope lsp` (embedding off, its own `watchfiles` watcher) on the index the lsp phase
    left (or the scan's): steady RSS when idle, then `--storm-events` files changed in one burst
    through the filesystem: re-index passes (the server's "re-indexed N changed" log lines), files
    they re-indexed, time from the burst to the last pass, passes in a quiet window after it (a
    rescan loop would show here), the server's CPU seconds in that window and RSS after;
  * outbox: the store's own `pending_class(c, 256)` for each embedding class (the query each 256-row
    embedding batch runs) timed on a copy of the lsp phase's index, with the number of queued rows.

Never: fetches anything (run `python benchmarks/scale.py fetch` first), leaves a corpus file modified
(every changed file's bytes and mtime are restored in a `finally`), or reports a figure it did not
measure (a phase that did not finish says so, and its fields stay null).

    python benchmarks/scale.py fetch                          # once: kernel from Debian + npm ci
    python benchmarks/scale.py run --quick                    # a 3,000-file slice, short phases
    python benchmarks/scale.py run --only scan,switch --limit-files 20000
    nice -n 10 python benchmarks/scale.py run -v > scale.json # the whole corpus, every phase
JSON on stdout (also written after every phase to --out); logs on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import scale_corpus  # noqa: E402  (benchmarks/ is sys.path[0])
from procfs import children, proc_status  # noqa: E402

MIB = 1 << 20

log = logging.getLogger("benchmarks.scale")

PHASES = ("scan", "switch", "lsp", "storm", "outbox")
WORK = scale_corpus.CACHE / "work"
SLICES = scale_corpus.CACHE / "slices"
QUICK_FILES = 3_000
SWITCH_SHARE = 0.05
PROBE_COUNT = 8
REINDEX_LINE = re.compile(rb"re-indexed (\d+) changed and (\d+) deleted files in ([0-9.]+)s")
TARGETS = {"steady_rss_mb": 600, "peak_rss_while_embedding_mb": 1024, "embed_symbols_per_s": 300}


# --------------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------------


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total


def index_sizes(index_dir: Path) -> dict[str, Any]:
    """Bytes on disk (allocated blocks) per component: SQLite (the db, its WAL and shm), LanceDB, the rest."""
    if not index_dir.is_dir():
        return {"error": f"{index_dir} does not exist"}
    sqlite_b = sum(p.stat().st_blocks * 512 for p in index_dir.glob("index.db*") if p.is_file())
    lance_b = dir_bytes(index_dir / "lance") if (index_dir / "lance").is_dir() else 0
    total = dir_bytes(index_dir)
    mb = 1024 * 1024
    return {
        "sqlite_mb": round(sqlite_b / mb, 1),
        "lancedb_mb": round(lance_b / mb, 1),
        "other_mb": round((total - sqlite_b - lance_b) / mb, 1),
        "total_mb": round(total / mb, 1),
    }


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its reaped children excluded)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class ServerRss:
    """Samples a server process (VmRSS, VmHWM) and its descendants (the parser workers) separately,
    with peaks per named window (`mark`)."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.window = "start"
        self.peaks: dict[str, dict[str, float]] = {}
        self.last: dict[str, float] = {}
        self._samples: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def mark(self, window: str) -> None:
        self.window = window

    def sample(self) -> dict[str, float]:
        own = proc_status(self.pid)
        kids = children(self.pid)
        workers = sum(proc_status(k).get("VmRSS", 0) for k in kids)
        snap = {
            "server_rss_mb": round(own.get("VmRSS", 0) / MIB, 1),
            "server_hwm_mb": round(own.get("VmHWM", 0) / MIB, 1),
            "workers_rss_mb": round(workers / MIB, 1),
            "workers": len(kids),
        }
        if own:
            self.last = snap
        return snap

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            snap = self.sample()
            if not self.last:
                continue
            peak = self.peaks.setdefault(self.window, {"server_rss_mb": 0.0, "workers_rss_mb": 0.0, "workers": 0})
            for key in ("server_rss_mb", "workers_rss_mb", "workers"):
                peak[key] = max(peak[key], snap[key])
            self._samples.setdefault(self.window, []).append(snap["server_rss_mb"])

    def window_summary(self, window: str) -> dict[str, Any]:
        values = self._samples.get(window, [])
        out: dict[str, Any] = dict(self.peaks.get(window, {}))
        out = {f"peak_{k}": v for k, v in out.items()}
        if values:
            out["server_rss_mb_median"] = sorted(values)[len(values) // 2]
            out["samples"] = len(values)
        return out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def run_timed(cmd: list[str], *, cwd: Path = REPO_ROOT) -> dict[str, Any]:
    """Runs a command, sampling its process tree's RSS; returns wall seconds, peak RSS, rc, stdout."""
    from lsp_perf import TreeRss

    load_before = load()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rss = TreeRss(proc.pid, every=0.5)
    stdout, stderr = proc.communicate()
    wall = time.monotonic() - started
    peak = rss.stop()
    if proc.returncode != 0:
        log.warning("%s exited %s: %s", " ".join(cmd), proc.returncode, stderr.decode(errors="replace")[-2000:])
    return {
        "rc": proc.returncode,
        "wall_s": round(wall, 2),
        "peak_tree_rss_mb": peak,
        "load_before": load_before,
        "load_after": load(),
        "stdout": stdout.decode(errors="replace"),
        "stderr_tail": stderr.decode(errors="replace")[-1500:],
    }


def symscope_index(root: Path, index_dir: Path) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "lsp_server",
        "index",
        "--no-embed",
        "--json",
        "--index-dir",
        str(index_dir),
        str(root),
    ]
    done = run_timed(cmd)
    out: dict[str, Any] = {k: done[k] for k in ("rc", "wall_s", "peak_tree_rss_mb", "load_before", "load_after")}
    try:
        stats = json.loads(done["stdout"])
    except json.JSONDecodeError:
        out["error"] = "no JSON from symscope index"
        out["stderr_tail"] = done["stderr_tail"]
        return out
    out.update(
        files=stats.get("files"),
        changed=stats.get("changed"),
        deleted=stats.get("deleted"),
        symbols=stats.get("symbols"),
        skipped=stats.get("skipped"),
        skipped_total=sum((stats.get("skipped") or {}).values()),
        errors=len(stats.get("errors") or []),
        first_errors=(stats.get("errors") or [])[:3],
        parser_failures=len(stats.get("parser_failures") or []),
        index_seconds=stats.get("seconds"),
    )
    return out


def indexed_paths(index_dir: Path) -> list[str]:
    """Paths of indexed files, read-only from the index's SQLite (sorted, for deterministic samples)."""
    db = index_dir / "index.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(r[0] for r in con.execute("SELECT path FROM files WHERE state = 'indexed'"))
    finally:
        con.close()


def sample(paths: list[str], n: int) -> list[str]:
    """`n` paths evenly spread over the sorted list (deterministic)."""
    if n >= len(paths):
        return list(paths)
    step = len(paths) / n
    return [paths[int(i * step)] for i in range(n)]


class Touched:
    """Files changed on disk (one appended newline), restored byte for byte with their mtimes."""

    def __init__(self, root: Path, rels: list[str]) -> None:
        self.root = root
        self.saved: list[tuple[Path, bytes, int, int]] = []
        self.rels = rels

    def apply(self, writes: int | None = None) -> float:
        """Appends a newline to each file (`writes` > the file count: round after round over them,
        so the burst is that many writes); returns the seconds the burst took."""
        for rel in self.rels:
            path = self.root / rel
            st = path.stat()
            self.saved.append((path, path.read_bytes(), st.st_atime_ns, st.st_mtime_ns))
        paths = [saved[0] for saved in self.saved]
        started = time.monotonic()
        for i in range(writes or len(paths)):
            with paths[i % len(paths)].open("ab") as fh:
                fh.write(b"\n")
        return time.monotonic() - started

    def restore(self) -> None:
        for path, data, atime, mtime in self.saved:
            path.write_bytes(data)
            os.utime(path, ns=(atime, mtime))
        self.saved.clear()


# --------------------------------------------------------------------------------------------------
# the corpus and its slices
# --------------------------------------------------------------------------------------------------


def all_files(root: Path) -> list[str]:
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        for name in files:
            if not name.startswith("."):
                out.append(name if rel == "." else f"{rel}/{name}")
    out.sort()
    return out


def make_slice(full: Path, limit: int) -> Path:
    """A copy of `limit` files evenly spread over the corpus (both halves), made once per size."""
    target = SLICES / str(limit)
    stamp = SLICES / f".{limit}.done"
    if stamp.is_file() and target.is_dir():
        return target
    if target.exists():
        shutil.rmtree(target)
    chosen = sample(all_files(full), limit)
    log.info("copying a %d-file slice into %s", len(chosen), target)
    for rel in chosen:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(full / rel, dest)
    stamp.write_text(f"{len(chosen)}\n")
    return target


def pick_probes(root: Path, known: set[str] | None) -> list[tuple[str, str, str]]:
    """(query, name, path) of definitions in files spread over the corpus: a long function or type
    name per file, found by extracting the file in-process (trusted, pinned input)."""
    from lsp_server import _native

    files = [p for p in all_files(root) if _native.detect_language(p) in ("c", "javascript", "typescript")]
    if known is not None:
        files = [p for p in files if p in known]
    probes: list[tuple[str, str, str]] = []
    for bucket in range(PROBE_COUNT):  # one probe per eighth of the sorted file list
        part = files[bucket * len(files) // PROBE_COUNT : (bucket + 1) * len(files) // PROBE_COUNT]
        for rel in sample(part, 40):
            try:
                res = _native.extract(rel, (root / rel).read_bytes(), supervised=False)
            except Exception:
                continue
            if res.get("skipped") or res.get("has_error"):
                continue
            names = [
                sym["name"]
                for sym in res["symbols"]
                if sym["kind"] in ("function", "class", "struct", "method")
                and re.fullmatch(r"[A-Za-z_]\w{11,40}", sym["name"])
                and all(sym["name"] != p[1] for p in probes)
            ]
            if names:
                best = max(names, key=len)
                probes.append((best, best, rel))
                break
    return probes


# --------------------------------------------------------------------------------------------------
# phases
# --------------------------------------------------------------------------------------------------


def phase_scan(root: Path, work: Path) -> dict[str, Any]:
    index_dir = work / "cli-index"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    log.info("scan: symscope index --no-embed %s", root)
    out = symscope_index(root, index_dir)
    out["index_dir"] = str(index_dir)
    out["index_size"] = index_sizes(index_dir)
    return out


def phase_switch(root: Path, work: Path) -> dict[str, Any]:
    index_dir = work / "cli-index"
    if not (index_dir / "index.db").is_file():
        return {"error": "no scan index (run the scan phase first)"}
    paths = indexed_paths(index_dir)
    chosen = sample(paths, max(1, round(len(paths) * SWITCH_SHARE)))
    touched = Touched(root, chosen)
    out: dict[str, Any] = {"indexed_files": len(paths), "touched_files": len(chosen), "share": SWITCH_SHARE}
    try:
        out["touch_s"] = round(touched.apply(), 2)
        log.info("switch: %d files changed; updating", len(chosen))
        out["update"] = symscope_index(root, index_dir)
    finally:
        touched.restore()
    log.info("switch: restored; updating again")
    out["update_after_restore"] = symscope_index(root, index_dir)
    out["index_size_after"] = index_sizes(index_dir)
    return out


async def _status(bench) -> dict[str, Any]:
    from lsp_perf import _plain

    result, _ = await bench.timed("symscope/status", None)
    return _plain(result) if result is not None else {}


def _bench(root: Path, index_dir: Path, *, embed: bool, watcher: str, model: str, timeout: float):
    from lsp_perf import Bench, symscope_env

    options = {"indexDir": str(index_dir), "model": model, "embed": embed, "watcher": watcher}
    cmd = [sys.executable, "-m", "lsp_server", "-v", "lsp"]

    class ScaleBench(Bench):
        reindex_passes: list[tuple[float, int, int, float]] = []

        async def _drain(self, stream) -> None:
            while True:
                line = await stream.readline()
                if not line:
                    return
                self.stderr_tail.append(line)
                m = REINDEX_LINE.search(line)
                if m:
                    self.reindex_passes.append((time.monotonic(), int(m[1]), int(m[2]), float(m[3])))

    bench = ScaleBench("symscope", cmd, symscope_env(root), root, options, timeout=timeout)
    bench.reindex_passes = []
    return bench


async def _complete_answer(bench, probes, sent: float, limit_s: float) -> dict[str, Any]:
    import lsp_perf

    saved = lsp_perf.PROBES
    lsp_perf.PROBES = probes
    try:
        return await lsp_perf.first_complete_answer(bench, sent, limit_s)
    finally:
        lsp_perf.PROBES = saved


async def phase_lsp(root: Path, work: Path, probes, args) -> dict[str, Any]:
    index_dir = work / "lsp-index"
    if index_dir.exists():
        shutil.rmtree(index_dir)
    bench = _bench(root, index_dir, embed=args.embed_seconds > 0, watcher="off", model=args.model, timeout=600)
    out: dict[str, Any] = {"index_dir": str(index_dir), "model": args.model, "load_before": load()}
    sent = await bench.start()
    rss = ServerRss(bench.client._server.pid)
    rss.mark("start")
    try:
        out["initialize_to_complete_workspace_symbol"] = await _complete_answer(bench, probes, sent, args.start_limit)
        out["load_at_complete_answer"] = load()
        out["rss_until_complete_answer"] = {**rss.window_summary("start"), **rss.sample()}
        log.info("lsp: complete answer %s", out["initialize_to_complete_workspace_symbol"])
        if args.embed_seconds <= 0:
            return out
        st = await bench.wait_state({"embedding", "ready"}, args.start_limit)
        out["initialize_to_embedding_s"] = round(time.monotonic() - sent, 2) if st else None
        rss.mark("embedding")
        first = await _status(bench)
        t0 = time.monotonic()
        emb: dict[str, Any] = {
            "bound": f"{args.embed_seconds:.0f} s of the server's own sync after its lexical index",
            "vectors_at_start": first.get("vectors"),
            "pending_at_start": first.get("pending"),
            "symbols": first.get("symbols"),
            "load_before": load(),
        }
        finished_at = None
        while time.monotonic() - t0 < args.embed_seconds:
            await asyncio.sleep(min(5.0, max(0.1, args.embed_seconds - (time.monotonic() - t0))))
            if bench.statuses and bench.statuses[-1].get("state") == "ready":
                finished_at = time.monotonic()
                break
        last = await _status(bench)
        t1 = time.monotonic()
        done_vectors = (last.get("vectors") or 0) - (first.get("vectors") or 0)
        emb.update(
            seconds=round(t1 - t0, 1),
            vectors_at_end=last.get("vectors"),
            pending_at_end=last.get("pending"),
            vectors_embedded=done_vectors,
            symbols_per_s=round(done_vectors / (t1 - t0), 1) if t1 > t0 else None,
            server_reported_rate=last.get("embedRate"),
            server_reported_eta_s=last.get("etaSeconds"),
            load_after=load(),
            rss=rss.window_summary("embedding"),
            server_hwm_mb_at_end=rss.sample().get("server_hwm_mb"),
        )
        if finished_at is not None:
            emb["initialize_to_every_symbol_vector_s"] = round(finished_at - sent, 1)
        else:
            emb["initialize_to_every_symbol_vector_s"] = None
            rate = emb["symbols_per_s"]
            emb["why_null"] = (
                f"not run to the end: {last.get('pending')} symbols still pending after the {args.embed_seconds:.0f} s "
                f"slice (at {rate} symbols/s that is about {round(last.get('pending', 0) / rate) if rate else '?'} s more; "
                "a projection, not a measurement)"
            )
        out["embedding"] = emb
        log.info("lsp: embedding %s", emb)
    except Exception as exc:
        log.exception("lsp phase failed")
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["stderr_tail"] = b"".join(bench.stderr_tail).decode("utf-8", "replace")[-2000:]
    finally:
        out["server_hwm_mb_lifetime"] = rss.sample().get("server_hwm_mb")
        rss.stop()
        out["tree_peak_rss_mb"] = await bench.stop()
        out["index_size"] = index_sizes(index_dir)
        out["load_after"] = load()
    return out


async def phase_storm(root: Path, work: Path, probes, args) -> dict[str, Any]:
    index_dir = work / "lsp-index"
    if not (index_dir / "index.db").is_file():
        index_dir = work / "cli-index"
    if not (index_dir / "index.db").is_file():
        return {"error": "no index (run the scan or lsp phase first)"}
    paths = indexed_paths(index_dir)
    chosen = sample(paths, min(args.storm_events, len(paths)))
    bench = _bench(root, index_dir, embed=False, watcher="watchfiles", model=args.model, timeout=600)
    out: dict[str, Any] = {"index_dir": str(index_dir), "embedding": False, "watcher": "watchfiles"}
    sent = await bench.start()
    rss = ServerRss(bench.client._server.pid)
    touched = Touched(root, chosen)
    try:
        out["warm_initialize_to_complete_workspace_symbol"] = await _complete_answer(
            bench, probes, sent, args.start_limit
        )
        st = await bench.wait_state({"ready"}, args.start_limit)
        out["initialize_to_ready_s"] = round(time.monotonic() - sent, 2) if st else None
        await asyncio.sleep(3)  # the watcher's first walk of the tree
        rss.mark("steady")
        steady_from = time.monotonic()
        cpu0 = cpu_seconds(bench.client._server.pid)
        await asyncio.sleep(args.steady_seconds)
        out["steady"] = {
            "seconds": round(time.monotonic() - steady_from, 1),
            "server_cpu_s": round(cpu_seconds(bench.client._server.pid) - cpu0, 2),
            "load": load(),
            **rss.window_summary("steady"),
            **rss.sample(),
        }
        log.info("storm: steady %s", out["steady"])
        rss.mark("storm")
        bench.reindex_passes.clear()
        out["load_before_burst"] = load()
        out["files_changed"] = len(chosen)
        out["writes"] = max(args.storm_events, len(chosen))
        burst_s = touched.apply(out["writes"])
        burst_start = time.monotonic() - burst_s  # the first write
        out["burst_s"] = round(burst_s, 2)
        # watchfiles' DefaultFilter (the server's watcher filter) drops events under node_modules and
        # other tool folders: their files are indexed but their changes are not seen.
        import watchfiles

        ignored = set(watchfiles.DefaultFilter.ignore_dirs)
        expected = sum(1 for p in chosen if not ignored.intersection(Path(p).parts))
        out["files_changed_in_watcher_ignored_dirs"] = len(chosen) - expected
        # Done when every visible file was re-indexed, or when the server has been idle (no pass,
        # under 0.1 CPU seconds per second) for the quiet window; a pass in progress is busy.
        pid = bench.client._server.pid
        last_busy = time.monotonic()
        cpu_prev = cpu_seconds(pid)
        while True:
            await asyncio.sleep(1.0)
            cpu_now = cpu_seconds(pid)
            if cpu_now - cpu_prev > 0.1:
                last_busy = time.monotonic()
            cpu_prev = cpu_now
            changed = sum(p[1] for p in bench.reindex_passes)
            if bench.reindex_passes and changed >= expected and time.monotonic() - bench.reindex_passes[-1][0] >= 2:
                break
            if time.monotonic() - last_busy >= args.quiet_seconds:
                break
            if time.monotonic() - burst_start > args.storm_limit:
                out["storm_limit_reached"] = True
                break
        passes = list(bench.reindex_passes)
        changed = sum(p[1] for p in passes)
        last_pass = passes[-1][0] if passes else None
        out.update(
            reindex_passes=len(passes),
            reindexed_files=changed,
            expected_reindexed_files=expected,
            all_reindexed=changed >= expected,
            burst_to_last_pass_s=round(last_pass - burst_start, 2) if last_pass else None,
            pass_seconds=[round(p[3], 2) for p in passes][:50],
            pass_sizes=[p[1] for p in passes][:50],
        )
        # A quiet window: a rescan loop would keep logging passes and burning CPU here.
        quiet_start_passes = len(bench.reindex_passes)
        cpu0 = cpu_seconds(bench.client._server.pid)
        q0 = time.monotonic()
        await asyncio.sleep(args.quiet_seconds)
        out["quiet_window"] = {
            "seconds": round(time.monotonic() - q0, 1),
            "passes": len(bench.reindex_passes) - quiet_start_passes,
            "server_cpu_s": round(cpu_seconds(bench.client._server.pid) - cpu0, 2),
            "load": load(),
        }
        out["rss_during_storm"] = rss.window_summary("storm")
        out["rss_after"] = rss.sample()
        log.info("storm: %s", {k: out[k] for k in ("reindex_passes", "reindexed_files", "burst_to_last_pass_s")})
    except Exception as exc:
        log.exception("storm phase failed")
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["stderr_tail"] = b"".join(bench.stderr_tail).decode("utf-8", "replace")[-2000:]
    finally:
        rss.stop()
        out["tree_peak_rss_mb"] = await bench.stop()
        touched.restore()
    return out


def phase_outbox(work: Path) -> dict[str, Any]:
    """The embedding queue's read: the store's own `pending_class()` for each embedding class (the
    query one 256-row sync batch runs) on a copy of the lsp phase's index, timed 3 times. Each sync
    batch runs one, so its time bounds the embedding rate at 256 rows per query."""
    import tempfile

    from lsp_server.index.store import EMBED_CLASSES, Store

    source = work / "lsp-index"
    if not (source / "index.db").is_file():
        return {"error": "no lsp index (run the lsp phase first)"}
    per_class: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="scale-outbox-") as tmp:
        for part in source.glob("index.db*"):
            shutil.copy2(part, Path(tmp) / part.name)
        store = Store(Path(tmp) / "index.db", writable=False)
        try:
            rows = store.pending_count()
            for embed_class in EMBED_CLASSES:
                times, got = [], []
                for _ in range(3):
                    started = time.perf_counter()
                    got = store.pending_class(embed_class, 256)
                    times.append(round(time.perf_counter() - started, 4))
                per_class[str(embed_class)] = {"rows_returned": len(got), "query_s": times}
        finally:
            store.close()
    slowest = max(sorted(c["query_s"])[1] for c in per_class.values())
    return {
        "outbox_rows": rows,
        "batch": 256,
        "per_class": per_class,
        "load": load(),
        "max_rows_per_s_from_query_alone": round(256 / max(slowest, 1e-6), 1),
    }


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """Issue #12's targets, each met or missed with the figure it was judged on (None: not measured)."""
    phases = report["phases"]
    steady = (phases.get("storm") or {}).get("steady", {}).get("server_rss_mb")
    emb = (phases.get("lsp") or {}).get("embedding") or {}
    peak = emb.get("rss", {}).get("peak_server_rss_mb")
    workers = emb.get("rss", {}).get("peak_workers_rss_mb")
    rate = emb.get("symbols_per_s")

    def judge(value, limit, smaller: bool) -> dict[str, Any]:
        met = None if value is None else (value <= limit if smaller else value >= limit)
        return {"figure": value, "target": limit, "met": met}

    return {
        "steady_rss_mb (server, idle, after index)": judge(steady, TARGETS["steady_rss_mb"], True),
        "peak_rss_while_embedding_mb (server process)": judge(peak, TARGETS["peak_rss_while_embedding_mb"], True),
        "peak_rss_while_embedding_mb (server + parser workers)": judge(
            None if peak is None else round(peak + (workers or 0), 1), TARGETS["peak_rss_while_embedding_mb"], True
        ),
        "embed_symbols_per_s": judge(rate, TARGETS["embed_symbols_per_s"], False),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["fetch", "run"])
    parser.add_argument("--only", default=",".join(PHASES), help=f"phases, comma-separated: {', '.join(PHASES)}")
    parser.add_argument("--limit-files", type=int, help="a deterministic slice of this many corpus files")
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_FILES}-file slice and short phases")
    parser.add_argument("--model", default="default", help="the lsp phase's model: default, hashing or a folder")
    parser.add_argument("--embed-seconds", type=float, default=600.0, help="the embedding slice (0: none)")
    parser.add_argument("--storm-events", type=int, default=10_000, help="files changed in the watcher storm")
    parser.add_argument("--steady-seconds", type=float, default=30.0, help="idle RSS window before the storm")
    parser.add_argument("--quiet-seconds", type=float, default=15.0, help="the window after the storm")
    parser.add_argument("--storm-limit", type=float, default=1200.0, help="seconds to wait for the storm's passes")
    parser.add_argument("--start-limit", type=float, default=3600.0, help="seconds to wait for a complete answer")
    parser.add_argument("--out", type=Path, default=scale_corpus.CACHE / "last-run.json", help="partial results")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log.setLevel(logging.INFO)
    logging.getLogger("pygls").setLevel(logging.WARNING)
    try:
        if args.action == "fetch":
            json.dump(scale_corpus.fetch(), sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        full = scale_corpus.tree_root()
    except scale_corpus.CorpusError as exc:
        log.error("%s", exc)
        return 1
    if args.quick:
        args.limit_files = args.limit_files or QUICK_FILES
        args.embed_seconds = min(args.embed_seconds, 30.0)
        args.storm_events = min(args.storm_events, 300)
        args.steady_seconds = min(args.steady_seconds, 5.0)
        args.quiet_seconds = min(args.quiet_seconds, 5.0)
    phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phases {sorted(unknown)}; known: {', '.join(PHASES)}")
    root = make_slice(full, args.limit_files) if args.limit_files else full
    work = WORK / (f"slice-{args.limit_files}" if args.limit_files else "full")
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "scale",
        "corpus": {
            "root": str(root),
            "slice_of_files": args.limit_files,
            "files_on_disk": sum(1 for _ in all_files(root)),
            "linux": f"Debian linux {scale_corpus.LINUX_VERSION} (orig tarball, unpatched)",
            "npm": "benchmarks/scale_npm/package-lock.json (npm ci --ignore-scripts)",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_at_start": load(),
        },
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "phases": {},
    }

    def save() -> None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")

    for phase in PHASES:
        if phase not in phases:
            continue
        log.info("phase %s (load %s)", phase, load())
        started = time.monotonic()
        if phase == "scan":
            result = phase_scan(root, work)
        elif phase == "switch":
            result = phase_switch(root, work)
        elif phase == "outbox":
            result = phase_outbox(work)
        else:
            if "probes" not in report:
                cli_db = work / "cli-index" / "index.db"
                known = set(indexed_paths(cli_db.parent)) if cli_db.is_file() else None
                report["probes"] = [list(p) for p in pick_probes(root, known)]
                log.info("probes: %s", report["probes"])
            probes = [tuple(p) for p in report["probes"]]
            runner = phase_lsp if phase == "lsp" else phase_storm
            result = asyncio.run(runner(root, work, probes, args))
        result["phase_wall_s"] = round(time.monotonic() - started, 1)
        report["phases"][phase] = result
        save()
    report["machine"]["load_at_end"] = load()
    report["targets"] = targets(report)
    save()
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
