"""The language server: `symscope lsp` on pygls 2 / lsprotocol; the server object and its registration.

Owns `SymscopeServer` (what every handler reads: the client's position encoding, the workspace
folders and which one holds a file, the settings in force, the query thread pool, hand-off from
worker threads to the event loop), the pygls protocol subclass (the position encoding we prefer:
UTF-8 when the client offers it, else UTF-16; open documents kept only in our overlays; plain JSON
results sent without a cattrs round trip), the strict params converter, the table of LSP methods and
commands (`FEATURES`, `COMMANDS`), `create_server` and `main`.

The package (this module's siblings), one module per LSP method or tight group:
  transport.py        stdio frames that survive hostile input
  lifecycle.py        initialize / initialized / shutdown, exiting with the client
  folders.py          workspace folders (`Folder`), didChangeWorkspaceFolders
  settings.py         options -> each folder's Settings;  configuration.py: didChangeConfiguration
  watching.py         file watching, didChangeWatchedFiles
  progress.py         `$/progress` while indexing;  status.py: symscope/status, statusChanged, commands
  documents.py        didOpen / didChange / didSave / didClose;  overlay.py: the open buffers (no pygls)
  document_symbol.py  outlines;  workspace_symbol.py, search.py, search_text.py, related.py: search
  call_hierarchy.py, references.py (with symbol_at.py): the call graph
  mcp_endpoint.py     `--mcp-port`;  protocol.py: names, JSON results and LSP shapes shared by all

Workspace folders: every folder of `initialize` and of `workspace/didChangeWorkspaceFolders` is a
`Folder` with its own index, WorkspaceSession and overlay. A request about a file uses its folder;
workspace/symbol, symscope/search and symscope/searchText search every folder (merged by score;
searchText in folder order), each custom result labelled `folder`. The MCP endpoint (`--mcp-port`)
serves the first folder. The custom requests are documented in the module that answers each.

Must never: write anything but protocol frames to stdout (transport.py), block the event loop on
index or search work (handlers hand it to `in_thread`, so `$/cancelRequest` answers at once), or die
on input: every handler failure is an error response or a log line.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from lsp_server import __version__
from lsp_server.lsp import (
    call_hierarchy,
    configuration,
    document_symbol,
    documents,
    lifecycle,
    mcp_endpoint,
    references,
    related,
    search,
    search_text,
    status,
    watching,
    workspace_symbol,
)
from lsp_server.lsp.folders import Folder, did_change_workspace_folders
from lsp_server.lsp.protocol import (
    REINDEX_COMMAND,
    RELATED_REQUEST,
    SEARCH_COMMAND,
    SEARCH_REQUEST,
    SEARCH_TEXT_REQUEST,
    STATUS_COMMAND,
    STATUS_REQUEST,
    JsonDict,
    JsonList,
    lsp_range,
)
from lsp_server.lsp.settings import LSP_OPTIONS
from lsp_server.lsp.transport import serve_stdio

if TYPE_CHECKING:
    from lsp_server.config import Settings
    from lsp_server.session import WorkspaceSession

log = logging.getLogger(__name__)


class SymscopeProtocol(LanguageServerProtocol):
    """pygls' protocol with three changes: the position encoding we prefer, open documents kept only
    in our overlay (pygls' own copy would re-split the whole text on every keystroke), and plain
    JSON results sent without a cattrs round trip."""

    _server: SymscopeServer

    @lsp_method(t.INITIALIZE)
    def lsp_initialize(self, params: t.InitializeParams):
        general = params.capabilities.general
        offered = [str(e) for e in (general.position_encodings or [])] if general is not None else []
        chosen = "utf-8" if "utf-8" in offered else "utf-16"
        if general is not None and general.position_encodings is not None:
            general.position_encodings = [t.PositionEncodingKind(chosen)]
        self._server.encoding = chosen
        result = yield from super().lsp_initialize(params)
        references.advertise(self._server, result)
        return result

    @lsp_method(t.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: t.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(t.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: t.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(t.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: t.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None

    def _send_response(self, msg_id, result=None, error=None):
        if error is None and isinstance(result, (JsonList, JsonDict)):
            self._result_types.pop(msg_id, None)
            self._send_data({"jsonrpc": "2.0", "id": msg_id, "result": result})
            return
        super()._send_response(msg_id, result, error)


def strict_converter():
    """lsprotocol's converter, except that a string, integer or boolean field takes only a JSON
    string, integer or boolean: cattrs' defaults call str()/int() on anything (a list becomes "['a']", 5.9 becomes 5),
    which would turn malformed params into plausible requests instead of InvalidParams."""
    from pygls.protocol import default_converter

    converter = default_converter()

    def structure_str(value: Any, _type: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return value

    def structure_int(value: Any, _type: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"expected an integer, got {type(value).__name__}")
        return value

    def structure_bool(value: Any, _type: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected a boolean, got {type(value).__name__}")
        return value

    converter.register_structure_hook(str, structure_str)
    converter.register_structure_hook(int, structure_int)
    converter.register_structure_hook(bool, structure_bool)  # else bool would take the int hook
    return converter


class SymscopeServer(LanguageServer):
    """The state every handler reads; a `Folder` passes on to it what it does not define itself."""

    def __init__(self, base_settings: dict[str, Any] | None = None, *, mcp_port: int | None = None) -> None:
        super().__init__(
            "symscope", __version__, protocol_cls=SymscopeProtocol, converter_factory=strict_converter, max_workers=2
        )
        self.base_settings = dict(base_settings or {})  # from the command line; init options override
        self.mcp_port = mcp_port
        self.encoding = "utf-16"
        # The workspace folders the client named, in its order (nested ones included, served by the
        # folder around them), and the holder of open documents outside every folder (outlines only).
        self.folders: list[Folder] = []
        self.loose = Folder(self, "", None)
        self.doc_folders: dict[str, Folder] = {}  # uri of an open document -> the folder holding it
        self.primary_root: Path | None = None  # the first folder of `initialize`: owns an explicit indexDir
        self.primary_index_dir: Path | None = None
        self.explicit: dict[str, Any] = {}  # settings from the command line and the client, merged
        self.client_watching = False  # the client watches files for every folder (one registration)
        self.client_watch_refused = False
        self.progress_folders: set[str] = set()
        self.initial_folders: list[tuple[str, Path, str]] = []
        self.session_started_ok = False  # `initialized` ran: folders get sessions as they come
        self.pending_folders: list[tuple[str, Path, str]] | None = None  # the latest list asked for
        self._folder_lock: asyncio.Lock | None = None
        # (uri, reason) of parser crashes already shown to the user: one message per crash, not per keystroke
        self.parser_warnings: set[tuple[str, str]] = set()
        self.options: dict[str, Any] = dict(LSP_OPTIONS)
        self.init_options: dict[str, Any] = {}
        self.settings_error: str | None = None
        self.progress_ready = False
        self.progress_open = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queries = ThreadPoolExecutor(max_workers=2, thread_name_prefix="symscope-query")
        self.mcp_started = False
        self.session_started = False
        self._mcp_handle: Any = None
        self.references_advertised: str | None = None  # "static" (initialize) | "dynamic" | None
        self.references_noted = False  # the "search-based" note was logged to the client

    # Out-of-band errors are logged, not shown: hostile input must not flood the user with popups.
    def report_server_error(self, error: Exception, source: Any) -> None:
        log.warning("protocol error (%s): %s", getattr(source, "__name__", source), error)

    # -- threads -> event loop ----------------------------------------------------------------

    def call_on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        try:
            if _running_loop() is loop:
                fn(*args)
            else:
                loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed meanwhile (shutting down)
            pass

    async def in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run blocking work off the event loop; a cancelled request abandons it at once."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.queries, fn, *args)

    # -- folders ------------------------------------------------------------------------------

    def folder_changes(self) -> asyncio.Lock:
        """Held while sessions start or stop (folder changes, settings restarts)."""
        if self._folder_lock is None:
            self._folder_lock = asyncio.Lock()
        return self._folder_lock

    def served(self) -> list[Folder]:
        """Folders with their own index: every folder not inside another one."""
        return [f for f in self.folders if f.served_by is None]

    @property
    def session(self) -> WorkspaceSession | None:
        """The first folder's session (the MCP endpoint and single-folder callers use it)."""
        return next((f.session for f in self.served() if f.session is not None), None)

    @property
    def root(self) -> Path | None:
        served = self.served()
        return served[0].root if served else None

    @property
    def settings(self) -> Settings | None:
        served = self.served()
        return served[0].settings if served else None

    def folder_for(self, path: str | os.PathLike[str] | None) -> Folder | None:
        """The served folder whose root holds `path` (served folders never nest)."""
        if path is None:
            return None
        for folder in self.served():
            if folder.relative(path) is not None:
                return folder
        return None

    def scope(self, uri: str) -> Folder:
        """The folder a document belongs to: where it is open, else where its path lies, else `loose`."""
        held = self.doc_folders.get(uri)
        if held is not None:
            return held
        path = to_fs_path(uri)
        return self.folder_for(path) or self.loose

    def all_documents(self) -> list[Any]:
        return [d for f in (*self.served(), self.loose) for d in f.overlay.documents()]

    def rehome_documents(self) -> None:
        """Put each open document in the overlay of the folder that holds it now."""
        docs = []
        for folder in {id(f): f for f in (*self.folders, self.loose, *self.doc_folders.values())}.values():
            docs.extend(folder.overlay.detach_all())
        self.doc_folders = {}
        for doc in docs:
            folder = self.folder_for(doc.path) or self.loose
            folder.overlay.adopt(doc)
            self.doc_folders[doc.uri] = folder

    # -- the status, the MCP endpoint and ranges, for handlers that hold only the server ---------

    def status_payload(self) -> dict[str, Any]:
        return status.status_payload(self)

    def state(self) -> str:
        return status.overall_state(self)

    def send_status(self) -> None:
        status.send(self)

    def maybe_start_mcp(self) -> None:
        mcp_endpoint.maybe_start(self)

    def lsp_range(self, utf16: tuple[int, int, int, int], utf8: tuple[int, int, int, int]) -> dict[str, Any]:
        return lsp_range(self.encoding, utf16, utf8)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# --------------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------------

FEATURES: list[tuple[str, Callable[..., Any], Any]] = [
    (t.INITIALIZE, lifecycle.initialize, None),
    (t.INITIALIZED, lifecycle.initialized, None),
    (t.SHUTDOWN, lifecycle.shutdown, None),
    (t.TEXT_DOCUMENT_DID_OPEN, documents.did_open, None),
    (t.TEXT_DOCUMENT_DID_CHANGE, documents.did_change, None),
    (t.TEXT_DOCUMENT_DID_SAVE, documents.did_save, t.SaveOptions(include_text=True)),
    (t.TEXT_DOCUMENT_DID_CLOSE, documents.did_close, None),
    (t.WORKSPACE_DID_CHANGE_WATCHED_FILES, watching.did_change_watched_files, None),
    (t.WORKSPACE_DID_CHANGE_CONFIGURATION, configuration.did_change_configuration, None),
    (t.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, did_change_workspace_folders, None),
    (t.TEXT_DOCUMENT_DOCUMENT_SYMBOL, document_symbol.document_symbol, t.DocumentSymbolOptions(label="symscope")),
    (t.WORKSPACE_SYMBOL, workspace_symbol.workspace_symbol, None),
    (t.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY, call_hierarchy.prepare_call_hierarchy, None),
    (t.CALL_HIERARCHY_INCOMING_CALLS, call_hierarchy.incoming_calls, None),
    (t.CALL_HIERARCHY_OUTGOING_CALLS, call_hierarchy.outgoing_calls, None),
    # Advertised only with `references: true` (references.advertise): clients have real ones.
    (t.TEXT_DOCUMENT_REFERENCES, references.references, None),
    (SEARCH_REQUEST, search.symscope_search, None),
    (SEARCH_TEXT_REQUEST, search_text.symscope_search_text, None),
    (RELATED_REQUEST, related.symscope_related, None),
    (STATUS_REQUEST, status.symscope_status, None),
]
COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    (SEARCH_COMMAND, search.search_command),
    (STATUS_COMMAND, status.status_command),
    (REINDEX_COMMAND, status.reindex_command),
]


def create_server(base_settings: dict[str, Any] | None = None, *, mcp_port: int | None = None) -> SymscopeServer:
    server = SymscopeServer(base_settings, mcp_port=mcp_port)
    for method, handler, options in FEATURES:
        server.feature(method, options)(handler)
    for name, handler in COMMANDS:
        server.command(name)(handler)
    return server


# --------------------------------------------------------------------------------------------------
# entry point (called by `symscope lsp`)
# --------------------------------------------------------------------------------------------------


def main(base_settings: dict[str, Any] | None = None, *, mcp_port: int | None = None) -> int:
    if logging.getLogger().level > logging.DEBUG:
        # pygls logs every message body at INFO: only at -vv.
        logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    if mcp_port is not None and not mcp_endpoint.available():
        sys.stderr.write(f"symscope: --mcp-port: MCP support not installed ({mcp_endpoint.MCP_MODULE} is missing)\n")
        return 2
    server = create_server(base_settings, mcp_port=mcp_port)
    return serve_stdio(server)
