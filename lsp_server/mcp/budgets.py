"""Answer budgets of the MCP tools: default limits and token budgets, fitting items into a budget,
the truncation note that says what was left out, and the one way an answer is put on the wire.

Must never: drop items without a note saying how many and how to get them (`truncation`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from lsp_server.mcp.models import Truncation

CHARS_PER_TOKEN = 4  # the usual rough size of a token in English and code; budgets count JSON chars / 4
MAX_TOKENS_CAP = 50_000
MIN_TOKENS = 200
MAX_LIMIT = 200
# Defaults: each tool's largest default answer stays near or under 8,000 tokens (checked by tests).
SEARCH_LIMIT, SEARCH_TOKENS = 10, 4_000
FIND_LIMIT, FIND_TOKENS = 20, 2_500
SYMBOL_TOKENS = 6_000
OUTLINE_LIMIT, OUTLINE_TOKENS = 300, 6_000
EDGES_LIMIT, EDGES_TOKENS = 20, 3_000
TEXT_LIMIT, TEXT_TOKENS = 30, 2_500
ALTERNATIVES = 8  # other definitions listed when a name is ambiguous


def compact_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def approx_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def fit_items(items: Sequence[dict], budget_chars: int) -> int:
    """How many leading items fit into budget_chars of compact JSON."""
    used = 0
    for i, item in enumerate(items):
        used += len(compact_json(item)) + 1
        if used > budget_chars:
            return i
    return len(items)


def truncation(shown: int, found: int, more: bool, limit: int, max_tokens: int, what: str) -> Truncation | None:
    omitted = found - shown
    if not omitted and not more:
        return None
    parts = []
    if omitted:
        parts.append(f"{omitted} more {what} found but left out to stay within max_tokens={max_tokens}")
    if more:
        parts.append(f"more {what} exist beyond limit={limit}")
    hint = "raise max_tokens" if omitted else "raise limit"
    if omitted and more:
        hint = "raise max_tokens and limit"
    return Truncation(
        shown=shown,
        omitted=omitted,
        more_beyond_limit=more,
        note=f"showing {shown}; " + "; ".join(parts) + f" ({hint}, or narrow the query)",
    )


def tool_result(model: BaseModel) -> CallToolResult:
    """Structured content plus the same data as one compact JSON text block (what most clients
    show the model); None fields are dropped to save tokens."""
    data = model.model_dump(mode="json", exclude_none=True)
    return CallToolResult(content=[TextContent(type="text", text=compact_json(data))], structured_content=data)
