"""The unsaved-buffer overlay in-process: editor positions to byte offsets in every encoding
(astral emoji, CRLF and lone CR line breaks, invalid UTF-8, positions past the end), incremental
edits against the Rust Document (stale, reversed, out-of-range), and how open buffers override the
index in search results."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.config import Settings
from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index
from lsp_server.lsp.overlay import Change, Overlay, Position, merge_results
from lsp_server.search import Searcher
from tests.lsp_support import make_workspace


def _doc(text: str, name: str = "a.py"):
    overlay = Overlay(Path("/ws"))
    doc = overlay.open(f"file:///ws/{name}", Path(f"/ws/{name}"), "python", 1, text)
    return overlay, doc


@pytest.mark.parametrize(
    "encoding, character, expected",
    [
        ("utf-16", 5, 5),  # before the emoji
        ("utf-16", 7, 5 + 4),  # after 👋 (two UTF-16 units, four bytes)
        ("utf-16", 8, 5 + 4 + 2),  # after é
        ("utf-8", 9, 9),
        ("utf-8", 7, 5),  # inside the emoji's bytes: backs up to its start
        ("utf-32", 6, 9),
        ("utf-16", 99, 12),  # past the end of the line: the end of the line (before \r\n)
    ],
)
def test_positions_to_bytes_in_each_encoding(encoding, character, expected):
    _, doc = _doc('s = "👋é"\r\nnext\n')
    offset, _ = doc.offset_at(Position(0, character), encoding)
    assert offset == expected


def test_line_breaks_and_positions_past_the_document():
    _, doc = _doc("a\r\nb\rc\nd")
    assert [doc.offset_at(Position(line, 0), "utf-16")[0] for line in range(4)] == [0, 3, 5, 7]
    assert doc.offset_at(Position(9, 3), "utf-16") == (8, True)
    assert doc.offset_at(Position(-1, 0), "utf-16") == (0, True)


def test_invalid_utf8_counts_one_unit_per_byte_like_the_core():
    overlay = Overlay(Path("/ws"))
    doc = overlay.open("file:///ws/b.py", Path("/ws/b.py"), "python", 1, "")
    doc.apply(2, [Change("x")], "utf-16")
    doc.text = b"ab\xffcd\n"  # what a file on disk may hold
    doc._line_starts = None
    assert doc.offset_at(Position(0, 3), "utf-16") == (3, False)  # after a, b, and the bad byte


def test_incremental_edits_reparse_and_match_a_fresh_parse():
    overlay, doc = _doc("class A:\n    def f(self):\n        pass\n")
    uri = doc.uri
    report = overlay.change(uri, 2, [Change("\n\ndef g():\n    return 1\n", Position(3, 0), Position(3, 0))], "utf-16")
    assert report.applied == 1 and not report.problems
    names = [s["qualified_name"] for s in overlay.symbols(uri)[0]["symbols"]]
    assert names == ["A", "A.f", "g"]
    # rename f by a range edit, then replace everything
    overlay.change(uri, 3, [Change("h", Position(1, 8), Position(1, 9))], "utf-16")
    assert [s["qualified_name"] for s in overlay.symbols(uri)[0]["symbols"]] == ["A", "A.h", "g"]
    overlay.change(uri, 4, [Change("def only():\n    pass\n")], "utf-16")
    assert [s["name"] for s in overlay.symbols(uri)[0]["symbols"]] == ["only"]


def test_stale_reversed_and_out_of_range_changes_never_raise():
    overlay, doc = _doc("def a():\n    pass\n")
    uri = doc.uri
    stale = overlay.change(uri, 0, [Change("junk")], "utf-16")
    assert stale.ignored_stale and doc.text == b"def a():\n    pass\n"
    far = overlay.change(uri, 2, [Change("\ndef z():\n    pass\n", Position(500, 7), Position(900, 0))], "utf-16")
    assert far.clamped == 1 and doc.text.endswith(b"def z():\n    pass\n")
    reversed_ = overlay.change(uri, 3, [Change("", Position(1, 0), Position(0, 0))], "utf-16")
    assert reversed_.problems and doc.text.startswith(b"    pass")
    assert overlay.change("file:///ws/not-open.py", 1, [Change("x")], "utf-16") is None
    names = [s["name"] for s in overlay.symbols(uri)[0]["symbols"]]
    assert "z" in names


def test_unknown_language_documents_are_kept_without_symbols():
    overlay = Overlay(Path("/ws"))
    doc = overlay.open("untitled:Untitled-1", None, "plaintext", 1, "hello")
    assert doc.tree is None and overlay.symbols("untitled:Untitled-1")[0]["symbols"] == []
    by_id = overlay.open("untitled:Untitled-2", None, "python", 1, "def f():\n    pass\n")
    assert by_id.language == "python" and overlay.symbols("untitled:Untitled-2")[0]["symbols"][0]["name"] == "f"


def test_open_buffers_override_the_index_for_their_path(tmp_path: Path):
    root = make_workspace(tmp_path / "ws")
    index = Index.open(Settings(root=root, index_dir=tmp_path / "index"), embedder=HashingEmbedder(64))
    index.update()
    searcher = Searcher(index, index.embedder)
    overlay = Overlay(root)
    path = root / "pkg" / "config.py"
    uri = path.as_uri()
    overlay.open(uri, path, "python", 1, path.read_text())
    view = index.symbols_in_file
    # Unchanged buffer: identical to the index, so the index answers.
    assert overlay.active(view, index.generation()) == []
    text = path.read_text() + "\n\ndef parse_overrides(text):\n    return text\n"
    overlay.change(uri, 2, [Change(text)], "utf-16")
    (entry,) = overlay.active(view, index.generation())
    assert entry.freshness == "unsaved" and entry.doc.rel == "pkg/config.py"
    hits = overlay.find_symbols("parse_over", 5, [entry])
    assert hits[0].name == "parse_overrides" and hits[0].freshness == "unsaved"
    index_hits = searcher.symbols("load_config", 5)
    overlay_hits = overlay.find_symbols("load_config", 5, [entry])
    merged = merge_results(index_hits, overlay_hits, {"pkg/config.py"}, 5)
    assert [h.freshness for h in merged if h.name == "load_config"] == ["unsaved"]
    assert merged[0].score == index_hits[0].score  # same NameTable scale on both sides
    semantic = overlay.search(
        "parse overrides text", 3, [entry], embedder=index.embedder, query_vector=index.embedder.embed_query
    )
    assert semantic[0].name == "parse_overrides" and "semantic" in semantic[0].why
    # Saved to disk but not yet re-indexed: the buffer still answers, as "pending".
    path.write_text(text)
    overlay.saved(uri, text)
    (entry,) = overlay.active(view, index.generation())
    assert entry.freshness == "pending"
    index.update_files([path])
    assert overlay.active(view, index.generation()) == []
    index.close()


def test_random_edits_keep_text_tree_and_line_index_in_step():
    """Random edits in both encodings, across CRLF pairs, emoji and line ends: the incremental line
    index always equals a fresh scan, and the Rust tree holds exactly our text."""
    import random

    from lsp_server.lsp.overlay import _LINE_BREAK

    rng = random.Random(1)
    for _ in range(200):
        text = "".join(rng.choice(["a", "b", "\n", "\r\n", "\r", "é", "👋", " "]) for _ in range(rng.randint(0, 60)))
        overlay, doc = _doc(text)
        for version in range(2, 10):
            lines = len(doc.line_starts())
            start = Position(rng.randint(0, lines), rng.randint(0, 8))
            end = Position(rng.randint(start.line, lines), rng.randint(0, 8))
            insert = "".join(rng.choice(["x", "\n", "é", "\r\n", "👋"]) for _ in range(rng.randint(0, 4)))
            overlay.change(doc.uri, version, [Change(insert, start, end)], rng.choice(["utf-16", "utf-8"]))
            assert doc.line_starts() == [0, *(m.end() for m in _LINE_BREAK.finditer(doc.text))]
            assert doc.tree.text == doc.text
