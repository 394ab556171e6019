"""End-to-end language-server tests through pytest-lsp, under VS Code's and Neovim's real captured
client capabilities: indexing progress, outlines, workspace symbols (identifier and natural
language), the custom search request and command, live edits, UTF-16 columns with emoji, saved
changes, settings changes and a second server reading an index another one writes."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.lsp_support import (
    EMOJI_LINE,
    StatusRecorder,
    init_options,
    make_workspace,
    plain,
    request,
    server_command,
    server_env,
    utf8_col,
    utf16_col,
)


def col(client, line: str, substring: str) -> int:
    """The column of `substring` in `line` in the encoding this session negotiated."""
    return (utf8_col if client.encoding == "utf-8" else utf16_col)(line, substring)


# Neovim 0.11 offers utf-8 first (so columns are bytes); 0.10 offers only utf-16, like VS Code.
CLIENTS = ["visual-studio-code", "neovim", "neovim@v0.10.0"]


# One server per client capability set serves every test of this module (starting one costs
# seconds: imports and LanceDB); tests that edit only touch what no other test reads.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=server_command(), server_env=server_env(Path(tempfile.gettempdir()) / "symscope-test-home")
    ),
    params=CLIENTS,
    scope="module",
)
async def client(lsp_client: LanguageClient, request, tmp_path_factory):
    workspace = make_workspace(tmp_path_factory.mktemp(f"lsp-e2e-{request.param.replace('@', '-')}") / "ws")
    status = StatusRecorder()
    lsp_client.feature("symscope/statusChanged")(status)
    lsp_client.status = status  # type: ignore[attr-defined]
    registrations: list = []
    lsp_client.feature(t.CLIENT_REGISTER_CAPABILITY)(lambda params: registrations.append(params))
    lsp_client.registrations = registrations  # type: ignore[attr-defined]
    lsp_client.workspace_root = workspace  # type: ignore[attr-defined]
    result = await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities(request.param),
            root_uri=workspace.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=init_options(workspace.parent / "index"),
        )
    )
    # VS Code and Neovim 0.10 get UTF-16; Neovim 0.11 offers utf-8 first, which we take.
    lsp_client.encoding = str(result.capabilities.position_encoding)  # type: ignore[attr-defined]
    assert lsp_client.encoding == ("utf-8" if request.param == "neovim" else "utf-16")
    await status.wait_for(lambda s: s.get("state") == "ready")
    yield
    await lsp_client.shutdown_session()


def _uri(client, rel: str) -> str:
    return (client.workspace_root / rel).as_uri()


def _open(client, rel: str, text: str | None = None, language: str = "python") -> str:
    uri = _uri(client, rel)
    if text is None:
        text = (client.workspace_root / rel).read_text(encoding="utf-8")
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
    )
    return uri


async def _outline(client, uri: str):
    return await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )


def _names(symbols) -> list[str]:
    out = []
    for s in symbols or []:
        out.append(s.name)
        out.extend(_names(getattr(s, "children", None)))
    return out


async def test_indexing_reports_progress_and_status(client: LanguageClient):
    reports = client.progress_reports["symscope/indexing"]
    kinds = [r.kind for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    percentages = [r.percentage for r in reports if r.kind == "report" and r.percentage is not None]
    assert percentages and percentages == sorted(percentages) and all(0 <= p <= 100 for p in percentages)
    status = await request(client, "symscope/status", {})
    assert status["state"] == "ready" and status["role"] == "writer"
    assert status["files"] == 5 and status["symbols"] == 10
    assert status["vectors"] == status["symbols"] and status["pending"] == 0
    assert status["modelId"] == "hashing-256"
    assert status["positionEncoding"] == client.encoding


async def test_outline_is_hierarchical(client: LanguageClient):
    uri = _open(client, "pkg/upload.py")
    symbols = await _outline(client, uri)
    assert [s.name for s in symbols] == ["UploadClient"]
    cls = symbols[0]
    assert cls.kind == t.SymbolKind.Class
    assert [c.name for c in cls.children] == ["retry_upload", "send_chunk"]
    assert all(c.kind == t.SymbolKind.Method for c in cls.children)
    # class UploadClient: starts on line 3 (0-based); the name starts at column 6
    assert (cls.selection_range.start.line, cls.selection_range.start.character) == (3, 6)
    assert cls.range.start.line == 3 and cls.range.end.line == 15


async def test_workspace_symbol_fuzzy_and_natural_language(client: LanguageClient):
    exact = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="load_config"))
    assert exact[0].name == "load_config"
    assert exact[0].location.uri == _uri(client, "pkg/config.py")
    assert exact[0].location.range.start.line == 3  # the name, not the decorator/docstring
    abbreviated = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="ldcfg"))
    assert "load_config" in [s.name for s in abbreviated]
    camel = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="getUser"))
    assert camel[0].name == "getUserName" and camel[0].location.uri.endswith("web/user.js")
    question = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="send again after network failure"))
    assert question[0].name == "retry_upload"
    assert question[0].container_name == "UploadClient"
    assert await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="")) == []


async def test_custom_search_request_and_command(client: LanguageClient):
    res = await request(client, "symscope/search", {"query": "read the settings file from disk", "limit": 3})
    top = res["results"][0]
    assert top["name"] == "load_config" and top["freshness"] == "indexed"
    assert top["uri"] == _uri(client, "pkg/config.py") and top["path"] == "pkg/config.py"
    assert top["selectionRange"]["start"] == {"line": 3, "character": 4}
    assert top["startLine"] == 4 and top["kind"] == "function" and top["symbolKind"] == 12
    assert top["signature"].startswith("def load_config") and top["why"]
    only_js = await request(client, "symscope/search", {"query": "user name", "lang": "javascript"})
    assert only_js["results"] and {r["language"] for r in only_js["results"]} == {"javascript"}
    by_command = plain(
        await client.workspace_execute_command_async(
            t.ExecuteCommandParams(command="symscope.search", arguments=["UploadClient", 2])
        )
    )
    assert by_command["results"][0]["name"] == "UploadClient" and len(by_command["results"]) <= 2
    with_options = plain(
        await client.workspace_execute_command_async(
            t.ExecuteCommandParams(command="symscope.search", arguments=["config", {"kind": "class"}])
        )
    )
    assert with_options["results"][0]["name"] == "ConfigError"
    assert {r["kind"] for r in with_options["results"]} == {"class"}
    with pytest.raises(Exception, match="limit"):
        await request(client, "symscope/search", {"query": "x", "limit": "many"})


async def test_did_change_adds_a_function_to_outline_and_search(client: LanguageClient):
    uri = _open(client, "pkg/config.py")
    text = (client.workspace_root / "pkg/config.py").read_text()
    end_line = len(text.splitlines())
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                t.TextDocumentContentChangePartial(
                    range=t.Range(t.Position(end_line, 0), t.Position(end_line, 0)),
                    text='\n\ndef merge_overrides(base, extra):\n    """Combine defaults with user overrides."""\n    return {**base, **extra}\n',
                )
            ],
        )
    )
    outline = await _outline(client, uri)
    assert "merge_overrides" in _names(outline)
    added = next(s for s in outline if s.name == "merge_overrides")
    assert added.selection_range.start == t.Position(end_line + 2, 4)
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="merge_overrides"))
    assert found[0].name == "merge_overrides" and found[0].location.uri == uri
    assert found[0].location.range.start.line == end_line + 2
    res = await request(client, "symscope/search", {"query": "combine defaults with user overrides"})
    assert res["results"][0]["name"] == "merge_overrides" and res["results"][0]["freshness"] == "unsaved"
    # The unsaved buffer never reaches the shared index.
    status = await request(client, "symscope/status", {})
    assert status["unsavedDocuments"] == 1
    client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))
    after_close = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="merge_overrides"))
    assert "merge_overrides" not in [s.name for s in after_close]


async def test_columns_with_emoji_in_the_negotiated_encoding(client: LanguageClient):
    uri = _open(client, "web/emoji.js", language="javascript")
    outline = await _outline(client, uri)
    fn = next(s for s in outline if s.name == "afterEmoji")
    assert fn.selection_range.start == t.Position(0, col(client, EMOJI_LINE, "afterEmoji"))
    assert fn.selection_range.end.character == col(client, EMOJI_LINE, "afterEmoji") + len("afterEmoji")
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="afterEmoji"))
    assert found[0].location.range.start.character == col(client, EMOJI_LINE, "afterEmoji")
    # Incremental edits placed by columns after the emoji must land exactly: a rename, then an
    # insertion at the end of the (now different) line.
    start = col(client, EMOJI_LINE, "afterEmoji")
    end = start + len("afterEmoji")
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                t.TextDocumentContentChangePartial(
                    range=t.Range(t.Position(0, start), t.Position(0, end)), text="rënamed"
                )
            ],
        )
    )
    line = EMOJI_LINE.replace("afterEmoji", "rënamed")
    line_end = col(client, line + "|", "|")
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[
                t.TextDocumentContentChangePartial(
                    range=t.Range(t.Position(0, line_end), t.Position(0, line_end)), text=" function tail() {}"
                )
            ],
        )
    )
    line += " function tail() {}"
    outline = await _outline(client, uri)
    assert [s.name for s in outline] == ["wave", "rënamed", "tail", "second"]
    renamed, tail = outline[1], outline[2]
    assert renamed.selection_range.start.character == start
    assert renamed.selection_range.end.character == col(client, line, "(a)")
    assert tail.selection_range.start == t.Position(0, col(client, line, "tail"))
    client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))


async def _wait_searchable(client, name: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        found = await request(client, "symscope/search", {"query": name, "limit": 1})
        if found["results"] and found["results"][0]["name"] == name:
            return found["results"][0]
        assert time.monotonic() < deadline, f"{name} never became searchable"
        await asyncio.sleep(0.05)


async def test_saved_change_becomes_searchable(client: LanguageClient):
    path = client.workspace_root / "pkg/upload.py"
    original = path.read_text()
    uri = _open(client, "pkg/upload.py", original)
    new_text = original.replace(
        "    def send_chunk(", "    def compress_payload(self, data):\n        return data\n\n    def send_chunk("
    )
    path.write_text(new_text)
    client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(uri), text=new_text))
    client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri)))
    hit = await _wait_searchable(client, "compress_payload")
    assert hit["freshness"] in ("indexed", "pending") and hit["qualifiedName"] == "UploadClient.compress_payload"
    path.write_text(original)
    client.text_document_did_save(t.DidSaveTextDocumentParams(t.TextDocumentIdentifier(uri)))


async def test_new_file_on_disk_becomes_searchable(client: LanguageClient):
    """A file created outside the editor: reported by the client's watcher where the client offers
    dynamic registration (VS Code), found by the server's own watcher otherwise (Neovim on Linux)."""
    path = client.workspace_root / "pkg" / "extra.py"
    path.write_text("def rebalance_shards(cluster):\n    return cluster\n")
    if client.registrations:
        (registration,) = client.registrations[0].registrations
        assert registration.method == t.WORKSPACE_DID_CHANGE_WATCHED_FILES
        client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(changes=[t.FileEvent(uri=path.as_uri(), type=t.FileChangeType.Created)])
        )
    status = await request(client, "symscope/status", {})
    assert status["watcher"] == ("client" if client.registrations else "watchfiles")
    hit = await _wait_searchable(client, "rebalance_shards")
    assert hit["path"] == "pkg/extra.py"


