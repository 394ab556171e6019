"""Language-server performance: symscope side by side with established Python language servers.

Owns measuring, over stdio with a real LSP client library (pygls' LanguageClient), on one real corpus
of >= 50,000 symbols (benchmarks/corpus.py, set "perf": Django's sdist with its tests, Flask,
Requests, Click and npm packages), for each server in turn (never two at once):
  * time from sending `initialize` to the first *complete* workspace/symbol answer: every probe
    query (symbols spread over the corpus) returns its expected definition;
  * warm workspace/symbol latency p50/p95 over ~30 identifier queries (names, prefixes, abbreviations);
  * documentSymbol latency p50/p95 right after a one-line edit (didChange) in a 5,000+-line file;
  * edit-to-searchable latency: a function appended to a file on disk (plus the
    didChangeWatchedFiles notification every client sends) until workspace/symbol finds it;
  * peak RSS of the server's whole process tree (sampled from /proc every 200 ms).
Latencies run from sending a request to its response arriving (parsed JSON, before the client
library builds objects from it), one request at a time.
symscope runs twice: cold (an empty index; also the time until its embeddings are done) and warm
(the index that run left). Peers (jedi-language-server, basedpyright, pinned below) are installed
from PyPI into benchmarks/.corpus/peers-venv with `uv pip install` when missing.

Prints one JSON object on stdout; logs go to stderr.
    python benchmarks/lsp_perf.py                       # symscope (default model) vs both peers
    python benchmarks/lsp_perf.py --model hashing --servers symscope,jedi   # quick run

Never: leaves a corpus file modified (every edit is undone in a `finally`), runs two servers at the
same time, or reports a figure it did not measure (a server that timed out says so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(REPO_ROOT))

from lsprotocol import types as t  # noqa: E402
from pygls.lsp.client import LanguageClient  # noqa: E402
from pygls.protocol import LanguageServerProtocol  # noqa: E402

log = logging.getLogger("benchmarks.lsp_perf")

PEERS = {"jedi": ("jedi-language-server", "0.47.0"), "basedpyright": ("basedpyright", "1.40.2")}
PEERS_VENV = BENCH_DIR / ".corpus" / "peers-venv"

# (query, expected name, path suffix): definitions spread over the corpus, so a server that has
# seen only part of it cannot answer all of them.
PROBES = [
    ("QuerySet", "QuerySet", "django/db/models/query.py"),
    ("BaseCommand", "BaseCommand", "django/core/management/base.py"),
    ("CsrfViewMiddleware", "CsrfViewMiddleware", "django/middleware/csrf.py"),
    ("HTTPAdapter", "HTTPAdapter", "requests/adapters.py"),
    ("Blueprint", "Blueprint", "flask/blueprints.py"),
    ("SchemaTests", "SchemaTests", "tests/schema/tests.py"),
]
# Warm workspace/symbol queries: whole names, prefixes and abbreviations people type.
QUERIES = [
    "QuerySet",
    "get_or_create",
    "ModelAdmin",
    "select_related",
    "CsrfViewMiddleware",
    "formfield_for_dbfield",
    "ManyToManyField",
    "GenericForeignKey",
    "HttpResponseRedirect",
    "reverse_lazy",
    "BaseCommand",
    "Paginator",
    "RequestFactory",
    "urlencode",
    "slugify",
    "render_to_string",
    "get_user_model",
    "DatabaseWrapper",
    "AlterField",
    "cached_property",
    "prefetch_related_objects",
    "HTTPAdapter",
    "Blueprint",
    "url_for",
    "make_response",
    "ModelAd",
    "get_or_cr",
    "HttpResp",
    "getusermodel",
    "slugif",
]
BIG_FILE = "django-5.1.4/tests/schema/tests.py"  # 5,721 lines
EDIT_FILE = "django-5.1.4/django/utils/text.py"
POLL_S = 1.0  # between rounds of probe queries while a server starts (each round costs the server work)


# --------------------------------------------------------------------------------------------------
# measuring helpers
# --------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": _ms(percentile(values, 0.5)),
        "p95_ms": _ms(percentile(values, 0.95)),
        "max_ms": _ms(max(values) if values else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class TreeRss:
    """Peak resident memory of a process and all its descendants, sampled from /proc."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        # /proc/PID/task/TID/children lists direct children: a few small reads per sample, so the
        # sampler (a thread of this client) does not delay the responses it is timing.
        out, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tasks:
                try:
                    with open(f"/proc/{pid}/task/{tid}/children") as fh:
                        todo.extend(int(c) for c in fh.read().split())
                except OSError:
                    pass
        return out

    def _rss_kb(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            total = sum(self._rss_kb(pid) for pid in self._tree())
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(2)
        return round(self.peak_kb / 1024, 1)


# --------------------------------------------------------------------------------------------------
# a client that talks to one server
# --------------------------------------------------------------------------------------------------


class TimingProtocol(LanguageServerProtocol):
    """pygls' client protocol, noting when each response arrives: after the JSON is parsed, before
    cattrs turns it into lsprotocol objects (tens of ms for a large outline), so latencies measure
    the server and the pipe, not this client's bookkeeping."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.arrivals: dict[Any, float] = {}

    def structure_message(self, data):
        if "jsonrpc" in data and "id" in data and ("result" in data or "error" in data) and "method" not in data:
            self.arrivals[data["id"]] = time.perf_counter()
        return super().structure_message(data)


class Bench:
    def __init__(
        self,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        root: Path,
        init_options: Any = None,
        settings: dict | None = None,
        timeout: float = 300.0,
    ) -> None:
        self.name, self.cmd, self.env, self.root = name, cmd, env, root
        self.init_options, self.settings, self.timeout = init_options, settings or {}, timeout
        self.client = LanguageClient("lsp-perf", "1.0", protocol_cls=TimingProtocol)
        self._ids = 0
        self.statuses: list[dict] = []
        self.stderr_tail: deque[bytes] = deque(maxlen=200)
        self._status_changed = asyncio.Event()
        self.rss: TreeRss | None = None
        self.version = 0
        c = self.client

        @c.feature(t.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def _create(params):
            return None

        @c.feature(t.CLIENT_REGISTER_CAPABILITY)
        def _register(params):
            return None

        @c.feature(t.WORKSPACE_CONFIGURATION)
        def _configuration(params):
            return [self.settings.get(item.section or "", None) for item in params.items]

        @c.feature(t.PROGRESS)
        def _progress(params):
            pass

        @c.feature(t.WINDOW_LOG_MESSAGE)
        def _log(params):
            pass

        @c.feature(t.WINDOW_SHOW_MESSAGE)
        def _show(params):
            log.info("%s says: %s", self.name, params.message)

        @c.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _diagnostics(params):
            pass

        @c.feature("symscope/statusChanged")
        def _status(params):
            self.statuses.append(_plain(params))
            self._status_changed.set()

    async def start(self) -> float:
        """Start the server and send initialize; returns the monotonic time initialize was sent."""
        await self.client.start_io(*self.cmd, env=self.env, cwd=str(self.root))
        proc = self.client._server
        asyncio.ensure_future(self._drain(proc.stderr))
        self.rss = TreeRss(proc.pid)
        sent = time.monotonic()
        caps = _client_capabilities()
        await asyncio.wait_for(
            self.client.initialize_async(
                t.InitializeParams(
                    capabilities=caps,
                    process_id=os.getpid(),
                    root_uri=self.root.as_uri(),
                    workspace_folders=[t.WorkspaceFolder(uri=self.root.as_uri(), name=self.root.name)],
                    initialization_options=self.init_options,
                )
            ),
            self.timeout,
        )
        self.client.initialized(t.InitializedParams())
        self.client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=self.settings))
        return sent

    async def _drain(self, stream) -> None:
        while True:
            line = await stream.readline()
            if not line:
                return
            self.stderr_tail.append(line)

    async def timed(self, method: str, params: Any) -> tuple[Any, float]:
        """(result, seconds from sending the request to its response arriving)."""
        self._ids += 1
        msg_id = f"bench-{self._ids}"
        protocol = self.client.protocol
        sent = time.perf_counter()
        result = await asyncio.wait_for(protocol.send_request_async(method, params, msg_id=msg_id), self.timeout)
        return result, protocol.arrivals.pop(msg_id, time.perf_counter()) - sent

    async def workspace_symbol(self, query: str) -> list:
        return list((await self.timed(t.WORKSPACE_SYMBOL, t.WorkspaceSymbolParams(query=query)))[0] or [])

    async def wait_state(self, states: set[str], timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            if self.statuses and self.statuses[-1].get("state") in states:
                return self.statuses[-1]
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._status_changed.clear()
            try:
                await asyncio.wait_for(self._status_changed.wait(), min(left, 5))
            except asyncio.TimeoutError:
                pass

    async def stop(self) -> float | None:
        peak = self.rss.stop() if self.rss else None
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
        except Exception as exc:
            log.warning("%s did not shut down cleanly: %s", self.name, exc)
        proc = self.client._server
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except asyncio.TimeoutError:
            proc.kill()
        try:
            await asyncio.wait_for(self.client.stop(), 10)
        except Exception:
            pass
        return peak


def _plain(obj: Any) -> Any:
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


def _client_capabilities() -> t.ClientCapabilities:
    """VS Code's captured capabilities (from pytest-lsp), so every server sees the same client."""
    from pytest_lsp import client_capabilities

    return client_capabilities("visual-studio-code")


def _found(results: list, name: str, suffix: str) -> bool:
    for s in results:
        loc = getattr(s, "location", None)
        uri = getattr(loc, "uri", "") if loc is not None else ""
        if s.name == name and uri.endswith(suffix):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# the measurements
# --------------------------------------------------------------------------------------------------


async def first_complete_answer(bench: Bench, sent: float, limit_s: float) -> dict[str, Any]:
    """Poll the probe queries until every one returns its definition."""
    missing = list(PROBES)
    polls = 0
    while missing:
        polls += 1
        still = []
        for query, name, suffix in missing:
            try:
                if not _found(await bench.workspace_symbol(query), name, suffix):
                    still.append((query, name, suffix))
            except asyncio.TimeoutError:
                still.append((query, name, suffix))
        missing = still
        if missing:
            if time.monotonic() - sent > limit_s:
                return {
                    "seconds": None,
                    "error": f"incomplete after {limit_s}s: {[m[0] for m in missing]}",
                    "polls": polls,
                }
            await asyncio.sleep(POLL_S)
    return {"seconds": round(time.monotonic() - sent, 3), "polls": polls, "resolution_s": POLL_S}


async def warm_workspace_symbol(bench: Bench, rounds: int, budget_s: float) -> dict[str, Any]:
    for q in QUERIES[:5]:  # warm-up (caches, lazy tables)
        await bench.workspace_symbol(q)
    times: list[float] = []
    counts: list[int] = []
    started = time.monotonic()
    for _ in range(rounds):
        for q in QUERIES:
            res, seconds = await bench.timed(t.WORKSPACE_SYMBOL, t.WorkspaceSymbolParams(query=q))
            times.append(seconds)
            counts.append(len(res or []))
            if time.monotonic() - started > budget_s:
                break
        if time.monotonic() - started > budget_s:
            break
    out = summary_ms(times)
    out["mean_results"] = round(statistics.mean(counts), 1) if counts else None
    return out


async def document_symbol_after_edit(bench: Bench, iterations: int, budget_s: float) -> dict[str, Any]:
    path = bench.root / BIG_FILE
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    uri = path.as_uri()
    bench.version = 1
    bench.client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    ident = t.TextDocumentIdentifier(uri=uri)
    symbols, first_s = await bench.timed(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL, t.DocumentSymbolParams(ident))
    rng = random.Random(7)
    times: list[float] = []
    started = time.monotonic()
    for i in range(iterations):
        line = rng.randrange(50, len(lines) - 50)
        col = len(lines[line])
        bench.version += 1
        bench.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=bench.version),
                content_changes=[
                    t.TextDocumentContentChangePartial(
                        range=t.Range(t.Position(line, col), t.Position(line, col)), text=f"  # edit {i}"
                    )
                ],
            )
        )
        lines[line] += f"  # edit {i}"
        _, seconds = await bench.timed(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL, t.DocumentSymbolParams(ident))
        times.append(seconds)
        if time.monotonic() - started > budget_s:
            break
    bench.client.text_document_did_close(t.DidCloseTextDocumentParams(ident))
    out = summary_ms(times)
    out.update(file=BIG_FILE, lines=len(text.split("\n")), symbols_top_level=len(symbols or []), first_ms=_ms(first_s))
    return out


