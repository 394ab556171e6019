"""The wire vocabulary every handler shares: symscope's own method names, plain-JSON results, shapes.

Owns the names of the custom requests, notification, commands, progress token and registrations;
`JsonList` / `JsonDict` (results that are already JSON, sent without a cattrs round trip); the
conversions between the core's plain data and LSP shapes (ranges in the negotiated encoding, the
outline's widened ranges, symbol kinds, camelCase keys, untyped params back to dicts); and how long
the server waits on a reply from the client.

Must never: import another module of this package (every one of them imports this one), hold
state, or do I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lsprotocol import types as t

SEARCH_REQUEST = "symscope/search"
SEARCH_TEXT_REQUEST = "symscope/searchText"
RELATED_REQUEST = "symscope/related"
STATUS_REQUEST = "symscope/status"
STATUS_NOTIFICATION = "symscope/statusChanged"
SEARCH_COMMAND = "symscope.search"
STATUS_COMMAND = "symscope.status"
REINDEX_COMMAND = "symscope.reindex"
PROGRESS_TOKEN = "symscope/indexing"
WATCHER_REGISTRATION_ID = "symscope/watched-files"

# A client that does not answer a request of ours (progress token, registration, configuration)
# within this long is treated as having refused it.
CLIENT_REPLY_TIMEOUT_S = 10.0

_SYMBOL_KINDS = {k.name.lower(): k.value for k in t.SymbolKind}
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class JsonList(list):
    """A result that is already plain JSON: sent as is, skipping cattrs (hot paths)."""


class JsonDict(dict):
    """A result that is already plain JSON: sent as is, skipping cattrs (hot paths)."""


def symbol_kind(kind: str) -> int:
    """The LSP SymbolKind number of one of the core's kind names (Variable when unknown)."""
    return _SYMBOL_KINDS.get(kind.lower().replace("_", ""), t.SymbolKind.Variable.value)


def lsp_range(encoding: str, utf16: Sequence[int], utf8: Sequence[int]) -> dict[str, Any]:
    """An LSP range from the core's (line, column, line, column) pair, in the negotiated encoding."""
    r = utf8 if encoding == "utf-8" else utf16
    return {"start": {"line": r[0], "character": r[1]}, "end": {"line": r[2], "character": r[3]}}


def symbol_ranges(encoding: str, sym: dict) -> tuple[dict, dict]:
    """(range, selectionRange) of a core symbol in the negotiated encoding, the range widened to
    hold the selection."""
    rng, sel = (
        (sym["range_utf8"], sym["selection_range_utf8"])
        if encoding == "utf-8"
        else (sym["range"], sym["selection_range"])
    )
    # Clients reject a selectionRange outside its range (VS Code drops the whole outline): widen.
    start = min((rng[0], rng[1]), (sel[0], sel[1]))
    end = max((rng[2], rng[3]), (sel[2], sel[3]))
    full = {"start": {"line": start[0], "character": start[1]}, "end": {"line": end[0], "character": end[1]}}
    name = {"start": {"line": sel[0], "character": sel[1]}, "end": {"line": sel[2], "character": sel[3]}}
    return full, name


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower().replace("-", "_")


def as_plain(value: Any) -> Any:
    """pygls structures untyped JSON objects into namedtuples; turn them back into dicts."""
    if hasattr(value, "_asdict"):
        return {k: as_plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list):
        return [as_plain(v) for v in value]
    return value
