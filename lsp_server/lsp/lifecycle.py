"""The server's life: `initialize`, `initialized`, `shutdown`, and exiting with the client.

Owns reading `initialize` (workspace folders, initializationOptions, the client's process id),
starting every folder's session once the client said `initialized` (after asking for a progress
token), stopping all sessions side by side on `shutdown` or end of input, and exiting when the
client process is gone without saying `exit`.

Must never: block the event loop while sessions stop (that runs in an executor, bounded), or wait on
a client reply without a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t

from lsp_server.lsp import progress
from lsp_server.lsp.folders import client_folders, set_folders
from lsp_server.lsp.settings import resolve_settings

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer
    from lsp_server.session import WorkspaceSession

log = logging.getLogger(__name__)


def initialize(ls: SymscopeServer, params: t.InitializeParams) -> None:
    wanted = client_folders(params)
    ls.primary_root = wanted[0][1] if wanted else None
    ls.initial_folders = wanted
    options = params.initialization_options
    ls.init_options = options if isinstance(options, dict) else {}
    if options is not None and not isinstance(options, dict):
        ls.settings_error = f"initializationOptions must be an object, got {type(options).__name__}"
    resolve_settings(ls, ls.init_options)
    if params.process_id:
        watch_parent(ls, params.process_id)


async def initialized(ls: SymscopeServer, params: t.InitializedParams) -> None:
    ls.loop = asyncio.get_running_loop()
    if ls.settings_error:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=ls.settings_error))
    await progress.create_token(ls)
    ls.session_started_ok = True
    await set_folders(ls, ls.initial_folders)


async def shutdown(ls: SymscopeServer, params: Any) -> None:
    sessions = take_sessions(ls)
    if sessions:
        await asyncio.get_running_loop().run_in_executor(None, stop_all, sessions, 5.0)
    if ls._mcp_handle is not None and hasattr(ls._mcp_handle, "stop"):
        try:
            ls._mcp_handle.stop()
        except Exception:
            log.exception("stopping the MCP endpoint failed")


def take_sessions(ls: SymscopeServer) -> list[WorkspaceSession]:
    """Detach every folder's session (the caller stops them)."""
    sessions = []
    for folder in ls.folders:
        if folder.session is not None:
            sessions.append(folder.session)
            folder.session = None
    return sessions


def stop_all(sessions: list[WorkspaceSession], timeout: float) -> None:
    """Stop sessions side by side, so N folders take one timeout, not N."""
    threads = [threading.Thread(target=s.stop, args=(timeout,), daemon=True) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 1.0)


def watch_parent(ls: SymscopeServer, pid: int) -> None:
    """LSP: exit when the client process is gone, even if it never said `exit`."""

    def watch() -> None:
        while True:
            time.sleep(3.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                log.warning("client process %d is gone; exiting", pid)
                stop_all([f.session for f in ls.folders if f.session is not None], 2.0)
                os._exit(1)
            except PermissionError:
                pass  # alive, owned by someone else

    threading.Thread(target=watch, name="symscope-parent", daemon=True).start()
