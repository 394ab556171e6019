"""Search-quality benchmark: every search method symscope has, scored on code none of us wrote, across languages.

Owns: loading and vetting the evaluation sets (every natural-language query file
`benchmarks/eval/queries*.json` and every symbol-query file `benchmarks/eval/symbols-*.json`), indexing
the pinned corpus they name (see `corpus.py`; a file of set "quality" is scored inside set "eval", whose
folders include it) with the real default embedding model, ranking every query with each method in two
scopes, and reporting MRR@10, Recall@1/5/10 overall, per dev/test split, per language (of the gold
file), per package and per query style, under a strict and a lenient hit rule, each method's query
latency (p50 / p95, query embedding included), paired bootstrap confidence intervals for the headline
differences, and the symbol-query set through the fuzzy identifier search.

Scopes: `workspace` = all packages in one index, every query searched over everything (a monorepo);
`package` = the same index and query with the path filter `<package folder>/**` (what `--path` gives a
user). One index, not one per package: vectors are a function of text and model only, so the vector
list is the same as a package's own index would give (packages over 4,096 symbols take the over-fetch
path of `Index.vector_search`, as any large filtered search does); FTS5's bm25 statistics stay those of
the whole index, which a one-package index would compute over that package alone.

Hit rules: a result is a **strict** hit when it has a gold answer's path and qualified name, or its path
and a start line within 2 of the gold's (a renamed or re-qualified copy of the same definition); a
**lenient** hit also when it is in the gold's file and its line range overlaps the gold's (the class
holding the gold method, a method inside the gold class). Gold lines come from the index, never from
the query file. Recall@k is the share of queries with at least one gold answer in the top k (several
gold answers are alternatives); MRR@10 is the mean of 1/rank of the first hit (0 beyond 10).

Methods: `hybrid` (the default: search.RankingOptions() as shipped), `today`
(every rule off: the ranking before them), `hybrid-no-<rule>` / `hybrid-with-<rule>` (the default with that one rule switched), `rrf` (plain
reciprocal rank fusion, k=60, weights 1, of the FTS5 bm25 list and the vector list: no exact tier, no
word list, no shape weights, no kind prior, no rules), the single lists `lexical` and `vector`, `bm25`
(rank_bm25 over the same symbols' embedded text), and `vector[<model id>]` per extra `--vector-model`.
Each method has its own Searcher (no shared query-vector cache), so every latency includes embedding.

Symbol queries (`symbols-*.json`, kinds exact|case|prefix|abbrev|camel|qualified|typo) go through
`Searcher.symbols`, the fuzzy identifier search behind `workspace/symbol` and `symscope symbols`,
scored by Recall@5 and MRR@10 per kind (strict rule), in both scopes.

Never: changes the index or search code, tunes anything on the evaluation set at run time, drops a
query, or trusts a gold answer it has not found in the index (an unknown package, a missing gold
symbol, a query that copies its gold's docstring, or a 'semantic' query that uses a word of its gold's
name fails the run with exit code 2 and a message naming the file and the query id).

Exit codes: 0 ok; 1 hybrid did not beat the lexical, vector, BM25 and plain-RRF baselines on
whole-workspace strict MRR@10 (skip with --no-check); 2 an evaluation set, the corpus or its index is
broken. JSON on stdout, logs on stderr, the markdown summary on stderr or `--markdown FILE`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # there is no model hub here; never try to reach one

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import corpus  # benchmarks/corpus.py (this folder is sys.path[0])

log = logging.getLogger("benchmarks.search_quality")

DEFAULT_EVAL_DIR = BENCH_DIR / "eval"
BASELINES = ("lexical", "vector", "bm25", "rrf")
# The methods the summaries per language, package and style cover (every method is in `methods`).
MAIN_METHODS = ("hybrid", "today", "rrf", "vector", "lexical", "bm25")
SCOPES = ("workspace", "package")
# The package scope runs these only: a path-filtered vector search costs ~0.5 s on this corpus (an
# exact scan over the package's ids), so the ablations, which change only the ranking after fusion,
# are scored in the workspace scope.
PACKAGE_METHODS = MAIN_METHODS
RULES = ("strict", "lenient")
STYLES = ("semantic", "hint")
SYMBOL_KINDS = ("exact", "case", "prefix", "abbrev", "camel", "qualified", "typo")
K = 10
SYMBOL_K = 5
LINE_SLACK = 2  # strict rule: same path and a start line within this many lines of the gold's

# Words too common to count as "using the name" of a gold symbol (url_for, send_from_directory, ...).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    ]
)
DOC_SHINGLE = 5  # a query sharing 5 consecutive words with its gold's docstring counts as copied

_IDENT_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


class EvalSetError(RuntimeError):
    """The evaluation set is malformed, copies docstrings, or names gold symbols the index lacks."""


class IndexSetupError(RuntimeError):
    """The corpus index cannot be built or is not fully embedded, so no fair comparison is possible."""


# --------------------------------------------------------------------------------------------------
# Tokenising (shared by the BM25 baseline and the wording checks)
# --------------------------------------------------------------------------------------------------


def identifier_tokens(text: str) -> list[str]:
    """Lowercased words, identifiers split on camelCase / snake_case / digits / non-alphanumerics."""
    tokens: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        tokens.extend(part.lower() for part in _IDENT_PART.findall(chunk))
    return tokens


def _plain_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


# --------------------------------------------------------------------------------------------------
# The evaluation sets
# --------------------------------------------------------------------------------------------------


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EvalSetError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list) or not data["queries"]:
        raise EvalSetError(f"{path}: 'queries' must be a non-empty list")
    set_name = data.get("corpus_set", "quality")
    if set_name not in corpus.SETS:
        raise EvalSetError(f"{path}: unknown corpus_set {set_name!r}; known: {sorted(corpus.SETS)}")
    return data


def _check_gold(path: Path, q: dict) -> None:
    gold = q["gold"]
    if not isinstance(gold, list) or not gold or not all(isinstance(g, dict) for g in gold):
        raise EvalSetError(f"{path}: {q['id']} needs a non-empty gold list")
    for g in gold:
        if not {"path", "qualified_name"} <= set(g):
            raise EvalSetError(f"{path}: {q['id']} has a gold entry without path and qualified_name: {g}")


def load_eval_set(path: Path) -> dict:
    """One natural-language query file; each query gets `file` (its file name) and `corpus_set`."""
    data = _read_json(path)
    set_name = data.get("corpus_set", "quality")
    folders = set(corpus.source_by_folder(set_name))
    seen: set[str] = set()
    for q in data["queries"]:
        missing = {"id", "package", "query", "style", "gold"} - set(q)
        if missing:
            raise EvalSetError(f"{path}: query {q.get('id', q)} lacks {sorted(missing)}")
        if q["id"] in seen:
            raise EvalSetError(f"{path}: duplicate query id {q['id']}")
        seen.add(q["id"])
        if q["package"] not in folders:
            raise EvalSetError(f"{path}: {q['id']} names package {q['package']!r}, not in corpus set {set_name!r}")
        if q["style"] not in STYLES:
            raise EvalSetError(f"{path}: {q['id']} has style {q['style']!r} ({'|'.join(STYLES)})")
        _check_gold(path, q)
        q["file"] = path.name
    return data


def load_symbol_set(path: Path) -> dict:
    """One symbol-query file (identifier queries for the fuzzy `symbols` search)."""
    data = _read_json(path)
    set_name = data.get("corpus_set", "quality")
    folders = set(corpus.source_by_folder(set_name))
    seen: set[str] = set()
    for q in data["queries"]:
        missing = {"id", "package", "query", "kind", "gold"} - set(q)
        if missing:
            raise EvalSetError(f"{path}: query {q.get('id', q)} lacks {sorted(missing)}")
        if q["id"] in seen:
            raise EvalSetError(f"{path}: duplicate query id {q['id']}")
        seen.add(q["id"])
        if q["package"] not in folders:
            raise EvalSetError(f"{path}: {q['id']} names package {q['package']!r}, not in corpus set {set_name!r}")
        if q["kind"] not in SYMBOL_KINDS:
            raise EvalSetError(f"{path}: {q['id']} has kind {q['kind']!r} ({'|'.join(SYMBOL_KINDS)})")
        if not isinstance(q["query"], str) or not q["query"].strip():
            raise EvalSetError(f"{path}: {q['id']} has an empty query")
        _check_gold(path, q)
        q["file"] = path.name
    return data


def covering_set(set_names: Iterable[str]) -> str:
    """The corpus set whose folders include every named set's folders (the smallest such): files of
    set "quality" and of set "eval" are scored together inside "eval"."""
    wanted = set(set_names)
    needed = set().union(*(set(corpus.source_by_folder(n)) for n in wanted))
    fits = [n for n in corpus.SETS if needed <= set(corpus.source_by_folder(n))]
    if not fits:
        raise EvalSetError(f"no corpus set holds every package of the sets {sorted(wanted)}")
    return min(fits, key=lambda n: (len(corpus.SETS[n]), n not in wanted, n))


def load_all(query_files: Sequence[Path], symbol_files: Sequence[Path]) -> tuple[list[dict], list[dict], str]:
    """Every query of every file (ids unique across files) and the corpus set that covers them."""
    if not query_files:
        raise EvalSetError("no natural-language query file (queries*.json) to score")
    queries: list[dict] = []
    symbol_queries: list[dict] = []
    sets: list[str] = []
    owner: dict[str, str] = {}
    for files, loader, out in ((query_files, load_eval_set, queries), (symbol_files, load_symbol_set, symbol_queries)):
        for path in files:
            data = loader(path)
            sets.append(data.get("corpus_set", "quality"))
            for q in data["queries"]:
                if q["id"] in owner:
                    raise EvalSetError(f"{path}: query id {q['id']} is also in {owner[q['id']]}")
                owner[q["id"]] = path.name
                out.append(q)
    return queries, symbol_queries, covering_set(sets)


def split_of(query_id: str) -> str:
    """A fixed dev/test split (about 1/3 test) by a stable hash of the id: tune on dev, report test too."""
    return "test" if zlib.crc32(query_id.encode()) % 3 == 0 else "dev"


def wording_problems(query: dict, docs: Iterable[str]) -> list[str]:
    """Rule breaches of one query: docstring copying (any style), gold-name words (semantic style)."""
    problems = []
    words = _plain_words(query["query"])
    shingles = {tuple(words[i : i + DOC_SHINGLE]) for i in range(len(words) - DOC_SHINGLE + 1)}
    for doc in docs:
        doc_words = _plain_words(doc)
        for i in range(len(doc_words) - DOC_SHINGLE + 1):
            if tuple(doc_words[i : i + DOC_SHINGLE]) in shingles:
                problems.append(f"copies its gold's docstring: {' '.join(doc_words[i : i + DOC_SHINGLE])!r}")
                break
    if query["style"] == "semantic":
        query_words = set(identifier_tokens(query["query"])) - STOPWORDS
        for g in query["gold"]:
            name = g["qualified_name"].rsplit(".", 1)[-1]
            for part in set(identifier_tokens(name)) - STOPWORDS:
                if len(part) < 3:
                    continue
                clash = [
                    w for w in query_words if w == part or (len(w) >= 4 and (w.startswith(part) or part.startswith(w)))
                ]
                if clash:
                    problems.append(f"semantic query uses {clash[0]!r} from the gold name {name!r}")
    return problems


# --------------------------------------------------------------------------------------------------
# Index
# --------------------------------------------------------------------------------------------------


def throttled_progress(label: str, every_s: float = 5.0) -> Callable[[object], None]:
    last = [0.0]

    def report(progress: object) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            fields = getattr(progress, "__dict__", None) or progress
            log.info("%s: %s", label, fields)

    return report


def open_quality_index(root: Path, index_dir: Path, embedder):
    """Open (and bring up to date) the index of `root` with `embedder`; incremental when cached."""
    from lsp_server.config import Settings
    from lsp_server.index import Index

    settings = Settings(root=root, index_dir=index_dir)
    index = Index.open(settings, embedder=embedder)
    try:
        if not index.is_writer:
            raise IndexSetupError(f"another process holds the writer lock on {index_dir}")
        started = time.perf_counter()
        stats = index.update(progress=throttled_progress("indexing"))
        log.info(
            "index up to date in %.1fs: %s files, %s symbols, %s embedded, %s reused, skipped %s",
            time.perf_counter() - started,
            stats.files,
            stats.symbols,
            stats.embedded,
            stats.reused,
            stats.skipped,
        )
        if stats.errors:
            log.warning("%d indexing errors, first: %s", len(stats.errors), stats.errors[0])
        status = index.status()
        if status.pending or status.vectors < status.symbols:
            raise IndexSetupError(
                f"{status.vectors} vectors for {status.symbols} symbols ({status.pending} pending) after update(); "
                "vector and hybrid results would be skewed"
            )
    except BaseException:
        index.close()
        raise
    return index, stats


# --------------------------------------------------------------------------------------------------
# Hits, gold answers and rankers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    path: str
    qualified_name: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class Gold:
    """One gold answer as indexed: its path, qualified name and every (start, end) line span the index
    holds for it (overloads share a qualified name)."""

    path: str
    qualified_name: str
    spans: tuple[tuple[int, int], ...]


def gold_keys(query: dict) -> list[tuple[str, str]]:
    """Gold answers as (indexed path, qualified name): indexed paths start with the package folder."""
    return sorted({(f"{query['package']}/{g['path']}", g["qualified_name"]) for g in query["gold"]})


def is_hit(hit: Hit, gold: Gold, rule: str) -> bool:
    if hit.path != gold.path:
        return False
    if hit.qualified_name == gold.qualified_name:
        return True
    if any(abs(hit.start_line - start) <= LINE_SLACK for start, _ in gold.spans):
        return True
    return rule == "lenient" and any(hit.start_line <= end and start <= hit.end_line for start, end in gold.spans)


def first_hit_rank(ranked: Sequence[Hit], golds: Sequence[Gold], rule: str) -> int | None:
    for position, hit in enumerate(ranked, 1):
        if any(is_hit(hit, g, rule) for g in golds):
            return position
    return None


def package_glob(folder: str) -> str:
    """The path filter of the `package` scope: the package's folder, anchored at the root."""
    return f"{folder}/**"