async def edit_to_searchable(bench: Bench, repeats: int, limit_s: float) -> dict[str, Any]:
    path = bench.root / EDIT_FILE
    original = path.read_bytes()
    times: list[float] = []
    errors: list[str] = []
    try:
        for n in range(repeats):
            name = f"symscope_probe_{n}_{random.randrange(1 << 30)}"
            path.write_bytes(original + f"\n\ndef {name}(value):\n    return value\n".encode())
            t0 = time.monotonic()
            bench.client.workspace_did_change_watched_files(
                t.DidChangeWatchedFilesParams([t.FileEvent(uri=path.as_uri(), type=t.FileChangeType.Changed)])
            )
            while True:
                try:
                    if _found(await bench.workspace_symbol(name), name, EDIT_FILE):
                        times.append(time.monotonic() - t0)
                        break
                except asyncio.TimeoutError:
                    pass
                if time.monotonic() - t0 > limit_s:
                    errors.append(f"{name} not searchable after {limit_s}s")
                    break
                await asyncio.sleep(0.01)
    finally:
        path.write_bytes(original)
        bench.client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams([t.FileEvent(uri=path.as_uri(), type=t.FileChangeType.Changed)])
        )
    out = summary_ms(times)
    if errors:
        out["errors"] = errors
    return out


