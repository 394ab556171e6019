"""The language server: `symscope lsp` over stdio, on pygls 2 / lsprotocol.

Owns the protocol boundary: one function per LSP method (listed in `FEATURES`; call hierarchy and
the opt-in search-based references live in lsp_calls.py), conversion between
the plain results of `search.py` / the Rust core and LSP shapes, position encodings (UTF-16 by
default, UTF-8 when the client offers it), `$/progress` and `symscope/statusChanged` while the
background session indexes, settings from `initializationOptions` and
`workspace/didChangeConfiguration`, workspace folders, and a stdio transport that survives hostile input.

Workspace folders: every folder of `initialize` (`workspaceFolders`, else rootUri / rootPath) and
of `workspace/didChangeWorkspaceFolders` is a `Folder` with its own index, WorkspaceSession and
overlay (open documents belong to the folder holding them; others get outlines only). A request
about a file uses its folder; workspace/symbol, symscope/search and symscope/searchText search
every folder (merged by score; searchText in folder order), each custom result labelled `folder`.
A folder inside another one is not indexed twice (the outer index holds its files; it is listed
as `nested` and gets its own index only when the outer folder goes). An explicit index directory
belongs to the first folder of `initialize`; other folders that would share it get
`<dir>/folders/<name>-<hash>`. The MCP endpoint (`--mcp-port`) serves the first folder.

Custom protocol (documented for the VS Code extension and the Neovim module):
  * request `symscope/search` {query, limit?, lang?, path?, kind?, mode?, expand?} ->
    {query, state, results: [{folder, name, qualifiedName, kind, symbolKind, language, path, uri,
    range, selectionRange, startLine, endLine, score, signature, snippet, why, freshness, symbolId}]}
    (`folder`: the name of the workspace folder, `path` relative to it; `range`/`selectionRange`
    are LSP ranges in the negotiated encoding; lines are 1-based in startLine/endLine, as in the
    CLI). Command `symscope.search` takes (query, [limit | options]).
  * request `symscope/searchText` {pattern, regex?, caseInsensitive?, path?, limit?, context?} ->
    {state, filesSearched, truncated, results: [{uri, path, folder, line, text, range, symbol?, symbolKind?,
    symbolLine?, before?, after?}]}: exact text / regex search over the indexed files (saved content).
  * request `symscope/related` {textDocument: {uri}, position, limit?} -> {symbol, note?, results:
    [{name, qualifiedName, kind, symbolKind, path, uri, folder, range, selectionRange, score, why, symbolId}]}:
    the definitions most like the one at the position (vectors) and its callers / callees.
  * request `symscope/status` -> the session status (state, role, files, symbols, vectors, pending,
    model, device, indexDir, lastError, watcher, ...) plus openDocuments, unsavedDocuments and
    positionEncoding; notification `symscope/statusChanged` carries the same object. With several
    folders the top level is the first folder's, with counts summed and the state (and message) of
    the least advanced folder; `folders: [{name, root, uri, state, message, role, percentage,
    indexDir, files, symbols, vectors, pending, modelId, lastError, watcher, parserFailures,
    openDocuments}]` lists each (a nested one: {name, root, uri, state: "nested", servedBy}).

Transport: pygls' stdio reader trusts Content-Length (a huge value blocks or exhausts memory, a
short one desynchronises the stream for good) and drops requests whose params do not structure
without answering them. `serve_stdio` replaces it with `FrameParser`, which never preallocates,
caps lengths, discards garbage up to the next `Content-Length` header and, because no valid JSON
body can contain a raw `Content-Length: N\\r\\n` header line, re-synchronises on the next header
when a body claims more bytes than the message really has. Bad requests get JSON-RPC errors.

Must never: write anything but protocol frames to stdout (fd 1 is pointed at stderr while serving,
so even native code cannot), block the event loop on index or search work (that runs in a thread
pool, so `$/cancelRequest` answers at once), or die on input: every handler failure is an error
response or a log line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from lsp_server import __version__, _native, lsp_calls
from lsp_server.config import ConfigError, Settings, default_index_dir
from lsp_server.outline import symbol_tree
from lsp_server.overlay import Change, Overlay, Position, merge_results
from lsp_server.session import READER, READY, WorkspaceSession

log = logging.getLogger(__name__)

SEARCH_REQUEST = "symscope/search"
SEARCH_TEXT_REQUEST = "symscope/searchText"
RELATED_REQUEST = "symscope/related"
STATUS_REQUEST = "symscope/status"
STATUS_NOTIFICATION = "symscope/statusChanged"
SEARCH_COMMAND = "symscope.search"
STATUS_COMMAND = "symscope.status"
REINDEX_COMMAND = "symscope.reindex"
PROGRESS_TOKEN = "symscope/indexing"
WATCHER_REGISTRATION_ID = "symscope/watched-files"

WORKSPACE_SYMBOL_LIMIT = 100
SEARCH_LIMIT_DEFAULT = 20
SEARCH_LIMIT_MAX = 500
DETAIL_CHARS = 120
CLIENT_REPLY_TIMEOUT_S = 10.0

# Settings that belong to this front end, not to config.Settings.
# `references`: search-based textDocument/references (lsp_calls.py), off by default.
LSP_OPTIONS = {"watcher": "auto", "workspace_symbol_limit": WORKSPACE_SYMBOL_LIMIT, "references": False}
WATCHER_MODES = ("auto", "client", "watchfiles", "off")

_SYMBOL_KINDS = {k.name.lower(): k.value for k in t.SymbolKind}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class JsonList(list):
    """A result that is already plain JSON: sent as is, skipping cattrs (hot paths)."""


class JsonDict(dict):
    """A result that is already plain JSON: sent as is, skipping cattrs (hot paths)."""


# --------------------------------------------------------------------------------------------------
# pygls protocol and server
# --------------------------------------------------------------------------------------------------


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
        lsp_calls.advertise(self._server, result)
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

    def start_session(self, folder: Folder) -> None:
        if folder.settings is None:
            return
        self.session_started = True
        folder.session = WorkspaceSession(
            folder.settings,
            on_progress=lambda kind, pct, message: self._progress_from_thread(folder, kind, pct, message),
            on_status=self._status_from_thread,
        )
        folder.session.on_files(lambda paths: folder.overlay.disk_changed(folder._relatives(paths)))
        folder.session.start()

    def _progress_from_thread(self, folder: Folder, kind: str, percentage: int | None, message: str) -> None:
        self.call_on_loop(self._send_progress, folder, kind, percentage, message)

    def _send_progress(self, folder: Folder, kind: str, percentage: int | None, message: str) -> None:
        """One progress token for all folders: it begins with the first folder that indexes and
        ends with the last; with several folders each message names its folder."""
        if not self.progress_ready:
            return
        if len(self.served()) > 1:
            message = f"{folder.name}: {message}"
        progress = self.work_done_progress
        if kind == "begin":
            self.progress_folders.add(folder.key)
            if self.progress_open:
                return
            self.progress_open = True
            progress.begin(
                PROGRESS_TOKEN,
                t.WorkDoneProgressBegin(
                    title="symscope", message=message, percentage=percentage or 0, cancellable=False
                ),
            )
        elif kind == "report" and self.progress_open:
            progress.report(PROGRESS_TOKEN, t.WorkDoneProgressReport(message=message, percentage=percentage))
        elif kind == "end" and self.progress_open:
            self.progress_folders.discard(folder.key)
            if self.progress_folders:
                progress.report(PROGRESS_TOKEN, t.WorkDoneProgressReport(message=message))
                return
            self.progress_open = False
            progress.end(PROGRESS_TOKEN, t.WorkDoneProgressEnd(message=message))

    def _status_from_thread(self, status: Any) -> None:
        # The payload reads the index (counts, sizes on disk): build it here, only send on the loop.
        try:
            payload = self.status_payload()
        except Exception:
            log.exception("building the status failed")
        else:
            self.call_on_loop(self.protocol.notify, STATUS_NOTIFICATION, payload)
        self.call_on_loop(self.maybe_start_mcp)
        if status.state in (READY, READER):
            self.call_on_loop(_settle_heap)

    def status_payload(self) -> dict[str, Any]:
        """The first folder's status at the top level (counts summed over folders, the state of the
        least advanced one), plus `folders`: one entry per workspace folder."""
        served = [(f, f.session.status().to_dict()) for f in self.served() if f.session is not None]
        if not served:
            payload: dict[str, Any] = {
                "state": "error" if self.settings_error else "starting",
                "message": self.settings_error
                or ("no workspace folder: outlines only" if not self.folders else "starting"),
                "role": "none",
            }
        else:
            payload = {_camel(k): v for k, v in served[0][1].items()}
            if len(served) > 1:
                for key in ("files", "symbols", "vectors", "pending", "index_bytes"):
                    payload[_camel(key)] = sum(st[key] or 0 for _, st in served)
                payload["parserFailures"] = [f"{f.name}/{line}" for f, st in served for line in st["parser_failures"]]
                busy = [(f, st) for f, st in served if st["state"] in ("starting", "indexing", "embedding", "error")]
                if busy:
                    f, st = min(busy, key=lambda p: ("starting", "indexing", "embedding", "error").index(p[1]["state"]))
                    payload.update(state=st["state"], message=f"{f.name}: {st['message']}", percentage=st["percentage"])
                    payload["lastError"] = payload.get("lastError") or st["last_error"]
        statuses = {f.key: st for f, st in served}
        folders = []
        for folder in self.folders:
            entry: dict[str, Any] = {"name": folder.name, "root": str(folder.root), "uri": folder.uri}
            st = statuses.get(folder.key)
            if folder.served_by is not None:
                entry.update(
                    state="nested", servedBy=folder.served_by.name, message=f"indexed with {folder.served_by.name}"
                )
            elif st is not None:
                entry.update(
                    {
                        _camel(k): st[k]
                        for k in (
                            "state",
                            "message",
                            "role",
                            "percentage",
                            "index_dir",
                            "files",
                            "symbols",
                            "vectors",
                            "pending",
                            "model_id",
                            "last_error",
                            "watcher",
                            "parser_failures",
                        )
                    }
                )
                entry["openDocuments"] = len(folder.overlay.documents())
            else:
                entry.update(state="starting", message="starting")
            folders.append(entry)
        payload["folders"] = folders
        documents = self.all_documents()
        payload["openDocuments"] = len(documents)
        crashed = [f"{d.rel or d.uri}: {d.parser_failure} (open document)" for d in documents if d.parser_failure]
        payload["parserFailures"] = [*payload.get("parserFailures", []), *crashed]
        workers = _native.worker_stats()
        payload["parserWorkers"] = {k: workers[k] for k in ("started", "deaths", "hangs", "alive")}
        payload["unsavedDocuments"] = sum(
            1 for f in self.served() for e in f._overlay_entries() if e.freshness == "unsaved"
        )
        payload["positionEncoding"] = self.encoding
        if self._mcp_handle is not None:
            payload["mcpUrl"] = self._mcp_handle.url
        payload["version"] = __version__
        if self.settings_error:
            payload["settingsError"] = self.settings_error
        return payload

    def state(self) -> str:
        served = [f.session.state for f in self.served() if f.session is not None]
        if not served:
            return "starting"
        for state in ("starting", "indexing", "embedding"):
            if state in served:
                return state
        return served[0]

    def send_status(self) -> None:
        try:
            self.protocol.notify(STATUS_NOTIFICATION, self.status_payload())
        except Exception:
            log.exception("sending status failed")

    def maybe_start_mcp(self) -> None:
        """`--mcp-port`: serve the MCP endpoint over this process's index once it is open."""
        if self.mcp_port is None or self.mcp_started or self.session is None or self.session.index is None:
            return
        self.mcp_started = True
        session = self.session

        def start() -> None:  # binding and waiting for uvicorn takes a moment: not on the loop
            try:
                from lsp_server.mcp import http as mcp_http
                from lsp_server.mcp import server as mcp_server

                server = mcp_server.create_server(session.settings, index=session.index, searcher=session.searcher)
                self._mcp_handle = mcp_http.serve_http_in_thread(
                    server, "127.0.0.1", self.mcp_port, token=os.environ.get("SYMSCOPE_MCP_TOKEN") or None
                )
                log.info("MCP endpoint on %s", self._mcp_handle.url)
                self.call_on_loop(self.send_status)
            except Exception as exc:
                log.exception("cannot serve MCP on port %s", self.mcp_port)
                self.settings_error = f"MCP endpoint failed: {exc}"
                self.call_on_loop(self.send_status)

        threading.Thread(target=start, name="symscope-mcp-start", daemon=True).start()

    # -- conversions --------------------------------------------------------------------------

    def lsp_range(self, utf16: tuple[int, int, int, int], utf8: tuple[int, int, int, int]) -> dict[str, Any]:
        r = utf8 if self.encoding == "utf-8" else utf16
        return {"start": {"line": r[0], "character": r[1]}, "end": {"line": r[2], "character": r[3]}}


