"""The stdio transport: frames in and out of `symscope lsp`, surviving hostile input.

pygls' stdio reader trusts Content-Length (a huge value blocks or exhausts memory, a short one
desynchronises the stream for good) and drops requests whose params do not structure without
answering them. `serve_stdio` replaces it with `FrameParser`, which never preallocates, caps
lengths, discards garbage up to the next `Content-Length` header and, because no valid JSON body can
contain a raw `Content-Length: N\\r\\n` header line, re-synchronises on the next header when a body
claims more bytes than the message really has. `handle_body` answers bad requests with JSON-RPC
errors; our own methods get their params as plain JSON.

Must never: write anything but protocol frames to stdout (fd 1 is pointed at stderr while serving,
so even native code cannot), raise out of the read loop, or allocate what a header merely claims.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import re
import sys
import threading
from typing import TYPE_CHECKING

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage

from lsp_server.lsp.lifecycle import stop_all, take_sessions

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

MAX_CONTENT_LENGTH = 256 * 1024 * 1024  # larger claims are treated as garbage, never allocated
MAX_HEADER_BYTES = 64 * 1024  # header bytes without a terminator beyond this are garbage
_CONTENT_LENGTH = re.compile(rb"Content-Length[ \t]*:[ \t]*([0-9]+)[ \t]*\r?\n", re.IGNORECASE)
_HEADER_NAME = re.compile(rb"Content-Length[ \t]*:", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
# A complete header block: what a body can never contain if it is valid JSON (no raw newlines in
# strings, no bare words outside them). Finding one inside a body means the body lied about its length.
_HEADER_BLOCK = re.compile(
    rb"Content-Length[ \t]*:[ \t]*[0-9]+[ \t]*\r?\n(?:[^\r\n]{0,1024}\r?\n){0,16}?\r?\n", re.IGNORECASE
)


class FrameParser:
    """Bytes in, message bodies out; never raises, never preallocates, resynchronises on headers."""

    def __init__(self, max_length: int = MAX_CONTENT_LENGTH) -> None:
        self.buf = bytearray()
        self.max_length = max_length
        self.expect: int | None = None  # body length once a header block was read
        self.scanned = 0  # how far the pending body was searched for a header block
        self.problems: list[str] = []

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        bodies: list[bytes] = []
        while True:
            if self.expect is None:
                if not self._read_header():
                    return bodies
                continue
            body = self._read_body()
            if body is None:
                return bodies
            bodies.append(body)

    def _problem(self, message: str) -> None:
        log.warning("transport: %s", message)
        self.problems.append(message)
        del self.problems[:-100]

    def _read_header(self) -> bool:
        buf = self.buf
        m = _HEADER_NAME.search(buf)
        if m is None:
            if len(buf) > MAX_HEADER_BYTES:
                self._problem(f"discarded {len(buf) - 32} bytes without a Content-Length header")
                del buf[:-32]  # keep a tail: a header may be arriving split in two
            return False
        if m.start() > 0:
            junk = bytes(buf[: m.start()])
            if junk.strip():
                self._problem(f"discarded {len(junk)} bytes before a header")
            del buf[: m.start()]
        end = _HEADER_END.search(buf)
        if end is None:
            if len(buf) > MAX_HEADER_BYTES:
                self._problem("header block without an end; discarded")
                del buf[: len(b"Content-Length:")]
                return True
            return False
        block = bytes(buf[: end.end()])
        # The last Content-Length in the block wins: an earlier one belonged to a broken header.
        lengths = _CONTENT_LENGTH.findall(block)
        later = _HEADER_NAME.search(buf, 1, end.start())
        if later is not None:  # another header starts inside this block: this one is broken
            self._problem("malformed header block; resynchronising on the next header")
            del buf[: later.start()]
            return True
        del buf[: end.end()]
        if not lengths:
            self._problem("header block without a valid Content-Length; discarded")
            return True
        length = int(lengths[-1])
        if length > self.max_length:
            self._problem(f"Content-Length {length} exceeds {self.max_length}; frame discarded")
            return True
        self.expect = length
        self.scanned = 0
        return True

    def _read_body(self) -> bytes | None:
        n = self.expect
        assert n is not None
        buf = self.buf
        window = min(len(buf), n + 1024)
        # Search what arrived since the last look (with some overlap) for a header block.
        start = max(0, self.scanned - 1100)
        m = _HEADER_BLOCK.search(buf, start, window) if window > start else None
        if m is not None and m.start() < n:
            self._problem(f"a message declared {n} bytes but the next header starts after {m.start()}; resynchronised")
            body = bytes(buf[: m.start()])
            del buf[: m.start()]
            self.expect = None
            return body  # handed on: it fails as JSON and is logged there
        self.scanned = window
        if len(buf) < n:
            return None
        body = bytes(buf[:n])
        del buf[:n]
        self.expect = None
        return body


class _FrameWriter:
    """Writes whole frames to the protocol's own copy of stdout, one writer at a time."""

    def __init__(self, out) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._closed = False

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError, OSError):
                self._closed = True
                log.error("client connection lost")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            try:
                self._out.close()
            except OSError:
                pass


