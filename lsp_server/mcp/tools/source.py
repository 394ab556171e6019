"""`get_symbol`: the source of one definition, read from disk now (re-found by parsing when the
file changed since it was indexed), cut to the caller's budget with a note.

Must never: read a file but through its root's confinement (`Workspace.read_bytes`), or split
lines differently from the parser (only "\\n" ends a line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.exceptions import ToolError

from lsp_server.mcp.budgets import ALTERNATIVES, CHARS_PER_TOKEN, compact_json
from lsp_server.mcp.models import SourceText, SymbolSource, symbol_ref

if TYPE_CHECKING:
    from lsp_server.index import SymbolRecord
    from lsp_server.mcp.roots import Root, RootSet


def get_symbol(roots: RootSet, path, name, line, include_body, max_tokens) -> SymbolSource:
    if not name and line is None:
        raise ToolError("give `name` (a name or qualified name in that file) or `line` (1-based)")
    where = roots.resolve(path)
    root, rel = where.root, where.rel
    shown_path = roots.display(root, rel)
    records = root.index.symbols_in_file(rel)
    if not records:
        raise ToolError(f"{shown_path} has no indexed symbols")
    matches = match_in_file(records, name, line)
    if not matches:
        want = f"named {name!r}" if name else f"at line {line}"
        raise ToolError(f"no symbol {want} in {shown_path}; call file_outline({shown_path!r}) to see what it defines")
    rec = matches[0]
    out = SymbolSource(
        symbol_id=rec.symbol_id,
        path=roots.display(root, rec.path),
        start_line=rec.start_line,
        end_line=rec.end_line,
        name=rec.name,
        qualified_name=rec.qualified_name,
        kind=rec.kind,
        language=rec.language,
        signature=rec.signature,
        doc=rec.doc,
        freshness="indexed",
        other_matches=[symbol_ref(m, roots.display(root, m.path)) for m in matches[1 : 1 + ALTERNATIVES]] or None,
    )
    if not include_body:
        return out
    data = root.workspace.read_bytes(rel, root.max_file_size, within=where.within)
    start, end, fresh = _current_lines(root, rel, shown_path, rec, data)
    out.freshness = fresh
    # Lines as the parser counts them: only "\n" ends one (splitlines() would also split on
    # form feeds and U+2028, shifting every line after them).
    lines = [line.removesuffix("\r") for line in data.decode("utf-8", "replace").split("\n")]
    body = lines[start - 1 : end]
    # What is not source: the other fields, the source object's keys, a truncation note.
    budget = max_tokens * CHARS_PER_TOKEN - len(compact_json(out.model_dump(exclude_none=True))) - 450
    kept: list[str] = []
    used = 0
    for text in body:
        used += len(json.dumps(text, ensure_ascii=False))  # the line as JSON escapes it, quotes ~ its newline
        if used > budget and kept:
            break
        kept.append(text)
    if len(kept) < len(body):
        last = start + len(kept) - 1
        out.truncated = (
            f"source cut at line {last} of {start}-{end} to stay within max_tokens={max_tokens}; "
            f"{len(body) - len(kept)} more lines: raise max_tokens, or call get_symbol with line= "
            "for a nested definition"
        )
        end = last
    out.source = SourceText(path=shown_path, start_line=start, end_line=end, text="\n".join(kept))
    return out


def _current_lines(root: Root, rel: str, shown_path: str, rec: SymbolRecord, data: bytes) -> tuple[int, int, str]:
    """(start, end, freshness) of the symbol in the bytes on disk now: the indexed lines if the
    file is unchanged, else the same definition found again by parsing the current bytes."""
    from lsp_server import _native

    indexed_hash = root.workspace.known_files().get(rel, (0, 0, ""))[2]
    if _native.hash_bytes(data) == indexed_hash:
        return rec.start_line, rec.end_line, "indexed"
    result = _native.extract(rel, data, rec.language) if rec.language else _native.extract(rel, data)
    same = [s for s in result["symbols"] if s["kind"] == rec.kind and s["qualified_name"] == rec.qualified_name]
    if not same:
        raise ToolError(
            f"{shown_path} changed on disk since it was indexed and no longer defines {rec.kind} "
            f"{rec.qualified_name}; the index catches up shortly (see index_status)"
        )
    rng = same[0]["range"]
    return rng[0] + 1, rng[2] + 1, "changed on disk since indexing (source read from disk now)"


def match_in_file(records: Sequence[Any], name: str | None, line: int | None) -> list[Any]:
    """Definitions in one file by name (qualified first, then plain, then case-insensitive) or
    the innermost one spanning a line."""
    if name:
        name = name.strip()
        exact = [r for r in records if r.qualified_name == name]
        plain = [r for r in records if r.name == name and r not in exact]
        suffix = [r for r in records if r.qualified_name.endswith("." + name) and r not in exact and r not in plain]
        found = exact + plain + suffix
        if not found:
            lower = name.lower()
            found = [r for r in records if r.name.lower() == lower or r.qualified_name.lower() == lower]
        if line is not None:
            found.sort(key=lambda r: not (r.start_line <= line <= r.end_line))
        return found
    spanning = [r for r in records if r.start_line <= line <= r.end_line]
    spanning.sort(key=lambda r: (r.end_line - r.start_line, -r.start_line))
    return spanning
