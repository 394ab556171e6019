"""`related_code`: the definitions most like the one at path:line, by meaning and by calls, from
the index of the root holding that file.

Must never: return a hit whose file now resolves outside its root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mcp.server.mcpserver.exceptions import ToolError

from lsp_server.mcp.models import RelatedCodeResult, RelatedHitModel, symbol_ref

if TYPE_CHECKING:
    from lsp_server.mcp.roots import RootSet


def related_code(roots: RootSet, path, line, limit) -> RelatedCodeResult:
    from lsp_server.related import RelatedError
    from lsp_server.related import related_code as run

    where = roots.resolve(path)
    root = where.root
    try:
        found = run(root.index, root.searcher.embedder, where.rel, line, limit)
    except RelatedError as exc:
        raise ToolError(str(exc)) from None
    hits = [
        RelatedHitModel(
            symbol_id=h.record.symbol_id,
            path=roots.display(root, h.record.path),
            start_line=h.record.start_line,
            end_line=h.record.end_line,
            qualified_name=h.record.qualified_name,
            kind=h.record.kind,
            signature=h.record.signature,
            score=h.score,
            why="; ".join(h.why),
        )
        for h in found.hits
        if root.workspace.still_inside(h.record.path)
    ]
    return RelatedCodeResult(
        symbol=symbol_ref(found.anchor, roots.display(root, found.anchor.path)), results=hits, note=found.note
    )
