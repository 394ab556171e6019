"""Workspace folders: one `Folder` per root the client names, each with its own index and session.

Owns the `Folder` (root, settings, session, and the overlay of the documents open in it), reading
the folders of `initialize` (`workspaceFolders`, else rootUri / rootPath), following
`workspace/didChangeWorkspaceFolders`, and making the served folders match what the client wants:
new folders get a session (and file watching), removed ones stop theirs (bounded, off the loop),
open documents move to the folder that holds them now. A folder inside another one is not indexed
twice: the outer index holds its files, it is listed as `nested`, and it gets its own index only
when the outer folder goes. Changes run one at a time; each builds on the one asked for before it,
even while that one is still being applied.

Must never: run two folder changes at once (`folder_changes()` serialises them and settings
restarts), stop a session on the event loop, or index one directory for two folders.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t
from pygls.uris import to_fs_path

from lsp_server.lsp import progress, status
from lsp_server.lsp.overlay import Overlay, relative_path
from lsp_server.lsp.settings import assign_settings
from lsp_server.lsp.watching import start_watching
from lsp_server.multiroot import outermost_container
from lsp_server.session import WorkspaceSession

if TYPE_CHECKING:
    from lsp_server.config import Settings
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


class Folder:
    """One workspace folder: its root, settings, session and the overlay of the documents open in it.

    Code that serves one folder (search, call hierarchy, related code) takes a Folder where it took
    the server: what a Folder does not define (encoding, options, in_thread, messages) it passes on
    to the server."""

    def __init__(self, server: SymscopeServer, name: str, root: Path | None, uri: str | None = None) -> None:
        self.server = server
        self.name = name
        self.root = root
        self.uri = uri or (root.as_uri() if root is not None else None)
        self.key = str(root) if root is not None else ""
        self.settings: Settings | None = None
        self.session: WorkspaceSession | None = None
        self.overlay = Overlay(root)
        self.served_by: Folder | None = None  # inside another folder: that folder's index holds its files

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "server":
            raise AttributeError(name)
        return getattr(self.server, name)

    def __repr__(self) -> str:
        return f"Folder({self.name!r}, {str(self.root)!r})"

    def _relatives(self, paths: list[Path]) -> list[str]:
        out = []
        for p in paths:
            rel = self.relative(p)
            if rel is not None:
                out.append(rel)
        return out

    def relative(self, path: str | os.PathLike[str] | None) -> str | None:
        """`path` relative to this folder's root, or None outside it (the overlay's rule)."""
        return relative_path(self.root, path)

    def uri_for(self, rel_path: str) -> str:
        assert self.root is not None
        return (self.root / rel_path).as_uri()

    def _index_view(self):
        session = self.session
        index = session.index if session is not None else None
        if index is None:
            return None, 0
        try:
            return index.symbols_in_file, index.generation()
        except Exception:
            log.exception("index unavailable for the overlay")
            return None, 0

    def _overlay_entries(self):
        view, generation = self._index_view()
        try:
            return self.overlay.active(view, generation)
        except Exception:
            log.exception("overlay failed")
            return []


def start_session(ls: SymscopeServer, folder: Folder) -> None:
    """Start the folder's background session (index, indexer, watcher callbacks) with its settings."""
    if folder.settings is None:
        return
    ls.session_started = True
    folder.session = WorkspaceSession(
        folder.settings,
        on_progress=lambda kind, pct, message: progress.from_thread(ls, folder, kind, pct, message),
        on_status=lambda st: status.changed_from_thread(ls, st),
    )
    folder.session.on_files(lambda paths: folder.overlay.disk_changed(folder._relatives(paths)))
    folder.session.start()


def client_folders(params: t.InitializeParams) -> list[tuple[str, Path, str]]:
    """(name, resolved root, uri) of every workspace folder, else of rootUri / rootPath."""
    named = [(f.name, f.uri) for f in params.workspace_folders or []]
    if not named and params.root_uri:
        named.append(("", params.root_uri))
    out = [(name, root, uri) for name, uri in named if (root := folder_root(uri)) is not None]
    if not out and params.root_path:
        root = Path(params.root_path).resolve()
        out.append((root.name, root, root.as_uri()))
    return [(folder_name(name, root), root, uri) for name, root, uri in out]


def folder_name(name: str | None, root: Path) -> str:
    """The label of a folder's results: the client's name for it, unless that is a path (Neovim
    names folders by their path), then the folder's own name."""
    if not name or "/" in name or os.sep in name:
        return root.name or str(root)
    return name


def folder_root(uri: str) -> Path | None:
    path = to_fs_path(uri)
    return Path(path).resolve() if path else None


async def set_folders(ls: SymscopeServer, wanted: list[tuple[str, Path, str]]) -> None:
    """Make the served folders match `wanted` (in order): start sessions for new folders, stop those
    of removed ones (bounded, off the loop), re-home open documents. A folder inside another one is
    not indexed twice: the outer folder's index holds its files, and it gets its own session only
    when the outer folder goes. Changes run one at a time (a later one waits for the earlier)."""
    async with ls.folder_changes():
        await _apply_folders(ls, wanted)


async def _apply_folders(ls: SymscopeServer, wanted: list[tuple[str, Path, str]]) -> None:
    existing = {f.key: f for f in ls.folders}
    folders: list[Folder] = []
    for name, root, uri in wanted:
        if any(f.root == root for f in folders):
            continue  # named twice
        folder = existing.get(str(root))
        if folder is None:
            folder = Folder(ls, name, root, uri)
        folder.name = name
        folders.append(folder)
    roots = [str(f.root) for f in folders]
    for folder in folders:
        outer = outermost_container(str(folder.root), roots) if folder.root is not None else None
        folder.served_by = folders[outer] if outer is not None else None
    keep = {id(f) for f in folders if f.served_by is None}
    stopping = [f for f in ls.folders if f.session is not None and id(f) not in keep]
    ls.folders = folders
    ls.rehome_documents()
    for folder in stopping:
        session, folder.session = folder.session, None
        folder.settings = None
        progress.folder_stopped(ls, folder)
        log.info("workspace folder %s (%s) is no longer served: stopping its session", folder.name, folder.root)
        await asyncio.get_running_loop().run_in_executor(None, session.stop)
    assign_settings(ls, keep_running=True)
    for folder in ls.served():
        if folder.session is None and ls.session_started_ok:
            start_session(ls, folder)
            await start_watching(ls, folder)
    progress.end_if_idle(ls)
    status.send(ls)


async def did_change_workspace_folders(ls: SymscopeServer, params: t.DidChangeWorkspaceFoldersParams) -> None:
    removed = {root for f in params.event.removed or [] if (root := folder_root(f.uri)) is not None}
    current = (
        ls.initial_folders
        if not ls.session_started_ok
        else ls.pending_folders or [(f.name, f.root, f.uri) for f in ls.folders]
    )
    wanted = [w for w in current if w[1] not in removed]
    wanted += [
        (folder_name(f.name, root), root, f.uri)
        for f in params.event.added or []
        if (root := folder_root(f.uri)) is not None
    ]
    if ls.primary_root is None and wanted:
        ls.primary_root = wanted[0][1]
    log.info("workspace folders: %s", ", ".join(f"{name} ({root})" for name, root, _ in wanted) or "none")
    if not ls.session_started_ok:
        ls.initial_folders = wanted  # `initialized` has not run yet: it starts these
        return
    ls.pending_folders = wanted  # the next change builds on this even before it is applied
    await set_folders(ls, wanted)
    if ls.pending_folders is wanted:
        ls.pending_folders = None
