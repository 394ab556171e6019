"""Search over an index: hybrid (lexical + semantic) search and fuzzy identifier search.

Owns the ranking: identifier-aware lexical hits (FTS5 bm25 over identifier parts) and vector
similarity fused by reciprocal rank fusion, an exact-name tier that semantic noise can never
outrank, filters (language, path glob, kind), optional expansion along callers/callees, a `why` for
every hit, and the in-memory name table behind fuzzy `symbols` queries (prefix, camelCase /
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
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from lsp_server.index import Index, SymbolFilter, SymbolRecord
from lsp_server.index.globs import compile_glob
from lsp_server.index.vectors import VectorStoreError
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
    "class": 3, "interface": 3, "struct": 3, "enum": 2, "function": 3, "method": 3,
    "constructor": 2, "module": 1, "trait": 3, "type": 2, "namespace": 1,
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
    score: float
    signature: str
    snippet: str
    why: str
    symbol_id: str
    freshness: str  # "indexed" | "pending" | "unsaved"

    def to_dict(self) -> dict:
        return asdict(self)


def _result(rec: SymbolRecord, score: float, why: str, freshness: str) -> SearchResult:
    return SearchResult(
        path=rec.path, name=rec.name, qualified_name=rec.qualified_name, kind=rec.kind,
        language=rec.language, start_line=rec.start_line, end_line=rec.end_line,
        score=round(score, 6), signature=rec.signature, snippet=rec.snippet, why=why,
        symbol_id=rec.symbol_id, freshness=freshness,
    )


@dataclass
class _LexicalHits:
    fts: list[str] = field(default_factory=list)  # bm25 order
    words: list[str] = field(default_factory=list)  # exact matches of plain query words
    terms: list[str] = field(default_factory=list)  # what was asked of FTS5
    rowid_of: dict[str, int] = field(default_factory=dict)


_SUFFIXES = ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ies", "ed", "es", "s")


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
    "field": 0.8, "property": 0.8, "variable": 0.8, "constant": 0.8, "key": 0.7, "string": 0.7,
    "enummember": 0.8, "object": 0.9,
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


class Searcher:
    def __init__(self, index: Index, embedder: Embedder | None = None) -> None:
        self.index = index
        self.embedder = embedder
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
    ) -> list[SearchResult]:
        query = (query or "").strip()[:MAX_QUERY_CHARS]
        if not query or limit <= 0:
            return []
        if mode not in ("hybrid", "lexical", "vector"):
            raise ValueError(f"mode must be hybrid, lexical or vector, not {mode!r}")
        flt = SymbolFilter(language=lang or None, kind=kind or None, path_glob=path or None)
        per_list = max(CANDIDATES, limit * 3)

        shape = query_shape(query)
        weights = FUSION_WEIGHTS[shape]
        reasons: dict[str, list[str]] = {}
        exact_tier: dict[str, float] = {}
        ranked_lists: list[tuple[list[str], float]] = []
        lexical = _LexicalHits()
        if mode in ("hybrid", "lexical"):
            lexical = self._lexical(query, shape, flt, per_list, reasons, exact_tier)
            ranked_lists += [(lexical.fts, weights.fts), (lexical.words, weights.words)]
        semantic: dict[str, float] = {}
        if mode in ("hybrid", "vector"):
            semantic = self._semantic(query, flt, per_list)
            ranked_lists.append(([sid for sid, _ in sorted(semantic.items(), key=lambda kv: -kv[1])], weights.vector))
        fused = reciprocal_rank_fusion(ranked_lists, RRF_K)
        for sid, bonus in exact_tier.items():
            fused[sid] = fused.get(sid, 0.0) + bonus
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
        if shape != "identifier":
            # A question is usually answered by code that does something: among near-equal fused
            # scores, prefer functions and types over fields, keys and headings.
            pool = ranked[:per_list]
            kinds = self.index.get_symbols([sid for sid, _ in pool])
            ranked = sorted(
                ((sid, score * KIND_PRIOR.get(kinds[sid].kind, 1.0) if sid in kinds else score) for sid, score in pool),
                key=lambda kv: (-kv[1], kv[0]),
            )
        top = ranked[: limit if not expand else max(limit, EXPAND_FROM)]
        records = self.index.get_symbols([sid for sid, _ in top])
        scores = dict(top)

        if expand:
            self._expand(top[:EXPAND_FROM], records, scores, reasons, flt)

        final = sorted(
            (sid for sid in scores if sid in records), key=lambda sid: (-scores[sid], sid)
        )[:limit]
        self._explain_lexical(final, lexical, reasons)
        pending = self.index.pending_ids(final)
        out: list[SearchResult] = []
        for sid in final:
            why = list(reasons.get(sid, []))
            if sid in semantic:
                why.append(f"semantic {semantic[sid]:.2f}")
            out.append(_result(records[sid], scores[sid], "; ".join(why) or "match", "pending" if sid in pending else "indexed"))
        return out

    def _lexical(self, query, shape, flt, per_list, reasons, exact_tier) -> _LexicalHits:
        """bm25 and exact-word rankings (symbol ids); fills the exact tier and its reasons."""
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
        hits = self.index.exact(exact_names + plain_words, exact_qualified, flt, per_list)
        exact_set = set(exact_names) | set(exact_qualified)
        result = _LexicalHits()
        # Code-shaped exact matches get the tier above everything; plain words only a rank.
        for _rowid, sid, name, qualified, matched in hits:
            if matched in exact_set:
                if sid not in exact_tier:
                    case_bonus = 0.1 if name == last_component(query) or qualified == query else 0.0
                    exact_tier[sid] = EXACT_TIER + case_bonus
                    qualified_only = matched in exact_qualified and matched not in exact_names
                    reasons.setdefault(sid, []).append("exact qualified name" if qualified_only else "exact name")
            elif sid not in exact_tier and sid not in reasons:
                result.words.append(sid)
                reasons.setdefault(sid, []).append("exact name")

        terms = list(dict.fromkeys(words(query)))
        # English stopwords and language keywords ("function", "return", "class") match a large
        # share of all symbols: dropped when the query has anything more specific.
        result.terms = [t for t in terms if t not in STOPWORDS and t not in CODE_KEYWORDS] or [
            t for t in terms if t not in STOPWORDS
        ] or terms
        ranked = self.index.lexical(result.terms, flt, per_list)
        ids = self.index.symbol_ids_for_rowids([rowid for rowid, _ in ranked])
        for rowid, _ in ranked:
            sid = ids.get(rowid)
            if sid is not None:
                result.fts.append(sid)
                result.rowid_of[sid] = rowid
        return result

    def _explain_lexical(self, final: list[str], lexical: _LexicalHits, reasons: dict[str, list[str]]) -> None:
        """Say which query words a bm25 hit matched: in its name parts, or in its other words."""
        wanted = {sid: lexical.rowid_of[sid] for sid in final if sid in lexical.rowid_of}
        if not wanted:
            return
        stored = self.index.lexical_words(list(wanted.values()))
        term_stems = [(t, _rough_stem(t)) for t in lexical.terms]
        for sid, rowid in wanted.items():
            name_words, body_words = stored.get(rowid, ("", ""))
            name_stems = {_rough_stem(w) for w in name_words.split()}
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
        self.rows = rows  # (id, name, kind, language, path, qualified_name)
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

        self.firsts = np.fromiter(
            (ord(c[0]) if c else 0 for c in self.compact), dtype=np.int32, count=len(self.names)
        )

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
        if not settled(_TIER_PREFIX + bonus_max):
            expand(
                entries(self._prefix_range(self.names, None, q, want), _TIER_PREFIX, "prefix")
                + entries(self._prefix_range(self.compact_keys, self.compact_sorted, q_compact, want), _TIER_PREFIX, "prefix")
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
