"""Search over an index: hybrid (lexical + semantic) search and fuzzy identifier search.

Owns the ranking: identifier-aware lexical hits (FTS5 bm25 over identifier parts) and vector
similarity fused by reciprocal rank fusion, an exact-name tier that semantic noise can never
outrank, the code-aware rules after fusion (`RankingOptions`: path classes, definitions first,
per-file saturation, duplicate collapsing, path / container-doc evidence), the displayed 0-1
relevance (`relevance`), filters (language, path glob, kind), optional expansion along
callers/callees, a `why` for every hit, and the in-memory name table behind fuzzy `symbols` queries (prefix, camelCase /
snake_case abbreviations such as `ldcfg` -> `load_config`, word starts, substrings, small typos),
refreshed when the index's generation counter moves.

Must never: run SQL or touch LanceDB (it asks `Index`), import protocol types (results are plain
dataclasses for lsp / mcp / cli to convert), or raise on what a user typed: any query text gives
results or none, never an error.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from lsp_server.index import Index, SymbolBrief, SymbolFilter, SymbolRecord
from lsp_server.index.globs import compile_glob
from lsp_server.index.identifiers import (
    CODE_KEYWORDS,
    STOPWORDS,
    identifier_tokens,
    is_identifier,
    last_component,
    looks_like_code,
    split_identifier,
    words,
)
from lsp_server.index.vectors import VectorStoreError

if TYPE_CHECKING:
    from lsp_server.embed import Embedder

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "lexical", "vector"]

MAX_QUERY_CHARS = 2000
RRF_K = 60  # the usual constant: rank 1 scores 1/61, rank 10 scores 1/70
CANDIDATES = 100  # per ranked list fed into fusion
EXACT_TIER = 1.0  # added to exact identifier matches: above any fused score (those are < 0.05)
EXPAND_FROM = 5  # expand along calls from this many top hits
EXPAND_EACH = 3
EXPAND_FACTOR = 0.5
QUERY_VECTOR_CACHE = 256
# Vector hits below this cosine are noise in any model we ship (unrelated texts sit near 0); they
# would only pad short result lists.
MIN_SIMILARITY = 0.05

# Kinds people look for first when names tie.
_KIND_BONUS = {
    "class": 3,
    "interface": 3,
    "struct": 3,
    "enum": 2,
    "function": 3,
    "method": 3,
    "constructor": 2,
    "module": 1,
    "trait": 3,
    "type": 2,
    "namespace": 1,
}


@dataclass
class SearchResult:
    path: str  # relative to the root, forward slashes
    name: str
    qualified_name: str
    kind: str
    language: str
    start_line: int  # 1-based, inclusive
    end_line: int
    # What a person reads: with RankingOptions.calibrated_score (the default) a 0-1 relevance
    # (see `relevance`), else the raw ranking score. Fuzzy `symbols` results keep their tier score.
    score: float
    signature: str
    snippet: str
    why: str
    symbol_id: str
    freshness: str  # "indexed" | "pending" | "unsaved"
    raw_score: float | None = None  # the ranking's own number (fusion x rules), for debugging
    band: str = ""  # "exact" | "high" | "medium" | "low" (calibrated hybrid results only)
    also_in: list[str] = field(default_factory=list)  # "path:line" of collapsed copies of this symbol

    def to_dict(self) -> dict:
        return asdict(self)


def _result(rec: SymbolRecord, score: float, why: str, freshness: str, **extra) -> SearchResult:
    return SearchResult(
        path=rec.path,
        name=rec.name,
        qualified_name=rec.qualified_name,
        kind=rec.kind,
        language=rec.language,
        start_line=rec.start_line,
        end_line=rec.end_line,
        score=round(score, 6),
        signature=rec.signature,
        snippet=rec.snippet,
        why=why,
        symbol_id=rec.symbol_id,
        freshness=freshness,
        **extra,
    )


@dataclass
class _LexicalHits:
    fts: list[str] = field(default_factory=list)  # bm25 order
    words: list[str] = field(default_factory=list)  # exact matches of plain query words
    terms: list[str] = field(default_factory=list)  # what was asked of FTS5
    stored: dict[str, tuple[str, str]] = field(default_factory=dict)  # bm25 hit -> (name words, body words)


def _meaningful_terms(query: str) -> list[str]:
    """The query's words as FTS5 is asked for them. English stopwords and language keywords
    ("function", "return", "class") match a large share of all symbols: dropped when the query has
    anything more specific."""
    terms = list(dict.fromkeys(words(query)))
    return (
        [t for t in terms if t not in STOPWORDS and t not in CODE_KEYWORDS]
        or [t for t in terms if t not in STOPWORDS]
        or terms
    )


_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ies", "ed", "es", "s")


@lru_cache(maxsize=1 << 16)
def _rough_stem(word: str) -> str:
    """Enough of a stem to say which query word a hit matched ("extracted" ~ "extraction" ~
    "extract"); ranking itself uses FTS5's porter stemmer."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True)
class FusionWeights:
    """RRF weight of each ranked list: bm25, exact matches of plain query words, vector."""

    fts: float
    words: float
    vector: float


# Per query shape (see `query_shape`). The exact tier, not these weights, keeps identifier matches
# first. A question's own words rarely name its answer, so only the vector list and bm25 over docs
# and bodies rank it; a code-shaped token in a question is already served by the exact tier, so its
# remaining words lean on meaning (vector 1.5: search_quality dev split, hint queries 0.760 -> 0.782).
FUSION_WEIGHTS = {
    "identifier": FusionWeights(fts=1.0, words=0.5, vector=1.0),
    "mixed": FusionWeights(fts=1.0, words=0.5, vector=1.5),
    "natural": FusionWeights(fts=1.0, words=0.0, vector=1.0),  # no plain-word list: see `_lexical`
}
MAX_PLAIN_WORDS = 2  # a keyword query of at most this many plain words also ranks exact names


# Multipliers on fused scores for natural-language and mixed queries (identifier queries are left
# alone: asking for a name means that name, whatever its kind).
KIND_PRIOR = {
    "field": 0.8,
    "property": 0.8,
    "variable": 0.8,
    "constant": 0.8,
    "key": 0.7,
    "string": 0.7,
    "enummember": 0.8,
    "object": 0.9,
}


