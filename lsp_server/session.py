"""One workspace served by a long-running front end: its index, searcher, embedder and freshness.

Owns the life cycle the language server (and the MCP endpoint it can host) needs around `Index`:
opening it as the writer or, when another process holds the writer lock, as a reader that takes
over when that writer dies; the initial update in a background thread with progress; loading the
embedder after the lexical index is usable (so symbols are searchable before any vector exists);
re-indexing changed files as they are reported (lexical rows at once, vectors by a separate worker);
a `watchfiles` watcher for clients that cannot watch files; and a status snapshot.

Must never: import pygls/lsprotocol (front ends convert), run SQL or touch LanceDB (it calls
`Index`), write to stdout, or let a failure in a background thread end the process: failures become
`status().last_error` and the session keeps serving what it has.
"""

from __future__ import annotations

import inspect
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server.config import Settings

if TYPE_CHECKING:
    from lsp_server.embed import Embedder
    from lsp_server.index import Index, IndexProgress
    from lsp_server.search import Searcher

log = logging.getLogger(__name__)

TAKE_OVER_EVERY_S = 5.0  # a reader retries the writer lock this often
COALESCE_S = 0.02  # file events arriving this close together are indexed in one batch
FULL_UPDATE_MIN_GAP_S = 1.0  # structural changes (new files) rescan at most this often
PROGRESS_MIN_GAP_S = 0.1
SCAN_SHARE = 60  # percent of the progress bar given to scanning when embeddings follow

# States, in the order a writer normally goes through them.
STARTING, INDEXING, EMBEDDING, READY, READER, ERROR, STOPPED = (
    "starting",
    "indexing",
    "embedding",
    "ready",
    "reader",
    "error",
    "stopped",
)

ProgressCallback = Callable[[str, int | None, str], None]  # kind ("begin"|"report"|"end"), percent, message
StatusCallback = Callable[["SessionStatus"], None]


def make_embedder(settings: Settings) -> Embedder | None:
    """The embedder a model setting names: None when embedding is off; "hashing" or "hashing:<dim>"
    picks the weightless HashingEmbedder (tests, fast paths); anything else goes to
    `embed.load_embedder` (the bundled ONNX model or a model folder)."""
    if not settings.embed:
        return None
    from lsp_server import embed

    spec = settings.model
    if spec is not None and str(spec).split(":", 1)[0] == "hashing":
        _, _, dim = str(spec).partition(":")
        return embed.HashingEmbedder(int(dim) if dim else 256)
    return embed.load_embedder(spec, settings.device)