class Bm25Ranker:
    """rank_bm25.BM25Okapi over the same symbols' embed_text, identifier-aware tokens. The package
    scope masks the whole corpus's scores (same statistics, as FTS5 keeps them under a path filter)."""

    def __init__(self, symbols: list) -> None:
        import numpy as np
        from rank_bm25 import BM25Okapi

        self._np = np
        self._hits = [Hit(s.path, s.qualified_name, s.start_line, s.end_line) for s in symbols]
        self._bm25 = BM25Okapi([identifier_tokens(s.embed_text) or ["\x00"] for s in symbols])
        folders = np.array([s.path.split("/", 1)[0] for s in symbols])
        self._masks = {f: folders == f for f in set(folders.tolist())}
        self._last: tuple[str, object, float] | None = None

    def rank(self, query: str, limit: int, folder: str | None = None) -> tuple[list[Hit], float]:
        """The top `limit` hits and the seconds spent scoring. The scores of the last query are kept, so
        its package-scope ranking reuses them: the time returned is then that of the first scoring."""
        np = self._np
        if self._last is None or self._last[0] != query:
            started = time.perf_counter()
            self._last = (query, self._bm25.get_scores(identifier_tokens(query)), time.perf_counter() - started)
        _, scores, scoring_s = self._last
        if folder is not None:
            scores = np.where(self._masks.get(folder, np.zeros(len(scores), dtype=bool)), scores, -np.inf)
        top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self._hits[i] for i in top if np.isfinite(scores[i])], scoring_s


