"""Property tests (hypothesis) of what an editor sends the language server: didChange ranges and
versions against the overlay, then the same kind of notifications through a real server over stdio.

The overlay is checked against a model written here from the LSP rules alone: lines end at \\n,
\\r\\n or a lone \\r; a position is (line, character) in the negotiated unit (UTF-8 bytes, UTF-16
units, code points; an invalid byte counts one unit); a character past its line's end means the
line's end, a line past the document's end means the document's end, negative values the nearest
edge; a range that ends before it starts is swapped; a change older than the document's version is
ignored. A position inside one character (mid UTF-8 sequence, between the halves of a surrogate
pair) may land on either side of that character. Invariants besides the text: nothing raises, the
line index matches the text, the tree holds the same text and gives the same symbols as a fresh
parse of it, and outline, rows and search answer.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from lsp_server import _native
from lsp_server.lsp.overlay import Change, Overlay
from lsp_server.lsp.overlay import Position as _Position


class Position(_Position):
    """The overlay's Position, readable in hypothesis' reports."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Position({self.line}, {self.character})"


ENCODINGS = ("utf-8", "utf-16", "utf-32")
# More examples for a longer hunt: SYMSCOPE_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_lsp_inputs.py
EXAMPLES = int(os.environ.get("SYMSCOPE_FUZZ_EXAMPLES", "300"))

# Pieces that make symbols, line breaks of every kind, multi-unit characters and invalid text.
FRAGMENTS = [
    "def f():\n    pass\n",
    "class K:\n    def m(self):\n        return 1\n",
    "function g() { return 2; }\n",
    "fn h() -> u8 { 3 }\n",
    "struct S;\n",
    "x = 1",
    "\n",
    "\r\n",
    "\r",
    "\n\r",
    "\r\r\n",
    "    ",
    "(",
    "}",
    "é",
    "👋",
    "🌍x",
    "\u2028",
    "\x00",
    "\x0c",
    "\ufeff",
    "\ud800",
    "\udfff",
    "\udbff\udc00",
    "#",
    '"""',
    "'",
]
CHARS = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.characters(codec="utf-8"),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates (surrogatepass)
)
TEXTS = st.lists(CHARS, max_size=25).map("".join)
HUGE = [2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63, 10**30]
INTS = st.one_of(st.integers(-3, 14), st.sampled_from(HUGE), st.sampled_from([-(2**31), -(2**63), -(10**30)]))
VERSIONS = st.one_of(st.none(), st.integers(-3, 12), st.sampled_from([2**31 - 1, 2**63, -(2**63)]))


def version_after(version: int | None):
    """Mostly the next version, sometimes the same, an older one, none, or a hostile one."""
    if version is None:
        return VERSIONS
    near = st.sampled_from([version + 1, version + 1, version + 2, version, version - 1])
    return st.one_of(near, near, near, VERSIONS)


def position_in(model: bytes, encoding: str):
    """Mostly positions inside or at the edges of the current text (line ends, the halves of a
    surrogate pair, the middle of a UTF-8 sequence), sometimes hostile ones."""
    lines = model_lines(model)
    line_units = [sum(units(size, cp, encoding) for _, size, cp in model_chars(model[b:e])) for b, e in lines]

    @st.composite
    def near(draw):
        line = draw(st.integers(0, len(lines)))  # len(lines): one past the last line
        width = line_units[line] if line < len(lines) else 0
        character = draw(st.one_of(st.integers(0, width + 1), st.just(width)))
        return Position(line, character)

    hostile = st.builds(Position, INTS, INTS)
    return st.one_of(near(), near(), near(), hostile)


def draw_change(data, model: bytes, encoding: str) -> Change:
    if data.draw(st.integers(0, 9), label="whole") == 0:
        return Change(data.draw(TEXTS, label="text"))
    start = data.draw(position_in(model, encoding), label="start")
    end = data.draw(position_in(model, encoding), label="end")
    return Change(data.draw(TEXTS, label="text"), start, end)


NAMES = st.sampled_from(["a.py", "b.js", "c.rs", "d.ts", "notes.txt", "Makefile", "e.go"])


# -- the model ----------------------------------------------------------------------------------


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def model_lines(data: bytes) -> list[tuple[int, int]]:
    """(start, end of content) of every line; the terminator is not content."""
    lines, begin, i, n = [], 0, 0, len(data)
    while i < n:
        c = data[i]
        if c == 0x0A:
            lines.append((begin, i))
            i += 1
            begin = i
        elif c == 0x0D:
            lines.append((begin, i))
            i += 2 if i + 1 < n and data[i + 1] == 0x0A else 1
            begin = i
        else:
            i += 1
    lines.append((begin, n))
    return lines


