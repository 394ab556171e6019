"""MCP tool-call latency and answer sizes on a real corpus of >= 50,000 symbols.

Owns measuring, with JSON on stdout and logs on stderr:
  * tool-call latency p50/p95 of `search_code` and `find_symbol` through the mcp SDK's client against
    `symscope mcp` over stdio and over streamable HTTP (real processes), in both protocol modes the SDK
    speaks (`auto` = the stateless 2026-07-28 revision, `legacy` = the initialize handshake, what most
    clients use today), plus the in-process SDK client as the no-transport baseline;
  * answer sizes in tokens (characters / 4 of the text block a model reads) of every tool at its
    defaults.

The index is built once per corpus set and model in benchmarks/.corpus/indexes/ and reused; the servers
open it read-only (`--readonly --no-watch`) so no indexing runs while we measure.

Never: reaches the network after the corpus is cached, reports a figure it did not measure, or measures
before the server's search is hybrid (it waits for vectors and the embedding model).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # there is no model hub here; never try to reach one

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import corpus  # benchmarks/corpus.py (this folder is sys.path[0])
import index_perf  # query sets and percentiles shared with the index benchmark

log = logging.getLogger("benchmarks.mcp_perf")

MIN_SYMBOLS = 50_000
WARMUP_CALLS = 8
READY_TIMEOUT_S = 300


class BenchError(RuntimeError):
    pass


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def tokens(text: str) -> int:
    return (len(text) + 3) // 4


def size_summary(sizes: list[int]) -> dict:
    s = sorted(sizes)
    return {"n": len(s), "p50_tokens": s[len(s) // 2], "max_tokens": s[-1], "mean_tokens": round(sum(s) / len(s), 1)}


# --------------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------------


def build_index(root: Path, index_dir: Path, model: str) -> dict:
    from lsp_server.config import Settings
    from lsp_server.index import Index
    from lsp_server.session import make_embedder

    settings = Settings(root=root, index_dir=index_dir, model=model)
    embedder = make_embedder(settings)
    index = Index.open(settings, embedder=embedder)
    if not index.is_writer:
        index.close()
        raise BenchError(f"another process holds the writer lock on {index_dir}")
    try:
        started = time.perf_counter()
        stats = index.update(progress=index_perf.throttled_progress("index"))
        seconds = time.perf_counter() - started
        status = index.status()
        if status.pending:
            raise BenchError(f"{status.pending} symbols still pending embeddings: {stats.errors}")
        names = [r.name for r in index.iter_symbols()]
        return {
            "index_dir": str(index_dir),
            "model_id": status.model_id,
            "files": status.files,
            "symbols": status.symbols,
            "vectors": status.vectors,
            "update_seconds": round(seconds, 2),
            "changed_files": stats.changed,
            "names": names,
        }
    finally:
        index.close()


def pick_targets(root: Path, index_dir: Path) -> dict:
    """Real arguments for the tools measured at their defaults: a big class, the biggest file by
    symbol count, a much-called name."""
    from lsp_server.config import Settings
    from lsp_server.index import Index

    index = Index.open(Settings(root=root, index_dir=index_dir, embed=False), readonly=True)
    try:
        per_file: dict[str, int] = {}
        biggest = None
        for rec in index.iter_symbols():
            per_file[rec.path] = per_file.get(rec.path, 0) + 1
            span = rec.end_line - rec.start_line
            if rec.kind in ("class", "function", "method") and (biggest is None or span > biggest[0]):
                biggest = (span, rec.path, rec.qualified_name)
        busiest = max(per_file, key=per_file.__getitem__)
        return {
            "get_symbol": {"path": biggest[1], "name": biggest[2]},
            "file_outline": {"path": busiest},
            "callers": {"symbol": "reverse"},  # django.urls.reverse: called from hundreds of places
            "callees": {"symbol": biggest[2], "path": biggest[1]},
            "index_status": {},
        }
    finally:
        index.close()


# --------------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------------


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def server_command(root: Path, index_dir: Path, model: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lsp_server",
        "mcp",
        "--root",
        str(root),
        "--index-dir",
        str(index_dir),
        "--model",
        model,
        "--readonly",
        "--no-watch",
        *extra,
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(root: Path, index_dir: Path, model: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        server_command(root, index_dir, model, "--http", f"127.0.0.1:{port}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=None,
        env=server_env(),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"HTTP server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise BenchError("HTTP server did not listen within 120 s")


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


async def wait_hybrid(client) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        res = await client.call_tool("index_status", {})
        status = res.structured_content
        if status["search_mode"] == "hybrid":
            return status
        if time.monotonic() > deadline:
            raise BenchError(f"search never became hybrid: {status}")
        await asyncio.sleep(0.2)


async def timed_calls(client, tool: str, arg: str, queries: list[str]) -> dict:
    for q in queries[:WARMUP_CALLS]:  # warm-up calls are not measured
        await client.call_tool(tool, {arg: q + " warmup"})
    samples, sizes, errors, empty = [], [], 0, 0
    for q in queries:
        started = time.perf_counter()
        res = await client.call_tool(tool, {arg: q})
        samples.append(time.perf_counter() - started)
        text = res.content[0].text if res.content else ""
        sizes.append(tokens(text))
        errors += bool(res.is_error)
        empty += not res.is_error and not (res.structured_content or {}).get("results")
    return {
        **index_perf.percentiles(samples),
        "answer_size": size_summary(sizes),
        "errors": errors,
        "queries_without_results": empty,
    }


async def measure_client(client, nl_queries: list[str], name_queries: list[str], targets: dict | None) -> dict:
    status = await wait_hybrid(client)
    out = {
        "server_status": {k: status[k] for k in ("symbols", "vectors", "model", "role", "search_mode")},
        "search_code": await timed_calls(client, "search_code", "query", nl_queries),
        "find_symbol": await timed_calls(client, "find_symbol", "name", name_queries),
    }
    if targets:
        sizes = {}
        for tool, args in targets.items():
            res = await client.call_tool(tool, args)
            text = res.content[0].text if res.content else ""
            data = res.structured_content or {}
            sizes[tool] = {
                "args": args,
                "tokens": tokens(text),
                "is_error": bool(res.is_error),
                "truncated": bool(data.get("truncated")),
            }
        out["default_answer_tokens"] = sizes
    return out


async def run_transport(
    kind: str,
    mode: str,
    root: Path,
    index_dir: Path,
    model: str,
    nl_queries: list[str],
    name_queries: list[str],
    targets: dict | None,
) -> dict:
    from mcp import Client, StdioServerParameters

    started = time.perf_counter()
    if kind == "stdio":
        cmd = server_command(root, index_dir, model)
        target = StdioServerParameters(command=cmd[0], args=cmd[1:], env=server_env())
        async with Client(target, mode=mode) as client:
            result = await measure_client(client, nl_queries, name_queries, targets)
    elif kind == "http":
        proc, url = start_http(root, index_dir, model)
        try:
            async with Client(url, mode=mode) as client:
                result = await measure_client(client, nl_queries, name_queries, targets)
        finally:
            proc.terminate()
            proc.wait(30)
    else:  # in-process: the same MCPServer, no transport
        from lsp_server.config import Settings
        from lsp_server.index import Index
        from lsp_server.mcp.server import create_server
        from lsp_server.search import Searcher
        from lsp_server.session import make_embedder

        settings = Settings(root=root, index_dir=index_dir, model=model)
        embedder = make_embedder(settings)
        index = Index.open(settings, embedder=embedder, readonly=True)
        try:
            server = create_server(settings, index=index, searcher=Searcher(index, embedder))
            async with Client(server, mode=mode) as client:
                result = await measure_client(client, nl_queries, name_queries, targets)
        finally:
            index.close()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    log.info(
        "%s/%s: search_code p50 %.1f ms p95 %.1f ms; find_symbol p50 %.1f ms p95 %.1f ms",
        kind,
        mode,
        result["search_code"]["p50_ms"],
        result["search_code"]["p95_ms"],
        result["find_symbol"]["p50_ms"],
        result["find_symbol"]["p95_ms"],
    )
    return result


def run(args: argparse.Namespace) -> dict:
    set_name = "perf-quick" if args.quick else "perf"
    root = corpus.materialize(set_name, args.corpus_cache)
    index_dir = args.index_dir or (args.corpus_cache / "indexes" / f"mcp-{set_name}-{_slug(args.model)}")
    log.info("indexing %s into %s (model %s); reused when already built", root, index_dir, args.model)
    built = build_index(root, index_dir, args.model)
    names = built.pop("names")
    if not args.quick and built["symbols"] < MIN_SYMBOLS:
        raise BenchError(f"only {built['symbols']} symbols; the benchmark needs >= {MIN_SYMBOLS}")
    nl_queries = index_perf.search_queries(args.queries)
    name_queries = index_perf.symbol_queries(names, args.queries, args.seed)
    targets = pick_targets(root, index_dir)

    report: dict = {
        "benchmark": "mcp_perf",
        "corpus": {
            "set": set_name,
            "root": str(root),
            "sources": [f"{s.registry}:{s.name}=={s.version}" for s in corpus.SETS[set_name]],
        },
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": sys.platform,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "index": built,
        "queries": {"search_code": len(nl_queries), "find_symbol": len(name_queries), "warmup_calls": WARMUP_CALLS},
        "token_estimate": "characters / 4 of the JSON text block a model reads (structured content repeats it)",
        "transports": {},
    }
    for spec in args.transports.split(","):
        kind, _, mode = spec.partition(":")
        mode = mode or "auto"
        key = f"{kind}:{mode}"
        log.info("measuring %s", key)
        report["transports"][key] = asyncio.run(
            run_transport(
                kind,
                mode,
                root,
                index_dir,
                args.model,
                nl_queries,
                name_queries,
                targets if key == args.sizes_from else None,
            )
        )
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small perf-quick corpus (a smoke run, < 50k symbols)")
    parser.add_argument(
        "--model",
        default="hashing:256",
        help="embedding model of the index and servers: 'hashing:256' (fast, weightless) or 'default' "
        "(the bundled ONNX model; embedding the corpus takes long once, then it is cached)",
    )
    parser.add_argument("--queries", type=int, default=100, help="measured calls per tool and transport")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--transports",
        default="inprocess:auto,stdio:legacy,stdio:auto,http:legacy,http:auto",
        help="comma-separated KIND:MODE, KIND in inprocess|stdio|http, MODE in auto|legacy",
    )
    parser.add_argument("--sizes-from", default="stdio:legacy", help="the transport that also records default sizes")
    parser.add_argument("--corpus-cache", type=Path, default=corpus.DEFAULT_CACHE)
    parser.add_argument("--index-dir", type=Path, help="index folder (default: under the corpus cache)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx2", "httpx", "mcp"):  # one line per request would drown the progress log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        report = run(args)
    except (BenchError, corpus.CorpusError) as exc:
        log.error("%s", exc)
        return 2
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
