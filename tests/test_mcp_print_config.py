"""`symscope mcp --print-config CLIENT`: a snippet each client's own format parser accepts, with an
absolute command and --root, on stdout alone; an unknown client lists the known ones (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from mcp_support import subprocess_env

from lsp_server.mcp import client_config

CLIENTS = ["claude-code", "cursor", "vscode", "codex", "gemini"]


def print_config(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", "mcp", *args],
        cwd=cwd,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def entry_of(client: str, stdout: str) -> dict:
    if client == "codex":
        return tomllib.loads(stdout)["mcp_servers"]["symscope"]
    data = json.loads(stdout)
    return data["servers" if client == "vscode" else "mcpServers"]["symscope"]


@pytest.mark.parametrize("client", CLIENTS)
def test_snippet_parses_with_absolute_command_and_root(client, tmp_path):
    ws = tmp_path / "my ws"  # a space: quoting must survive every format
    ws.mkdir()
    done = print_config("--root", ".", "--print-config", client, "--model", "hashing:64", cwd=ws)
    assert done.returncode == 0, done.stderr
    entry = entry_of(client, done.stdout)
    command, args = entry["command"], entry["args"]
    assert os.path.isabs(command) and os.path.exists(command)
    root = str(ws.resolve())
    assert args[:3] == ["mcp", "--root", root] or args[2:5] == [
        "mcp",
        "--root",
        root,
    ]  # script, or python -m lsp_server
    assert args[-2:] == ["--model", "hashing:64"]
    if client in ("claude-code", "vscode"):
        assert entry["type"] == "stdio"
    # stdout is the snippet only; where it goes is on stderr, naming the client's file.
    expected = {
        "claude-code": ".mcp.json",
        "cursor": ".cursor/mcp.json",
        "vscode": ".vscode/mcp.json",
        "codex": "~/.codex/config.toml",
        "gemini": ".gemini/settings.json",
    }[client]
    assert expected in done.stderr


def test_the_printed_command_starts_the_server(tmp_path):
    done = print_config("--root", str(tmp_path), "--print-config", "cursor", cwd=tmp_path)
    entry = entry_of("cursor", done.stdout)
    help_run = subprocess.run(
        [entry["command"], *entry["args"][: entry["args"].index("mcp") + 1], "--help"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert help_run.returncode == 0 and "--print-config" in help_run.stdout


def test_unknown_client_lists_the_known_ones(tmp_path):
    done = print_config("--print-config", "emacs", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    for name in CLIENTS:
        assert name in done.stderr


def test_without_a_script_the_interpreter_runs_the_module(tmp_path, monkeypatch):
    fake_python = tmp_path / "bin" / "python3"
    fake_python.parent.mkdir()
    fake_python.write_text("")
    monkeypatch.setattr(sys, "executable", str(fake_python))
    monkeypatch.setattr(sys, "argv", ["/somewhere/__main__.py"])
    assert client_config.server_command() == [str(fake_python), "-m", "lsp_server"]
    snippet, _ = client_config.render("codex", SimpleNamespace(root=str(tmp_path), index_dir=str(tmp_path / "i")))
    table = tomllib.loads(snippet)["mcp_servers"]["symscope"]
    assert table["command"] == str(fake_python)
    assert table["args"] == [
        "-m",
        "lsp_server",
        "mcp",
        "--root",
        str(tmp_path.resolve()),
        "--index-dir",
        str((tmp_path / "i").resolve()),
    ]


@pytest.mark.parametrize("client", ["claude-code", "codex"])
def test_every_root_is_in_the_snippet_in_order(client, tmp_path):
    first, second = tmp_path / "app", tmp_path / "lib"
    first.mkdir()
    second.mkdir()
    done = print_config("--root", "app", "--root", str(second), "--print-config", client, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    args = entry_of(client, done.stdout)["args"]
    start = args.index("mcp")
    assert args[start:] == ["mcp", "--root", str(first.resolve()), "--root", str(second.resolve())]
    assert str(first.resolve()) in done.stderr  # the project-level file goes into the first root
    missing = print_config("--root", "app", "--root", "nowhere", "--print-config", client, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == "" and "nowhere" in missing.stderr