class PlainRrfRanker:
    """Plain reciprocal rank fusion (k = search.RRF_K, both weights 1) of the FTS5 bm25 list (the query's
    terms as search.py asks FTS5 for them) and the vector list: the textbook hybrid, no rules at all."""

    def __init__(self, index, embedder, spans: dict[str, Hit]) -> None:
        self.index = index
        self.embedder = embedder
        self.spans = spans

    def rank(self, query: str, limit: int, path_glob: str | None = None) -> list[Hit]:
        import numpy as np

        from lsp_server import search as s
        from lsp_server.index import SymbolFilter

        flt = SymbolFilter(path_glob=path_glob)
        found = self.index.lexical_candidates(s._meaningful_terms(query), [], [], flt, s.CANDIDATES)
        fts = [brief.symbol_id for brief, *_ in found.fts]
        vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        vec = [sid for sid, _ in self.index.vector_search(vector, self.embedder.model_id, s.CANDIDATES, flt)]
        fused = s.reciprocal_rank_fusion([(fts, 1.0), (vec, 1.0)], s.RRF_K)
        ranked = sorted(fused, key=lambda sid: (-fused[sid], sid))[:limit]
        return [self.spans[sid] for sid in ranked if sid in self.spans]


class SharedIndexCalls:
    """The index as the Searchers of one scope see it, with the two calls every method repeats for a
    query (`lexical_candidates`, `vector_search`) answered once and replayed to the other methods.

    Each replay charges the method the seconds the real call took (`charged`, which the harness adds
    to its measured latency), so a method's latency is what it would have cost alone; the rankings are
    identical because the calls read the same snapshot. Without this, the package scope (a path-filtered
    vector search is an exact scan costing ~0.5 s here) would run four of them per query. Cleared per
    query (`reset`)."""

    def __init__(self, index) -> None:
        self._index = index
        self._memo: dict[tuple, tuple[object, float]] = {}
        self.charged = 0.0

    def reset(self) -> None:
        self._memo.clear()
        self.charged = 0.0

    def __getattr__(self, name: str):
        return getattr(self._index, name)

    def _shared(self, key: tuple, call: Callable[[], object]):
        if key in self._memo:
            value, cost = self._memo[key]
            self.charged += cost
            return value
        started = time.perf_counter()
        value = call()
        self._memo[key] = (value, time.perf_counter() - started)
        return value

    def lexical_candidates(self, terms, names, qualified, flt, limit):
        key = ("lex", tuple(terms), tuple(names), tuple(qualified), flt, limit)
        return self._shared(key, lambda: self._index.lexical_candidates(terms, names, qualified, flt, limit))

    def vector_search(self, vector, model_id, k, flt):
        key = ("vec", vector.tobytes(), model_id, k, flt)
        return self._shared(key, lambda: self._index.vector_search(vector, model_id, k, flt))