def model_chars(seg: bytes) -> list[tuple[int, int, int | None]]:
    """(start, byte length, code point or None for an invalid byte) of each character."""
    out, i = [], 0
    while i < len(seg):
        for size in (1, 2, 3, 4):
            try:
                ch = seg[i : i + size].decode("utf-8")
            except UnicodeDecodeError:
                continue
            if len(ch) == 1:
                out.append((i, size, ord(ch)))
                i += size
                break
        else:
            out.append((i, 1, None))
            i += 1
    return out


def units(size: int, cp: int | None, encoding: str) -> int:
    if cp is None:
        return 1
    if encoding == "utf-8":
        return size
    if encoding == "utf-16":
        return 2 if cp > 0xFFFF else 1
    return 1


def model_offsets(data: bytes, pos: Position, encoding: str) -> tuple[set[int], bool]:
    """The byte offsets a position may mean, and whether it lies outside the document."""
    lines = model_lines(data)
    if pos.line < 0:
        return {0}, True
    if pos.line >= len(lines):
        return {len(data)}, True
    begin, end = lines[pos.line]
    if pos.character < 0:
        return {begin}, True
    cum = 0
    for start, size, cp in model_chars(data[begin:end]):
        u = units(size, cp, encoding)
        if cum == pos.character:
            at = begin + start
            if encoding == "utf-8" and cp is None and data[at] & 0xC0 == 0x80:
                # A stray continuation byte: backing up to the bytes before it is allowed too.
                back = at
                while back > begin and data[back] & 0xC0 == 0x80:
                    back -= 1
                return set(range(back, at + 1)), False
            return {at}, False
        if cum < pos.character < cum + u:
            return {begin + start, begin + start + size}, False
        cum += u
    return {end}, pos.character > cum


def check_document(doc, model_text: bytes) -> None:
    assert doc.text == model_text
    assert doc.line_starts() == [b for b, _ in model_lines(model_text)]
    result = doc.symbols()
    assert isinstance(result, dict) and isinstance(result["symbols"], list)
    if doc.tree is not None:
        assert doc.tree.text == doc.text
        fresh = _native.Document(doc.language, doc.text).symbols()
        assert _shape(result) == _shape(fresh), "incremental parse differs from a fresh parse"
    assert isinstance(doc.rows(), list)


def _shape(result: dict) -> Any:
    return (
        result.get("skipped"),
        [
            (s["name"], s["kind"], s["qualified_name"], tuple(s["range"]), tuple(s["range_utf8"]))
            for s in result["symbols"]
        ],
    )


# -- the overlay, in-process --------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(initial=TEXTS, name=NAMES, encoding=st.sampled_from(ENCODINGS), first_version=VERSIONS, data=st.data())
def test_overlay_follows_the_lsp_model(initial, name, encoding, first_version, data):
    overlay = Overlay(Path("/ws"))
    uri = f"file:///ws/{name}"
    doc = overlay.open(uri, Path(f"/ws/{name}"), "plaintext", first_version, initial)
    model, version = encode(initial), first_version
    check_document(doc, model)
    for _ in range(data.draw(st.integers(0, 8), label="operations")):
        if data.draw(st.integers(0, 7), label="save?") == 0:
            text = data.draw(st.one_of(st.none(), TEXTS), label="saved text")
            drifted = overlay.saved(uri, text)
            if text is not None:
                assert drifted == (encode(text) != model)
                model = encode(text)
            check_document(doc, model)
            continue
        new_version = data.draw(version_after(version), label="version")
        stale = new_version is not None and version is not None and new_version < version
        before, scratch = model, model
        changes, expected_clamped = [], 0
        # Where each edit lands, from the model, checked against where the document puts it.
        for _ in range(data.draw(st.integers(0, 4), label="changes")):
            change = draw_change(data, scratch, encoding)
            changes.append(change)
            if change.start is None:
                scratch = encode(change.text)
                continue
            starts, start_out = model_offsets(scratch, change.start, encoding)
            ends, end_out = model_offsets(scratch, change.end, encoding)
            s, s_out = doc_offset(doc, scratch, change.start, encoding)
            e, e_out = doc_offset(doc, scratch, change.end, encoding)
            where = (change.start.line, change.start.character, change.end.line, change.end.character)
            assert s in starts and e in ends, (where, s, starts, e, ends)
            assert (s_out, e_out) == (start_out, end_out), where
            expected_clamped += start_out or end_out
            if e < s:
                s, e = e, s
            scratch = scratch[:s] + encode(change.text) + scratch[e:]
        model = before if stale else scratch
        report = overlay.change(uri, new_version, changes, encoding)
        assert report is not None and report.ignored_stale == stale
        if not stale:
            assert report.applied == len(changes) and report.clamped == expected_clamped
            if new_version is not None:
                version = new_version
        assert doc.version == version
        check_document(doc, model)
    # Everything that reads the document still answers.
    entries = overlay.active(None, 0)
    overlay.find_symbols("f", 5, entries)
    overlay.search("return the value f", 5, entries)
    overlay.close(uri)
    assert overlay.change(uri, 99, [Change("x")], encoding) is None


