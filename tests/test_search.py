"""Hybrid search, fuzzy identifier search, filters, fusion, explanations and call-graph expansion."""

from __future__ import annotations

import pytest
from index_support import make_workspace, open_index

from lsp_server.index.globs import glob_matches
from lsp_server.index.identifiers import name_words, split_identifier
from lsp_server.search import NameTable, Searcher, query_shape, reciprocal_rank_fusion, word_prefix_chunks


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    root = make_workspace(tmp / "ws")
    ix = open_index(root, tmp / "idx")
    ix.update()
    yield Searcher(ix, ix.embedder)
    ix.close()


def names(results):
    return [r.qualified_name for r in results]


# -- units --------------------------------------------------------------------------------------


def test_split_identifier():
    assert split_identifier("HTTPServerError2") == ("http", "server", "error", "2")
    assert split_identifier("retry_upload") == ("retry", "upload")
    assert split_identifier("getUserName") == ("get", "user", "name")
    assert name_words("loadConfig") == "load config loadconfig"


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([(["a", "b", "c"], 1.0), (["c", "b", "d"], 1.0)], k=60)
    order = sorted(fused, key=lambda x: -fused[x])
    assert order[:2] == ["b", "c"] or order[:2] == ["c", "b"]
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 62)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] < fused["a"]
    weighted = reciprocal_rank_fusion([(["a"], 0.5)], k=60)
    assert weighted["a"] == pytest.approx(0.5 / 61)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "pkg/config.py", True),
        ("*.py", "web/user.js", False),
        ("pkg/*", "pkg/config.py", True),
        ("pkg/*", "pkg/sub/x.py", True),  # a folder pattern matches everything below it
        ("pkg/*.py", "pkg/sub/x.py", False),
        ("**/x.py", "pkg/sub/x.py", True),
        ("pkg/**/*.py", "pkg/config.py", True),
        ("web", "web/user.js", True),
        ("src/", "src/parse.rs", True),
        ("/src/*.rs", "src/parse.rs", True),
        ("[", "[", True),
        ("user.?s", "web/user.js", True),
        ("/[!w]*", "web/user.js", False),
        ("[!w]*", "web/user.js", True),  # "user.js" is a segment not starting with w
        ("[a-z]*.rs", "src/parse.rs", True),
        ("src/**", "src/a/b/c.rs", True),
        ("src/**/c.rs", "src/c.rs", True),
        ("**", "anything/at/all", True),
        ("", "x.py", True),
    ],
)
def test_path_globs(pattern, path, expected):
    assert glob_matches(pattern, path) is expected


def test_crafted_globs_cannot_blow_up():
    import time

    path = "a" * 200 + "/" + "a" * 200
    started = time.perf_counter()
    for pattern in ("*a" * 30 + "b", "**/" * 20 + "*a*a*a*a*a*b", "[a]*" * 40 + "!"):
        assert glob_matches(pattern, path) is False
    assert time.perf_counter() - started < 2.0


def test_name_table_ranks_fuzzy_matches():
    rows = [
        (1, "load_config", "function", "python", "a.py", "load_config"),
        (2, "loadConfigFile", "function", "typescript", "b.ts", "loadConfigFile"),
        (3, "_load_agent_config", "function", "python", "c.py", "_load_agent_config"),
        (4, "lead_conflict", "function", "python", "d.py", "lead_conflict"),
        (5, "getUserName", "method", "typescript", "b.ts", "Users.getUserName"),
        (6, "get_user", "function", "python", "a.py", "get_user"),
        (7, "HttpServer", "class", "python", "a.py", "HttpServer"),
        (8, "parse", "function", "python", "a.py", "parse"),
        (9, "parser", "class", "python", "a.py", "parser"),
    ]
    table = NameTable(0, rows)

    def top(q, **kw):
        return [
            rowid for rowid, _, _ in table.match(q, 10, lang=kw.get("lang"), kind=kw.get("kind"), path=kw.get("path"))
        ]

    assert top("ldcfg")[0] == 1  # abbreviation across word parts
    assert set(top("ldcfg")[:3]) == {1, 2, 3}
    assert top("load_config")[0] == 1  # exact
    assert top("loadconf")[:2] == [1, 2]  # prefix of the glued parts
    assert top("gun")[0] == 5  # initials
    assert top("HttpSer")[0] == 7  # prefix
    assert top("conf")  # word start in the middle
    assert top("laod_config")[0] == 1  # transposition typo
    assert top("lod_config")[0] == 1  # deletion typo
    assert top("parse")[:2] == [8, 9]  # exact before prefix
    assert top("ldcfg", lang="typescript") == [2]
    assert top("ldcfg", path="c.py") == [3]
    assert top("Users.getUserName")[0] == 5
    assert top("") == [] and top("zzzzzz") == []