def hits_of(results) -> list[Hit]:
    return [Hit(r.path, r.qualified_name, r.start_line, r.end_line) for r in results]


# --------------------------------------------------------------------------------------------------
# Metrics, confidence intervals, tables
# --------------------------------------------------------------------------------------------------


def reciprocal(rank: int | None, k: int = K) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        return {"queries": 0}
    return {
        "queries": n,
        "mrr@10": round(sum(reciprocal(r) for r in ranks) / n, 4),
        "recall@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "recall@5": round(sum(1 for r in ranks if r is not None and r <= 5) / n, 4),
        "recall@10": round(sum(1 for r in ranks if r is not None and r <= K) / n, 4),
    }


METRIC_OF = {
    "mrr@10": reciprocal,
    "recall@1": lambda r: 1.0 if r == 1 else 0.0,
    "recall@10": lambda r: 1.0 if r is not None and r <= K else 0.0,
}


def paired_bootstrap(
    a: list[int | None], b: list[int | None], resamples: int, seed: int, metric: str = "mrr@10"
) -> dict[str, float]:
    """Mean difference metric(a) - metric(b) over the same queries, with a 95 % percentile interval
    from `resamples` paired resamples of the queries (numpy Generator, fixed seed)."""
    import numpy as np

    f = METRIC_OF[metric]
    diff = np.array([f(x) - f(y) for x, y in zip(a, b, strict=True)], dtype=np.float64)
    n = len(diff)
    if n == 0:
        return {"queries": 0}
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {
        "queries": n,
        "diff": round(float(diff.mean()), 4),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
        "share_resamples_le_0": round(float((means <= 0).mean()), 4),
    }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def _f(m: dict | None, key: str = "mrr@10") -> str:
    return f"{m[key]:.3f}" if m and m.get("queries") else "–"


def method_table(scope: dict, methods: Sequence[str]) -> str:
    """Strict test / dev / all metrics, lenient test MRR, latency: one row per method."""
    strict, lenient, lat = scope["strict"], scope["lenient"], scope["latency"]
    test, dev = strict["by_split"].get("test", {}), strict["by_split"].get("dev", {})
    ltest = lenient["by_split"].get("test", {})
    lines = [
        "| method | test MRR@10 | test R@1 | test R@10 | test MRR@10 (lenient) | dev MRR@10 | all MRR@10 | all R@10 "
        "| p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        lines.append(
            f"| {m} | {_f(test.get(m))} | {_f(test.get(m), 'recall@1')} | {_f(test.get(m), 'recall@10')} "
            f"| {_f(ltest.get(m))} | {_f(dev.get(m))} | {_f(strict['methods'][m])} "
            f"| {_f(strict['methods'][m], 'recall@10')} | {lat[m]['p50_ms']:.0f} | {lat[m]['p95_ms']:.0f} |"
        )
    return "\n".join(lines)


def breakdown_table(groups: dict[str, dict], methods: Sequence[str], label: str, key: str = "mrr@10") -> str:
    lines = [f"| {label} | queries | " + " | ".join(methods) + " |", "|---" * (len(methods) + 2) + "|"]
    for name, per_method in groups.items():
        n = per_method[methods[0]]["queries"]
        lines.append(f"| {name} | {n} | " + " | ".join(_f(per_method[m], key) for m in methods) + " |")
    return "\n".join(lines)


def bootstrap_table(boot: dict) -> str:
    lines = [
        "| scope, split | group | queries | hybrid − today MRR@10 [95 % CI] | hybrid − rrf MRR@10 [95 % CI] |",
        "|---|---|---|---|---|",
    ]
    for group, pair in boot.items():
        cells = []
        for name in ("hybrid-today", "hybrid-rrf"):
            b = pair[name]["mrr@10"]
            cells.append(f"{b['diff']:+.3f} [{b['ci95'][0]:+.3f}, {b['ci95'][1]:+.3f}]" if b.get("queries") else "–")
        n = pair["hybrid-today"]["mrr@10"].get("queries", 0)
        lines.append(f"| workspace, test | {group} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def symbol_table(sym: dict) -> str:
    kinds = list(sym["workspace"]["per_kind"])
    lines = [
        "| kind | queries | workspace R@5 | workspace MRR@10 | package R@5 | package MRR@10 |",
        "|---|---|---|---|---|---|",
    ]
    for kind in [*kinds, "all"]:
        w = sym["workspace"]["overall"] if kind == "all" else sym["workspace"]["per_kind"][kind]
        p = sym["package"]["overall"] if kind == "all" else sym["package"]["per_kind"][kind]
        lines.append(f"| {kind} | {w['queries']} | {_f(w, 'recall@5')} | {_f(w)} | {_f(p, 'recall@5')} | {_f(p)} |")
    return "\n".join(lines)


# -- calibration of the displayed score -------------------------------------------------------------


def calibration_report(rows: list[tuple[float, bool]], bins: int = 5) -> dict:
    """How well a shown relevance predicts 'this result is a gold answer' over (relevance, is gold)
    pairs: expected calibration error, Brier score, and a reliability table."""
    if not rows:
        return {"results": 0}
    table = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(p, y) for p, y in rows if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if not inside:
            continue
        mean_p = sum(p for p, _ in inside) / len(inside)
        observed = sum(1 for _, y in inside if y) / len(inside)
        ece += len(inside) / len(rows) * abs(mean_p - observed)
        table.append(
            {
                "range": [lo, hi],
                "results": len(inside),
                "mean_relevance": round(mean_p, 3),
                "share_gold": round(observed, 3),
            }
        )
    brier = sum((p - (1.0 if y else 0.0)) ** 2 for p, y in rows) / len(rows)
    return {"results": len(rows), "ece": round(ece, 4), "brier": round(brier, 4), "bins": table}


def fit_calibration(samples: list[tuple[float, float, bool]], iterations: int = 50) -> tuple[float, float, float]:
    """Logistic regression (Newton steps, a small ridge) of 'is gold' on the two features
    search.relevance reads (search.calibration_features)."""
    import numpy as np

    x = np.array([[1.0, a, b] for a, b, _ in samples])
    y = np.array([1.0 if g else 0.0 for _, _, g in samples])
    w = np.zeros(3)
    ridge = np.diag([0.0, 1e-3, 1e-3])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - y) + ridge @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge + 1e-9 * np.eye(3)
        w -= np.linalg.solve(hess, grad)
    return tuple(round(float(v), 3) for v in w)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------


