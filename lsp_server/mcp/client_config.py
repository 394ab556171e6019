"""`symscope mcp --print-config CLIENT`: the snippet that registers this server with an MCP client.

Owns the per-client formats (checked against each client's documentation, 2026-12):

  claude-code  `.mcp.json` in the project root (or `claude mcp add --scope project ...`):
               {"mcpServers": {NAME: {"type": "stdio", "command", "args", "env"}}}
  cursor       `.cursor/mcp.json` (this project) or `~/.cursor/mcp.json` (every project):
               {"mcpServers": {NAME: {"command", "args"}}}
  vscode       `.vscode/mcp.json` in the workspace: {"servers": {NAME: {"type": "stdio", ...}}}
  codex        `~/.codex/config.toml` (or `.codex/config.toml` of a trusted project):
               [mcp_servers.NAME] command = ..., args = [...]
  gemini       `.gemini/settings.json` (project) or `~/.gemini/settings.json` (user):
               {"mcpServers": {NAME: {"command", "args"}}}

The command is absolute: the `symscope` script this process runs from (or the one beside its
interpreter), else the interpreter itself with `-m lsp_server`; every `--root` given is there, as
an absolute path, in the order given (the first one is where the project-level files go). stdout gets the snippet only, so it can be redirected into a new file; where it
goes is said on stderr.

Must never: import the MCP SDK or open the index (printing a snippet touches nothing), or print
anything but the snippet on stdout.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SERVER_KEY = "symscope"


def server_command() -> list[str]:
    """The absolute command that starts this installation's CLI."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if os.path.basename(argv0) == "symscope" and os.path.isfile(argv0):
        return [os.path.abspath(argv0)]
    # Not resolved through symlinks: a virtual environment's python is a link whose target would
    # lose the environment.
    interpreter = os.path.abspath(sys.executable)
    script = os.path.join(os.path.dirname(interpreter), "symscope")
    if os.path.isfile(script) and os.access(script, os.X_OK):
        return [script]
    return [interpreter, "-m", "lsp_server"]


def given_roots(args: Any) -> list[Path]:
    """Every --root, absolute, in order (the current directory when none was given)."""
    given = getattr(args, "root", None) or ["."]
    if isinstance(given, (str, os.PathLike)):
        given = [given]
    return [Path(r).expanduser().resolve() for r in given]


def server_args(args: Any, roots: list[Path]) -> list[str]:
    """`mcp --root ROOT...` plus the options given along with --print-config."""
    out = ["mcp"]
    for root in roots:
        out += ["--root", str(root)]
    if getattr(args, "index_dir", None):
        out += ["--index-dir", str(Path(args.index_dir).expanduser().resolve())]
    if getattr(args, "model", None):
        model = args.model
        if os.path.isdir(os.path.expanduser(model)):  # a model folder: absolute, like everything else
            model = str(Path(model).expanduser().resolve())
        out += ["--model", model]
    if getattr(args, "device", None):
        out += ["--device", args.device]
    for flag in ("no_embed", "readonly", "no_watch"):
        if getattr(args, flag, False):
            out.append("--" + flag.replace("_", "-"))
    return out


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def _toml_string(text: str) -> str:
    # A JSON string with only ASCII in it is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=True)


def _claude_code(cmd: list[str], args: list[str], root: Path) -> tuple[str, str]:
    entry = {"type": "stdio", "command": cmd[0], "args": cmd[1:] + args, "env": {}}
    add = " ".join(shlex.quote(a) for a in cmd + args)
    where = (
        f"Claude Code: save as {root / '.mcp.json'} (project scope, shared with the repository), or merge "
        "the server into an existing one; or run\n"
        f"  claude mcp add --scope project {SERVER_KEY} -- {add}\n"
        "(--scope user: every project on this machine). Check with `claude mcp list` or /mcp."
    )
    return _json({"mcpServers": {SERVER_KEY: entry}}), where


def _cursor(cmd: list[str], args: list[str], root: Path) -> tuple[str, str]:
    entry = {"command": cmd[0], "args": cmd[1:] + args}
    where = (
        f"Cursor: save as {root / '.cursor' / 'mcp.json'} (this project), or merge into "
        "~/.cursor/mcp.json (every project; keep --root per project); then check Settings > MCP."
    )
    return _json({"mcpServers": {SERVER_KEY: entry}}), where


def _vscode(cmd: list[str], args: list[str], root: Path) -> tuple[str, str]:
    entry = {"type": "stdio", "command": cmd[0], "args": cmd[1:] + args}
    where = (
        f"VS Code (Copilot agent mode): save as {root / '.vscode' / 'mcp.json'}, or add the server to "
        'an existing one\'s "servers" (or to the user profile with `MCP: Open User Configuration`). '
        'VS Code\'s key is "servers", not "mcpServers".'
    )
    return _json({"servers": {SERVER_KEY: entry}}), where


def _codex(cmd: list[str], args: list[str], root: Path) -> tuple[str, str]:
    argv = ", ".join(_toml_string(a) for a in cmd[1:] + args)
    text = f"[mcp_servers.{SERVER_KEY}]\ncommand = {_toml_string(cmd[0])}\nargs = [{argv}]\n"
    add = " ".join(shlex.quote(a) for a in cmd + args)
    where = (
        "Codex CLI: append to ~/.codex/config.toml (or to .codex/config.toml of a trusted project); "
        "an existing [mcp_servers.symscope] table must be replaced, not repeated. Or run\n"
        f"  codex mcp add {SERVER_KEY} -- {add}\n"
        "Check with `codex mcp list` or /mcp."
    )
    return text, where


def _gemini(cmd: list[str], args: list[str], root: Path) -> tuple[str, str]:
    entry = {"command": cmd[0], "args": cmd[1:] + args}
    where = (
        f'Gemini CLI: merge "mcpServers" into {root / ".gemini" / "settings.json"} (project) or '
        "~/.gemini/settings.json (user); the file holds other settings too. Check with `gemini mcp list` or /mcp."
    )
    return _json({"mcpServers": {SERVER_KEY: entry}}), where


CLIENTS: dict[str, Callable[[list[str], list[str], Path], tuple[str, str]]] = {
    "claude-code": _claude_code,
    "codex": _codex,
    "cursor": _cursor,
    "gemini": _gemini,
    "vscode": _vscode,
}


def render(client: str, args: Any) -> tuple[str, str]:
    """(snippet, where it goes) for `client`; KeyError for an unknown name."""
    make = CLIENTS[client]
    roots = given_roots(args)
    return make(server_command(), server_args(args, roots), roots[0])


def print_config(args: Any) -> int:
    client = (args.print_config or "").strip().lower()
    if client not in CLIENTS:
        print(
            f"symscope mcp --print-config: unknown client {args.print_config!r}; known: {', '.join(sorted(CLIENTS))}",
            file=sys.stderr,
        )
        return 2
    if getattr(args, "http", None) or getattr(args, "token", None):
        print("symscope mcp --print-config: prints a stdio registration; drop --http / --token", file=sys.stderr)
        return 2
    for root in given_roots(args):
        if not root.is_dir():
            print(f"symscope mcp --print-config: --root {str(root)!r} is not a directory", file=sys.stderr)
            return 2
    snippet, where = render(client, args)
    sys.stdout.write(snippet)
    sys.stdout.flush()
    print(where, file=sys.stderr)
    return 0