class Folder:
    """One workspace folder: its root, settings, session and the overlay of the documents open in it.

    Code that serves one folder (search, call hierarchy, related code) takes a Folder where it took
    the server: what a Folder does not define (encoding, options, in_thread, messages) it passes on
    to the server."""

    def __init__(self, server: SymscopeServer, name: str, root: Path | None, uri: str | None = None) -> None:
        self.server = server
        self.name = name
        self.root = root
        self.uri = uri or (root.as_uri() if root is not None else None)
        self.key = str(root) if root is not None else ""
        self.settings: Settings | None = None
        self.session: WorkspaceSession | None = None
        self.overlay = Overlay(root)
        self.served_by: Folder | None = None  # inside another folder: that folder's index holds its files

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "server":
            raise AttributeError(name)
        return getattr(self.server, name)

    def __repr__(self) -> str:
        return f"Folder({self.name!r}, {str(self.root)!r})"

    def _relatives(self, paths: list[Path]) -> list[str]:
        out = []
        for p in paths:
            rel = self.relative(p)
            if rel is not None:
                out.append(rel)
        return out

    def relative(self, path: str | os.PathLike[str] | None) -> str | None:
        if path is None or self.root is None:
            return None
        try:
            return Path(os.path.abspath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    def uri_for(self, rel_path: str) -> str:
        assert self.root is not None
        return (self.root / rel_path).as_uri()

    def _index_view(self):
        session = self.session
        index = session.index if session is not None else None
        if index is None:
            return None, 0
        try:
            return index.symbols_in_file, index.generation()
        except Exception:
            log.exception("index unavailable for the overlay")
            return None, 0

    def _overlay_entries(self):
        view, generation = self._index_view()
        try:
            return self.overlay.active(view, generation)
        except Exception:
            log.exception("overlay failed")
            return []


def _settle_heap() -> None:
    """After indexing, move the long-lived heap (name tables, caches) out of the collector's sight:
    a full collection over it costs ~10 ms, which would land on random keystrokes otherwise."""
    gc.collect()
    gc.freeze()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower().replace("-", "_")


def symbol_kind(kind: str) -> int:
    return _SYMBOL_KINDS.get(kind.lower().replace("_", ""), t.SymbolKind.Variable.value)


# --------------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------------


def _resolve_settings(ls: SymscopeServer, options: dict[str, Any]) -> None:
    """Command-line defaults overlaid with client options: this front end's options now, and the
    index settings every folder's Settings start from (`_assign_settings`); a bad option is
    reported (status + message) and the rest still apply."""
    ls.settings_error = None
    merged = {**ls.base_settings, **{_snake(k): v for k, v in (options or {}).items()}}
    lsp_options = dict(LSP_OPTIONS)
    for key in list(merged):
        if key in LSP_OPTIONS:
            lsp_options[key] = merged.pop(key)
    if lsp_options["watcher"] not in WATCHER_MODES:
        ls.settings_error = f"watcher must be one of {', '.join(WATCHER_MODES)}, got {lsp_options['watcher']!r}"
        lsp_options["watcher"] = "auto"
    limit = lsp_options["workspace_symbol_limit"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        ls.settings_error = f"workspaceSymbolLimit must be a positive integer, got {limit!r}"
        lsp_options["workspace_symbol_limit"] = WORKSPACE_SYMBOL_LIMIT
    if not isinstance(lsp_options["references"], bool):
        ls.settings_error = f"references must be true or false, got {lsp_options['references']!r}"
        lsp_options["references"] = False
    ls.options = lsp_options
    ls.explicit = merged
    _assign_settings(ls)


def _folder_settings(ls: SymscopeServer, root: Path) -> Settings:
    merged = ls.explicit
    try:
        return Settings.load(root, **merged)
    except ConfigError as exc:
        ls.settings_error = f"symscope settings: {exc}"
        log.error("%s", ls.settings_error)
    # Keep every valid option, drop only the ones that fail on their own.
    valid = {}
    for key, value in merged.items():
        try:
            Settings.load(root, **{key: value})
            valid[key] = value
        except ConfigError:
            continue
    try:
        return Settings.load(root, **valid)
    except ConfigError:  # the workspace's own file is broken: built-in defaults plus what is valid
        return Settings(root=root, **{k: v for k, v in valid.items() if k in Settings.__dataclass_fields__})


def _assign_settings(ls: SymscopeServer, *, keep_running: bool = False) -> None:
    """Settings for every served folder. One index directory never serves two folders: default
    ones are keyed by the folder's real path already; an explicit one (indexDir, SYMSCOPE_INDEX_DIR,
    a workspace file) belongs to the first folder of `initialize`, and every other folder that
    would share it gets `<that dir>/folders/<name>-<hash of its real path>` instead (stable while
    folders come and go)."""
    if ls.primary_root is not None:
        ls.primary_index_dir = _folder_settings(ls, ls.primary_root).resolved_index_dir
    taken: dict[Path, Path] = {}
    for folder in ls.served():
        assert folder.root is not None
        if keep_running and folder.session is not None and folder.settings is not None:
            taken[folder.settings.resolved_index_dir] = folder.root  # a running session keeps its settings
            continue
        settings = _folder_settings(ls, folder.root)
        wanted = settings.resolved_index_dir
        if folder.root != ls.primary_root and (wanted == ls.primary_index_dir or wanted in taken):
            settings = dataclasses.replace(settings, index_dir=wanted / "folders" / default_index_dir(folder.root).name)
        taken[settings.resolved_index_dir] = folder.root
        folder.settings = settings


def _settings_keys(ls: SymscopeServer) -> tuple:
    return tuple((f.key, _settings_key(f.settings)) for f in ls.served())


def _settings_key(settings: Settings | None) -> tuple | None:
    if settings is None:
        return None
    return (
        settings.resolved_index_dir,
        settings.model,
        settings.device,
        tuple(settings.excludes),
        settings.max_file_size,
        settings.embed,
    )


def _client_folders(params: t.InitializeParams) -> list[tuple[str, Path, str]]:
    """(name, resolved root, uri) of every workspace folder, else of rootUri / rootPath."""
    named = [(f.name, f.uri) for f in params.workspace_folders or []]
    if not named and params.root_uri:
        named.append(("", params.root_uri))
    out = [(name, root, uri) for name, uri in named if (root := _folder_root(uri)) is not None]
    if not out and params.root_path:
        root = Path(params.root_path).resolve()
        out.append((root.name, root, root.as_uri()))
    return [(_folder_name(name, root), root, uri) for name, root, uri in out]


def _folder_name(name: str | None, root: Path) -> str:
    """The label of a folder's results: the client's name for it, unless that is a path (Neovim
    names folders by their path), then the folder's own name."""
    if not name or "/" in name or os.sep in name:
        return root.name or str(root)
    return name


def _folder_root(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path).resolve() if path else None


def _inside(path: Path, root: Path) -> bool:
    return path != root and path.is_relative_to(root)


async def _set_folders(ls: SymscopeServer, wanted: list[tuple[str, Path, str]]) -> None:
    """Make the served folders match `wanted` (in order): start sessions for new folders, stop those
    of removed ones (bounded, off the loop), re-home open documents. A folder inside another one is
    not indexed twice: the outer folder's index holds its files, and it gets its own session only
    when the outer folder goes. Changes run one at a time (a later one waits for the earlier)."""
    async with ls.folder_changes():
        await _set_folders_now(ls, wanted)


async def _set_folders_now(ls: SymscopeServer, wanted: list[tuple[str, Path, str]]) -> None:
    existing = {f.key: f for f in ls.folders}
    folders: list[Folder] = []
    for name, root, uri in wanted:
        if any(f.root == root for f in folders):
            continue  # named twice
        folder = existing.get(str(root))
        if folder is None:
            folder = Folder(ls, name, root, uri)
        folder.name = name
        folders.append(folder)
    for folder in folders:
        outer = [o for o in folders if o.root is not None and folder.root is not None and _inside(folder.root, o.root)]
        folder.served_by = min(outer, key=lambda o: len(o.root.parts)) if outer else None
    keep = {id(f) for f in folders if f.served_by is None}
    stopping = [f for f in ls.folders if f.session is not None and id(f) not in keep]
    ls.folders = folders
    ls.rehome_documents()
    for folder in stopping:
        session, folder.session = folder.session, None
        folder.settings = None
        ls.progress_folders.discard(folder.key)
        log.info("workspace folder %s (%s) is no longer served: stopping its session", folder.name, folder.root)
        await asyncio.get_running_loop().run_in_executor(None, session.stop)
    _assign_settings(ls, keep_running=True)
    for folder in ls.served():
        if folder.session is None and ls.session_started_ok:
            ls.start_session(folder)
            await _start_watching(ls, folder)
    if ls.progress_open and not ls.progress_folders:
        ls.progress_open = False
        ls.work_done_progress.end(PROGRESS_TOKEN, t.WorkDoneProgressEnd(message="done"))
    ls.send_status()


# --------------------------------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------------------------------


def initialize(ls: SymscopeServer, params: t.InitializeParams) -> None:
    wanted = _client_folders(params)
    ls.primary_root = wanted[0][1] if wanted else None
    ls.initial_folders = wanted
    options = params.initialization_options
    ls.init_options = options if isinstance(options, dict) else {}
    if options is not None and not isinstance(options, dict):
        ls.settings_error = f"initializationOptions must be an object, got {type(options).__name__}"
    _resolve_settings(ls, ls.init_options)
    if params.process_id:
        _watch_parent(ls, params.process_id)


async def initialized(ls: SymscopeServer, params: t.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    caps = ls.client_capabilities
    if ls.settings_error:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=ls.settings_error))
    if caps.window is not None and caps.window.work_done_progress:
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(PROGRESS_TOKEN), CLIENT_REPLY_TIMEOUT_S)
            ls.progress_ready = True
        except Exception as exc:  # a client that refuses still gets statusChanged notifications
            log.info("client did not create a progress token: %s", exc)
    ls.session_started_ok = True
    await _set_folders(ls, ls.initial_folders)