async def measure(bench: Bench, args, *, cold_label: str, extra=None) -> dict[str, Any]:
    result: dict[str, Any] = {"command": " ".join(bench.cmd)}
    sent = await bench.start()
    try:
        result["initialize_to_complete_workspace_symbol"] = await first_complete_answer(bench, sent, args.start_limit)
        log.info("%s: complete answer after %s", bench.name, result["initialize_to_complete_workspace_symbol"])
        if extra is not None:
            await extra(bench, result, sent)
        # Measured even when the start never completed: a slow or partial answer is still a latency.
        result["workspace_symbol_warm"] = await warm_workspace_symbol(bench, args.rounds, args.budget)
        log.info("%s: warm workspace/symbol %s", bench.name, result["workspace_symbol_warm"])
        result["document_symbol_after_edit"] = await document_symbol_after_edit(bench, args.edits, args.budget)
        log.info("%s: documentSymbol after edit %s", bench.name, result["document_symbol_after_edit"])
        result["edit_to_searchable"] = await edit_to_searchable(bench, args.saves, args.save_limit)
        log.info("%s: edit to searchable %s", bench.name, result["edit_to_searchable"])
    except Exception as exc:
        log.exception("%s failed", bench.name)
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["stderr_tail"] = b"".join(bench.stderr_tail).decode("utf-8", "replace")[-2000:]
    finally:
        result["peak_rss_mb"] = await bench.stop()
    return result


