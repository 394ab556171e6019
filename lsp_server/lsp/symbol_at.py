"""What a request about a position reads: the symbol there, file lines, and columns in both encodings.

Shared by call hierarchy and references. The symbol at a position: its name under the cursor ->
that definition; a call under the cursor -> the definitions it resolves to (best confidence only,
callable kinds only); otherwise the innermost enclosing definition. Open documents use the overlay's
current outline (ranges of the buffer), other files the index. A `Request` reads each file's lines
at most once, and turns reference sites (line and UTF-16 column of the callee as written) into the
called name's range in the negotiated encoding.

Must never: raise on a position outside the text or a file that went away (None, or the recorded
column), or read a file over the folder's size cap.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

from lsp_server.lsp.protocol import symbol_kind, symbol_ranges

if TYPE_CHECKING:
    from lsp_server.index import Index, RefSite
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

PREPARE_ITEMS_MAX = 5  # definitions a call under the cursor may resolve to
# What a call under the cursor may name (a variable of the same name is not what was called).
CALLABLE_KINDS = {"function", "method", "constructor", "class", "struct", "operator"}

_DOTTED = re.compile(r"[\w$]+(?:(?:\.|::|->)[\w$]+)*")
_WORD = re.compile(r"[\w$]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _width(ch: str, encoding: str) -> int:
    o = ord(ch)
    if encoding == "utf-8":
        if 0xDC80 <= o <= 0xDCFF:  # an invalid byte, kept by surrogateescape: one byte
            return 1
        return 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
    return 2 if o > 0xFFFF else 1  # UTF-16 (an invalid byte is one unit, as the core counts it)


def _index_of(s: str, col: int, encoding: str) -> int:
    """The str index of a column in `encoding` (clamped to the line)."""
    if s.isascii():
        return max(0, min(col, len(s)))
    units = 0
    for i, ch in enumerate(s):
        if units >= col:
            return i
        units += _width(ch, encoding)
    return len(s)


def _col_of(s: str, i: int, encoding: str) -> int:
    if s.isascii():
        return i
    return sum(_width(ch, encoding) for ch in s[:i])


def as_range(r: Sequence[int]) -> dict[str, Any]:
    """An LSP range from (line, character, line, character) already in the negotiated encoding."""
    return {"start": {"line": r[0], "character": r[1]}, "end": {"line": r[2], "character": r[3]}}


def _contains(r: Sequence[int], pos: tuple[int, int]) -> bool:
    return (r[0], r[1]) <= pos <= (r[2], r[3])


def split_lines(data: bytes) -> list[str]:
    """Lines as LSP counts them (\\n, \\r\\n and a lone \\r end a line); invalid UTF-8 kept byte for byte."""
    return _LINE_BREAK.split(data.decode("utf-8", "surrogateescape"))


@dataclass(frozen=True)
class _Sym:
    """An overlay row in the shape of an index SymbolRecord (the attributes this module reads)."""

    symbol_id: str
    name: str
    kind: str
    container: str | None
    path: str
    range: tuple[int, int, int, int]
    selection_range: tuple[int, int, int, int]
    range_utf8: tuple[int, int, int, int]
    selection_range_utf8: tuple[int, int, int, int]


def _row_sym(row: Any) -> _Sym:
    r16, sel16, r8, sel8, _ = json.loads(row.ranges)
    return _Sym(
        row.symbol_id, row.name, row.kind, row.container, row.path, tuple(r16), tuple(sel16), tuple(r8), tuple(sel8)
    )


class Request:
    """What one request reads: the index, the encoding, and file lines (each file read once)."""

    def __init__(self, ls: SymscopeServer, index: Index) -> None:
        self.ls = ls
        self.index = index
        self.encoding = ls.encoding
        self.root: Path = ls.root  # type: ignore[assignment]
        self.max_bytes = ls.settings.max_file_size if ls.settings is not None else 2_000_000
        self._lines: dict[str, list[str] | None] = {}

    def disk_line(self, rel: str, line: int) -> str | None:
        """A line of a file as the index saw it (on disk), or None when it cannot be read."""
        if rel not in self._lines:
            lines = None
            try:
                path = self.root / rel
                if path.stat().st_size <= self.max_bytes:
                    lines = split_lines(path.read_bytes())
            except OSError as exc:
                log.info("call hierarchy: cannot read %s: %s", rel, exc)
            self._lines[rel] = lines
        lines = self._lines[rel]
        return lines[line] if lines is not None and 0 <= line < len(lines) else None

    def ranges(self, sym: Any) -> tuple[dict, dict]:
        """(range, selectionRange) in the negotiated encoding, widened as the outline's are."""
        return symbol_ranges(
            self.encoding,
            {
                "range": sym.range,
                "selection_range": sym.selection_range,
                "range_utf8": sym.range_utf8,
                "selection_range_utf8": sym.selection_range_utf8,
            },
        )

    def item(self, sym: Any, detail: str, uri: str | None = None) -> dict[str, Any]:
        full, name = self.ranges(sym)
        return {
            "name": sym.name or "<anonymous>",
            "kind": symbol_kind(sym.kind),
            "uri": uri or self.ls.uri_for(sym.path),
            "range": full,
            "selectionRange": name,
            "detail": detail,
            "data": {"symbolId": sym.symbol_id},
        }

    def site_range(self, site: RefSite) -> dict[str, Any]:
        """The called (or imported) name at a reference site, in the negotiated encoding."""
        line = site.line - 1
        s = self.disk_line(site.path, line)
        if s is None:  # the file went away or shrank since it was indexed: the recorded column
            col = site.col if self.encoding == "utf-16" else 0
            return as_range((line, col, line, col))
        i = _index_of(s, site.col, "utf-16")
        # The target as written ends with the name (`self.send_chunk`, `pkg.config`, `"./x"`).
        j = s.rfind(site.name, i, i + len(site.target) + 2)
        if j < 0:
            j = s.find(site.name, i)
        end = j + len(site.name) if j >= 0 else i
        j = j if j >= 0 else i
        return as_range((line, _col_of(s, j, self.encoding), line, _col_of(s, end, self.encoding)))