async def did_change_workspace_folders(ls: SymscopeServer, params: t.DidChangeWorkspaceFoldersParams) -> None:
    removed = {root for f in params.event.removed or [] if (root := _folder_root(f.uri)) is not None}
    current = (
        ls.initial_folders
        if not ls.session_started_ok
        else ls.pending_folders or [(f.name, f.root, f.uri) for f in ls.folders]
    )
    wanted = [w for w in current if w[1] not in removed]
    wanted += [
        (_folder_name(f.name, root), root, f.uri)
        for f in params.event.added or []
        if (root := _folder_root(f.uri)) is not None
    ]
    if ls.primary_root is None and wanted:
        ls.primary_root = wanted[0][1]
    log.info("workspace folders: %s", ", ".join(f"{name} ({root})" for name, root, _ in wanted) or "none")
    if not ls.session_started_ok:
        ls.initial_folders = wanted  # `initialized` has not run yet: it starts these
        return
    ls.pending_folders = wanted  # the next change builds on this even before it is applied
    await _set_folders(ls, wanted)
    if ls.pending_folders is wanted:
        ls.pending_folders = None


async def _start_watching(ls: SymscopeServer, folder: Folder) -> None:
    mode = ls.options["watcher"]
    session = folder.session
    if session is None or mode == "off":
        return
    if ls.client_watching:
        session.note_watcher("client")
        return
    caps = ls.client_capabilities.workspace
    dynamic = bool(caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration)
    if mode in ("auto", "client") and dynamic and not ls.client_watch_refused:
        try:
            await asyncio.wait_for(
                ls.client_register_capability_async(
                    t.RegistrationParams(
                        registrations=[
                            t.Registration(
                                id=WATCHER_REGISTRATION_ID,
                                method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=t.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[t.FileSystemWatcher(glob_pattern="**/*")]
                                ),
                            )
                        ]
                    )
                ),
                CLIENT_REPLY_TIMEOUT_S,
            )
            ls.client_watching = True  # one registration covers every folder, later ones included
            session.note_watcher("client")
            return
        except Exception as exc:
            ls.client_watch_refused = True  # not asked again for the next folder
            log.warning("client refused file watching (%s); watching with watchfiles", exc)
    if mode in ("auto", "watchfiles") or (mode == "client" and not dynamic):
        session.start_watcher()