def discover(eval_dir: Path) -> tuple[list[Path], list[Path]]:
    return sorted(eval_dir.glob("queries*.json")), sorted(eval_dir.glob("symbols-*.json"))


def _file_info(path: Path, queries: list[dict]) -> dict:
    import hashlib

    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "queries": sum(1 for q in queries if q["file"] == path.name),
    }


def vet(queries: list[dict], symbol_queries: list[dict], by_key: dict, symbols: list) -> list[str]:
    """Every breach of the rules, each naming its file and query id (empty: the sets are sound)."""
    problems = []
    names_in_file: dict[str, list[str]] = defaultdict(list)
    for s in symbols:
        names_in_file[s.path].append(s.qualified_name)
    for q in [*queries, *symbol_queries]:
        where = f"{q['file']} {q['id']}"
        for key in gold_keys(q):
            if key not in by_key:
                in_file = sorted(set(names_in_file.get(key[0], [])))
                near = [n for n in in_file if n.rsplit(".", 1)[-1] == key[1].rsplit(".", 1)[-1]]
                problems.append(
                    f"{where}: gold {key[0]} :: {key[1]} is not in the index"
                    + (f" (same name there: {near})" if near else f" ({len(in_file)} symbols in that file)")
                )
        if "style" in q:
            docs = [s.doc for key in gold_keys(q) for s in by_key.get(key, []) if s.doc]
            problems.extend(f"{where}: {p}" for p in wording_problems(q, docs))
    return problems


def _summaries(rows: list[dict], scope: str, methods: Sequence[str]) -> dict:
    def summarise(subset: list[dict], rule: str, names: Sequence[str]) -> dict[str, dict[str, float]]:
        return {m: metrics([r["ranks"][scope][rule][m] for r in subset]) for m in names}

    def groups(field: str) -> list[str]:
        return sorted({r[field] for r in rows})

    def split_rows(subset: list[dict]) -> dict[str, list[dict]]:
        out = {"all": subset}
        out.update({sp: [r for r in subset if r["split"] == sp] for sp in ("dev", "test")})
        return out

    report: dict = {}
    for rule in RULES:
        report[rule] = {
            "methods": summarise(rows, rule, methods),
            "by_split": {
                sp: summarise([r for r in rows if r["split"] == sp], rule, methods)
                for sp in ("dev", "test")
                if any(r["split"] == sp for r in rows)
            },
            "per_language": {
                lang: {
                    sp: summarise(sub, rule, MAIN_METHODS)
                    for sp, sub in split_rows([r for r in rows if r["language"] == lang]).items()
                }
                for lang in groups("language")
            },
            "per_package": {
                pkg: summarise([r for r in rows if r["package"] == pkg], rule, MAIN_METHODS)
                for pkg in groups("package")
            },
            "per_style": {
                st: summarise([r for r in rows if r["style"] == st], rule, MAIN_METHODS) for st in groups("style")
            },
        }
    lat = {m: [r["latency_ms"][scope][m] for r in rows] for m in methods}
    report["latency"] = {
        m: {
            "p50_ms": round(percentile(v, 50), 2),
            "p95_ms": round(percentile(v, 95), 2),
            "mean_ms": round(sum(v) / len(v), 2),
        }
        for m, v in lat.items()
    }
    return report


def _bootstrap(rows: list[dict], resamples: int, seed: int) -> dict:
    """hybrid − today and hybrid − rrf, whole workspace, test split: overall and per language."""
    out: dict = {}
    for rule in RULES:
        test = [r for r in rows if r["split"] == "test"]
        groups = {"all languages": test}
        groups.update(
            {lang: [r for r in test if r["language"] == lang] for lang in sorted({r["language"] for r in test})}
        )
        out[rule] = {
            group: {
                f"hybrid-{base}": {
                    metric: paired_bootstrap(
                        [r["ranks"]["workspace"][rule]["hybrid"] for r in sub],
                        [r["ranks"]["workspace"][rule][base] for r in sub],
                        resamples,
                        seed,
                        metric,
                    )
                    for metric in METRIC_OF
                }
                for base in ("today", "rrf")
            }
            for group, sub in groups.items()
        }
    return out


