"""Open editor buffers: their syntax trees, their symbols, and their part in search results.

Owns the documents an editor has open in this process: the text, a Rust `Document` (tree-sitter
tree re-parsed incrementally on every change), the conversion of editor positions (UTF-16 or UTF-8
columns, LSP line breaks) to byte offsets, and the overlay of open documents over the on-disk index:
a document whose symbols differ from what the index holds for its path (unsaved edits, or a file the
indexer has not reached yet) answers searches for that path itself, with freshness "unsaved" (the
buffer differs from the file on disk) or "pending" (the buffer is the file, the index is behind).

Parsing runs in the core's supervised document host: when a grammar crashes on a buffer's text,
the server lives on, that text is never parsed again, and `symbols()` answers with the last good
outline (marked `parser_failure`) until an edit makes the text parse again.

Ranking reuses lsp_server.search (the index's): the fuzzy `NameTable` for identifier queries,
`reciprocal_rank_fusion` and the exact-name tier for natural-language ones, so overlay hits and
index hits sit on one scale.

Must never: write to the index or to disk (unsaved text lives only in this process: design
invariant), import pygls/lsprotocol (documents.py converts), or raise on a change it cannot place: a stale
or out-of-range edit is clamped or ignored and logged, never a crash.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lsp_server import _native
from lsp_server.index.globs import compile_glob
from lsp_server.index.identifiers import (
    STOPWORDS,
    identifier_tokens,
    is_identifier,
    last_component,
    looks_like_code,
    words,
)
from lsp_server.index.records import SymbolRow, file_rows
from lsp_server.search import (
    EXACT_TIER,
    NameTable,
    RankingOptions,
    SearchResult,
    query_shape,
    reciprocal_rank_fusion,
    rule_context,
    rule_factor,
)

if TYPE_CHECKING:
    from lsp_server.embed import Embedder
    from lsp_server.index import SymbolRecord

log = logging.getLogger(__name__)

# Unsaved and pending buffers' hits, fused in their own pool, over the index's (see search()).
OPEN_DOCUMENT_BOOST = 1.1
# LSP line terminators: \n, \r\n and a lone \r all end a line.
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# Editor language ids that name our grammars differently (the rest are tried as they are).
_LANGUAGE_ALIASES = {
    "typescriptreact": "tsx",
    "javascriptreact": "javascript",
    "shellscript": "bash",
    "sh": "bash",
    "cs": "csharp",
    "objective-c": "objc",
    "objectivec": "objc",
    "terraform": "hcl",
    "ocaml.interface": "ocaml_interface",
}
OVERLAY_VECTORS_PER_QUERY = 64  # embed at most this many unseen overlay texts per search
VECTOR_CACHE = 4096


def relative_path(root: Path | None, path: str | os.PathLike[str] | None) -> str | None:
    """`path` relative to `root` in the index's form (POSIX separators), or None when it lies outside.

    The one rule for "is this file in this folder, and under what name": the index stores paths
    made by it, so a document, a request and a watcher event about one file agree on its key.
    Lexical (`abspath`, no symlink resolution): the editor's path is the one it will ask about."""
    if path is None or root is None:
        return None
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


class Position:
    """A 0-based (line, character) pair in the negotiated encoding; plain so documents.py can pass its own."""

    __slots__ = ("line", "character")

    def __init__(self, line: int, character: int) -> None:
        self.line = line
        self.character = character


@dataclass
class Change:
    """One content change: `start`/`end` None means the whole text is replaced."""

    text: str
    start: Position | None = None
    end: Position | None = None


@dataclass
class ChangeReport:
    applied: int = 0
    clamped: int = 0  # positions outside the document, moved to its nearest edge
    ignored_stale: bool = False
    resynced: bool = False  # an edit the tree could not take; the text was rebuilt and re-parsed
    problems: list[str] = field(default_factory=list)


def _known_languages() -> set[str]:
    return {lang["name"] for lang in _native.languages()}


_LANGUAGES: set[str] | None = None


def language_for(path: str | None, language_id: str | None, head: bytes) -> str | None:
    """Our grammar for a document: by file name and content first, then by the editor's language id."""
    global _LANGUAGES
    if path:
        found = _native.detect_language(path, head[:256])
        if found:
            return found
    if language_id:
        if _LANGUAGES is None:
            _LANGUAGES = _known_languages()
        lid = language_id.lower()
        lid = _LANGUAGE_ALIASES.get(lid, lid)
        if lid in _LANGUAGES:
            return lid
    return None


