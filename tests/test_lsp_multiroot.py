"""Multi-root workspaces through pytest-lsp (VS Code's captured capabilities): every workspace folder
gets its own index and session; searches merge all folders and label each hit with its folder;
documents are attributed to the folder that holds them; folders come and go with
`workspace/didChangeWorkspaceFolders`; a folder nested in another is not indexed twice; status
reports per folder."""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_server.index.lock import WriterLock
from tests.lsp_support import StatusRecorder, init_options, make_workspace, request, server_command, server_env

pytestmark = pytest.mark.asyncio(loop_scope="module")

BETA = {
    "inventory.py": '''
        def reserve_stock(item, count):
            """Hold items in the warehouse for an order."""
            return release_stock(item, -count)


        def release_stock(item, count):
            return count


        class StockLedger:
            def record(self, entry):
                return reserve_stock(entry, 1)
        ''',
}
GAMMA = {"billing/invoice.go": "package billing\n\nfunc IssueInvoice(total int) int {\n\treturn total\n}\n"}


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def _folders(status: dict) -> dict[str, dict]:
    return {f["name"]: f for f in status.get("folders") or []}


def _all_ready(*names: str):
    def check(status: dict) -> bool:
        folders = _folders(status)
        return all(folders.get(n, {}).get("state") == "ready" for n in names)

    return check


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=server_command(), server_env=server_env(Path(tempfile.gettempdir()) / "symscope-test-home")
    ),
    scope="module",
)
async def client(lsp_client: LanguageClient, tmp_path_factory):
    base = tmp_path_factory.mktemp("lsp-multiroot")
    alpha = make_workspace(base / "alpha")
    beta = _write(base / "beta", BETA)
    gamma = _write(base / "gamma", GAMMA)
    status = StatusRecorder()
    lsp_client.feature("symscope/statusChanged")(status)
    lsp_client.status = status  # type: ignore[attr-defined]
    registrations: list = []
    lsp_client.feature(t.CLIENT_REGISTER_CAPABILITY)(lambda params: registrations.append(params))
    lsp_client.roots = {"alpha": alpha, "beta": beta, "gamma": gamma, "index": base / "index"}  # type: ignore[attr-defined]
    result = await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=alpha.as_uri(),
            workspace_folders=[
                t.WorkspaceFolder(uri=alpha.as_uri(), name="alpha"),
                t.WorkspaceFolder(uri=beta.as_uri(), name="beta"),
            ],
            # One explicit indexDir for several folders: the first keeps it, the others get subfolders.
            initialization_options=init_options(base / "index"),
        )
    )
    folders_cap = result.capabilities.workspace.workspace_folders
    assert folders_cap.supported and folders_cap.change_notifications
    await status.wait_for(_all_ready("alpha", "beta"))
    await status.wait_for(lambda s: all(f.get("watcher") == "client" for f in _folders(s).values()))
    # One file-watcher registration covers every folder, those added later included.
    assert [r.id for p in registrations for r in p.registrations] == ["symscope/watched-files"]
    yield
    await lsp_client.shutdown_session()


async def _status(client) -> dict:
    return await request(client, "symscope/status", {})


async def _symbols(client, query: str) -> list[dict]:
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query=query)) or []
    return [{"name": s.name, "uri": s.location.uri} for s in found]


def _in(client, name: str, uri: str) -> bool:
    return uri.startswith(client.roots[name].as_uri() + "/")


async def test_status_reports_each_folder_with_its_own_index(client):
    status = await _status(client)
    folders = _folders(status)
    assert list(folders) == ["alpha", "beta"]
    alpha, beta = folders["alpha"], folders["beta"]
    assert alpha["state"] == beta["state"] == "ready" and alpha["files"] >= 5 and beta["files"] == 1
    assert alpha["root"] == str(client.roots["alpha"]) and beta["root"] == str(client.roots["beta"])
    index = client.roots["index"].resolve()
    assert Path(alpha["indexDir"]) == index
    assert Path(beta["indexDir"]).parent == index / "folders" and Path(beta["indexDir"]).name.startswith("beta-")
    assert beta["role"] == "writer"
    client.beta_index = Path(beta["indexDir"])
    # The top level keeps the single-folder shape: the first folder's details, counts summed.
    assert status["state"] == "ready" and status["root"] == alpha["root"]
    assert status["files"] == alpha["files"] + beta["files"]
    assert status["symbols"] == alpha["symbols"] + beta["symbols"]


