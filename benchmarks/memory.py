"""Memory of the long-running servers: resident set of `symscope lsp` over its life.

Owns measuring, for one workspace at a time, a real `symscope lsp` process driven over stdio
(raw JSON-RPC frames, no client library): its resident set (VmRSS) sampled from /proc every
100 ms from start until it reports `ready`, then after a few requests and an idle pause; the
kernel's own high-water mark (VmHWM) of the server process; and the supervised parser workers
(child processes) counted separately, by their summed VmRSS and their count. At the end it reads
/proc/PID/smaps_rollup of the server (anonymous vs file-backed resident memory).

Workspaces: `small` (requests-2.32.3 of the perf corpus) or `perf` (the whole perf corpus,
~60k symbols), or any folder. `--cold` empties the index first (the first index, embeddings
included); otherwise an existing index is reused (steady state). `--env KEY=VALUE` passes
environment to the server (e.g. MALLOC_ARENA_MAX=2, or SYMSCOPE_MEMORY=legacy to run the
behaviour before the memory work in the same run), and several `--variant NAME:KEY=VALUE,...`
run one after another for before/after figures from one invocation.

    python benchmarks/memory.py small --cold --variant before:SYMSCOPE_MEMORY=legacy --variant after:
    python benchmarks/memory.py perf --index-dir /tmp/perf-index

Prints one JSON object on stdout; logs go to stderr. Sizes are MiB (2^20 bytes).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from procfs import children, proc_status  # noqa: E402  (benchmarks/ is sys.path[0])

log = logging.getLogger("benchmarks.memory")

MIB = 1 << 20
SAMPLE_EVERY_S = 0.1


# --------------------------------------------------------------------------------------------------
# /proc readings
# --------------------------------------------------------------------------------------------------


def smaps_rollup(pid: int) -> dict[str, float]:
    wanted = ("Rss", "Pss", "Anonymous", "Private_Dirty", "Shared_Clean", "Private_Clean")
    out: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in wanted:
                    out[key] = round(int(rest.split()[0]) * 1024 / MIB, 1)
    except FileNotFoundError:
        pass
    return out


class Sampler:
    """Samples the server's and its workers' resident sets until stopped."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started = time.monotonic()
        self.samples: list[tuple[float, int, int, int]] = []  # (t, server rss, workers rss, workers)
        self.peak_workers = 0
        self.peak_worker_count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def now(self) -> tuple[int, int, int]:
        server = proc_status(self.pid).get("VmRSS", 0)
        kids = children(self.pid)
        workers = sum(proc_status(k).get("VmRSS", 0) for k in kids)
        return server, workers, len(kids)

    def _run(self) -> None:
        while not self._stop.is_set():
            server, workers, count = self.now()
            self.samples.append((time.monotonic() - self.started, server, workers, count))
            self.peak_workers = max(self.peak_workers, workers)
            self.peak_worker_count = max(self.peak_worker_count, count)
            self._stop.wait(SAMPLE_EVERY_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def timeline(self, points: int = 40) -> list[list[float]]:
        """[seconds, server MiB, workers MiB] thinned to about `points` samples."""
        step = max(1, len(self.samples) // points)
        return [[round(t, 1), round(s / MIB, 1), round(w / MIB, 1)] for t, s, w, _ in self.samples[::step]]


# --------------------------------------------------------------------------------------------------
# a minimal LSP client over stdio
# --------------------------------------------------------------------------------------------------


class Client:
    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(cwd)
        )
        self._next = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.responses: dict[int, Any] = {}
        self.statuses: list[dict] = []
        self.stderr_tail: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.stderr_tail = (self.stderr_tail + [line])[-40:]

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    with self._cond:
                        self._cond.notify_all()
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = json.loads(stream.read(length or 0))
            with self._cond:
                if "id" in body and "method" not in body:
                    self.responses[body["id"]] = body
                elif body.get("method") == "symscope/statusChanged":
                    self.statuses.append(body.get("params") or {})
                elif "id" in body:  # a request from the server (configuration, registration)
                    method = body.get("method")
                    result: Any = [None] * len(body["params"]["items"]) if method == "workspace/configuration" else None
                    self._send({"jsonrpc": "2.0", "id": body["id"], "result": result})
                self._cond.notify_all()

    def _send(self, message: dict) -> None:
        data = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 120.0) -> Any:
        with self._lock:
            self._next += 1
            msg_id = self._next
        self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"{method}: no answer ({self.stderr_text()})")
                self._cond.wait(left)
            return self.responses.pop(msg_id).get("result")

    def wait_state(self, states: set[str], timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self.statuses and self.statuses[-1].get("state") in states:
                    return self.statuses[-1]
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return None
                self._cond.wait(left)

    def stderr_text(self) -> str:
        return b"".join(self.stderr_tail[-10:]).decode(errors="replace")

    def close(self) -> None:
        try:
            self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
            self.proc.wait(30)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def initialize(client: Client, root: Path, options: dict[str, Any]) -> None:
    client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"workspace": {"symbol": {}}, "window": {"workDoneProgress": False}},
            "initializationOptions": options,
        },
    )
    client.notify("initialized", {})


