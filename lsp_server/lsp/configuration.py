"""`workspace/didChangeConfiguration`: new settings from the client, applied live.

Owns taking the client's settings (a `symscope` section, the section sent bare as Neovim does, or
pulled with `workspace/configuration` when the notification carries neither), resolving them
(settings.py), showing a bad option to the user, (un)registering search-based references, and
restarting every folder's session when something a session depends on changed.

Must never: restart sessions when nothing they depend on changed (`references` only changes what is
answered), restart them before `initialized` started them, or wait on the client without a timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types as t

from lsp_server.config import Settings
from lsp_server.lsp import references
from lsp_server.lsp.folders import start_session
from lsp_server.lsp.lifecycle import stop_all, take_sessions
from lsp_server.lsp.protocol import CLIENT_REPLY_TIMEOUT_S, snake
from lsp_server.lsp.settings import LSP_OPTIONS, assign_settings, resolve_settings, settings_keys
from lsp_server.lsp.watching import start_watching

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


async def did_change_configuration(ls: SymscopeServer, params: t.DidChangeConfigurationParams) -> None:
    settings = params.settings
    known = (set(Settings.__dataclass_fields__) - {"root"}) | set(LSP_OPTIONS)
    if isinstance(settings, dict) and isinstance(settings.get("symscope"), dict):
        options = settings["symscope"]
    elif isinstance(settings, dict) and any(snake(str(k)) in known for k in settings):
        options = settings  # a client that sends this server's section bare (Neovim's `settings`)
    else:
        options = await _pull_configuration(ls)
        if options is None:
            return
    before = (settings_keys(ls), _session_options(ls))
    resolve_settings(ls, {**ls.init_options, **options})
    if ls.settings_error:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Error, message=ls.settings_error))
    await references.references_changed(ls)
    if (settings_keys(ls), _session_options(ls)) == before or not ls.session_started:
        return  # unchanged, or `initialized` has not started the session yet (it will use these)
    log.info("settings changed: restarting the workspace sessions")
    async with ls.folder_changes():
        sessions = take_sessions(ls)
        if sessions:
            await asyncio.get_running_loop().run_in_executor(None, stop_all, sessions, 5.0)
        assign_settings(ls)
        ls.client_watching = ls.client_watching and ls.options["watcher"] in ("auto", "client")
        for folder in ls.served():
            start_session(ls, folder)
            await start_watching(ls, folder)
    ls.send_status()


def _session_options(ls: SymscopeServer) -> dict[str, Any]:
    """The options a session depends on (`references` only changes what is answered)."""
    return {k: v for k, v in ls.options.items() if k != "references"}


async def _pull_configuration(ls: SymscopeServer) -> dict[str, Any] | None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return None
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(t.ConfigurationParams(items=[t.ConfigurationItem(section="symscope")])),
            CLIENT_REPLY_TIMEOUT_S,
        )
    except Exception as exc:
        log.info("workspace/configuration failed: %s", exc)
        return None
    first = result[0] if result else None
    return first if isinstance(first, dict) else None
