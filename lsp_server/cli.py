"""The `symscope` command line: argument parsing, logging to stderr, output formatting.

Subcommands are thin: each one parses its arguments and calls into the library. stdout carries
results only (and, in `lsp` / `mcp` modes, protocol frames only); logs and progress go to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from lsp_server import __version__

log = logging.getLogger("symscope")

# Each entry adds one subcommand to the parser; front ends register theirs here.
Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _print_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


# -- languages ---------------------------------------------------------------------------------


def _cmd_languages(args: argparse.Namespace) -> int:
    from lsp_server import _native

    langs = _native.languages()
    if args.json:
        _print_json(langs)
        return 0
    width = max(len(lang["name"]) for lang in langs)
    for lang in langs:
        exts = " ".join("." + e for e in lang["extensions"])
        print(f"{lang['name']:<{width}}  {exts:<40}  {', '.join(lang['extracts'])}")
    print(f"{len(langs)} languages", file=sys.stderr)
    return 0


def _register_languages(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("languages", help="list the supported languages and what is extracted from each")
    p.add_argument("--json", action="store_true", help="print one JSON array")
    p.set_defaults(func=_cmd_languages)


# -- outline -----------------------------------------------------------------------------------


def _print_outline(display_path: str, result: dict, as_json: bool) -> None:
    """One file's outline: a JSON object per line, or a header and an indented tree."""
    from lsp_server.outline import outline_json, outline_text, symbol_tree

    tree = symbol_tree(result["symbols"])
    notes = {key: result[key] for key in ("skipped", "error") if result.get(key)}
    notes |= {key: True for key in ("has_error", "timed_out") if result.get(key)}
    if as_json:
        _print_json({"path": display_path, "language": result["language"], "symbols": outline_json(tree), **notes})
        return
    labels = [f"skipped: {notes['skipped']}"] if "skipped" in notes else []
    labels += [f"error: {notes['error']}"] if "error" in notes else []
    labels += ["syntax errors"] if "has_error" in notes else []
    labels += ["parse time budget exceeded"] if "timed_out" in notes else []
    header = f"{display_path} ({result['language'] or 'unknown language'})"
    print(header + (f"  [{'; '.join(labels)}]" if labels else ""))
    for line in outline_text(tree):
        print("  " + line)


def _cmd_outline(args: argparse.Namespace) -> int:
    from lsp_server import _native

    status = 0
    for raw in args.paths:
        path = Path(raw)
        if path.is_dir():
            scanner = _native.Scanner(str(path), max_file_size=args.max_file_size, timeout_ms=args.timeout_ms)
            results = sorted((r for batch in scanner for r in batch), key=lambda r: r["path"])
            for result in results:
                _print_outline(os.path.join(raw, result["path"]), result, args.json)
            continue
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"symscope: cannot read {raw}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        result = _native.extract(
            str(path), data, language=args.language, timeout_ms=args.timeout_ms, max_file_size=args.max_file_size
        )
        _print_outline(raw, result, args.json)
    return status


def _register_outline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("outline", help="print the symbol outline of files or directories")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (directories honour .gitignore)")
    p.add_argument("--json", action="store_true", help="one JSON object per file per line")
    p.add_argument("--language", help="force a language (see `symscope languages`) for file arguments")
    p.add_argument("--max-file-size", type=int, default=2_000_000, help="skip files over this many bytes")
    p.add_argument("--timeout-ms", type=int, default=2000, help="parse time budget per file")
    p.set_defaults(func=_cmd_outline)


# -- mcp ---------------------------------------------------------------------------------------


def _cmd_mcp(args: argparse.Namespace) -> int:
    if args.print_config is not None:
        from lsp_server.mcp import client_config  # prints a snippet: no SDK, no index

        return client_config.print_config(args)
    from lsp_server.mcp import cli  # imports the mcp SDK: only when this command runs

    return cli.run(args)