async def shutdown(ls: SymscopeServer, params: Any) -> None:
    sessions = _take_sessions(ls)
    if sessions:
        await asyncio.get_running_loop().run_in_executor(None, _stop_all, sessions, 5.0)
    if ls._mcp_handle is not None and hasattr(ls._mcp_handle, "stop"):
        try:
            ls._mcp_handle.stop()
        except Exception:
            log.exception("stopping the MCP endpoint failed")


def _take_sessions(ls: SymscopeServer) -> list[WorkspaceSession]:
    sessions = []
    for folder in ls.folders:
        if folder.session is not None:
            sessions.append(folder.session)
            folder.session = None
    return sessions


def _stop_all(sessions: list[WorkspaceSession], timeout: float) -> None:
    """Stop sessions side by side, so N folders take one timeout, not N."""
    threads = [threading.Thread(target=s.stop, args=(timeout,), daemon=True) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 1.0)


def _watch_parent(ls: SymscopeServer, pid: int) -> None:
    """LSP: exit when the client process is gone, even if it never said `exit`."""

    def watch() -> None:
        while True:
            time.sleep(3.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                log.warning("client process %d is gone; exiting", pid)
                _stop_all([f.session for f in ls.folders if f.session is not None], 2.0)
                os._exit(1)
            except PermissionError:
                pass  # alive, owned by someone else

    threading.Thread(target=watch, name="symscope-parent", daemon=True).start()


# --------------------------------------------------------------------------------------------------
# document synchronisation
# --------------------------------------------------------------------------------------------------


def did_open(ls: SymscopeServer, params: t.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    path = to_fs_path(doc.uri)
    folder = ls.folder_for(path) or ls.loose
    old = ls.doc_folders.get(doc.uri)
    if old is not None and old is not folder:
        old.overlay.close(doc.uri)
    folder.overlay.open(doc.uri, Path(path) if path else None, doc.language_id, doc.version, doc.text)
    ls.doc_folders[doc.uri] = folder


def did_change(ls: SymscopeServer, params: t.DidChangeTextDocumentParams) -> None:
    changes = []
    for change in params.content_changes:
        if isinstance(change, t.TextDocumentContentChangePartial):
            r = change.range
            changes.append(
                Change(change.text, Position(r.start.line, r.start.character), Position(r.end.line, r.end.character))
            )
        else:
            changes.append(Change(change.text))
    report = ls.scope(params.text_document.uri).overlay.change(
        params.text_document.uri, params.text_document.version, changes, ls.encoding
    )
    if report is None:
        log.warning("didChange for %s, which is not open: ignored", params.text_document.uri)
    elif report.problems:
        log.warning(
            "didChange %s v%s: %s", params.text_document.uri, params.text_document.version, "; ".join(report.problems)
        )


def did_save(ls: SymscopeServer, params: t.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    folder = ls.scope(uri)
    if folder.overlay.saved(uri, params.text):
        log.warning("%s had drifted from the editor's text; resynced from didSave", uri)
    path = to_fs_path(uri)
    if path and folder.session is not None and folder.relative(path) is not None:
        folder.session.files_changed([path])


def did_close(ls: SymscopeServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.scope(uri).overlay.close(uri)
    ls.doc_folders.pop(uri, None)


def did_change_watched_files(ls: SymscopeServer, params: t.DidChangeWatchedFilesParams) -> None:
    by_folder: dict[str, tuple[Folder, list[str]]] = {}
    for path in (to_fs_path(c.uri) for c in params.changes):
        folder = ls.folder_for(path) if path else None
        if folder is not None:
            by_folder.setdefault(folder.key, (folder, []))[1].append(path)
    for folder, paths in by_folder.values():
        folder.overlay.disk_changed(folder._relatives([Path(p) for p in paths]))
        if folder.session is not None:
            folder.session.files_changed(paths)


async def did_change_configuration(ls: SymscopeServer, params: t.DidChangeConfigurationParams) -> None:
    settings = params.settings
    known = (set(Settings.__dataclass_fields__) - {"root"}) | set(LSP_OPTIONS)
    if isinstance(settings, dict) and isinstance(settings.get("symscope"), dict):
        options = settings["symscope"]
    elif isinstance(settings, dict) and any(_snake(str(k)) in known for k in settings):
        options = settings  # a client that sends this server's section bare (Neovim's `settings`)
    else:
        options = await _pull_configuration(ls)
        if options is None:
            return
    before = (_settings_keys(ls), _session_options(ls))
    _resolve_settings(ls, {**ls.init_options, **options})
    if ls.settings_error:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=ls.settings_error))
    await lsp_calls.references_changed(ls)
    if (_settings_keys(ls), _session_options(ls)) == before or not ls.session_started:
        return  # unchanged, or `initialized` has not started the session yet (it will use these)
    log.info("settings changed: restarting the workspace sessions")
    async with ls.folder_changes():
        sessions = _take_sessions(ls)
        if sessions:
            await asyncio.get_running_loop().run_in_executor(None, _stop_all, sessions, 5.0)
        _assign_settings(ls)
        ls.client_watching = ls.client_watching and ls.options["watcher"] in ("auto", "client")
        for folder in ls.served():
            ls.start_session(folder)
            await _start_watching(ls, folder)
    ls.send_status()


def _session_options(ls: SymscopeServer) -> dict[str, Any]:
    """The options a session depends on (`references` only changes what is answered)."""
    return {k: v for k, v in ls.options.items() if k != "references"}


async def _pull_configuration(ls: SymscopeServer) -> dict[str, Any] | None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return None
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(t.ConfigurationParams(items=[t.ConfigurationItem(section="symscope")])),
            CLIENT_REPLY_TIMEOUT_S,
        )
    except Exception as exc:
        log.info("workspace/configuration failed: %s", exc)
        return None
    first = result[0] if result else None
    return first if isinstance(first, dict) else None


# --------------------------------------------------------------------------------------------------
# outlines
# --------------------------------------------------------------------------------------------------


async def document_symbol(ls: SymscopeServer, params: t.DocumentSymbolParams):
    uri = params.text_document.uri
    folder = ls.scope(uri)
    opened = folder.overlay.symbols(uri)
    if opened is not None:
        result, doc = opened
        if result.get("parser_failure"):
            result = _after_parser_crash(folder, doc, result)
    else:  # not open: outline the file on disk (clients rarely ask, so no cache)
        path = to_fs_path(uri)
        if not path:
            return JsonList()
        result = await ls.in_thread(_extract_file, path)
        if result is None:
            return JsonList()
    caps = ls.client_capabilities.text_document
    hierarchical = bool(caps and caps.document_symbol and caps.document_symbol.hierarchical_document_symbol_support)
    if hierarchical:
        return _document_symbols(ls, result["symbols"])
    return _symbol_information(ls, uri, result["symbols"])


def _after_parser_crash(ls: Folder, doc: Any, result: dict) -> dict:
    """The outline of a document whose text crashed the parser: the last good one, else the
    index's, and one warning per crash. The crash cost the document host, never this server."""
    source = "the last outline that parsed"
    if not result.get("symbols"):
        records = _indexed_records(ls, doc.rel)
        if records:
            result = {**result, "symbols": _records_as_symbols(records)}
            source = "the indexed file"
        else:
            source = "no outline"
    reason = result["parser_failure"]
    if (doc.uri, reason) not in ls.parser_warnings:
        ls.parser_warnings.add((doc.uri, reason))
        name = Path(doc.path).name if doc.path else doc.uri
        ls.window_show_message(
            t.ShowMessageParams(
                type=t.MessageType.Warning,
                message=f"symscope: the {doc.language} parser failed on {name} ({reason}). Showing {source}; "
                "the text is parsed again after your next edit.",
            )
        )
    return result


def _indexed_records(ls: Folder, rel: str | None) -> list:
    session = ls.session
    if rel is None or session is None or session.index is None:
        return []
    try:
        return session.index.symbols_in_file(rel)
    except Exception:
        log.exception("index unavailable for the outline of %s", rel)
        return []


def _records_as_symbols(records: Sequence[Any]) -> list[dict]:
    """Index records in the core's symbol shape (parents by position, parents first)."""
    position = {r.symbol_id: i for i, r in enumerate(records)}
    return [
        {
            "name": r.name,
            "kind": r.kind,
            "container": r.container,
            "signature": r.signature,
            "parent": p if (p := position.get(r.parent_id)) is not None and p < i else None,
            "range": r.range,
            "selection_range": r.selection_range,
            "range_utf8": r.range_utf8,
            "selection_range_utf8": r.selection_range_utf8,
        }
        for i, r in enumerate(records)
    ]


def _extract_file(path: str) -> dict | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        log.info("cannot outline %s: %s", path, exc)
        return None
    return _native.extract(path, data)


def _symbol_ranges(ls: SymscopeServer, sym: dict) -> tuple[dict, dict]:
    rng, sel = (
        (sym["range_utf8"], sym["selection_range_utf8"])
        if ls.encoding == "utf-8"
        else (sym["range"], sym["selection_range"])
    )
    # Clients reject a selectionRange outside its range (VS Code drops the whole outline): widen.
    start = min((rng[0], rng[1]), (sel[0], sel[1]))
    end = max((rng[2], rng[3]), (sel[2], sel[3]))
    full = {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}
    name = {"start": {"line": sel[0], "character": sel[1]}, "end": {"line": sel[2], "character": sel[3]}}
    return full, name


def _document_symbols(ls: SymscopeServer, symbols: list[dict]) -> JsonList:
    out = JsonList()
    stack: list[tuple[dict, list]] = [(node, out) for node in reversed(symbol_tree(symbols))]
    while stack:
        node, into = stack.pop()
        sym = node["symbol"]
        full, name = _symbol_ranges(ls, sym)
        item = {
            "name": sym["name"] or "<anonymous>",
            "kind": sym.get("kind_id") or symbol_kind(sym["kind"]),
            "range": full,
            "selectionRange": name,
            "children": [],
        }
        detail = sym.get("signature") or ""
        if detail:
            item["detail"] = detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 1] + "…"
        into.append(item)
        stack.extend((child, item["children"]) for child in reversed(node["children"]))
    return out