def test_name_table_camel_humps_and_word_prefix_abbreviations():
    rows = [
        (1, "InputSourceContext", "class", "go", "a.go", "InputSourceContext"),
        (2, "isCData", "method", "java", "b.java", "Token.isCData"),
        (3, "StringSubstitutorReader", "class", "java", "c.java", "StringSubstitutorReader"),
        (4, "StringReader", "class", "java", "d.java", "StringReader"),
        (5, "ContainsNoneOf", "class", "python", "e.py", "ContainsNoneOf"),
        (6, "NoneOf", "class", "python", "e.py", "NoneOf"),
        (7, "mapFromPairsToString", "function", "go", "f.go", "mapFromPairsToString"),
    ]
    table = NameTable(0, rows)

    def top(q):
        return [(rowid, why) for rowid, _, why in table.match(q, 10, lang=None, kind=None, path=None)]

    # Capitals that are exactly a name's initials beat a case-blind prefix ("isCData" starts with "isc").
    assert top("ISC")[0] == (1, "camel humps")
    assert top("isc")[0][0] == 2  # typed in lower case it is a prefix, as before
    # Chunks that are prefixes of the words in order, where the one-reading pattern gives up.
    assert top("strsubreader")[0] == (3, "abbreviation")
    assert top("CoNoOf")[0] == (5, "abbreviation")
    assert top("pairstostr")[0] == (7, "word start")  # starts at a later word


@pytest.mark.parametrize(
    ("query", "words", "first"),
    [
        ("conoof", ["contains", "none", "of"], 0),
        ("strsubreader", ["string", "substitutor", "reader"], 0),
        ("pairstostr", ["map", "from", "pairs", "to", "string"], 2),
        ("ba", ["a", "b", "a"], 1),
        ("aab", ["a", "ab"], 0),  # one chunk per word: "a" + "ab"
        ("aa", ["a"], None),  # a word cannot give two chunks
        ("xyz", ["ab"], None),
        ("", ["a"], None),
    ],
)
def test_word_prefix_chunks(query, words, first):
    assert word_prefix_chunks(query, words) == first


def test_word_prefix_chunks_on_hostile_input():
    # Every split of 400 a's over 40 words of 50 a's is a reading: one pass per word keeps at most
    # 401 positions, where a search over splits would never finish.
    assert word_prefix_chunks("a" * 400, ["a" * 50] * 40) == 0
    assert word_prefix_chunks("a" * 400 + "b", ["a" * 50] * 40) is None


# -- hybrid search ------------------------------------------------------------------------------


def test_exact_identifier_is_first_and_explained(searcher):
    results = searcher.search("load_config", 5)
    assert results[0].qualified_name == "load_config"
    assert "exact name" in results[0].why
    assert results[0].raw_score > 1.0 > results[1].raw_score
    assert results[0].band == "exact" and 0.9 <= results[0].score < 1.0 and results[1].score < 0.9


def test_exact_name_cannot_be_outranked_by_semantic_noise(searcher):
    # "send_chunk" appears in other symbols' bodies and shares words with them; the symbol with
    # that exact name still wins, in every mode that has a lexical signal.
    for mode in ("hybrid", "lexical"):
        assert searcher.search("send_chunk", 5, mode=mode)[0].qualified_name == "UploadClient.send_chunk"
    # a code-shaped token inside a longer query gets the exact tier too
    assert searcher.search("where is getUserName used", 5)[0].qualified_name == "getUserName"


def test_query_shapes():
    assert query_shape("load_config") == query_shape("parse") == query_shape("a.b.C") == "identifier"
    assert query_shape("where is getUserName used") == query_shape("the ..._len helper") == "mixed"
    assert query_shape("read settings file from disk") == query_shape("put protocol") == "natural"


# A plain word of a question that is also some symbol's whole name must not drag that symbol up,
# while the same word typed as an identifier query still ranks it first.
_NAMED_LIKE_A_WORD = {
    "lib/store.py": '''
        def put(key, value):
            """Keep a value under a key in memory."""
            return {key: value}
        ''',
    "lib/urls.py": '''
        def add_scheme(url):
            """Put a default protocol in front of an address that lacks one."""
            return url if "://" in url else "http://" + url
        ''',
}