def run(args: argparse.Namespace) -> tuple[dict, int, str]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    found_queries, found_symbols = discover(args.eval_dir)
    query_files = args.queries or found_queries
    symbol_files = args.symbols if args.symbols is not None else found_symbols
    all_queries, all_symbol_queries, set_name = load_all(query_files, symbol_files)
    chosen = (lambda q: True) if args.split == "all" else (lambda q: split_of(q["id"]) == args.split)
    queries = [q for q in all_queries if chosen(q)]
    symbol_queries = [q for q in all_symbol_queries if chosen(q)]
    if args.limit_queries:
        queries, symbol_queries = queries[: args.limit_queries], symbol_queries[: args.limit_queries]
    log.info(
        "%d queries from %s, %d symbol queries from %s, corpus set %r",
        len(queries),
        [p.name for p in query_files],
        len(symbol_queries),
        [p.name for p in symbol_files],
        set_name,
    )
    root = corpus.materialize(set_name, args.corpus_cache)

    from lsp_server import search as search_module
    from lsp_server.embed import load_embedder
    from lsp_server.search import RANKING_RULES, RankingOptions, Searcher

    embedder = load_embedder(args.model, args.device)
    log.info("embedder %s on %s", embedder.model_id, embedder.device)

    with tempfile.TemporaryDirectory(prefix="symscope-quality-") as tmp:
        index_dir = (
            Path(tmp) / "index" if args.fresh else (args.index_dir or corpus.DEFAULT_CACHE / "indexes" / set_name)
        )
        index, _stats = open_quality_index(root, index_dir, embedder)
        try:
            symbols = list(index.iter_symbols())
            spans = {s.symbol_id: Hit(s.path, s.qualified_name, s.start_line, s.end_line) for s in symbols}
            by_key: dict[tuple[str, str], list] = defaultdict(list)
            for s in symbols:
                by_key[(s.path, s.qualified_name)].append(s)
            log.info("%d symbols in the index", len(symbols))

            # Vet every query against what was really indexed, before any ranking.
            problems = vet(queries, symbol_queries, by_key, symbols)
            if problems:
                raise EvalSetError(f"{len(problems)} evaluation set problems:\n  " + "\n  ".join(problems))

            def golds_of(q: dict) -> list[Gold]:
                return [
                    Gold(path, qn, tuple((s.start_line, s.end_line) for s in by_key[(path, qn)]))
                    for path, qn in gold_keys(q)
                ]

            # One Searcher per method and scope: each pays for its own query embeddings (no shared
            # cache), so latencies compare and include the embedding.
            default = RankingOptions()
            variants = {"hybrid": default, "today": RankingOptions.legacy()}
            # Each rule's row: the default without it, or (a rule off by default) the default with it.
            variants.update(
                {
                    f"hybrid-no-{rule}" if getattr(default, rule) else f"hybrid-with-{rule}": replace(
                        default, **{rule: not getattr(default, rule)}
                    )
                    for rule in RANKING_RULES
                }
            )
            legacy = RankingOptions.legacy()
            modes = {name: "hybrid" for name in variants} | {"lexical": "lexical", "vector": "vector"}
            shared = {scope: SharedIndexCalls(index) for scope in SCOPES}
            searchers = {
                scope: {name: Searcher(shared[scope], embedder, ranking=opts) for name, opts in variants.items()}
                | {mode: Searcher(shared[scope], embedder, ranking=legacy) for mode in ("lexical", "vector")}
                for scope in SCOPES
            }
            bm25 = Bm25Ranker(symbols)
            rrf = {scope: PlainRrfRanker(shared[scope], embedder, spans) for scope in SCOPES}
            methods = [*variants, *BASELINES]

            calibration_rows: dict[str, list[tuple[float, bool]]] = defaultdict(list)
            fit_samples: list[tuple[float, float, bool]] = []
            per_query = []
            for i, q in enumerate(queries, 1):
                golds = golds_of(q)
                split = split_of(q["id"])
                row = {
                    "id": q["id"],
                    "file": q["file"],
                    "split": split,
                    "package": q["package"],
                    "language": by_key[gold_keys(q)[0]][0].language,
                    "style": q["style"],
                    "query": q["query"],
                    "ranks": {scope: {rule: {} for rule in RULES} for scope in SCOPES},
                    "latency_ms": {scope: {} for scope in SCOPES},
                    "top1": {},
                }
                for s_i, scope in enumerate(SCOPES):
                    glob = None if scope == "workspace" else package_glob(q["package"])
                    # A fresh (seeded) order per query: no method always runs first on a cold cache,
                    # or right after the BM25 baseline (whose large numpy temporaries slow the next call).
                    scoped = methods if scope == "workspace" else PACKAGE_METHODS
                    order = random.Random(2 * i + s_i).sample(scoped, len(scoped))
                    shared[scope].reset()
                    for method in order:
                        charged_before = shared[scope].charged
                        started = time.perf_counter()
                        results = None
                        if method == "bm25":
                            # bm25 scores every symbol once per query; the package scope masks them
                            ranked, scoring_s = bm25.rank(q["query"], K, None if glob is None else q["package"])
                            started -= scoring_s if scope == "package" else 0.0
                        elif method == "rrf":
                            ranked = rrf[scope].rank(q["query"], K, glob)
                        else:
                            results = searchers[scope][method].search(
                                q["query"], limit=K, mode=modes[method], path=glob
                            )
                            ranked = hits_of(results)
                        replayed = shared[scope].charged - charged_before
                        row["latency_ms"][scope][method] = round(1000 * (time.perf_counter() - started + replayed), 3)
                        for rule in RULES:
                            row["ranks"][scope][rule][method] = first_hit_rank(ranked, golds, rule)
                        if scope == "workspace":
                            row["top1"][method] = f"{ranked[0].path}::{ranked[0].qualified_name}" if ranked else None
                        if scope == "workspace" and method == "hybrid" and results:
                            best = search_module.best_possible_score(q["query"])
                            plain = [n for n, r in enumerate(results) if r.band != "exact"]
                            for n, r in enumerate(results):
                                hit = any(
                                    is_hit(Hit(r.path, r.qualified_name, r.start_line, r.end_line), g, "strict")
                                    for g in golds
                                )
                                calibration_rows[split].append((r.score, hit))
                                if split == "dev" and n in plain and r.raw_score > 0:
                                    other = max((results[m].raw_score for m in plain if m != n), default=0.0)
                                    fit_samples.append(
                                        (*search_module.calibration_features(r.raw_score, best, other), hit)
                                    )
                per_query.append(row)
                if i % 25 == 0:
                    log.info("ranked %d/%d queries", i, len(queries))

            symbol_rows = []
            sym_searchers = {scope: Searcher(index, embedder) for scope in SCOPES}
            for q in symbol_queries:
                golds = golds_of(q)
                row = {
                    "id": q["id"],
                    "file": q["file"],
                    "split": split_of(q["id"]),
                    "package": q["package"],
                    "language": by_key[gold_keys(q)[0]][0].language,
                    "kind": q["kind"],
                    "query": q["query"],
                    "ranks": {},
                    "latency_ms": {},
                    "top1": None,
                }
                for scope in SCOPES:
                    glob = None if scope == "workspace" else package_glob(q["package"])
                    started = time.perf_counter()
                    ranked = hits_of(sym_searchers[scope].symbols(q["query"], limit=K, path=glob))
                    row["latency_ms"][scope] = round(1000 * (time.perf_counter() - started), 3)
                    row["ranks"][scope] = first_hit_rank(ranked, golds, "strict")
                    if scope == "workspace":
                        row["top1"] = f"{ranked[0].path}::{ranked[0].qualified_name}" if ranked else None
                symbol_rows.append(row)
            status = index.status()
        finally:
            index.close()

        extra_names: list[str] = []
        # Vector search with each extra model (its own table in the same index, embedded on first use).
        for spec in args.vector_model or []:
            extra = load_embedder(spec, args.device)
            name = f"vector[{extra.model_id}]"
            log.info("extra vector model %s", extra.model_id)
            index2, _ = open_quality_index(root, index_dir, extra)
            try:
                searcher = {scope: Searcher(index2, extra, ranking=RankingOptions.legacy()) for scope in SCOPES}
                for q, row in zip(queries, per_query, strict=True):
                    golds = golds_of(q)
                    for scope in SCOPES:
                        glob = None if scope == "workspace" else package_glob(q["package"])
                        started = time.perf_counter()
                        ranked = hits_of(searcher[scope].search(q["query"], limit=K, mode="vector", path=glob))
                        row["latency_ms"][scope][name] = round(1000 * (time.perf_counter() - started), 3)
                        for rule in RULES:
                            row["ranks"][scope][rule][name] = first_hit_rank(ranked, golds, rule)
            finally:
                index2.close()
            methods.append(name)
            extra_names.append(name)

    scopes = {
        scope: _summaries(per_query, scope, methods if scope == "workspace" else [*PACKAGE_METHODS, *extra_names])
        for scope in SCOPES
    }
    boot = _bootstrap(per_query, args.bootstrap, args.seed)
    symbol_report = {}
    for scope in SCOPES:
        lat = [r["latency_ms"][scope] for r in symbol_rows]
        symbol_report[scope] = {
            "overall": metrics([r["ranks"][scope] for r in symbol_rows]),
            "per_kind": {
                kind: metrics([r["ranks"][scope] for r in symbol_rows if r["kind"] == kind])
                for kind in SYMBOL_KINDS
                if any(r["kind"] == kind for r in symbol_rows)
            },
            "per_language": {
                lang: metrics([r["ranks"][scope] for r in symbol_rows if r["language"] == lang])
                for lang in sorted({r["language"] for r in symbol_rows})
            },
            "latency": {"p50_ms": round(percentile(lat, 50), 2), "p95_ms": round(percentile(lat, 95), 2)}
            if lat
            else {},
        }
    ws = scopes["workspace"]["strict"]["methods"]
    beats = {m: ws["hybrid"]["mrr@10"] > ws[m]["mrr@10"] for m in BASELINES}
    headline = method_table(scopes["workspace"], methods)
    report = {
        "benchmark": "search_quality",
        "corpus": {
            "set": set_name,
            "sources": [f"{s.registry}:{s.name}=={s.version}" for s in corpus.SETS[set_name]],
            "files": status.files,
            "symbols": status.symbols,
            "vectors": status.vectors,
        },
        "query_files": [_file_info(p, all_queries) for p in query_files],
        "symbol_files": [_file_info(p, all_symbol_queries) for p in symbol_files],
        "model_id": embedder.model_id,
        "device": embedder.device,
        "load_average": {"start": load_at_start, "end": [round(x, 2) for x in os.getloadavg()]},
        "split": args.split,
        "queries": len(per_query),
        "queries_by_split": {sp: sum(1 for r in per_query if r["split"] == sp) for sp in ("dev", "test")},
        "queries_by_language": {
            lang: sum(1 for r in per_query if r["language"] == lang)
            for lang in sorted({r["language"] for r in per_query})
        },
        "queries_by_style": {st: sum(1 for r in per_query if r["style"] == st) for st in STYLES},
        "symbol_queries": len(symbol_rows),
        "k": K,
        "metric_notes": "recall@k = share of queries with a gold answer in the top k; mrr@10 = mean 1/rank of the "
        "first gold hit (0 beyond 10); strict = gold path and (qualified name, or start line within 2); lenient = "
        "also same file with overlapping line ranges; workspace = one index of every package, package = the same "
        f"index with the path filter '<package>/**'; latency per query in ms, query embedding included; bootstrap: "
        f"{args.bootstrap} paired resamples of the test queries, seed {args.seed}, 95 % percentile interval",
        "ranking_rules": list(RANKING_RULES),
        "methods": methods,
        "scopes": scopes,
        "bootstrap": boot,
        "symbol_search": symbol_report,
        "calibration": {sp: calibration_report(rows) for sp, rows in sorted(calibration_rows.items())},
        "hybrid_beats_on_mrr@10": beats,
        "table_markdown": headline,
        "hybrid_misses_top10": [
            {"id": r["id"], "split": r["split"], "query": r["query"], "hybrid_top1": r["top1"]["hybrid"]}
            for r in per_query
            if r["ranks"]["workspace"]["strict"]["hybrid"] is None
        ],
    }
    if args.fit_calibration:
        report["calibration_fit"] = {
            "fitted_on": "dev split, hybrid's non-exact results (whole workspace)",
            "samples": len(fit_samples),
            "coefficients": fit_calibration(fit_samples) if fit_samples else None,
            "in_use": list(search_module.CALIBRATION),
        }
    markdown = summary_markdown(report)
    code = 0 if all(beats.values()) or args.no_check else 1
    if code:
        log.error("hybrid does not beat %s on MRR@10", [m for m, ok in beats.items() if not ok])
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        full = {**report, "per_query": per_query, "per_symbol_query": symbol_rows}
        args.json_out.write_text(json.dumps(full, indent=2) + "\n")
        log.info("full report with per-query ranks written to %s", args.json_out)
    return report, code, markdown


