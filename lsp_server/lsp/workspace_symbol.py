"""`workspace/symbol`: fuzzy identifiers for one word, semantic search for several, over every folder.

Owns the plain-LSP face of search: a one-word query is matched as an identifier (fuzzy, `ldcfg` finds
`load_config`), a multi-word one is answered by hybrid semantic search, so a client with no plugin
gets both. At most `workspaceSymbolLimit` results (settings.py), merged across folders.

Must never: search on the event loop, or answer an empty query with anything but an empty list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as t

from lsp_server.lsp.protocol import JsonList, symbol_kind
from lsp_server.lsp.search import search_folders

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer


async def workspace_symbol(ls: SymscopeServer, params: t.WorkspaceSymbolParams):
    query = params.query or ""
    if not query.strip():
        return JsonList()
    limit = ls.options["workspace_symbol_limit"]
    hits = await ls.in_thread(search_folders, ls, query, limit, {}, True)
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
