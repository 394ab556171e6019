"""`symscope/related`: the definitions most like the one at a position, and its callers and callees.

{textDocument: {uri}, position, limit?} -> {symbol, note?, results: [{name, qualifiedName, kind,
symbolKind, path, uri, folder, range, selectionRange, score, why, symbolId}]}: the innermost indexed
definition at the position (in the folder that holds the file), then its nearest vectors (itself and
what it contains left out) and its call-graph neighbours, each with `why`. The ranking is
lsp_server.related's; this module checks params and converts.

Must never: search on the event loop, or answer a position outside every folder's index with an
error (it is an empty answer with a note).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import to_fs_path

from lsp_server.lsp.protocol import JsonDict, symbol_kind

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer


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
