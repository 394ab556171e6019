"""The MCP tools through the SDK's in-process client: shapes, answers, budgets and truncation notes.

Everything is real (Rust scanner, SQLite, LanceDB, the SDK's MCPServer and Client); the embedder is
the weightless HashingEmbedder so the suite stays fast.
"""

from __future__ import annotations

import json

import pytest
from mcp import Client
from mcp_support import Served, call, make_mcp_workspace, tokens

BIG_CLASS_METHODS = 600
LONG_FUNCTION_LINES = 3000
HOT_CALLERS = 120

EXTRA_FILES = {
    # A class too large for one default outline, with docstrings that would bloat an answer.
    "big/many.py": 'class Registry:\n    """Holds every handler."""\n\n'
    + "".join(
        f"    def handler_number_{i}(self, request, response, *, retries=3, timeout=30.0):\n"
        f'        """Handle request kind {i}."""\n        return hot_path(request, {i})\n\n'
        for i in range(BIG_CLASS_METHODS)
    )
    + "\n\ndef hot_path(request, n):\n    return n\n",
    # A function far longer than one default answer.
    "big/long.py": "def very_long_function(x):\n"
    + "".join(f"    x = x + {i}  # step {i} of the long computation\n" for i in range(LONG_FUNCTION_LINES))
    + "    return x\n",
    # Form feeds and U+2028 are not line ends for the parser, so not for get_symbol either.
    "odd/breaks.py": "x = 1  # \x0c form feed\ns = 'a\u2028b'\r\n\n\ndef after_odd_breaks():\n    return s\n",
    # Many callers of one function, spread over files.
    **{
        f"callers/c{i}.py": f"from big.many import hot_path\n\n\ndef caller_{i}(r):\n    return hot_path(r, {i})\n"
        for i in range(HOT_CALLERS)
    },
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp-tools")
    s = Served(make_mcp_workspace(tmp / "ws", EXTRA_FILES), tmp / "idx")
    yield s
    s.close()


async def test_tools_are_listed_with_descriptions_schemas_and_read_only_hints(served):
    async with Client(served.server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == {
            "search_code",
            "find_symbol",
            "get_symbol",
            "file_outline",
            "callers",
            "callees",
            "search_text",
            "related_code",
            "index_status",
        }
        for tool in tools.values():
            assert len(tool.description) > 80, tool.name  # tells an agent when to use it
            assert tool.output_schema and tool.output_schema.get("type") == "object", tool.name
            assert tool.annotations.read_only_hint is True
        props = tools["search_code"].input_schema["properties"]
        assert props["limit"]["maximum"] == 200 and props["max_tokens"]["maximum"] == 50_000
        assert tools["search_code"].input_schema["required"] == ["query"]
        assert set(tools["get_symbol"].input_schema["properties"]) >= {
            "path",
            "name",
            "line",
            "include_body",
            "max_tokens",
        }


async def test_search_code_returns_located_explained_results(served):
    async with Client(served.server) as client:
        err, data, text = await call(client, "search_code", query="read the settings file from disk")
        assert not err
        assert json.loads(text) == data  # the text block carries the same data
        top = data["results"][0]
        assert (top["path"], top["name"], top["start_line"], top["end_line"]) == ("pkg/config.py", "load_config", 5, 8)
        assert top["kind"] == "function" and top["language"] == "python"
        assert top["why"] and top["freshness"] == "indexed" and len(top["symbol_id"]) == 24
        assert "Read the settings file" in top["snippet"]
        assert data["search_mode"] == "hybrid"


async def test_search_code_filters(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "search_code", query="user name", lang="javascript")
        assert data["results"] and {r["language"] for r in data["results"]} == {"javascript"}
        _, data, _ = await call(client, "search_code", query="config", path="pkg/**", kind="function")
        assert data["results"] and all(
            r["path"].startswith("pkg/") and r["kind"] == "function" for r in data["results"]
        )


async def test_find_symbol_fuzzy(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "find_symbol", name="ldcfg")
        assert data["results"][0]["qualified_name"] == "load_config"
        _, data, _ = await call(client, "find_symbol", name="UploadClient.retry_upload")
        assert data["results"][0]["qualified_name"] == "UploadClient.retry_upload"
        _, data, _ = await call(client, "find_symbol", name="zzzqqqxxx")
        assert data["results"] == [] and "truncated" not in data


async def test_get_symbol_by_name_and_by_line(served):
    async with Client(served.server) as client:
        err, data, _ = await call(client, "get_symbol", path="pkg/upload.py", name="UploadClient.retry_upload")
        assert not err
        assert data["source"] == {
            "path": "pkg/upload.py",
            "start_line": 7,
            "end_line": 11,
            "text": "    def retry_upload(self, data, attempts=3):\n        for _ in range(attempts):\n"
            "            if self.send_chunk(data):\n                return True\n        return False",
        }
        assert data["freshness"] == "indexed"
        _, by_line, _ = await call(client, "get_symbol", path="pkg/upload.py", line=9)
        assert by_line["qualified_name"] == "UploadClient.retry_upload"  # the innermost definition
        _, doc_only, _ = await call(client, "get_symbol", path="pkg/config.py", name="load_config", include_body=False)
        assert "source" not in doc_only
        assert doc_only["doc"].startswith("Read the settings file")


async def test_get_symbol_lines_count_only_newlines(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "get_symbol", path="odd/breaks.py", name="after_odd_breaks")
        assert data["start_line"] == 5
        assert data["source"]["text"] == "def after_odd_breaks():\n    return s"


async def test_get_symbol_errors_say_what_to_do(served):
    async with Client(served.server) as client:
        err, _, text = await call(client, "get_symbol", path="pkg/upload.py")
        assert err and "name" in text and "line" in text
        err, _, text = await call(client, "get_symbol", path="pkg/upload.py", name="no_such_thing")
        assert err and "file_outline" in text


async def test_file_outline_nests_members(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "file_outline", path="pkg/upload.py")
        assert data["language"] == "python" and data["freshness"] == "indexed"
        (cls,) = data["symbols"]
        assert (cls["name"], cls["kind"], cls["start_line"], cls["end_line"]) == ("UploadClient", "class", 4, 15)
        assert [m["name"] for m in cls["children"]] == ["retry_upload", "send_chunk"]


async def test_callers_and_callees_label_how_edges_were_resolved(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "callees", symbol="UploadClient.retry_upload")
        (edge,) = data["edges"]
        assert (edge["qualified_name"], edge["resolution"], edge["call_line"]) == (
            "UploadClient.send_chunk",
            "same-file",
            9,
        )
        _, data, _ = await call(client, "callers", symbol="load_config", path="pkg/config.py")
        assert data["symbol"]["path"] == "pkg/config.py"
        edge = next(e for e in data["edges"] if e["name"] == "send_chunk")
        assert edge["resolution"] == "import" and edge["call_path"] == "pkg/upload.py" and edge["call_line"] == 14
        _, data, _ = await call(client, "callers", symbol="listenOn")
        assert data["edges"][0]["resolution"] == "same-file"
        # a symbol_id from another answer works too
        _, found, _ = await call(client, "find_symbol", name="send_chunk")
        _, by_id, _ = await call(client, "callees", symbol=found["results"][0]["symbol_id"])
        assert by_id["symbol"]["qualified_name"] == "UploadClient.send_chunk"
        assert {e["name"] for e in by_id["edges"]} == {"load_config"}
        err, _, text = await call(client, "callers", symbol="definitely_not_defined_anywhere")
        assert err and "find_symbol" in text


async def test_index_status(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "index_status")
        status = served.index.status()
        assert data["files"] == status.files and data["symbols"] == status.symbols > 600
        assert data["vectors"] == status.symbols and data["pending_embeddings"] == 0
        assert data["role"] == "writer" and data["model"] == "hashing-64" and data["freshness"] == "up to date"


# -- budgets ------------------------------------------------------------------------------------


DEFAULT_CALLS = [
    ("search_code", {"query": "handle request kind"}),
    ("find_symbol", {"name": "handler"}),
    ("get_symbol", {"path": "big/long.py", "name": "very_long_function"}),
    ("file_outline", {"path": "big/many.py"}),
    ("callers", {"symbol": "hot_path"}),
    ("callees", {"symbol": "Registry.handler_number_1"}),
    ("index_status", {}),
]


@pytest.mark.parametrize(("tool", "args"), DEFAULT_CALLS, ids=[c[0] for c in DEFAULT_CALLS])
async def test_defaults_stay_under_8000_tokens(served, tool, args):
    async with Client(served.server) as client:
        err, _, text = await call(client, tool, **args)
        assert not err
        assert tokens(text) <= 8000


@pytest.mark.parametrize("max_tokens", [200, 500, 1500])
async def test_max_tokens_is_honoured_with_a_note_saying_how_much_more_exists(served, max_tokens):
    async with Client(served.server) as client:
        for tool, args in DEFAULT_CALLS[:5]:
            err, data, text = await call(client, tool, max_tokens=max_tokens, **args)
            assert not err, text
            assert tokens(text) <= max_tokens, (tool, tokens(text))
            assert "truncated" in data, tool


async def test_truncation_notes_count_what_was_left_out(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "find_symbol", name="handler_number", limit=50, max_tokens=600)
        t = data["truncated"]
        assert t["shown"] == len(data["results"]) and t["omitted"] == 50 - t["shown"] > 0
        assert t["more_beyond_limit"] is True and "max_tokens" in t["note"] and "limit" in t["note"]

        _, data, _ = await call(client, "callers", symbol="hot_path")
        assert len(data["edges"]) == 20 and data["truncated"]["more_beyond_limit"] is True
        _, data, _ = await call(client, "callers", symbol="hot_path", limit=200, max_tokens=50_000)
        assert len(data["edges"]) == 200  # 600 methods + 120 functions call it
        assert data["truncated"]["omitted"] == 0 and data["truncated"]["more_beyond_limit"] is True
        _, data, _ = await call(client, "callers", symbol="listenOn", limit=5)
        assert len(data["edges"]) == 1 and "truncated" not in data

        _, data, _ = await call(client, "get_symbol", path="big/long.py", name="very_long_function")
        assert data["source"]["start_line"] == 1 and data["source"]["end_line"] < LONG_FUNCTION_LINES
        assert f"of 1-{LONG_FUNCTION_LINES + 2}" in data["truncated"] and "more lines" in data["truncated"]
        _, full, _ = await call(client, "get_symbol", path="big/long.py", name="very_long_function", max_tokens=50_000)
        assert "truncated" not in full and full["source"]["end_line"] == LONG_FUNCTION_LINES + 2


async def test_outline_drops_nested_members_first(served):
    async with Client(served.server) as client:
        _, data, _ = await call(client, "file_outline", path="big/many.py")
        t = data["truncated"]
        assert "nested members" in t["note"] and t["omitted"] > 0
        assert [s["name"] for s in data["symbols"]] == ["Registry", "hot_path"]  # every top-level symbol kept
        _, small, _ = await call(client, "file_outline", path="big/many.py", limit=1)
        assert len(small["symbols"]) == 1 and small["truncated"]["shown"] == 1
        _, whole, _ = await call(client, "file_outline", path="big/many.py", limit=5000, max_tokens=50_000)
        assert "truncated" not in whole and len(whole["symbols"][0]["children"]) == BIG_CLASS_METHODS


async def test_bad_arguments_are_clear_errors(served):
    async with Client(served.server) as client:
        for tool, args in [
            ("search_code", {"query": "x", "limit": 0}),
            ("search_code", {"query": "x", "max_tokens": 10}),
            ("search_code", {"query": ""}),
            ("find_symbol", {"name": "x", "limit": 10_000}),
            ("get_symbol", {"path": "pkg/config.py", "line": 0}),
            ("get_symbol", {"name": "x"}),
        ]:
            err, _, text = await call(client, tool, **args)
            assert err and text, (tool, args)
        # and the server still answers
        err, data, _ = await call(client, "find_symbol", name="load_config")
        assert not err and data["results"]


async def test_source_changed_on_disk_is_read_fresh_and_marked(served):
    path = served.root / "web" / "user.js"
    original = path.read_bytes()
    try:
        path.write_bytes(b"// moved down by two lines\n\n" + original)
        async with Client(served.server) as c:
            _, data, _ = await call(c, "get_symbol", path="web/user.js", name="getUserName")
            assert data["freshness"].startswith("changed on disk")
            assert data["source"]["start_line"] == 4 and data["source"]["text"].startswith("function getUserName")
            _, outline, _ = await call(c, "file_outline", path="web/user.js")
            assert outline["freshness"].startswith("changed on disk")
    finally:
        path.write_bytes(original)


async def test_legacy_handshake_client_works_too(served):
    async with Client(served.server, mode="legacy") as c:
        err, data, _ = await call(c, "find_symbol", name="HttpServer")
        assert not err and data["results"][0]["kind"] == "class"


async def test_the_tool_list_stays_small(served):
    """Every agent session pays for tools/list in its context: under 2,500 tokens (~4 chars each)."""
    async with Client(served.server) as client:
        tools = (await client.list_tools()).tools
    size = sum(
        len(json.dumps(t.model_dump(mode="json", exclude_none=True, by_alias=True), separators=(",", ":")))
        for t in tools
    )
    assert size < 10_000, size
    # The compact form still tells a client what every tool takes and answers.
    for tool in tools:
        assert "title" not in json.dumps(tool.input_schema)
        assert tool.output_schema["type"] == "object" and tool.output_schema["properties"], tool.name
    assert tools[0].input_schema["properties"]["lang"]["type"] == "string"


async def test_related_code_by_position(served):
    async with Client(served.server) as client:
        is_error, data, _ = await call(client, "related_code", path="pkg/upload.py", line=9)
        assert not is_error and data["symbol"]["qualified_name"] == "UploadClient.retry_upload"
        assert data["results"][0]["qualified_name"] == "UploadClient.send_chunk"
        assert all(r["symbol_id"] != data["symbol"]["symbol_id"] for r in data["results"])
        is_error, _, text = await call(client, "related_code", path="pkg/upload.py", line=2)
        assert is_error and "no indexed definition" in text
        is_error, _, text = await call(client, "related_code", path="../outside.py", line=1)
        assert is_error