def some_requests(client: Client, root: Path) -> int:
    """A few requests an editor sends: workspace symbols (fuzzy), a semantic search, an outline."""
    sent = 0
    for query in ("get", "Session", "parse", "reqst"):
        client.request("workspace/symbol", {"query": query})
        sent += 1
    for query in ("send an http request with retries", "parse the configuration file"):
        client.request("symscope/search", {"query": query, "limit": 20})
        sent += 1
    biggest = max((p for p in root.rglob("*.py") if p.is_file()), key=lambda p: p.stat().st_size, default=None)
    if biggest is not None:
        uri = biggest.as_uri()
        text = biggest.read_text(errors="replace")
        client.notify(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
        )
        client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        sent += 1
    return sent


class McpClient:
    """`symscope mcp` over stdio: newline-delimited JSON-RPC."""

    def __init__(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(cwd)
        )
        self._next = 0

    def _send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: Any) -> Any:
        self._next += 1
        self._send({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params})
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{method}: symscope mcp exited")
            body = json.loads(line)
            if body.get("id") == self._next and "method" not in body:
                return body.get("result")

    def call(self, tool: str, arguments: dict) -> Any:
        return (self.request("tools/call", {"name": tool, "arguments": arguments}) or {}).get("structuredContent")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def measure_mcp(root: Path, index_dir: Path, model: str, extra_env: dict[str, str], *, cold: bool, args) -> dict:
    if cold and index_dir.exists():
        shutil.rmtree(index_dir)
    cmd = [sys.executable, "-m", "lsp_server", "mcp", "--root", str(root), "--index-dir", str(index_dir)]
    cmd += ["--model", model, "--no-watch"]
    client = McpClient(cmd, server_env(extra_env), root)
    sampler = Sampler(client.proc.pid)
    result: dict[str, Any] = {"server": "mcp", "cold": cold}
    try:
        client.request(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "memory", "version": "1"}},
        )
        client._send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        deadline = time.monotonic() + args.ready_timeout
        status: dict = {}
        while time.monotonic() < deadline:
            status = client.call("index_status", {}) or {}
            if status.get("state") in ("ready", "error"):
                break
            time.sleep(0.5)
        result["ready_s"] = round(time.monotonic() - sampler.started, 1)
        result["index"] = {k: status.get(k) for k in ("state", "files", "symbols", "vectors", "model")}
        for name in ("get", "Session", "parse"):
            client.call("find_symbol", {"name": name})
        for query in ("send an http request with retries", "parse the configuration file"):
            client.call("search_code", {"query": query})
        time.sleep(args.idle)
        server, workers, count = sampler.now()
        result.update(
            server_steady_rss_mib=round(server / MIB, 1),
            server_peak_rss_mib=round(proc_status(client.proc.pid).get("VmHWM", 0) / MIB, 1),
            workers_steady_rss_mib=round(workers / MIB, 1),
            workers_steady=count,
            workers_peak_rss_mib=round(sampler.peak_workers / MIB, 1),
        )
    finally:
        sampler.stop()
        client.close()
    return result


# --------------------------------------------------------------------------------------------------
# one run
# --------------------------------------------------------------------------------------------------


