"""stdio transport of the MCP server: a filter between stdin and the SDK's stdio transport that
answers lines the SDK would drop in silence.

Owns `answer_unreadable_lines` and the `symscope/unreadableMessage` request it turns such lines
into. Must never: alter a line the SDK can read (those pass byte for byte), write to stdout (the
answer is the server's own JSON-RPC error), or stop the server on any input.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import EmptyResult, RequestParams

log = logging.getLogger(__name__)

UNREADABLE_METHOD = "symscope/unreadableMessage"
_LEGIBLE_ID = re.compile(rb'"id"\s{0,8}:\s{0,8}(-?\d{1,18}|"[^"\\]{0,200}")')
PARSE_ERROR, INVALID_REQUEST = -32700, -32600


class UnreadableParams(RequestParams):
    code: int
    message: str


async def refuse_unreadable(ctx: Any, params: UnreadableParams) -> EmptyResult:
    raise MCPError(params.code, params.message)


def answer_unreadable_lines(server: MCPServer) -> None:
    """Puts a filter between stdin and the SDK's stdio transport, which drops a line its strict
    JSON parser refuses (a lone surrogate escape, a 5,000-digit number, 300 nested arrays, a line
    cut short) without any answer, so the client waits for its timeout. A request the filter can
    still read an `id` from is replaced by a request for UNREADABLE_METHOD carrying that id, and the
    server answers it with a JSON-RPC error (-32700 parse error, -32600 invalid request); a line
    with no readable id gets an error under a `symscope-unreadable-N` id. Everything else passes
    through untouched, byte for byte. The real stdin moves to a private descriptor; fd 0 becomes
    the filter's pipe, so the SDK reads it as it would the real one."""
    from mcp_types import jsonrpc_message_adapter

    wire = os.fdopen(os.dup(0), "rb")
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    out = os.fdopen(write_end, "wb")

    def replacement(line: bytes, n: int) -> bytes:
        try:
            message = json.loads(line)
            code, what = INVALID_REQUEST, "invalid request"
        except ValueError:
            message, code, what = None, PARSE_ERROR, "parse error"
        msg_id = message.get("id") if isinstance(message, dict) else None
        if isinstance(message, dict) and "id" not in message:
            return b""  # a notification: JSON-RPC answers nothing
        if message is None:
            # Not JSON to Python either (or a number past its digit limit): the id may still be
            # legible near the start; a bounded pattern, linear on any input.
            found = _LEGIBLE_ID.search(line[:4096])
            if found:
                with contextlib.suppress(ValueError):
                    msg_id = json.loads(found.group(1))
        if not isinstance(msg_id, (int, str)) or isinstance(msg_id, bool):
            msg_id = f"symscope-unreadable-{n}"
        text = f"{what}: the message could not be read as MCP JSON-RPC (symscope refused it)"
        request = {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": UNREADABLE_METHOD,
            "params": {"code": code, "message": text},
        }
        return json.dumps(request, ensure_ascii=True).encode() + b"\n"

    def pump() -> None:
        n = 0
        try:
            for line in wire:
                if line.strip():
                    try:
                        jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except Exception:
                        n += 1
                        log.warning("stdin: answering an unreadable line (%d bytes) with an error", len(line))
                        line = replacement(line, n)
                out.write(line)
                out.flush()
        except (OSError, ValueError):
            log.exception("stdin filter stopped")
        finally:
            with contextlib.suppress(OSError):
                out.close()

    threading.Thread(target=pump, name="symscope-stdin", daemon=True).start()