class OpenDocument:
    """One open buffer. All methods are called with the overlay's lock held."""

    def __init__(
        self, uri: str, path: Path | None, rel: str | None, language_id: str, version: int | None, text: bytes
    ):
        self.uri = uri
        self.path = path
        self.rel = rel
        self.language_id = language_id
        self.version = version
        self.text = text
        self.language = language_for(str(path) if path else uri, language_id, text)
        self.tree: _native.Document | None = _native.Document(self.language, text) if self.language else None
        self.edits = 0  # bumped on every change; keys every cache below
        # Why the parser died on the current text (None when it parsed), and the outline of the
        # last text that did parse: what the editor is shown meanwhile.
        self.parser_failure: str | None = None
        self._last_good: dict | None = None
        self._line_starts: list[int] | None = None
        self._symbols: tuple[int, dict] | None = None
        self._rows: tuple[int, list[SymbolRow]] | None = None
        self._text_hash: tuple[int, str] | None = None

    # -- positions ----------------------------------------------------------------------------

    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0, *(m.end() for m in _LINE_BREAK.finditer(self.text))]
        return self._line_starts

    def offset_at(self, pos: Position, encoding: str) -> tuple[int, bool]:
        """Byte offset of an editor position, and whether it had to be clamped into the text.

        Per LSP, a character past the end of its line means the end of that line; a line past the
        end of the document means the end of the document."""
        starts = self.line_starts()
        text = self.text
        line, character = pos.line, pos.character
        if line < 0:
            return 0, True
        if line >= len(starts):
            return len(text), True
        begin = starts[line]
        end = starts[line + 1] if line + 1 < len(starts) else len(text)
        # The line's content stops before its terminator.
        while end > begin and text[end - 1] in (0x0A, 0x0D):
            end -= 1
        if character < 0:
            return begin, True
        if encoding == "utf-8":
            off = begin + character
            if off > end:
                return end, True
            # Never split a UTF-8 sequence: back up to the start of the character.
            while begin < off < end and (text[off] & 0xC0) == 0x80:
                off -= 1
            return off, False
        raw = text[begin:end]
        if raw.isascii():
            return (begin + character, False) if character <= len(raw) else (end, True)
        chars = raw.decode("utf-8", "surrogateescape")
        if encoding == "utf-32":
            if character > len(chars):
                return end, True
            return begin + len(chars[:character].encode("utf-8", "surrogateescape")), False
        # UTF-16: an invalid byte (a lone surrogate here) counts as one unit, as the Rust core counts it.
        units = 0
        for i, ch in enumerate(chars):
            if units >= character:
                return begin + len(chars[:i].encode("utf-8", "surrogateescape")), False
            units += 2 if ord(ch) > 0xFFFF else 1
        return end, units < character

    # -- edits --------------------------------------------------------------------------------

    def apply(self, version: int | None, changes: Sequence[Change], encoding: str) -> ChangeReport:
        report = ChangeReport()
        if version is not None and self.version is not None and version < self.version:
            report.ignored_stale = True
            report.problems.append(f"stale change (version {version} < {self.version}) ignored")
            return report
        for change in changes:
            if change.start is None or change.end is None:
                self._replace(change.text.encode("utf-8", "surrogatepass"))
                report.applied += 1
                continue
            start, clamped_start = self.offset_at(change.start, encoding)
            end, clamped_end = self.offset_at(change.end, encoding)
            if clamped_start or clamped_end:
                report.clamped += 1
                report.problems.append(
                    f"change range {change.start.line}:{change.start.character}-{change.end.line}:"
                    f"{change.end.character} lies outside the document; clamped"
                )
            if end < start:
                report.problems.append("change range ends before it starts; swapped")
                start, end = end, start
            new = change.text.encode("utf-8", "surrogatepass")
            self._shift_line_starts(start, end, new)
            self.text = self.text[:start] + new + self.text[end:]
            if self.tree is not None:
                try:
                    self.tree.edit(start, end, new)
                except ValueError as exc:  # the tree disagrees with our text: rebuild from the text
                    report.resynced = True
                    report.problems.append(f"tree edit refused ({exc}); re-parsed the full text")
                    self.tree.replace(self.text)
            report.applied += 1
        if version is not None:
            self.version = version
        self.edits += 1
        return report

    def _shift_line_starts(self, start: int, end: int, new: bytes) -> None:
        """Keep the line index in step with an edit (call before the text changes): a keystroke
        then costs a list splice, not a rescan of the whole text. Edits touching a CR could join
        or split a CRLF pair: those rebuild the index lazily instead."""
        starts = self._line_starts
        if starts is None:
            return
        text = self.text
        if (
            b"\r" in new
            or text[max(start - 1, 0) : start] == b"\r"
            or text[end : end + 1] == b"\n"
            and text[end - 1 : end] == b"\r"
        ):
            self._line_starts = None
            return
        lo = bisect.bisect_right(starts, start)
        hi = bisect.bisect_right(starts, end)
        delta = len(new) - (end - start)
        starts[lo:] = [start + m.end() for m in _LINE_BREAK.finditer(new)] + [s + delta for s in starts[hi:]]

    def _replace(self, text: bytes) -> None:
        self.text = text
        self._line_starts = None
        if self.tree is not None:
            self.tree.replace(text)

    def resync(self, text: bytes) -> bool:
        """Make the buffer `text` (didSave with text): True when it had drifted."""
        if text == self.text:
            return False
        self._replace(text)
        self.edits += 1
        return True

    # -- derived data (cached per edit) -------------------------------------------------------

    def symbols(self) -> dict:
        """The core's FileResult for the current text (symbols with UTF-16 and UTF-8 ranges)."""
        cached = self._symbols
        if cached is not None and cached[0] == self.edits:
            return cached[1]
        if self.tree is None:
            result = {"language": None, "symbols": [], "references": [], "has_error": False, "timed_out": False}
        else:
            try:
                result = self.tree.symbols(references=False)
                self._last_good, self.parser_failure = result, None
            except _native.ParserCrashed as exc:
                self.parser_failure = str(exc)
                log.warning("%s: %s; keeping the last good outline", self.uri, exc)
                result = dict(self._last_good or {"language": self.language, "symbols": [], "references": []})
                result.update(parser_failure=self.parser_failure, stale=self._last_good is not None)
        self._symbols = (self.edits, result)
        return result

    def rows(self) -> list[SymbolRow]:
        """The rows the index would store for this text (same symbol_id and embed text)."""
        cached = self._rows
        if cached is not None and cached[0] == self.edits:
            return cached[1]
        rows: list[SymbolRow] = []
        if self.rel is not None and self.tree is not None:
            result = dict(self.symbols())
            result["path"] = self.rel
            rows, _ = file_rows(result, self.text)
        self._rows = (self.edits, rows)
        return rows

    def content_hash(self) -> str:
        cached = self._text_hash
        if cached is not None and cached[0] == self.edits:
            return cached[1]
        digest = _native.hash_bytes(self.text)
        self._text_hash = (self.edits, digest)
        return digest