def checkout(ref: str, into: Path) -> Path:
    """The Python package of git revision `ref` (with this tree's built native module) under `into`:
    the code before a change, run by the same interpreter and core in the same benchmark run."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", ref, "lsp_server"], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    for native in (REPO_ROOT / "lsp_server").glob("_native*.so"):
        shutil.copy2(native, into / "lsp_server" / native.name)
    return into


def server_env(extra: dict[str, str]) -> dict[str, str]:
    extra = dict(extra)
    code = extra.pop("PYTHONPATH", str(REPO_ROOT))
    env = dict(os.environ)
    env["PYTHONPATH"] = code + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra)
    return env


def measure(root: Path, index_dir: Path, model: str, extra_env: dict[str, str], *, cold: bool, args) -> dict[str, Any]:
    if cold and index_dir.exists():
        shutil.rmtree(index_dir)
    cmd = [sys.executable, "-m", "lsp_server", "lsp"]
    client = Client(cmd, server_env(extra_env), root)
    sampler = Sampler(client.proc.pid)
    result: dict[str, Any] = {"cold": cold, "env": {k: v for k, v in extra_env.items() if k != "PYTHONPATH"}}
    try:
        initialize(client, root, {"indexDir": str(index_dir), "model": model, "watcher": "off"})
        status = client.wait_state({"ready", "error"}, args.ready_timeout)
        result["ready_s"] = round(time.monotonic() - sampler.started, 1) if status else None
        result["index"] = {k: (status or {}).get(k) for k in ("state", "files", "symbols", "vectors", "modelId")}
        at_ready = sampler.now()
        result["server_rss_at_ready_mib"] = round(at_ready[0] / MIB, 1)
        result["requests"] = some_requests(client, root)
        time.sleep(args.idle)
        server, workers, count = sampler.now()
        hwm = proc_status(client.proc.pid).get("VmHWM", 0)
        result.update(
            server_steady_rss_mib=round(server / MIB, 1),
            server_peak_rss_mib=round(hwm / MIB, 1),
            workers_steady_rss_mib=round(workers / MIB, 1),
            workers_steady=count,
            workers_peak_rss_mib=round(sampler.peak_workers / MIB, 1),
            workers_peak=sampler.peak_worker_count,
            server_smaps_rollup_mib=smaps_rollup(client.proc.pid),
        )
    finally:
        sampler.stop()
        client.close()
    result["timeline_s_server_workers_mib"] = sampler.timeline()
    return result


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    name, _, rest = text.partition(":")
    env = dict(item.split("=", 1) for item in rest.split(",") if item)
    return name, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "workspace", help="'small' (requests of the perf corpus), 'perf' (the whole corpus) or a folder"
    )
    parser.add_argument("--model", default="default", help="symscope model: default, hashing or a folder")
    parser.add_argument("--index-dir", help="index folder (default: a temporary one per variant)")
    parser.add_argument("--cold", action="store_true", help="empty the index first: measure the first index")
    parser.add_argument("--warm", action="store_true", help="with --cold: also a second run on the index it left")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds idle after the requests before 'steady'")
    parser.add_argument("--ready-timeout", type=float, default=7200.0)
    parser.add_argument("--variant", action="append", default=[], help="NAME:KEY=VALUE,... (repeatable)")
    parser.add_argument("--server", choices=["lsp", "mcp"], default="lsp")
    parser.add_argument("--before", metavar="REF", help="first run git revision REF's code as variant 'before'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")

    if args.workspace in ("small", "perf"):
        import corpus

        tree = corpus.materialize("perf")
        root = tree / "requests-2.32.3" if args.workspace == "small" else tree
    else:
        root = Path(args.workspace).resolve()
    variants = [parse_variant(v) for v in args.variant] or [("after" if args.before else "default", {})]
    report: dict[str, Any] = {
        "server": args.server,
        "workspace": args.workspace,
        "root": str(root),
        "model": args.model,
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="symscope-memory-") as tmp:
        if args.before:
            code = checkout(args.before, Path(tmp) / "before-code")
            variants.insert(0, ("before", {"PYTHONPATH": str(code)}))
            report["before"] = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", args.before], capture_output=True, text=True
            ).stdout.strip()
        for name, env in variants:
            index_dir = Path(args.index_dir).resolve() if args.index_dir else Path(tmp) / f"index-{name}"
            runs: dict[str, Any] = {}
            run = measure_mcp if args.server == "mcp" else measure
            if args.cold:
                log.info("%s: first index of %s", name, root)
                runs["first_index"] = run(root, index_dir, args.model, env, cold=True, args=args)
            if not args.cold or args.warm:
                log.info("%s: existing index of %s", name, root)
                runs["index_exists"] = run(root, index_dir, args.model, env, cold=False, args=args)
            report["runs"][name] = runs
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
