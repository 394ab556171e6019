"""A parser that crashes, hangs or runs out of memory costs one file, never the process that asked:
the supervised workers under `extract`, the scan, `update_files` and open documents, and then the
real front ends (the CLI, the language server through pytest-lsp and headless Neovim, the MCP server
through the SDK's stdio client) with such files in their workspace.

Crashes come two ways:
- the recorded real crashers under tests/fixtures/crashers/ (grammar bugs found by fuzzing or by
  users): parsing them must never kill anything, and those fixed at the source must parse;
- fault injection: with SYMSCOPE_WORKER_FAULTS=1 in a worker's environment, content starting with
  `symscope-fault:<kind>` makes the worker abort, segfault, hang or exhaust memory the way a broken
  grammar does (rust/supervise.rs). Nothing else in the worker changes.

If supervision were broken these tests would not fail politely: the abort would take pytest down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lsp_server import _native
from lsp_server.config import Settings
from lsp_server.index import Index
from tests.lsp_support import REPO, StatusRecorder, init_options, request, server_command, server_env

CRASHERS = Path(__file__).parent / "fixtures" / "crashers"
CRASHER_FILES = sorted(p for p in CRASHERS.iterdir() if p.is_file() and p.name != "README.md")
FAULTS = {"SYMSCOPE_WORKER_FAULTS": "1"}

GOOD_FILES = {
    "app/service.py": "class Service:\n    def start(self):\n        return True\n\n\ndef make_service():\n    return Service()\n",
    "app/util.js": "function formatDate(d) {\n  return d.toISOString();\n}\n",
}
ABORTING = "symscope-fault:abort\ndef never_seen():\n    pass\n"


@pytest.fixture
def faulty_workers():
    """Workers that honour fault injection, with short hang and memory allowances."""
    before = _native.worker_stats()
    _native.configure_workers(env=FAULTS, hang_ms=2000, memory_mb=256)
    yield
    _native.configure_workers(env={}, hang_ms=before["hang_ms"], memory_mb=before["memory_mb"])


def _deaths() -> int:
    return _native.worker_stats()["deaths"]


# -- the core's supervision, in this very process --------------------------------------------------


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("abort", "parser crashed (signal 6: SIGABRT): injected fault: abort"),
        ("segv", "parser crashed (signal 11: SIGSEGV)"),
        ("oom", "parser exceeded the memory ceiling (256 MiB)"),
        ("hang", "parser hung (stopped after 2.2 s)"),
    ],
)
def test_a_dying_worker_costs_one_file(faulty_workers, kind: str, reason: str):
    deaths = _deaths()
    result = _native.extract("f.py", f"symscope-fault:{kind}\ndef f():\n    pass\n".encode(), timeout_ms=200)
    assert result["skipped"] == reason
    assert result["symbols"] == [] and result["error"] is None
    assert _deaths() == deaths + 1
    # The next file gets a fresh worker and parses as usual.
    after = _native.extract("g.py", b"def g():\n    pass\n")
    assert [s["name"] for s in after["symbols"]] == ["g"]


def test_in_process_parsing_is_still_there_for_trusted_input():
    result = _native.extract("g.py", b"def g():\n    pass\n", supervised=False)
    assert [s["name"] for s in result["symbols"]] == ["g"]


def test_fault_markers_are_inert_without_the_test_switch():
    result = _native.extract("f.py", b"symscope-fault:abort\ndef f():\n    pass\n")
    assert result["skipped"] is None and [s["name"] for s in result["symbols"]] == ["f"]


@pytest.mark.parametrize("crasher", CRASHER_FILES, ids=lambda p: p.name)
def test_recorded_crashers_never_kill_the_caller(crasher: Path):
    result = _native.extract(crasher.name, crasher.read_bytes())
    assert result["language"] is not None
    # Either the grammar is fixed (it parses) or the worker died and the file says why.
    assert result["skipped"] is None or result["skipped"].startswith("parser "), result["skipped"]


def test_the_ruby_heredoc_crasher_parses_with_the_patched_grammar():
    """tree-sitter-ruby 0.23.1 aborted on it (scanner.c:160, heredoc word length kept in a byte);
    vendor/tree-sitter-ruby carries the fix."""
    data = (CRASHERS / "ruby-heredoc-scanner-abort.rb").read_bytes()
    result = _native.extract("crasher.rb", data, supervised=False)  # in-process on purpose: it must not abort
    assert result["skipped"] is None and result["symbols"]
    for length in (255, 256, 1018, 1019, 1020, 3000):
        _native.extract("h.rb", b"x = <<" + b"A" * length + b"\n", supervised=False)


def test_an_open_document_survives_its_host_crashing(faulty_workers):
    good = _native.Document("python", b"def keep():\n    pass\n")
    doc = _native.Document("python", b"def first():\n    pass\n")
    assert [s["name"] for s in doc.symbols(references=False)["symbols"]] == ["first"]
    deaths = _deaths()
    doc.edit(0, 0, b"symscope-fault:abort\n")  # the host dies re-parsing this edit
    assert _deaths() == deaths + 1
    assert doc.failure and doc.failure.startswith("parser crashed (signal 6")
    with pytest.raises(_native.ParserCrashed, match="signal 6"):
        doc.symbols()
    with pytest.raises(_native.ParserCrashed):
        doc.symbols()
    assert _deaths() == deaths + 1, "the text that killed the host was sent to it again"
    # The other document re-opens in a fresh host, transparently.
    assert [s["name"] for s in good.symbols()["symbols"]] == ["keep"]
    # Taking the marker out makes the text parse again (a full parse in the new host).
    doc.edit(0, len(b"symscope-fault:abort\n"), b"")
    assert doc.failure is None
    assert [s["name"] for s in doc.symbols()["symbols"]] == ["first"]
    # The same crashing text is refused without a parse, even in a new document.
    again = _native.Document("python", b"symscope-fault:abort\ndef first():\n    pass\n")
    assert again.failure == "parser crashed on this text before; not parsed again"
    assert _deaths() == deaths + 1


def test_a_hosted_document_stays_in_step_through_skipped_text():
    """Edits made while the text is skipped (here: binary) never reach the host; the tree it held
    must not come back stale afterwards (found by tests/test_fuzz_lsp_inputs.py)."""
    doc = _native.Document("python", b"def f():\n    pass\n")
    assert [s["name"] for s in doc.symbols()["symbols"]] == ["f"]
    doc.edit(0, 0, b"\x00")
    assert doc.symbols()["skipped"] == "binary"
    doc.edit(0, 1, b"def g():\n    pass\n")
    assert [s["name"] for s in doc.symbols()["symbols"]] == ["g", "f"]


def test_update_files_records_a_crash_and_keeps_the_rest(tmp_path: Path, faulty_workers):
    root = tmp_path / "ws"
    for rel, text in GOOD_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    with Index.open(Settings(root=root, index_dir=tmp_path / "index", embed=False)) as index:
        index.update()
        (root / "app/service.py").write_text(ABORTING)
        stats = index.update_files([root / "app/service.py"])
        assert stats.parser_failures == ["app/service.py: parser crashed (signal 6: SIGABRT): injected fault: abort"]
        assert index.symbols_in_file("app/service.py") == []
        assert [r.name for r in index.symbols_in_file("app/util.js")] == ["formatDate"]
        assert index.status().parser_failures == stats.parser_failures
        deaths = _deaths()
        index.update()  # unchanged content: not parsed again
        assert _deaths() == deaths


# -- the CLI ----------------------------------------------------------------------------------------


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = server_env(home) | FAULTS
    return subprocess.run(
        [sys.executable, "-m", "lsp_server", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _workspace(root: Path) -> Path:
    for rel, text in GOOD_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "app/broken.py").write_text(ABORTING)
    (root / "app/worse.py").write_text("symscope-fault:segv\n")
    crashers = root / "crashers"
    crashers.mkdir()
    for path in CRASHER_FILES:
        shutil.copy(path, crashers / path.name)
    return root


def test_cli_index_skips_crashers_once_and_indexes_them_when_fixed(tmp_path: Path):
    root = _workspace(tmp_path / "ws")
    index_dir = tmp_path / "index"
    first = _cli("index", str(root), "--index-dir", str(index_dir), "--no-embed", "--json", home=tmp_path)
    assert first.returncode == 0, first.stderr
    stats = json.loads(first.stdout)
    failures = stats["parser_failures"]
    assert "app/broken.py: parser crashed (signal 6: SIGABRT): injected fault: abort" in failures
    assert "app/worse.py: parser crashed (signal 11: SIGSEGV)" in failures
    assert stats["skipped"]["parser crashed"] >= 2
    assert stats["changed"] == stats["files"] == len(GOOD_FILES) + 2 + len(CRASHER_FILES)

    found = _cli("symbols", "make_service", "--root", str(root), "--index-dir", str(index_dir), "--json", home=tmp_path)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["path"] == "app/service.py"

    second = _cli("index", str(root), "--index-dir", str(index_dir), "--no-embed", "--json", home=tmp_path)
    again = json.loads(second.stdout)
    assert second.returncode == 0 and again["changed"] == 0  # nothing parsed: the crashers stay skipped
    assert again["parser_failures"] == failures

    status = _cli("status", "--root", str(root), "--index-dir", str(index_dir), home=tmp_path)
    assert "crashed    app/broken.py: parser crashed (signal 6: SIGABRT)" in status.stdout

    (root / "app/broken.py").write_text("def repaired():\n    return 1\n")
    third = json.loads(
        _cli("index", str(root), "--index-dir", str(index_dir), "--no-embed", "--json", home=tmp_path).stdout
    )
    assert third["changed"] == 1
    assert not any(f.startswith("app/broken.py") for f in third["parser_failures"])
    found = _cli("symbols", "repaired", "--root", str(root), "--index-dir", str(index_dir), "--json", home=tmp_path)
    assert json.loads(found.stdout)["results"][0]["path"] == "app/broken.py"


def test_cli_outline_reports_a_crash_and_exits_zero(tmp_path: Path):
    (tmp_path / "broken.py").write_text(ABORTING)
    out = _cli("outline", str(tmp_path / "broken.py"), home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "parser crashed (signal 6: SIGABRT)" in out.stdout + out.stderr


# -- the language server (pytest-lsp) --------------------------------------------------------------


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=server_command(),
        server_env=server_env(Path(tempfile.gettempdir()) / "symscope-test-home") | FAULTS,
    ),
)
async def crash_client(lsp_client: LanguageClient, tmp_path_factory):
    root = _workspace(tmp_path_factory.mktemp("lsp-crash") / "ws")
    status = StatusRecorder()
    lsp_client.feature("symscope/statusChanged")(status)
    lsp_client.root = root  # type: ignore[attr-defined]
    await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options=init_options(root.parent / "index"),
        )
    )
    await status.wait_for(lambda s: s.get("state") == "ready")
    yield
    await lsp_client.shutdown_session()


def _did_open(client, rel: str, text: str, language: str) -> str:
    uri = (client.root / rel).as_uri()
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
    )
    return uri


def _insert(client, uri: str, version: int, text: str, line: int = 0) -> None:
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                t.TextDocumentContentChangePartial(range=t.Range(t.Position(line, 0), t.Position(line, 0)), text=text)
            ],
        )
    )


async def _outline_names(client, uri: str) -> list[str]:
    symbols = await client.text_document_document_symbol_async(t.DocumentSymbolParams(t.TextDocumentIdentifier(uri)))
    names: list[str] = []
    stack = list(symbols or [])
    while stack:
        s = stack.pop(0)
        names.append(s.name)
        stack[0:0] = list(getattr(s, "children", None) or [])
    return names


@pytest.mark.asyncio
async def test_language_server_lives_through_a_crashing_buffer(crash_client: LanguageClient):
    client = crash_client
    # Every recorded crasher opened and edited: the server answers throughout.
    for i, path in enumerate(CRASHER_FILES):
        language = _native.detect_language(path.name) or "plaintext"
        uri = _did_open(client, f"crashers/{path.name}", path.read_text(errors="replace"), language)
        _insert(client, uri, 2, "\n")
        await client.text_document_document_symbol_async(t.DocumentSymbolParams(t.TextDocumentIdentifier(uri)))

    uri = _did_open(client, "app/draft.py", "class Draft:\n    def save(self):\n        pass\n", "python")
    assert await _outline_names(client, uri) == ["Draft", "save"]
    _insert(client, uri, 2, "symscope-fault:abort\n")  # the document host dies on this edit
    # The outline falls back to the last good one, with one warning.
    assert await _outline_names(client, uri) == ["Draft", "save"]
    warnings = [m for m in client.messages if m.type == t.MessageType.Warning and "parser failed" in m.message]
    assert len(warnings) == 1 and "draft.py" in warnings[0].message and "signal 6" in warnings[0].message
    status = await request(client, "symscope/status", {})
    deaths = status["parserWorkers"]["deaths"]
    assert any(f.startswith("app/draft.py: parser crashed") for f in status["parserFailures"])
    assert any(f.startswith("app/broken.py: parser crashed") for f in status["parserFailures"])
    # Asking again never re-parses the text that crashed the host.
    assert await _outline_names(client, uri) == ["Draft", "save"]
    assert (await request(client, "symscope/status", {}))["parserWorkers"]["deaths"] == deaths
    assert len([m for m in client.messages if "parser failed" in m.message]) == 1

    # Other documents and the index keep answering.
    other = _did_open(client, "app/service.py", GOOD_FILES["app/service.py"], "python")
    assert await _outline_names(client, other) == ["Service", "start", "make_service"]
    found = await client.workspace_symbol_async(t.WorkspaceSymbolParams(query="formatDate"))
    assert found and found[0].name == "formatDate"

    # A document whose very first text crashes falls back to the index's outline.
    broken = _did_open(client, "app/util.js", "symscope-fault:abort\n" + GOOD_FILES["app/util.js"], "javascript")
    assert await _outline_names(client, broken) == ["formatDate"]
    # Removing the marker makes the buffer parse again.
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[
                t.TextDocumentContentChangePartial(range=t.Range(t.Position(0, 0), t.Position(1, 0)), text="")
            ],
        )
    )
    assert await _outline_names(client, uri) == ["Draft", "save"]
    status = await request(client, "symscope/status", {})
    assert not any(f.startswith("app/draft.py") for f in status["parserFailures"])
    assert status["state"] == "ready"


# -- headless Neovim --------------------------------------------------------------------------------


def test_neovim_session_survives_a_crashing_buffer(tmp_path: Path):
    from tests.test_nvim import _nvim

    root = _workspace(tmp_path / "ws")
    (root / "symscope.toml").write_text("# the workspace root for Neovim's root_markers\n")
    env = server_env(tmp_path) | FAULTS
    env.update(
        {
            "SYMSCOPE_REPO": str(REPO),
            "SYMSCOPE_PYTHON": sys.executable,
            "SYMSCOPE_INDEX_DIR": str(tmp_path / "index"),
            "SYMSCOPE_FILE": "app/service.py",
            "SYMSCOPE_OTHER_FILE": "app/util.js",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    proc = subprocess.run(
        [_nvim(), "--clean", "--headless", "-c", f"luafile {REPO / 'tests/nvim/crash.lua'}"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from nvim (rc {proc.returncode}); stderr: {proc.stderr[-2000:]}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0, json.dumps(report, indent=1)[:4000]
    assert all(v is True for v in report["checks"].values()), report["checks"]


# -- the MCP server (SDK client over stdio) ---------------------------------------------------------


@pytest.mark.asyncio
async def test_mcp_server_lives_through_crashing_files(tmp_path: Path):
    from mcp import Client, StdioServerParameters

    root = _workspace(tmp_path / "ws")
    cmd = [
        sys.executable,
        "-m",
        "lsp_server",
        "mcp",
        "--root",
        str(root),
        "--index-dir",
        str(tmp_path / "index"),
        "--model",
        "hashing:64",
    ]
    env = server_env(tmp_path) | FAULTS
    async with Client(StdioServerParameters(command=cmd[0], args=cmd[1:], env=env)) as mcp:
        status = (await mcp.call_tool("index_status", {})).structured_content
        for _ in range(100):
            if not status["indexing"]:
                break
            import asyncio

            await asyncio.sleep(0.1)
            status = (await mcp.call_tool("index_status", {})).structured_content
        assert any(f.startswith("app/broken.py: parser crashed (signal 6") for f in status["parser_failures"])
        outline = await mcp.call_tool("file_outline", {"path": "app/broken.py"})
        assert outline.content  # an answer (empty or an error note), not a dead server
        for path in CRASHER_FILES:
            await mcp.call_tool("file_outline", {"path": f"crashers/{path.name}"})
        # get_symbol re-extracts a file whose bytes differ from the index: make it crash there too.
        (root / "app/service.py").write_text(ABORTING)
        await mcp.call_tool("get_symbol", {"path": "app/service.py", "name": "Service"})
        found = await mcp.call_tool("find_symbol", {"name": "formatDate"})
        assert not found.is_error and "formatDate" in found.content[0].text


def test_worker_processes_do_not_outlive_their_server(tmp_path: Path):
    """A worker stuck in a grammar never reads its closed stdin: it notices its parent is gone."""
    script = (
        "import os, sys; from lsp_server import _native\n"
        "_native.configure_workers(env={'SYMSCOPE_WORKER_FAULTS': '1', 'SYMSCOPE_TEST_PARENT': str(os.getpid())}, hang_ms=600000)\n"
        "import threading\n"
        "threading.Thread(target=_native.extract, args=('f.py', b'symscope-fault:hang\\n'), daemon=True).start()\n"
        "import time; time.sleep(1.5)\n"
        "print(os.getpid(), flush=True); os._exit(0)\n"
    )
    env = server_env(tmp_path)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    parent = int(out.stdout.strip())
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        orphans = _children_of_dead(parent)
        if not orphans:
            return
        time.sleep(0.2)
    pytest.fail(f"workers of {parent} still alive: {orphans}")


def _children_of_dead(parent: int) -> list[int]:
    """Live parser workers started by `parent` (it marked their environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"lsp_server._worker" in cmdline and f"SYMSCOPE_TEST_PARENT={parent}".encode() in environ:
            found.append(int(entry))
    return found
