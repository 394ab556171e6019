"""Language-server behaviour across sessions and settings: a second server on the same index runs as
a reader (and says so), takes over when the writer goes away; settings changed through
workspace/didChangeConfiguration re-index; a cancelled request is answered as cancelled while the
server keeps serving; bad settings are reported, not fatal."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from lsprotocol import types as t
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.lsp_support import StatusRecorder, init_options, make_workspace, request, server_command, server_env


async def start(workspace: Path, home: Path, options: dict, caps: str = "visual-studio-code"):
    client = make_test_lsp_client()
    status = StatusRecorder()
    client.feature("symscope/statusChanged")(status)
    client.feature(t.CLIENT_REGISTER_CAPABILITY)(lambda params: None)
    await client.start_io(*server_command(), env=server_env(home))
    await client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities(caps), root_uri=workspace.as_uri(), initialization_options=options
        )
    )
    client.status = status  # type: ignore[attr-defined]  # (pytest-lsp keeps showMessage in .messages)
    return client


async def stop(client) -> None:
    await client.shutdown_session()
    await client.stop()


async def test_second_server_reads_the_index_and_takes_over_when_the_writer_leaves(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    options = init_options(tmp_path / "index", watcher="off")
    writer = await start(workspace, tmp_path, options)
    await writer.status.wait_for(lambda s: s["state"] == "ready")
    reader = await start(workspace, tmp_path, options)
    try:
        seen = await reader.status.wait_for(lambda s: s["state"] == "reader")
        assert seen["role"] == "reader" and "another process" in seen["message"] and "is its writer" in seen["message"]
        status = await request(reader, "symscope/status", {})
        assert status["role"] == "reader" and status["symbols"] == 10
        hits = await reader.workspace_symbol_async(t.WorkspaceSymbolParams(query="getUserName"))
        assert hits[0].name == "getUserName"  # readers answer from the writer's index
        # The writer leaves: within a few seconds the reader takes the lock and keeps the index fresh.
        await stop(writer)
        writer = None
        taken = await reader.status.wait_for(lambda s: s["role"] == "writer" and s["state"] == "ready", timeout=30)
        assert taken["symbols"] == 10
        (workspace / "pkg" / "later.py").write_text("def after_takeover():\n    pass\n")
        reader.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                [t.FileEvent((workspace / "pkg/later.py").as_uri(), t.FileChangeType.Created)]
            )
        )
        deadline = time.monotonic() + 10
        while not await reader.workspace_symbol_async(t.WorkspaceSymbolParams(query="after_takeover")):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        if writer is not None:
            await stop(writer)
        await stop(reader)


async def test_configuration_change_reindexes_with_new_excludes(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    client = await start(workspace, tmp_path, init_options(tmp_path / "index", watcher="off"))
    try:
        await client.status.wait_for(lambda s: s["state"] == "ready")
        assert (await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="getUserName")))[
            0
        ].name == "getUserName"
        client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings={"symscope": {"excludes": ["web/"]}})
        )
        await client.status.wait_for(lambda s: s["state"] == "ready" and s["files"] == 3, timeout=30)
        names = [s.name for s in await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="getUserName"))]
        assert "getUserName" not in names
        # A bad value is reported to the user; the valid ones still apply (clients send the whole section).
        client.workspace_did_change_configuration(
            t.DidChangeConfigurationParams(settings={"symscope": {"excludes": ["web/"], "device": "quantum"}})
        )
        deadline = time.monotonic() + 10
        while not client.messages:
            assert time.monotonic() < deadline, "no message about the bad setting"
            await asyncio.sleep(0.05)
        assert "device" in client.messages[0].message and client.messages[0].type == t.MessageType.Error
        status = await request(client, "symscope/status", {})
        assert "device" in status["settingsError"] and status["state"] == "ready" and status["files"] == 3
    finally:
        await stop(client)


async def test_bad_initialization_options_are_reported_and_defaults_serve(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    client = await start(workspace, tmp_path, {**init_options(tmp_path / "index"), "colour": "blue"})
    try:
        await client.status.wait_for(lambda s: s["state"] in ("ready", "embedding", "indexing"))
        status = await request(client, "symscope/status", {})
        assert "unknown setting 'colour'" in status["settingsError"]
        assert client.messages and "colour" in client.messages[0].message
    finally:
        await stop(client)


async def test_cancelled_request_gets_request_cancelled_and_server_keeps_serving(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    client = await start(workspace, tmp_path, init_options(tmp_path / "index", watcher="off"))
    try:
        await client.status.wait_for(lambda s: s["state"] == "ready")
        # Keep the query threads busy so the cancelled request is still waiting when the cancel lands.
        protocol = client.protocol
        busy = [
            protocol.send_request("symscope/search", {"query": f"read settings file {i}", "limit": 50})
            for i in range(6)
        ]
        before = set(protocol._request_futures)
        target = protocol.send_request("symscope/search", {"query": "upload files to storage", "limit": 50})
        (msg_id,) = set(protocol._request_futures) - before
        protocol.notify(t.CANCEL_REQUEST, t.CancelParams(id=msg_id))
        try:
            await asyncio.wrap_future(target)
            outcome = "answered"
        except Exception as exc:
            outcome = exc
        await asyncio.gather(*(asyncio.wrap_future(f) for f in busy))
        # Either the cancel arrived in time (RequestCancelled, -32800) or the answer was already sent.
        if outcome != "answered":
            assert getattr(outcome, "code", None) == -32800, outcome
        status = await request(client, "symscope/status", {})
        assert status["state"] == "ready"
    finally:
        await stop(client)
