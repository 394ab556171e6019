"""`search_text`: exact text or regex over the indexed files, root by root in order until `limit`
matching lines (and the token budget) are filled, each hit with its enclosing definition.

Must never: search a file its index does not list (`lsp_server.text_search` searches only those),
or stop before `limit` without saying which roots were left unsearched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from lsp_server.mcp.budgets import MIN_TOKENS, approx_tokens, compact_json
from lsp_server.mcp.models import TextHitModel, TextSearchResultModel

if TYPE_CHECKING:
    from lsp_server.mcp.roots import RootSet


def search_text(roots: RootSet, pattern, regex, path, limit, context, max_tokens) -> TextSearchResultModel:
    from lsp_server.text_search import TextSearchError
    from lsp_server.text_search import search_text as run

    hits: list[TextHitModel] = []
    notes: list[str] = []
    files = 0
    used_tokens = 0
    targets = roots.glob_targets(path)
    for n, (root, glob) in enumerate(targets):
        try:
            found = run(
                root.index,
                pattern,
                regex=regex,
                path_glob=glob,
                limit=limit - len(hits),
                context=context,
                max_tokens=max_tokens - used_tokens,
            )
        except TextSearchError as exc:
            raise ToolError(str(exc)) from None
        files += found.files_searched
        for h in found.hits:
            hit = TextHitModel(
                path=roots.display(root, h.path),
                line=h.line,
                column=h.column,
                text=h.text,
                before=h.before or None,
                after=h.after or None,
                symbol=h.symbol,
                symbol_kind=h.symbol_kind,
                symbol_line=h.symbol_line,
            )
            hits.append(hit)
            used_tokens += approx_tokens(compact_json(hit.model_dump(exclude_none=True)))
        if found.truncated:
            notes.append(f"{root.name}: {found.truncated}" if roots.several else found.truncated)
        rest = [r.name for r, _ in targets[n + 1 :]]
        if rest and (len(hits) >= limit or max_tokens - used_tokens < MIN_TOKENS):
            notes.append(
                f"stopped at {len(hits)} matches; roots not searched: {', '.join(rest)} (raise limit or max_tokens, "
                "or start the path glob with a root name)"
            )
            break
    return TextSearchResultModel(hits=hits, files_searched=files, truncated="; ".join(notes) or None)
