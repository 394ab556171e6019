"""`textDocument/documentSymbol`: the outline of a file, open or not, for all 33 languages.

Owns the outline answer: an open document's current outline from its overlay (after a parser
crash, the last good outline, else the index's, with one warning per crash), a file on disk
extracted in a supervised worker, and the two LSP shapes: hierarchical DocumentSymbol (bounded
depth, details cut to `DETAIL_CHARS`) or flat SymbolInformation, by the client's capability.

Must never: parse in the server's own process (extraction runs in the core's workers), block the
event loop (files on disk are read in a query thread), or send a selectionRange outside its range.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.uris import to_fs_path

from lsp_server import _native
from lsp_server.lsp.protocol import JsonList, symbol_kind, symbol_ranges
from lsp_server.outline import symbol_tree

if TYPE_CHECKING:
    from lsp_server.lsp.folders import Folder
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

DETAIL_CHARS = 120


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


def _document_symbols(ls: SymscopeServer, symbols: list[dict]) -> JsonList:
    out = JsonList()
    stack: list[tuple[dict, list]] = [(node, out) for node in reversed(symbol_tree(symbols))]
    while stack:
        node, into = stack.pop()
        sym = node["symbol"]
        full, name = symbol_ranges(ls.encoding, sym)
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
        _, name = symbol_ranges(ls.encoding, sym)
        item = {
            "name": sym["name"] or "<anonymous>",
            "kind": sym.get("kind_id") or symbol_kind(sym["kind"]),
            "location": {"uri": uri, "range": name},
        }
        if sym.get("container"):
            item["containerName"] = sym["container"]
        out.append(item)
    return out