def query_shape(query: str) -> Literal["identifier", "mixed", "natural"]:
    """'identifier': the whole query is one (possibly qualified) identifier, `load_config`, `parse`;
    'mixed': several words, at least one code-shaped (`where is getUserName used`); 'natural':
    plain words only (`read settings file from disk`)."""
    if is_identifier(query):
        return "identifier"
    if any(looks_like_code(t) for t in identifier_tokens(query)):
        return "mixed"
    return "natural"


def reciprocal_rank_fusion(ranked_lists: list[tuple[list[str], float]], k: int = RRF_K) -> dict[str, float]:
    """sum over lists of weight / (k + rank), rank 1-based: agreement between lists beats a high
    rank in one, and no list's raw scores (bm25, cosine) need to be comparable."""
    fused: dict[str, float] = {}
    for ranked, weight in ranked_lists:
        for rank, item in enumerate(ranked, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


# --------------------------------------------------------------------------------------------------
# Code-aware ranking rules (issue 9): each one a switch of RankingOptions
# --------------------------------------------------------------------------------------------------

RANKING_RULES = (
    "path_classes",
    "definitions_first",
    "file_saturation",
    "collapse_duplicates",
    "exact_tier",
    "path_evidence",
    "calibrated_score",
)


@dataclass(frozen=True)
class RankingOptions:
    """The code-aware rules applied after fusion, each a switch; every rule is on by default, and
    each rule's 'off' is the ranking as it was before it (`legacy()`: all off).

    path_classes: tests, fixtures, examples, benchmarks, vendored and generated code rank below the code they
        exercise (x PATH_CLASS_FACTOR), unless the question is about that kind of code.
    definitions_first: for questions, functions / classes / methods above variables, fields, keys
        and headings (DEFINITION_PRIOR; off: the older, milder KIND_PRIOR).
    file_saturation: the k-th hit from one file is discounted (SATURATION_DECAY per hit after
        SATURATION_FREE), so one file cannot fill the page.
    collapse_duplicates: copies of one API in different files (same kind, qualified name and
        text hash: signature, doc and body digest; v1/, v2/, compat/, legacy/ ...) become one result
        whose `also_in` says where else it lives.
    exact_tier: exact-name hits form a tier that no rule can push below a non-exact hit (off: the
        tier is a bonus added before the rules, which may then scale it like any score).
    path_evidence: query words found in the file's path (folders, file name) or in the enclosing
        symbol's doc lift a hit (x 1 + PATH_EVIDENCE_BOOST x share of words covered). Off by
        default: on the 19-package eval set it lowers whole-workspace dev MRR@10 (0.374 with it,
        0.384 without; benchmarks/search_quality.py), so it stays a switch, not a default.
    calibrated_score: `score` is a 0-1 relevance and `band` is set (off: `score` is the raw
        fusion number, as `raw_score` always is).
    """

    path_classes: bool = True
    definitions_first: bool = True
    file_saturation: bool = True
    collapse_duplicates: bool = True
    exact_tier: bool = True
    path_evidence: bool = False
    calibrated_score: bool = True

    @classmethod
    def every_rule(cls) -> RankingOptions:
        """Every rule on, including those off by default (tests and ablations)."""
        return cls(**dict.fromkeys(RANKING_RULES, True))

    @classmethod
    def legacy(cls) -> RankingOptions:
        """Every rule off: fusion, the additive exact tier and KIND_PRIOR only."""
        return cls(**dict.fromkeys(RANKING_RULES, False))

    def without(self, *rules: str) -> RankingOptions:
        unknown = sorted(set(rules) - set(RANKING_RULES))
        if unknown:
            raise ValueError(f"unknown ranking rules {unknown}; known: {', '.join(RANKING_RULES)}")
        return replace(self, **dict.fromkeys(rules, False))


PathClass = Literal["test", "fixture", "example", "benchmark", "vendor", "generated"]

# Tuned on the search_quality dev split only (see README, search quality).
PATH_CLASS_FACTOR: dict[str, float] = {
    "test": 0.5,
    "fixture": 0.5,
    "example": 0.6,
    "benchmark": 0.6,  # like examples: code that drives the code a question is about
    "vendor": 0.5,
    "generated": 0.5,
}
DEFINITION_PRIOR = {
    "field": 0.5,
    "property": 0.5,
    "variable": 0.5,
    "constant": 0.5,
    "key": 0.4,
    "string": 0.4,
    "enummember": 0.5,
    "object": 0.6,
}
SATURATION_FREE = 2  # hits per file before the discount starts
SATURATION_DECAY = 0.9  # each further hit from the same file
PATH_EVIDENCE_BOOST = 0.3  # x share of the query's words found in the file's path
CONTAINER_DOC_BOOST = 0.1  # x share found (only) in the enclosing symbol's doc

_CLASS_DIRS: dict[str, frozenset[str]] = {
    "test": frozenset({"test", "tests", "__tests__", "spec", "specs", "e2e"}),
    "fixture": frozenset(
        {"fixtures", "fixture", "__fixtures__", "testdata", "test_data", "__snapshots__", "__mocks__", "mocks"}
    ),
    "example": frozenset(
        {"examples", "example", "samples", "sample", "demo", "demos", "docs", "doc", "tutorial", "tutorials"}
    ),
    "benchmark": frozenset({"benchmarks", "benchmark", "benches", "bench"}),
    "vendor": frozenset(
        {
            "vendor",
            "vendored",
            "_vendor",
            "third_party",
            "thirdparty",
            "third-party",
            "node_modules",
            "bower_components",
            "site-packages",
            "extern",
            "external",
        }
    ),
    "generated": frozenset({"generated", "__generated__", "_generated", "dist"}),
}
_TEST_FILE = re.compile(
    r"test_.*\.py|.*_test\.(?:py|go|rb|rs|c|cc|cpp|exs?|dart)|conftest\.py|tests?\.py|.*_tests\.rs"
    r"|.*\.(?:test|spec)\.[cm]?[jt]sx?|.*(?:Test|Tests|IT|Spec)\.(?:java|kt|scala|cs|php|swift|groovy)|.*_spec\.rb"
)
_GENERATED_FILE = re.compile(
    r".*_pb2(?:_grpc)?\.pyi?|.*\.pb\.(?:go|cc|h)|.*[._-]generated\.\w+|.*\.gen\.\w+|.*\.g\.dart|.*\.freezed\.dart|.*\.min\.js"
)
# Unit tests kept beside the code in an inline module (Rust's `mod tests` / `mod test`): the
# module, and what it holds, are test code whatever the file's path says.
TEST_CONTAINERS = frozenset({"test", "tests"})
# Words that make a question about that kind of code (its demotion is then lifted).
_ASKS_FOR: dict[str, frozenset[str]] = {
    "test": frozenset({"test", "tests", "testing", "unittest", "pytest", "spec", "specs", "e2e", "conftest"}),
    "fixture": frozenset({"fixture", "fixtures", "mock", "mocks", "mocking", "testdata", "test", "tests", "testing"}),
    "example": frozenset({"example", "examples", "sample", "samples", "demo", "demos", "tutorial", "docs"}),
    "benchmark": frozenset({"benchmark", "benchmarks", "bench", "benches", "benchmarking"}),
    "vendor": frozenset({"vendor", "vendored", "vendoring", "thirdparty"}),
    "generated": frozenset({"generated", "codegen", "autogenerated", "protobuf", "pb2"}),
}


@lru_cache(maxsize=1 << 14)
def path_class(path: str) -> PathClass | None:
    """What a file is besides ordinary code, from its path alone: 'test', 'fixture', 'example',
    'benchmark', 'vendor', 'generated', or None. A folder class beats a file-name class (tests/fixtures/x.py is a
    fixture); `testing.py` and `test/`-free paths like `src/click/testing.py` are ordinary code."""
    parts = path.split("/")
    folders = [p.lower() for p in parts[:-1]]
    for cls in ("vendor", "generated", "fixture", "example", "benchmark", "test"):
        if any(f in _CLASS_DIRS[cls] for f in folders):
            return cls  # type: ignore[return-value]
    name = parts[-1]
    if _GENERATED_FILE.fullmatch(name):
        return "generated"
    if _TEST_FILE.fullmatch(name):
        return "test"
    return None


def classes_asked_for(query: str) -> set[str]:
    """The path classes a question is about ("where is the retry test" -> test, fixture)."""
    ws = set(words(query))
    if "third" in ws and "party" in ws:
        ws.add("thirdparty")
    return {cls for cls, triggers in _ASKS_FOR.items() if ws & triggers}


_GENERIC_PATH_WORDS = frozenset({"src", "lib", "index", "init", "main", "mod", "pkg", "internal", "py", "js", "ts"})


@lru_cache(maxsize=1 << 14)
def _path_stems(path: str) -> frozenset[str]:
    """Stems of a file's folder and file names (no extension, no generic `src` / `lib` / `index`
    words, no version numbers)."""
    folders, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return frozenset(
        _rough_stem(w) for w in words(f"{folders} {stem}") if w not in _GENERIC_PATH_WORDS and not w.isdigit()
    )


@lru_cache(maxsize=1 << 14)
def _doc_stems(doc: str | None) -> frozenset[str]:
    return frozenset(_rough_stem(w) for w in words(doc[:400]) if w not in STOPWORDS) if doc else frozenset()


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 11 <= n % 100 <= 13 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


# A non-exact hit's relevance: a logistic curve, fitted on the search_quality dev split of the
# 19-package eval set (benchmarks/search_quality.py --fit-calibration), over two features of its
# raw score: its share of the best score any candidate could get (every list ranking it first),
# and its margin over the best *other* non-exact hit on the page (> 1 only for the first: how far
# ahead it is). Both slopes
# are positive, so the relevance never contradicts the order. It estimates the share of results at
# that relevance that were the answer looked for (one answer per question in that set, so a page
# rarely holds more than one relevant hit). Exact-name hits take the band above it.
CALIBRATION = (-1.593, 1.346, 3.303)  # (intercept, slope on ln(raw / best possible), slope on ln(raw / best other))
RELEVANCE_CEILING = 0.89  # non-exact hits stay below every exact-name hit
BANDS = (
    (0.9, "exact"),
    (0.3, "high"),
    (0.1, "medium"),
    (0.0, "low"),
)  # dev split: ~55 %, ~15 %, ~3 % of hits were the answer


def best_possible_score(query: str, mode: Mode = "hybrid") -> float:
    """The fused score of a symbol every ranked list of this query's shape and mode puts first:
    the scale `relevance` measures raw scores against."""
    w = FUSION_WEIGHTS[query_shape((query or "").strip()[:MAX_QUERY_CHARS])]
    lists = {"hybrid": w.fts + w.words + w.vector, "lexical": w.fts + w.words, "vector": w.vector}[mode]
    return lists / (RRF_K + 1)


def calibration_features(raw: float, best_possible: float, best_other: float) -> tuple[float, float]:
    """(ln(raw / best possible), ln(raw / best other non-exact raw on the page)); 0 where undefined."""
    if raw <= 0 or best_possible <= 0:
        return (0.0, 0.0)
    return (math.log(raw / best_possible), math.log(raw / best_other) if best_other > 0 else 0.0)


def relevance(raw: float, best_possible: float, best_other: float, exact: bool) -> float:
    """The 0-1 score shown for a hybrid result. Exact-name hits map into [0.90, 1.00) by their raw
    score (the tier's 1.0 or 1.1 plus fusion, times the rules), everything else through CALIBRATION,
    capped at RELEVANCE_CEILING; `best_other` is the best raw score of the page's other non-exact
    hits (0 when there is none)."""
    if exact:
        return round(0.9 + 0.099 * (1.0 - math.exp(-max(raw, 0.0))), 3)
    if raw <= 0 or best_possible <= 0:
        return 0.0
    a, b, c = CALIBRATION
    x1, x2 = calibration_features(raw, best_possible, best_other)
    z = a + b * x1 + c * x2
    return round(min(RELEVANCE_CEILING, 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))), 3)


