"""Call hierarchy (and the opt-in, search-based references) through pytest-lsp against the real
server, under VS Code's (UTF-16) and Neovim 0.11's (UTF-8) captured client capabilities; and the
same requests from headless Neovim running the real nvim/ configuration.

The workspace is lsp_support's (`UploadClient.retry_upload` calls `self.send_chunk`, which calls the
imported `load_config`) plus pkg/jobs.py: a call by name only, a call within the file, and calls
written after emoji on the same line, where UTF-16 and UTF-8 columns differ."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp_support import (
    REPO,
    StatusRecorder,
    init_options,
    make_workspace,
    server_command,
    server_env,
    utf8_col,
    utf16_col,
)

CLIENTS = ["visual-studio-code", "neovim"]  # UTF-16, UTF-8
pytestmark = pytest.mark.asyncio(loop_scope="module")

EMOJI_CALL = '    wave = "👋🌍"; client = UploadClient(); return client.retry_upload(cfg)'
EXTRA_FILES = {
    "pkg/jobs.py": f"""
        from pkg.upload import UploadClient


        def run_jobs(path):
            cfg = load_config(path)
            return retry_all(cfg) or retry_all(None)


        def retry_all(cfg):
        {EMOJI_CALL}
        """,
    "pkg/gone.py": """
        def doomed():
            return helper()


        def helper():
            return 1
        """,
    "pkg/many.py": "def hub():\n    return 0\n\n\n"
    + "".join(f"def spoke_{i}():\n    return hub()\n\n\n" for i in range(130)),
}


def _lines(client, rel: str) -> list[str]:
    return (client.workspace_root / rel).read_text(encoding="utf-8").splitlines()


def _pos(client, rel: str, needle: str, occurrence: int = 0, offset: int = 0) -> t.Position:
    """The position of the `occurrence`-th `needle` in a file, in the negotiated encoding."""
    seen = 0
    for n, line in enumerate(_lines(client, rel)):
        start = 0
        while (i := line.find(needle, start)) >= 0:
            if seen == occurrence:
                before = line[:i]
                col = (
                    len(before.encode("utf-8")) if client.encoding == "utf-8" else len(before.encode("utf-16-le")) // 2
                )
                return t.Position(n, col + offset)
            seen += 1
            start = i + 1
    raise AssertionError(f"{needle!r} not in {rel}")


def _span(client, rel: str, needle: str, occurrence: int = 0, name: str | None = None) -> tuple[int, int, int]:
    """(line, start, end) of `name` (default: the needle) where the needle starts."""
    p = _pos(client, rel, needle, occurrence)
    return p.line, p.character, p.character + len(name or needle)  # ASCII names: same length in both encodings


def _empty(answer) -> bool:
    """An empty list (not null): a symbol without calls."""
    return answer is not None and len(answer) == 0


def _ranges(call) -> list[tuple[int, int, int]]:
    return [(r.start.line, r.start.character, r.end.character) for r in call.from_ranges]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=server_command(), server_env=server_env(Path(tempfile.gettempdir()) / "symscope-test-home")
    ),
    params=CLIENTS,
    scope="module",
)
async def client(lsp_client: LanguageClient, request, tmp_path_factory):
    workspace = make_workspace(tmp_path_factory.mktemp(f"calls-{request.param}") / "ws")
    for rel, text in EXTRA_FILES.items():
        (workspace / rel).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    status = StatusRecorder()
    lsp_client.feature("symscope/statusChanged")(status)
    registrations: list = []
    lsp_client.feature(t.CLIENT_REGISTER_CAPABILITY)(lambda params: registrations.append(params))
    lsp_client.feature(t.CLIENT_UNREGISTER_CAPABILITY)(lambda params: registrations.append(params))
    lsp_client.registrations = registrations  # type: ignore[attr-defined]
    lsp_client.workspace_root = workspace  # type: ignore[attr-defined]
    lsp_client.kind = request.param  # type: ignore[attr-defined]
    result = await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=workspace.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=init_options(workspace.parent / "index"),
        )
    )
    lsp_client.encoding = str(result.capabilities.position_encoding)  # type: ignore[attr-defined]
    lsp_client.capabilities = result.capabilities  # type: ignore[attr-defined]
    assert lsp_client.encoding == ("utf-8" if request.param == "neovim" else "utf-16")
    await status.wait_for(lambda s: s.get("state") == "ready")
    yield
    await lsp_client.shutdown_session()


def _uri(client, rel: str) -> str:
    return (client.workspace_root / rel).as_uri()


async def _prepare(client, rel: str, position: t.Position):
    return await client.text_document_prepare_call_hierarchy_async(
        t.CallHierarchyPrepareParams(text_document=t.TextDocumentIdentifier(uri=_uri(client, rel)), position=position)
    )


async def _incoming(client, item):
    return await client.call_hierarchy_incoming_calls_async(t.CallHierarchyIncomingCallsParams(item=item))


async def _outgoing(client, item):
    return await client.call_hierarchy_outgoing_calls_async(t.CallHierarchyOutgoingCallsParams(item=item))


async def test_capabilities(client: LanguageClient):
    assert client.capabilities.call_hierarchy_provider
    assert client.capabilities.references_provider is None  # search-based references are opt-in


async def test_prepare_on_a_definition_name(client: LanguageClient):
    (item,) = await _prepare(client, "pkg/upload.py", _pos(client, "pkg/upload.py", "send_chunk(self", offset=3))
    assert item.name == "send_chunk" and item.kind == t.SymbolKind.Method
    assert item.uri == _uri(client, "pkg/upload.py")
    line, start, end = _span(client, "pkg/upload.py", "send_chunk(self")
    assert (item.selection_range.start.line, item.selection_range.start.character) == (line, start)
    assert item.selection_range.end.character == start + len("send_chunk")
    assert item.range.start.line == line and item.range.end.line == line + 2
    assert item.detail == "UploadClient · pkg/upload.py"
    assert isinstance(item.data["symbolId"], str) and item.data["symbolId"]


async def test_prepare_on_a_call_resolves_the_callee(client: LanguageClient):
    # The cursor on `load_config` inside send_chunk: the imported definition in pkg/config.py.
    (item,) = await _prepare(client, "pkg/upload.py", _pos(client, "pkg/upload.py", "load_config(", offset=2))
    assert item.name == "load_config" and item.kind == t.SymbolKind.Function
    assert item.uri == _uri(client, "pkg/config.py") and item.detail == "pkg/config.py"
    # Elsewhere in a body (not a call): the enclosing definition.
    (inside,) = await _prepare(client, "pkg/upload.py", _pos(client, "pkg/upload.py", "bool(settings)", offset=6))
    assert inside.name == "send_chunk"
    # Outside every definition: nothing.
    assert not await _prepare(client, "pkg/upload.py", t.Position(1, 0))


async def test_incoming_calls_carry_confidence_and_call_sites(client: LanguageClient):
    (item,) = await _prepare(client, "pkg/config.py", _pos(client, "pkg/config.py", "load_config", offset=1))
    calls = {c.from_.name: c for c in await _incoming(client, item)}
    assert set(calls) == {"send_chunk", "run_jobs"}
    assert calls["send_chunk"].from_.detail == "via import · UploadClient"
    assert calls["run_jobs"].from_.detail == "name only · pkg/jobs.py"  # jobs.py never imports it
    assert calls["send_chunk"].from_.uri == _uri(client, "pkg/upload.py")
    assert calls["send_chunk"].from_.kind == t.SymbolKind.Method
    assert _ranges(calls["send_chunk"]) == [_span(client, "pkg/upload.py", "load_config", 1)]
    assert _ranges(calls["run_jobs"]) == [_span(client, "pkg/jobs.py", "load_config")]
    # A method called through self: same class, the range narrowed to the name.
    (chunk,) = await _prepare(client, "pkg/upload.py", _pos(client, "pkg/upload.py", "send_chunk(self"))
    (caller,) = await _incoming(client, chunk)
    assert caller.from_.name == "retry_upload" and caller.from_.detail == "same class · UploadClient"
    assert _ranges(caller) == [_span(client, "pkg/upload.py", "send_chunk(data", name="send_chunk")]


async def test_outgoing_calls(client: LanguageClient):
    (item,) = await _prepare(client, "pkg/jobs.py", _pos(client, "pkg/jobs.py", "run_jobs"))
    calls = {c.to.name: c for c in await _outgoing(client, item)}
    assert set(calls) == {"load_config", "retry_all"}
    assert calls["retry_all"].to.detail == "same file · pkg/jobs.py"
    assert calls["load_config"].to.detail == "name only · pkg/config.py"
    assert calls["load_config"].to.uri == _uri(client, "pkg/config.py")
    # Both calls on the line are call sites.
    assert _ranges(calls["retry_all"]) == [
        _span(client, "pkg/jobs.py", "retry_all", 0),
        _span(client, "pkg/jobs.py", "retry_all", 1),
    ]


async def test_columns_after_emoji_in_the_negotiated_encoding(client: LanguageClient):
    line_no = _lines(client, "pkg/jobs.py").index(EMOJI_CALL)
    col = utf8_col if client.encoding == "utf-8" else utf16_col
    start = col(EMOJI_CALL, "retry_upload")
    assert utf8_col(EMOJI_CALL, "retry_upload") != utf16_col(EMOJI_CALL, "retry_upload")
    (item,) = await _prepare(client, "pkg/jobs.py", _pos(client, "pkg/jobs.py", "retry_all(cfg):"))
    calls = {c.to.name: c for c in await _outgoing(client, item)}
    assert calls["retry_upload"].to.detail == "via import · UploadClient"
    assert calls["UploadClient"].to.kind == t.SymbolKind.Class
    assert _ranges(calls["retry_upload"]) == [(line_no, start, start + len("retry_upload"))]
    assert _ranges(calls["UploadClient"]) == [
        (line_no, col(EMOJI_CALL, "UploadClient"), col(EMOJI_CALL, "UploadClient") + 12)
    ]
    # A position after the emoji, in the client's encoding, lands on the call.
    (callee,) = await _prepare(client, "pkg/jobs.py", t.Position(line_no, start + 3))
    assert callee.name == "retry_upload" and callee.uri == _uri(client, "pkg/upload.py")
    (back,) = await _incoming(client, callee)
    assert back.from_.name == "retry_all" and _ranges(back) == [(line_no, start, start + len("retry_upload"))]


async def test_open_document_uses_the_buffer_outline(client: LanguageClient):
    uri = _uri(client, "pkg/jobs.py")
    text = (client.workspace_root / "pkg/jobs.py").read_text(encoding="utf-8")
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            t.TextDocumentItem(uri=uri, language_id="python", version=1, text="# one\n# two\n# three\n" + text)
        )
    )
    try:
        disk = _pos(client, "pkg/jobs.py", "run_jobs")
        (item,) = await _prepare(client, "pkg/jobs.py", t.Position(disk.line + 3, disk.character + 1))
        assert item.name == "run_jobs" and item.uri == uri
        assert item.selection_range.start == t.Position(disk.line + 3, disk.character)  # the buffer's lines
        # The index knows the symbol by the same id: its calls still resolve.
        assert {c.to.name for c in await _outgoing(client, item)} == {"load_config", "retry_all"}
    finally:
        client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))


async def test_answers_are_bounded(client: LanguageClient):
    (hub,) = await _prepare(client, "pkg/many.py", t.Position(0, 5))
    assert hub.name == "hub"
    calls = await _incoming(client, hub)
    assert len(calls) == 100 and all(c.from_.name.startswith("spoke_") for c in calls)
    assert all(c.from_.detail == "same file · pkg/many.py" for c in calls)


async def test_stale_and_unknown_items_answer_empty(client: LanguageClient):
    def item(uri: str, data, name: str = "ghost") -> t.CallHierarchyItem:
        r = t.Range(t.Position(0, 0), t.Position(0, 1))
        return t.CallHierarchyItem(
            name=name, kind=t.SymbolKind.Function, uri=uri, range=r, selection_range=r, data=data
        )

    unknown = _uri(client, "pkg/nowhere.py")
    assert _empty(await _incoming(client, item(unknown, {"symbolId": "0" * 24})))
    assert _empty(await _outgoing(client, item(unknown, {"symbolId": "0" * 24})))
    assert _empty(await _incoming(client, item(unknown, None)))
    assert _empty(await _incoming(client, item("file:///elsewhere/x.py", 42)))
    assert _empty(await _outgoing(client, item("not a uri", ["odd"])))
    # No data: found again by file, name and line.
    (real,) = await _prepare(client, "pkg/upload.py", _pos(client, "pkg/upload.py", "send_chunk(self"))
    bare = item(real.uri, None, real.name)
    bare.selection_range = real.selection_range
    assert [c.from_.name for c in await _incoming(client, bare)] == ["retry_upload"]

    # A symbol that vanished from disk (and so from the index) since it was prepared.
    (doomed,) = await _prepare(client, "pkg/gone.py", t.Position(0, 5))
    assert [c.to.name for c in await _outgoing(client, doomed)] == ["helper"]
    path = client.workspace_root / "pkg/gone.py"
    path.write_text("def helper():\n    return 1\n", encoding="utf-8")
    client.workspace_did_change_watched_files(
        t.DidChangeWatchedFilesParams(changes=[t.FileEvent(uri=path.as_uri(), type=t.FileChangeType.Changed)])
    )
    deadline = time.monotonic() + 20
    while await _outgoing(client, doomed):
        assert time.monotonic() < deadline, "the index never dropped doomed()"
        await asyncio.sleep(0.1)
    assert _empty(await _incoming(client, doomed))


async def _references(client, rel: str, position: t.Position, declaration: bool = True):
    return await client.text_document_references_async(
        t.ReferenceParams(
            text_document=t.TextDocumentIdentifier(uri=_uri(client, rel)),
            position=position,
            context=t.ReferenceContext(include_declaration=declaration),
        )
    )


async def test_references_are_opt_in_and_search_based(client: LanguageClient):
    at = _pos(client, "pkg/config.py", "load_config", offset=2)
    assert await _references(client, "pkg/config.py", at) is None  # off by default
    client.workspace_did_change_configuration(
        t.DidChangeConfigurationParams(settings={"symscope": {"references": True}})
    )
    deadline = time.monotonic() + 10
    while (found := await _references(client, "pkg/config.py", at)) is None:
        assert time.monotonic() < deadline, "references never turned on"
        await asyncio.sleep(0.05)
    got = [
        (loc.uri.rsplit("/ws/", 1)[1], loc.range.start.line, loc.range.start.character, loc.range.end.character)
        for loc in found
    ]
    assert got[0] == ("pkg/config.py", *_span(client, "pkg/config.py", "load_config"))  # the declaration first
    assert sorted(got[1:]) == sorted(
        [
            ("pkg/jobs.py", *_span(client, "pkg/jobs.py", "load_config")),
            ("pkg/upload.py", *_span(client, "pkg/upload.py", "load_config", 0)),  # the import
            ("pkg/upload.py", *_span(client, "pkg/upload.py", "load_config", 1)),  # the call
        ]
    )
    # From a call site, without the declaration.
    from_call = await _references(
        client, "pkg/upload.py", _pos(client, "pkg/upload.py", "load_config", 1), declaration=False
    )
    assert len(from_call) == 3 and all("config.py" not in loc.uri for loc in from_call)
    # VS Code allows dynamic registration: the capability was registered, and goes away again.
    dynamic = client.kind == "visual-studio-code"
    if dynamic:
        assert [r.method for p in client.registrations for r in getattr(p, "registrations", [])].count(
            t.TEXT_DOCUMENT_REFERENCES
        ) == 1
    client.workspace_did_change_configuration(
        t.DidChangeConfigurationParams(settings={"symscope": {"references": False}})
    )
    deadline = time.monotonic() + 10
    while await _references(client, "pkg/config.py", at) is not None:
        assert time.monotonic() < deadline, "references never turned off"
        await asyncio.sleep(0.05)
    if dynamic:
        assert any(getattr(p, "unregisterations", None) for p in client.registrations)


async def test_references_option_at_initialize():
    """`references: true` in initializationOptions advertises the capability; anything but a
    boolean is a settings error and leaves it off."""
    from lsp_server.lsp import references, server, settings

    for value, advertised, error in [(True, True, False), (False, False, False), ("yes", False, True)]:
        ls = server.create_server()
        settings.resolve_settings(ls, {"references": value})
        result = t.InitializeResult(capabilities=t.ServerCapabilities(references_provider=True))
        references.advertise(ls, result)
        assert (result.capabilities.references_provider is not None) is advertised
        assert bool(ls.settings_error) is error and ls.options["references"] is advertised


# --------------------------------------------------------------------------------------------------
# headless Neovim, the real nvim/ configuration
# --------------------------------------------------------------------------------------------------


@pytest.mark.asyncio(loop_scope="function")
async def test_neovim_call_hierarchy(tmp_path: Path):
    from tests.test_nvim import _nvim

    workspace = make_workspace(tmp_path / "ws")
    (workspace / "symscope.toml").write_text("# the workspace root for Neovim's root_markers\n")
    env = server_env(tmp_path)
    env.update(
        {
            "SYMSCOPE_REPO": str(REPO),
            "SYMSCOPE_PYTHON": __import__("sys").executable,
            "SYMSCOPE_INDEX_DIR": str(tmp_path / "index"),
            "SYMSCOPE_FILE": "pkg/upload.py",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    proc = await asyncio.to_thread(
        subprocess.run,
        [_nvim(), "--clean", "--headless", "-c", f"luafile {REPO / 'tests/nvim/call_hierarchy.lua'}"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from nvim (rc {proc.returncode}); stderr: {proc.stderr[-2000:]}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0, json.dumps(report, indent=1)[:4000]
    assert report["encoding"] == "utf-8"
    assert all(v is True for v in report["checks"].values()), report["checks"]
