"""`file_outline`: the definitions in one file as a tree, shallow levels kept first when the whole
tree does not fit, with the file's freshness.

Must never: recurse over the tree (outlines can be deep; stacks are explicit).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lsp_server.mcp.budgets import CHARS_PER_TOKEN, compact_json
from lsp_server.mcp.models import FileOutline, OutlineNode, Truncation
from lsp_server.outline import symbol_tree

if TYPE_CHECKING:
    from lsp_server.mcp.roots import Root, RootSet


def file_outline(roots: RootSet, path, limit, max_tokens) -> FileOutline:
    where = roots.resolve(path)
    root, rel = where.root, where.rel
    records = root.index.symbols_in_file(rel)
    position = {r.symbol_id: i for i, r in enumerate(records)}
    core = [
        {
            "name": r.name,
            "kind": r.kind,
            "range": r.range,
            "signature": r.signature,
            "parent": position.get(r.parent_id) if r.parent_id else None,
            "lines": (r.start_line, r.end_line),
        }
        for r in records
    ]
    tree = symbol_tree(core)
    flat: list[tuple[int, dict, dict]] = []  # (depth, node, its core symbol) in document order
    stack = [(n, 0) for n in reversed(tree)]
    while stack:
        node, depth = stack.pop()
        flat.append((depth, node, node["symbol"]))
        stack.extend((child, depth + 1) for child in reversed(node["children"]))
    sizes = [len(compact_json(_outline_entry(sym))) + 12 for _, _, sym in flat]
    budget = max_tokens * CHARS_PER_TOKEN - 300
    keep = _outline_selection(flat, sizes, budget, limit)
    symbols = _outline_nodes(tree, keep)
    shown = sum(1 for _, _, sym in flat if id(sym) in keep)
    trunc = None
    if shown < len(flat):
        depth_cut = any(d > 0 for d, _, sym in flat if id(sym) not in keep)
        trunc = Truncation(
            shown=shown,
            omitted=len(flat) - shown,
            more_beyond_limit=len(flat) > limit,
            note=(
                f"showing {shown} of {len(flat)} symbols"
                + (" (nested members left out first)" if depth_cut else "")
                + f" to stay within max_tokens={max_tokens} / limit={limit}; raise them, or call "
                "get_symbol on a class to see its members"
            ),
        )
    language = records[0].language if records else None
    return FileOutline(
        path=roots.display(root, rel),
        language=language,
        symbols=symbols,
        freshness=_file_freshness(root, rel),
        truncated=trunc,
    )


def _file_freshness(root: Root, rel: str) -> str:
    size, mtime, _ = root.workspace.known_files().get(rel, (0, 0, ""))
    try:
        st = os.stat(os.path.join(root.root_real, *rel.split("/")))
    except OSError:
        return "deleted on disk since indexing"
    if (st.st_size, st.st_mtime_ns) == (size, mtime):
        return "indexed"
    return "changed on disk since indexing (outline may be stale until the index catches up)"


def _outline_entry(sym: dict) -> dict:
    entry = {"name": sym["name"], "kind": sym["kind"], "start_line": sym["lines"][0], "end_line": sym["lines"][1]}
    if sym["signature"] and sym["signature"] != sym["name"]:
        entry["signature"] = sym["signature"]
    return entry


def _outline_selection(flat, sizes, budget: int, limit: int) -> set[int]:
    """ids of the core symbols to show: the deepest level cut that fits, shallow symbols first."""
    if sum(sizes) <= budget and len(flat) <= limit:
        return {id(sym) for _, _, sym in flat}
    max_depth = max(d for d, _, _ in flat)
    for depth in range(max_depth, -1, -1):
        chosen = [i for i, (d, _, _) in enumerate(flat) if d <= depth]
        used = sum(sizes[i] for i in chosen)
        if used <= budget and len(chosen) <= limit:
            keep = {id(flat[i][2]) for i in chosen}
            # Fill what is left with members of the next level, in document order.
            for i, (d, _, sym) in enumerate(flat):
                if d != depth + 1:
                    continue
                used += sizes[i]
                if used > budget or len(keep) >= limit:
                    break
                keep.add(id(sym))
            return keep
    keep = set()
    used = 0
    for i, (d, _, sym) in enumerate(flat):
        if d:
            continue
        used += sizes[i]
        if used > budget or len(keep) >= limit:
            break
        keep.add(id(sym))
    return keep


def _outline_nodes(tree: list[dict], keep: set[int]) -> list[OutlineNode]:
    """The kept part of the tree as OutlineNodes, built without recursion."""
    out: list[OutlineNode] = []
    stack: list[tuple[dict, list[OutlineNode]]] = [(n, out) for n in reversed(tree)]
    pending: list[tuple[OutlineNode, list[OutlineNode]]] = []
    while stack:
        node, into = stack.pop()
        sym = node["symbol"]
        if id(sym) not in keep:
            continue
        converted = OutlineNode(**_outline_entry(sym))
        into.append(converted)
        kids = [c for c in node["children"] if id(c["symbol"]) in keep]
        if kids:
            children: list[OutlineNode] = []
            pending.append((converted, children))
            stack.extend((child, children) for child in reversed(kids))
    for node, children in pending:
        node.children = children
    return out
