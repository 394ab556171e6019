"""The language server under hostile input, through its real stdio transport: 100 malformed or
hostile messages (bad JSON, lying or absurd Content-Length, garbage bytes, wrong shapes, bad params,
stale and out-of-range edits), then valid requests that must be answered; stdout must hold nothing
but well-formed protocol frames throughout. Plus unit tests of the frame parser."""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lsp_server.lsp.transport import FrameParser
from tests.lsp_support import init_options, make_workspace, server_command, server_env


def frame(body: bytes | str, length: int | str | None = None) -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return f"Content-Length: {len(data) if length is None else length}\r\n\r\n".encode() + data


def msg(**fields) -> bytes:
    return frame(json.dumps({"jsonrpc": "2.0", **fields}))


# -- the frame parser ----------------------------------------------------------------------------


def test_parser_splits_frames_fed_byte_by_byte():
    parser = FrameParser()
    stream = msg(id=1, method="a") + msg(method="b") + frame("{}")
    bodies = [b for byte in stream for b in parser.feed(bytes([byte]))]
    assert [json.loads(b).get("method") for b in bodies] == ["a", "b", None]


def test_parser_skips_garbage_and_header_noise_before_a_frame():
    parser = FrameParser()
    bodies = parser.feed(b"\x00\xff garbage\r\n\r\nX-Junk: 1\r\n\r\n" + msg(id=7, method="ok"))
    assert [json.loads(b)["id"] for b in bodies] == [7]
    assert parser.problems


def test_parser_resynchronises_when_a_body_claims_too_many_bytes():
    parser = FrameParser()
    bodies = parser.feed(frame('{"jsonrpc":"2.0"}', 5000) + msg(id=2, method="after"))
    assert json.loads(bodies[-1]) == {"jsonrpc": "2.0", "id": 2, "method": "after"}
    assert bodies[0] == b'{"jsonrpc":"2.0"}'  # handed on, then rejected as a message


def test_parser_recovers_from_a_body_shorter_than_claimed_length():
    parser = FrameParser()
    bodies = parser.feed(frame('{"jsonrpc":"2.0","id":1}', 4) + msg(id=3, method="next"))
    assert json.loads(bodies[-1])["id"] == 3


def test_parser_never_allocates_absurd_lengths():
    parser = FrameParser()
    bodies = parser.feed(frame("{}", 10**30) + frame("{}", 2**63) + msg(id=4, method="m"))
    assert [json.loads(b)["id"] for b in bodies] == [4]
    assert len(parser.buf) == 0


def test_parser_bounds_its_buffer_on_endless_garbage():
    parser = FrameParser()
    for _ in range(50):
        assert parser.feed(os.urandom(64 * 1024).replace(b"Content-Length", b"x")) == []
    assert len(parser.buf) <= 128 * 1024
    assert [json.loads(b)["id"] for b in parser.feed(b"\r\n" + msg(id=5, method="m"))] == [5]


def test_parser_keeps_a_large_valid_body_whole():
    parser = FrameParser()
    text = "x" * 3_000_000 + "\\r\\n"  # escaped newlines inside a JSON string are fine
    body = json.dumps({"jsonrpc": "2.0", "method": "big", "params": {"text": text}})
    data = frame(body)
    out = []
    for i in range(0, len(data), 65536):
        out += parser.feed(data[i : i + 65536])
    assert len(out) == 1 and json.loads(out[0])["params"]["text"] == text


# -- the real server -----------------------------------------------------------------------------


