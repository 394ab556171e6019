"""The on-disk index of one workspace: SQLite truth + LanceDB projection, kept in step.

Owns `Index`: opening an index directory (writer lock or reader), the write path (scan with the Rust
core, prepare rows outside transactions, one transaction per batch of files), the sync worker that
embeds pending outbox rows through the embedding cache and applies them to LanceDB, reconciliation
(filesystem -> SQLite by size/mtime/hash, SQLite -> LanceDB by symbol_id/text_hash/model_id),
quarantine of unusable stores, and the read API that `search.py` and the front ends use.

Layout of an index directory:
    index.db (+ -wal, -shm)   SQLite, the only source of truth (store.py)
    lance/                    vectors, one table per model (vectors.py)
    write.lock                the single-writer flock (lock.py)
    quarantine/               stores that could not be opened, moved aside, never read again
All of it is private to its owner: dirs 0700, files 0600 (privacy.py).

Must never: write when it is not the writer, build SQL or filters from strings (store.py and
vectors.py bind everything), import onnxruntime (embedders come in through the Embedder protocol),
or let a half-applied change be visible as done (outbox rows are acknowledged only after LanceDB
committed them, and only if nobody re-queued them meanwhile).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lsp_server.config import Settings, cache_root
from lsp_server.index import privacy
from lsp_server.index.lock import WriterLock
from lsp_server.index.records import RECORDS_VERSION, file_rows
from lsp_server.index.store import (
    NewerSchemaError,
    OutboxRow,
    PreparedFile,
    Store,
    StoreError,
    SymbolFilter,
    to_cache_precision,
)
from lsp_server.index.vectors import VectorStore, VectorStoreError

if TYPE_CHECKING:
    from lsp_server.embed import Embedder

__all__ = [
    "Edge",
    "Index",
    "IndexError_",
    "IndexProgress",
    "IndexStatus",
    "IndexUnavailableError",
    "NotWriterError",
    "LexicalCandidates",
    "RefSite",
    "SymbolBrief",
    "SymbolFilter",
    "SymbolRecord",
    "UpdateStats",
    "innermost_at",
]

log = logging.getLogger(__name__)

DB_NAME = "index.db"
LANCE_DIR = "lance"
QUARANTINE_DIR = "quarantine"

# Outbox rows per LanceDB commit. Also how long a newly boosted file (an opened document) waits at
# most for the batch in flight: 256 rows are ~1.5 s of embedding on 2 CPU cores.
SYNC_BATCH = int(os.environ.get("SYMSCOPE_SYNC_BATCH", "256"))
BOOSTED_PATHS_MAX = 64
EMBED_BATCH = int(os.environ.get("SYMSCOPE_EMBED_BATCH", "64"))  # texts per embedder call
# Unused cache entries kept for branch switches and reverts, beyond those current symbols use.
CACHE_KEEP_UNUSED_MIN = 20_000


def format_eta(seconds: float) -> str:
    """`42s`, `3m 05s`, `1h 12m`: a remaining time as people read it."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class IndexError_(Exception):
    """Base of this layer's errors (named so it never shadows the builtin IndexError)."""


class NotWriterError(IndexError_):
    """A write was asked of a process that is not the index's writer."""


class IndexUnavailableError(IndexError_):
    """The index cannot be opened (corrupt and we are not the writer, or from a newer version)."""


@dataclass(frozen=True)
class SymbolRecord:
    symbol_id: str
    path: str  # relative to the root, forward slashes
    language: str
    name: str
    qualified_name: str
    kind: str
    container: str | None
    start_line: int  # 1-based, inclusive
    end_line: int
    signature: str
    doc: str | None
    embed_text: str  # what is embedded: kind, qualified name, signature, doc, body digest
    snippet: str = ""
    text_hash: str = ""
    parent_id: str | None = None
    # 0-based (line, col, end_line, end_col); UTF-16 columns, then UTF-8 byte columns
    range: tuple[int, int, int, int] = (0, 0, 0, 0)
    selection_range: tuple[int, int, int, int] = (0, 0, 0, 0)
    range_utf8: tuple[int, int, int, int] = (0, 0, 0, 0)
    selection_range_utf8: tuple[int, int, int, int] = (0, 0, 0, 0)
    byte_range: tuple[int, int] = (0, 0)

    @classmethod
    def from_row(cls, row: Sequence) -> SymbolRecord:
        (
            sid,
            path,
            language,
            name,
            qualified,
            kind,
            container,
            parent_id,
            start_line,
            end_line,
            ranges,
            signature,
            doc,
            snippet,
            embed_text,
            text_hash,
        ) = row
        r16, sel16, r8, sel8, byte_range = json.loads(ranges)
        return cls(
            symbol_id=sid,
            path=path,
            language=language,
            name=name,
            qualified_name=qualified,
            kind=kind,
            container=container,
            start_line=start_line,
            end_line=end_line,
            signature=signature,
            doc=doc,
            embed_text=embed_text,
            snippet=snippet,
            text_hash=text_hash,
            parent_id=parent_id,
            range=tuple(r16),
            selection_range=tuple(sel16),
            range_utf8=tuple(r8),
            selection_range_utf8=tuple(sel8),
            byte_range=tuple(byte_range),
        )