async def test_both_folders_are_searchable_and_labelled(client):
    found = await _symbols(client, "reserve_stock")
    assert found and found[0]["name"] == "reserve_stock" and _in(client, "beta", found[0]["uri"])
    found = await _symbols(client, "load_config")
    assert found and found[0]["name"] == "load_config" and _in(client, "alpha", found[0]["uri"])

    answer = await request(client, "symscope/search", {"query": "reserve_stock", "limit": 5})
    top = answer["results"][0]
    assert top["name"] == "reserve_stock" and top["folder"] == "beta" and top["path"] == "inventory.py"
    assert _in(client, "beta", top["uri"])
    answer = await request(client, "symscope/search", {"query": "read the settings file from disk", "limit": 3})
    assert answer["results"] and all(r["folder"] in ("alpha", "beta") for r in answer["results"])
    assert answer["results"][0]["folder"] == "alpha"

    text = await request(client, "symscope/searchText", {"pattern": "stock"})
    assert text["results"] and {r["folder"] for r in text["results"]} == {"beta"}
    assert all(_in(client, "beta", r["uri"]) for r in text["results"])
    text = await request(client, "symscope/searchText", {"pattern": "def ", "limit": 2})
    assert len(text["results"]) == 2 and text["truncated"]


async def test_requests_on_a_file_use_its_folder(client):
    uri = (client.roots["beta"] / "inventory.py").as_uri()
    text = (client.roots["beta"] / "inventory.py").read_text(encoding="utf-8")
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    items = await client.text_document_prepare_call_hierarchy_async(
        t.CallHierarchyPrepareParams(
            text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=0, character=5)
        )
    )
    assert items and items[0].name == "reserve_stock" and items[0].uri == uri
    outgoing = await client.call_hierarchy_outgoing_calls_async(t.CallHierarchyOutgoingCallsParams(item=items[0]))
    assert [(c.to.name, c.to.detail) for c in outgoing] == [("release_stock", "same file · inventory.py")]
    assert _in(client, "beta", outgoing[0].to.uri)
    incoming = await client.call_hierarchy_incoming_calls_async(t.CallHierarchyIncomingCallsParams(item=items[0]))
    assert ("record", "same file · StockLedger") in [(c.from_.name, c.from_.detail) for c in incoming]

    related = await request(
        client, "symscope/related", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}}
    )
    assert related["symbol"]["name"] == "reserve_stock" and related["symbol"]["folder"] == "beta"
    why = {r["name"]: r["why"] for r in related["results"]}
    assert "called by it (same file" in why["release_stock"] and "calls it (same file" in why["record"]
    assert all(r["folder"] == "beta" and _in(client, "beta", r["uri"]) for r in related["results"])

    # The open document is attributed to beta: its unsaved symbols are found there.
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                t.TextDocumentContentChangeWholeDocument(text=text + "\n\ndef audit_shelves():\n    return 0\n")
            ],
        )
    )
    found = await _symbols(client, "audit_shelves")
    assert found and found[0]["uri"] == uri
    answer = await request(client, "symscope/search", {"query": "audit_shelves", "limit": 3})
    assert answer["results"][0]["folder"] == "beta" and answer["results"][0]["freshness"] == "unsaved"
    status = await _status(client)
    assert _folders(status)["beta"]["openDocuments"] == 1 and status["unsavedDocuments"] == 1


async def test_a_folder_added_live_becomes_searchable(client):
    gamma = client.roots["gamma"]
    assert not await _symbols(client, "IssueInvoice")
    client.workspace_did_change_workspace_folders(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[t.WorkspaceFolder(uri=gamma.as_uri(), name="gamma")], removed=[])
        )
    )
    status = await client.status.wait_for(_all_ready("alpha", "beta", "gamma"))
    assert _folders(status)["gamma"]["watcher"] == "client"
    found = await _symbols(client, "IssueInvoice")
    assert found and _in(client, "gamma", found[0]["uri"])
    answer = await request(client, "symscope/search", {"query": "IssueInvoice", "limit": 3})
    assert answer["results"][0]["folder"] == "gamma"


