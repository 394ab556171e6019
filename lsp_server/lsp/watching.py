"""File watching: who tells a folder's session that files changed, and what a change does.

Owns choosing the watcher per folder by the `watcher` option: the client's
`workspace/didChangeWatchedFiles` (one dynamic registration, `**/*`, covers every folder, those added
later included; a client that refuses is not asked again), else watchfiles in the session, else
none; and `workspace/didChangeWatchedFiles` itself: each change goes to the folder holding the file
(its overlay re-checks the disk, its session re-indexes).

Must never: register the watcher twice, or wait on the client's reply without a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as t
from pygls.uris import to_fs_path

from lsp_server.lsp.protocol import CLIENT_REPLY_TIMEOUT_S, WATCHER_REGISTRATION_ID

if TYPE_CHECKING:
    from lsp_server.lsp.folders import Folder
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


async def start_watching(ls: SymscopeServer, folder: Folder) -> None:
    mode = ls.options["watcher"]
    session = folder.session
    if session is None or mode == "off":
        return
    if ls.client_watching:
        session.note_watcher("client")
        return
    caps = ls.client_capabilities.workspace
    dynamic = bool(caps and caps.did_change_watched_files and caps.did_change_watched_files.dynamic_registration)
    if mode in ("auto", "client") and dynamic and not ls.client_watch_refused:
        try:
            await asyncio.wait_for(
                ls.client_register_capability_async(
                    t.RegistrationParams(
                        registrations=[
                            t.Registration(
                                id=WATCHER_REGISTRATION_ID,
                                method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=t.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[t.FileSystemWatcher(glob_pattern="**/*")]
                                ),
                            )
                        ]
                    )
                ),
                CLIENT_REPLY_TIMEOUT_S,
            )
            ls.client_watching = True  # one registration covers every folder, later ones included
            session.note_watcher("client")
            return
        except Exception as exc:
            ls.client_watch_refused = True  # not asked again for the next folder
            log.warning("client refused file watching (%s); watching with watchfiles", exc)
    if mode in ("auto", "watchfiles") or (mode == "client" and not dynamic):
        session.start_watcher()


def did_change_watched_files(ls: SymscopeServer, params: t.DidChangeWatchedFilesParams) -> None:
    by_folder: dict[str, tuple[Folder, list[str]]] = {}
    for path in (to_fs_path(c.uri) for c in params.changes):
        folder = ls.folder_for(path) if path else None
        if folder is not None:
            by_folder.setdefault(folder.key, (folder, []))[1].append(path)
    for folder, paths in by_folder.values():
        folder.overlay.disk_changed(folder._relatives([Path(p) for p in paths]))
        if folder.session is not None:
            folder.session.files_changed(paths)