# --------------------------------------------------------------------------------------------------
# the servers
# --------------------------------------------------------------------------------------------------


def symscope_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    return env


async def run_symscope(root: Path, args, work: Path) -> dict[str, Any]:
    index_dir = Path(args.index_dir).resolve() if args.index_dir else work / "symscope-index"
    options = {"indexDir": str(index_dir), "model": args.model}
    cmd = [sys.executable, "-m", "lsp_server", "lsp"]
    out: dict[str, Any] = {"model": args.model}

    async def until_ready(bench: Bench, result: dict, sent: float) -> None:
        status = await bench.wait_state({"ready"}, args.embed_limit)
        result["initialize_to_ready_with_vectors_s"] = round(time.monotonic() - sent, 3) if status else None
        final = bench.statuses[-1] if bench.statuses else {}
        result["index"] = {
            k: final.get(k) for k in ("files", "symbols", "vectors", "pending", "modelId", "device", "indexBytes")
        }
        log.info("symscope: ready after %s: %s", result["initialize_to_ready_with_vectors_s"], result["index"])

    if not args.skip_cold:
        if index_dir.exists():
            shutil.rmtree(index_dir)  # cold means an empty index
        bench = Bench("symscope", cmd, symscope_env(work), root, options, timeout=args.timeout)
        out["cold"] = await measure(bench, args, cold_label="cold", extra=until_ready)
    bench = Bench("symscope", cmd, symscope_env(work), root, options, timeout=args.timeout)
    out["warm"] = await measure(bench, args, cold_label="warm", extra=until_ready)
    return out