def test_text_skipped_as_binary_then_fixed_is_parsed_from_the_text_held():
    """Found by the property test above: an edit that makes the buffer "binary" (a NUL byte, so the
    skip policy keeps it unparsed), then an edit that removes the NUL, must give the symbols of
    the text the document holds (a fresh parse), not of an older text."""
    overlay = Overlay(Path("/ws"))
    uri = "file:///ws/a.py"
    doc = overlay.open(uri, Path("/ws/a.py"), "python", 1, "")
    model = b""
    for new, start, end in [
        ("def f():\n    pass\ndef f():\n    pass\n", Position(0, 0), Position(0, 0)),
        ("def f():\n    pass\n\x00", Position(0, 0), Position(0, 8)),  # now skipped as binary
        ("", Position(0, 0), Position(2, 1)),  # the NUL is gone: parsed again
    ]:
        s, _ = doc_offset(doc, model, start, "utf-8")
        e, _ = doc_offset(doc, model, end, "utf-8")
        model = model[:s] + encode(new) + model[e:]
        overlay.change(uri, None, [Change(new, start, end)], "utf-8")
        check_document(doc, model)
    assert [s["name"] for s in doc.symbols()["symbols"]] == ["f"]


def doc_offset(doc, model: bytes, pos: Position, encoding: str) -> tuple[int, bool]:
    """Where the document puts `pos` in the text it holds now (the model's text, checked after each
    edit), asked of a scratch copy so that the real one only changes through the overlay."""
    probe = doc.__class__.__new__(doc.__class__)
    probe.text, probe._line_starts = model, None
    return probe.offset_at(pos, encoding)


# -- a real server over stdio -------------------------------------------------------------------

SERVER_EXAMPLES = 4  # hypothesis examples, each a fresh unsaved buffer in the same server
EDITS_PER_EXAMPLE = 10  # didChange notifications per example (40 in all)
WIRE_JUNK = st.sampled_from([2**31, 2**53, 10**30, -1, -(2**31), 1.5, "3", None, True, [], {}])


def wire_change(text: bytes, encoding: str):
    """A content change as JSON: mostly well-typed positions in or near the text (which the server
    must apply), sometimes values of the wrong type or range (which it must drop)."""

    def as_json(pos: Position) -> dict:
        return {"line": pos.line, "character": pos.character}

    @st.composite
    def change(draw) -> dict:
        new = draw(TEXTS)
        if draw(st.integers(0, 9)) == 0:
            return {"text": new}
        start = as_json(draw(position_in(text, encoding)))
        end = as_json(draw(position_in(text, encoding)))
        if draw(st.integers(0, 5)) == 0:
            draw(st.sampled_from([start, end]))[draw(st.sampled_from(["line", "character"]))] = draw(WIRE_JUNK)
        return {"range": {"start": start, "end": end}, "text": new}

    return change()


def wire_version(version: int | None):
    return st.one_of(version_after(version), version_after(version), WIRE_JUNK)


@pytest.fixture
def served_workspace(tmp_path):
    from tests.lsp_support import make_workspace

    return make_workspace(tmp_path / "ws")