async def test_search_text_request_in_the_negotiated_encoding(client: LanguageClient):
    res = await request(client, "symscope/searchText", {"pattern": "afterEmoji", "context": 1})
    hit = next(r for r in res["results"] if r["path"] == "web/emoji.js")
    start = col(client, EMOJI_LINE, "afterEmoji")
    assert hit["range"] == {
        "start": {"line": 0, "character": start},
        "end": {"line": 0, "character": start + len("afterEmoji")},
    }
    assert (
        hit["uri"] == _uri(client, "web/emoji.js")
        and hit["symbol"] == "afterEmoji"
        and hit["after"] == ["function second() {}"]
    )
    regex = await request(client, "symscope/searchText", {"pattern": r"json\.(load|dump)\(", "regex": True})
    assert {r["symbol"] for r in regex["results"]} == {"load_config", "save_config"}
    with pytest.raises(Exception, match="bad pattern"):
        await request(client, "symscope/searchText", {"pattern": "(", "regex": True})
    with pytest.raises(Exception, match="pattern"):
        await request(client, "symscope/searchText", {"limit": 3})


async def test_related_code_at_a_position(client: LanguageClient):
    uri = _uri(client, "pkg/upload.py")
    res = await request(
        client, "symscope/related", {"textDocument": {"uri": uri}, "position": {"line": 9, "character": 12}, "limit": 5}
    )
    assert res["symbol"]["qualifiedName"] == "UploadClient.retry_upload"
    names = [r["qualifiedName"] for r in res["results"]]
    assert "UploadClient.retry_upload" not in names and 1 <= len(names) <= 5
    first = res["results"][0]
    assert first["qualifiedName"] == "UploadClient.send_chunk" and "called by it (same class" in first["why"]
    assert first["uri"] == uri and first["selectionRange"]["start"] == {"line": 13, "character": 8}
    nothing = await request(
        client, "symscope/related", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}}
    )
    assert nothing["symbol"] is None and "no indexed definition" in nothing["note"]
    with pytest.raises(Exception, match="textDocument"):
        await request(client, "symscope/related", {"position": {"line": 1}})
