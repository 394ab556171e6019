"""Security of the MCP server: path confinement (a traversal corpus against a canary outside the
root), ignored files, the HTTP guard (foreign Host 421, foreign Origin 403, bearer token 401,
loopback only), and a stdio server that survives garbage."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import time
from urllib.parse import quote

import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_support import (
    CANARY_SOURCE,
    HIDDEN_FILES,
    Served,
    call,
    leaks,
    make_mcp_workspace,
    make_traversal_layout,
    mcp_command,
    path_calls,
    stop,
    subprocess_env,
    traversal_corpus,
)

from lsp_server.mcp.http import HttpGuard, parse_http_address, serve_http_in_thread


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp-security")
    root = make_traversal_layout(tmp)
    s = Served(root, tmp / "idx")
    s.tmp = tmp
    yield s
    s.close()


async def test_traversal_corpus_leaks_nothing_in_process(served):
    corpus = traversal_corpus(served.tmp)
    assert len(corpus) >= 45
    async with Client(served.server) as client:
        for path in corpus:
            for tool, args in path_calls(path):
                err, data, text = await call(client, tool, **args)
                assert err, (tool, path, text)
                assert not leaks(text, data), (tool, path)
        # The canary is nowhere in search either.
        for tool, args in [
            ("search_code", {"query": "canary function outside the root"}),
            ("search_code", {"query": "canary", "path": "../*"}),
            ("find_symbol", {"name": "canary_function"}),
        ]:
            err, data, text = await call(client, tool, **args)
            assert not err and not leaks(text, data)


async def test_refusals_name_the_reason(served):
    async with Client(served.server) as client:
        for path, why in [
            ("../canary.py", "outside the workspace"),
            ("link_out.py", "outside the workspace"),
            (f"{served.root}-secret/canary.py", "outside the workspace"),
            ("pkg/config.py\x00x", "NUL"),
            (".env", "ignored"),
            ("missing.py", "not an indexed file"),
        ]:
            err, _, text = await call(client, "file_outline", path=path)
            assert err and why in text, (path, text)


async def test_ignored_files_are_never_served(served):
    for rel in HIDDEN_FILES:
        assert (served.root / rel).exists()
    async with Client(served.server) as client:
        for rel in HIDDEN_FILES:
            for path in (rel, str(served.root / rel), f"pkg/../{rel}", f"file://{served.root / rel}"):
                for tool, args in path_calls(path):
                    err, data, text = await call(client, tool, **args)
                    assert err and not leaks(text, data), (tool, path)
        for tool, args in [
            ("search_code", {"query": "secret hook ignored generated API key token"}),
            ("find_symbol", {"name": "ignored_function"}),
            ("find_symbol", {"name": "secret_hook"}),
        ]:
            err, data, text = await call(client, tool, **args)
            assert not err and not leaks(text, data)


class _IndexKnowingEverything:
    """The worst case for confinement: an index that claims to know every path."""

    def generation(self):
        return 0

    class store:
        @staticmethod
        def known_files():
            class Everything(dict):
                def __contains__(self, key):
                    return True

                def get(self, key, default=None):
                    return (0, 0, "")

            return Everything()


def test_confinement_alone_refuses_every_escape(served):
    from lsp_server.mcp.confinement import PathRefused, Workspace

    tmp, root = served.tmp, served.root
    canary = str(tmp / "canary.py")
    ws = Workspace(root, _IndexKnowingEverything())
    escapes = [
        "../canary.py",
        "pkg/../../canary.py",
        canary,
        f"{root}-secret/canary.py",
        "../ws-secret/canary.py",
        "link_out.py",
        "linkdir/canary.py",
        "pkg/link_up/canary.py",
        f"file://{canary}",
        f"file://{quote(canary)}",
        f"file://{root}/%2e%2e/canary.py",
        f"/proc/self/root{canary}",
        "pkg/config.py\x00../../canary.py",
        ".env",
        ".git/config",
        f"file://evil.example{canary}",
        "",
        ".",
        "/",
    ]
    for path in escapes:
        with pytest.raises(PathRefused):
            ws.relative(path)
    root_real = os.path.realpath(root)
    for path in traversal_corpus(tmp):
        try:
            rel = ws.relative(path)
        except PathRefused:
            continue
        # What passes is a name inside the root ("....//x", "%2e%2e/x" are legal file names there).
        real = os.path.realpath(os.path.join(root_real, rel))
        assert os.path.commonpath([real, root_real]) == root_real, path
        with pytest.raises(PathRefused):  # and nothing by that name exists
            ws.read_bytes(rel, 1 << 20)
    assert ws.relative("alias.py") == "pkg/config.py"


def test_read_refuses_a_file_swapped_for_a_symlink_after_the_check(served):
    from lsp_server.mcp.confinement import PathRefused, Workspace

    ws = Workspace(served.root, _IndexKnowingEverything())
    with pytest.raises(PathRefused):  # the last component is a symlink: O_NOFOLLOW
        ws.read_bytes("link_out.py", 1 << 20)
    with pytest.raises(PathRefused, match="outside the workspace"):  # a directory component is one
        ws.read_bytes("linkdir/canary.py", 1 << 20)
    assert b"def load_config" in ws.read_bytes("pkg/config.py", 1 << 20)


async def test_indexed_file_later_replaced_by_a_symlink_out_is_refused(tmp_path):
    root = make_mcp_workspace(tmp_path / "ws", {"swap.py": "def swapped():\n    return 1\n"})
    (tmp_path / "canary.py").write_text(CANARY_SOURCE)
    s = Served(root, tmp_path / "idx")
    try:
        (root / "swap.py").unlink()
        os.symlink(tmp_path / "canary.py", root / "swap.py")
        async with Client(s.server) as client:
            for tool, args in path_calls("swap.py") + [
                ("search_code", {"query": "swapped"}),
                ("find_symbol", {"name": "swapped"}),
            ]:
                _, data, text = await call(client, tool, **args)
                assert not leaks(text, data), tool
            _, data, _ = await call(client, "find_symbol", name="swapped")
            assert data["results"] == []  # the hit now points out of the root: left out
    finally:
        s.close()


async def test_symlink_inside_the_root_and_absolute_paths_inside_work(served):
    async with Client(served.server) as client:
        for path in (
            "alias.py",
            str(served.root / "pkg" / "config.py"),
            f"file://{served.root}/pkg/config.py",
            "pkg/./config.py",
            "web/../pkg/config.py",
            f"file://{quote(str(served.root))}/pkg/config.py",
        ):
            err, data, text = await call(client, "get_symbol", path=path, name="load_config")
            assert not err, (path, text)
            assert data["path"] == "pkg/config.py" and "json.load" in data["source"]["text"]


async def test_traversal_over_streamable_http_leaks_nothing(served):
    thread = serve_http_in_thread(served.server, "127.0.0.1", 0)
    try:
        async with Client(thread.url) as client:
            for path in traversal_corpus(served.tmp):
                err, data, text = await call(client, "get_symbol", path=path, name="canary_function")
                assert err and not leaks(text, data), path
            err, data, _ = await call(client, "get_symbol", path="pkg/config.py", name="load_config")
            assert not err and data["name"] == "load_config"
    finally:
        thread.stop()


# -- HTTP guard ---------------------------------------------------------------------------------

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def _post(port: int, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "POST",
            "/mcp",
            body=json.dumps(INIT),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                **headers,
            },
        )
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def http_server(served):
    thread = serve_http_in_thread(served.server, "127.0.0.1", 0, allowed_origins=["https://app.example"])
    yield thread
    thread.stop()


HEADER_CASES = [
    ({"Host": "evil.example:{port}"}, 421),  # DNS rebinding: the attacker's name, our address
    ({"Host": "evil.example"}, 421),
    ({"Host": "127.0.0.1:1"}, 421),  # another port
    ({"Host": "127.0.0.1.evil.example:{port}"}, 421),
    ({"Host": "localhost:{port}@evil.example"}, 421),
    ({"Host": ""}, 421),
    ({"Host": "127.0.0.1:{port}", "Origin": "http://evil.example"}, 403),
    ({"Host": "127.0.0.1:{port}", "Origin": "https://evil.example:{port}"}, 403),
    ({"Host": "127.0.0.1:{port}", "Origin": "null"}, 403),
    ({"Host": "127.0.0.1:{port}", "Origin": "http://localhost.evil.example"}, 403),
    ({"Host": "127.0.0.1:{port}", "Origin": "http://127.0.0.1@evil.example"}, 403),
    ({"Host": "127.0.0.1:{port}"}, 200),
    ({"Host": "localhost:{port}", "Origin": "http://localhost:5173"}, 200),
    ({"Host": "[::1]:{port}", "Origin": "http://127.0.0.1:{port}"}, 200),
    ({"Host": "127.0.0.1:{port}", "Origin": "https://app.example"}, 200),  # --allow-origin
]


@pytest.mark.parametrize(("headers", "status"), HEADER_CASES)
def test_http_rejects_foreign_host_and_origin(http_server, headers, status):
    filled = {k: v.format(port=http_server.port) for k, v in headers.items()}
    got, body = _post(http_server.port, filled)
    assert got == status, body
    if status != 200:
        assert "serverInfo" not in body


async def test_bearer_token_is_required_when_set(served):
    token = "s3cret-token-for-tests"
    thread = serve_http_in_thread(served.server, "127.0.0.1", 0, token=token)
    try:
        host = {"Host": f"127.0.0.1:{thread.port}"}
        assert _post(thread.port, host)[0] == 401
        assert _post(thread.port, {**host, "Authorization": "Bearer wrong"})[0] == 401
        assert _post(thread.port, {**host, "Authorization": f"Basic {token}"})[0] == 401
        assert _post(thread.port, {**host, "Authorization": f"Bearer {token}"})[0] == 200
        # The foreign-origin check comes first, token or not.
        assert (
            _post(thread.port, {**host, "Origin": "http://evil.example", "Authorization": f"Bearer {token}"})[0] == 403
        )
        # A real client with the header works.
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
            streamable_http_client(thread.url, http_client=http) as (read, write, *_),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            res = await session.call_tool("find_symbol", {"name": "load_config"})
            assert not res.is_error and res.structured_content["results"]
    finally:
        thread.stop()


def test_http_binds_loopback_and_refuses_other_addresses_without_a_token(served):
    thread = serve_http_in_thread(served.server)
    try:
        assert thread.host == "127.0.0.1"
    finally:
        thread.stop()
    with pytest.raises(ValueError, match="without a bearer token"):
        serve_http_in_thread(served.server, "0.0.0.0", 0)


def test_cli_refuses_non_loopback_http_without_token(served, tmp_path):
    done = subprocess.run(
        mcp_command(served.root, tmp_path / "idx", "--http", "0.0.0.0:0"),
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(SYMSCOPE_MCP_TOKEN=""),
    )
    assert done.returncode != 0 and "needs a bearer token" in done.stderr
    assert done.stdout == ""


def test_http_address_parsing():
    assert parse_http_address("8765") == ("127.0.0.1", 8765)
    assert parse_http_address("localhost:9") == ("localhost", 9)
    assert parse_http_address("[::1]:9") == ("::1", 9)
    for bad in ("", "host", "host:", "host:x", "1:2:3", "[::1", "h:70000"):
        with pytest.raises(ValueError):
            parse_http_address(bad)


@pytest.mark.parametrize(("headers", "status"), HEADER_CASES)
async def test_guard_alone_rejects_foreign_host_and_origin(headers, status):
    """The ASGI guard by itself (the SDK's own check is a second layer behind it)."""
    port = 8123
    reached = []

    async def app(scope, receive, send):
        reached.append(scope)

    sent = []

    async def send(message):
        sent.append(message)

    guard = HttpGuard(app, port=port, origins=["https://app.example"])
    raw = [(k.lower().encode(), v.format(port=port).encode()) for k, v in headers.items()]
    await guard({"type": "http", "headers": raw}, None, send)
    if status == 200:
        assert reached and not sent
    else:
        assert not reached and sent[0]["status"] == status
    token_guard = HttpGuard(app, port=port, token="t0k")
    sent.clear()
    reached.clear()
    await token_guard({"type": "http", "headers": [(b"host", f"localhost:{port}".encode())]}, None, send)
    assert sent[0]["status"] == 401 and not reached
    await token_guard(
        {"type": "http", "headers": [(b"host", f"localhost:{port}".encode()), (b"authorization", b"Bearer t0k")]},
        None,
        send,
    )
    assert reached


async def test_guard_passes_lifespan_and_checks_websocket_scopes():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    guard = HttpGuard(app, port=5)
    await guard({"type": "lifespan"}, None, None)
    sent = []

    async def send(msg):
        sent.append(msg)

    await guard({"type": "http", "headers": [(b"host", b"evil:5")]}, None, send)
    assert seen == ["lifespan"] and sent[0]["status"] == 421


# -- stdio robustness ---------------------------------------------------------------------------


def _rpc(proc, message: dict, want_id=None, timeout=30.0) -> dict | None:
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    if want_id is None:
        return None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"server closed stdout; stderr: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        msg = json.loads(line)  # every stdout line must be a protocol frame
        if msg.get("id") == want_id:
            return msg
    raise AssertionError("no response")


GARBAGE = [
    b"this is not json\n",
    b"{\n",
    b"}\n",
    b"[]\n",
    b"null\n",
    b"42\n",
    b'"just a string"\n',
    b'{"jsonrpc": "2.0"}\n',
    b'{"jsonrpc": "1.0", "id": 5, "method": "tools/list"}\n',
    b'{"jsonrpc": "2.0", "id": 6, "method": 7}\n',
    b"\xff\xfe\x00\x01 binary \x80\x81\n",
    b"\x00\x00\x00\n",
    b"Content-Length: 52\r\n\r\n",
    b"x" * 200_000 + b"\n",
    b"\n",
    b"\r\n",
]


def test_garbage_on_stdio_does_not_kill_the_server(served, tmp_path):
    proc = subprocess.Popen(
        mcp_command(served.root, served.index_dir, "--readonly"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        for junk in GARBAGE:
            proc.stdin.write(junk)
        proc.stdin.flush()
        init = _rpc(proc, INIT, want_id=1)
        assert init["result"]["serverInfo"]["name"] == "symscope"
        _rpc(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        for junk in GARBAGE:
            proc.stdin.write(junk)
        proc.stdin.flush()
        _rpc(proc, {"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}, want_id=2)
        bad = _rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "get_symbol", "arguments": {"path": {"not": "a string"}}},
            },
            want_id=3,
        )
        assert bad.get("error") or bad["result"]["isError"]
        res = _rpc(
            proc,
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "tools/call",
                "params": {"name": "find_symbol", "arguments": {"name": "load_config"}},
            },
            want_id=4,
        )
        assert res["result"]["structuredContent"]["results"][0]["name"] == "load_config"
        assert proc.poll() is None
    finally:
        proc.stdin.close()
        try:
            assert proc.wait(20) == 0  # EOF on stdin: a clean exit
        finally:
            stop(proc)
