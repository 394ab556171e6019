"""Exact text and regex search (`rust/grep.rs` -> `text_search.py`) through every front end: the
library call, `symscope grep`, the MCP tool `search_text` (SDK in-process client) and the LSP
request `symscope/searchText` (see test_lsp_e2e.py). Real index, real files.

What it must never do: read a file the index does not cover (`.env`, `.git/`, gitignored, a link
out of the root, a file swapped for a link after indexing) or run a pathological pattern past its
budget; what it must do: find the line, say which definition holds it, and say what was left out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from index_support import SAMPLE_FILES, make_workspace, open_index
from mcp import Client
from mcp_support import HIDDEN_FILES, SECRET, Served, call, make_mcp_workspace, subprocess_env

from lsp_server.text_search import TextSearchError, search_text

EXTRA = {
    "conf/settings.py": 'TIMEOUT = int(os.environ.get("UPLOAD_TIMEOUT_SECONDS", "30"))\n\n\ndef read_timeout():\n'
    "    # falls back to UPLOAD_TIMEOUT_SECONDS when unset\n    return TIMEOUT\n",
    "big/aaaa.py": "x = '" + "a" * 200_000 + "'\n",
    "odd/emoji.py": 'def wave():\n    return "👋🌍 UPLOAD_TIMEOUT_SECONDS"\n',
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grep")
    root = make_mcp_workspace(tmp / "ws", EXTRA)
    (tmp / "outside.py").write_text(f"CANARY = '{SECRET}-outside UPLOAD_TIMEOUT_SECONDS'\n")
    os.symlink(tmp / "outside.py", root / "link_out.py")  # the scan never follows links
    index = open_index(root, tmp / "idx")
    index.update()
    yield index, root, tmp
    index.close()


def test_literal_hits_carry_line_column_context_and_enclosing_symbol(indexed):
    index, _, _ = indexed
    found = search_text(index, "UPLOAD_TIMEOUT_SECONDS", context=1)
    where = [(h.path, h.line) for h in found.hits]
    assert where == [("conf/settings.py", 1), ("conf/settings.py", 5), ("odd/emoji.py", 2)]
    first, comment, emoji = found.hits
    assert first.column == 31 and first.symbol == "TIMEOUT" and first.after == [""]
    assert comment.symbol == "read_timeout" and comment.symbol_kind == "function" and comment.symbol_line == 4
    assert comment.before == ["def read_timeout():"] and comment.after == ["    return TIMEOUT"]
    # Columns in characters for people, UTF-16 units and bytes for editors.
    assert emoji.column == len('    return "👋🌍 ') + 1
    assert (
        emoji.utf16_range[0] == len('    return "') + 4 + 1
        and emoji.utf8_range[0] == len('    return "'.encode()) + 8 + 1
    )
    assert found.truncated is None and not found.timed_out


def test_regex_case_and_path_glob(indexed):
    index, _, _ = indexed
    regex = search_text(index, r"def \w+_config\(", regex=True)
    assert {h.symbol for h in regex.hits} == {"load_config", "save_config"}
    literal = search_text(index, r"def \w+_config\(")  # a literal: nothing has these characters
    assert literal.hits == []
    assert len(search_text(index, "upload_timeout_seconds", case_insensitive=True).hits) == 3
    assert [h.path for h in search_text(index, "UPLOAD_TIMEOUT_SECONDS", path_glob="odd/**").hits] == ["odd/emoji.py"]


def test_limit_and_token_budget_say_what_was_left_out(indexed):
    index, _, _ = indexed
    page = search_text(index, "def ", limit=2)
    assert len(page.hits) == 2 and "more than 2 matching lines" in page.truncated
    small = search_text(index, "def ", limit=50, max_tokens=30)
    assert 1 <= len(small.hits) < 10 and "did not fit in max_tokens=30" in small.truncated


def test_never_reads_what_the_index_does_not_cover(indexed):
    index, root, _ = indexed
    for pattern in (SECRET, "API_KEY", "remote", "secret_hook", "ignored_function", "generated"):
        found = search_text(index, pattern)
        assert all(h.path not in HIDDEN_FILES and not h.path.startswith((".git/", "build/")) for h in found.hits), (
            pattern
        )
        assert all(SECRET not in h.text for h in found.hits), pattern
    assert "link_out.py" not in {h.path for h in search_text(index, "UPLOAD_TIMEOUT_SECONDS").hits}
    # An indexed file swapped for a link out of the root is refused until the index catches up.
    target = root / "conf/settings.py"
    saved = target.read_text()
    target.unlink()
    os.symlink(root.parent / "outside.py", target)
    try:
        found = search_text(index, "UPLOAD_TIMEOUT_SECONDS")
        assert "conf/settings.py" not in {h.path for h in found.hits}
        assert all(SECRET not in h.text for h in found.hits)
    finally:
        target.unlink()
        target.write_text(saved)


def test_pathological_patterns_are_linear_or_refused(indexed):
    index, _, _ = indexed
    for pattern in ("(a|aa)*c", "(a*)*b", "(?:a+)+$x", ".*.*.*.*=.*.*.*.*b"):
        started = time.monotonic()
        found = search_text(index, pattern, regex=True, path_glob="big/**", timeout_ms=5000)
        assert found.hits == [] and time.monotonic() - started < 10, pattern
    with pytest.raises(TextSearchError, match="bad pattern"):
        search_text(index, "(a{100}){100}{100}", regex=True)
    with pytest.raises(TextSearchError, match="bad pattern"):
        search_text(index, "(unclosed", regex=True)
    with pytest.raises(TextSearchError):
        search_text(index, "")


def test_cli_grep(tmp_path: Path):
    root = make_workspace(tmp_path / "ws", {**SAMPLE_FILES, **EXTRA})
    env = subprocess_env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    base = [sys.executable, "-m", "lsp_server", "grep", "--root", str(root), "--index-dir", str(tmp_path / "idx")]
    out = subprocess.run(
        [*base, "UPLOAD_TIMEOUT_SECONDS", "--path", "conf/**", "-C", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert (
        "conf/settings.py:5:21:    # falls back to UPLOAD_TIMEOUT_SECONDS when unset  [function read_timeout]"
        in out.stdout
    )
    assert "conf/settings.py-4-def read_timeout():" in out.stdout
    data = json.loads(
        subprocess.run(
            [*base, "load_config|save_config", "-e", "--json"], env=env, capture_output=True, text=True, timeout=60
        ).stdout
    )
    assert {h["symbol"] for h in data["hits"] if "symbol" in h} >= {"load_config", "save_config"}
    none = subprocess.run([*base, "no such text anywhere"], env=env, capture_output=True, text=True, timeout=60)
    assert none.returncode == 1 and none.stdout == ""
    bad = subprocess.run([*base, "(", "-e"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "bad pattern" in bad.stderr


async def test_mcp_search_text_tool(tmp_path: Path):
    served = Served(make_mcp_workspace(tmp_path / "ws", EXTRA), tmp_path / "idx")
    try:
        async with Client(served.server) as client:
            is_error, data, _ = await call(client, "search_text", pattern="UPLOAD_TIMEOUT_SECONDS", context=1)
            assert not is_error and [h["path"] for h in data["hits"]] == [
                "conf/settings.py",
                "conf/settings.py",
                "odd/emoji.py",
            ]
            assert data["hits"][1]["symbol"] == "read_timeout" and data["hits"][1]["before"] == ["def read_timeout():"]
            is_error, data, _ = await call(client, "search_text", pattern="def ", limit=1)
            assert not is_error and len(data["hits"]) == 1 and "more than 1" in data["truncated"]
            is_error, _, text = await call(client, "search_text", pattern="(a{100}){100}{100}", regex=True)
            assert is_error and "bad pattern" in text
            is_error, data, _ = await call(client, "search_text", pattern=SECRET)
            assert not is_error and data["hits"] == []
    finally:
        served.close()