def test_natural_query_is_not_dragged_by_a_one_word_name(tmp_path):
    root = make_workspace(tmp_path / "ws", _NAMED_LIKE_A_WORD)
    with open_index(root, tmp_path / "idx") as ix:
        ix.update()
        s = Searcher(ix, ix.embedder)
        question = s.search("put protocol", 5)
        assert names(question)[0] == "add_scheme"
        assert all("exact name" not in r.why for r in question)
        ident = s.search("put", 5)
        assert names(ident)[0] == "put" and "exact name" in ident[0].why and ident[0].raw_score > 1.0


def test_identifier_keeps_exact_match_first_over_documented_neighbours(searcher):
    # `start` is a bare method; other symbols share its words in docs and bodies. Column weights
    # that favour docs for questions must not move the exact identifier off the top.
    for mode in ("hybrid", "lexical"):
        assert names(searcher.search("start", 5, mode=mode))[0] == "HttpServer.start"
    assert names(searcher.search("HttpServer.start", 5))[0] == "HttpServer.start"


def test_name_parts_explanation(searcher):
    results = searcher.search("retry upload", 5)
    assert results[0].qualified_name == "UploadClient.retry_upload"
    assert "name parts: retry, upload" in results[0].why
    assert "semantic" in results[0].why


def test_natural_language_query_finds_documented_function(searcher):
    results = searcher.search("read settings file from disk", 5)
    assert "load_config" in names(results)[:2]


def test_modes(searcher):
    lexical = searcher.search("retry upload", 5, mode="lexical")
    vector = searcher.search("retry upload", 5, mode="vector")
    assert lexical and vector
    assert all("semantic" not in r.why for r in lexical)
    assert all(r.why.startswith("semantic") for r in vector)
    with pytest.raises(ValueError):
        searcher.search("x", mode="nonsense")


def test_filters(searcher):
    assert {r.language for r in searcher.search("name", 20, lang="javascript")} == {"javascript"}
    assert {r.kind for r in searcher.search("config", 20, kind="class")} == {"class"}
    assert all(r.path.startswith("pkg/") for r in searcher.search("config", 20, path="pkg/*"))
    assert searcher.search("load_config", 5, lang="rust") == [] or all(
        r.language == "rust" for r in searcher.search("load_config", 5, lang="rust")
    )
    assert searcher.search("config", 5, path="nowhere/**") == []


def test_results_carry_location_signature_snippet(searcher):
    r = searcher.search("extract_symbols", 1)[0]
    assert r.path == "src/parse.rs" and r.language == "rust" and r.kind == "function"
    assert r.start_line == 2 and r.end_line == 4  # 1-based, the doc comment is line 1
    assert "pub fn extract_symbols" in r.signature
    assert "extract_symbols" in r.snippet
    assert r.freshness == "indexed"
    assert set(r.to_dict()) >= {
        "path",
        "name",
        "qualified_name",
        "kind",
        "language",
        "start_line",
        "end_line",
        "score",
        "signature",
        "snippet",
        "why",
    }


def test_expansion_along_calls(searcher):
    plain = searcher.search("send_chunk", 3)
    expanded = searcher.search("send_chunk", 6, expand=True)
    by_name = {r.qualified_name: r for r in expanded}
    assert "UploadClient.retry_upload" in by_name
    assert "calls UploadClient.send_chunk" in by_name["UploadClient.retry_upload"].why
    assert "load_config" in by_name
    assert "called by UploadClient.send_chunk" in by_name["load_config"].why
    assert plain[0].qualified_name == expanded[0].qualified_name


def test_callers_and_callees_resolution(searcher):
    ix = searcher.index
    ids = {r.qualified_name: r.symbol_id for r in ix.iter_symbols()}
    callers = {e.symbol.qualified_name: e for e in ix.callers(ids["load_config"])}
    assert "UploadClient.send_chunk" in callers
    assert callers["UploadClient.send_chunk"].how == "import"
    callees = {e.symbol.qualified_name: e for e in ix.callees(ids["UploadClient.retry_upload"])}
    assert callees["UploadClient.send_chunk"].how == "same class"
    js = {e.symbol.qualified_name: e for e in ix.callees(ids["HttpServer.start"])}
    assert js["listenOn"].how == "same file"