def test_real_server_survives_hostile_did_change(served_workspace, tmp_path):
    """Hypothesis-drawn didChange notifications (hostile ranges and versions, wrong JSON types) to
    one real `symscope lsp` over stdio. After each example's notifications it still answers
    documentSymbol and workspace/symbol, and its outline of the buffer is the outline of the text
    a mirror of the well-formed notifications holds (the mirror's text is the model's, above)."""
    loop = asyncio.new_event_loop()
    try:
        client, encoding = loop.run_until_complete(_start_server(served_workspace, tmp_path))
        examples = iter(range(10**6))

        @settings(
            max_examples=SERVER_EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def run(data):
            uri = (served_workspace / f"fuzz_buffer_{next(examples)}.py").as_uri()  # unsaved: not on disk
            loop.run_until_complete(_drive_buffer(client, encoding, uri, data))

        run()
        # Indexed symbols still come back too.
        from lsprotocol import types as t

        found = loop.run_until_complete(
            asyncio.wait_for(client.workspace_symbol_async(t.WorkspaceSymbolParams(query="load_config")), 30)
        )
        assert any(s.name == "load_config" for s in found)
        assert client.error is None  # the server never sent anything malformed
        assert client._server.returncode is None  # and is still running
    finally:
        loop.run_until_complete(_stop_server(locals().get("client")))
        loop.close()


async def _start_server(workspace: Path, home: Path):
    from lsprotocol import types as t
    from pytest_lsp import ClientServerConfig, client_capabilities

    from tests.lsp_support import StatusRecorder, init_options, server_command, server_env

    client = await ClientServerConfig(server_command=server_command(), server_env=server_env(home)).start()
    status = StatusRecorder()
    client.feature("symscope/statusChanged")(status)
    result = await client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[t.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=init_options(home / "index"),
        )
    )
    await status.wait_for(lambda s: s.get("state") == "ready")
    return client, str(result.capabilities.position_encoding)


async def _stop_server(client) -> None:
    if client is None:
        return
    try:
        await asyncio.wait_for(client.shutdown_session(), 20)
    finally:
        await client.stop()


async def _drive_buffer(client, encoding: str, uri: str, data) -> None:
    from lsprotocol import types as t

    from lsp_server.lsp.document_symbol import _document_symbols
    from lsp_server.lsp.server import strict_converter

    converter = strict_converter()
    initial = "def fuzz_anchor():\n    return 1\n"
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(t.TextDocumentItem(uri=uri, language_id="python", version=1, text=initial))
    )
    mirror = Overlay(None)
    mirror.open(uri, None, "python", 1, initial)
    accepted = 0
    for _ in range(EDITS_PER_EXAMPLE):
        local = mirror.get(uri)
        params = {
            "textDocument": {"uri": uri, "version": data.draw(wire_version(local.version), label="version")},
            "contentChanges": data.draw(st.lists(wire_change(local.text, encoding), max_size=3), label="changes"),
        }
        client.protocol._send_data({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params})
        # The server applies what its converter accepts, as documents.did_change does; the rest it drops.
        try:
            typed = converter.structure(params, t.DidChangeTextDocumentParams)
        except Exception:
            continue
        changes = []
        for change in typed.content_changes:
            if isinstance(change, t.TextDocumentContentChangePartial):
                r = change.range
                changes.append(
                    Change(
                        change.text, Position(r.start.line, r.start.character), Position(r.end.line, r.end.character)
                    )
                )
            else:
                changes.append(Change(change.text))
        mirror.change(uri, typed.text_document.version, changes, encoding)
        accepted += 1
    note(f"{accepted} of {EDITS_PER_EXAMPLE} notifications were well-formed")
    local = mirror.get(uri)
    outline = await asyncio.wait_for(
        client.text_document_document_symbol_async(
            t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri))
        ),
        30,
    )

    class _Server:  # what _document_symbols reads of the server: the negotiated encoding
        pass

    server = _Server()
    server.encoding = encoding  # type: ignore[attr-defined]
    expected = _flatten(_document_symbols(server, local.symbols()["symbols"]))
    got = _flatten([client.protocol._converter.unstructure(s) for s in (outline or [])])
    assert got == expected, f"the server's outline is not that of the model's text {local.text!r}"
    # workspace/symbol answers, and finds a symbol of the unsaved buffer when it has one.
    names = [s["name"] for s in local.symbols()["symbols"] if s["name"] and s["name"].isidentifier()]
    query = names[0] if names else "fuzz_anchor"
    found = await asyncio.wait_for(client.workspace_symbol_async(t.WorkspaceSymbolParams(query=query)), 30)
    assert isinstance(found, list)
    if names:
        assert any(s.name == query and s.location.uri == uri for s in found), (query, local.text)
    client.text_document_did_close(t.DidCloseTextDocumentParams(t.TextDocumentIdentifier(uri=uri)))


def _flatten(symbols: list[dict]) -> list[tuple]:
    out, stack = [], list(reversed(symbols))
    while stack:
        s = stack.pop()
        rng, sel = s["range"], s["selectionRange"]
        out.append(
            (
                s["name"],
                s["kind"],
                (rng["start"]["line"], rng["start"]["character"], rng["end"]["line"], rng["end"]["character"]),
                (sel["start"]["line"], sel["start"]["character"], sel["end"]["line"], sel["end"]["character"]),
            )
        )
        stack.extend(reversed(s.get("children") or []))
    return out
