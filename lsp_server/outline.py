"""Document outlines: the flat symbol list of the Rust core turned into a tree.

Owns the outline shape shared by the CLI (`symscope outline`), the language server's
documentSymbol and the MCP `file_outline` tool. It never reads files or touches the index.

Depth policy: symbols nested deeper than ``MAX_DEPTH`` are attached to their ancestor at that
depth, so pathological nesting (100,000 levels) yields a bounded tree that every JSON encoder and
editor can take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_DEPTH = 64


def symbol_tree(symbols: Sequence[dict[str, Any]], max_depth: int = MAX_DEPTH) -> list[dict[str, Any]]:
    """Nests the core's symbols (parents come first, `parent` is an index) without recursion.

    Each node is ``{"symbol": <core symbol>, "children": [...]}``.
    """
    nodes: list[dict[str, Any]] = []
    depth: list[int] = []
    # home[i]: the node that takes symbol i's children; a node at the last allowed level hands
    # them to its own parent, so each symbol is placed in O(1).
    home: list[int | None] = []
    roots: list[dict[str, Any]] = []
    for i, sym in enumerate(symbols):
        node = {"symbol": sym, "children": []}
        nodes.append(node)
        parent = sym.get("parent")
        place = home[parent] if parent is not None and 0 <= parent < i else None
        if place is None:
            depth.append(0)
            roots.append(node)
        else:
            depth.append(depth[place] + 1)
            nodes[place]["children"].append(node)
        home.append(i if depth[i] < max_depth - 1 else place)
    return roots


def outline_json(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CLI's JSON shape: 1-based lines, lowercase LSP kind names, nested `children`."""

    def convert(node: dict[str, Any]) -> dict[str, Any]:
        s = node["symbol"]
        return {
            "name": s["name"],
            "kind": s["kind"],
            "start_line": s["range"][0] + 1,
            "end_line": s["range"][2] + 1,
            "selection_start_line": s["selection_range"][0] + 1,
            "signature": s["signature"],
            "doc": s["doc"],
            "children": [],
        }

    out: list[dict[str, Any]] = []
    stack: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [(n, out) for n in reversed(tree)]
    while stack:
        node, into = stack.pop()
        converted = convert(node)
        into.append(converted)
        stack.extend((child, converted["children"]) for child in reversed(node["children"]))
    return out


def outline_text(tree: list[dict[str, Any]]) -> list[str]:
    """Readable indented lines: `kind name  (line N)  signature`."""
    lines: list[str] = []
    stack = [(n, 0) for n in reversed(tree)]
    while stack:
        node, level = stack.pop()
        s = node["symbol"]
        lines.append(f"{'  ' * level}{s['kind']} {s['name']}  (line {s['range'][0] + 1})  {s['signature']}")
        stack.extend((child, level + 1) for child in reversed(node["children"]))
    return lines