def handle_body(server: SymscopeServer, body: bytes) -> None:
    """One frame body -> the protocol; malformed messages are answered or logged, never raised."""
    protocol = server.protocol
    try:
        raw = json.loads(body)
    except (ValueError, RecursionError) as exc:
        log.warning("transport: body is not JSON (%s): %r", exc.__class__.__name__, body[:80])
        return
    if not isinstance(raw, dict):
        log.warning("transport: a JSON-RPC message must be an object, got %s", type(raw).__name__)
        return
    msg_id = raw.get("id")
    valid_id = isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool)
    is_request = "method" in raw and "id" in raw

    def reject(error: JsonRpcException) -> None:
        if is_request and valid_id:
            protocol._send_response(msg_id, error=error.to_response_error())
        else:
            log.warning("transport: dropped malformed message: %s", error)

    if raw.get("jsonrpc") != "2.0":
        return reject(JsonRpcInvalidRequest.of(ValueError("jsonrpc must be '2.0'")))
    if "method" in raw and not isinstance(raw["method"], str):
        return reject(JsonRpcInvalidRequest.of(ValueError("method must be a string")))
    if "id" in raw and not valid_id and not (msg_id is None and "method" not in raw):
        log.warning("transport: message with an invalid id %r dropped", msg_id)
        return
    try:
        method = raw.get("method")
        if isinstance(method, str) and method not in t.METHOD_TO_TYPES:
            # Our own methods take plain JSON (pygls would turn objects into namedtuples).
            message = (
                JsonRPCRequestMessage(id=msg_id, method=method, jsonrpc="2.0", params=raw.get("params"))
                if "id" in raw
                else JsonRPCNotification(method=method, jsonrpc="2.0", params=raw.get("params"))
            )
        else:
            message = protocol.structure_message(raw)
    except JsonRpcException as exc:
        return reject(exc)
    except Exception as exc:
        return reject(
            JsonRpcInternalError.of(sys.exc_info()) if not isinstance(exc, RecursionError) else JsonRpcInvalidParams()
        )
    try:
        protocol.handle_message(message)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception:
        log.exception("transport: handling %s failed", raw.get("method") or "a response")
        if is_request and valid_id:
            protocol._send_response(msg_id, error=JsonRpcInternalError.of(sys.exc_info()).to_response_error())


def serve_stdio(server: SymscopeServer, stdin_fd: int = 0, stdout_fd: int = 1) -> int:
    """Serve on stdin/stdout until `exit` or end of input; returns the process exit code."""
    out = os.fdopen(os.dup(stdout_fd), "wb", buffering=0)
    # From here on fd 1 is stderr: a stray print (ours, a library's, native code's) cannot corrupt frames.
    os.dup2(2, stdout_fd)
    sys.stdout = sys.stderr
    writer = _FrameWriter(out)
    server.protocol.set_writer(writer)
    # Fewer, cheaper collections: requests allocate many short-lived objects over a large heap.
    gc.set_threshold(50_000, 20, 50)
    code = 0
    try:
        asyncio.run(_serve(server, stdin_fd))
    except SystemExit as exc:  # the `exit` notification
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sessions = take_sessions(server)
        if sessions:
            stop_all(sessions, 3.0)
        server.queries.shutdown(wait=False, cancel_futures=True)
        writer.close()
    return code


async def _serve(server: SymscopeServer, stdin_fd: int) -> None:
    loop = asyncio.get_running_loop()
    server.loop = loop
    done = asyncio.Event()
    parser = FrameParser()

    def dispatch(body: bytes) -> None:
        handle_body(server, body)

    def read() -> None:
        while True:
            try:
                chunk = os.read(stdin_fd, 1 << 16)
            except InterruptedError:
                continue
            except OSError as exc:
                log.error("reading stdin failed: %s", exc)
                chunk = b""
            if not chunk:
                loop.call_soon_threadsafe(done.set)
                return
            for body in parser.feed(chunk):
                loop.call_soon_threadsafe(dispatch, body)

    threading.Thread(target=read, name="symscope-stdin", daemon=True).start()
    await done.wait()
    log.info("end of input: the client went away")