def band_of(score: float) -> str:
    return next(name for floor, name in BANDS if score >= floor)


def rule_context(query: str, terms: Sequence[str], opts: RankingOptions) -> tuple[set[str], set[str]]:
    """What the per-symbol rules need to know of a query: the path classes it asks about, and the
    stems of its lexical terms (for path and container-doc evidence)."""
    asked = classes_asked_for(query) if opts.path_classes else set()
    stems = {_rough_stem(t) for t in terms} if opts.path_evidence else set()
    return asked, stems


def rule_factor(
    shape: str,
    kind: str,
    path: str,
    container: str | None,
    container_doc: str | None,
    *,
    name: str = "",
    asked: set[str],
    stems: set[str],
    opts: RankingOptions,
) -> tuple[float, list[str]]:
    """The product of the per-symbol rules' multipliers for one hit, and their notes for `why`
    (also applied by the overlay to unsaved buffers' hits, so both sit on one scale)."""
    factor, notes = 1.0, []
    if shape != "identifier":
        # A question is usually answered by code that does something: among near-equal
        # fused scores, prefer functions and types over fields, keys and headings.
        prior = (DEFINITION_PRIOR if opts.definitions_first else KIND_PRIOR).get(kind, 1.0)
        if prior != 1.0:
            factor *= prior
            if opts.definitions_first:
                notes.append(f"{kind} x{prior:g}")
    if opts.path_classes:
        in_test_module = container in TEST_CONTAINERS or (kind == "module" and name in TEST_CONTAINERS)
        cls = path_class(path) or ("test" if in_test_module else None)
        if cls is not None and cls not in asked:
            factor *= PATH_CLASS_FACTOR[cls]
            notes.append(f"{cls} code x{PATH_CLASS_FACTOR[cls]:g}")
    if stems:
        in_path = stems & _path_stems(path)
        in_doc = (stems & _doc_stems(container_doc)) - in_path
        if in_path or in_doc:
            boost = 1.0 + (PATH_EVIDENCE_BOOST * len(in_path) + CONTAINER_DOC_BOOST * len(in_doc)) / len(stems)
            factor *= boost
            said = [f"path words: {', '.join(sorted(in_path))}"] if in_path else []
            said += [f"{container} doc words: {', '.join(sorted(in_doc))}"] if in_doc else []
            notes.append(f"{'; '.join(said)} x{boost:.2f}")
    return factor, notes


