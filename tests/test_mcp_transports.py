"""`symscope mcp` as a real process, driven by real clients: the Python SDK over stdio and
streamable HTTP (new and handshake-era protocol), and the npm MCP Inspector CLI (a third-party
client, installed by this test's setup into a cache folder outside the repository)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_support import Served, call, make_mcp_workspace, mcp_command, start_http_server, stop, subprocess_env

INSPECTOR_VERSION = "0.15.0"  # the last release whose engines allow Node 20
NPM_TOOLS = Path(os.environ.get("SYMSCOPE_NPM_TOOLS", Path.home() / ".cache" / "symscope" / "npm-tools"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp-transports")
    served = Served(make_mcp_workspace(tmp / "ws"), tmp / "idx")
    served.close()  # the subprocesses open it themselves (the first one becomes its writer)
    return served


def stdio_params(ws) -> StdioServerParameters:
    cmd = mcp_command(ws.root, ws.index_dir)
    return StdioServerParameters(command=cmd[0], args=cmd[1:], env=subprocess_env())


async def _exercise(client) -> None:
    names = {t.name for t in (await client.list_tools()).tools}
    assert {"search_code", "find_symbol", "get_symbol", "file_outline", "callers", "callees", "index_status"} <= names
    err, data, _ = await call(client, "search_code", query="upload retry")
    assert not err and data["results"][0]["qualified_name"] == "UploadClient.retry_upload"
    err, data, _ = await call(client, "get_symbol", path="pkg/config.py", name="load_config")
    assert not err and "json.load(fh)" in data["source"]["text"]
    err, _, text = await call(client, "get_symbol", path="../../etc/passwd", name="x")
    assert err and "outside the workspace" in text


async def test_sdk_client_over_stdio(workspace):
    async with Client(stdio_params(workspace)) as client:
        await _exercise(client)


async def test_sdk_session_over_stdio_handshake(workspace):
    async with stdio_client(stdio_params(workspace)) as (read, write), ClientSession(read, write) as session:
        init = await session.initialize()
        assert init.server_info.name == "symscope" and "search_code" in init.instructions
        await _exercise(session)


async def test_sdk_client_over_streamable_http(workspace):
    proc, url = start_http_server(workspace.root, workspace.index_dir)
    try:
        async with Client(url) as client:
            await _exercise(client)
        async with Client(url, mode="legacy") as client:
            await _exercise(client)
        async with streamable_http_client(url) as (read, write, *_), ClientSession(read, write) as session:
            await session.initialize()
            await _exercise(session)
    finally:
        stop(proc)
    assert proc.stdout.read() == b""  # HTTP mode prints nothing on stdout; the address goes to stderr


# -- MCP Inspector CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def inspector() -> Path:
    """The Inspector CLI's bin, installed once per machine with npm (cached outside the repo)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the MCP Inspector CLI test needs Node.js and npm")
    folder = NPM_TOOLS / f"inspector-{INSPECTOR_VERSION}"
    bin_path = folder / "node_modules" / ".bin" / "mcp-inspector"
    if not bin_path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "package.json").exists():
            (folder / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"],
            cwd=folder,
            check=False,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0 and bin_path.exists(), f"npm install failed:\n{done.stderr[-3000:]}"
    return bin_path


def run_inspector(inspector: Path, target: list[str], *method: str) -> dict:
    done = subprocess.run(
        [str(inspector), "--cli", *target, *method],
        check=False,
        capture_output=True,
        text=True,
        timeout=180,
        env=subprocess_env(),
        cwd=inspector.parents[2],
    )
    assert done.returncode == 0, f"inspector exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(done.stdout)


def _check_inspector_answers(inspector: Path, target: list[str]) -> None:
    listed = run_inspector(inspector, target, "--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} >= {"search_code", "find_symbol", "get_symbol", "index_status"}
    found = run_inspector(
        inspector,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "search_code",
        "--tool-arg",
        "query=read settings file",
        "--tool-arg",
        "limit=3",
    )
    assert found["isError"] is False
    hits = found["structuredContent"]["results"]
    assert 1 <= len(hits) <= 3 and hits[0]["qualified_name"] == "load_config"
    refused = run_inspector(
        inspector,
        target,
        "--method",
        "tools/call",
        "--tool-name",
        "file_outline",
        "--tool-arg",
        "path=../../etc/passwd",
    )
    assert refused["isError"] is True  # exit 0 with isError: the JSON is what tells
    unknown = run_inspector(inspector, target, "--method", "tools/call", "--tool-name", "no_such_tool")
    assert unknown["isError"] is True


def test_inspector_cli_over_stdio(inspector, workspace):
    _check_inspector_answers(inspector, mcp_command(workspace.root, workspace.index_dir))


def test_inspector_cli_over_http(inspector, workspace):
    proc, url = start_http_server(workspace.root, workspace.index_dir)
    try:
        _check_inspector_answers(inspector, [url, "--transport", "http"])
    finally:
        stop(proc)


def test_module_entry_point_is_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "lsp_server", "mcp", "--help"],
        check=False,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert done.returncode == 0 and "--http" in done.stdout and "SYMSCOPE_MCP_TOKEN" in done.stdout


async def test_fresh_server_indexes_by_itself_and_watches_files(tmp_path):
    """No index yet: `symscope mcp` serves at once, becomes the writer, indexes, then re-indexes
    files changed on disk (its watcher)."""
    root = make_mcp_workspace(tmp_path / "ws")
    cmd = mcp_command(root, tmp_path / "fresh-idx")
    async with Client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=subprocess_env())) as client:
        deadline = time.monotonic() + 60
        while True:
            err, data, _ = await call(client, "find_symbol", name="load_config")
            if data["results"]:
                break
            assert not err and time.monotonic() < deadline, "the first index never finished"
            await asyncio.sleep(0.1)
        _, status, _ = await call(client, "index_status")
        assert status["role"] == "writer" and status["symbols"] > 0
        (root / "pkg" / "fresh.py").write_text("def written_while_serving():\n    return 1\n")
        deadline = time.monotonic() + 30
        while not (await call(client, "find_symbol", name="written_while_serving"))[1]["results"]:
            assert time.monotonic() < deadline, "the watcher never indexed the new file"
            await asyncio.sleep(0.1)