def summary_markdown(report: dict) -> str:
    ws, pk = report["scopes"]["workspace"], report["scopes"]["package"]
    c = report["corpus"]
    out = [
        f"Corpus set `{c['set']}`: {len(c['sources'])} packages, {c['files']:,} files, {c['symbols']:,} symbols; "
        f"{report['queries']} queries ({report['queries_by_split'].get('dev', 0)} dev, "
        f"{report['queries_by_split'].get('test', 0)} test) from "
        + ", ".join(f"`{f['file']}` ({f['queries']})" for f in report["query_files"])
        + f"; model `{report['model_id']}` on {report['device']}.",
        "",
        "**Whole workspace** (every package in one index; strict hit rule unless marked):",
        "",
        method_table(ws, report["methods"]),
        "",
        "**Per package** (the same index and queries, path filter `<package>/**`):",
        "",
        method_table(pk, [m for m in report["methods"] if m in MAIN_METHODS]),
        "",
        "**Per language**, whole workspace, test split, MRR@10 (strict):",
        "",
        breakdown_table(
            {lang: g["test"] for lang, g in ws["strict"]["per_language"].items() if g["test"]["hybrid"]["queries"]},
            MAIN_METHODS,
            "language",
        ),
        "",
        "**Per language**, whole workspace, all queries, MRR@10 (strict):",
        "",
        breakdown_table({lang: g["all"] for lang, g in ws["strict"]["per_language"].items()}, MAIN_METHODS, "language"),
        "",
        "**Paired bootstrap** (strict, " + report["metric_notes"].split("bootstrap: ", 1)[1] + "):",
        "",
        bootstrap_table(report["bootstrap"]["strict"]),
        "",
        "**Per package**, whole workspace, all queries, MRR@10 (strict):",
        "",
        breakdown_table(ws["strict"]["per_package"], MAIN_METHODS, "package"),
        "",
        "**Per style**, whole workspace, all queries, MRR@10 (strict):",
        "",
        breakdown_table(ws["strict"]["per_style"], MAIN_METHODS, "style"),
    ]
    if report["symbol_queries"]:
        out += [
            "",
            f"**Symbol queries** ({report['symbol_queries']}, fuzzy `symbols` search, strict rule; files "
            + ", ".join(f"`{f['file']}` ({f['queries']})" for f in report["symbol_files"])
            + "):",
            "",
            symbol_table(report["symbol_search"]),
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Rank the evaluation queries with every search method over a pinned multi-language corpus, "
        "whole workspace and per package; print MRR@10 / Recall@1 / Recall@10 (strict and lenient) as JSON.",
    )
    parser.add_argument(
        "--eval-dir",
        type=Path,
        default=DEFAULT_EVAL_DIR,
        help="where queries*.json and symbols-*.json live (default: %(default)s)",
    )
    parser.add_argument(
        "--queries", type=Path, nargs="+", default=None, metavar="FILE", help="these query files instead"
    )
    parser.add_argument(
        "--symbols",
        type=Path,
        nargs="*",
        default=None,
        metavar="FILE",
        help="these symbol-query files instead (none: skip)",
    )
    parser.add_argument(
        "--limit-queries", type=int, default=None, metavar="N", help="use only the first N queries of each kind"
    )
    parser.add_argument(
        "--split",
        choices=["all", "dev", "test"],
        default="all",
        help="query subset: a fixed ~2/3 dev, ~1/3 test split by id, for tuning without overfitting (default: %(default)s)",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the report, with per-query ranks, to FILE",
    )
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the markdown summary to FILE (default: stderr)",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=2000, metavar="N", help="paired bootstrap resamples (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=9, help="bootstrap seed (default: %(default)s)")
    parser.add_argument("--no-check", action="store_true", help="exit 0 even if hybrid does not beat every baseline")
    parser.add_argument(
        "--fit-calibration",
        action="store_true",
        help="also fit search.CALIBRATION on the dev split's hybrid results and report the coefficients",
    )
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=None,
        help="cached index of the corpus, updated incrementally (default: CORPUS_CACHE/indexes/<set>)",
    )
    parser.add_argument("--fresh", action="store_true", help="build the index from scratch in a temporary directory")
    parser.add_argument(
        "--corpus-cache", type=Path, default=corpus.DEFAULT_CACHE, help="corpus archive cache (default: %(default)s)"
    )
    parser.add_argument("--model", default=None, help="model setting (default: the bundled default model)")
    parser.add_argument(
        "--vector-model",
        action="append",
        default=None,
        metavar="SPEC",
        help="also score vector search with this model (e.g. default:fp32); repeatable; embeds it on first use",
    )
    parser.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda", "auto"], help="embedding device (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be >= 1")
    if args.bootstrap < 1:
        parser.error("--bootstrap must be >= 1")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        report, code, markdown = run(args)
    except (EvalSetError, IndexSetupError, corpus.CorpusError) as exc:
        log.error("%s", exc)
        return 2
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown)
        log.info("markdown summary written to %s", args.markdown)
    else:
        sys.stderr.write(markdown)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