class RawServer:
    """The server process with a strict reader of everything it writes to stdout."""

    def __init__(self, workspace: Path, index_dir: Path, home: Path) -> None:
        self.stderr = open(home / "stderr.log", "wb")
        self.proc = subprocess.Popen(
            server_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=server_env(home),
            cwd=workspace,
        )
        self.responses: dict = {}
        self.frames: list[dict] = []
        self.bad_output: list[bytes] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            header = b""
            while not header.endswith(b"\r\n\r\n"):
                byte = out.read(1)
                if not byte:
                    return
                header += byte
            lines = header.decode("ascii", "replace").split("\r\n")
            lengths = [int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")]
            if len(lengths) != 1 or not all(":" in line for line in lines if line):
                self.bad_output.append(header)
                return
            body = out.read(lengths[0])
            try:
                message = json.loads(body)
            except ValueError:
                self.bad_output.append(body)
                return
            with self._cond:
                self.frames.append(message)
                if "id" in message and "method" not in message:
                    self.responses[message["id"]] = message
                elif message.get("method") in ("window/workDoneProgress/create", "client/registerCapability"):
                    self.send(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": None}).encode(), raw=False)
                self._cond.notify_all()

    def send(self, data: bytes, raw: bool = True) -> None:
        self.proc.stdin.write(data if raw else frame(data))
        self.proc.stdin.flush()

    def wait_response(self, msg_id, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._cond:
            while msg_id not in self.responses:
                left = deadline - time.monotonic()
                assert left > 0, f"no response to {msg_id}; server alive: {self.proc.poll() is None}"
                self._cond.wait(left)
            return self.responses[msg_id]

    def wait_status(self, state: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(
                f.get("method") == "symscope/statusChanged" and f["params"]["state"] == state for f in self.frames
            ):
                left = deadline - time.monotonic()
                assert left > 0, f"server never reached state {state}"
                self._cond.wait(left)


def hostile_messages(doc_uri: str) -> list[tuple[bytes, int | None, int | None]]:
    """(bytes, request id that must be answered or None, expected error code or None)."""
    rng = random.Random(4)
    deep = "[" * 100_000 + "]" * 100_000
    cases: list[tuple[bytes, int | None, int | None]] = [
        (frame("{"), None, None),
        (frame("not json at all"), None, None),
        (frame(b"\xff\xfe\x00garbage"), None, None),
        (frame('{"jsonrpc":"2.0","id":1,"method":'), None, None),
        (frame("42"), None, None),
        (frame('"a string"'), None, None),
        (frame("[]"), None, None),
        (frame("null"), None, None),
        (frame(""), None, None),
        (frame(deep), None, None),
        (frame('{"jsonrpc":"2.0","id":1}', 3), None, None),  # shorter than the body
        (frame('{"jsonrpc":"2.0","id":1}', 900), None, None),  # longer than the body
        (frame("{}", "99999999999999999999999"), None, None),
        (frame("{}", "-1"), None, None),
        (frame("{}", "abc"), None, None),
        (frame("{}", ""), None, None),
        (b'{"jsonrpc":"2.0","id":2,"method":"shutdown"}\r\n', None, None),  # no header at all
        (b"Content-Length: 10\n\n0123456789", None, None),
        (b"Content-Type: application/json\r\n\r\n", None, None),
        (os.urandom(4096).replace(b"Content-Length", b"x"), None, None),
        (b"\x00" * 1000, None, None),
        (msg(id=101, method="no/such/method"), 101, -32601),
        (msg(id=102, method="textDocument/documentSymbol", params="bogus"), 102, -32602),
        (msg(id=103, method="textDocument/documentSymbol", params={"textDocument": 5}), 103, -32602),
        (msg(id=104, method="workspace/symbol", params={"query": ["not", "a", "string"]}), 104, -32602),
        (msg(id=105, method="symscope/search", params={"query": 5}), 105, -32602),
        (msg(id=106, method="symscope/search", params="query"), 106, -32602),
        (msg(id=107, method="symscope/search", params={"query": "x", "limit": 10**9}), 107, -32602),
        (msg(id=108, method="workspace/executeCommand", params={"command": "no.such.command"}), 108, -32602),
        (
            msg(
                id=109, method="workspace/executeCommand", params={"command": "symscope.search", "arguments": [1, 2, 3]}
            ),
            109,
            -32602,
        ),
        (frame('{"jsonrpc":"1.0","id":110,"method":"symscope/status"}'), 110, -32600),
        (frame('{"id":111,"method":"symscope/status"}'), 111, -32600),
        (frame('{"jsonrpc":"2.0","id":112,"method":7}'), 112, -32600),
        (frame('{"jsonrpc":"2.0","id":{"x":1},"method":"symscope/status"}'), None, None),
        (frame('{"jsonrpc":"2.0","id":true,"method":"symscope/status"}'), None, None),
        (msg(id=999999, result={"unexpected": True}), None, None),  # a response nobody asked for
        (msg(id="nobody", error={"code": 1, "message": "x"}), None, None),
        (msg(method="$/cancelRequest", params={"id": 123456}), None, None),
        (msg(method="$/cancelRequest", params="x"), None, None),
        (
            msg(
                method="textDocument/didChange",
                params={"textDocument": {"uri": "file:///nowhere.py", "version": 2}, "contentChanges": [{"text": "x"}]},
            ),
            None,
            None,
        ),
        # Out of range, reversed and stale edits on an open document: clamped or ignored, never fatal.
        (
            msg(
                method="textDocument/didChange",
                params={
                    "textDocument": {"uri": doc_uri, "version": 5},
                    "contentChanges": [
                        {
                            "range": {"start": {"line": 9999, "character": 0}, "end": {"line": 99999, "character": 5}},
                            "text": "\n# tail\n",
                        }
                    ],
                },
            ),
            None,
            None,
        ),
        (
            msg(
                method="textDocument/didChange",
                params={
                    "textDocument": {"uri": doc_uri, "version": 6},
                    "contentChanges": [
                        {
                            "range": {"start": {"line": 2, "character": 500}, "end": {"line": 0, "character": 0}},
                            "text": "",
                        }
                    ],
                },
            ),
            None,
            None,
        ),
        (
            msg(
                method="textDocument/didChange",
                params={"textDocument": {"uri": doc_uri, "version": 1}, "contentChanges": [{"text": "stale"}]},
            ),
            None,
            None,
        ),
        (
            msg(
                method="textDocument/didChange",
                params={
                    "textDocument": {"uri": doc_uri, "version": 7},
                    "contentChanges": [
                        {
                            "range": {"start": {"line": -3, "character": -1}, "end": {"line": 0, "character": 2}},
                            "text": "é👋",
                        }
                    ],
                },
            ),
            None,
            None,
        ),
        (
            msg(
                method="textDocument/didOpen",
                params={"textDocument": {"uri": "file:///x.py", "languageId": "python", "version": 1, "text": 5}},
            ),
            None,
            None,
        ),
        (
            msg(method="workspace/didChangeConfiguration", params={"settings": {"symscope": {"device": "quantum"}}}),
            None,
            None,
        ),
        (
            msg(
                method="workspace/didChangeWatchedFiles", params={"changes": [{"uri": "file:///etc/passwd", "type": 2}]}
            ),
            None,
            None,
        ),
        (msg(method="x" * 100_000), None, None),
        (msg(method=""), None, None),
        (frame('{"jsonrpc":"2.0","method":"symscope/status","params":"\\ud800 lone surrogate"}'), None, None),
        (frame("Content-Length: 5\r\n\r\n"), None, None),
        (b"Content-Length: 12\r\nContent-Length: 20\r\n\r\n" + b'{"a":1}', None, None),
    ]
    out = list(cases)
    while len(out) < 100:  # fill with random garbage and random-length frames of random bytes
        if rng.random() < 0.5:
            out.append(
                (
                    bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))).replace(b"Content-Length", b"x"),
                    None,
                    None,
                )
            )
        else:
            body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
            out.append((frame(body, len(body) + rng.choice([-3, 0, 0, 7])), None, None))
    return out[:100]


@pytest.fixture()
def server(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    srv = RawServer(workspace, tmp_path / "index", tmp_path)
    yield srv, workspace
    if srv.proc.poll() is None:
        srv.proc.kill()
    srv.proc.wait(10)
    srv.stderr.close()


def test_100_hostile_messages_then_valid_requests_are_answered(server):
    srv, workspace = server
    srv.send(
        msg(
            id=1,
            method="initialize",
            params={
                "processId": os.getpid(),
                "rootUri": workspace.as_uri(),
                "capabilities": {"window": {"workDoneProgress": True}},
                "initializationOptions": init_options(workspace.parent / "index", watcher="off"),
            },
        )
    )
    assert "capabilities" in srv.wait_response(1)["result"]
    srv.send(msg(method="initialized", params={}))
    srv.wait_status("ready")
    doc_uri = (workspace / "pkg/config.py").as_uri()
    srv.send(
        msg(
            method="textDocument/didOpen",
            params={
                "textDocument": {
                    "uri": doc_uri,
                    "languageId": "python",
                    "version": 1,
                    "text": (workspace / "pkg/config.py").read_text(),
                }
            },
        )
    )

    cases = hostile_messages(doc_uri)
    assert len(cases) == 100
    for data, _, _ in cases:
        srv.send(data)
    # A newline-terminated valid frame after all that: the stream must be back in step.
    srv.send(b"\r\n" + msg(id=1000, method="symscope/status", params={}))
    status = srv.wait_response(1000)["result"]
    assert status["state"] == "ready" and status["openDocuments"] == 1
    srv.send(msg(id=1001, method="textDocument/documentSymbol", params={"textDocument": {"uri": doc_uri}}))
    outline = srv.wait_response(1001)["result"]
    assert {"load_config", "save_config", "ConfigError"} <= {s["name"] for s in outline}
    srv.send(msg(id=1002, method="workspace/symbol", params={"query": "save_config"}))
    assert srv.wait_response(1002)["result"][0]["name"] == "save_config"

    for _, msg_id, code in cases:
        if msg_id is not None and msg_id in srv.responses:
            assert srv.responses[msg_id].get("error", {}).get("code") == code, (msg_id, srv.responses[msg_id])
    answered = [msg_id for _, msg_id, _ in cases if msg_id is not None and msg_id in srv.responses]
    assert len(answered) >= 10  # most bad requests survive the stream damage around them and get errors
    assert srv.bad_output == []  # stdout carried protocol frames and nothing else

    srv.send(msg(id=1003, method="shutdown"))
    assert srv.wait_response(1003)["result"] is None
    srv.send(msg(method="exit"))
    assert srv.proc.wait(15) == 0


def test_end_of_input_without_exit_stops_the_server(server):
    srv, workspace = server
    srv.send(msg(id=1, method="initialize", params={"processId": None, "rootUri": None, "capabilities": {}}))
    srv.wait_response(1)
    srv.proc.stdin.close()
    assert srv.proc.wait(15) == 0
