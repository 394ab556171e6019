"""Property tests (hypothesis) of the MCP tools' arguments: every tool called with generated
arguments (wrong types, huge and negative numbers, hostile paths, NUL bytes, very long strings,
unicode, globs, regex-looking text, unknown keys) through the SDK's in-process client.

Invariants: every call ends in a result or a clean MCP error (isError, or a JSON-RPC error), never
anything else; a successful result is a JSON object whose text block says the same; nothing served
holds bytes from outside the workspace (a canary file next to the root, reachable by `..`, absolute
paths, file:// URIs and symlinks) or from the files inside it that are never served (.env, .git,
gitignored); and the server answers normal calls afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_support import SECRET, Served, make_mcp_workspace

EXAMPLES = int(os.environ.get("SYMSCOPE_FUZZ_EXAMPLES", "250"))
CANARY = "CANARY-b41c7e-outside-the-root"
CANARY_SOURCE = f'def canary_outside():\n    """{CANARY}"""\n    return "{CANARY}"\n'
TOOLS = (
    "search_code",
    "find_symbol",
    "get_symbol",
    "file_outline",
    "callers",
    "callees",
    "search_text",
    "related_code",
    "index_status",
)
KEYS = {
    "search_code": ["query", "limit", "lang", "path", "kind", "max_tokens"],
    "find_symbol": ["name", "limit", "kind", "lang", "max_tokens"],
    "get_symbol": ["path", "name", "line", "include_body", "max_tokens"],
    "file_outline": ["path", "limit", "max_tokens"],
    "callers": ["symbol", "path", "limit", "max_tokens"],
    "callees": ["symbol", "path", "limit", "max_tokens"],
    "search_text": ["pattern", "regex", "path", "limit", "context", "max_tokens"],
    "related_code": ["path", "line", "limit"],
    "index_status": [],
}


class InProcessServer:
    """The SDK's in-process client, kept open in a thread with its own event loop, so that
    synchronous hypothesis examples can call it one after another over one session."""

    def __init__(self, server) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self.client: Client | None = None
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(server,), daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("in-process MCP client did not start")
        if self.failure is not None:
            raise self.failure

    def _run(self, server) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                async with Client(server) as client:
                    self.client = client
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # the session died: every later call must fail the test
                self.failure = exc
                self._ready.set()

        self.loop.run_until_complete(main())

    def call(self, tool: str, arguments: Any, timeout: float = 60.0):
        assert self.client is not None and self.failure is None, f"the MCP session died: {self.failure!r}"
        future = asyncio.run_coroutine_threadsafe(self.client.call_tool(tool, arguments), self.loop)
        return future.result(timeout)

    def close(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp-fuzz")
    root = make_mcp_workspace(tmp / "ws")
    (tmp / "canary.py").write_text(CANARY_SOURCE)
    (tmp / "ws-evil").mkdir()
    (tmp / "ws-evil" / "canary.py").write_text(CANARY_SOURCE)
    os.symlink(tmp / "canary.py", root / "link_out.py")
    os.symlink(tmp / "ws-evil", root / "linkdir")
    os.symlink("../..", root / "pkg" / "link_up")
    # Bytes that are not UTF-8 in a file's content and in a file's name.
    (root / "weird.py").write_bytes(b'def weird_bytes():\n    s = "\xed\xa0\x80 \xff \xc3"\n    return s\n')
    (root / os.fsdecode(b"name\xff.py")).write_bytes(b"def undecodable_name():\n    return 1\n")
    s = Served(root, tmp / "idx")
    s.tmp = tmp
    ids = [r.symbol_id for r in s.index.iter_symbols()]
    s.symbol_ids = ids
    s.names = sorted({r.qualified_name for r in s.index.iter_symbols()})
    s.paths = sorted(s.index.store.known_files())
    mcp = InProcessServer(s.server)
    s.mcp = mcp
    yield s
    mcp.close()
    s.close()


def hostile_paths(tmp: Path) -> list[str]:
    root, canary = tmp / "ws", str(tmp / "canary.py")
    return [
        "../canary.py",
        "pkg/../../canary.py",
        canary,
        "//" + canary.lstrip("/"),
        f"{root}/../canary.py",
        f"{root}-evil/canary.py",
        "../ws-evil/canary.py",
        "link_out.py",
        "linkdir/canary.py",
        "pkg/link_up/canary.py",
        f"file://{canary}",
        f"file://localhost{canary}",
        f"file://evil.example{canary}",
        f"file:{canary}",
        f"file://{root}/%2e%2e/canary.py",
        "%2e%2e/canary.py",
        "..%2fcanary.py",
        "pkg/config.py\x00../../canary.py",
        "..\\canary.py",
        "\uff0e\uff0e/canary.py",
        f"/proc/self/root{canary}",
        "~/../canary.py",
        "/etc/passwd",
        "/proc/self/environ",
        "/dev/zero",
        "/dev/stdin",
        ".env",
        ".env.local",
        ".git/config",
        ".git/hooks/secret.py",
        "ignored.py",
        "build/gen.py",
        ".",
        "..",
        "/",
        "",
        " ",
        "\x00",
        str(root),
        f"file://{root}",
    ]


def text_values(served) -> st.SearchStrategy[str]:
    hostile = [
        "*",
        "**",
        "**/*",
        "**/**/**/**/**/**/**/**/**/**/*",
        "[",
        "[]",
        "[!",
        "{a,b}",
        "{",
        "\\",
        "?*?*?*?*",
        "(a+)+$",
        "^(a|a)*$",
        ".*.*.*.*.*=.*",
        "(?P<x>",
        "\\d+\\w*",
        "%s%s%n",
        "'; DROP TABLE symbols; --",
        '" OR 1=1 --',
        "NEAR(a b)",
        'a" OR "b',
        "a*",
        "-a",
        "^",
        "AND",
        "OR NOT",
        '"',
        "''",
        "\u202e\u2066",
        "\ud800",
        "\udfff",
        "👋🌍",
        "é" * 50,
        "\n\r\t",
        "\x00\x01\x02",
        "a" * 2001,
        "x" * 100_000,
        "ldcfg",
        "load_config",
        "UploadClient.retry_upload",
        "python",
        "function",
        "method",
        "class",
    ]
    return st.one_of(
        st.sampled_from(hostile),
        st.sampled_from(hostile_paths(served.tmp)),
        st.sampled_from(served.paths + served.names + served.symbol_ids),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
        st.builds(lambda a, b: a + b, st.sampled_from(served.paths + hostile_paths(served.tmp)), st.text(max_size=8)),
    )


NUMBERS = st.one_of(
    st.integers(-5, 300),
    st.sampled_from([0, -1, 1, 200, 201, 5000, 5001, 50_000, 50_001, 2**31, 2**63, -(2**63), 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


def json_values(served) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), NUMBERS, text_values(served))
    return st.one_of(
        scalars,
        scalars,
        scalars,
        st.lists(scalars, max_size=4),
        st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    )


def plausible(served, key: str, in_range: bool = False) -> st.SearchStrategy[Any]:
    """A value of the right JSON type for `key`: within its schema's bounds when `in_range`, else
    often at or past their edges. Strings are hostile either way."""
    edges = {
        "limit": (st.integers(1, 200), [0, -1, 201, 5000, 5001, 2**63]),
        "max_tokens": (st.integers(200, 50_000), [199, 0, -5, 50_001, 10**30]),
        "line": (st.integers(1, 60), [0, -1, 2**31, 10**30]),
        "context": (st.integers(0, 10), [-1, 11, 2**31]),
    }
    if key in edges:
        inside, outside = edges[key]
        return inside if in_range else st.one_of(inside, inside, st.sampled_from(outside))
    if key in ("include_body", "regex"):
        return st.booleans()
    strings = text_values(served)
    if key == "pattern":
        # Regex-looking and pathological patterns beside the hostile strings.
        strings = st.one_of(
            strings,
            st.sampled_from(["(a*)*b", "(a|aa)*c", "[", "\\", "(?P<x>", "a{1000}{1000}", ".*", "^$", SECRET, CANARY]),
        )
    if in_range and key in ("query", "name", "symbol", "pattern"):
        strings = strings.filter(lambda v: v.strip() and len(v) <= 500)
    if key == "path":
        return st.one_of(st.sampled_from(served.paths), st.sampled_from(served.paths), strings)
    if key in ("name", "symbol"):
        return st.one_of(st.sampled_from(served.names + served.symbol_ids), strings)
    if key in ("lang", "kind"):
        return st.one_of(
            st.sampled_from(
                ["python", "javascript", "rust", "PYTHON", "function", "method", "class", "", "*", "%", "_"]
            ),
            strings,
        )
    return strings


@st.composite
def tool_call(draw, served, well_typed: bool = False) -> tuple[str, Any]:
    tool = draw(st.sampled_from(TOOLS if well_typed else TOOLS + ("no_such_tool",)))
    keys = KEYS.get(tool, ["query", "path"])
    required = {"query", "name", "path", "symbol", "pattern"} if well_typed else set()
    hostile = json_values(served)
    arguments = {}
    for key in keys:
        how = draw(st.integers(0, 9))
        if how == 0 and not (key in required and (tool != "get_symbol" or key == "path")):
            continue  # left out
        if how == 1 and not well_typed:
            arguments[key] = draw(hostile)  # any JSON value
        else:
            arguments[key] = draw(plausible(served, key, in_range=well_typed))
    if not well_typed and draw(st.integers(0, 9)) == 0:
        arguments[draw(st.text(max_size=12))] = draw(hostile)  # an argument no tool takes
    return tool, arguments


def served_text(result) -> str:
    """Everything a result carries, as text."""
    parts = []
    for block in result.content or []:
        parts.append(getattr(block, "text", "") or "")
        parts.append(json.dumps(block.model_dump(mode="json"), ensure_ascii=False))
    if result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _has_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    return False


def check_call(served, tool: str, arguments: Any) -> None:
    try:
        result = served.mcp.call(tool, arguments)
    except MCPError as exc:  # a JSON-RPC error: clean, as long as it is an error object
        assert isinstance(exc.error.code, int) and isinstance(exc.error.message, str)
        assert CANARY not in exc.error.message and SECRET not in exc.error.message
        note(f"{tool}: JSON-RPC error {exc.error.code}")
        event(f"{tool}: JSON-RPC error")
        return
    text = served_text(result)
    if not _has_surrogates(arguments):
        # What a real transport must send: pydantic refuses to write a lone surrogate as JSON.
        text.encode("utf-8")
    assert CANARY not in text, f"{tool}({arguments!r}) served the canary outside the root"
    assert SECRET not in text, f"{tool}({arguments!r}) served a file that is never served"
    if result.is_error:
        assert result.content and result.content[0].text, "an error result says what went wrong"
        note(f"{tool}: isError {result.content[0].text[:120]!r}")
        event(f"{tool}: isError")
        return
    assert isinstance(result.structured_content, dict), (tool, arguments)
    assert json.loads(result.content[0].text) == result.structured_content
    event(f"{tool}: result")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_every_tool_takes_any_arguments_cleanly(served, data):
    tool, arguments = data.draw(tool_call(served), label="call")
    check_call(served, tool, arguments)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_every_tool_takes_well_typed_hostile_values_cleanly(served, data):
    """Arguments the schemas accept, so that every call reaches the tool's own code."""
    tool, arguments = data.draw(tool_call(served, well_typed=True), label="call")
    check_call(served, tool, arguments)