@dataclass(slots=True)
class _Candidate:
    brief: SymbolBrief
    fused: float  # reciprocal rank fusion over the ranked lists
    tier: float = 0.0  # the exact-name bonus (0: not an exact hit)
    factor: float = 1.0  # product of the rules' multipliers
    notes: list[str] = field(default_factory=list)
    also_in: list[SymbolBrief] = field(default_factory=list)

    @property
    def value(self) -> float:
        return (self.tier + self.fused) * self.factor


def _duplicate_keys(b: SymbolBrief) -> list[tuple]:
    """What makes two symbols in different files copies of one API: the same kind, qualified name
    and embedded text, whose hash covers the signature, the doc and the body digest (the body's
    most-used identifiers, so edits that keep what a body uses keep the hash). The same signature
    alone is not enough: an override that delegates to its base has it too."""
    return [(b.kind, b.qualified_name, b.text_hash)]


def _collapse_duplicates(ordered: list[_Candidate]) -> list[_Candidate]:
    """Keep the best-ranked copy of each duplicated symbol; the others go to its `also_in`."""
    owner: dict[tuple, _Candidate] = {}
    out: list[_Candidate] = []
    for c in ordered:
        keys = _duplicate_keys(c.brief)
        rep = next((owner[k] for k in keys if k in owner), None)
        if rep is not None and rep.brief.path != c.brief.path:
            rep.also_in.append(c.brief)
            if len(rep.also_in) == 1:
                rep.notes.append("copies collapsed")
            continue
        for k in keys:
            owner.setdefault(k, c)
        out.append(c)
    return out


def _saturate(ordered: list[_Candidate], key, need: int) -> list[_Candidate]:
    """Greedy page filling with a per-file discount: the n-th hit taken from one file is worth
    SATURATION_DECAY^(n - SATURATION_FREE) of its score (lazy re-scoring, best first). The first
    `need` come back in their final order, the rest after them as they were."""
    per_file: dict[str, int] = {}
    heap = [(key(c), 0, i) for i, c in enumerate(ordered)]  # (sort key, file count it was scored at, i)
    heapq.heapify(heap)
    out: list[_Candidate] = []
    taken: set[int] = set()
    while heap and len(out) < need:
        _, seen, i = heapq.heappop(heap)
        c = ordered[i]
        count = per_file.get(c.brief.path, 0)
        if count != seen:
            discount = SATURATION_DECAY ** max(0, count - SATURATION_FREE + 1) / SATURATION_DECAY ** max(
                0, seen - SATURATION_FREE + 1
            )
            c.factor *= discount
            heapq.heappush(heap, (key(c), count, i))
            continue
        if count >= SATURATION_FREE:
            c.notes.append(
                f"{_ordinal(count + 1)} hit in its file x{SATURATION_DECAY ** (count - SATURATION_FREE + 1):.2f}"
            )
        per_file[c.brief.path] = count + 1
        out.append(c)
        taken.add(i)
    return out + [c for i, c in enumerate(ordered) if i not in taken]


