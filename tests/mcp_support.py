"""Helpers shared by the MCP tests: workspaces with things that must never be served, servers over
real indexes (Rust scanner, SQLite, LanceDB, HashingEmbedder), and `symscope mcp` subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from index_support import SAMPLE_FILES, make_workspace, open_index, write_files

from lsp_server.config import Settings
from lsp_server.mcp.server import create_server
from lsp_server.search import Searcher

REPO = Path(__file__).resolve().parents[1]
SECRET = "SYMSCOPE-SECRET-5f2c9d"  # in files inside the root that must never be served

# Present inside the root but never served: not source (.env), version control, gitignored.
HIDDEN_FILES = {
    ".env": f"API_KEY={SECRET}\n",
    ".env.local": f"API_KEY={SECRET}\n",
    ".git/config": f"[remote]\n  token = {SECRET}\n",
    ".git/hooks/secret.py": f"def secret_hook():\n    return '{SECRET}'\n",
    ".gitignore": "ignored.py\nbuild/\n",
    "ignored.py": f"def ignored_function():\n    return '{SECRET}'\n",
    "build/gen.py": f"def generated():\n    return '{SECRET}'\n",
}


def make_mcp_workspace(root: Path, extra: dict[str, str] | None = None) -> Path:
    make_workspace(root, {**SAMPLE_FILES, **(extra or {})})
    for rel, text in HIDDEN_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


CANARY = "CANARY-7d1e0b-outside-the-root"
CANARY_SOURCE = f'def canary_function():\n    """{CANARY}"""\n    return "{CANARY}"\n'


def make_traversal_layout(tmp: Path, extra: dict[str, str] | None = None) -> Path:
    """tmp/ws, an MCP workspace, beside a canary outside it (tmp/canary.py, tmp/ws-secret/) and with
    symlinks out of it (file, directory, relative climbing) and one that stays inside (alias.py)."""
    root = make_mcp_workspace(tmp / "ws", extra)
    (tmp / "canary.py").write_text(CANARY_SOURCE)
    # A sibling whose name shares the root's prefix: "/x/ws-secret".startswith("/x/ws").
    (tmp / "ws-secret").mkdir()
    (tmp / "ws-secret" / "canary.py").write_text(CANARY_SOURCE)
    os.symlink(tmp / "canary.py", root / "link_out.py")  # a file symlink out of the root
    os.symlink(tmp / "ws-secret", root / "linkdir")  # a directory symlink out of the root
    os.symlink("../..", root / "pkg" / "link_up")  # a relative symlink climbing out
    os.symlink("pkg/config.py", root / "alias.py")  # a symlink that stays inside: allowed
    return root


def traversal_corpus(tmp: Path) -> list[str]:
    """Paths that must all be refused for the root tmp/ws (see `make_traversal_layout`): climbing
    out, absolute, prefix siblings, symlinks out, encodings, NULs, look-alike dots, URIs."""
    root = tmp / "ws"
    canary = str(tmp / "canary.py")
    return [
        "../canary.py",
        "../../canary.py",
        "./../canary.py",
        "pkg/../../canary.py",
        "pkg/../../../canary.py",
        canary,
        "/" + canary,
        "//" + canary.lstrip("/"),
        f"{root}/../canary.py",
        f"{root}/pkg/../../canary.py",
        f"{root}-secret/canary.py",
        "../ws-secret/canary.py",
        str(tmp / "ws-secret" / "canary.py"),
        "link_out.py",
        "linkdir/canary.py",
        "pkg/link_up/canary.py",
        f"{root}/link_out.py",
        "%2e%2e/canary.py",
        "%2e%2e%2fcanary.py",
        "..%2fcanary.py",
        "..%252fcanary.py",
        "%2E%2E/canary.py",
        f"file://{canary}",
        f"file://{quote(canary)}",
        f"file://localhost{canary}",
        f"file://evil.example{canary}",
        f"file://{root}/%2e%2e/canary.py",
        f"file://{root}/..%2fcanary.py",
        f"file:{canary}",
        "pkg/config.py\x00../../canary.py",
        "../canary.py\x00",
        "pkg/config.py%00../../canary.py",
        "..\\canary.py",
        "....//canary.py",
        "..../canary.py",
        "\uff0e\uff0e/canary.py",
        "\u2025/canary.py",
        f"/proc/self/root{canary}",
        "~/../canary.py",
        " ../canary.py ",
        "../canary.py/.",
        "/etc/passwd",
        "",
        " ",
        ".",
        "..",
        "/",
    ]


def leaks(text: str, data) -> bool:
    """Whether an answer holds the canary or a secret."""
    blob = text + json.dumps(data or {})
    return CANARY in blob or SECRET in blob


def path_calls(path: str) -> list[tuple[str, dict]]:
    """Every tool call that reads a file by path."""
    return [
        ("get_symbol", {"path": path, "name": "canary_function"}),
        ("get_symbol", {"path": path, "line": 1}),
        ("file_outline", {"path": path}),
        ("callers", {"symbol": "canary_function", "path": path}),
        ("callees", {"symbol": "canary_function", "path": path}),
    ]


class Served:
    """A workspace, its index, and an MCPServer over them (in-process)."""

    def __init__(self, root: Path, index_dir: Path) -> None:
        self.root = root
        self.index_dir = index_dir
        self.index = open_index(root, index_dir)
        self.index.update()
        self.searcher = Searcher(self.index, self.index.embedder)
        self.settings = Settings(root=root, index_dir=index_dir)
        self.server = create_server(self.settings, index=self.index, searcher=self.searcher)

    def close(self) -> None:
        self.index.close()


async def call(client, tool: str, **arguments):
    """(is_error, structured content or None, text of the first content block)."""
    result = await client.call_tool(tool, arguments)
    text = result.content[0].text if result.content else ""
    return result.is_error, result.structured_content, text


def tokens(text: str) -> int:
    return (len(text) + 3) // 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["HF_HUB_OFFLINE"] = "1"
    env.update(extra)
    return env


def mcp_command(root: Path, index_dir: Path, *extra: str) -> list[str]:
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
        "hashing:64",
        *extra,
    ]


def start_http_server(root: Path, index_dir: Path, *extra: str, env: dict | None = None):
    """`symscope mcp --http` in a subprocess; returns (process, url) once it listens."""
    port = free_port()
    proc = subprocess.Popen(
        mcp_command(root, index_dir, "--http", f"127.0.0.1:{port}", *extra),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or subprocess_env(),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mcp server exited: {proc.stderr.read().decode(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("mcp server did not start listening in 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


__all__ = [
    "CANARY",
    "CANARY_SOURCE",
    "leaks",
    "make_traversal_layout",
    "path_calls",
    "traversal_corpus",
    "HIDDEN_FILES",
    "REPO",
    "SECRET",
    "Served",
    "call",
    "free_port",
    "json",
    "make_mcp_workspace",
    "mcp_command",
    "start_http_server",
    "stop",
    "subprocess_env",
    "tokens",
    "write_files",
]
