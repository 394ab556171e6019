"""Call hierarchy over LSP from the index's call graph: prepare, incoming calls, outgoing calls.

Owns `textDocument/prepareCallHierarchy`, `callHierarchy/incomingCalls` and
`callHierarchy/outgoingCalls`. The graph is `Index.callers` / `Index.callees`: edges resolved by
name at query time, each with a confidence (same class > same file > import > name only) that every
item's `detail` states in words, with the item's container. `fromRanges` are the call sites as the
index recorded them, narrowed to the called name by reading that line from disk and given in the
negotiated encoding. Items carry `data: {symbolId}`; a symbol the index no longer has answers an
empty list. Calls stay within the index of the folder that holds the item's file; the symbol at the
position is symbol_at.py's.

Must never: raise on stale or unknown items (an empty answer and a log line instead), block the
event loop (index and file reads run in the server's query threads), or answer more than the bounds
below.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.uris import to_fs_path

from lsp_server.lsp.protocol import JsonList, as_plain
from lsp_server.lsp.symbol_at import Request, as_range, index_of_session, resolve_at, target_at

if TYPE_CHECKING:
    from lsp_server.index import Edge, RefSite
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

CALL_ITEMS_MAX = 100  # items per incomingCalls / outgoingCalls answer
FROM_RANGES_MAX = 50  # call sites per item
CALL_SITES_MAX = 1000  # calls read from inside one symbol

HOW_WORDS = {"same class": "same class", "same file": "same file", "import": "via import", "name only": "name only"}


def _detail(sym: Any) -> str:
    return f"{sym.container} · {sym.path}" if sym.container else sym.path


def _edge_detail(edge: Edge) -> str:
    words = HOW_WORDS.get(edge.how, edge.how)
    return f"{words} · {edge.symbol.container or edge.symbol.path}"


def _prepare(ls: SymscopeServer, uri: str, pos: tuple[int, int]) -> list[dict]:
    ls = ls.scope(uri)  # the workspace folder holding the file: its index, overlay and root
    index = index_of_session(ls)
    if index is None or ls.root is None:
        return []
    req = Request(ls, index)
    target = target_at(req, uri, pos)
    if target is None:
        return []
    if target.on_name is not None:
        return [req.item(target.on_name, _detail(target.on_name), uri)]
    resolved = resolve_at(req, target)
    if resolved:
        return [req.item(sym, _detail(sym), uri if sym.path == target.rel else None) for sym, _, _ in resolved]
    if target.enclosing is not None:
        return [req.item(target.enclosing, _detail(target.enclosing), uri)]
    return []


# --------------------------------------------------------------------------------------------------
# incoming / outgoing calls
# --------------------------------------------------------------------------------------------------


def _item_symbol(req: Request, item: t.CallHierarchyItem) -> Any:
    """The index's record of an item: by `data.symbolId`, else by its file, name and line."""
    data = as_plain(item.data)
    sid = data.get("symbolId") if isinstance(data, dict) else None
    if isinstance(sid, str) and sid:
        return req.index.get_symbol(sid)
    path = to_fs_path(item.uri) if isinstance(item.uri, str) else None
    rel = req.ls.relative(path) if path else None
    if rel is None:
        return None
    line = item.selection_range.start.line
    for sym in req.index.symbols_in_file(rel):
        if sym.name == item.name and line in (sym.selection_range[0], sym.range[0]):
            return sym
    return None


def _calls(ls: SymscopeServer, item: t.CallHierarchyItem, incoming: bool) -> list[dict]:
    method = t.CALL_HIERARCHY_INCOMING_CALLS if incoming else t.CALL_HIERARCHY_OUTGOING_CALLS
    ls = ls.scope(item.uri) if isinstance(item.uri, str) else ls.loose  # calls stay within one folder's index
    index = index_of_session(ls)
    if index is None or ls.root is None:
        log.info("%s: no index yet: no calls", method)
        return []
    req = Request(ls, index)
    sym = _item_symbol(req, item)
    if sym is None:
        log.info("%s: %r (%s) is not in the index (any more): no calls", method, item.name, as_plain(item.data))
        return []
    out: list[dict] = []
    if incoming:
        for edge in index.callers(sym.symbol_id, CALL_ITEMS_MAX):
            sites = [s for s in index.call_sites(edge.symbol.symbol_id, CALL_SITES_MAX) if s.name == sym.name]
            ranges = [req.site_range(s) for s in sites[:FROM_RANGES_MAX]]
            if not ranges:
                ranges = [as_range((edge.line - 1, 0, edge.line - 1, 0))]
            out.append({"from": req.item(edge.symbol, _edge_detail(edge)), "fromRanges": ranges})
    else:
        by_name: dict[str, list[RefSite]] = {}
        for site in index.call_sites(sym.symbol_id, CALL_SITES_MAX):
            by_name.setdefault(site.name, []).append(site)
        for edge in index.callees(sym.symbol_id, CALL_ITEMS_MAX):
            sites = by_name.get(edge.symbol.name, [])
            ranges = [req.site_range(s) for s in sites[:FROM_RANGES_MAX]]
            if not ranges:
                ranges = [as_range((edge.line - 1, 0, edge.line - 1, 0))]
            out.append({"to": req.item(edge.symbol, _edge_detail(edge)), "fromRanges": ranges})
    return out


async def prepare_call_hierarchy(ls: SymscopeServer, params: t.CallHierarchyPrepareParams):
    pos = (params.position.line, params.position.character)
    try:
        items = await ls.in_thread(_prepare, ls, params.text_document.uri, pos)
    except Exception:
        log.exception("prepareCallHierarchy failed for %s", params.text_document.uri)
        return None
    return JsonList(items) if items else None


async def incoming_calls(ls: SymscopeServer, params: t.CallHierarchyIncomingCallsParams):
    return await _calls_answer(ls, params.item, True)


async def outgoing_calls(ls: SymscopeServer, params: t.CallHierarchyOutgoingCallsParams):
    return await _calls_answer(ls, params.item, False)


async def _calls_answer(ls: SymscopeServer, item: t.CallHierarchyItem, incoming: bool):
    try:
        calls = await ls.in_thread(_calls, ls, item, incoming)
    except Exception:
        log.exception("call hierarchy failed for %r", getattr(item, "name", item))
        calls = []
    return JsonList(calls)