class Searcher:
    def __init__(self, index: Index, embedder: Embedder | None = None, ranking: RankingOptions | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.ranking = ranking if ranking is not None else RankingOptions()
        self._names: NameTable | None = None
        self._names_lock = threading.Lock()
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qv_lock = threading.Lock()

    # -- hybrid search ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        limit: int = 10,
        *,
        lang: str | None = None,
        path: str | None = None,
        kind: str | None = None,
        mode: Mode = "hybrid",
        expand: bool = False,
        ranking: RankingOptions | None = None,
    ) -> list[SearchResult]:
        """Ranked symbols for a query. Round trips through the index: one for both lexical lists
        (with each hit's ranking features), one vector search, one for the features of vector-only
        hits, one for the final page's full records (plus the call graph when expanding)."""
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        if not query or limit <= 0:
            return []
        if mode not in ("hybrid", "lexical", "vector"):
            raise ValueError(f"mode must be hybrid, lexical or vector, not {mode!r}")
        opts = ranking if ranking is not None else self.ranking
        flt = SymbolFilter(language=lang or None, kind=kind or None, path_glob=path or None)
        per_list = max(CANDIDATES, limit * 3)

        shape = query_shape(query)
        weights = FUSION_WEIGHTS[shape]
        reasons: dict[str, list[str]] = {}
        exact_tier: dict[str, float] = {}
        briefs: dict[str, SymbolBrief] = {}
        ranked_lists: list[tuple[list[str], float]] = []
        lexical = _LexicalHits(terms=_meaningful_terms(query))
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical(query, shape, flt, per_list, reasons, exact_tier, briefs)
            ranked_lists += [(lexical.fts, weights.fts), (lexical.words, weights.words)]
        semantic: dict[str, float] = {}
        if mode in ("hybrid", "vector"):
            semantic = self._semantic(query, flt, per_list)
            ranked_lists.append(([sid for sid, _ in sorted(semantic.items(), key=lambda kv: -kv[1])], weights.vector))
        fused = reciprocal_rank_fusion(ranked_lists, RRF_K)
        for sid in exact_tier:  # an exact hit no ranked list holds is still a candidate
            fused.setdefault(sid, 0.0)
        # The pool: the best `per_list` by fused score plus the exact tier, as before the rules.
        pool = sorted(fused, key=lambda sid: (-(fused[sid] + exact_tier.get(sid, 0.0)), sid))[:per_list]
        missing = [sid for sid in pool if sid not in briefs]
        if missing:
            briefs.update(self.index.briefs(missing))
        candidates = [_Candidate(briefs[sid], fused[sid], exact_tier.get(sid, 0.0)) for sid in pool if sid in briefs]
        need = limit if not expand else max(limit, EXPAND_FROM)
        ordered = self._apply_rules(query, shape, candidates, lexical, opts, need)

        top = ordered[:need]
        records = self.index.get_symbols([c.brief.symbol_id for c in top])
        scores = {c.brief.symbol_id: c.value for c in top}
        tiered = {c.brief.symbol_id for c in top if c.tier > 0}
        protected = tiered if opts.exact_tier else set()
        by_id = {c.brief.symbol_id: c for c in top}
        if expand:
            self._expand([(sid, scores[sid]) for sid in list(scores)[:EXPAND_FROM]], records, scores, reasons, flt)

        final = sorted(
            (sid for sid in scores if sid in records), key=lambda sid: (sid not in protected, -scores[sid], sid)
        )[:limit]
        self._explain_lexical(final, lexical, reasons)
        expanded = [sid for sid in final if sid not in by_id]
        pending = {sid for sid in final if sid in by_id and by_id[sid].brief.pending}
        if expanded:
            pending |= self.index.pending_ids(expanded)
        # The two best non-exact raw scores: each hit's margin is over the best *other* one.
        first, second = (sorted((scores[sid] for sid in final if sid not in tiered), reverse=True) + [0.0, 0.0])[:2]
        out: list[SearchResult] = []
        for sid in final:
            why = list(reasons.get(sid, []))
            if sid in semantic:
                why.append(f"semantic {semantic[sid]:.2f}")
            cand = by_id.get(sid)
            if cand is not None:
                why += cand.notes
            raw = round(scores[sid], 6)
            extra: dict = {"raw_score": raw}
            if cand is not None and cand.also_in:
                extra["also_in"] = [f"{b.path}:{b.start_line}" for b in cand.also_in]
            if opts.calibrated_score:
                other = second if sid not in tiered and scores[sid] >= first else first
                shown = relevance(raw, best_possible_score(query, mode), other, sid in protected)
                extra["band"] = band_of(shown)
                why.append(f"raw {raw:.4f}")
            else:
                shown = raw
            out.append(
                _result(
                    records[sid], shown, "; ".join(why) or "match", "pending" if sid in pending else "indexed", **extra
                )
            )
        return out

    def _apply_rules(
        self,
        query: str,
        shape: str,
        candidates: list[_Candidate],
        lexical: _LexicalHits,
        opts: RankingOptions,
        need: int,
    ) -> list[_Candidate]:
        """The fusion pool, best first, after the code-aware rules (RankingOptions); at least the
        first `need` are in their final order."""
        asked, stems = rule_context(query, lexical.terms, opts)
        for c in candidates:
            b = c.brief
            factor, notes = rule_factor(
                shape, b.kind, b.path, b.container, b.container_doc, name=b.name, asked=asked, stems=stems, opts=opts
            )
            c.factor *= factor
            c.notes.extend(notes)

        def key(c: _Candidate) -> tuple:
            return (not (opts.exact_tier and c.tier > 0), -c.value, c.brief.symbol_id)

        ordered = sorted(candidates, key=key)
        if opts.collapse_duplicates:
            ordered = _collapse_duplicates(ordered)
        if opts.file_saturation:
            ordered = _saturate(ordered, key, need)
        return ordered

    def _lexical(self, query, shape, flt, per_list, reasons, exact_tier, briefs) -> _LexicalHits:
        """bm25 and exact-word rankings (symbol ids); fills the exact tier, its reasons and the
        briefs of every hit (one index call for both lists)."""
        tokens = identifier_tokens(query)
        # Exact identifiers: the whole query when it is one, plus code-shaped tokens of a longer one.
        exact_names: list[str] = []
        exact_qualified: list[str] = []
        for tok in [query] if is_identifier(query) else [t for t in tokens if looks_like_code(t)]:
            exact_names.append(last_component(tok).lower())
            if last_component(tok) != tok:
                exact_qualified.append(re.sub(r"::|#", ".", tok).lower())
        plain_words = [
            t.lower() for t in tokens if not looks_like_code(t) and len(t) >= 3 and t.lower() not in STOPWORDS
        ]
        if shape == "natural" or len(plain_words) > MAX_PLAIN_WORDS:
            # Plain words name topics, not identifiers ("where are symbols extracted from files",
            # "put a default protocol in front of an address"): a symbol that happens to be called
            # `symbols` or `put` is no better a match. Only a code-shaped query keeps a plain word
            # or two as possible names ("getUserName cache").
            plain_words = []
        result = _LexicalHits(terms=_meaningful_terms(query))
        found = self.index.lexical_candidates(result.terms, exact_names + plain_words, exact_qualified, flt, per_list)
        exact_set = set(exact_names) | set(exact_qualified)
        # Code-shaped exact matches get the tier above everything; plain words only a rank.
        for matched, brief in found.exact:
            sid = brief.symbol_id
            briefs[sid] = brief
            if matched in exact_set:
                if sid not in exact_tier:
                    case_bonus = 0.1 if brief.name == last_component(query) or brief.qualified_name == query else 0.0
                    exact_tier[sid] = EXACT_TIER + case_bonus
                    qualified_only = matched in exact_qualified and matched not in exact_names
                    reasons.setdefault(sid, []).append("exact qualified name" if qualified_only else "exact name")
            elif sid not in exact_tier and sid not in reasons:
                result.words.append(sid)
                reasons.setdefault(sid, []).append("exact name")
        for brief, _bm25, name_words_, body_words in found.fts:
            briefs.setdefault(brief.symbol_id, brief)
            result.fts.append(brief.symbol_id)
            result.stored[brief.symbol_id] = (name_words_, body_words)
        return result

    def _explain_lexical(self, final: list[str], lexical: _LexicalHits, reasons: dict[str, list[str]]) -> None:
        """Say which query words a bm25 hit matched: in its name parts, or in its other words."""
        term_stems = [(t, _rough_stem(t)) for t in lexical.terms]
        for sid in final:
            if sid not in lexical.stored:
                continue
            name_words_, body_words = lexical.stored[sid]
            name_stems = {_rough_stem(w) for w in name_words_.split()}
            in_name = [t for t, stem in term_stems if stem in name_stems]
            why = reasons.setdefault(sid, [])
            if in_name:
                if "exact name" not in why and "exact qualified name" not in why:
                    why.append("name parts: " + ", ".join(in_name))
            else:
                body_stems = {_rough_stem(w) for w in body_words.split()}
                in_body = [t for t, stem in term_stems if stem in body_stems]
                why.append("words: " + ", ".join(in_body) if in_body else "related words")

    def _semantic(self, query: str, flt: SymbolFilter, k: int) -> dict[str, float]:
        if self.embedder is None:
            return {}
        model = self.embedder.model_id
        if not self.index.vectors_ready(model):
            return {}
        vector = self._query_vector(query)
        try:
            hits = self.index.vector_search(vector, model, k, flt)
        except VectorStoreError as exc:
            # The projection is being rebuilt or cleaned up under us: lexical results still stand.
            log.warning("semantic search unavailable for this query: %s", exc)
            return {}
        return {sid: sim for sid, sim in hits if sim >= MIN_SIMILARITY}

    def _query_vector(self, query: str) -> np.ndarray:
        with self._qv_lock:
            cached = self._query_vectors.get(query)
            if cached is not None:
                self._query_vectors.move_to_end(query)
                return cached
        vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        with self._qv_lock:
            self._query_vectors[query] = vector
            while len(self._query_vectors) > QUERY_VECTOR_CACHE:
                self._query_vectors.popitem(last=False)
        return vector

    def _expand(self, seeds, records, scores, reasons, flt: SymbolFilter) -> None:
        glob = compile_glob(flt.path_glob) if flt.path_glob else None
        for sid, score in seeds:
            seed = records.get(sid)
            if seed is None:
                continue
            neighbours = [(e, f"called by {seed.qualified_name}") for e in self.index.callees(sid, EXPAND_EACH)]
            neighbours += [(e, f"calls {seed.qualified_name}") for e in self.index.callers(sid, EXPAND_EACH)]
            for edge, why in neighbours:
                rec = edge.symbol
                if flt.language and rec.language != flt.language.lower():
                    continue
                if flt.kind and rec.kind != flt.kind.lower():
                    continue
                if glob is not None and not glob.fullmatch(rec.path):
                    continue
                value = score * EXPAND_FACTOR * edge.confidence
                if value > scores.get(rec.symbol_id, 0.0):
                    scores[rec.symbol_id] = value
                    records[rec.symbol_id] = rec
                reasons.setdefault(rec.symbol_id, []).append(f"{why} ({edge.how})")

    # -- fuzzy identifier search --------------------------------------------------------------

    def symbols(
        self,
        query: str,
        limit: int = 50,
        *,
        lang: str | None = None,
        path: str | None = None,
        kind: str | None = None,
    ) -> list[SearchResult]:
        """Workspace-symbol search: an identifier query is matched fuzzily against every name; a
        query of several words is a question, answered by hybrid search."""
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        if limit <= 0:
            return []
        if len(query.split()) >= 2:
            return self.search(query, limit, lang=lang, path=path, kind=kind)
        table = self._name_table()
        ranked = table.match(query, limit, lang=lang, kind=kind, path=path)
        records = self.index.symbols_by_rowid([rowid for rowid, _, _ in ranked])
        pending = self.index.pending_ids([r.symbol_id for r in records.values()])
        return [
            _result(records[rowid], score, why, "pending" if records[rowid].symbol_id in pending else "indexed")
            for rowid, score, why in ranked
            if rowid in records
        ]

    def _name_table(self) -> NameTable:
        generation = self.index.generation()
        table = self._names
        if table is not None and table.generation == generation:
            return table
        with self._names_lock:
            table = self._names
            if table is None or table.generation != self.index.generation():
                gen, rows = self.index.name_table()
                table = NameTable(gen, rows)
                self._names = table
        return table


