"""`callers` and `callees`: call edges of one symbol from the index of the root holding it, each
labelled with how it was resolved and how confident that is.

Must never: mix roots in one answer's edges (calls are resolved within one index, as in the
language server), or guess silently: an ambiguous name answers with the other candidates.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ToolError

from lsp_server.mcp.budgets import ALTERNATIVES, CHARS_PER_TOKEN, fit_items, truncation
from lsp_server.mcp.models import CallEdge, CallGraphResult, symbol_ref
from lsp_server.mcp.tools.source import match_in_file

if TYPE_CHECKING:
    from lsp_server.mcp.roots import Root, RootSet

_RESOLUTION = {"same class": "same-file", "same file": "same-file", "import": "import", "name only": "name-only"}
_SYMBOL_ID = re.compile(r"^[0-9a-f]{24}$")


def call_graph(roots: RootSet, direction, symbol, path, limit, max_tokens) -> CallGraphResult:
    (root, rec), others = _resolve_symbol(roots, symbol, path)
    fetch = root.index.callers if direction == "callers" else root.index.callees
    edges = fetch(rec.symbol_id, limit + 1)
    more = len(edges) > limit
    items = [
        {
            "symbol_id": e.symbol.symbol_id,
            "name": e.symbol.name,
            "qualified_name": e.symbol.qualified_name,
            "kind": e.symbol.kind,
            "path": roots.display(root, e.symbol.path),
            "start_line": e.symbol.start_line,
            "end_line": e.symbol.end_line,
            "call_path": roots.display(root, e.path),
            "call_line": e.line,
            "resolution": _RESOLUTION.get(e.how, "name-only"),
            "confidence": round(e.confidence, 3),
        }
        for e in edges[:limit]
    ]
    shown = fit_items(items, max_tokens * CHARS_PER_TOKEN - 500)
    return CallGraphResult(
        symbol=symbol_ref(rec, roots.display(root, rec.path)),
        direction=direction,
        edges=[CallEdge(**i) for i in items[:shown]],
        other_matches=[symbol_ref(o, roots.display(r, o.path)) for r, o in others] or None,
        truncated=truncation(shown, len(items), more, limit, max_tokens, direction),
    )


def _resolve_symbol(roots: RootSet, symbol: str, path: str | None) -> tuple[tuple[Root, Any], list[tuple[Root, Any]]]:
    """A symbol_id, or a (qualified) name optionally narrowed to one file -> ((root, record),
    the other candidates). Without a path, every root is asked, in root order."""
    text = (symbol or "").strip()
    if not text:
        raise ToolError("give `symbol`: a symbol_id from search_code / find_symbol, or a name")
    if _SYMBOL_ID.match(text):
        by_id = [(root, rec) for root in roots.roots if (rec := root.index.get_symbol(text)) is not None]
        if by_id:
            return by_id[0], by_id[1 : 1 + ALTERNATIVES]
    candidates: list[tuple[Root, Any]] = []
    if path:
        where = roots.resolve(path)
        records = match_in_file(where.root.index.symbols_in_file(where.rel), text, None)
        candidates = [(where.root, rec) for rec in records]
    else:
        ranked = []
        for n, root in enumerate(roots.roots):
            hits = root.searcher.symbols(text, 50)
            wanted = [
                h for h in hits if h.qualified_name == text or h.name == text or h.qualified_name.endswith("." + text)
            ]
            found = root.index.get_symbols([h.symbol_id for h in wanted])
            for rank, h in enumerate(wanted):
                if h.symbol_id in found:
                    ranked.append(((h.qualified_name != text, h.name != text, n, rank), root, found[h.symbol_id]))
        ranked.sort(key=lambda x: x[0])
        candidates = [(root, rec) for _, root, rec in ranked]
    if not candidates:
        raise ToolError(f"no symbol {text!r} in the index; use find_symbol to look it up")
    return candidates[0], candidates[1 : 1 + ALTERNATIVES]
