"""`symscope/search` and the `symscope.search` command; the search over every folder that workspace/symbol shares.

`symscope/search` {query, limit?, lang?, path?, kind?, mode?, expand?} -> {query, state, results:
[{folder, name, qualifiedName, kind, symbolKind, language, path, uri, range, selectionRange,
startLine, endLine, score, signature, snippet, why, freshness, symbolId, band?, alsoIn?}]}: `folder`
is the name of the workspace folder, `path` relative to it; `range` / `selectionRange` are LSP
ranges in the negotiated encoding; startLine / endLine are 1-based, as in the CLI. The command
`symscope.search` takes (query, [limit | options]).

Owns `search_folders`: every served folder's hits (the index's merged with its open documents',
whose unsaved symbols override the index's rows for their path) merged by score, ties in folder
order, each with an LSP location. Identifier-mode (workspace/symbol) uses fuzzy names for one word.

Must never: run a search on the event loop (handlers hand it to a query thread), or answer more
than `SEARCH_LIMIT_MAX` results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.lsp.overlay import merge_results
from lsp_server.lsp.protocol import JsonDict, as_plain, symbol_kind

if TYPE_CHECKING:
    from lsp_server.lsp.folders import Folder
    from lsp_server.lsp.server import SymscopeServer

SEARCH_LIMIT_DEFAULT = 20
SEARCH_LIMIT_MAX = 500


def search_folders(
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
    hits = await ls.in_thread(search_folders, ls, query, limit, extra, False)
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


# A command's `ls` (the SymscopeServer) is left unannotated: pygls resolves a command's annotations
# when it runs (to structure the arguments), and the server class cannot be imported here.
async def search_command(ls, query: str, *rest: Any):
    """`symscope.search` (query, [limit | {limit, lang, path, kind, mode, expand}])."""
    params: dict[str, Any] = {"query": query}
    if not isinstance(query, str):
        raise JsonRpcInvalidParams.of(ValueError("the first argument of symscope.search is the query string"))
    if rest:
        if len(rest) > 1:
            raise JsonRpcInvalidParams.of(ValueError("symscope.search takes (query, [limit | options])"))
        extra = as_plain(rest[0])
        if isinstance(extra, dict):
            params.update(extra)
        elif extra is not None:
            params["limit"] = extra
    return await symscope_search(ls, params)