def innermost_at(records: Iterable[SymbolRecord], line: int) -> SymbolRecord | None:
    """The smallest definition spanning the 1-based `line`, or None; of equal spans the one that
    starts last (records nest, so that is the inner one)."""
    best = None
    for r in sorted(records, key=lambda r: r.start_line):
        if r.start_line <= line <= r.end_line and (
            best is None or r.end_line - r.start_line <= best.end_line - best.start_line
        ):
            best = r
    return best


@dataclass(frozen=True, slots=True)
class SymbolBrief:
    """What ranking reads of a search candidate: one light row (no ranges, no body text), with the
    enclosing symbol's doc and whether the symbol still waits for its vector."""

    rowid: int
    symbol_id: str
    path: str
    language: str
    name: str
    qualified_name: str
    kind: str
    container: str | None
    signature: str
    text_hash: str
    container_doc: str | None
    pending: bool
    start_line: int  # 1-based

    @classmethod
    def from_row(cls, row: Sequence) -> SymbolBrief:
        return cls(*row[:11], bool(row[11]), row[12])


@dataclass(frozen=True)
class LexicalCandidates:
    """One query's lexical lists: exact (matched lowercased string, brief) rows and bm25 (brief,
    bm25, name words, body words) rows, best first."""

    exact: list[tuple[str, SymbolBrief]]
    fts: list[tuple[SymbolBrief, float, str, str]]


@dataclass(frozen=True)
class Edge:
    """One resolved call: `symbol` is the caller (for callers()) or the callee (for callees())."""

    symbol: SymbolRecord
    line: int  # 1-based line of the call
    path: str  # file holding the call
    confidence: float  # 0..1
    how: str  # "same class", "same file", "import", "name only"


@dataclass(frozen=True)
class RefSite:
    """Where a reference is written: a call made inside a symbol, or any mention of a name."""

    path: str  # file holding the reference
    line: int  # 1-based
    col: int  # 0-based UTF-16 column where the callee / import path as written starts
    name: str  # the last identifier of the target
    target: str  # the callee / import path as written (whitespace collapsed)
    kind: str  # "call" | "import"
    from_symbol: str | None  # symbol_id of the innermost enclosing symbol


@dataclass(frozen=True)
class IndexProgress:
    phase: str  # "scan" | "embed" | "done"
    done: int
    total: int | None
    message: str = ""
    eta_seconds: float | None = None  # embed phase: pending rows / this sync's rows per second


@dataclass
class UpdateStats:
    files: int = 0
    changed: int = 0
    deleted: int = 0
    symbols: int = 0
    embedded: int = 0
    reused: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pending: int = 0
    cancelled: bool = False
    # "path: reason" of files whose parser crashed, hung or ran out of memory (skipped until changed)
    parser_failures: list[str] = field(default_factory=list)


@dataclass
class IndexStatus:
    root: str
    index_dir: str
    files: int
    symbols: int
    vectors: int
    pending: int
    model_id: str | None
    device: str | None
    index_bytes: int
    last_error: str | None
    is_writer: bool
    parser_failures: list[str] = field(default_factory=list)
    # Vectors still to come: rows per second of the last sync (the writer records it), and the
    # time the pending rows need at that rate; None when nothing is pending or no rate is known.
    embed_rate: float | None = None
    eta_seconds: float | None = None


@dataclass
class _SyncCounts:
    embedded: int = 0
    reused: int = 0


