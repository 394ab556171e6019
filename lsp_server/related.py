"""Related code: what else in the workspace is like the definition at a position. Serves the LSP
request `symscope/related` and the MCP tool `related_code`.

Owns: finding the definition at (path, line) (the innermost one spanning the line), its nearest
neighbours by meaning (its own vector against the index's, excluding itself, its copies and the
definitions nested in it), its call-graph neighbours (callers and callees, with how each call was
resolved), merging the two into one bounded list with `why` for every hit.

Must never: embed anything but the one definition when its vector is not stored yet, run SQL or
touch LanceDB (it asks `Index`), or return the definition itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsp_server.index import SymbolFilter, innermost_at

if TYPE_CHECKING:
    from lsp_server.embed import Embedder
    from lsp_server.index import Index, SymbolRecord

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
GRAPH_WEIGHT = 0.3  # a caller or callee counts this much times its resolution confidence


class RelatedError(ValueError):
    """No definition at that position, or nothing to compare it with (the message says which)."""


@dataclass
class RelatedHit:
    record: SymbolRecord
    score: float
    why: list[str] = field(default_factory=list)


@dataclass
class RelatedResult:
    anchor: SymbolRecord
    hits: list[RelatedHit]
    note: str | None = None  # e.g. vectors not ready: graph neighbours only


def definition_at(index: Index, rel_path: str, line: int) -> SymbolRecord:
    """The innermost definition in `rel_path` spanning the 1-based `line`."""
    best = innermost_at(index.symbols_in_file(rel_path), line)
    if best is None:
        raise RelatedError(f"no indexed definition spans {rel_path}:{line}")
    return best


def related_code(
    index: Index, embedder: Embedder | None, rel_path: str, line: int, limit: int = DEFAULT_LIMIT
) -> RelatedResult:
    if not 1 <= limit <= MAX_LIMIT:
        raise RelatedError(f"limit must be between 1 and {MAX_LIMIT}")
    anchor = definition_at(index, rel_path, line)
    found: dict[str, RelatedHit] = {}
    note = None

    def inside_anchor(r: SymbolRecord) -> bool:
        return r.path == anchor.path and anchor.start_line <= r.start_line and r.end_line <= anchor.end_line

    def excluded(r: SymbolRecord) -> bool:
        return (
            r.symbol_id == anchor.symbol_id
            or inside_anchor(r)
            or (r.text_hash == anchor.text_hash and r.qualified_name == anchor.qualified_name)
        )

    vector = None
    if embedder is not None:
        vector = index.stored_vector(anchor, embedder.model_id, embedder.dim)
        if vector is None:
            vector = embedder.embed([anchor.embed_text])[0]
    if vector is not None and index.vectors_ready(embedder.model_id):
        neighbours = index.vector_search(vector, embedder.model_id, limit * 3 + 5, SymbolFilter())
        records = index.get_symbols([sid for sid, _ in neighbours])
        for sid, cosine in neighbours:
            rec = records.get(sid)
            if rec is None or excluded(rec):
                continue
            found[sid] = RelatedHit(rec, max(float(cosine), 0.0), [f"similar {cosine:.2f}"])
    else:
        note = "no vectors yet (the index is still embedding): call-graph neighbours only"

    for edges, label in (
        (index.callers(anchor.symbol_id, limit), "calls it"),
        (index.callees(anchor.symbol_id, limit), "called by it"),
    ):
        for edge in edges:
            rec = edge.symbol
            if excluded(rec):
                continue
            hit = found.setdefault(rec.symbol_id, RelatedHit(rec, 0.0))
            hit.score += GRAPH_WEIGHT * edge.confidence
            hit.why.append(f"{label} ({edge.how}, line {edge.line})")
    hits = sorted(found.values(), key=lambda h: (-h.score, h.record.path, h.record.start_line))[:limit]
    for h in hits:
        h.score = round(h.score, 4)
    return RelatedResult(anchor=anchor, hits=hits, note=note)