@dataclass
class _OverlayEntry:
    doc: OpenDocument
    rows: list[SymbolRow]
    freshness: str  # "unsaved" | "pending"


IndexView = Callable[[str], "list[SymbolRecord]"]


class Overlay:
    """The open documents of one editor session, safe to use from the event loop and worker threads."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._docs: dict[str, OpenDocument] = {}
        self._lock = threading.RLock()
        self._generation = 0
        self._active: tuple[tuple, list[_OverlayEntry]] | None = None
        self._names: tuple[tuple, NameTable, list[tuple[SymbolRow, str]]] | None = None
        self._disk: dict[str, tuple[int, int, str]] = {}  # rel -> (size, mtime_ns, hash)
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    # -- documents ----------------------------------------------------------------------------

    def set_root(self, root: Path | None) -> None:
        with self._lock:
            self.root = root
            for doc in self._docs.values():
                doc.rel = self.relative(doc.path)
                doc._rows = None
            self._generation += 1

    def relative(self, path: str | os.PathLike[str] | None) -> str | None:
        return relative_path(self.root, path)

    def open(self, uri: str, path: Path | None, language_id: str, version: int | None, text: str) -> OpenDocument:
        doc = OpenDocument(uri, path, self.relative(path), language_id, version, text.encode("utf-8", "surrogatepass"))
        with self._lock:
            self._docs[uri] = doc
            self._generation += 1
        return doc

    def detach_all(self) -> list[OpenDocument]:
        """Take every open document out (the language server re-homes them when folders change)."""
        with self._lock:
            docs = list(self._docs.values())
            self._docs.clear()
            self._disk.clear()
            self._generation += 1
            return docs

    def adopt(self, doc: OpenDocument) -> None:
        """Take over a document opened elsewhere; its path is made relative to this root."""
        with self._lock:
            doc.rel = self.relative(doc.path)
            doc._rows = None  # rows carry the relative path
            self._docs[doc.uri] = doc
            self._generation += 1

    def change(self, uri: str, version: int | None, changes: Sequence[Change], encoding: str) -> ChangeReport | None:
        """Apply changes to an open document; None when the document is not open."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return None
            report = doc.apply(version, changes, encoding)
            self._generation += 1
            return report

    def saved(self, uri: str, text: str | None) -> bool:
        """didSave: the buffer is now the file. True when text came along and the buffer had drifted."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return False
            drifted = doc.resync(text.encode("utf-8", "surrogatepass")) if text is not None else False
            if doc.rel is not None:
                self._disk.pop(doc.rel, None)
            self._generation += 1
            return drifted

    def close(self, uri: str) -> None:
        with self._lock:
            doc = self._docs.pop(uri, None)
            if doc is not None and doc.rel is not None:
                self._disk.pop(doc.rel, None)
            self._generation += 1

    def get(self, uri: str) -> OpenDocument | None:
        with self._lock:
            return self._docs.get(uri)

    def documents(self) -> list[OpenDocument]:
        with self._lock:
            return list(self._docs.values())

    def symbols(self, uri: str) -> tuple[dict, OpenDocument] | None:
        """(FileResult, document) for an open document, computed under the lock."""
        with self._lock:
            doc = self._docs.get(uri)
            if doc is None:
                return None
            return doc.symbols(), doc

    def disk_changed(self, rel_paths: Iterable[str]) -> None:
        with self._lock:
            for rel in rel_paths:
                self._disk.pop(rel, None)
            self._generation += 1

    # -- which documents override the index ---------------------------------------------------

    def _disk_hash(self, doc: OpenDocument) -> str | None:
        try:
            st = os.stat(doc.path) if doc.path is not None else None
        except OSError:
            return None
        if st is None:
            return None
        known = self._disk.get(doc.rel or "")
        if known is not None and known[:2] == (st.st_size, st.st_mtime_ns):
            return known[2]
        if st.st_size != len(doc.text):
            digest = f"size:{st.st_size}"  # cannot equal a buffer of another length
        else:
            try:
                with open(doc.path, "rb") as fh:
                    digest = _native.hash_bytes(fh.read())
            except OSError:
                return None
        self._disk[doc.rel or ""] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    def active(self, index_symbols: IndexView | None, index_generation: int) -> list[_OverlayEntry]:
        """Open documents inside the root whose symbols differ from the index's rows for their path."""
        with self._lock:
            key = (self._generation, index_generation)
            if self._active is not None and self._active[0] == key:
                return self._active[1]
            entries: list[_OverlayEntry] = []
            for doc in self._docs.values():
                if doc.rel is None or doc.tree is None:
                    continue
                rows = doc.rows()
                if index_symbols is not None and _same_rows(rows, index_symbols(doc.rel)):
                    continue
                unsaved = self._disk_hash(doc) != doc.content_hash()
                entries.append(_OverlayEntry(doc, rows, "unsaved" if unsaved else "pending"))
            self._active = (key, entries)
            return entries

    def overridden_paths(self, index_symbols: IndexView | None, index_generation: int) -> set[str]:
        return {e.doc.rel for e in self.active(index_symbols, index_generation) if e.doc.rel}

    def row(
        self, symbol_id: str, index_symbols: IndexView | None, index_generation: int
    ) -> tuple[SymbolRow, OpenDocument] | None:
        for entry in self.active(index_symbols, index_generation):
            for row in entry.rows:
                if row.symbol_id == symbol_id:
                    return row, entry.doc
        return None

    # -- search -------------------------------------------------------------------------------

    def _name_table(self, entries: list[_OverlayEntry]) -> tuple[NameTable, list[tuple[SymbolRow, str]]]:
        key = tuple((id(e.doc), e.doc.edits, e.freshness) for e in entries)
        with self._lock:
            if self._names is not None and self._names[0] == key:
                return self._names[1], self._names[2]
        flat = [(row, e.freshness) for e in entries for row in e.rows]
        table = NameTable(
            0, [(i, r.name, r.kind, r.language, r.path, r.qualified_name) for i, (r, _) in enumerate(flat)]
        )
        with self._lock:
            self._names = (key, table, flat)
        return table, flat

    def find_symbols(
        self,
        query: str,
        limit: int,
        entries: list[_OverlayEntry],
        *,
        lang: str | None = None,
        path: str | None = None,
        kind: str | None = None,
    ) -> list[SearchResult]:
        """Fuzzy identifier matching over the active documents, scored exactly as the index's
        names are (search.NameTable), so the two lists merge by score."""
        if not entries or limit <= 0:
            return []
        table, flat = self._name_table(entries)
        ranked = table.match(query, limit, lang=lang, kind=kind, path=path)
        return [_result(flat[i][0], score, why, flat[i][1]) for i, score, why in ranked]

    def search(
        self,
        query: str,
        limit: int,
        entries: list[_OverlayEntry],
        *,
        lang: str | None = None,
        path: str | None = None,
        kind: str | None = None,
        embedder: Embedder | None = None,
        query_vector: Callable[[str], np.ndarray] | None = None,
        ranking: RankingOptions | None = None,
    ) -> list[SearchResult]:
        """Hybrid ranking of the active documents' symbols on the Searcher's scale: code-shaped query
        tokens that name a symbol get the exact tier; a word-overlap list and (when an embedder is
        given) a cosine list are fused by reciprocal rank fusion."""
        query = (query or "").strip()
        if not entries or limit <= 0 or not query:
            return []
        glob = compile_glob(path) if path else None
        candidates = [
            (row, e.freshness)
            for e in entries
            for row in e.rows
            if (not lang or row.language == lang.lower())
            and (not kind or row.kind == kind.lower())
            and (glob is None or glob.fullmatch(row.path))
        ]
        if not candidates:
            return []
        tokens = identifier_tokens(query)
        single = is_identifier(query)
        exact = (
            {last_component(query).lower()}
            if single
            else {last_component(t).lower() for t in tokens if looks_like_code(t)}
        )
        terms = list(dict.fromkeys(words(query)))
        meaningful = [t for t in terms if t not in STOPWORDS] or terms

        exact_tier: dict[int, float] = {}
        reasons: dict[int, list[str]] = {}
        lexical: list[tuple[float, int]] = []
        for i, (row, _) in enumerate(candidates):
            if row.name.lower() in exact or row.qualified_name.lower() in exact:
                exact_tier[i] = EXACT_TIER + (0.1 if row.name == last_component(query) else 0.0)
                reasons.setdefault(i, []).append("exact name")
            name_words = set(row.fts_name.split())
            body_words = set(row.fts_text.split()) | set(row.fts_qualified.split()) | set(row.fts_path.split())
            in_name = [t for t in meaningful if t in name_words]
            in_body = [t for t in meaningful if t in body_words and t not in name_words]
            score = 2.0 * len(in_name) + len(in_body)
            if score:
                lexical.append((score, i))
                if in_name:
                    reasons.setdefault(i, []).append("name parts: " + ", ".join(in_name))
                else:
                    reasons.setdefault(i, []).append("words: " + ", ".join(in_body))
        lexical.sort(key=lambda t: (-t[0], t[1]))
        ranked_lists = [([i for _, i in lexical], 1.0)]

        semantic: dict[int, float] = {}
        if embedder is not None and query_vector is not None:
            semantic = self._cosines(query, candidates, embedder, query_vector)
            ranked_lists.append(([i for i, _ in sorted(semantic.items(), key=lambda kv: -kv[1])], 1.0))
        fused = reciprocal_rank_fusion(ranked_lists)
        for i, bonus in exact_tier.items():
            fused[i] = fused.get(i, 0.0) + bonus
        # The index's per-symbol rules (definitions first, test code below, path words), so an
        # unsaved buffer's hit and an indexed one compare on one scale.
        opts = ranking or RankingOptions()
        shape = query_shape(query)
        asked, stems = rule_context(query, meaningful, opts)
        for i in fused:
            row = candidates[i][0]
            factor, notes = rule_factor(
                shape, row.kind, row.path, row.container, None, asked=asked, stems=stems, opts=opts
            )
            # What the user is editing right now is a little more likely to be what they mean (and
            # its pool is fused apart from the index's, so its ranks alone would only tie).
            factor *= OPEN_DOCUMENT_BOOST
            notes.append(f"open document x{OPEN_DOCUMENT_BOOST:g}")
            fused[i] *= factor
            if notes:
                reasons.setdefault(i, []).extend(notes)
        out: list[SearchResult] = []
        for i, score in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]:
            why = list(reasons.get(i, []))
            if i in semantic:
                why.append(f"semantic {semantic[i]:.2f}")
            row, fresh = candidates[i]
            out.append(_result(row, score, "; ".join(why) or "match", fresh))
        return out

    def _cosines(self, query, candidates, embedder, query_vector) -> dict[int, float]:
        model = embedder.model_id
        missing = []
        with self._lock:
            for row, _ in candidates:
                key = (model, row.text_hash)
                if key in self._vectors:
                    self._vectors.move_to_end(key)
                elif len(missing) < OVERLAY_VECTORS_PER_QUERY:
                    missing.append(row)
        if missing:
            try:
                fresh = np.asarray(embedder.embed([r.embed_text for r in missing]), dtype=np.float32)
            except Exception:  # a broken model must not break search: lexical ranking still answers
                log.exception("embedding overlay symbols failed")
                return {}
            with self._lock:
                for row, vec in zip(missing, fresh):
                    self._vectors[(model, row.text_hash)] = vec
                while len(self._vectors) > VECTOR_CACHE:
                    self._vectors.popitem(last=False)
        qv = np.asarray(query_vector(query), dtype=np.float32)
        out: dict[int, float] = {}
        with self._lock:
            for i, (row, _) in enumerate(candidates):
                vec = self._vectors.get((model, row.text_hash))
                if vec is not None:
                    out[i] = float(np.dot(vec, qv))
        return out


