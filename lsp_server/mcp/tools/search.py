"""`search_code` and `find_symbol`: hybrid search and fuzzy name lookup over every root, merged by
score (ties in root order), each hit located, explained and bounded.

Must never: return a hit whose file now resolves outside its root.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lsp_server.mcp.budgets import CHARS_PER_TOKEN, fit_items, truncation
from lsp_server.mcp.models import CodeHit, FindSymbolResult, SearchCodeResult

if TYPE_CHECKING:
    from lsp_server.mcp.roots import Root, RootSet
    from lsp_server.search import SearchResult


def search_code(roots: RootSet, query, limit, lang, path, kind, max_tokens) -> SearchCodeResult:
    found = merged(
        roots, path, lambda root, glob: root.searcher.search(query, limit + 1, lang=lang, path=glob, kind=kind)
    )
    more = len(found) > limit
    hits = [code_hit(roots, root, r) for root, r in found[:limit]]
    shown = fit_items(hits, max_tokens * CHARS_PER_TOKEN - 400)
    if shown == 0 and hits:  # one oversized hit: keep it without its snippet
        hits[0].pop("snippet", None)
        shown = 1
    return SearchCodeResult(
        query=query,
        results=[CodeHit(**h) for h in hits[:shown]],
        search_mode=roots.search_mode(),
        truncated=truncation(shown, len(hits), more, limit, max_tokens, "results"),
        index_note=roots.index_note(),
    )


def find_symbol(roots: RootSet, name, limit, kind, lang, max_tokens) -> FindSymbolResult:
    found = merged(roots, None, lambda root, _glob: root.searcher.symbols(name, limit + 1, lang=lang, kind=kind))
    more = len(found) > limit
    hits = [code_hit(roots, root, r, with_snippet=False) for root, r in found[:limit]]
    shown = fit_items(hits, max_tokens * CHARS_PER_TOKEN - 300)
    return FindSymbolResult(
        name=name,
        results=[CodeHit(**h) for h in hits[:shown]],
        truncated=truncation(shown, len(hits), more, limit, max_tokens, "symbols"),
        index_note=roots.index_note(),
    )


def merged(
    roots: RootSet, glob: str | None, fetch: Callable[[Root, str | None], list[SearchResult]]
) -> list[tuple[Root, SearchResult]]:
    """Each root's hits (its files still inside it), merged by score with ties in root order; one
    root's hits keep their own order."""
    found = []
    for n, (root, inner_glob) in enumerate(roots.glob_targets(glob)):
        for rank, r in enumerate(fetch(root, inner_glob)):
            if root.workspace.still_inside(r.path):
                found.append((-(r.score or 0.0), n, rank, root, r))
    if roots.several:
        found.sort(key=lambda x: x[:3])
    return [(root, r) for *_, root, r in found]


def code_hit(roots: RootSet, root: Root, r: SearchResult, with_snippet: bool = True) -> dict:
    hit = {
        "path": roots.display(root, r.path),
        "start_line": r.start_line,
        "end_line": r.end_line,
        "name": r.name,
        "qualified_name": r.qualified_name,
        "kind": r.kind,
        "language": r.language,
        "signature": r.signature,
        "score": r.score,
        "why": r.why,
        "freshness": r.freshness,
        "symbol_id": r.symbol_id,
    }
    if with_snippet and r.snippet and r.snippet != r.signature:
        hit["snippet"] = r.snippet
    if getattr(r, "band", ""):
        hit["band"] = r.band
    if getattr(r, "also_in", None):
        hit["also_in"] = [roots.display(root, where) for where in r.also_in]
    return hit