def ensure_peers(names: list[str]) -> Path:
    wanted = [PEERS[n] for n in names]
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "-q", "--python", sys.executable, str(PEERS_VENV)], check=True)
    missing = [f"{pkg}=={ver}" for pkg, ver in wanted if not _installed(python, pkg, ver)]
    if missing:
        log.info("installing %s into %s", missing, PEERS_VENV)
        subprocess.run(["uv", "pip", "install", "-q", "--python", str(python), *missing], check=True)
    return PEERS_VENV / "bin"


def _installed(python: Path, pkg: str, version: str) -> bool:
    proc = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({pkg!r}))"],
        capture_output=True,
        text=True,
    )
    return proc.returncode == 0 and proc.stdout.strip() == version


async def run_peer(name: str, root: Path, args, bin_dir: Path) -> dict[str, Any]:
    pkg, version = PEERS[name]
    env = dict(os.environ)
    env["PATH"] = str(bin_dir) + os.pathsep + env.get("PATH", "")
    if name == "jedi":
        cmd = [str(bin_dir / "jedi-language-server")]
        # maxSymbols <= 0 returns every match: the default (20) hides most definitions of busy names,
        # so the probes could never be complete.
        init = {"workspace": {"symbols": {"maxSymbols": 0}}}
        settings: dict = {}
    else:
        cmd = [str(bin_dir / "basedpyright-langserver"), "--stdio"]
        init = None
        settings = {"basedpyright": {"analysis": {"diagnosticMode": "openFilesOnly"}}, "python": {}}
    bench = Bench(name, cmd, env, root, init, settings=settings, timeout=args.timeout)
    result = await measure(bench, args, cold_label="cold")
    result["package"] = f"{pkg}=={version}"
    return result


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def _corpus(args) -> Path:
    if args.workspace:
        return Path(args.workspace).resolve()
    import corpus

    return corpus.materialize(args.corpus_set)


