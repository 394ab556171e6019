"""MCP logging and progress, through the SDK's own clients: `logging/setLevel` and
`notifications/message` (in-process and over stdio), and `notifications/progress` from a tool call
that waits for the first index (a real WorkspaceSession whose first update is held open)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp_support import Served, call, make_mcp_workspace, mcp_command, subprocess_env

from lsp_server.config import Settings
from lsp_server.index import Index
from lsp_server.mcp.events import ServerEvents
from lsp_server.mcp.server import create_server
from lsp_server.session import WorkspaceSession

# The client side of logging/setLevel is deprecated for 2026-07-28 connections; these tests speak the
# handshake-era protocol on purpose (where the method exists and clients use it).
pytestmark = pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp-notify")
    s = Served(make_mcp_workspace(tmp / "ws"), tmp / "idx")
    yield s
    s.close()


class Messages:
    """A logging_callback that keeps what arrives and lets a test wait for it."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str | None, object]] = []

    async def __call__(self, params) -> None:
        self.items.append((params.level, params.logger, params.data))

    def texts(self) -> list[str]:
        return [str(data) for _, _, data in self.items]

    async def wait_for(self, needle: str, timeout: float = 10.0) -> tuple[str, str | None, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.items:
                if needle in str(item[2]):
                    return item
            await asyncio.sleep(0.02)
        raise AssertionError(f"no log message containing {needle!r}; got {self.texts()}")


def log_from_thread(level: int, text: str) -> None:
    """A record from a background thread, as the index and session threads emit them."""
    t = threading.Thread(target=logging.getLogger("lsp_server.index").log, args=(level, text))
    t.start()
    t.join()


async def test_set_level_then_warnings_and_errors_arrive_filtered(served):
    messages = Messages()
    async with Client(served.server, mode="legacy", logging_callback=messages) as client:
        assert client.server_capabilities.logging is not None  # declared because setLevel is served
        log_from_thread(logging.ERROR, "before-any-level error")  # nobody asked yet: not sent
        assert await client.set_logging_level("warning") is not None
        log_from_thread(logging.WARNING, "disk nearly full (test warning)")
        level, logger, _ = await messages.wait_for("disk nearly full")
        assert level == "warning" and logger == "symscope.index"
        await client.set_logging_level("error")
        log_from_thread(logging.WARNING, "dropped-by-level warning")
        try:
            raise OSError("no space left")
        except OSError:
            logging.getLogger("lsp_server.index").exception("write failed (test error)")
        level, _, data = await messages.wait_for("write failed")
        assert level == "error" and data == "write failed (test error): OSError: no space left"  # no traceback
        await asyncio.sleep(0.2)
        texts = messages.texts()
        assert not any("before-any-level" in t or "dropped-by-level" in t for t in texts), texts
        # Tools still answer normally with logging on.
        err, data, _ = await call(client, "find_symbol", name="load_config")
        assert not err and data["results"]


async def test_stdio_server_reports_the_index_state_when_a_level_is_set(tmp_path):
    root = make_mcp_workspace(tmp_path / "ws")
    cmd = mcp_command(root, tmp_path / "idx", "--no-watch")
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=subprocess_env())
    messages = Messages()
    async with stdio_client(params) as (read, write), ClientSession(read, write, logging_callback=messages) as session:
        init = await session.initialize()
        assert init.capabilities.logging is not None
        deadline = time.monotonic() + 60
        while (await call(session, "index_status"))[1]["state"] != "ready":
            assert time.monotonic() < deadline, "the index never became ready"
            await asyncio.sleep(0.1)
        await session.set_logging_level("error")  # the state note is "info": below the level
        await session.set_logging_level("info")
        level, logger, data = await messages.wait_for("index ready")
        assert level == "info" and logger == "symscope" and "symbols in" in str(data)
        assert len(messages.items) == 1, messages.texts()


async def test_a_call_with_a_progress_token_waits_for_the_first_index(tmp_path, monkeypatch):
    """The first update is held open after it wrote its rows: a call without a progressToken
    answers at once with index_note; one with a token waits, hears progress, and gets the answer
    once the index is ready; the log says where the index stands, then that it is ready."""
    root = make_mcp_workspace(tmp_path / "ws")
    gate = threading.Event()
    real_update = Index.update

    def held_update(self, *args, **kwargs):
        stats = real_update(self, *args, **kwargs)
        gate.wait(60)
        return stats

    monkeypatch.setattr(Index, "update", held_update)
    settings = Settings.load(root, index_dir=tmp_path / "idx", model="hashing:64")
    events = ServerEvents()
    session = WorkspaceSession(settings, on_progress=events.session_progress, on_status=events.session_status)
    session.start()
    try:
        deadline = time.monotonic() + 30
        while session.index is None or session.searcher is None or session.state != "indexing":
            assert time.monotonic() < deadline, f"the session did not start indexing: {session.state}"
            await asyncio.sleep(0.02)
        server = create_server(settings, index=session.index, searcher=session.searcher, session=session, events=events)
        messages = Messages()
        progress: list[tuple[float, float | None, str | None]] = []

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))

        async with Client(server, mode="legacy", logging_callback=messages) as client:
            await client.set_logging_level("info")
            await messages.wait_for("indexing in progress")

            started = time.monotonic()
            err, data, _ = await call(client, "find_symbol", name="load_config")
            assert not err and data["index_note"].startswith("indexing in progress")
            assert time.monotonic() - started < 5  # no token: no wait

            waiting = asyncio.ensure_future(
                client.call_tool("find_symbol", {"name": "load_config"}, progress_callback=on_progress)
            )
            deadline = time.monotonic() + 10
            while not progress:
                assert time.monotonic() < deadline, "no progress notification while waiting"
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            assert not waiting.done()  # still waiting for the index
            gate.set()
            result = await asyncio.wait_for(waiting, 30)
            assert not result.is_error
            assert result.structured_content["results"][0]["name"] == "load_config"
            assert "index_note" not in result.structured_content
            values = [v for v, _, _ in progress]
            assert values == sorted(set(values)) and values[-1] == 100  # strictly increasing, ends at 100
            assert {t for _, t, _ in progress} == {100}
            assert progress[0][2].startswith("waiting for the index") and progress[-1][2] == "index ready"
            await messages.wait_for("index ready")
    finally:
        gate.set()
        session.stop()
