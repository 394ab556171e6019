"""Indexing progress as LSP `$/progress`: one work-done token for every folder's background indexing.

Owns creating the token at `initialized` (a client that refuses still gets `symscope/statusChanged`),
turning a session's progress callbacks (worker threads) into begin / report / end on the event
loop, and ending the token when the last indexing folder goes away. The token begins with the first
folder that indexes and ends with the last; with several folders each message names its folder.

Must never: send progress from a worker thread (everything goes through `call_on_loop`), or leave a
begun token open once no folder is indexing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types as t

from lsp_server.lsp.protocol import CLIENT_REPLY_TIMEOUT_S, PROGRESS_TOKEN

if TYPE_CHECKING:
    from lsp_server.lsp.folders import Folder
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


async def create_token(ls: SymscopeServer) -> None:
    """Ask the client for the progress token, when it says it takes work-done progress."""
    caps = ls.client_capabilities
    if caps.window is not None and caps.window.work_done_progress:
        try:
            await asyncio.wait_for(ls.work_done_progress.create_async(PROGRESS_TOKEN), CLIENT_REPLY_TIMEOUT_S)
            ls.progress_ready = True
        except Exception as exc:  # a client that refuses still gets statusChanged notifications
            log.info("client did not create a progress token: %s", exc)


def from_thread(ls: SymscopeServer, folder: Folder, kind: str, percentage: int | None, message: str) -> None:
    """A session's progress callback (called on its indexing thread)."""
    ls.call_on_loop(send, ls, folder, kind, percentage, message)


def send(ls: SymscopeServer, folder: Folder, kind: str, percentage: int | None, message: str) -> None:
    if not ls.progress_ready:
        return
    if len(ls.served()) > 1:
        message = f"{folder.name}: {message}"
    progress = ls.work_done_progress
    if kind == "begin":
        ls.progress_folders.add(folder.key)
        if ls.progress_open:
            return
        ls.progress_open = True
        progress.begin(
            PROGRESS_TOKEN,
            t.WorkDoneProgressBegin(title="symscope", message=message, percentage=percentage or 0, cancellable=False),
        )
    elif kind == "report" and ls.progress_open:
        progress.report(PROGRESS_TOKEN, t.WorkDoneProgressReport(message=message, percentage=percentage))
    elif kind == "end" and ls.progress_open:
        ls.progress_folders.discard(folder.key)
        if ls.progress_folders:
            progress.report(PROGRESS_TOKEN, t.WorkDoneProgressReport(message=message))
            return
        ls.progress_open = False
        progress.end(PROGRESS_TOKEN, t.WorkDoneProgressEnd(message=message))


def folder_stopped(ls: SymscopeServer, folder: Folder) -> None:
    """A folder's session stopped: it no longer keeps the token open."""
    ls.progress_folders.discard(folder.key)


def end_if_idle(ls: SymscopeServer) -> None:
    """After folders changed: end the token when the folders that were indexing are all gone."""
    if ls.progress_open and not ls.progress_folders:
        ls.progress_open = False
        ls.work_done_progress.end(PROGRESS_TOKEN, t.WorkDoneProgressEnd(message="done"))