@dataclass
class SessionStatus:
    state: str
    message: str
    role: str  # "writer" | "reader" | "none"
    percentage: int | None
    root: str
    index_dir: str
    files: int = 0
    symbols: int = 0
    vectors: int = 0
    pending: int = 0
    embed_rate: float | None = None  # rows per second of the last sync
    eta_seconds: float | None = None  # until the pending rows have vectors, at that rate
    model_id: str | None = None
    device: str | None = None
    index_bytes: int = 0
    last_error: str | None = None
    watcher: str = "none"  # "client" | "watchfiles" | "none"
    # "path: reason" of files whose parser crashed, hung or ran out of memory (not parsed again
    # until they change), and of open documents whose text killed the document host
    parser_failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _accepts(func: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class WorkspaceSession:
    def __init__(
        self,
        settings: Settings,
        *,
        on_progress: ProgressCallback | None = None,
        on_status: StatusCallback | None = None,
        embedder_factory: Callable[[Settings], Embedder | None] = make_embedder,
        readonly: bool = False,
    ) -> None:
        self.settings = settings
        self.index: Index | None = None
        self.searcher: Searcher | None = None
        self.embedder: Embedder | None = None
        self._on_progress = on_progress
        self._on_status = on_status
        self._embedder_factory = embedder_factory
        self._readonly = readonly
        self._state = STARTING
        self._message = "opening the index"
        self._percentage: int | None = None
        self._error: str | None = None
        self._watcher = "none"
        self._stop = threading.Event()
        self._jobs: queue.Queue[tuple[str, list[str]]] = queue.Queue()
        self._vectors_due = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ready = threading.Event()
        self._last_progress = 0.0
        self._last_full = 0.0
        self._status_lock = threading.Lock()

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._spawn(self._run, "symscope-index")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=self._guarded(target), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception as exc:  # a background failure is a status, never a dead server
                log.exception("%s failed", threading.current_thread().name)
                self._set(ERROR, f"{threading.current_thread().name} failed: {exc}", error=str(exc))

        return run

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel background work, wait for it (bounded) and close the index (releasing the lock)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._vectors_due.set()
        self._jobs.put(("stop", []))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads if t is not threading.current_thread()):
            log.warning("background work still running at shutdown; leaving the index open for it")
        elif self.index is not None:
            try:
                self.index.close()
            except Exception:
                log.exception("closing the index failed")
        self._state, self._message = STOPPED, "stopped"

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the lexical index is usable (or the session settled as a reader / in error)."""
        return self._ready.wait(timeout)

    # -- status -------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def status(self) -> SessionStatus:
        index = self.index
        status = SessionStatus(
            state=self._state,
            message=self._message,
            role="none" if index is None else ("writer" if index.is_writer else "reader"),
            percentage=self._percentage,
            root=str(self.settings.root),
            index_dir=str(self.settings.resolved_index_dir),
            last_error=self._error,
            watcher=self._watcher,
        )
        if index is not None:
            try:
                st = index.status()
                status.files, status.symbols, status.vectors = st.files, st.symbols, st.vectors
                status.pending, status.model_id, status.device = st.pending, st.model_id, st.device
                status.index_bytes = st.index_bytes
                status.embed_rate, status.eta_seconds = st.embed_rate, st.eta_seconds
                status.parser_failures = list(st.parser_failures)
                status.last_error = self._error or st.last_error
            except Exception as exc:  # status must answer even when the store is in trouble
                status.last_error = f"index status unavailable: {exc}"
        return status

    def _set(self, state: str, message: str, *, percentage: int | None = None, error: str | None = None) -> None:
        with self._status_lock:
            changed = (state, message) != (self._state, self._message) or error is not None
            self._state, self._message, self._percentage = state, message, percentage
            if error is not None:
                self._error = error
        if state in (READY, READER, ERROR, EMBEDDING):
            self._ready.set()
        if changed and self._on_status is not None:
            try:
                self._on_status(self.status())
            except Exception:
                log.exception("status callback failed")

    def _progress(self, kind: str, percentage: int | None, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if kind == "report" and not force and now - self._last_progress < PROGRESS_MIN_GAP_S:
            return
        self._last_progress = now
        self._percentage = percentage
        if self._on_progress is not None:
            try:
                self._on_progress(kind, percentage, message)
            except Exception:
                log.exception("progress callback failed")

    # -- the index thread ---------------------------------------------------------------------

    def _run(self) -> None:
        from lsp_server.index import Index
        from lsp_server.search import Searcher

        try:
            self.index = Index.open(self.settings, embedder=None, readonly=self._readonly)
        except Exception as exc:
            log.exception("cannot open the index of %s", self.settings.root)
            self._set(ERROR, f"cannot open the index: {exc}", error=str(exc))
            return
        self.searcher = Searcher(self.index, None)
        if self.index.is_writer:
            self._initial_update()
        else:
            self._set(READER, self._reader_message())
            self._attach_embedder()
        self._job_loop()

    def _reader_message(self) -> str:
        holder = None
        try:
            from lsp_server.index.lock import WriterLock

            holder = WriterLock(self.settings.resolved_index_dir).holder_hint()
        except Exception:
            pass
        return (
            f"reading the index; another process{f' (pid {holder})' if holder else ''} is its writer and keeps it fresh"
        )

    def _initial_update(self) -> None:
        index = self.index
        assert index is not None
        known = index.status().files
        will_embed = self.settings.embed
        scan_share = SCAN_SHARE if will_embed else 100
        self._set(INDEXING, "indexing", percentage=0)
        self._progress("begin", 0, f"scanning {self.settings.root.name}", force=True)

        def on_scan(p: IndexProgress) -> None:
            if p.phase != "scan":
                return
            # The scanner cannot know the file count up front: use the last index's count, or a
            # curve that rises with every file and never reaches the end before the scan does.
            fraction = min(p.done / known, 0.99) if known else p.done / (p.done + 2000)
            pct = int(fraction * scan_share)
            self._percentage = pct
            self._progress("report", pct, f"scanned {p.done} files")

        stats = index.update(progress=on_scan, cancel=self._stop)
        if self._stop.is_set():
            return
        log.info(
            "lexical index of %s: %d files, %d symbols in %.2fs",
            self.settings.root,
            stats.files,
            stats.symbols,
            stats.seconds,
        )
        if stats.errors:
            log.warning("indexing reported %d errors; first: %s", len(stats.errors), stats.errors[0])
        self._last_full = time.monotonic()
        if not will_embed:
            self._progress("end", 100, f"{stats.symbols} symbols in {stats.files} files", force=True)
            self._set(READY, f"{stats.symbols} symbols in {stats.files} files", percentage=100)
            return
        self._set(EMBEDDING, f"{stats.symbols} symbols searchable; loading the embedding model", percentage=scan_share)
        self._progress("report", scan_share, "loading the embedding model", force=True)
        if not self._attach_embedder():
            self._progress("end", 100, f"{stats.symbols} symbols (no semantic search)", force=True)
            self._set(
                READY, f"{stats.symbols} symbols in {stats.files} files; semantic search unavailable", percentage=100
            )
            return
        self._sync_vectors(initial=True, scan_share=scan_share)
        if not self._stop.is_set():
            status = self.status()
            self._progress("end", 100, f"{status.symbols} symbols, {status.vectors} vectors", force=True)
            self._set(READY, f"{status.symbols} symbols in {status.files} files", percentage=100)
        self._spawn(self._vector_loop, "symscope-vectors")

    def _attach_embedder(self) -> bool:
        """Load the embedder and hand it to the index and searcher; False when it cannot load."""
        try:
            embedder = self._embedder_factory(self.settings)
        except Exception as exc:
            log.exception("cannot load the embedding model")
            self._error = f"semantic search unavailable: {exc}"
            return False
        if embedder is None:
            return False
        self.embedder = embedder
        index = self.index
        assert index is not None and self.searcher is not None
        # Index.embedder is read by the sync worker and status(); setting it after a lexical-only
        # start is what lets symbols be searchable before the model has even loaded.
        index.embedder = embedder
        self.searcher.embedder = embedder
        if index.is_writer:
            index.reconcile_vectors()
        return True

    def _sync_vectors(self, *, initial: bool = False, scan_share: int = SCAN_SHARE) -> None:
        index = self.index
        if index is None or not index.is_writer or self.embedder is None:
            return

        from lsp_server.index import format_eta

        def on_embed(p: IndexProgress) -> None:
            if initial and p.phase == "embed" and p.total:
                pct = scan_share + int((100 - scan_share) * min(p.done / p.total, 1.0))
                self._percentage = pct
                left = f", {format_eta(p.eta_seconds)} left" if p.eta_seconds is not None else ""
                self._message = f"embedded {p.done}/{p.total} symbols{left}"
                self._progress("report", pct, f"embedding {p.done}/{p.total} symbols{left}")

        try:
            index.sync_vectors(progress=on_embed, cancel=self._stop)
        except Exception as exc:
            log.exception("embedding failed")
            self._error = f"embedding failed: {exc}"

    def _vector_loop(self) -> None:
        while not self._stop.is_set():
            self._vectors_due.wait()
            self._vectors_due.clear()
            if self._stop.is_set():
                return
            self._sync_vectors()

    # -- file changes -------------------------------------------------------------------------

    def prioritize(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        """Embed these files' pending symbols before the rest (documents an editor opened), and
        start a sync if none is running: their vectors follow within one sync batch."""
        index = self.index
        if index is None or not index.is_writer:
            return
        index.prioritize(paths)
        self._vectors_due.set()

    def files_changed(self, paths: Iterable[str | os.PathLike[str]], *, structural: bool = False) -> None:
        """Files changed on disk (a save, a watcher event): re-index them. `structural` (files
        created or deleted, a branch switch) asks for a rescan instead."""
        items = [str(p) for p in paths]
        if items or structural:
            self._jobs.put(("full" if structural else "files", items))

    def _job_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job = self._jobs.get(timeout=TAKE_OVER_EVERY_S)
            except queue.Empty:
                self._maybe_take_over()
                continue
            if job[0] == "stop":
                return
            time.sleep(COALESCE_S)
            paths: set[str] = set(job[1])
            full = job[0] == "full"
            while True:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more[0] == "stop":
                    return
                full = full or more[0] == "full"
                paths.update(more[1])
            index = self.index
            if index is None:
                continue
            if not index.is_writer and not self._maybe_take_over():
                continue  # the writer process indexes; our overlay covers open buffers meanwhile
            try:
                self._reindex(index, sorted(paths), full)
            except Exception as exc:
                log.exception("re-indexing failed")
                self._error = f"re-indexing failed: {exc}"

    def _reindex(self, index: Index, paths: list[str], full: bool) -> None:
        no_sync = {"sync": False} if _accepts(index.update_files, "sync") else {}
        if full:
            wait = FULL_UPDATE_MIN_GAP_S - (time.monotonic() - self._last_full)
            if wait > 0:
                time.sleep(wait)
            self._last_full = time.monotonic()
            stats = index.update(**({"sync": False} if _accepts(index.update, "sync") else {}))
        else:
            index.prioritize(paths)  # just saved: the person is working on these
            stats = index.update_files(paths, **no_sync)
        if stats.changed or stats.deleted:
            log.info("re-indexed %d changed and %d deleted files in %.3fs", stats.changed, stats.deleted, stats.seconds)
        self._vectors_due.set()

    def _maybe_take_over(self) -> bool:
        index = self.index
        if index is None or index.is_writer or self._readonly or self._stop.is_set():
            return bool(index and index.is_writer)
        try:
            took = index.take_over()
        except Exception as exc:
            log.warning("taking over the index failed: %s", exc)
            return False
        if took:
            log.info("the previous writer of %s is gone: this process is the writer now", self.settings.root)
            self._initial_update()
        return took

    # -- a watcher for clients that cannot watch files ----------------------------------------

    def note_watcher(self, kind: str) -> None:
        self._watcher = kind

    def start_watcher(self) -> None:
        """Watch the root with `watchfiles` (debounced to tens of milliseconds, not its default 1.6 s)."""
        self._watcher = "watchfiles"
        self._spawn(self._watch, "symscope-watch")

    def _watch(self) -> None:
        import watchfiles

        root = self.settings.root
        index_dir = self.settings.resolved_index_dir

        class _Filter(watchfiles.DefaultFilter):
            def __call__(self, change: watchfiles.Change, path: str) -> bool:
                if path.startswith(str(index_dir)):
                    return False
                return super().__call__(change, path)

        for changes in watchfiles.watch(
            root,
            watch_filter=_Filter(),
            debounce=50,
            step=20,
            stop_event=self._stop,
            raise_interrupt=False,
            rust_timeout=1000,
            yield_on_timeout=False,
        ):
            modified = [p for c, p in changes if c == watchfiles.Change.modified]
            added_or_deleted = [p for c, p in changes if c != watchfiles.Change.modified]
            if modified:
                self.files_changed(modified)
            if added_or_deleted:
                # update_files deletes known files that vanished and rescans for unknown ones.
                self.files_changed(added_or_deleted)
            if self._file_listener is not None:
                self._file_listener([Path(p) for _, p in changes])

    _file_listener: Callable[[list[Path]], None] | None = None

    def on_files(self, listener: Callable[[list[Path]], None]) -> None:
        """Called with the paths the watcher saw change (the overlay uses it to re-check disk)."""
        self._file_listener = listener