@settings(
    max_examples=max(EXAMPLES // 3, 30),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_hostile_paths_never_leave_the_workspace(served, data):
    """Every tool that takes a path, given one built from traversal pieces."""
    pieces = st.sampled_from(
        ["..", ".", "pkg", "linkdir", "link_out.py", "canary.py", "ws", "ws-evil", "", "%2e%2e", "\x00", "~"]
    )
    rel = "/".join(data.draw(st.lists(pieces, min_size=1, max_size=6), label="pieces"))
    path = data.draw(
        st.sampled_from([rel, str(served.tmp / rel), f"file://{served.tmp}/{rel}", "/" + rel]), label="path"
    )
    tool = data.draw(st.sampled_from(["get_symbol", "file_outline", "callers", "callees", "search_code"]), label="tool")
    arguments: dict[str, Any] = {"path": path}
    if tool == "get_symbol":
        arguments["name"] = data.draw(st.sampled_from(["canary_outside", "load_config", "f"]), label="name")
    elif tool in ("callers", "callees"):
        arguments["symbol"] = data.draw(st.sampled_from(["canary_outside", "load_config"]), label="symbol")
    elif tool == "search_code":
        arguments["query"] = "canary outside"
    check_call(served, tool, arguments)


def test_server_still_answers_normal_calls_after_the_fuzzing(served):
    # Runs after the property tests in this module (pytest keeps file order).
    result = served.mcp.call("search_code", {"query": "read the settings file from disk"})
    assert not result.is_error and result.structured_content["results"]
    assert result.structured_content["results"][0]["name"] == "load_config"
    status = served.mcp.call("index_status", {})
    assert not status.is_error and status.structured_content["files"] > 0
    source = served.mcp.call("get_symbol", {"path": "pkg/config.py", "name": "load_config"})
    assert not source.is_error and "def load_config" in source.structured_content["source"]["text"]


# -- the stdio transport: JSON the SDK's parser refuses -----------------------------------------

# Valid JSON text that pydantic's parser (which the SDK's stdio transport uses) refuses: a lone
# surrogate escape, an integer of 5,000 digits, arrays nested past its recursion limit.
UNPARSEABLE_ARGUMENTS = [
    '{"query":"\\ud800 load"}',
    '{"query":"a","limit":1' + "0" * 5000 + "}",
    '{"query":"a","x":' + "[" * 300 + "]" * 300 + "}",
]


class StdioServer:
    def __init__(self, root: Path, index_dir: Path) -> None:
        import queue
        import subprocess

        from mcp_support import mcp_command, subprocess_env

        self.proc = subprocess.Popen(
            mcp_command(root, index_dir, "--no-watch"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=subprocess_env(),
        )
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()
        self.send(
            '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
            '"capabilities":{},"clientInfo":{"name":"fuzz","version":"0"}}}'
        )
        assert self.answer(0, 60) is not None, "no answer to initialize"
        self.send('{"jsonrpc":"2.0","method":"notifications/initialized"}')

    def send(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def call(self, msg_id: int, tool: str, arguments_json: str) -> None:
        self.send(
            f'{{"jsonrpc":"2.0","id":{msg_id},"method":"tools/call","params":{{"name":"{tool}","arguments":{arguments_json}}}}}'
        )

    def answer(self, msg_id: int | None, timeout: float) -> dict | None:
        """The next message answering `msg_id` (None: an error with id null), or None on timeout."""
        import queue

        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(self.lines.get(timeout=left))
            except queue.Empty:
                return None
            if message.get("id") == msg_id and ("result" in message or "error" in message):
                return message
        return None

    def close(self) -> None:
        from mcp_support import stop

        self.proc.stdin.close()
        stop(self.proc)


@pytest.fixture(scope="module")
def stdio_server(served):
    server = StdioServer(served.root, served.tmp / "idx-stdio")
    yield server
    server.close()


def test_stdio_server_survives_json_its_parser_refuses(stdio_server):
    for n, arguments in enumerate(UNPARSEABLE_ARGUMENTS):
        stdio_server.call(100 + n, "search_code", arguments)
    stdio_server.send('{"jsonrpc":"2.0","id":199,"method":"tools/call","params":')  # cut short
    for msg_id in range(200, 260):  # the first update may still be running: ask until it is done
        stdio_server.call(msg_id, "search_code", '{"query":"read the settings file from disk"}')
        answer = stdio_server.answer(msg_id, 60)
        assert answer is not None and stdio_server.proc.poll() is None, "the stdio server stopped answering"
        if "load_config" in answer["result"]["content"][0]["text"]:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"search never found load_config: {answer}")


def test_stdio_answers_a_request_it_cannot_parse(stdio_server):
    """The SDK's transport drops lines its strict parser refuses; symscope's stdin filter answers
    them with JSON-RPC errors instead of leaving the client to time out."""
    for n, arguments in enumerate(UNPARSEABLE_ARGUMENTS):
        stdio_server.call(300 + n, "search_code", arguments)
        answer = stdio_server.answer(300 + n, 10)
        assert answer is not None, f"no answer to {arguments[:40]!r}"
        assert answer["error"]["code"] in (-32600, -32700) and "could not be read" in answer["error"]["message"]
    stdio_server.send('{"jsonrpc":"2.0","id":399,"method":"tools/call","params":')  # cut short: no id to read
    stdio_server.call(400, "find_symbol", '{"name":"load_config"}')
    assert stdio_server.answer(400, 30)["result"]["content"], "the server stopped answering"