def _check_corpus(root: Path) -> None:
    for _, name, suffix in PROBES:
        hits = [p for p in root.rglob(Path(suffix).name) if p.as_posix().endswith(suffix)]
        if not hits or not any(
            f"class {name}" in p.read_text(errors="replace") or f"def {name}" in p.read_text(errors="replace")
            for p in hits
        ):
            raise SystemExit(f"corpus at {root} lacks probe {name} in {suffix}")
    for rel in (BIG_FILE, EDIT_FILE):
        if not (root / rel).is_file():
            raise SystemExit(f"corpus at {root} lacks {rel}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus-set", default="perf")
    parser.add_argument("--workspace", help="benchmark this folder instead of a corpus set")
    parser.add_argument("--servers", default="symscope,jedi,basedpyright")
    parser.add_argument("--model", default="default", help="symscope model: default, hashing or a folder")
    parser.add_argument(
        "--index-dir",
        help="symscope's index folder, emptied for the cold run and kept for later --skip-cold runs (default: a temporary one)",
    )
    parser.add_argument("--skip-cold", action="store_true", help="symscope: only the warm run (needs --index-dir)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the warm query list")
    parser.add_argument("--edits", type=int, default=40, help="didChange + documentSymbol iterations")
    parser.add_argument("--saves", type=int, default=5, help="edit-to-searchable repetitions")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds per latency series at most")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per request at most")
    parser.add_argument("--start-limit", type=float, default=900.0, help="seconds to wait for a complete answer")
    parser.add_argument("--embed-limit", type=float, default=3600.0, help="seconds to wait for symscope's vectors")
    parser.add_argument("--save-limit", type=float, default=60.0, help="seconds to wait for a saved edit")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log.setLevel(logging.INFO)
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message body at INFO
    if args.skip_cold and not args.index_dir:
        parser.error("--skip-cold needs --index-dir (an index a previous run built)")
    root = _corpus(args)
    _check_corpus(root)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    report: dict[str, Any] = {
        "benchmark": "lsp_perf",
        "corpus": {
            "root": str(root),
            "set": None if args.workspace else args.corpus_set,
            "python_files": sum(1 for _ in root.rglob("*.py")),
        },
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "client": "pygls LanguageClient over stdio, VS Code 1.65 captured capabilities",
        "queries": {"probes": [p[0] for p in PROBES], "warm": QUERIES},
        "servers": {},
    }
    peers = [s for s in servers if s in PEERS]
    bin_dir = ensure_peers(peers) if peers else None
    with tempfile.TemporaryDirectory(prefix="lsp-perf-") as tmp:
        work = Path(tmp)
        for name in servers:
            log.info("benchmarking %s", name)
            if name == "symscope":
                report["servers"]["symscope"] = asyncio.run(run_symscope(root, args, work))
            elif name in PEERS:
                report["servers"][PEERS[name][0]] = asyncio.run(run_peer(name, root, args, bin_dir))
            else:
                parser.error(f"unknown server {name!r} (symscope, jedi, basedpyright)")
    report["comparison"] = compare(report["servers"])
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def compare(servers: dict[str, Any]) -> dict[str, Any]:
    """symscope (warm run) against each peer, metric by metric: True where symscope is faster/smaller."""
    mine = servers.get("symscope", {}).get("warm")
    if not mine:
        return {}
    cold = servers.get("symscope", {}).get("cold") or mine

    def get(result: dict, *path):
        for key in path:
            if not isinstance(result, dict):
                return None
            result = result.get(key)
        return result

    metrics = {
        "initialize_to_complete_workspace_symbol_s (symscope cold)": (
            cold,
            ("initialize_to_complete_workspace_symbol", "seconds"),
        ),
        "workspace_symbol_warm_p95_ms": (mine, ("workspace_symbol_warm", "p95_ms")),
        "document_symbol_after_edit_p95_ms": (mine, ("document_symbol_after_edit", "p95_ms")),
        "edit_to_searchable_p50_ms": (mine, ("edit_to_searchable", "p50_ms")),
        "peak_rss_mb": (mine, ("peak_rss_mb",)),
    }
    out: dict[str, Any] = {
        "goals": {
            "workspace_symbol_warm_p95_under_10ms": (get(mine, "workspace_symbol_warm", "p95_ms") or 1e9) < 10,
            "document_symbol_after_edit_p95_under_10ms": (get(mine, "document_symbol_after_edit", "p95_ms") or 1e9)
            < 10,
        }
    }
    for peer, result in servers.items():
        if peer == "symscope":
            continue
        row = {}
        for metric, (source, path) in metrics.items():
            a, b = get(source, *path), get(result, *path)
            row[metric] = {"symscope": a, peer: b, "symscope_better": None if a is None or b is None else a < b}
        out[peer] = row
    return out


if __name__ == "__main__":
    sys.exit(main())
