"""`symscope lsp --mcp-port N`: the MCP endpoint served from the language server's own process.

Owns the only reference to the MCP server module from the language server: whether it is installed
(checked before serving, so a missing module is a clear error at start, not a late log line), and
starting it over the first folder's index once that index is open (streamable HTTP on 127.0.0.1,
`SYMSCOPE_MCP_TOKEN` as its bearer token). The endpoint's URL, or why it failed, shows in status.

Must never: import the MCP SDK at module level (only `--mcp-port` pays for it), bind on the event
loop (uvicorn's start-up waits), or take the language server down when the port cannot be served.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

MCP_MODULE = "lsp_server.mcp.server"


def available() -> bool:
    """Whether the MCP server module is installed."""
    return importlib.util.find_spec(MCP_MODULE) is not None


def maybe_start(ls: SymscopeServer) -> None:
    """Serve the MCP endpoint over this process's index once it is open (once per process)."""
    session = ls.session
    if ls.mcp_port is None or ls.mcp_started or session is None or session.index is None:
        return
    ls.mcp_started = True

    def start() -> None:  # binding and waiting for uvicorn takes a moment: not on the loop
        try:
            from lsp_server.mcp import http as mcp_http
            from lsp_server.mcp import server as mcp_server

            server = mcp_server.create_server(session.settings, index=session.index, searcher=session.searcher)
            ls._mcp_handle = mcp_http.serve_http_in_thread(
                server, "127.0.0.1", ls.mcp_port, token=os.environ.get("SYMSCOPE_MCP_TOKEN") or None
            )
            log.info("MCP endpoint on %s", ls._mcp_handle.url)
            ls.call_on_loop(ls.send_status)
        except Exception as exc:
            log.exception("cannot serve MCP on port %s", ls.mcp_port)
            ls.settings_error = f"MCP endpoint failed: {exc}"
            ls.call_on_loop(ls.send_status)

    threading.Thread(target=start, name="symscope-mcp-start", daemon=True).start()
