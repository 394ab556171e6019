"""The index commands of the `symscope` CLI: `index`, `search`, `symbols`, `grep`, `status`.

Owns what those commands do and print: progress bars (rich, on stderr, only on a terminal) for
people, `--json` for machines, and the `-` query mode (one query per stdin line, one JSON line per
query, the index and model loaded once). `cli.py` calls `register_cli` and stays argument parsing.

Must never: print anything but results on stdout (logs and progress go to stderr), run SQL
(everything goes through `Index` / `Searcher`), or import heavy modules before a command runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lsp_server.config import Settings
    from lsp_server.index import Index, IndexProgress, UpdateStats
    from lsp_server.search import SearchResult

log = logging.getLogger(__name__)

# The fields of a result on the command line (the contract); symbol_id and freshness are
# kept too, for tools that want to follow up.
RESULT_FIELDS = (
    "path",
    "name",
    "qualified_name",
    "kind",
    "language",
    "start_line",
    "end_line",
    "score",
    "signature",
    "snippet",
    "why",
    "symbol_id",
    "freshness",
)


# -- registration (called by cli.build_parser) -------------------------------------------------


def register_cli(sub: argparse._SubParsersAction) -> None:
    _register_index(sub)
    _register_query(sub, "search", "hybrid search: natural language or identifiers", _cmd_search, 10)
    _register_query(sub, "symbols", "fuzzy workspace-symbol search: prefixes, abbreviations, typos", _cmd_symbols, 50)
    _register_grep(sub)
    _register_status(sub)


def _common(p: argparse.ArgumentParser, *, root_option: bool) -> None:
    if root_option:
        p.add_argument("--root", default=".", help="workspace root (default: the current directory)")
    p.add_argument("--index-dir", help="index folder (default: a per-user cache folder, or $SYMSCOPE_INDEX_DIR)")
    p.add_argument("--model", help="embedding model: 'default' or a local model folder")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the embedding model runs")


def _register_index(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "index",
        help="build or refresh the index of a workspace",
        description="First run builds the index; later runs redo only changed files and embed only "
        "symbols whose text was never embedded before.",
    )
    p.add_argument("root", nargs="?", default=".", metavar="ROOT", help="workspace root (default: .)")
    _common(p, root_option=False)
    p.add_argument("--no-embed", action="store_true", help="lexical index only (embed later with another run)")
    p.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    p.set_defaults(func=_cmd_index)


def _register_query(sub, name: str, help_text: str, func, default_limit: int) -> None:
    p = sub.add_parser(name, help=help_text)
    p.add_argument("query", metavar="QUERY", help="the query; '-' reads one query per stdin line (JSON lines out)")
    _common(p, root_option=True)
    p.add_argument("--limit", type=int, default=default_limit, help=f"most results (default {default_limit})")
    p.add_argument("--lang", help="only this language (e.g. python, rust)")
    p.add_argument("--path", metavar="GLOB", help="only paths matching this glob, e.g. 'src/**/*.py'")
    p.add_argument("--kind", help="only this kind (function, method, class, ...)")
    if name == "search":
        p.add_argument("--mode", choices=["hybrid", "lexical", "vector"], default="hybrid", help="ranking signals")
        p.add_argument("--expand", action="store_true", help="add callers/callees of the top hits")
    p.add_argument("--no-embed", action="store_true", help="no embedding model (lexical and name search only)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(func=func)


def _register_grep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grep",
        help="exact text or regex search over the indexed files, each hit with its enclosing symbol",
        description="Searches exactly the files the index covers (its ignore rules: never .env, .git/ or "
        "gitignored files). Regexes are linear-time (no backtracking).",
    )
    p.add_argument("pattern", metavar="PATTERN", help="a literal string (or a regex with --regex)")
    p.add_argument("--root", default=".", help="workspace root (default: the current directory)")
    p.add_argument("--index-dir", help="index folder (default: a per-user cache folder, or $SYMSCOPE_INDEX_DIR)")
    p.add_argument("-e", "--regex", action="store_true", help="PATTERN is a regular expression")
    p.add_argument("-i", "--ignore-case", action="store_true", help="case-insensitive")
    p.add_argument("--path", metavar="GLOB", help="only paths matching this glob, e.g. 'src/**/*.py'")
    p.add_argument("-C", "--context", type=int, default=0, metavar="N", help="lines of context around each hit")
    p.add_argument("--limit", type=int, default=100, help="most matching lines (default 100)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_grep)


def _register_status(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show what the index holds")
    p.add_argument("--root", default=".", help="workspace root (default: the current directory)")
    p.add_argument("--index-dir", help="index folder (default: a per-user cache folder, or $SYMSCOPE_INDEX_DIR)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_status)


# -- shared plumbing ---------------------------------------------------------------------------


def _settings(args: argparse.Namespace, root: str) -> Settings:
    from lsp_server.config import Settings

    return Settings.load(
        root,
        index_dir=getattr(args, "index_dir", None),
        model=getattr(args, "model", None),
        device=getattr(args, "device", None),
        embed=False if getattr(args, "no_embed", False) else None,
    )


def _embedder(settings: Settings):
    """The settings' embedder; a model or device that cannot be used is a ConfigError (a clear
    message and exit status 1, not a traceback)."""
    from lsp_server.config import ConfigError
    from lsp_server.embed import EmbedError
    from lsp_server.session import make_embedder

    try:
        return make_embedder(settings)
    except EmbedError as exc:
        raise ConfigError(str(exc)) from exc


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(message: str) -> int:
    print(f"symscope: {message}", file=sys.stderr)
    return 1


@contextmanager
def _progress_bars(enabled: bool):
    """Yields a callback for Index progress: rich bars on stderr when it is a terminal."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(compact=True),
        console=console,
        transient=True,
    ) as bars:
        tasks: dict[str, Any] = {}

        def on_progress(p: IndexProgress) -> None:
            if p.phase == "scan":
                if "scan" not in tasks:
                    tasks["scan"] = bars.add_task("scanning files", total=None)
                bars.update(tasks["scan"], completed=p.done)
            elif p.phase == "embed":
                if "embed" not in tasks:
                    tasks["embed"] = bars.add_task("embedding symbols", total=p.total)
                bars.update(tasks["embed"], completed=p.done, total=p.total)

        yield on_progress