def _register_mcp(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve the workspace index to AI agents over MCP (stdio by default)",
        description="Serve the index over the Model Context Protocol: stdio by default, or streamable "
        "HTTP at http://HOST:PORT/mcp with --http. The bearer token comes from --token or "
        "$SYMSCOPE_MCP_TOKEN (prefer the variable: arguments are visible to other local users).",
    )
    p.add_argument(
        "--root",
        action="append",
        help="workspace root (default: the current directory); repeat it to serve several roots, whose paths "
        "are then <root name>/<path inside the root>",
    )
    p.add_argument("--index-dir", help="index folder (default: per-user cache, or $SYMSCOPE_INDEX_DIR)")
    p.add_argument(
        "--http", metavar="[HOST:]PORT", help="serve streamable HTTP instead of stdio (host 127.0.0.1 unless given)"
    )
    p.add_argument("--token", help="require 'Authorization: Bearer TOKEN' on HTTP (default: $SYMSCOPE_MCP_TOKEN)")
    p.add_argument(
        "--allow-origin", action="append", metavar="ORIGIN", help="extra browser Origin allowed on HTTP (repeatable)"
    )
    p.add_argument("--model", help="embedding model: 'default', 'hashing' or a local model folder")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the embedding model runs")
    p.add_argument("--no-embed", action="store_true", help="no embedding model: lexical and name search only")
    p.add_argument("--readonly", action="store_true", help="never write the index (another process keeps it fresh)")
    p.add_argument("--no-watch", action="store_true", help="index once at start instead of watching files")
    p.add_argument(
        "--print-config",
        metavar="CLIENT",
        help="print the snippet registering this server (absolute command, --root and the options given) "
        "with CLIENT: claude-code, codex, cursor, gemini or vscode; where it goes is said on stderr",
    )
    p.set_defaults(func=_cmd_mcp)


# -- lsp ---------------------------------------------------------------------------------------


def _cmd_lsp(args: argparse.Namespace) -> int:
    from lsp_server.lsp import server  # imports pygls: only when this command runs

    base = {"index_dir": args.index_dir, "model": args.model, "device": args.device}
    if args.no_embed:
        base["embed"] = False
    return server.main({k: v for k, v in base.items() if v is not None}, mcp_port=args.mcp_port)


def _register_lsp(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lsp",
        help="run the language server on stdin/stdout (for editors)",
        description="Language server over stdio: outlines, workspace symbols, semantic search "
        "(symscope/search). Client initializationOptions override these flags.",
    )
    p.add_argument("--index-dir", help="index folder (default: per-user cache, or $SYMSCOPE_INDEX_DIR)")
    p.add_argument("--model", help="embedding model: 'default', 'hashing' or a local model folder")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the embedding model runs")
    p.add_argument("--no-embed", action="store_true", help="no embedding model: lexical and name search only")
    p.add_argument(
        "--mcp-port", type=int, metavar="N", help="also serve MCP (streamable HTTP) on 127.0.0.1:N over the same index"
    )
    p.add_argument(
        "--stdio", action="store_true", help="accepted for editors that pass it; stdio is the only transport"
    )
    p.set_defaults(func=_cmd_lsp)


# -- entry point -------------------------------------------------------------------------------

REGISTRARS: list[Registrar] = [_register_languages, _register_outline, _register_mcp, _register_lsp]


def _load_front_end_registrars() -> list[Registrar]:
    """Index commands (index/search/symbols/status) live beside the code they drive, in
    `lsp_server.commands`, which keeps heavy imports inside its handlers."""
    try:
        commands = importlib.import_module("lsp_server.commands")
    except ModuleNotFoundError as exc:
        if exc.name != "lsp_server.commands":
            raise
        return []
    return [commands.register_cli]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="symscope", description="Local code intelligence: symbols, search, LSP, MCP.")
    parser.add_argument("--version", action="version", version=f"symscope {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRARS + _load_front_end_registrars():
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("symscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `symscope outline . | head`: the reader left; exit quietly.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
