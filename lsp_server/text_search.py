"""Exact text and regex search over the files the index covers: `symscope grep`, the MCP tool
`search_text` and the LSP request `symscope/searchText`.

Owns: which files are searched (the index's own list, so the scan's ignore rules apply: never
`.env`, `.git/` or anything gitignored or outside the root), the path-glob filter, the enclosing
symbol of each hit, columns in characters, and bounding the answer by `limit` and a token budget
with a note saying what was left out. The search itself is the Rust core's (`rust/grep.rs`,
ripgrep's libraries: linear-time regexes, binary files skipped).

Must never: open a file itself (the core reads only listed plain files inside the root), build a
regex or filter by string formatting, or let a bad pattern escape as anything but `TextSearchError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsp_server import _native
from lsp_server.index import innermost_at
from lsp_server.index.globs import compile_glob

if TYPE_CHECKING:
    from lsp_server.index import Index, SymbolRecord

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_CONTEXT = 10
DEFAULT_TIMEOUT_MS = 5000
CHARS_PER_TOKEN = 4


class TextSearchError(ValueError):
    """The pattern or an argument cannot be used (the message says why)."""


@dataclass
class TextHit:
    path: str
    line: int  # 1-based
    column: int  # 1-based, in characters of the whole line
    text: str  # the line (cut around the match when very long)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    symbol: str | None = None  # qualified name of the innermost enclosing definition
    symbol_kind: str | None = None
    symbol_line: int | None = None
    # 0-based columns of the match in the whole line, for editors: UTF-16 units and UTF-8 bytes
    utf16_range: tuple[int, int] = (0, 0)
    utf8_range: tuple[int, int] = (0, 0)


@dataclass
class TextSearchResult:
    pattern: str
    regex: bool
    hits: list[TextHit]
    files_searched: int
    truncated: str | None = None  # what was left out and how to get it, or None
    timed_out: bool = False


def search_text(
    index: Index,
    pattern: str,
    *,
    regex: bool = False,
    case_insensitive: bool = False,
    path_glob: str | None = None,
    limit: int = DEFAULT_LIMIT,
    context: int = 0,
    max_tokens: int | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> TextSearchResult:
    if not pattern:
        raise TextSearchError("the pattern is empty")
    if not 1 <= limit <= MAX_LIMIT:
        raise TextSearchError(f"limit must be between 1 and {MAX_LIMIT}")
    if not 0 <= context <= MAX_CONTEXT:
        raise TextSearchError(f"context must be between 0 and {MAX_CONTEXT} lines")
    files = index.text_searchable_paths()
    if path_glob:
        glob = compile_glob(path_glob)
        files = [f for f in files if glob.fullmatch(f)]
    try:
        found = _native.search_text(
            str(index.root),
            files,
            pattern,
            regex=regex,
            case_insensitive=case_insensitive,
            context=context,
            limit=limit,
            timeout_ms=timeout_ms,
        )
    except ValueError as exc:
        raise TextSearchError(str(exc)) from None
    hits = [_hit(m) for m in found["matches"]]
    _attach_symbols(index, hits)
    notes = []
    if found["truncated"]:
        notes.append(f"more than {limit} matching lines; narrow the pattern or the path glob, or raise limit")
    if found["timed_out"]:
        notes.append(f"stopped after {timeout_ms} ms having searched {found['files_searched']} of {len(files)} files")
    if max_tokens is not None:
        kept = _fit(hits, max_tokens * CHARS_PER_TOKEN)
        if kept < len(hits):
            notes.append(f"{len(hits) - kept} more matches did not fit in max_tokens={max_tokens}")
            hits = hits[:kept]
    return TextSearchResult(
        pattern=pattern,
        regex=regex,
        hits=hits,
        files_searched=found["files_searched"],
        truncated="; ".join(notes) or None,
        timed_out=found["timed_out"],
    )


def _hit(m: dict) -> TextHit:
    return TextHit(
        path=m["path"],
        line=m["line"],
        column=m["char_start"] + 1,
        text=m["text"],
        before=list(m["before"]),
        after=list(m["after"]),
        utf16_range=tuple(m["utf16_range"]),
        utf8_range=tuple(m["utf8_range"]),
    )


def _attach_symbols(index: Index, hits: list[TextHit]) -> None:
    by_file: dict[str, list[SymbolRecord]] = {}
    for hit in hits:
        records = by_file.get(hit.path)
        if records is None:
            records = by_file[hit.path] = index.symbols_in_file(hit.path)
        inner = innermost_at(records, hit.line)
        if inner is not None:
            hit.symbol, hit.symbol_kind, hit.symbol_line = inner.qualified_name, inner.kind, inner.start_line


def _fit(hits: list[TextHit], budget_chars: int) -> int:
    used = 0
    for i, hit in enumerate(hits):
        used += len(hit.path) + len(hit.text) + sum(len(x) for x in hit.before + hit.after) + len(hit.symbol or "") + 40
        if used > budget_chars and i > 0:
            return i
    return len(hits)


def as_dict(result: TextSearchResult) -> dict:
    return {
        "pattern": result.pattern,
        "regex": result.regex,
        "files_searched": result.files_searched,
        "truncated": result.truncated,
        "timed_out": result.timed_out,
        "hits": [
            {k: v for k, v in vars(h).items() if v not in (None, []) and k not in ("utf16_range", "utf8_range")}
            for h in result.hits
        ],
    }
