"""The language server and the MCP server on one index at the same time, as real processes.

`symscope lsp` (driven by pygls' client) opens the index first and becomes its writer; `symscope mcp`
(driven by the mcp SDK's client over stdio) reads it. A change saved through the LSP becomes
searchable over MCP within about a second; an unsaved buffer never does (it lives only in the LSP
process); when the LSP process dies the MCP process takes over writing and indexes new files itself.
"""

from __future__ import annotations

import asyncio
import http.client
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types as t
from mcp import Client, StdioServerParameters
from mcp_support import call, free_port, make_mcp_workspace, mcp_command, subprocess_env
from pygls.lsp.client import LanguageClient

MODEL = "hashing:64"


async def _lsp_status(client: LanguageClient) -> dict:
    result = await client.protocol.send_request_async("symscope/status", {})
    return result if isinstance(result, dict) else dict(result._asdict())


async def _wait(predicate, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


async def _find(mcp, name: str) -> list[dict]:
    err, data, text = await call(mcp, "find_symbol", name=name, limit=3)
    assert not err, text
    return [r for r in data["results"] if r["name"] == name]


@pytest.mark.timeout(300)
async def test_lsp_writes_mcp_reads_then_takes_over(tmp_path: Path):
    root = make_mcp_workspace(tmp_path / "ws")
    index_dir = tmp_path / "idx"
    env = subprocess_env(XDG_CACHE_HOME=str(tmp_path / "cache"))

    lsp = LanguageClient("shared-index-test", "0")
    await lsp.start_io(sys.executable, "-m", "lsp_server", "lsp", env=env)
    lsp_process = lsp._server  # pygls keeps the subprocess here; we kill it later
    killed = False
    try:
        await lsp.initialize_async(
            t.InitializeParams(
                capabilities=t.ClientCapabilities(),
                root_uri=root.as_uri(),
                workspace_folders=[t.WorkspaceFolder(uri=root.as_uri(), name="ws")],
                initialization_options={"model": MODEL, "indexDir": str(index_dir)},
            )
        )
        lsp.initialized(t.InitializedParams())

        async def lsp_ready():
            status = await _lsp_status(lsp)
            return status if status.get("state") == "ready" else None

        status = await _wait(lsp_ready, 120, "the language server to finish indexing")
        assert status["role"] == "writer"

        cmd = mcp_command(root, index_dir)
        async with Client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)) as mcp:
            _, st, _ = await call(mcp, "index_status")
            assert st["role"] == "reader" and st["symbols"] == status["symbols"]
            assert await _find(mcp, "load_config")

            # An unsaved edit stays in the LSP process.
            path = root / "pkg" / "upload.py"
            uri = path.as_uri()
            original = path.read_text()
            lsp.text_document_did_open(
                t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=original))
            )
            unsaved = original + "\n\ndef draft_only_in_the_editor():\n    return 0\n"
            lsp.text_document_did_change(
                t.DidChangeTextDocumentParams(
                    t.VersionedTextDocumentIdentifier(uri=uri, version=2),
                    [t.TextDocumentContentChangeWholeDocument(text=unsaved)],
                )
            )

            # A saved edit reaches the shared index, and the MCP reader sees it.
            saved = (
                original
                + '\n\ndef compress_payload(data):\n    """Shrink a payload before upload."""\n    return data\n'
            )
            path.write_text(saved)
            lsp.text_document_did_change(
                t.DidChangeTextDocumentParams(
                    t.VersionedTextDocumentIdentifier(uri=uri, version=3),
                    [t.TextDocumentContentChangeWholeDocument(text=saved)],
                )
            )
            lsp.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(uri), text=saved))
            saved_at = time.monotonic()
            hits = await _wait(lambda: _find(mcp, "compress_payload"), 10, "the saved function over MCP")
            seen_after = time.monotonic() - saved_at
            assert hits[0]["path"] == "pkg/upload.py"
            assert seen_after < 3.0, f"the MCP reader saw the LSP's commit only after {seen_after:.2f}s"
            err, data, _ = await call(mcp, "get_symbol", path="pkg/upload.py", name="compress_payload")
            assert not err and "Shrink a payload" in data["source"]["text"]
            assert not await _find(mcp, "draft_only_in_the_editor")

            # The writer dies; the MCP process takes over and keeps the index fresh itself.
            lsp_process.send_signal(signal.SIGKILL)
            await lsp_process.wait()
            killed = True

            async def mcp_is_writer():
                _, st, _ = await call(mcp, "index_status")
                return st["role"] == "writer"

            await _wait(mcp_is_writer, 60, "the MCP process to take over writing", every=0.25)
            (root / "pkg" / "late.py").write_text("def added_after_takeover(x):\n    return x\n")
            hits = await _wait(lambda: _find(mcp, "added_after_takeover"), 60, "a new file indexed by the MCP process")
            assert hits[0]["path"] == "pkg/late.py"
    finally:
        if not killed and lsp_process.returncode is None:
            lsp_process.kill()
            await lsp_process.wait()
        await lsp.stop()


@pytest.mark.timeout(300)
async def test_language_server_hosts_the_mcp_endpoint(tmp_path: Path):
    """`symscope lsp --mcp-port N`: the editor's process serves MCP over its own index."""
    root = make_mcp_workspace(tmp_path / "ws")
    env = subprocess_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    port = free_port()
    lsp = LanguageClient("hosted-mcp-test", "0")
    await lsp.start_io(sys.executable, "-m", "lsp_server", "lsp", "--mcp-port", str(port), env=env)
    try:
        await lsp.initialize_async(
            t.InitializeParams(
                capabilities=t.ClientCapabilities(),
                root_uri=root.as_uri(),
                initialization_options={"model": MODEL, "indexDir": str(tmp_path / "idx")},
            )
        )
        lsp.initialized(t.InitializedParams())

        async def lsp_ready():
            return (await _lsp_status(lsp)).get("state") == "ready"

        await _wait(lsp_ready, 120, "the language server to finish indexing")
        url = f"http://127.0.0.1:{port}/mcp"

        async def listening():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return True
            except OSError:
                return False

        await _wait(listening, 30, "the hosted MCP endpoint")
        async with Client(url) as mcp:
            assert await _find(mcp, "load_config")
            _, status, _ = await call(mcp, "index_status")
            assert status["role"] == "writer"  # the language server's own index
            err, _, text = await call(mcp, "file_outline", path="../../etc/passwd")
            assert err and "outside the workspace" in text
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST", "/mcp", body="{}", headers={"Host": f"evil.example:{port}", "Content-Type": "application/json"}
        )
        assert conn.getresponse().status == 421
        conn.close()
    finally:
        lsp._server.kill()
        await lsp._server.wait()
        await lsp.stop()
