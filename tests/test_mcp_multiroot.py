"""`symscope mcp --root A --root B`: one index per root, every tool across roots, paths named
`<root name>/<path inside the root>`, confinement per root, nested roots served from the outer
index. Real `symscope mcp` processes driven by the SDK's client over stdio (Rust scanner, SQLite,
LanceDB, the weightless hashing embedder), plus the pure parts (names, plans, globs) in-process.

Both roots are called `ws` on disk (tmp/one/ws, tmp/two/ws), so the second is named `ws-2`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from index_support import write_files
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp_support import (
    HIDDEN_FILES,
    call,
    leaks,
    make_traversal_layout,
    mcp_command,
    path_calls,
    subprocess_env,
    traversal_corpus,
)

from lsp_server.config import Settings, default_index_dir
from lsp_server.mcp.roots import unique_names
from lsp_server.multiroot import plan_folders

A, B = "ws", "ws-2"

BILLING = {
    "billing/discounts.py": '''
        def apply_discount(amount, rate=0.1):
            """Take the discount rate off an amount."""
            return amount * (1 - rate)
        ''',
    "billing/invoice.py": '''
        from billing.discounts import apply_discount

        INVOICE_CURRENCY = "EUR"


        class InvoiceLedger:
            """Keeps the invoices of one customer."""

            def total_due(self, items):
                return sum(apply_discount(item) for item in items)


        def compute_invoice_total(items):
            return InvoiceLedger().total_due(items)
        ''',
}


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """Two roots with the traversal layout each (canary beside each root, symlinks out); the second
    holds the billing code instead of the sample files, plus a symlink into the first root."""
    tmp = tmp_path_factory.mktemp("mcp-multiroot")
    one = make_traversal_layout(tmp / "one")
    two_dir = tmp / "two"
    two = make_traversal_layout(two_dir)
    for rel in ("pkg/config.py", "pkg/upload.py", "web/user.js", "src/parse.rs"):
        (two / rel).unlink(missing_ok=True)
    write_files(two, BILLING)
    os.symlink(one / "pkg" / "config.py", two / "into_one.py")  # leads out of B into A
    return tmp, one, two


def stdio_server(roots: list[Path], index_dir: Path, *extra: str) -> StdioServerParameters:
    cmd = mcp_command(roots[0], index_dir, *extra)
    for root in roots[1:]:
        cmd += ["--root", str(root)]
    return StdioServerParameters(command=cmd[0], args=cmd[1:], env=subprocess_env())


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")  # setLevel: handshake era
async def test_every_tool_works_across_two_roots(layout):
    tmp, one, two = layout
    index_dir = tmp / "idx-tools"
    log_messages: list[str] = []

    async def on_log(params) -> None:
        log_messages.append(str(params.data))

    async with (
        stdio_client(stdio_server([one, two], index_dir)) as (read, write),
        ClientSession(read, write, logging_callback=on_log) as client,
    ):
        init = await client.initialize()
        assert f"{A}: {one}" in init.instructions and f"{B}: {two}" in init.instructions
        assert "<root name>/<path inside that root>" in init.instructions

        # search_code and find_symbol: one symbol from each root, paths prefixed by the root name.
        err, data, _ = await call(client, "search_code", query="upload retry")
        assert not err and data["results"][0]["qualified_name"] == "UploadClient.retry_upload"
        assert data["results"][0]["path"] == f"{A}/pkg/upload.py"
        err, data, _ = await call(client, "search_code", query="invoice ledger total due")
        assert not err and data["results"][0]["path"] == f"{B}/billing/invoice.py"
        assert "InvoiceLedger" in {r["qualified_name"] for r in data["results"]}
        err, data, _ = await call(client, "find_symbol", name="load_config")
        assert not err and data["results"][0]["path"] == f"{A}/pkg/config.py"
        err, data, _ = await call(client, "find_symbol", name="InvoiceLedger")
        assert not err and data["results"][0]["path"] == f"{B}/billing/invoice.py"
        ledger_id = data["results"][0]["symbol_id"]
        # A glob starting with a root name searches that root only.
        err, data, _ = await call(client, "search_code", query="invoice discount", path=f"{B}/**")
        assert not err and data["results"] and all(r["path"].startswith(f"{B}/") for r in data["results"])

        # get_symbol / file_outline on the second root's file, by prefixed and by absolute path.
        for path in (f"{B}/billing/invoice.py", str(two / "billing" / "invoice.py")):
            err, data, text = await call(client, "get_symbol", path=path, name="InvoiceLedger.total_due")
            assert not err, text
            assert data["path"] == f"{B}/billing/invoice.py" and data["source"]["path"] == data["path"]
            assert "apply_discount(item) for item in items" in data["source"]["text"]
        err, data, _ = await call(client, "file_outline", path=f"{B}/billing/invoice.py")
        assert not err and data["path"] == f"{B}/billing/invoice.py"
        names = {n["name"]: n for n in data["symbols"]}
        assert {"InvoiceLedger", "compute_invoice_total"} <= set(names)
        assert [c["name"] for c in names["InvoiceLedger"]["children"]] == ["total_due"]

        # search_text: root by root; hits carry their root's prefix.
        err, data, _ = await call(client, "search_text", pattern="INVOICE_CURRENCY")
        assert not err and [h["path"] for h in data["hits"]] == [f"{B}/billing/invoice.py"]
        err, data, _ = await call(client, "search_text", pattern="def ", limit=200)
        assert not err
        prefixes = {h["path"].split("/")[0] for h in data["hits"]}
        assert prefixes == {A, B}
        err, data, _ = await call(client, "search_text", pattern="def ", limit=1)
        assert not err and len(data["hits"]) == 1 and data["hits"][0]["path"].startswith(f"{A}/")
        assert f"roots not searched: {B}" in data["truncated"]
        err, data, _ = await call(client, "search_text", pattern="def ", path=f"{B}/billing/*.py")
        assert not err and data["hits"] and all(h["path"].startswith(f"{B}/billing/") for h in data["hits"])

        # related_code, callers and callees use the root holding the file.
        err, data, text = await call(client, "related_code", path=f"{B}/billing/invoice.py", line=10)
        assert not err, text
        assert data["symbol"]["qualified_name"] == "InvoiceLedger.total_due"
        assert data["symbol"]["path"] == f"{B}/billing/invoice.py"
        assert data["results"] and all(r["path"].startswith(f"{B}/") for r in data["results"])
        assert "apply_discount" in {r["qualified_name"] for r in data["results"]}
        err, data, _ = await call(client, "callers", symbol="apply_discount", path=f"{B}/billing/discounts.py")
        assert not err and data["symbol"]["path"] == f"{B}/billing/discounts.py"
        edge = next(e for e in data["edges"] if e["qualified_name"] == "InvoiceLedger.total_due")
        assert edge["path"] == edge["call_path"] == f"{B}/billing/invoice.py"
        err, data, _ = await call(client, "callers", symbol="apply_discount")  # by name, no path
        assert not err and data["symbol"]["path"] == f"{B}/billing/discounts.py"
        err, data, _ = await call(client, "callees", symbol=ledger_id)
        assert not err and data["symbol"]["qualified_name"] == "InvoiceLedger"
        err, data, _ = await call(client, "callees", symbol="InvoiceLedger.total_due")
        assert not err and [e["qualified_name"] for e in data["edges"]] == ["apply_discount"]
        assert data["edges"][0]["path"] == f"{B}/billing/discounts.py"
        err, data, _ = await call(client, "callers", symbol="load_config", path=f"{A}/pkg/config.py")
        assert not err and all(e["path"].startswith(f"{A}/") for e in data["edges"]) and data["edges"]

        # Paths that leave the root they name, or name no root, are refused.
        for path, why in [
            (f"{B}/../../one/ws/pkg/config.py", f"outside the workspace root {B!r}"),  # lands inside A
            (f"{B}/into_one.py", f"outside the workspace root {B!r}"),  # a symlink from B into A
            (f"{B}/../ws-secret/canary.py", f"outside the workspace root {B!r}"),
            ("pkg/config.py", f"starts with a root name ({A}, {B})"),
            (f"{B}/pkg/config.py", "not an indexed file"),  # A's file is not in B
            (f"{B}/.env", "ignored"),
            (str(tmp / "canary.py"), "outside the workspace roots"),
        ]:
            err, data, text = await call(client, "get_symbol", path=path, name="load_config")
            assert err and why in text, (path, text)
            assert not leaks(text, data)

        # index_status reports each root; the top level adds them up.
        err, data, _ = await call(client, "index_status")
        assert not err
        listed = {r["name"]: r for r in data["roots"]}
        assert list(listed) == [A, B]
        assert listed[A]["root"] == str(one) and listed[B]["root"] == str(two)
        assert listed[A]["files"] >= 4 and listed[B]["files"] >= 2
        assert data["files"] == listed[A]["files"] + listed[B]["files"]
        # An explicit index directory belongs to the first root; the second gets its own below
        # it, named as the language server names it, so each index is the one it would be alone.
        assert listed[A]["index_dir"] == str(index_dir)
        assert listed[B]["index_dir"] == str(index_dir / "folders" / default_index_dir(two).name)

        # Log notifications say which root they are about.
        deadline = time.monotonic() + 60
        while any(r["state"] != "ready" for r in (await call(client, "index_status"))[1]["roots"]):
            assert time.monotonic() < deadline, "the indexes never became ready"
            await asyncio.sleep(0.1)
        await client.set_logging_level("info")
        while not (
            any(m.startswith(f"{A}: index ready") for m in log_messages)
            and any(m.startswith(f"{B}: index ready") for m in log_messages)
        ):
            assert time.monotonic() < deadline, log_messages
            await asyncio.sleep(0.05)


async def test_traversal_corpus_leaks_nothing_through_either_root(layout):
    tmp, one, two = layout
    async with Client(stdio_server([one, two], tmp / "idx-traversal")) as client:
        for name, root in ((A, one), (B, two)):
            corpus = traversal_corpus(root.parent)
            assert len(corpus) >= 45
            # Each path as given (absolute ones stand on their own) and within the root's namespace.
            paths = corpus + [f"{name}/{p}" for p in corpus if not os.path.isabs(p) and not p.startswith("file:")]
            for path in paths:
                for tool, args in path_calls(path):
                    err, data, text = await call(client, tool, **args)
                    assert err, (tool, path, text)
                    assert not leaks(text, data), (tool, path)
            for rel in HIDDEN_FILES:
                for path in (f"{name}/{rel}", str(root / rel), f"{name}/pkg/../{rel}"):
                    err, data, text = await call(client, "file_outline", path=path)
                    assert err and not leaks(text, data), path
        for tool, args in [
            ("search_code", {"query": "canary function outside the root"}),
            ("search_code", {"query": "canary", "path": "../*"}),
            ("find_symbol", {"name": "canary_function"}),
            ("find_symbol", {"name": "secret_hook"}),
            ("search_text", {"pattern": "CANARY"}),
            ("search_text", {"pattern": "SYMSCOPE-SECRET"}),
        ]:
            err, data, text = await call(client, tool, **args)
            assert not err and not leaks(text, data), tool
        # The symlink inside a root still works through its root's name.
        err, data, _ = await call(client, "get_symbol", path=f"{A}/alias.py", name="load_config")
        assert not err and data["path"] == f"{A}/pkg/config.py"


async def test_a_nested_root_is_served_from_the_outer_index(tmp_path):
    outer = tmp_path / "outer"
    inner = outer / "libs" / "inner"
    write_files(outer, {"app.py": "def outer_entry():\n    return inner_helper()\n"})
    write_files(inner, {"helper.py": "def inner_helper():\n    return 42\n"})
    index_dir = tmp_path / "idx"
    async with Client(stdio_server([outer, inner], index_dir)) as client:
        err, data, _ = await call(client, "index_status")
        assert not err
        listed = {r["name"]: r for r in data["roots"]}
        assert listed["inner"]["state"] == "nested" and listed["inner"]["served_by"] == "outer"
        assert listed["inner"]["index_dir"] == listed["outer"]["index_dir"] == str(index_dir)
        assert not (index_dir / "folders").exists()  # not indexed twice
        err, data, _ = await call(client, "find_symbol", name="inner_helper")
        assert not err and data["results"][0]["path"] == "outer/libs/inner/helper.py"
        for path in ("inner/helper.py", "outer/libs/inner/helper.py", str(inner / "helper.py")):
            err, data, text = await call(client, "get_symbol", path=path, name="inner_helper")
            assert not err, (path, text)
            assert data["path"] == "outer/libs/inner/helper.py" and "return 42" in data["source"]["text"]
        err, _, text = await call(client, "get_symbol", path="inner/../../app.py", name="outer_entry")
        assert err and "outside the workspace root 'inner'" in text
        err, data, _ = await call(client, "search_code", query="helper entry", path="inner")
        assert not err and data["results"]
        assert all(r["path"].startswith("outer/libs/inner/") for r in data["results"])


# -- the pure parts -------------------------------------------------------------------------------


def test_root_names_are_unique_and_never_hold_a_separator():
    assert unique_names(["/a/ws", "/b/ws", "/c/ws", "/d/lib"]) == ["ws", "ws-2", "ws-3", "lib"]
    assert unique_names(["/", "/x/a\\b"]) == ["root", "a_b"]


def test_plan_follows_the_language_servers_rules(tmp_path, monkeypatch):
    monkeypatch.delenv("SYMSCOPE_INDEX_DIR", raising=False)
    outer, inner, other = tmp_path / "outer", tmp_path / "outer" / "in", tmp_path / "other"
    for p in (outer, inner, other):
        p.mkdir(parents=True, exist_ok=True)
    explicit = tmp_path / "idx"
    plan = plan_folders(
        [str(inner), str(outer), str(other), str(outer)], lambda r: Settings.load(r, index_dir=explicit)
    )
    assert [f.root for f in plan] == [str(inner), str(outer), str(other)]  # named twice: once
    assert plan[0].served_by == 1 and plan[0].settings is None  # inside outer, even when named first
    # The explicit index directory belongs to the first root named (here a nested one, as in the
    # language server), so every served root gets its own folder below it.
    assert plan[1].settings.resolved_index_dir == explicit / "folders" / default_index_dir(outer).name
    assert plan[2].settings.resolved_index_dir == explicit / "folders" / default_index_dir(other).name
    plan = plan_folders([str(outer), str(other)], lambda r: Settings.load(r))
    assert [f.settings.resolved_index_dir for f in plan] == [default_index_dir(outer), default_index_dir(other)]


@pytest.fixture(scope="module")
def root_set(layout):
    """Both roots over real indexes, in-process, plus `pkg` of the first as a nested root."""
    from index_support import open_index

    from lsp_server.mcp.roots import NestedRoot, RootSet
    from lsp_server.mcp.server import single_root

    tmp, one, two = layout
    indexes = []
    owned = []
    for name, root in ((A, one), (B, two)):
        index = open_index(root, tmp / f"idx-inprocess-{name}")
        index.update()
        indexes.append(index)
        owned.append(single_root(Settings(root=root, index_dir=index.index_dir), index=index, name=name))
    nested = NestedRoot(name="pkg", root_real=os.path.realpath(one / "pkg"), served_by=owned[0])
    yield RootSet(owned, [nested])
    for index in indexes:
        index.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_resolved_path_lies_inside_the_root_it_names(layout, root_set, data):
    """Whatever the path, resolving it refuses it or names an indexed, non-denied file whose real
    path lies inside the root the path named (absolute: inside some root); reading it never gives
    the canary next to either root."""
    from lsp_server.mcp.confinement import PathRefused

    tmp, one, two = layout
    files = ["pkg/config.py", "pkg/upload.py", "billing/invoice.py", "billing/discounts.py", "config.py", "alias.py"]
    pieces = st.sampled_from(
        files * 3
        + ["..", ".", "", "link_out.py", "linkdir", "link_up", "into_one.py", "canary.py", "pkg", "billing"]
        + ["web/user.js", "ws-secret", ".env", ".git/config", "one", "two", A, B]
    )
    tail = "/".join(data.draw(st.lists(pieces, min_size=1, max_size=2), label="pieces"))
    head = data.draw(st.sampled_from([A, B, "pkg", "..", "."]), label="head")
    path = data.draw(
        st.sampled_from([f"{head}/{tail}", f"{one}/{tail}", f"{two}/{tail}", f"file://{one}/{tail}", f"{tmp}/{tail}"]),
        label="path",
    )
    try:
        where = root_set.resolve(path)
    except PathRefused:
        event("refused")
        return
    event("served")
    real = os.path.realpath(os.path.join(where.root.root_real, where.rel))
    assert os.path.commonpath([real, where.within]) == where.within
    assert os.path.commonpath([where.within, where.root.root_real]) == where.root.root_real
    if not os.path.isabs(path) and not path.startswith("file:"):
        assert where.within == root_set.by_name[path.partition("/")[0]].root_real
    assert where.rel in where.root.workspace.known_files()
    assert not {".git", ".env"} & set(where.rel.split("/"))
    data_read = where.root.workspace.read_bytes(where.rel, 1 << 20, within=where.within)
    assert b"CANARY" not in data_read and b"SYMSCOPE-SECRET" not in data_read