async def test_a_nested_folder_is_not_indexed_twice(client):
    web = client.roots["alpha"] / "web"
    client.workspace_did_change_workspace_folders(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[t.WorkspaceFolder(uri=web.as_uri(), name="web")], removed=[])
        )
    )
    status = await client.status.wait_for(lambda s: "web" in _folders(s))
    nested = _folders(status)["web"]
    assert nested["state"] == "nested" and nested["servedBy"] == "alpha"
    found = await _symbols(client, "getUserName")
    assert len([f for f in found if f["name"] == "getUserName"]) == 1


async def test_a_removed_folder_disappears(client):
    beta = client.roots["beta"]
    client.workspace_did_change_workspace_folders(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[], removed=[t.WorkspaceFolder(uri=beta.as_uri(), name="beta")])
        )
    )
    status = await client.status.wait_for(lambda s: s.get("folders") and "beta" not in _folders(s))
    assert list(_folders(status)) == ["alpha", "gamma", "web"]
    # Its session stopped cleanly: the index's writer lock is free again.
    lock = WriterLock(client.beta_index)
    deadline = time.monotonic() + 10
    while not lock.try_acquire():
        assert time.monotonic() < deadline, "the removed folder's index is still locked"
        await asyncio.sleep(0.1)
    lock.release()
    assert not [f for f in await _symbols(client, "reserve_stock") if _in(client, "beta", f["uri"])]
    assert not [f for f in await _symbols(client, "audit_shelves")]  # its open document left with it
    answer = await request(client, "symscope/search", {"query": "reserve_stock", "limit": 5})
    assert all(r["folder"] != "beta" for r in answer["results"])
    # The document is still open: outlines keep working outside every folder.
    uri = (beta / "inventory.py").as_uri()
    outline = await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    assert "audit_shelves" in [s.name for s in outline]
    # Removing the outer folder gives the nested one its own index.
    alpha = client.roots["alpha"]
    client.workspace_did_change_workspace_folders(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[], removed=[t.WorkspaceFolder(uri=alpha.as_uri(), name="alpha")])
        )
    )
    status = await client.status.wait_for(_all_ready("gamma", "web"))
    assert list(_folders(status)) == ["gamma", "web"]
    found = await _symbols(client, "getUserName")
    assert found and found[0]["uri"] == (alpha / "web" / "user.js").as_uri()
    assert not await _symbols(client, "load_config")


async def test_back_to_back_changes_and_a_settings_change(client):
    beta, gamma = client.roots["beta"], client.roots["gamma"]
    change = client.workspace_did_change_workspace_folders
    # Sent at once: each change builds on the one before, even while that one is still applied.
    change(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[t.WorkspaceFolder(uri=beta.as_uri(), name="beta")], removed=[])
        )
    )
    change(
        t.DidChangeWorkspaceFoldersParams(
            event=t.WorkspaceFoldersChangeEvent(added=[], removed=[t.WorkspaceFolder(uri=gamma.as_uri(), name="gamma")])
        )
    )
    status = await client.status.wait_for(
        lambda s: list(_folders(s)) == ["web", "beta"] and _all_ready("web", "beta")(s)
    )
    found = await _symbols(client, "reserve_stock")
    assert found and _in(client, "beta", found[0]["uri"])
    assert not await _symbols(client, "IssueInvoice")
    # The document left open in beta (with unsaved edits) is beta's again.
    uri = (beta / "inventory.py").as_uri()
    found = await _symbols(client, "audit_shelves")
    assert found and found[0]["uri"] == uri
    client.text_document_did_close(t.DidCloseTextDocumentParams(text_document=t.TextDocumentIdentifier(uri=uri)))
    # A settings change restarts every folder's session with the new settings.
    client.workspace_did_change_configuration(
        t.DidChangeConfigurationParams(settings={"symscope": {"excludes": ["inventory.py"]}})
    )
    status = await client.status.wait_for(
        lambda s: _all_ready("web", "beta")(s) and _folders(s)["beta"]["files"] == 0, timeout=30
    )
    assert _folders(status)["web"]["files"] == 2
    assert not [f for f in await _symbols(client, "reserve_stock") if _in(client, "beta", f["uri"])]