def index_of_session(ls: SymscopeServer) -> Index | None:
    """The folder's index, or None while its session has none open."""
    session = ls.session
    return session.index if session is not None else None


@dataclass
class Target:
    """What is at a position: the file, the word and dotted name under the cursor, the definitions there."""

    rel: str
    uri: str
    word: str | None  # the identifier under the cursor
    dotted: str | None  # the identifier path it ends (`self.send_chunk`)
    on_name: Any  # the definition whose name is under the cursor
    enclosing: Any  # the innermost definition around the cursor


def target_at(req: Request, uri: str, pos: tuple[int, int]) -> Target | None:
    """The symbol at a position of a file in the folder (None outside it): open buffers by their outline."""
    ls = req.ls
    path = to_fs_path(uri)
    rel = ls.relative(path) if path else None
    if rel is None:
        return None
    doc = ls.overlay.get(uri)
    symbols: Sequence[Any] | None = None
    line: str | None = None
    if doc is not None:
        entry = next((e for e in ls._overlay_entries() if e.doc.uri == uri), None)
        if entry is not None:  # the buffer differs from what the index holds: its own outline
            symbols = [_row_sym(r) for r in entry.rows]
        text = doc.text  # bytes: an immutable snapshot
        lines = split_lines(text)
        line = lines[pos[0]] if 0 <= pos[0] < len(lines) else None
    if symbols is None:
        symbols = req.index.symbols_in_file(rel)
    if doc is None:
        line = req.disk_line(rel, pos[0])
    utf8 = req.encoding == "utf-8"
    on_name = [s for s in symbols if _contains(s.selection_range_utf8 if utf8 else s.selection_range, pos)]
    around = [s for s in symbols if _contains(s.range_utf8 if utf8 else s.range, pos)]

    def innermost(found: list) -> Any:
        if not found:
            return None
        return max(found, key=lambda s: ((r := s.range_utf8 if utf8 else s.range)[0], r[1], -r[2], -r[3]))

    word = dotted = None
    if line is not None:
        i = _index_of(line, pos[1], req.encoding)
        for m in _DOTTED.finditer(line):
            if m.start() <= i <= m.end():
                for w in _WORD.finditer(line, m.start(), m.end()):
                    if w.start() <= i <= w.end():
                        word, dotted = w.group(), line[m.start() : w.end()]
                        break
                if word:
                    break
    return Target(rel, uri, word, dotted, innermost(on_name), innermost(around))


def resolve_at(req: Request, target: Target) -> list[tuple[Any, float, str]]:
    """Definitions the call (or name) under the cursor resolves to, best confidence only."""
    if not target.word or target.dotted is None:
        return []
    container = target.enclosing.container if target.enclosing is not None else None
    ranked = [
        r
        for r in req.index.resolve_call(target.word, target.dotted, target.rel, container, 50)
        if r[0].kind in CALLABLE_KINDS
    ]
    if not ranked:
        return []
    best = ranked[0][1]
    return [r for r in ranked if r[1] >= best][:PREPARE_ITEMS_MAX]
