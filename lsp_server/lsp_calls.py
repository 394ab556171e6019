"""Call hierarchy over LSP from the index's call graph, and search-based references (off by default).

Owns `textDocument/prepareCallHierarchy`, `callHierarchy/incomingCalls`, `callHierarchy/outgoingCalls`
and `textDocument/references` (registered from lsp.py's FEATURES table; lsp.py is the only other
importer of pygls/lsprotocol). The graph is `Index.callers` / `Index.callees`: edges resolved by
name at query time, each with a confidence (same class > same file > import > name only) that every
item's `detail` states in words, with the item's container. `fromRanges` are the call sites as the
index recorded them (line and UTF-16 column of the callee as written), narrowed to the called name
by reading that line from disk and given in the negotiated encoding.

The symbol at a position: its name under the cursor -> that definition; a call under the cursor ->
the definitions it resolves to (best confidence only); otherwise the innermost enclosing
definition. Open documents use the overlay's current outline (ranges of the buffer), other files
the index. Items carry `data: {symbolId}`; a symbol the index no longer has answers an empty list.

References (`references: true`) are labelled search-based: every call and import of the name the
index recorded, minus those in files that define another symbol of that name (they resolve there),
plus the declaration. No type checking: a client's real language server knows better.

Must never: raise on stale or unknown items (an empty answer and a log line instead), block the event
loop (index reads and file reads run in the server's query threads), or answer more than the bounds
below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.uris import to_fs_path

if TYPE_CHECKING:
    from lsp_server.index import Edge, Index, RefSite
    from lsp_server.lsp import SymscopeServer

log = logging.getLogger(__name__)

CALL_ITEMS_MAX = 100  # items per incomingCalls / outgoingCalls answer
FROM_RANGES_MAX = 50  # call sites per item
PREPARE_ITEMS_MAX = 5  # definitions a call under the cursor may resolve to
CALL_SITES_MAX = 1000  # calls read from inside one symbol
REFERENCES_MAX = 200
REFERENCES_REGISTRATION_ID = "symscope/references"
REFERENCES_NOTE = (
    "symscope: references are search-based: every call and import of the name that the index "
    "recorded (no type checking); turn them off with `references: false`"
)

HOW_WORDS = {"same class": "same class", "same file": "same file", "import": "via import", "name only": "name only"}
# What a call under the cursor may name (a variable of the same name is not what was called).
CALLABLE_KINDS = {"function", "method", "constructor", "class", "struct", "operator"}

_DOTTED = re.compile(r"[\w$]+(?:(?:\.|::|->)[\w$]+)*")
_WORD = re.compile(r"[\w$]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _lsp():
    from lsp_server import lsp  # lsp.py imports this module: resolve it late

    return lsp


# --------------------------------------------------------------------------------------------------
# positions
# --------------------------------------------------------------------------------------------------


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


def _lsp_range(r: Sequence[int]) -> dict[str, Any]:
    return {"start": {"line": r[0], "character": r[1]}, "end": {"line": r[2], "character": r[3]}}


def _contains(r: Sequence[int], pos: tuple[int, int]) -> bool:
    return (r[0], r[1]) <= pos <= (r[2], r[3])


def _split_lines(data: bytes) -> list[str]:
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


class _Request:
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
                    lines = _split_lines(path.read_bytes())
            except OSError as exc:
                log.info("call hierarchy: cannot read %s: %s", rel, exc)
            self._lines[rel] = lines
        lines = self._lines[rel]
        return lines[line] if lines is not None and 0 <= line < len(lines) else None

    def ranges(self, sym: Any) -> tuple[dict, dict]:
        """(range, selectionRange) in the negotiated encoding, widened as the outline's are."""
        return _lsp()._symbol_ranges(
            self.ls,
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
            "kind": _lsp().symbol_kind(sym.kind),
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
            return _lsp_range((line, col, line, col))
        i = _index_of(s, site.col, "utf-16")
        # The target as written ends with the name (`self.send_chunk`, `pkg.config`, `"./x"`).
        j = s.rfind(site.name, i, i + len(site.target) + 2)
        if j < 0:
            j = s.find(site.name, i)
        end = j + len(site.name) if j >= 0 else i
        j = j if j >= 0 else i
        return _lsp_range((line, _col_of(s, j, self.encoding), line, _col_of(s, end, self.encoding)))


def _index_of_session(ls: SymscopeServer) -> Index | None:
    session = ls.session
    return session.index if session is not None else None


def _detail(sym: Any) -> str:
    return f"{sym.container} · {sym.path}" if sym.container else sym.path


def _edge_detail(edge: Edge) -> str:
    words = HOW_WORDS.get(edge.how, edge.how)
    return f"{words} · {edge.symbol.container or edge.symbol.path}"


# --------------------------------------------------------------------------------------------------
# the symbol at a position
# --------------------------------------------------------------------------------------------------


@dataclass
class _Target:
    rel: str
    uri: str
    word: str | None  # the identifier under the cursor
    dotted: str | None  # the identifier path it ends (`self.send_chunk`)
    on_name: Any  # the definition whose name is under the cursor
    enclosing: Any  # the innermost definition around the cursor


def _target_at(req: _Request, uri: str, pos: tuple[int, int]) -> _Target | None:
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
        lines = _split_lines(text)
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
    return _Target(rel, uri, word, dotted, innermost(on_name), innermost(around))


def _resolved(req: _Request, target: _Target) -> list[tuple[Any, float, str]]:
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


def _prepare(ls: SymscopeServer, uri: str, pos: tuple[int, int]) -> list[dict]:
    ls = ls.scope(uri)  # the workspace folder holding the file: its index, overlay and root
    index = _index_of_session(ls)
    if index is None or ls.root is None:
        return []
    req = _Request(ls, index)
    target = _target_at(req, uri, pos)
    if target is None:
        return []
    if target.on_name is not None:
        return [req.item(target.on_name, _detail(target.on_name), uri)]
    resolved = _resolved(req, target)
    if resolved:
        return [req.item(sym, _detail(sym), uri if sym.path == target.rel else None) for sym, _, _ in resolved]
    if target.enclosing is not None:
        return [req.item(target.enclosing, _detail(target.enclosing), uri)]
    return []


# --------------------------------------------------------------------------------------------------
# incoming / outgoing calls
# --------------------------------------------------------------------------------------------------


def _item_symbol(req: _Request, item: t.CallHierarchyItem) -> Any:
    """The index's record of an item: by `data.symbolId`, else by its file, name and line."""
    data = _lsp()._as_plain(item.data)
    sid = data.get("symbolId") if isinstance(data, dict) else None
    if isinstance(sid, str) and sid:
        return req.index.get_symbol(sid)
    path = to_fs_path(item.uri) if isinstance(item.uri, str) else None
    rel = req.ls.relative(path) if path else None
    if rel is None:
        return None
    line = item.selection_range.start.line
    for sym in req.index.symbols_in_file(rel):
        if sym.name == item.name and line in (sym.selection_range[0], sym.range[0]):
            return sym
    return None


def _calls(ls: SymscopeServer, item: t.CallHierarchyItem, incoming: bool) -> list[dict]:
    method = t.CALL_HIERARCHY_INCOMING_CALLS if incoming else t.CALL_HIERARCHY_OUTGOING_CALLS
    ls = ls.scope(item.uri) if isinstance(item.uri, str) else ls.loose  # calls stay within one folder's index
    index = _index_of_session(ls)
    if index is None or ls.root is None:
        log.info("%s: no index yet: no calls", method)
        return []
    req = _Request(ls, index)
    sym = _item_symbol(req, item)
    if sym is None:
        log.info("%s: %r (%s) is not in the index (any more): no calls", method, item.name, _lsp()._as_plain(item.data))
        return []
    out: list[dict] = []
    if incoming:
        for edge in index.callers(sym.symbol_id, CALL_ITEMS_MAX):
            sites = [s for s in index.call_sites(edge.symbol.symbol_id, CALL_SITES_MAX) if s.name == sym.name]
            ranges = [req.site_range(s) for s in sites[:FROM_RANGES_MAX]]
            if not ranges:
                ranges = [_lsp_range((edge.line - 1, 0, edge.line - 1, 0))]
            out.append({"from": req.item(edge.symbol, _edge_detail(edge)), "fromRanges": ranges})
    else:
        by_name: dict[str, list[RefSite]] = {}
        for site in index.call_sites(sym.symbol_id, CALL_SITES_MAX):
            by_name.setdefault(site.name, []).append(site)
        for edge in index.callees(sym.symbol_id, CALL_ITEMS_MAX):
            sites = by_name.get(edge.symbol.name, [])
            ranges = [req.site_range(s) for s in sites[:FROM_RANGES_MAX]]
            if not ranges:
                ranges = [_lsp_range((edge.line - 1, 0, edge.line - 1, 0))]
            out.append({"to": req.item(edge.symbol, _edge_detail(edge)), "fromRanges": ranges})
    return out


async def prepare_call_hierarchy(ls: SymscopeServer, params: t.CallHierarchyPrepareParams):
    pos = (params.position.line, params.position.character)
    try:
        items = await ls.in_thread(_prepare, ls, params.text_document.uri, pos)
    except Exception:
        log.exception("prepareCallHierarchy failed for %s", params.text_document.uri)
        return None
    return _lsp().JsonList(items) if items else None


async def incoming_calls(ls: SymscopeServer, params: t.CallHierarchyIncomingCallsParams):
    return await _calls_answer(ls, params.item, True)


async def outgoing_calls(ls: SymscopeServer, params: t.CallHierarchyOutgoingCallsParams):
    return await _calls_answer(ls, params.item, False)


async def _calls_answer(ls: SymscopeServer, item: t.CallHierarchyItem, incoming: bool):
    try:
        calls = await ls.in_thread(_calls, ls, item, incoming)
    except Exception:
        log.exception("call hierarchy failed for %r", getattr(item, "name", item))
        calls = []
    return _lsp().JsonList(calls)


# --------------------------------------------------------------------------------------------------
# references (search-based, off unless `references: true`)
# --------------------------------------------------------------------------------------------------


def _references(ls: SymscopeServer, uri: str, pos: tuple[int, int], declaration: bool) -> list[dict]:
    ls = ls.scope(uri)
    index = _index_of_session(ls)
    if index is None or ls.root is None:
        return []
    req = _Request(ls, index)
    target = _target_at(req, uri, pos)
    if target is None or not target.word:
        return []
    name = target.word
    definition = target.on_name if target.on_name is not None and target.on_name.name == name else None
    if definition is None:
        resolved = _resolved(req, target)
        definition = resolved[0][0] if resolved else None
    definitions = index.definitions(name)
    mentions = index.mentions(name, REFERENCES_MAX * 2)
    if definition is not None:
        # A file that defines another symbol of this name calls that one (same file wins).
        elsewhere = {d.path for d in definitions if d.symbol_id != definition.symbol_id} - {definition.path}
        mentions = [m for m in mentions if m.path not in elsewhere]
    out: list[dict] = []
    seen: set[tuple] = set()
    if declaration:
        for d in [definition] if definition is not None else definitions:
            _, sel = req.ranges(d)
            loc_uri = uri if d.path == target.rel else ls.uri_for(d.path)
            seen.add((d.path, sel["start"]["line"], sel["start"]["character"]))
            out.append({"uri": loc_uri, "range": sel})
    for m in mentions:
        if len(out) >= REFERENCES_MAX:
            break
        rng = req.site_range(m)
        key = (m.path, rng["start"]["line"], rng["start"]["character"])
        if key in seen:
            continue
        seen.add(key)
        out.append({"uri": uri if m.path == target.rel else ls.uri_for(m.path), "range": rng})
    return out


async def references(ls: SymscopeServer, params: t.ReferenceParams):
    if not ls.options.get("references"):
        log.info("textDocument/references is off (set `references: true` for search-based references)")
        return None
    if not ls.references_noted:
        ls.references_noted = True
        ls.window_log_message(t.LogMessageParams(type=t.MessageType.Info, message=REFERENCES_NOTE))
    pos = (params.position.line, params.position.character)
    declaration = bool(params.context.include_declaration) if params.context is not None else True
    try:
        found = await ls.in_thread(_references, ls, params.text_document.uri, pos, declaration)
    except Exception:
        log.exception("references failed for %s", params.text_document.uri)
        found = []
    return _lsp().JsonList(found)


def advertise(ls: SymscopeServer, result: t.InitializeResult) -> None:
    """At initialize: the references capability only when `references: true`."""
    if ls.options.get("references"):
        ls.references_advertised = "static"
    else:
        ls.references_advertised = None
        result.capabilities.references_provider = None


async def references_changed(ls: SymscopeServer) -> None:
    """After a settings change: (un)register references with a client that allows it. A capability
    given at initialize cannot be taken back; the handler then declines by the current setting."""
    wanted = bool(ls.options.get("references"))
    if wanted == (ls.references_advertised is not None) or ls.references_advertised == "static":
        return
    caps = ls.client_capabilities.text_document
    if not (caps and caps.references and caps.references.dynamic_registration):
        log.info("references turned on: this client learns of it after a restart (requests are answered now)")
        return
    timeout = _lsp().CLIENT_REPLY_TIMEOUT_S
    try:
        if wanted:
            registration = t.Registration(
                id=REFERENCES_REGISTRATION_ID,
                method=t.TEXT_DOCUMENT_REFERENCES,
                register_options=t.ReferenceRegistrationOptions(document_selector=None),
            )
            await asyncio.wait_for(
                ls.client_register_capability_async(t.RegistrationParams(registrations=[registration])), timeout
            )
            ls.references_advertised = "dynamic"
        else:
            gone = t.Unregistration(id=REFERENCES_REGISTRATION_ID, method=t.TEXT_DOCUMENT_REFERENCES)
            await asyncio.wait_for(
                ls.client_unregister_capability_async(t.UnregistrationParams(unregisterations=[gone])), timeout
            )
            ls.references_advertised = None
    except Exception as exc:
        log.warning("client refused the references (un)registration: %s", exc)