def _symbol_information(ls: SymscopeServer, uri: str, symbols: list[dict]) -> JsonList:
    out = JsonList()
    for sym in symbols:
        _, name = _symbol_ranges(ls, sym)
        item = {
            "name": sym["name"] or "<anonymous>",
            "kind": sym.get("kind_id") or symbol_kind(sym["kind"]),
            "location": {"uri": uri, "range": name},
        }
        if sym.get("container"):
            item["containerName"] = sym["container"]
        out.append(item)
    return out


# --------------------------------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------------------------------


def _search_folders(
    ls: SymscopeServer, query: str, limit: int, filters: dict[str, Any], identifier_mode: bool
) -> list[tuple[Any, dict, Folder]]:
    """(SearchResult, location info, folder) over every served folder: each folder's hits, merged by
    score (ties in folder order), at most `limit`. One folder: its hits as they rank."""
    served = [f for f in ls.served() if f.session is not None]
    if len(served) == 1:
        return [(r, loc, served[0]) for r, loc in _run_search(served[0], query, limit, filters, identifier_mode)]
    found = []
    for n, folder in enumerate(served):
        for rank, (r, loc) in enumerate(_run_search(folder, query, limit, filters, identifier_mode)):
            found.append((-(r.score or 0.0), n, rank, r, loc, folder))
    found.sort(key=lambda x: x[:3])
    return [(r, loc, folder) for *_, r, loc, folder in found[:limit]]


