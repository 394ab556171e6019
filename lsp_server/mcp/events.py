"""What the MCP server tells clients beyond answers: log notifications (`logging/setLevel`,
`notifications/message` for each index's state changes and the server's warnings and errors) and
progress (`notifications/progress` while a tool call waits for the first index).

Owns `ServerEvents` (who asked for which level, rate limiting, what each session last said), the
forwarder from the `lsp_server.*` loggers, and waiting for the first index with progress.

Must never: send a notification to a client that did not ask for it by level, write to stdout
(log notifications are protocol frames on the client's own channel), block the thread that
logged, or send a traceback to a client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.types import EmptyResult, SetLevelRequestParams

if TYPE_CHECKING:
    from lsp_server.mcp.roots import RootSet
    from lsp_server.session import SessionStatus, WorkspaceSession

log = logging.getLogger(__name__)

# A call made while the first index runs answers at once with index_note; one whose client sent a
# progressToken (so it hears that the call is alive) waits for the index this long at most.
INDEX_WAIT_S = 30.0
INDEX_WAIT_POLL_S = 0.1
# MCP log levels, least severe first (RFC 5424 names, as the spec lists them).
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
LOG_BURST, LOG_WINDOW_S = 20, 10.0  # at most this many log notifications per window; the rest are counted
LOG_TEXT_MAX = 2000

ProgressReport = Callable[[float, float | None, str], None]


def _status_note(status: SessionStatus) -> tuple[str, str] | None:
    """(level, text) worth telling an agent about a session state, or None."""
    state = status.state
    if state == "indexing":
        return "info", f"indexing {status.root} started: answers may be incomplete until it finishes"
    if state in ("embedding", "reader"):
        return "info", status.message
    if state == "ready":
        return "info", f"index ready: {status.message}"
    if state == "error":
        return "error", f"index error: {status.last_error or status.message}"
    return None


class ServerEvents:
    """What happens in the background that an agent may want to hear about, and who asked.

    Clients that send `logging/setLevel` (handshake-era protocol versions; 2026-07-28 dropped the
    method) get `notifications/message` at or above their level, on their connection's own
    channel (a stdio client: protocol frames on stdout; HTTP: the session's GET stream). Sent are
    each session's state changes (indexing started, index ready, embedding, errors), passed in
    through `session_status` (with several roots, led by the root's name), and the `lsp_server.*`
    loggers' warnings and errors (`LogForwarder`); nothing before a client sets a level, and at
    most LOG_BURST per LOG_WINDOW_S (the count of what was held back rides on the next message).
    `session_progress` (one root) or `progress_callback(name)` (several) keep each first index's
    latest percentage for calls that wait on it (`await_index`).

    Log records arrive on any thread; each send is handed to the event loop of the connection that
    asked (captured in `set_level`) and never awaited by the thread that logged.
    """

    def __init__(self) -> None:
        # (root name, session) of every root kept fresh by a session, set by create_server
        self.sessions: list[tuple[str, WorkspaceSession]] = []
        self._lock = threading.Lock()
        # connection -> (lowest level index sent, its event loop); entries die with the connection
        self._clients: weakref.WeakKeyDictionary[Any, tuple[int, asyncio.AbstractEventLoop]] = (
            weakref.WeakKeyDictionary()
        )
        self._progress: dict[str, tuple[int | None, str]] = {}  # root name ("" with one root) -> latest
        self._last_status: dict[str, tuple[str, str]] = {}  # root path -> (state, message) last published
        self._window_start = 0.0
        self._window_sent = 0
        self._held_back = 0

    # -- fed by the session (WorkspaceSession's on_progress / on_status callbacks) ------------------

    def session_progress(self, kind: str, percentage: int | None, message: str) -> None:
        self._progress[""] = (percentage, message)

    def progress_callback(self, name: str) -> Callable[[str, int | None, str], None]:
        """An on_progress callback for the session of the root called `name` (several roots)."""

        def on_progress(kind: str, percentage: int | None, message: str) -> None:
            self._progress[name] = (percentage, message)

        return on_progress

    def session_status(self, status: SessionStatus) -> None:
        key = (status.state, status.message)
        if self._last_status.get(status.root) == key:
            return
        self._last_status[status.root] = key
        note = _status_note(status)
        if note is None:
            return
        level, text = note
        if len(self.sessions) > 1:  # say which root, by the name its paths carry
            name = next((n for n, s in self.sessions if str(s.settings.root) == status.root), None)
            text = f"{name}: {text}" if name else text
        self.publish(level, text)

    def progress_of(self, name: str = "") -> tuple[int | None, str]:
        """(percentage or None, message) of a root's index run in progress, as its session last
        said (`name` "": the one session of a single root)."""
        return self._progress.get(name) or self._progress.get("") or (None, "")

    # -- clients ----------------------------------------------------------------------------------

    async def set_level(self, ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        """The `logging/setLevel` handler: remember the level for this connection, then tell the
        client where the index stands (so an agent that connects mid-index hears about it)."""
        # The SDK keeps the connection (the handle that outlives this request) on the per-request
        # session; `Connection.notify` is its documented best-effort channel for notifications.
        connection = getattr(ctx.session, "_connection", None)
        if connection is None or not hasattr(connection, "notify"):
            log.debug("logging/setLevel: this SDK exposes no connection to notify; level ignored")
            return EmptyResult()
        rank = LOG_LEVELS.index(params.level)
        with self._lock:
            known = connection in self._clients
            self._clients[connection] = (rank, asyncio.get_running_loop())
        stack = getattr(connection, "exit_stack", None)
        if not known and stack is not None:
            stack.callback(self._forget, connection)
        for level, text in await anyio.to_thread.run_sync(self._current_notes):
            if LOG_LEVELS.index(level) >= rank:
                await connection.notify("notifications/message", {"level": level, "logger": "symscope", "data": text})
        return EmptyResult()

    def _forget(self, connection: Any) -> None:
        with self._lock:
            self._clients.pop(connection, None)

    def _current_notes(self) -> list[tuple[str, str]]:
        """Where each session stands, one note per root (a root's name leads when there are several)."""
        notes = []
        several = len(self.sessions) > 1
        for name, session in self.sessions:
            if session.state in ("starting", "indexing"):
                pct = self.progress_of(name if several else "")[0]
                note = (
                    "info",
                    "indexing in progress"
                    + (f" ({pct}%)" if pct is not None else "")
                    + (": answers may be incomplete until it finishes"),
                )
            else:
                note = _status_note(session.status())
            if note is not None:
                notes.append((note[0], f"{name}: {note[1]}" if several else note[1]))
        return notes

    def publish(self, level: str, text: str, logger: str = "symscope") -> None:
        """Send one log message to every client whose level admits it (from any thread)."""
        rank = LOG_LEVELS.index(level)
        with self._lock:
            targets = [(conn, loop) for conn, (lowest, loop) in self._clients.items() if rank >= lowest]
            if not targets:
                return
            now = time.monotonic()
            if now - self._window_start > LOG_WINDOW_S:
                self._window_start, self._window_sent = now, 0
            if self._window_sent >= LOG_BURST:
                self._held_back += 1
                return
            self._window_sent += 1
            if self._held_back:
                text += f" ({self._held_back} earlier log messages were not sent: too many at once; see the server's stderr)"
                self._held_back = 0
        if len(text) > LOG_TEXT_MAX:
            text = text[:LOG_TEXT_MAX] + "…"
        params = {"level": level, "logger": logger, "data": text}
        for connection, loop in targets:
            coro = connection.notify("notifications/message", params)
            try:
                asyncio.run_coroutine_threadsafe(coro, loop)
            except RuntimeError:  # that connection's loop is closed: it is gone
                coro.close()
                self._forget(connection)


class LogForwarder(logging.Handler):
    """Warnings and errors of the `lsp_server.*` loggers, to the clients of every live server
    (what reaches stderr still does: this handler only adds a copy). The message text only, with
    the exception's type and message but never a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.targets: weakref.WeakSet[ServerEvents] = weakref.WeakSet()
        self._inside = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._inside, "busy", False):  # something logged while forwarding: never loop
            return
        self._inside.busy = True
        try:
            text = record.getMessage()
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None:
                text += f": {type(exc).__name__}: {exc}"
            level = (
                "critical"
                if record.levelno >= logging.CRITICAL
                else "error"
                if record.levelno >= logging.ERROR
                else "warning"
            )
            name = "symscope" + record.name.removeprefix("lsp_server")
            for events in list(self.targets):
                events.publish(level, text, logger=name)
        except Exception:  # a log handler must never raise into the code that logged
            pass
        finally:
            self._inside.busy = False


_FORWARDER = LogForwarder()


def forward_logs_to(events: ServerEvents) -> None:
    logger = logging.getLogger("lsp_server")
    if _FORWARDER not in logger.handlers:
        logger.addHandler(_FORWARDER)
    _FORWARDER.targets.add(events)


def progress_reporter(ctx: Context | None) -> ProgressReport | None:
    """A function that sends notifications/progress for this tool call from its worker thread, or
    None when the client sent no progressToken (it would hear nothing, so it should not wait)."""
    if ctx is None:
        return None
    try:
        meta = ctx.request_context.meta or {}
    except ValueError:  # no request (a direct call in a test)
        return None
    if meta.get("progress_token") is None:
        return None

    def report(progress: float, total: float | None, message: str) -> None:
        try:
            anyio.from_thread.run(ctx.report_progress, progress, total, message)
        except Exception:
            log.debug("progress notification not sent", exc_info=True)

    return report


def await_index(roots: RootSet, events: ServerEvents | None, report: ProgressReport | None) -> None:
    """While a first index (or a writer take-over's re-index) runs, wait for it, at most
    INDEX_WAIT_S, sending progress through `report`. Without `report` (the client sent no
    progressToken) return at once: the answer then carries index_note. With several roots the
    progress is that of the least advanced root still indexing."""
    if report is None or not roots.indexing():
        return
    deadline = time.monotonic() + INDEX_WAIT_S
    sent = -1.0  # progress must increase with every notification
    while roots.indexing() and time.monotonic() < deadline:
        percentage, message = _least_advanced(roots, events)
        value = float(min(max(percentage or 0, 0), 99))
        if value > sent:
            report(value, 100.0, f"waiting for the index: {message or 'indexing'}")
            sent = value
        time.sleep(INDEX_WAIT_POLL_S)
    if not roots.indexing():
        report(100.0, 100.0, "index ready")


def _least_advanced(roots: RootSet, events: ServerEvents | None) -> tuple[int | None, str]:
    if events is None:
        return None, ""
    if not roots.several:
        return events.progress_of()
    running = [(events.progress_of(root.name), root.name) for root in roots.roots if root.indexing()]
    if not running:
        return None, ""
    (percentage, message), name = min(running, key=lambda r: r[0][0] or 0)
    return percentage, f"{name}: {message}" if message else name