class Index:
    """One workspace's index. Open with `Index.open(settings)`; close when done (or use `with`)."""

    def __init__(self, settings: Settings, embedder: Embedder | None, readonly: bool) -> None:
        self.settings = settings
        self.root = settings.root
        self.index_dir = settings.resolved_index_dir
        self.embedder = embedder
        # Private (0700 dirs, 0600 files): the index holds copies of the code. See privacy.py.
        privacy.restrict_umask()
        privacy.make_private_dir(self.index_dir, cache_root())
        self._lock = WriterLock(self.index_dir)
        self._readonly = readonly
        self._sync_lock = threading.Lock()
        self._update_lock = threading.Lock()
        # Paths whose pending symbols are embedded next (open documents, files just saved), newest
        # last; `_boost_version` tells a running sync that the order changed.
        self._boost_lock = threading.Lock()
        self._boost_paths: dict[str, None] = {}
        self._boost_version = 0
        self.is_writer = (not readonly) and self._lock.try_acquire()
        try:
            self.store = self._open_store()
            self.vectors = VectorStore(self.index_dir / LANCE_DIR, writable=self.is_writer)
            if self.is_writer:
                self._after_becoming_writer()
        except BaseException:
            self._lock.release()
            raise

    @classmethod
    def open(cls, settings: Settings, *, embedder: Embedder | None = None, readonly: bool = False) -> Index:
        """Open (creating if needed) the index of `settings.root`. Takes the writer lock unless
        `readonly` or another process holds it; `index.is_writer` says which."""
        return cls(settings, embedder, readonly)

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()
        self._lock.release()
        self.is_writer = False

    # -- opening, quarantine, take-over -------------------------------------------------------

    def _open_store(self) -> Store:
        path = self.index_dir / DB_NAME
        try:
            return Store(path, writable=self.is_writer)
        except NewerSchemaError as exc:
            raise IndexUnavailableError(str(exc)) from exc
        except (sqlite3.DatabaseError, StoreError) as exc:
            if not self.is_writer:
                raise IndexUnavailableError(
                    f"index database {path} cannot be opened ({exc}); the index writer rebuilds it "
                    "(run `symscope index` or restart the language server)"
                ) from exc
            moved = self._quarantine_db(path)
            log.error("index database %s could not be opened (%s): moved to %s, rebuilding", path, exc, moved)
            store = Store(path, writable=True)
            store.set_meta(
                "last_error",
                f"quarantined unreadable index database ({exc}) to {moved}; rebuilt from the working tree",
            )
            return store

    def _quarantine_db(self, path: Path) -> Path:
        dest = self.index_dir / QUARANTINE_DIR / f"{DB_NAME}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}"
        dest.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                shutil.move(str(src), str(dest / src.name))
        return dest

    def take_over(self) -> bool:
        """Become the writer if the previous one died (its flock is gone). True if we are now."""
        if self.is_writer:
            return True
        if self._readonly or not self._lock.try_acquire():
            return False
        self.is_writer = True
        self.store.writable = True
        self.vectors.writable = True
        self._after_becoming_writer()
        log.info("took over as index writer for %s", self.root)
        return True

    def _after_becoming_writer(self) -> None:
        privacy.tighten_tree(self.index_dir)  # an index made world-readable before is made private
        self.store.writable = True
        if self.store.get_meta("records_version") != RECORDS_VERSION:
            # Rows were derived by an older recipe: re-derive them all on the next update.
            self.store.force_rescan()
            self.store.set_meta("records_version", RECORDS_VERSION)
        if self.embedder is not None:
            try:
                self.reconcile_vectors()
            except Exception as exc:  # never a crash loop: report, keep serving lexical search
                log.exception("vector reconciliation failed")
                self._record_error(f"vector reconciliation failed: {exc}")

    def _require_writer(self) -> None:
        if not self.is_writer:
            raise NotWriterError(f"another process is the writer of {self.index_dir} (pid {self._lock.holder_hint()})")

    _TRANSIENT_ERRORS = ("embedding failed", "vector reconciliation failed")

    def _clear_transient_error(self) -> None:
        """A successful sync clears an earlier sync failure (not a quarantine notice)."""
        last = self.store.get_meta("last_error")
        if last and last.startswith(self._TRANSIENT_ERRORS):
            self._record_error(None)

    def _record_error(self, message: str | None) -> None:
        if self.is_writer:
            try:
                self.store.set_meta("last_error", message)
            except (sqlite3.Error, StoreError):
                log.exception("could not record last_error")

    # -- write path ---------------------------------------------------------------------------

    def update(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
        *,
        sync: bool = True,
    ) -> UpdateStats:
        """Bring the index up to date with the working tree, then sync vectors (when embedding and
        `sync`; a caller with its own sync thread passes sync=False and calls sync_vectors())."""
        self._require_writer()
        from lsp_server import _native

        started = time.perf_counter()
        stats = UpdateStats()
        with self._update_lock:
            known = self.store.known_files()
            retry = {p for p, (_, _, h) in known.items() if h == "\x00error"}
            scan_known = {p: v for p, v in known.items() if p not in retry}
            scanner = _native.Scanner(
                str(self.root),
                known=scan_known,
                max_file_size=self.settings.max_file_size,
                excludes=list(self.settings.excludes),
            )
            seen: set[str] = set()
            for batch in scanner:
                if cancel is not None and cancel.is_set():
                    scanner.cancel()
                    stats.cancelled = True
                    break
                prepared: list[PreparedFile] = []
                touched: list[tuple[str, int, int]] = []
                vanished: list[str] = []
                for result in batch:
                    path = result["path"]
                    seen.add(path)
                    if result["unchanged"]:
                        old = known.get(path)
                        if old is not None and (old[0], old[1]) != (result["size"], result["mtime_ns"]):
                            touched.append((path, result["size"], result["mtime_ns"]))
                        continue
                    item = self._prepare(result, stats)
                    if item is None:
                        vanished.append(path)
                    else:
                        prepared.append(item)
                self.store.apply_files(prepared, touched, [p for p in vanished if p in known])
                stats.changed += len(prepared)
                stats.deleted += sum(1 for p in vanished if p in known)
                if progress is not None:
                    progress(IndexProgress("scan", len(seen), None, f"{len(seen)} files"))
            if not stats.cancelled:
                gone = [p for p in known if p not in seen]
                if gone:
                    self.store.apply_files([], [], gone)
                    stats.deleted += len(gone)
        stats.files = len(seen)
        if sync and self.embedder is not None and self.settings.embed and not stats.cancelled:
            try:
                counts = self._sync(progress, cancel)
                stats.embedded, stats.reused = counts.embedded, counts.reused
                self._clear_transient_error()
            except Exception as exc:
                log.exception("embedding failed")
                stats.errors.append(f"embedding failed: {exc}")
                self._record_error(f"embedding failed: {exc}")
        self._finish_stats(stats, started)
        if progress is not None:
            progress(IndexProgress("done", stats.files, stats.files))
        return stats

    def update_files(self, paths: Sequence[str | os.PathLike[str]], *, sync: bool = True) -> UpdateStats:
        """Re-index specific files (a watcher event, didSave). Files the index does not know yet
        go through a full `update()`, which applies the ignore rules the scanner owns."""
        self._require_writer()
        from lsp_server import _native

        started = time.perf_counter()
        stats = UpdateStats()
        with self._update_lock:
            known = self.store.known_files()
            not_indexed = self.store.paths_not_indexed()
            prepared: list[PreparedFile] = []
            deleted: list[str] = []
            unknown = False
            for raw in paths:
                rel = self._relative(raw)
                if rel is None:
                    continue
                full = self.root / rel
                if not full.exists() or not self._is_plain_file_inside(full):
                    # The scan never follows links: a file swapped for a link (possibly to outside
                    # the workspace) is gone from the index, never read through the link.
                    if rel in known:
                        deleted.append(rel)
                    continue
                if rel not in known or rel in not_indexed:
                    unknown = True  # new, skipped or errored: the scanner decides what it is
                    continue
                try:
                    data = full.read_bytes()
                    st = full.stat()
                except OSError as exc:
                    stats.errors.append(f"{rel}: {exc}")
                    continue
                if len(data) > self.settings.max_file_size:
                    unknown = True  # let the scanner record the skip reason its own way
                    continue
                old = known[rel]
                if old[2] == _native.hash_bytes(data):
                    continue
                result = _native.extract(rel, data)
                result["size"], result["mtime_ns"] = len(data), st.st_mtime_ns
                result["content_hash"] = _native.hash_bytes(data)
                prepared.append(self._prepared_from(result, data))
            self.store.apply_files(prepared, [], deleted)
            stats.changed, stats.deleted, stats.files = len(prepared), len(deleted), len(known)
        if unknown:
            return self.update(sync=sync)
        if sync and self.embedder is not None and self.settings.embed:
            counts = self._sync(None, None)
            stats.embedded, stats.reused = counts.embedded, counts.reused
        self._finish_stats(stats, started)
        return stats

    def _finish_stats(self, stats: UpdateStats, started: float) -> None:
        files, symbols = self.store.counts()
        stats.symbols = symbols
        stats.skipped = self.store.skip_reasons()
        stats.errors.extend(self.store.file_errors())
        stats.parser_failures = self.store.parser_failures()
        stats.pending = self.store.pending_count()
        stats.seconds = time.perf_counter() - started

    def _is_plain_file_inside(self, full: Path) -> bool:
        """Not a symbolic link, and inside the workspace by real path (a linked parent folder
        could lead elsewhere)."""
        if full.is_symlink():
            return False
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(full)
        return os.path.commonpath([real_root, real]) == real_root

    def _relative(self, raw: str | os.PathLike[str]) -> str | None:
        p = Path(raw)
        if not p.is_absolute():
            p = self.root / p
        try:
            rel = Path(os.path.abspath(p)).relative_to(self.root)
        except ValueError:
            return None
        return rel.as_posix()

    def _prepare(self, result: dict, stats: UpdateStats) -> PreparedFile | None:
        """The rows of one changed file, or None when it vanished since the scan."""
        from lsp_server import _native

        path = result["path"]
        if result.get("error"):
            return _error_file(result, result["error"])
        if result.get("skipped"):
            return _skipped_file(result)
        full = self.root / path
        try:
            with open(full, "rb") as fh:
                data = fh.read()
                st = os.fstat(fh.fileno())
        except FileNotFoundError:
            return None
        except OSError as exc:
            return _error_file(result, str(exc))
        if _native.hash_bytes(data) != result["content_hash"]:
            # Changed between the scan and our read: parse what we read, so rows match bytes.
            language = result.get("language")
            result = _native.extract(path, data, language) if language else _native.extract(path, data)
            result["size"], result["mtime_ns"] = len(data), st.st_mtime_ns
            result["content_hash"] = _native.hash_bytes(data)
            if result.get("skipped"):
                return _skipped_file(result)
        return self._prepared_from(result, data)

    def _prepared_from(self, result: dict, data: bytes | None) -> PreparedFile:
        if result.get("skipped"):
            return _skipped_file(result)
        symbols, refs = file_rows(result, data)
        return PreparedFile(
            path=result["path"],
            size=result["size"],
            mtime_ns=result["mtime_ns"],
            content_hash=result["content_hash"],
            language=result.get("language"),
            state="indexed",
            reason="parse timed out" if result.get("timed_out") else None,
            has_error=bool(result.get("has_error")),
            timed_out=bool(result.get("timed_out")),
            symbols=symbols,
            refs=refs,
        )

    def apply_results(self, results: Sequence[dict], data: dict[str, bytes] | None = None) -> None:
        """Write already-parsed FileResults (tests, tools that parse elsewhere). `data` maps
        paths to their bytes for body digests and snippets."""
        self._require_writer()
        with self._update_lock:
            self.store.apply_files([self._prepared_from(r, (data or {}).get(r["path"])) for r in results])

    def remove_files(self, paths: Sequence[str]) -> None:
        self._require_writer()
        with self._update_lock:
            self.store.apply_files([], [], list(paths))

    # -- vectors: sync worker and reconciliation ----------------------------------------------

    def prioritize(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Embed the pending symbols of these files (absolute, or relative to the root) first.

        For what a person is looking at: open documents and files just saved. A sync already
        running picks the new order up at its next batch. The most recent BOOSTED_PATHS_MAX paths
        are kept; paths outside the workspace are ignored.
        """
        relative = [rel for rel in map(self._relative, paths) if rel is not None]
        with self._boost_lock:
            for path in relative:
                self._boost_paths.pop(path, None)
                self._boost_paths[path] = None
            while len(self._boost_paths) > BOOSTED_PATHS_MAX:
                del self._boost_paths[next(iter(self._boost_paths))]
            self._boost_version += 1

    def _boost_state(self) -> tuple[int, list[str]]:
        with self._boost_lock:
            return self._boost_version, list(self._boost_paths)

    def sync_vectors(
        self,
        progress: Callable[[IndexProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Embed pending outbox rows (through the cache) and apply them to LanceDB; returns how
        many texts were embedded."""
        return self._sync(progress, cancel).embedded

    def _sync(self, progress, cancel) -> _SyncCounts:
        self._require_writer()
        counts = _SyncCounts()
        embedder = self.embedder
        if embedder is None:
            return counts
        model, dim = embedder.model_id, int(embedder.dim)
        with self._sync_lock:
            total = self.store.pending_count()
            if total:
                self.store.advance_cache_tick()
            done = 0
            after: tuple[int, int, str] = (-1, -1, "")
            order_seen = -1
            started = time.monotonic()
            try:
                while total:
                    if cancel is not None and cancel.is_set():
                        break
                    order, boosted = self._boost_state()
                    if order != order_seen:
                        # A newly boosted path may sort before the cursor: read from the top again.
                        after, order_seen = (-1, -1, ""), order
                    rows = self.store.pending(SYNC_BATCH, after, boosted)
                    if not rows:
                        break
                    after = rows[-1].cursor
                    self._sync_batch(rows, model, dim, counts, cancel)
                    done += len(rows)
                    rate = done / max(time.monotonic() - started, 1e-6)
                    self.store.set_meta("embed_rate", f"{rate:.3f}")
                    if progress is not None:
                        eta = max(total - done, 0) / rate
                        progress(
                            IndexProgress(
                                "embed", done, total, f"{counts.embedded} embedded, {format_eta(eta)} left", eta
                            )
                        )
            except VectorStoreError as exc:
                self._handle_broken_table(model, exc)
                raise
            self.vectors.maintain(model)
            device = str(getattr(embedder, "device", "") or "")
            if device and self.store.get_meta("device") != device:
                self.store.set_meta("device", device)
            if self.store.pending_count() == 0 and not (cancel is not None and cancel.is_set()):
                if self.store.get_meta("model_id") != model:
                    self.store.set_meta("model_id", model)
                    dropped = self.vectors.drop_other_models(model)
                    if dropped:
                        log.info("model %s complete; dropped older vector tables %s", model, dropped)
                if counts.embedded:  # only new entries can push the cache over its bound
                    self.store.gc_cache(max(CACHE_KEEP_UNUSED_MIN, self.store.counts()[1]))
        return counts

    def _sync_batch(self, rows: list[OutboxRow], model: str, dim: int, counts: _SyncCounts, cancel) -> None:
        upserts = [r for r in rows if r.op == "upsert"]
        deletes = [r.symbol_id for r in rows if r.op == "delete"]
        inputs = self.store.embed_inputs([r.symbol_id for r in upserts])
        # A row whose symbol changed or vanished since it was queued was re-queued in the same
        # transaction; skip it here (its ack below fails on the seq check and it stays pending).
        live = [(r, inputs[r.symbol_id][1]) for r in upserts if inputs.get(r.symbol_id, ("",))[0] == r.text_hash]
        needed = {r.text_hash: text for r, text in live}
        vectors = self.store.cached_vectors(model, needed, dim)
        missing = [h for h in needed if h not in vectors]
        if missing:
            # Vectors LanceDB still holds (e.g. after the SQLite store was rebuilt) are not re-embedded.
            harvested = self.vectors.vectors_by_hash(model, missing)
            if harvested:
                self.store.put_vectors(model, harvested)
                vectors.update(harvested)
                missing = [h for h in missing if h not in harvested]
        # Every live row that did not need its own trip through the model (cache, LanceDB, or a
        # duplicate text in this batch) counts as reused.
        reused = len(live) - len(missing)
        for start in range(0, len(missing), EMBED_BATCH):
            if cancel is not None and cancel.is_set():
                return  # nothing acknowledged: the whole batch replays next time
            chunk = missing[start : start + EMBED_BATCH]
            embedded = np.asarray(self.embedder.embed([needed[h] for h in chunk]), dtype=np.float32)
            if embedded.shape != (len(chunk), dim):
                raise IndexError_(f"embedder returned shape {embedded.shape}, expected {(len(chunk), dim)}")
            # LanceDB gets the cache's precision too, so rebuilding it from the cache changes nothing.
            fresh = dict(zip(chunk, to_cache_precision(embedded)))
            # The cache commits before LanceDB is touched: a crash after this re-embeds nothing.
            self.store.put_vectors(model, fresh)
            vectors.update(fresh)
            counts.embedded += len(chunk)
        counts.reused += max(reused, 0)
        self.vectors.apply(
            model, dim, [(r.symbol_id, r.text_hash, vectors[r.text_hash], text) for r, text in live], deletes
        )
        self.store.ack(rows)
        fresh_hashes = set(missing)
        if len(needed) > len(fresh_hashes):
            self.store.touch_cache(model, [h for h in needed if h not in fresh_hashes])

    def _handle_broken_table(self, model: str, exc: Exception) -> None:
        moved = self.vectors.quarantine(model, self.index_dir / QUARANTINE_DIR)
        message = f"vector table unusable ({exc}); moved to {moved}; rebuilding from the index database"
        log.error(message)
        self._record_error(message)
        self.reconcile_vectors()

    def reconcile_vectors(self) -> int:
        """Compare LanceDB with SQLite for the current model and queue whatever differs (missing,
        stale, extra or duplicated rows). Returns how many repairs were queued."""
        self._require_writer()
        if self.embedder is None:
            return 0
        model = self.embedder.model_id
        try:
            projected, duplicates = self.vectors.snapshot(model)
        except VectorStoreError as exc:
            moved = self.vectors.quarantine(model, self.index_dir / QUARANTINE_DIR)
            self._record_error(f"vector table unusable ({exc}); moved to {moved}; rebuilt from the index database")
            projected, duplicates = {}, set()
        truth = self.store.symbol_hashes()
        if duplicates:
            self.vectors.delete_all_copies(model, sorted(duplicates))
            for sid in duplicates:
                projected.pop(sid, None)
        # Rows already queued with the same content need no new entry.
        queued = self.store.pending_map()
        upserts = [(sid, h) for sid, h in truth.items() if projected.get(sid) != h and queued.get(sid) != ("upsert", h)]
        deletes = [sid for sid in projected if sid not in truth and queued.get(sid, ("",))[0] != "delete"]
        if upserts or deletes:
            queued = self.store.enqueue(upserts, deletes)
            log.info("reconciliation queued %d upserts and %d deletes for %s", len(upserts), len(deletes), model)
            return queued
        return 0

    # -- reading ------------------------------------------------------------------------------

    def generation(self) -> int:
        return self.store.generation()

    def status(self) -> IndexStatus:
        files, symbols = self.store.counts()
        model = self.embedder.model_id if self.embedder is not None else self.store.get_meta("model_id")
        try:
            vectors = self.vectors.count(model) if model else 0
        except VectorStoreError:
            vectors = 0
        pending = self.store.pending_count()
        try:
            rate = float(self.store.get_meta("embed_rate") or 0) or None
        except ValueError:
            rate = None
        return IndexStatus(
            root=str(self.root),
            index_dir=str(self.index_dir),
            files=files,
            symbols=symbols,
            vectors=vectors,
            pending=pending,
            model_id=model,
            device=getattr(self.embedder, "device", None)
            if self.embedder is not None
            else self.store.get_meta("device"),
            index_bytes=self.store.bytes_on_disk() + self.vectors.bytes_on_disk(),
            last_error=self.store.get_meta("last_error"),
            is_writer=self.is_writer,
            parser_failures=self.store.parser_failures(),
            embed_rate=rate,
            eta_seconds=round(pending / rate, 1) if pending and rate else None,
        )

    def is_empty(self) -> bool:
        """True before the first update wrote anything (no file, not even a skipped one)."""
        return not self.store.has_files()

    def get_symbol(self, symbol_id: str) -> SymbolRecord | None:
        row = self.store.symbols_by_id([symbol_id]).get(symbol_id)
        return SymbolRecord.from_row(row) if row else None

    def get_symbols(self, symbol_ids: Sequence[str]) -> dict[str, SymbolRecord]:
        return {sid: SymbolRecord.from_row(row) for sid, row in self.store.symbols_by_id(symbol_ids).items()}

    def symbols_by_rowid(self, rowids: Sequence[int]) -> dict[int, SymbolRecord]:
        return {rid: SymbolRecord.from_row(row) for rid, row in self.store.symbols_by_rowid(rowids).items()}

    def stored_vector(self, record: SymbolRecord, model_id: str, dim: int) -> np.ndarray | None:
        """The vector the index holds for a symbol's embedded text (from the embedding cache)."""
        return self.store.cached_vectors(model_id, [record.text_hash], dim).get(record.text_hash)

    def text_searchable_paths(self) -> list[str]:
        """The files exact text search may read: those the scan took, under its ignore rules."""
        return self.store.text_searchable_paths()

    def symbols_in_file(self, rel_path: str) -> list[SymbolRecord]:
        return [SymbolRecord.from_row(row) for row in self.store.symbols_in_file(rel_path)]

    def iter_symbols(self) -> Iterator[SymbolRecord]:
        for row in self.store.iter_symbols():
            yield SymbolRecord.from_row(row)

    def pending_ids(self, symbol_ids: Sequence[str]) -> set[str]:
        return self.store.pending_ids(symbol_ids)

    # -- call graph (resolved by name at query time: same class > same file > import > name) ----

    def callees(self, symbol_id: str, limit: int = 20) -> list[Edge]:
        sym = self.get_symbol(symbol_id)
        if sym is None:
            return []
        imports = self.store.imports_in(sym.path)
        edges: dict[str, Edge] = {}
        seen_names: set[str] = set()
        for name, target, path, line in self.store.refs_from(symbol_id, 200):
            if name in seen_names:
                continue
            seen_names.add(name)
            candidates = [SymbolRecord.from_row(r) for r in self.store.definitions_named(name, 50)]
            for cand, confidence, how in _resolve(candidates, sym, target, imports):
                if cand.symbol_id == symbol_id:
                    continue
                edge = Edge(cand, line, path, confidence, how)
                if cand.symbol_id not in edges or edges[cand.symbol_id].confidence < confidence:
                    edges[cand.symbol_id] = edge
        return sorted(edges.values(), key=lambda e: (-e.confidence, e.line))[:limit]

    def callers(self, symbol_id: str, limit: int = 20) -> list[Edge]:
        sym = self.get_symbol(symbol_id)
        if sym is None:
            return []
        same_named = len(self.store.definitions_named(sym.name, 50)) or 1
        calls = self.store.refs_to(sym.name, 1000)
        callers = self.get_symbols(list({c[0] for c in calls if c[0]}))
        imports_cache: dict[str, list[tuple[str, str]]] = {}
        edges: dict[str, Edge] = {}
        for from_symbol, target, path, line in calls:
            caller = callers.get(from_symbol) if from_symbol else None
            if caller is None or caller.symbol_id == symbol_id:
                continue
            if path not in imports_cache:
                imports_cache[path] = self.store.imports_in(path)
            confidence, how = _confidence(sym, caller, target, imports_cache[path], same_named)
            if from_symbol not in edges or edges[from_symbol].confidence < confidence:
                edges[from_symbol] = Edge(caller, line, path, confidence, how)
        return sorted(edges.values(), key=lambda e: (-e.confidence, e.path, e.line))[:limit]

    def call_sites(self, symbol_id: str, limit: int = 200) -> list[RefSite]:
        """The calls made inside a symbol, in line order (the positions behind callees())."""
        return [
            RefSite(path, line, col, name, target, kind, symbol_id)
            for name, target, kind, path, line, col in self.store.ref_sites_from(symbol_id, limit)
        ]

    def mentions(self, name: str, limit: int = 200) -> list[RefSite]:
        """Every call or import of `name` anywhere, by name only (no resolution), by path and line."""
        return [
            RefSite(path, line, col, name, target, kind, from_symbol)
            for from_symbol, target, kind, path, line, col in self.store.ref_sites_named(name, limit)
        ]

    def definitions(self, name: str, limit: int = 50) -> list[SymbolRecord]:
        return [SymbolRecord.from_row(r) for r in self.store.definitions_named(name, limit)]

    def resolve_call(self, name: str, target: str, path: str, container: str | None, limit: int = 5):
        """What a call to `target` written in `path` (inside `container`) may mean: (definition,
        confidence, how) by the same rule as callees(), best first."""
        caller = _Site(path, container)
        ranked = _resolve(self.definitions(name), caller, target, self.store.imports_in(path))  # type: ignore[arg-type]
        return sorted(ranked, key=lambda r: -r[1])[:limit]

    # -- search primitives (search.py composes these) -----------------------------------------

    def lexical(self, terms: Sequence[str], flt: SymbolFilter, limit: int) -> list[tuple[int, float]]:
        return self.store.fts_search(terms, flt, limit)

    def exact(self, names: Sequence[str], qualified: Sequence[str], flt: SymbolFilter, limit: int):
        return self.store.exact_names(names, qualified, flt, limit)

    def symbol_ids_for_rowids(self, rowids: Sequence[int]) -> dict[int, str]:
        return self.store.symbol_ids_for_rowids(rowids)

    def lexical_words(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        return self.store.fts_words(rowids)

    def lexical_candidates(
        self, terms: Sequence[str], names: Sequence[str], qualified: Sequence[str], flt: SymbolFilter, limit: int
    ) -> LexicalCandidates:
        """`exact` and `lexical` of one query in one call and one snapshot, each hit with the
        features ranking needs (a SymbolBrief) and, for bm25 hits, the words it was matched on."""
        exact, fts = self.store.lexical_candidates(terms, names, qualified, flt, limit)
        return LexicalCandidates(
            exact=[(row[0], SymbolBrief.from_row(row[1:])) for row in exact],
            fts=[(SymbolBrief.from_row(row[3:]), row[0], row[1], row[2]) for row in fts],
        )

    def briefs(self, symbol_ids: Sequence[str]) -> dict[str, SymbolBrief]:
        """symbol_id -> SymbolBrief for the ids that exist (e.g. vector hits, in one statement)."""
        return {sid: SymbolBrief.from_row(row) for sid, row in self.store.briefs(symbol_ids).items()}

    def name_table(self) -> tuple[int, list[tuple]]:
        return self.store.name_table()

    def vector_search(self, vector: np.ndarray, model_id: str, k: int, flt: SymbolFilter) -> list[tuple[str, float]]:
        """(symbol_id, cosine) from the model's table; filters become an exact scan over the
        matching ids when few match, else an over-fetch checked against SQLite."""
        from lsp_server.index.vectors import PREFILTER_MAX_IDS

        if flt:
            ids = self.store.filtered_ids(flt, PREFILTER_MAX_IDS + 1)
            if len(ids) <= PREFILTER_MAX_IDS:
                return self.vectors.search(model_id, vector, k, ids)
            hits = self.vectors.search(model_id, vector, k * 8)
            allowed = set(self.store.filtered_ids_among(flt, [sid for sid, _ in hits]))
            return [(sid, s) for sid, s in hits if sid in allowed][:k]
        return self.vectors.search(model_id, vector, k)

    def vectors_ready(self, model_id: str) -> bool:
        return self.vectors.has_rows(model_id)


@dataclass(frozen=True)
class _Site:
    """The part of a caller that _resolve reads."""

    path: str
    container: str | None


def _resolve(candidates: list[SymbolRecord], caller: SymbolRecord, target: str, imports):
    """Rank definitions a call by name may mean, with a confidence for each."""
    if not candidates:
        return []
    if target.startswith(("self.", "this.", "cls.", "Self::")) and caller.container:
        same_class = [c for c in candidates if c.container == caller.container and c.path == caller.path]
        if same_class:
            return [(c, 0.95, "same class") for c in same_class]
    same_file = [c for c in candidates if c.path == caller.path]
    if same_file:
        return [(c, 0.9, "same file") for c in same_file]
    imported = [c for c in candidates if _imported(c, imports)]
    if imported:
        return [(c, 0.7 / len(imported) ** 0.5, "import") for c in imported]
    return [(c, 0.5 / len(candidates), "name only") for c in candidates[:5]]


def _confidence(callee: SymbolRecord, caller: SymbolRecord, target: str, imports, same_named: int):
    if (
        target.startswith(("self.", "this.", "cls.", "Self::"))
        and caller.container == callee.container
        and caller.path == callee.path
    ):
        return 0.95, "same class"
    if caller.path == callee.path:
        return 0.9, "same file"
    if _imported(callee, imports):
        return 0.7, "import"
    return 0.5 / same_named, "name only"


def _imported(candidate: SymbolRecord, imports: list[tuple[str, str]]) -> bool:
    module = candidate.path.rsplit(".", 1)[0]
    for name, target in imports:
        if name == candidate.name:
            return True
        dotted = target.replace("::", "/").replace(".", "/").strip("/")
        if dotted and (module.endswith(dotted) or dotted.endswith(module.rsplit("/", 1)[-1])):
            return True
    return False


def _skipped_file(result: dict) -> PreparedFile:
    return PreparedFile(
        path=result["path"],
        size=result["size"],
        mtime_ns=result["mtime_ns"],
        content_hash=result.get("content_hash") or "",
        language=result.get("language"),
        state="skipped",
        reason=result.get("skipped") or "skipped",
        has_error=False,
        timed_out=False,
        symbols=[],
        refs=[],
    )


def _error_file(result: dict, message: str) -> PreparedFile:
    # The hash marker keeps errored files out of the scanner's `known`, so they are retried.
    return PreparedFile(
        path=result["path"],
        size=result.get("size") or 0,
        mtime_ns=result.get("mtime_ns") or 0,
        content_hash="\x00error",
        language=result.get("language"),
        state="error",
        reason=message,
        has_error=False,
        timed_out=False,
        symbols=[],
        refs=[],
    )