def _run_search(
    ls: Folder, query: str, limit: int, filters: dict[str, Any], identifier_mode: bool
) -> list[tuple[Any, dict]]:
    """(SearchResult, location info) pairs in one folder: index hits merged with open documents' hits."""
    session = ls.session
    searcher = session.searcher if session is not None else None
    entries = ls._overlay_entries()
    view, generation = ls._index_view()
    overridden = {e.doc.rel for e in entries if e.doc.rel}
    extra = sum(len(e.rows) for e in entries) if overridden else 0
    fuzzy = identifier_mode and len(query.split()) < 2
    index_hits = []
    if searcher is not None:
        ask = limit + min(extra, limit)
        if identifier_mode:
            index_hits = searcher.symbols(query, ask, **filters)
        else:
            index_hits = searcher.search(query, ask, **filters)
    if fuzzy:
        overlay_hits = ls.overlay.find_symbols(query, limit, entries, **filters)
    else:
        embedder = searcher.embedder if searcher is not None else None
        overlay_hits = ls.overlay.search(
            query,
            limit,
            entries,
            **{k: v for k, v in filters.items() if k in ("lang", "path", "kind")},
            embedder=embedder,
            query_vector=_query_vector_of(searcher) if embedder is not None else None,
        )
    merged = merge_results(index_hits, overlay_hits, overridden, limit)
    # Ranges: overlay rows carry theirs; index hits are looked up in one batch.
    index_ids = [r.symbol_id for r in merged if r.freshness in ("indexed", "pending") and r.path not in overridden]
    records = (
        session.index.get_symbols(index_ids)
        if (session is not None and session.index is not None and index_ids)
        else {}
    )
    out = []
    for r in merged:
        loc = None
        if r.path in overridden:
            found = ls.overlay.row(r.symbol_id, view, generation)
            if found is not None:
                row, doc = found
                r16, sel16, r8, sel8, _ = json.loads(row.ranges)
                loc = {"uri": doc.uri, "range": ls.lsp_range(r16, r8), "selectionRange": ls.lsp_range(sel16, sel8)}
        else:
            rec = records.get(r.symbol_id)
            if rec is not None:
                loc = {
                    "uri": ls.uri_for(rec.path),
                    "range": ls.lsp_range(rec.range, rec.range_utf8),
                    "selectionRange": ls.lsp_range(rec.selection_range, rec.selection_range_utf8),
                }
        if loc is None:  # a hit whose row vanished between search and lookup: lines only
            line = {"line": max(r.start_line - 1, 0), "character": 0}
            loc = {
                "uri": ls.uri_for(r.path),
                "range": {"start": line, "end": line},
                "selectionRange": {"start": line, "end": line},
            }
        out.append((r, loc))
    return out


def _query_vector_of(searcher: Any) -> Callable[[str], Any] | None:
    """The searcher's cached query embedding, so a query is embedded once for index and overlay."""
    return getattr(searcher, "query_vector", None) or getattr(searcher, "_query_vector", None)


async def workspace_symbol(ls: SymscopeServer, params: t.WorkspaceSymbolParams):
    query = params.query or ""
    if not query.strip():
        return JsonList()
    limit = ls.options["workspace_symbol_limit"]
    hits = await ls.in_thread(_search_folders, ls, query, limit, {}, True)
    out = JsonList()
    for r, loc, _folder in hits:
        item = {
            "name": r.name,
            "kind": symbol_kind(r.kind),
            "location": {"uri": loc["uri"], "range": loc["selectionRange"]},
        }
        container = r.qualified_name[: -len(r.name) - 1] if r.qualified_name.endswith("." + r.name) else None
        if container:
            item["containerName"] = container
        out.append(item)
    return out


