"""Queries full of quotes, LIKE wildcards, SQL, FTS5 and filter syntax: correct results, never errors."""

from __future__ import annotations

import pytest
from index_support import make_workspace, open_index

from lsp_server.search import Searcher

FILES = {
    "odd/names.py": '''
        def weird_name(x):
            """Handles 100% of the "quoted" cases: a_b, c%d and OR/AND/NEAR words."""
            return x


        def near_or_not(a, b):
            return a or b


        def drop_table_students():
            """Little Bobby Tables."""
            return "'; DROP TABLE symbols; --"


        class Select:
            def where(self):
                pass
        ''',
    "odd/other.js": """
        function percent_done(total) { return total; }
        function underscore_only() { return 1; }
        """,
}

HOSTILE = [
    '"',
    '""',
    "'",
    '"weird_name"',
    "'weird_name'",
    'weird_name"',
    "%",
    "%%",
    "_",
    "__",
    "%_%",
    "*",
    "weird*",
    "NEAR",
    "NEAR(weird name)",
    "near_or_not OR 1=1",
    "a OR b AND NOT c",
    "-weird",
    "weird -name",
    "name:weird",
    "{name}: weird",
    "(weird) (name",
    "((((((",
    "))))",
    "^weird",
    "weird + name",
    "'; DROP TABLE symbols; --",
    '" OR ""="',
    "1; SELECT * FROM symbols",
    "symbols WHERE 1=1",
    "\\",
    "\\\\x00",
    "\x00",
    "weird\x00name",
    "   ",
    "\t\n",
    "🦀 rust crab",
    "名前",
    "a" * 5000,
    "weird_name " * 300,
    "[a-z]*",
    "$(rm -rf /)",
    "`weird`",
    "#weird",
    "weird::name",
    "a.b.c.d.e.f.g",
    "..",
    "Select.where",
]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    ix = open_index(make_workspace(tmp / "ws", FILES), tmp / "idx")
    ix.update()
    yield Searcher(ix, ix.embedder)
    ix.close()


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_never_error(searcher, query):
    for mode in ("hybrid", "lexical", "vector"):
        results = searcher.search(query, 5, mode=mode)
        assert isinstance(results, list)
        for r in results:
            assert r.path and r.name
    assert isinstance(searcher.symbols(query, 5), list)
    assert isinstance(searcher.search(query, 5, expand=True), list)


@pytest.mark.parametrize("query", HOSTILE[:20], ids=range(20))
def test_hostile_filter_values_never_error(searcher, query):
    assert searcher.search("weird", 5, lang=query) == []
    assert searcher.search("weird", 5, kind=query) == []
    results = searcher.search("weird", 5, path=query)
    assert isinstance(results, list)
    assert isinstance(searcher.symbols("weird", 5, path=query, lang=query), list)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('"weird_name"', "weird_name"),
        ("'weird_name'", "weird_name"),
        ('weird_name"', "weird_name"),
        ("`weird_name`", "weird_name"),
        ("weird_name*", "weird_name"),
        ("NEAR(weird_name)", "weird_name"),
        ("near_or_not OR 1=1", "near_or_not"),
        ("near_or_not", "near_or_not"),
        ("percent_done%", "percent_done"),
        ("underscore_only", "underscore_only"),
        ("-drop_table_students", "drop_table_students"),
        ("drop_table_students; DROP TABLE symbols; --", "drop_table_students"),
        ("Select.where", "Select.where"),
        ("(Select)", "Select"),
    ],
)
def test_hostile_queries_still_find_the_right_symbol(searcher, query, expected):
    assert searcher.search(query, 3)[0].qualified_name == expected
    assert searcher.search(query, 3, mode="lexical")[0].qualified_name == expected
    assert searcher.symbols(query, 3)[0].qualified_name == expected


def test_like_wildcards_are_not_wildcards(searcher):
    # '%' and '_' must not act as SQL LIKE wildcards that match every symbol.
    assert [r.qualified_name for r in searcher.search("_", 50, mode="lexical")] == []
    assert [r.qualified_name for r in searcher.search("%", 50, mode="lexical")] == []
    assert searcher.symbols("%", 50) == []


def test_nothing_was_dropped(searcher):
    status = searcher.index.status()
    assert status.symbols == 7
    assert status.files == 2