# --------------------------------------------------------------------------------------------------
# The fuzzy name table
# --------------------------------------------------------------------------------------------------

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_BIT = {c: 1 << i for i, c in enumerate(_ALPHABET)}
_OTHER_BIT = 1 << 40  # any other character (non-ASCII letters, $, ...)
ABBREVIATION_CANDIDATES = 1000  # regex checks per query at most (the rest are ranked out anyway)


def _mask(text: str) -> int:
    m = 0
    for c in text:
        m |= _BIT.get(c, _OTHER_BIT)
    return m


# Tier scores (higher first); within a tier shorter names and code-ish kinds win.
_TIER_EXACT_CASE = 100.0
_TIER_EXACT = 95.0
_TIER_HUMPS = 85.0  # capitals that are exactly a name's word initials
_TIER_PREFIX = 80.0
_TIER_INITIALS = 75.0
_TIER_ABBREV_FIRST = 65.0
_TIER_ABBREV = 55.0
_TIER_SUBSTRING = 45.0
_TIER_TYPO = 35.0


class NameTable:
    """Every symbol name of one index generation, laid out for per-keystroke matching: a sorted
    list for prefixes, bit masks of letters for cheap abbreviation/typo prefilters (numpy), and
    per-name word parts for the word-start abbreviation check."""

    def __init__(self, generation: int, rows: list[tuple]) -> None:
        self.generation = generation
        self.rows = rows  # (id, name, kind, language, path, qualified_name); repeated strs shared
        by_lower: dict[str, list[int]] = {}
        original: dict[str, str] = {}
        for i, row in enumerate(rows):
            lower = row[1].lower()
            by_lower.setdefault(lower, []).append(i)
            original.setdefault(lower, row[1])
        self.names = sorted(by_lower)
        self.symbols_of = [by_lower[n] for n in self.names]
        parts = [split_identifier(original[n]) for n in self.names]
        self.parts = [" ".join(p) if p else n for p, n in zip(parts, self.names)]
        self.initials = ["".join(w[0] for w in p) if p else n[:1] for p, n in zip(parts, self.names)]
        self.compact = ["".join(p) if p else n for p, n in zip(parts, self.names)]
        compact_order = sorted(range(len(self.names)), key=self.compact.__getitem__)
        self.compact_keys = [self.compact[i] for i in compact_order]
        self.compact_sorted = np.asarray(compact_order, dtype=np.int64)
        initials_order = sorted(range(len(self.names)), key=self.initials.__getitem__)
        self.initials_keys = [self.initials[i] for i in initials_order]
        self.initials_sorted = np.asarray(initials_order, dtype=np.int64)
        self.masks = np.fromiter((_mask(n) for n in self.names), dtype=np.uint64, count=len(self.names))
        self.lengths = np.fromiter((len(n) for n in self.names), dtype=np.int32, count=len(self.names))
        from rapidfuzz import process  # noqa: F401  (imported now, not on the first typo query)

        self.firsts = np.fromiter((ord(c[0]) if c else 0 for c in self.compact), dtype=np.int32, count=len(self.names))

    def match(
        self, query: str, limit: int, *, lang: str | None, kind: str | None, path: str | None
    ) -> list[tuple[int, float, str]]:
        """(symbol row id, score, why), best first."""
        raw = query.strip()
        qualified = None
        if raw and not is_identifier(raw):
            # Punctuation around a name ("(Select)", "NEAR(weird_name)", "x%"): keep the most
            # name-like token, code-shaped first, then longest; the rest is noise here.
            tokens = identifier_tokens(raw)
            raw = max(tokens, key=lambda t: (looks_like_code(t), len(t))) if tokens else ""
        if raw and last_component(raw) != raw:
            qualified = re.sub(r"::|#", ".", raw).lower()
            raw = last_component(raw)
        q = raw.lower()
        if not q:
            return []
        q_compact = "".join(split_identifier(raw)) or q
        want = limit * 4
        glob = compile_glob(path) if path else None
        lang_l = lang.lower() if lang else None
        kind_l = kind.lower() if kind else None
        # The most any symbol can gain over its name's score: kind bonus, qualified-name match.
        bonus_max = max(_KIND_BONUS.values()) * 0.2 + (10.0 if qualified else 0.0)
        seen: set[int] = set()
        out: list[tuple[float, int, str]] = []
        best: list[float] = []  # min-heap of the `limit` best symbol scores so far

        def settled(upper: float) -> bool:
            """True when `limit` results already score at least `upper` (nothing below can enter)."""
            return len(best) >= limit and best[0] >= upper

        def expand(entries: list[tuple[float, int, str]]) -> None:
            """Add the symbols of ranked names (name score, name index, why), best names first,
            until no further name can reach the current top `limit`."""
            entries.sort(key=lambda e: (-e[0], e[1]))
            for name_score, i, why in entries:
                if settled(name_score + bonus_max):
                    return
                for row_index in self.symbols_of[i]:
                    rowid, name, sym_kind, language, sym_path, qual = self.rows[row_index]
                    if lang_l and language != lang_l:
                        continue
                    if kind_l and sym_kind != kind_l:
                        continue
                    if glob is not None and not glob.fullmatch(sym_path):
                        continue
                    score = name_score + _KIND_BONUS.get(sym_kind, 0) * 0.2 - sym_path.count("/") * 0.01
                    if why == "exact name" and name == raw:
                        score = _TIER_EXACT_CASE
                    if qualified and qual.lower().endswith(qualified):
                        score += 10.0
                    out.append((score, rowid, why))
                    if len(best) < limit:
                        heapq.heappush(best, score)
                    elif score > best[0]:
                        heapq.heapreplace(best, score)

        def entries(indices, tier: float, why: str) -> list[tuple[float, int, str]]:
            found = []
            for i in indices:
                if i not in seen:
                    seen.add(i)
                    found.append((tier - min(int(self.lengths[i]), 60) * 0.1, i, why))
            return found

        # exact, then prefixes of the name or of its parts glued together ("loadconf" -> load_config)
        pos = bisect.bisect_left(self.names, q)
        if pos < len(self.names) and self.names[pos] == q:
            expand(entries([pos], _TIER_EXACT, "exact name"))
        # camel humps typed in capitals: "ISC" -> InputSourceContext before isCData, a mere prefix
        if len(raw) >= 2 and raw.isalpha() and raw.isupper() and not settled(_TIER_HUMPS + bonus_max):
            found = self._prefix_range(self.initials_keys, self.initials_sorted, q_compact, want)
            expand(entries([i for i in found if self.initials[i] == q_compact], _TIER_HUMPS, "camel humps"))
        if not settled(_TIER_PREFIX + bonus_max):
            expand(
                entries(self._prefix_range(self.names, None, q, want), _TIER_PREFIX, "prefix")
                + entries(
                    self._prefix_range(self.compact_keys, self.compact_sorted, q_compact, want), _TIER_PREFIX, "prefix"
                )
            )
        # initials: "gtn" -> get_type_name
        if len(q_compact) >= 2 and not settled(_TIER_INITIALS + 3 + bonus_max):
            found = self._prefix_range(self.initials_keys, self.initials_sorted, q_compact, want)
            exact_initials = [i for i in found if self.initials[i] == q_compact]
            expand(entries(exact_initials, _TIER_INITIALS + 3, "initials") + entries(found, _TIER_INITIALS, "initials"))
        # word-start abbreviations and substrings, prefiltered by the letters they need
        if len(q_compact) >= 2 and not settled(_TIER_ABBREV_FIRST + bonus_max):
            expand([e for e in self._abbreviations(q_compact) if e[1] not in seen and not seen.add(e[1])])
        # small typos
        if len(q_compact) >= 3 and not settled(_TIER_TYPO - 5 + bonus_max):
            expand([e for e in self._typos(q_compact, want) if e[1] not in seen and not seen.add(e[1])])

        out.sort(key=lambda t: (-t[0], t[1]))
        return [(rowid, round(score, 3), why) for score, rowid, why in out[:limit]]

    def _prefix_range(self, keys: list[str], order: np.ndarray | None, q: str, want: int) -> list[int]:
        lo = bisect.bisect_left(keys, q)
        hi = bisect.bisect_left(keys, q + "\U0010ffff")
        if hi <= lo:
            return []
        idx = np.arange(lo, hi) if order is None else order[lo:hi]
        if len(idx) > want:
            idx = idx[np.argsort(self.lengths[idx], kind="stable")[:want]]
        return idx.tolist()

    def _abbreviations(self, q: str) -> list[tuple[float, int, str]]:
        qmask = np.uint64(_mask(q))
        candidates = np.nonzero((self.masks & qmask) == qmask)[0]
        if len(candidates) > ABBREVIATION_CANDIDATES:
            candidates = candidates[self.firsts[candidates] == ord(q[0])]
            if len(candidates) > ABBREVIATION_CANDIDATES:
                order = np.argsort(self.lengths[candidates], kind="stable")
                candidates = candidates[order[:ABBREVIATION_CANDIDATES]]
        pattern = _abbreviation_pattern(q)
        found: list[tuple[float, int, str]] = []
        for i in candidates.tolist():
            m = pattern.search(self.parts[i])
            if m is not None:
                at_first = m.start() == 0
                tier, why = (_TIER_ABBREV_FIRST, "abbreviation") if at_first else (_TIER_ABBREV, "word start")
            elif q[0] in self.initials[i] and (first := word_prefix_chunks(q, self.parts[i].split(" "))) is not None:
                # The pattern commits to one reading per character; word by word, a query such as
                # "strsubreader" -> String Substitutor Reader needs the chunking searched.
                tier, why = (_TIER_ABBREV_FIRST, "abbreviation") if first == 0 else (_TIER_ABBREV, "word start")
            elif q in self.names[i]:
                tier, why = _TIER_SUBSTRING, "substring"
            else:
                continue
            found.append((tier - min(int(self.lengths[i]), 60) * 0.1, i, why))
        return found

    def _typos(self, q: str, want: int) -> list[tuple[float, int, str]]:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        max_distance = 1 if len(q) < 6 else 2
        qmask = np.uint64(_mask(q))
        missing = np.bitwise_count(qmask & ~self.masks)
        candidates = np.nonzero((np.abs(self.lengths - len(q)) <= max_distance) & (missing <= max_distance))[0]
        if not len(candidates):
            return []
        strings = [self.compact[i] for i in candidates.tolist()]
        found = []
        for _, distance, j in process.extract(q, strings, scorer=OSA.distance, score_cutoff=max_distance, limit=want):
            i = int(candidates[j])
            why = f"typo ({distance} edit{'s' if distance > 1 else ''})"
            found.append((_TIER_TYPO - 5 * distance - min(int(self.lengths[i]), 60) * 0.1, i, why))
        return found


