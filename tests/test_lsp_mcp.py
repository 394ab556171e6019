"""`symscope lsp --mcp-port N`: the language server also serves the MCP endpoint, over the index it
keeps fresh, and an MCP client sees the same symbols (including a file saved after start-up)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types as t
from mcp import Client
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.lsp_support import StatusRecorder, init_options, make_workspace, server_command, server_env


async def test_lsp_serves_mcp_over_the_same_index(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    client = make_test_lsp_client()
    status = StatusRecorder()
    client.feature("symscope/statusChanged")(status)
    client.feature(t.CLIENT_REGISTER_CAPABILITY)(lambda params: None)
    await client.start_io(*server_command(), "--mcp-port", "0", env=server_env(tmp_path))
    try:
        await client.initialize_session(
            t.InitializeParams(
                capabilities=client_capabilities("visual-studio-code"),
                root_uri=workspace.as_uri(),
                initialization_options=init_options(tmp_path / "index"),
            )
        )
        ready = await status.wait_for(lambda s: s["state"] == "ready" and s.get("mcpUrl"))
        url = ready["mcpUrl"]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
        (workspace / "pkg" / "fresh.py").write_text("def fresh_from_disk():\n    return 1\n")
        client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                [t.FileEvent((workspace / "pkg/fresh.py").as_uri(), t.FileChangeType.Created)]
            )
        )
        async with Client(url) as mcp:
            tools = {tool.name for tool in (await mcp.list_tools()).tools}
            assert "search_code" in tools
            res = await mcp.call_tool("search_code", {"query": "read the settings file from disk", "limit": 3})
            assert not res.is_error and "load_config" in str(res.structured_content)
            deadline = time.monotonic() + 10
            while True:  # the LSP process re-indexes; the MCP endpoint reads the same index
                res = await mcp.call_tool("search_code", {"query": "fresh_from_disk", "limit": 1})
                if "fresh_from_disk" in str(res.structured_content):
                    break
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
    finally:
        await client.shutdown_session()
        await client.stop()
