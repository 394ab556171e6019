"""`symscope/status`, the `symscope/statusChanged` notification, and the status / reindex commands.

Owns the status payload: the first folder's session status at the top level (its fields in
camelCase), with several folders the counts summed and the state (and message) of the least advanced
folder; `folders: [{name, root, uri, state, message, role, percentage, indexDir, files, symbols,
vectors, pending, modelId, lastError, watcher, parserFailures, openDocuments}]` lists each (a nested
one: {name, root, uri, state: "nested", servedBy}); plus openDocuments, unsavedDocuments,
parserFailures (open buffers included), parserWorkers, positionEncoding, mcpUrl, version and
settingsError. The notification carries the same object whenever a session's status changes.

Must never: read the index on the event loop (a session's status callback builds the payload on its
own thread and only sends on the loop; the request builds it in a query thread), or let a failure to
build it reach the session that reported.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInvalidRequest

from lsp_server import __version__, _native
from lsp_server.lsp.protocol import STATUS_NOTIFICATION, JsonDict, camel
from lsp_server.session import READER, READY

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


def status_payload(ls: SymscopeServer) -> dict[str, Any]:
    """The first folder's status at the top level (counts summed over folders, the state of the
    least advanced one), plus `folders`: one entry per workspace folder."""
    served = [(f, f.session.status().to_dict()) for f in ls.served() if f.session is not None]
    if not served:
        payload: dict[str, Any] = {
            "state": "error" if ls.settings_error else "starting",
            "message": ls.settings_error or ("no workspace folder: outlines only" if not ls.folders else "starting"),
            "role": "none",
        }
    else:
        payload = {camel(k): v for k, v in served[0][1].items()}
        if len(served) > 1:
            for key in ("files", "symbols", "vectors", "pending", "index_bytes"):
                payload[camel(key)] = sum(st[key] or 0 for _, st in served)
            payload["parserFailures"] = [f"{f.name}/{line}" for f, st in served for line in st["parser_failures"]]
            busy = [(f, st) for f, st in served if st["state"] in ("starting", "indexing", "embedding", "error")]
            if busy:
                f, st = min(busy, key=lambda p: ("starting", "indexing", "embedding", "error").index(p[1]["state"]))
                payload.update(state=st["state"], message=f"{f.name}: {st['message']}", percentage=st["percentage"])
                payload["lastError"] = payload.get("lastError") or st["last_error"]
    statuses = {f.key: st for f, st in served}
    folders = []
    for folder in ls.folders:
        entry: dict[str, Any] = {"name": folder.name, "root": str(folder.root), "uri": folder.uri}
        st = statuses.get(folder.key)
        if folder.served_by is not None:
            entry.update(
                state="nested", servedBy=folder.served_by.name, message=f"indexed with {folder.served_by.name}"
            )
        elif st is not None:
            entry.update(
                {
                    camel(k): st[k]
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
    documents = ls.all_documents()
    payload["openDocuments"] = len(documents)
    crashed = [f"{d.rel or d.uri}: {d.parser_failure} (open document)" for d in documents if d.parser_failure]
    payload["parserFailures"] = [*payload.get("parserFailures", []), *crashed]
    workers = _native.worker_stats()
    payload["parserWorkers"] = {k: workers[k] for k in ("started", "deaths", "hangs", "alive")}
    payload["unsavedDocuments"] = sum(1 for f in ls.served() for e in f._overlay_entries() if e.freshness == "unsaved")
    payload["positionEncoding"] = ls.encoding
    if ls._mcp_handle is not None:
        payload["mcpUrl"] = ls._mcp_handle.url
    payload["version"] = __version__
    if ls.settings_error:
        payload["settingsError"] = ls.settings_error
    return payload


def overall_state(ls: SymscopeServer) -> str:
    """The least advanced state of the served folders' sessions (the first folder's when all are done)."""
    served = [f.session.state for f in ls.served() if f.session is not None]
    if not served:
        return "starting"
    for state in ("starting", "indexing", "embedding"):
        if state in served:
            return state
    return served[0]


def send(ls: SymscopeServer) -> None:
    """Send `symscope/statusChanged` now (on the event loop)."""
    try:
        ls.protocol.notify(STATUS_NOTIFICATION, status_payload(ls))
    except Exception:
        log.exception("sending status failed")


def changed_from_thread(ls: SymscopeServer, status: Any) -> None:
    """A session's status callback (called on its own thread)."""
    # The payload reads the index (counts, sizes on disk): build it here, only send on the loop.
    try:
        body = status_payload(ls)
    except Exception:
        log.exception("building the status failed")
    else:
        ls.call_on_loop(ls.protocol.notify, STATUS_NOTIFICATION, body)
    ls.call_on_loop(ls.maybe_start_mcp)
    if status.state in (READY, READER):
        ls.call_on_loop(settle_heap)


def settle_heap() -> None:
    """After indexing, move the long-lived heap (name tables, caches) out of the collector's sight:
    a full collection over it costs ~10 ms, which would land on random keystrokes otherwise."""
    gc.collect()
    gc.freeze()


async def symscope_status(ls: SymscopeServer, params: Any):
    return JsonDict(await ls.in_thread(status_payload, ls))


# A command's `ls` (the SymscopeServer) is left unannotated: pygls resolves a command's annotations
# when it runs (to structure the arguments), and the server class cannot be imported here.
async def status_command(ls, *args: Any):
    return JsonDict(await ls.in_thread(status_payload, ls))


def reindex_command(ls, *args: Any):
    sessions = [f.session for f in ls.served() if f.session is not None]
    if not sessions:
        raise JsonRpcInvalidRequest.of(ValueError("no workspace is open"))
    for session in sessions:
        session.files_changed([], structural=True)
    return JsonDict(status_payload(ls))