def word_prefix_chunks(q: str, words: Sequence[str]) -> int | None:
    """Where `q` reads as prefixes of a name's words, in order ("conoof" -> contains none of,
    "strsubreader" -> string substitutor reader): the index of the word the first chunk starts
    (the smallest such index), or None. Words may be skipped between chunks; each word gives one
    chunk at most. One pass over the words, keeping the query positions reached so far: at most
    len(q) positions a word, whatever the query holds."""
    n = len(q)
    if not n:
        return None
    reached: dict[int, int | None] = {0: None}  # query position -> first word of a reading getting there
    for w, word in enumerate(words):
        grown: dict[int, int] = {}
        for qi, first in reached.items():
            if qi == n:
                continue
            common, most = 0, min(len(word), n - qi)
            while common < most and word[common] == q[qi + common]:
                common += 1
            start = w if first is None else first
            for end in range(qi + 1, qi + common + 1):
                if grown.get(end, start + 1) > start:
                    grown[end] = start
        for end, start in grown.items():  # merged after the word: a word gives one chunk
            known = reached.get(end, -1)
            if known == -1 or (known is not None and start < known):
                reached[end] = start
    return reached.get(n)


_PATTERN_CACHE: OrderedDict[str, re.Pattern[str]] = OrderedDict()


def _abbreviation_pattern(q: str) -> re.Pattern[str]:
    """A linear-time pattern over a name's space-separated parts: each query character either
    continues inside the current part or starts a later part. Atomic groups rule out backtracking
    (no catastrophic cases on hostile input); the two alternatives, 'jump to a part start first'
    and 'stay in the part first', together cover the abbreviations people type."""
    cached = _PATTERN_CACHE.get(q)
    if cached is not None:
        return cached
    chars = [re.escape(c) for c in q]
    jump = "(?:^| )" + chars[0] + "".join(f"(?>[^\\n]*? {c}|[^ \\n]*?{c})" for c in chars[1:])
    stay = "(?:^| )" + chars[0] + "".join(f"(?>[^ \\n]*?{c}|[^\\n]*? {c})" for c in chars[1:])
    pattern = re.compile(f"(?>{jump})|(?>{stay})")
    _PATTERN_CACHE[q] = pattern
    if len(_PATTERN_CACHE) > 512:
        _PATTERN_CACHE.popitem(last=False)
    return pattern