def _run_update(index: Index, show_progress: bool) -> UpdateStats:
    cancel = threading.Event()
    with _progress_bars(show_progress) as on_progress:
        try:
            return index.update(progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise


def _stats_dict(stats: UpdateStats, index: Index) -> dict[str, Any]:
    out = asdict(stats)
    out["seconds"] = round(stats.seconds, 3)
    out["root"] = str(index.root)
    out["index_dir"] = str(index.index_dir)
    out["model_id"] = index.embedder.model_id if index.embedder is not None else None
    out["device"] = getattr(index.embedder, "device", None)
    return out


def _open(settings: Settings, embedder, *, readonly: bool = False) -> Index:
    from lsp_server.index import Index

    return Index.open(settings, embedder=embedder, readonly=readonly)


# -- index -------------------------------------------------------------------------------------


def _cmd_index(args: argparse.Namespace) -> int:
    from lsp_server.config import ConfigError
    from lsp_server.index import IndexError_

    try:
        settings = _settings(args, args.root)
        if not settings.root.is_dir():
            return _fail(f"{settings.root} is not a folder")
        embedder = _embedder(settings)
        with _open(settings, embedder) as index:
            if not index.is_writer:
                return _fail(
                    f"another process is writing the index of {settings.root} and keeps it fresh; "
                    "nothing to do (see `symscope status`)"
                )
            stats = _run_update(index, not args.json)
            if args.json:
                _print_json(_stats_dict(stats, index))
            else:
                _print_stats(stats, index)
            return 1 if any(e.startswith("embedding failed") for e in stats.errors) else 0
    except (ConfigError, IndexError_) as exc:
        return _fail(str(exc))


def _print_stats(stats: UpdateStats, index: Index) -> None:
    skipped = ", ".join(f"{n} {reason}" for reason, n in sorted(stats.skipped.items())) or "none"
    lines = [
        f"files      {stats.files} ({stats.changed} changed, {stats.deleted} deleted)",
        f"symbols    {stats.symbols}",
        f"embedded   {stats.embedded} (reused {stats.reused})"
        + ("" if index.embedder is not None else "  [embedding off]"),
        f"skipped    {skipped}",
        f"seconds    {stats.seconds:.2f}",
    ]
    if stats.pending:
        lines.append(f"pending    {stats.pending} symbols still to embed")
    for failure in stats.parser_failures[:10]:
        lines.append(f"crashed    {failure}")
    for error in stats.errors[:10]:
        lines.append(f"error      {error}")
    if len(stats.errors) > 10:
        lines.append(f"error      ... and {len(stats.errors) - 10} more")
    print("\n".join(lines))


# -- search / symbols --------------------------------------------------------------------------


def _query_command(args: argparse.Namespace, run, *, needs_model: bool) -> int:
    from lsp_server.config import ConfigError
    from lsp_server.index import IndexError_
    from lsp_server.search import Searcher

    if args.limit <= 0:
        return _fail("--limit must be positive")
    try:
        settings = _settings(args, args.root)
        if not settings.root.is_dir():
            return _fail(f"{settings.root} is not a folder")
        embedder = _embedder(settings) if needs_model else None
        with _open(settings, embedder) as index:
            if index.is_empty():
                if not index.is_writer:
                    return _fail("the index is being built by another process; try again shortly")
                print(f"symscope: no index yet for {settings.root}; building it first", file=sys.stderr)
                stats = _run_update(index, True)
                if stats.errors:
                    log.warning("indexing reported %d errors; first: %s", len(stats.errors), stats.errors[0])
            searcher = Searcher(index, embedder)
            if args.query == "-":
                for line in sys.stdin:
                    query = line.rstrip("\r\n")
                    results = run(searcher, query, args)
                    _print_json({"query": query, "results": [_result_dict(r) for r in results]})
                return 0
            results = run(searcher, args.query, args)
            if args.json:
                _print_json({"query": args.query, "results": [_result_dict(r) for r in results]})
            else:
                _print_results(results)
            return 0
    except (ConfigError, IndexError_) as exc:
        return _fail(str(exc))


def _search_one(searcher, query: str, args: argparse.Namespace) -> list[SearchResult]:
    return searcher.search(
        query,
        args.limit,
        lang=args.lang,
        path=args.path,
        kind=args.kind,
        mode=getattr(args, "mode", "hybrid"),
        expand=getattr(args, "expand", False),
    )


def _symbols_one(searcher, query: str, args: argparse.Namespace) -> list[SearchResult]:
    return searcher.symbols(query, args.limit, lang=args.lang, path=args.path, kind=args.kind)


def _cmd_search(args: argparse.Namespace) -> int:
    return _query_command(args, _search_one, needs_model=True)


def _cmd_symbols(args: argparse.Namespace) -> int:
    # Identifier queries never need the model (fast start); a multi-word query to `symbols` is
    # answered by hybrid search, which does.
    needs_model = args.query == "-" or len(args.query.split()) >= 2
    return _query_command(args, _symbols_one, needs_model=needs_model)


def _result_dict(result: SearchResult) -> dict[str, Any]:
    data = result.to_dict()
    return {key: data[key] for key in RESULT_FIELDS}


def _print_results(results: list[SearchResult]) -> None:
    if not results:
        print("no results", file=sys.stderr)
        return
    for r in results:
        print(f"{r.path}:{r.start_line}-{r.end_line}  {r.kind} {r.qualified_name}  [{r.score:.3f}; {r.why}]")
        if r.signature:
            print(f"    {r.signature}")


# -- status ------------------------------------------------------------------------------------


def _cmd_grep(args: argparse.Namespace) -> int:
    from lsp_server.config import ConfigError
    from lsp_server.index import IndexError_
    from lsp_server.text_search import MAX_LIMIT, TextSearchError, as_dict, search_text

    if not 1 <= args.limit <= MAX_LIMIT:
        return _fail(f"--limit must be between 1 and {MAX_LIMIT}")
    try:
        settings = _settings(args, args.root)
        if not settings.root.is_dir():
            return _fail(f"{settings.root} is not a folder")
        with _open(settings, None) as index:
            if index.is_empty():
                if not index.is_writer:
                    return _fail("the index is being built by another process; try again shortly")
                print(f"symscope: no index yet for {settings.root}; listing its files first", file=sys.stderr)
                _run_update(index, True)
            result = search_text(
                index,
                args.pattern,
                regex=args.regex,
                case_insensitive=args.ignore_case,
                path_glob=args.path,
                limit=args.limit,
                context=args.context,
            )
    except TextSearchError as exc:
        return _fail(str(exc))
    except (ConfigError, IndexError_) as exc:
        return _fail(str(exc))
    if args.json:
        _print_json(as_dict(result))
    else:
        lines = []
        for hit in result.hits:
            first = hit.line - len(hit.before)
            lines.extend(f"{hit.path}-{first + i}-{text}" for i, text in enumerate(hit.before))
            where = f"  [{hit.symbol_kind} {hit.symbol}]" if hit.symbol else ""
            lines.append(f"{hit.path}:{hit.line}:{hit.column}:{hit.text}{where}")
            lines.extend(f"{hit.path}-{hit.line + 1 + i}-{text}" for i, text in enumerate(hit.after))
        if lines:
            print("\n".join(lines))
        if result.truncated:
            print(f"symscope: {result.truncated}", file=sys.stderr)
    return 0 if result.hits else 1


def _cmd_status(args: argparse.Namespace) -> int:
    from lsp_server.config import ConfigError
    from lsp_server.index import IndexError_, format_eta

    try:
        settings = _settings(args, args.root)
        if not (settings.resolved_index_dir / "index.db").exists():
            status = {
                "root": str(settings.root),
                "index_dir": str(settings.resolved_index_dir),
                "files": 0,
                "symbols": 0,
                "vectors": 0,
                "pending": 0,
                "model_id": None,
                "device": None,
                "index_bytes": 0,
                "last_error": None,
                "is_writer": False,
                "embed_rate": None,
                "eta_seconds": None,
                "exists": False,
            }
        else:
            with _open(settings, None, readonly=True) as index:
                status = asdict(index.status())
                status["exists"] = True
        if args.json:
            _print_json(status)
        else:
            labels = [
                ("root", "root"),
                ("index", "index_dir"),
                ("files", "files"),
                ("symbols", "symbols"),
                ("vectors", "vectors"),
                ("pending", "pending"),
                ("model", "model_id"),
                ("device", "device"),
                ("size", "index_bytes"),
                ("last error", "last_error"),
            ]
            for label, key in labels:
                value = status[key]
                if key == "index_bytes":
                    value = _human_bytes(value)
                elif key == "pending" and status.get("eta_seconds"):
                    value = f"{value} (about {format_eta(status['eta_seconds'])} at {status['embed_rate']:.0f}/s)"
                print(f"{label:<11}{value if value is not None else '-'}")
            for failure in status.get("parser_failures") or []:
                print(f"{'crashed':<11}{failure}")
            if not status["exists"]:
                print("no index yet: run `symscope index`", file=sys.stderr)
        return 0
    except (ConfigError, IndexError_) as exc:
        return _fail(str(exc))


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