def _search_args(params: Any) -> tuple[str, int, dict[str, Any], str, bool]:
    if not isinstance(params, dict):
        raise JsonRpcInvalidParams.of(
            ValueError("symscope/search takes an object {query, limit?, lang?, path?, kind?, mode?, expand?}")
        )
    query = params.get("query")
    if not isinstance(query, str):
        raise JsonRpcInvalidParams.of(ValueError("query must be a string"))
    limit = params.get("limit", SEARCH_LIMIT_DEFAULT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= SEARCH_LIMIT_MAX:
        raise JsonRpcInvalidParams.of(ValueError(f"limit must be an integer from 1 to {SEARCH_LIMIT_MAX}"))
    filters: dict[str, Any] = {}
    for key in ("lang", "path", "kind"):
        value = params.get(key)
        if value is not None and not isinstance(value, str):
            raise JsonRpcInvalidParams.of(ValueError(f"{key} must be a string"))
        if value:
            filters[key] = value
    mode = params.get("mode", "hybrid")
    if mode not in ("hybrid", "lexical", "vector"):
        raise JsonRpcInvalidParams.of(ValueError("mode must be hybrid, lexical or vector"))
    expand = params.get("expand", False)
    if not isinstance(expand, bool):
        raise JsonRpcInvalidParams.of(ValueError("expand must be a boolean"))
    return query, limit, filters, mode, expand


async def symscope_search(ls: SymscopeServer, params: Any):
    query, limit, filters, mode, expand = _search_args(params)
    extra = dict(filters)
    if mode != "hybrid":
        extra["mode"] = mode
    if expand:
        extra["expand"] = True
    hits = await ls.in_thread(_search_folders, ls, query, limit, extra, False)
    return JsonDict(query=query, state=ls.state(), results=[_search_item(r, loc, folder) for r, loc, folder in hits])


def _search_item(r: Any, loc: dict, folder: Folder) -> dict[str, Any]:
    return {
        "folder": folder.name,
        "name": r.name,
        "qualifiedName": r.qualified_name,
        "kind": r.kind,
        "symbolKind": symbol_kind(r.kind),
        "language": r.language,
        "path": r.path,
        "uri": loc["uri"],
        "range": loc["range"],
        "selectionRange": loc["selectionRange"],
        "startLine": r.start_line,
        "endLine": r.end_line,
        "score": r.score,
        "signature": r.signature,
        "snippet": r.snippet,
        "why": r.why,
        "freshness": r.freshness,
        "symbolId": r.symbol_id,
        **({"band": r.band} if getattr(r, "band", "") else {}),
        **({"alsoIn": list(r.also_in)} if getattr(r, "also_in", None) else {}),
    }


async def symscope_search_text(ls: SymscopeServer, params: Any):
    """`symscope/searchText` {pattern, regex?, caseInsensitive?, path?, limit?, context?}: exact
    text or regex search over the indexed files (saved content), each hit with its enclosing symbol."""
    from lsp_server.text_search import DEFAULT_LIMIT, TextSearchError, search_text

    if not isinstance(params, dict) or not isinstance(params.get("pattern"), str):
        raise JsonRpcInvalidParams.of(
            ValueError("symscope/searchText takes {pattern, regex?, caseInsensitive?, path?, limit?, context?}")
        )
    flags = {k: params.get(k, False) for k in ("regex", "caseInsensitive")}
    numbers = {"limit": params.get("limit", DEFAULT_LIMIT), "context": params.get("context", 0)}
    glob = params.get("path")
    if not all(isinstance(v, bool) for v in flags.values()):
        raise JsonRpcInvalidParams.of(ValueError("regex and caseInsensitive must be booleans"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers.values()):
        raise JsonRpcInvalidParams.of(ValueError("limit and context must be integers"))
    if glob is not None and not isinstance(glob, str):
        raise JsonRpcInvalidParams.of(ValueError("path must be a glob string"))
    served = [f for f in ls.served() if f.session is not None and f.session.index is not None]
    if not served:
        return JsonDict(state="starting", results=[], truncated=None)

    def run():
        # Folder by folder, in order, until the limit is filled.
        out, truncated, files = [], None, 0
        for folder in served:
            found = search_text(
                folder.session.index,
                params["pattern"],
                regex=flags["regex"],
                case_insensitive=flags["caseInsensitive"],
                path_glob=glob or None,
                limit=numbers["limit"] - len(out),
                context=numbers["context"],
            )
            files += found.files_searched
            truncated = truncated or found.truncated
            out.extend((hit, folder) for hit in found.hits)
            if len(out) >= numbers["limit"]:
                if folder is not served[-1]:
                    truncated = (
                        truncated
                        or f"stopped at {numbers['limit']} matches; later workspace folders not searched (raise limit)"
                    )
                break
        return out, truncated, files

    try:
        hits, truncated, files_searched = await ls.in_thread(run)
    except TextSearchError as exc:
        raise JsonRpcInvalidParams.of(exc) from None
    results = []
    for hit, folder in hits:
        line = hit.line - 1
        item = {
            "uri": folder.uri_for(hit.path),
            "path": hit.path,
            "line": hit.line,
            "text": hit.text,
            "folder": folder.name,
            "range": ls.lsp_range(
                (line, hit.utf16_range[0], line, hit.utf16_range[1]), (line, hit.utf8_range[0], line, hit.utf8_range[1])
            ),
        }
        if hit.symbol:
            item.update(symbol=hit.symbol, symbolKind=symbol_kind(hit.symbol_kind or ""), symbolLine=hit.symbol_line)
        if hit.before or hit.after:
            item.update(before=hit.before, after=hit.after)
        results.append(item)
    return JsonDict(state=ls.state(), results=results, truncated=truncated, filesSearched=files_searched)


async def symscope_related(ls: SymscopeServer, params: Any):
    from lsp_server.related import DEFAULT_LIMIT, RelatedError, related_code

    try:
        uri = params["textDocument"]["uri"]
        line = params["position"]["line"]
        limit = params.get("limit", DEFAULT_LIMIT)
        if not (isinstance(uri, str) and isinstance(line, int) and isinstance(limit, int)) or isinstance(line, bool):
            raise TypeError
    except (KeyError, TypeError):
        raise JsonRpcInvalidParams.of(
            ValueError("symscope/related takes {textDocument: {uri}, position: {line, character}, limit?}")
        ) from None
    path = to_fs_path(uri)
    ls = ls.scope(uri)
    rel = ls.relative(path) if path else None
    session = ls.session
    if rel is None or session is None or session.index is None:
        return JsonDict(symbol=None, results=[], note="not a file of this workspace's index")

    def run():
        embedder = session.searcher.embedder if session.searcher is not None else None
        return related_code(session.index, embedder, rel, line + 1, limit)

    try:
        found = await ls.in_thread(run)
    except RelatedError as exc:
        return JsonDict(symbol=None, results=[], note=str(exc))

    def item(rec: Any) -> dict[str, Any]:
        return {
            "name": rec.name,
            "qualifiedName": rec.qualified_name,
            "kind": rec.kind,
            "symbolKind": symbol_kind(rec.kind),
            "path": rec.path,
            "uri": ls.uri_for(rec.path),
            "range": ls.lsp_range(rec.range, rec.range_utf8),
            "selectionRange": ls.lsp_range(rec.selection_range, rec.selection_range_utf8),
            "symbolId": rec.symbol_id,
            "folder": ls.name,
        }

    results = [{**item(h.record), "score": h.score, "why": "; ".join(h.why)} for h in found.hits]
    return JsonDict(symbol=item(found.anchor), results=results, note=found.note)


async def search_command(ls: SymscopeServer, query: str, *rest: Any):
    """`symscope.search` (query, [limit | {limit, lang, path, kind, mode, expand}])."""
    params: dict[str, Any] = {"query": query}
    if not isinstance(query, str):
        raise JsonRpcInvalidParams.of(ValueError("the first argument of symscope.search is the query string"))
    if rest:
        if len(rest) > 1:
            raise JsonRpcInvalidParams.of(ValueError("symscope.search takes (query, [limit | options])"))
        extra = _as_plain(rest[0])
        if isinstance(extra, dict):
            params.update(extra)
        elif extra is not None:
            params["limit"] = extra
    return await symscope_search(ls, params)


def _as_plain(value: Any) -> Any:
    """pygls structures untyped JSON objects into namedtuples; turn them back into dicts."""
    if hasattr(value, "_asdict"):
        return {k: _as_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list):
        return [_as_plain(v) for v in value]
    return value


async def symscope_status(ls: SymscopeServer, params: Any):
    return JsonDict(await ls.in_thread(ls.status_payload))


async def status_command(ls: SymscopeServer, *args: Any):
    return JsonDict(await ls.in_thread(ls.status_payload))


def reindex_command(ls: SymscopeServer, *args: Any):
    sessions = [f.session for f in ls.served() if f.session is not None]
    if not sessions:
        raise JsonRpcInvalidRequest.of(ValueError("no workspace is open"))
    for session in sessions:
        session.files_changed([], structural=True)
    return JsonDict(ls.status_payload())


# --------------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------------

FEATURES: list[tuple[str, Callable[..., Any], Any]] = [
    (t.INITIALIZE, initialize, None),
    (t.INITIALIZED, initialized, None),
    (t.SHUTDOWN, shutdown, None),
    (t.TEXT_DOCUMENT_DID_OPEN, did_open, None),
    (t.TEXT_DOCUMENT_DID_CHANGE, did_change, None),
    (t.TEXT_DOCUMENT_DID_SAVE, did_save, t.SaveOptions(include_text=True)),
    (t.TEXT_DOCUMENT_DID_CLOSE, did_close, None),
    (t.WORKSPACE_DID_CHANGE_WATCHED_FILES, did_change_watched_files, None),
    (t.WORKSPACE_DID_CHANGE_CONFIGURATION, did_change_configuration, None),
    (t.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS, did_change_workspace_folders, None),
    (t.TEXT_DOCUMENT_DOCUMENT_SYMBOL, document_symbol, t.DocumentSymbolOptions(label="symscope")),
    (t.WORKSPACE_SYMBOL, workspace_symbol, None),
    (t.TEXT_DOCUMENT_PREPARE_CALL_HIERARCHY, lsp_calls.prepare_call_hierarchy, None),
    (t.CALL_HIERARCHY_INCOMING_CALLS, lsp_calls.incoming_calls, None),
    (t.CALL_HIERARCHY_OUTGOING_CALLS, lsp_calls.outgoing_calls, None),
    # Advertised only with `references: true` (lsp_calls.advertise): clients have real ones.
    (t.TEXT_DOCUMENT_REFERENCES, lsp_calls.references, None),
    (SEARCH_REQUEST, symscope_search, None),
    (SEARCH_TEXT_REQUEST, symscope_search_text, None),
    (RELATED_REQUEST, symscope_related, None),
    (STATUS_REQUEST, symscope_status, None),
]
COMMANDS: list[tuple[str, Callable[..., Any]]] = [
    (SEARCH_COMMAND, search_command),
    (STATUS_COMMAND, status_command),
    (REINDEX_COMMAND, reindex_command),
]


def create_server(base_settings: dict[str, Any] | None = None, *, mcp_port: int | None = None) -> SymscopeServer:
    server = SymscopeServer(base_settings, mcp_port=mcp_port)
    for method, handler, options in FEATURES:
        server.feature(method, options)(handler)
    for name, handler in COMMANDS:
        server.command(name)(handler)
    return server


# --------------------------------------------------------------------------------------------------
# stdio transport that survives hostile input
# --------------------------------------------------------------------------------------------------

MAX_CONTENT_LENGTH = 256 * 1024 * 1024  # larger claims are treated as garbage, never allocated
MAX_HEADER_BYTES = 64 * 1024  # header bytes without a terminator beyond this are garbage
_CONTENT_LENGTH = re.compile(rb"Content-Length[ \t]*:[ \t]*([0-9]+)[ \t]*\r?\n", re.IGNORECASE)
_HEADER_NAME = re.compile(rb"Content-Length[ \t]*:", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# A complete header block: what a body can never contain if it is valid JSON (no raw newlines in
# strings, no bare words outside them). Finding one inside a body means the body lied about its length.
_HEADER_BLOCK = re.compile(
    rb"Content-Length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n(?:[^\r\n]{0,1024}\r?\n){0,16}?\r?\n", re.IGNORECASE
)


class FrameParser:
    """Bytes in, message bodies out; never raises, never preallocates, resynchronises on headers."""

    def __init__(self, max_length: int = MAX_CONTENT_LENGTH) -> None:
        self.buf = bytearray()
        self.max_length = max_length
        self.expect: int | None = None  # body length once a header block was read
        self.scanned = 0  # how far the pending body was searched for a header block
        self.problems: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        bodies: list[bytes] = []
        while True:
            if self.expect is None:
                if not self._read_header():
                    return bodies
                continue
            body = self._read_body()
            if body is None:
                return bodies
            bodies.append(body)

    def _problem(self, message: str) -> None:
        log.warning("transport: %s", message)
        self.problems.append(message)
        del self.problems[:-100]

    def _read_header(self) -> bool:
        buf = self.buf
        m = _HEADER_NAME.search(buf)
        if m is None:
            if len(buf) > MAX_HEADER_BYTES:
                self._problem(f"discarded {len(buf) - 32} bytes without a Content-Length header")
                del buf[:-32]  # keep a tail: a header may be arriving split in two
            return False
        if m.start() > 0:
            junk = bytes(buf[: m.start()])
            if junk.strip():
                self._problem(f"discarded {len(junk)} bytes before a header")
            del buf[: m.start()]
        end = _HEADER_END.search(buf)
        if end is None:
            if len(buf) > MAX_HEADER_BYTES:
                self._problem("header block without an end; discarded")
                del buf[: len(b"Content-Length:")]
                return True
            return False
        block = bytes(buf[: end.end()])
        # The last Content-Length in the block wins: an earlier one belonged to a broken header.
        lengths = _CONTENT_LENGTH.findall(block)
        later = _HEADER_NAME.search(buf, 1, end.start())
        if later is not None:  # another header starts inside this block: this one is broken
            self._problem("malformed header block; resynchronising on the next header")
            del buf[: later.start()]
            return True
        del buf[: end.end()]
        if not lengths:
            self._problem("header block without a valid Content-Length; discarded")
            return True
        length = int(lengths[-1])
        if length > self.max_length:
            self._problem(f"Content-Length {length} exceeds {self.max_length}; frame discarded")
            return True
        self.expect = length
        self.scanned = 0
        return True

    def _read_body(self) -> bytes | None:
        n = self.expect
        assert n is not None
        buf = self.buf
        window = min(len(buf), n + 1024)
        # Search what arrived since the last look (with some overlap) for a header block.
        start = max(0, self.scanned - 1100)
        m = _HEADER_BLOCK.search(buf, start, window) if window > start else None
        if m is not None and m.start() < n:
            self._problem(f"a message declared {n} bytes but the next header starts after {m.start()}; resynchronised")
            body = bytes(buf[: m.start()])
            del buf[: m.start()]
            self.expect = None
            return body  # handed on: it fails as JSON and is logged there
        self.scanned = window
        if len(buf) < n:
            return None
        body = bytes(buf[:n])
        del buf[:n]
        self.expect = None
        return body


class _FrameWriter:
    """Writes whole frames to the protocol's own copy of stdout, one writer at a time."""

    def __init__(self, out) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._closed = False

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._closed = True
                log.error("client connection lost")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            try:
                self._out.close()
            except OSError:
                pass


def handle_body(server: SymscopeServer, body: bytes) -> None:
    """One frame body -> the protocol; malformed messages are answered or logged, never raised."""
    protocol = server.protocol
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as exc:
        log.warning("transport: body is not JSON (%s): %r", exc.__class__.__name__, body[:80])
        return
    if not isinstance(raw, dict):
        log.warning("transport: a JSON-RPC message must be an object, got %s", type(raw).__name__)
        return
    msg_id = raw.get("id")
    valid_id = isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool)
    is_request = "method" in raw and "id" in raw

    def reject(error: JsonRpcException) -> None:
        if is_request and valid_id:
            protocol._send_response(msg_id, error=error.to_response_error())
        else:
            log.warning("transport: dropped malformed message: %s", error)

    if raw.get("jsonrpc") != "2.0":
        return reject(JsonRpcInvalidRequest.of(ValueError("jsonrpc must be '2.0'")))
    if "method" in raw and not isinstance(raw["method"], str):
        return reject(JsonRpcInvalidRequest.of(ValueError("method must be a string")))
    if "id" in raw and not valid_id and not (msg_id is None and "method" not in raw):
        log.warning("transport: message with an invalid id %r dropped", msg_id)
        return
    try:
        method = raw.get("method")
        if isinstance(method, str) and method not in t.METHOD_TO_TYPES:
            # Our own methods take plain JSON (pygls would turn objects into namedtuples).
            message = (
                JsonRPCRequestMessage(id=msg_id, method=method, jsonrpc="2.0", params=raw.get("params"))
                if "id" in raw
                else JsonRPCNotification(method=method, jsonrpc="2.0", params=raw.get("params"))
            )
        else:
            message = protocol.structure_message(raw)
    except JsonRpcException as exc:
        return reject(exc)
    except Exception as exc:
        return reject(
            JsonRpcInternalError.of(sys.exc_info()) if not isinstance(exc, RecursionError) else JsonRpcInvalidParams()
        )
    try:
        protocol.handle_message(message)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception:
        log.exception("transport: handling %s failed", raw.get("method") or "a response")
        if is_request and valid_id:
            protocol._send_response(msg_id, error=JsonRpcInternalError.of(sys.exc_info()).to_response_error())


def serve_stdio(server: SymscopeServer, stdin_fd: int = 0, stdout_fd: int = 1) -> int:
    """Serve on stdin/stdout until `exit` or end of input; returns the process exit code."""
    out = os.fdopen(os.dup(stdout_fd), "wb", buffering=0)
    # From here on fd 1 is stderr: a stray print (ours, a library's, native code's) cannot corrupt frames.
    os.dup2(2, stdout_fd)
    sys.stdout = sys.stderr
    writer = _FrameWriter(out)
    server.protocol.set_writer(writer)
    # Fewer, cheaper collections: requests allocate many short-lived objects over a large heap.
    gc.set_threshold(50_000, 20, 50)
    code = 0
    try:
        asyncio.run(_serve(server, stdin_fd))
    except SystemExit as exc:  # the `exit` notification
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sessions = _take_sessions(server)
        if sessions:
            _stop_all(sessions, 3.0)
        server.queries.shutdown(wait=False, cancel_futures=True)
        writer.close()
    return code


async def _serve(server: SymscopeServer, stdin_fd: int) -> None:
    loop = asyncio.get_running_loop()
    server.loop = loop
    done = asyncio.Event()
    parser = FrameParser()

    def dispatch(body: bytes) -> None:
        handle_body(server, body)

    def read() -> None:
        while True:
            try:
                chunk = os.read(stdin_fd, 1 << 16)
            except InterruptedError:
                continue
            except OSError as exc:
                log.error("reading stdin failed: %s", exc)
                chunk = b""
            if not chunk:
                loop.call_soon_threadsafe(done.set)
                return
            for body in parser.feed(chunk):
                loop.call_soon_threadsafe(dispatch, body)

    threading.Thread(target=read, name="symscope-stdin", daemon=True).start()
    await done.wait()
    log.info("end of input: the client went away")


# --------------------------------------------------------------------------------------------------
# entry point (called by `symscope lsp`)
# --------------------------------------------------------------------------------------------------


def main(base_settings: dict[str, Any] | None = None, *, mcp_port: int | None = None) -> int:
    if logging.getLogger().level > logging.DEBUG:
        # pygls logs every message body at INFO: only at -vv.
        logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    if mcp_port is not None:
        import importlib.util

        if importlib.util.find_spec("lsp_server.mcp.server") is None:
            sys.stderr.write("symscope: --mcp-port: MCP support not installed (lsp_server.mcp.server is missing)\n")
            return 2
    server = create_server(base_settings, mcp_port=mcp_port)
    return serve_stdio(server)