# -- fuzzy symbols over a real index ------------------------------------------------------------


def test_symbols_fuzzy(searcher):
    assert searcher.symbols("ldcfg", 5)[0].qualified_name == "load_config"
    assert searcher.symbols("gUN", 5)[0].qualified_name == "getUserName"
    assert searcher.symbols("HttpSer", 5)[0].qualified_name == "HttpServer"
    assert searcher.symbols("retry_uplaod", 5)[0].qualified_name == "UploadClient.retry_upload"
    assert searcher.symbols("next_tok", 5)[0].qualified_name == "Tokenizer.next_token"
    assert searcher.symbols("ldcfg", 5, lang="javascript") == []
    assert [r.name for r in searcher.symbols("config", 10, kind="class")] == ["ConfigError"]


def test_symbols_with_several_words_is_a_hybrid_search(searcher):
    results = searcher.symbols("retry upload", 5)
    assert results[0].qualified_name == "UploadClient.retry_upload"
    assert "semantic" in results[0].why


def test_name_table_follows_index_generation(tmp_path):
    root = make_workspace(tmp_path / "ws", {"a.py": "def first_one():\n    pass\n"})
    with open_index(root, tmp_path / "idx") as ix:
        ix.update()
        s = Searcher(ix, ix.embedder)
        assert s.symbols("first_one")[0].name == "first_one"
        assert s.symbols("second_one") == [] or s.symbols("second_one")[0].name != "second_one"
        (root / "a.py").write_text("def first_one():\n    pass\n\ndef second_one():\n    pass\n")
        ix.update()
        assert s.symbols("second_one")[0].name == "second_one"


def test_pending_freshness_before_vectors_sync(tmp_path):
    root = make_workspace(tmp_path / "ws", {"a.py": "def lonely_function():\n    pass\n"})
    with open_index(root, tmp_path / "idx", embed=False) as ix:
        ix.update()
        s = Searcher(ix, ix.embedder)
        assert s.search("lonely_function")[0].freshness == "pending"
        ix.sync_vectors()
        assert s.search("lonely_function")[0].freshness == "indexed"


def test_search_without_embedder_is_lexical(searcher):
    plain = Searcher(searcher.index, None)
    results = plain.search("retry upload", 5)
    assert results[0].qualified_name == "UploadClient.retry_upload"
    assert "semantic" not in results[0].why
    assert plain.search("retry upload", 5, mode="vector") == []


def test_real_default_model_end_to_end(tmp_path):
    """The bundled ONNX model (exported once into the user's model cache) through the whole
    pipeline: index, embed, hybrid search by meaning."""
    from lsp_server.embed import load_embedder

    embedder = load_embedder("default", "cpu")
    root = make_workspace(tmp_path / "ws")
    with open_index(root, tmp_path / "idx", embedder=embedder) as ix:
        stats = ix.update()
        assert stats.embedded == stats.symbols > 0 and not stats.errors
        status = ix.status()
        assert status.vectors == status.symbols and status.model_id == embedder.model_id
        assert ix.vectors.vectors(embedder.model_id)[next(iter(ix.iter_symbols())).symbol_id][1].shape == (
            embedder.dim,
        )
        s = Searcher(ix, embedder)
        assert "load_config" in names(s.search("read the settings file from disk", 3))
        assert "getUserName" in names(s.search("display name of a person", 3))
        vector_only = s.search("split source text into lexical tokens", 3, mode="vector")
        assert {"Tokenizer", "Tokenizer.next_token"} & set(names(vector_only))
        assert ix.update().embedded == 0


_FIELD_AND_FUNCTION = {
    "app/limits.py": '''
        failed_upload_retry = 3

        def send_again(client, path):
            """Retry a failed upload of one file."""
            return client.put(path)
        ''',
}


def test_questions_prefer_code_that_acts_over_fields_with_the_same_words(tmp_path):
    root = make_workspace(tmp_path / "ws", _FIELD_AND_FUNCTION)
    with open_index(root, tmp_path / "idx") as ix:
        ix.update()
        s = Searcher(ix, ix.embedder)
        assert names(s.search("where do we retry a failed upload", 3))[0] == "send_again"
        # Asking for a name still means that name, whatever its kind.
        assert names(s.search("failed_upload_retry", 3))[0] == "failed_upload_retry"