def merge_results(
    index_results: Sequence[SearchResult],
    overlay_results: Sequence[SearchResult],
    overridden: set[str],
    limit: int,
) -> list[SearchResult]:
    """Index hits for paths the overlay answers are dropped (they describe text the editor no longer
    shows); the rest merge by the ranking's own number (index hits show a calibrated 0-1 `score`
    beside their `raw_score`; overlay hits have only the raw one), ties keeping index order first.
    An overlay hit then shows the displayed score of the index hit just below it, so the page's
    scores still read from high to low."""
    kept = [r for r in index_results if r.path not in overridden]

    def raw(r: SearchResult) -> float:
        return r.raw_score if r.raw_score is not None else r.score

    merged = [
        t[3]
        for t in sorted(
            [(raw(r), 1, n, r) for n, r in enumerate(kept)]
            + [(raw(r), 0, n, r) for n, r in enumerate(overlay_results)],
            key=lambda t: (-t[0], t[1], t[2]),
        )[:limit]
    ]
    if not kept or len(overlay_results) == 0:
        return merged
    from_overlay = {id(r) for r in overlay_results}
    out: list[SearchResult] = []
    for i, r in enumerate(merged):
        if id(r) in from_overlay:
            below = next((m.score for m in merged[i + 1 :] if id(m) not in from_overlay), None)
            above = next((m.score for m in reversed(out) if id(m) not in from_overlay), None)
            shown = below if below is not None else above
            if shown is not None:
                r = dataclasses.replace(r, score=shown, raw_score=raw(r))
        out.append(r)
    return out


def _same_rows(rows: Sequence[SymbolRow], records: Sequence[Any]) -> bool:
    if len(rows) != len(records):
        return False
    mine = sorted((r.symbol_id, r.text_hash, r.start_line, r.end_line) for r in rows)
    theirs = sorted((r.symbol_id, r.text_hash, r.start_line, r.end_line) for r in records)
    return mine == theirs


def _result(row: SymbolRow, score: float, why: str, freshness: str) -> SearchResult:
    return SearchResult(
        path=row.path,
        name=row.name,
        qualified_name=row.qualified_name,
        kind=row.kind,
        language=row.language,
        start_line=row.start_line,
        end_line=row.end_line,
        score=round(float(score), 6),
        signature=row.signature,
        snippet=row.snippet,
        why=why,
        symbol_id=row.symbol_id,
        freshness=freshness,
    )
