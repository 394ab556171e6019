"""Search-quality benchmark: hybrid vs lexical-only vs vector-only vs a BM25 baseline, on code none of us wrote.

Owns: loading and vetting the evaluation set (`benchmarks/eval/queries.json`), indexing the pinned
"quality" corpus (see `corpus.py`) with the real default embedding model, ranking every query with each
method, and reporting MRR@10, Recall@1 and Recall@10 overall, per dev/test split, per package and per
query style, with each method's query latency (p50 / p95, query embedding included).

Methods: `hybrid` (the default: every code-aware ranking rule of search.RankingOptions on), `today`
(every rule off: the ranking before them), `hybrid-no-<rule>` (the ablations: that one rule off), and
the `lexical`, `vector` (single lists, no rules) and `bm25` baselines. The index is cached under
`--index-dir` and only updated between runs (re-embedded only when the model id changes).
`calibration` says how well the displayed 0-1 score predicts a gold hit per split; `--fit-calibration`
refits search.CALIBRATION's coefficients on the dev split (paste them into search.py).

Recall@k here is the share of queries with at least one gold answer in the top k (several gold answers
are alternatives, e.g. a public function and the method it delegates to). A result is a hit when its
(path, qualified name) equals a gold pair; overloads sharing one qualified name all count.

Never: changes the index or search code, tunes anything on the evaluation set at run time, or trusts a
gold answer it has not found in the index (a missing gold symbol, a query that copies its gold's
docstring, or a 'semantic' query that uses a word of its gold's name fails the run with exit code 2).

Exit codes: 0 ok; 1 hybrid did not beat the lexical, vector and BM25 baselines on MRR@10 (skip with --no-check);
2 the evaluation set, the corpus or its index is broken. JSON on stdout, logs on stderr.
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
from collections.abc import Callable, Iterable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # there is no model hub here; never try to reach one

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import corpus  # benchmarks/corpus.py (this folder is sys.path[0])

log = logging.getLogger("benchmarks.search_quality")

DEFAULT_QUERIES = BENCH_DIR / "eval" / "queries.json"
DEFAULT_INDEX_DIR = corpus.DEFAULT_CACHE / "indexes" / "quality"
BASELINES = ("lexical", "vector", "bm25")
# The methods the summaries per package and per style cover (the ablations are in `methods`).
MAIN_METHODS = ("hybrid", "today", "lexical", "vector", "bm25")
K = 10

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
# The evaluation set
# --------------------------------------------------------------------------------------------------


def load_eval_set(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EvalSetError(f"cannot read evaluation set {path}: {exc}") from exc
    queries = data.get("queries")
    if not isinstance(queries, list) or not queries:
        raise EvalSetError(f"{path}: 'queries' must be a non-empty list")
    seen: set[str] = set()
    folders = set(corpus.source_by_folder(data.get("corpus_set", "quality")))
    for q in queries:
        missing = {"id", "package", "query", "style", "gold"} - set(q)
        if missing:
            raise EvalSetError(f"{path}: query {q.get('id', q)} lacks {sorted(missing)}")
        if q["id"] in seen:
            raise EvalSetError(f"{path}: duplicate query id {q['id']}")
        seen.add(q["id"])
        if q["package"] not in folders:
            raise EvalSetError(f"{path}: {q['id']} names package {q['package']!r}, not in the corpus set")
        if q["style"] not in ("semantic", "hint"):
            raise EvalSetError(f"{path}: {q['id']} has style {q['style']!r} (semantic|hint)")
        if not q["gold"] or not all({"path", "qualified_name"} <= set(g) for g in q["gold"]):
            raise EvalSetError(f"{path}: {q['id']} needs gold entries with path and qualified_name")
    return data


def split_of(query_id: str) -> str:
    """A fixed dev/test split (about 1/3 test) by a stable hash of the id: tune on dev, report test too."""
    return "test" if zlib.crc32(query_id.encode()) % 3 == 0 else "dev"


def gold_keys(query: dict) -> set[tuple[str, str]]:
    """Gold answers as (indexed path, qualified name): indexed paths start with the package folder."""
    return {(f"{query['package']}/{g['path']}", g["qualified_name"]) for g in query["gold"]}


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
# Rankers
# --------------------------------------------------------------------------------------------------


class Bm25Ranker:
    """rank_bm25.BM25Okapi over the same symbols' embed_text, identifier-aware tokens."""

    def __init__(self, symbols: list) -> None:
        import numpy as np
        from rank_bm25 import BM25Okapi

        self._np = np
        self._keys = [(s.path, s.qualified_name) for s in symbols]
        self._bm25 = BM25Okapi([identifier_tokens(s.embed_text) or ["\x00"] for s in symbols])

    def rank(self, query: str, limit: int) -> list[tuple[str, str]]:
        scores = self._bm25.get_scores(identifier_tokens(query))
        np = self._np
        top = np.argpartition(-scores, min(limit, len(scores) - 1))[:limit]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self._keys[i] for i in top]


def first_hit_rank(ranked: list[tuple[str, str]], gold: set[tuple[str, str]]) -> int | None:
    for position, key in enumerate(ranked, 1):
        if key in gold:
            return position
    return None


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    if not n:
        return {"queries": 0}
    return {
        "queries": n,
        "mrr@10": round(sum(1.0 / r for r in ranks if r is not None and r <= K) / n, 4),
        "recall@1": round(sum(1 for r in ranks if r == 1) / n, 4),
        "recall@10": round(sum(1 for r in ranks if r is not None and r <= K) / n, 4),
    }


def markdown_table(rows: dict[str, dict[str, float]]) -> str:
    lines = ["| method | MRR@10 | Recall@1 | Recall@10 |", "|---|---|---|---|"]
    for method, m in rows.items():
        lines.append(f"| {method} | {m['mrr@10']:.3f} | {m['recall@1']:.3f} | {m['recall@10']:.3f} |")
    return "\n".join(lines)


def split_table(by_split: dict[str, dict[str, dict]], latency: dict[str, dict[str, float]]) -> str:
    """One row per method: dev and test metrics side by side, then query latency."""
    splits = [sp for sp in ("dev", "test") if sp in by_split]
    head = "| method | " + " | ".join(f"{sp} MRR@10 | {sp} R@1 | {sp} R@10" for sp in splits) + " | p50 ms | p95 ms |"
    lines = [head, "|---" * (1 + 3 * len(splits) + 2) + "|"]
    for method in latency:
        cells = []
        for sp in splits:
            m = by_split[sp][method]
            cells.append(f"{m['mrr@10']:.3f} | {m['recall@1']:.3f} | {m['recall@10']:.3f}")
        lat = latency[method]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {lat['p50_ms']:.1f} | {lat['p95_ms']:.1f} |")
    return "\n".join(lines)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


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


def run(args: argparse.Namespace) -> tuple[dict, int]:
    eval_set = load_eval_set(args.queries)
    queries = [q for q in eval_set["queries"] if args.split == "all" or split_of(q["id"]) == args.split]
    queries = queries[: args.limit_queries] if args.limit_queries else queries
    set_name = eval_set.get("corpus_set", "quality")
    root = corpus.materialize(set_name, args.corpus_cache)

    from lsp_server import search as search_module
    from lsp_server.embed import load_embedder
    from lsp_server.search import RANKING_RULES, RankingOptions, Searcher

    embedder = load_embedder(args.model, args.device)
    log.info("embedder %s on %s", embedder.model_id, embedder.device)

    with tempfile.TemporaryDirectory(prefix="symscope-quality-") as tmp:
        index_dir = Path(tmp) / "index" if args.fresh else args.index_dir
        index, _stats = open_quality_index(root, index_dir, embedder)
        try:
            symbols = list(index.iter_symbols())
            by_key: dict[tuple[str, str], list] = defaultdict(list)
            for s in symbols:
                by_key[(s.path, s.qualified_name)].append(s)
            log.info("%d symbols in the index", len(symbols))

            # Vet the evaluation set against what was really indexed, before any ranking.
            problems = []
            for q in queries:
                for key in sorted(gold_keys(q)):
                    if key not in by_key:
                        in_file = sorted({s.qualified_name for s in symbols if s.path == key[0]})
                        near = [n for n in in_file if n.rsplit(".", 1)[-1] == key[1].rsplit(".", 1)[-1]]
                        problems.append(
                            f"{q['id']}: gold {key[0]} :: {key[1]} is not in the index"
                            + (f" (same name there: {near})" if near else f" ({len(in_file)} symbols in that file)")
                        )
                docs = [s.doc for key in gold_keys(q) for s in by_key.get(key, []) if s.doc]
                problems.extend(f"{q['id']}: {p}" for p in wording_problems(q, docs))
            if problems:
                raise EvalSetError("evaluation set problems:\n  " + "\n  ".join(problems))

            # One Searcher per method: each pays for its own query embeddings (no shared cache), so
            # latencies compare. "today" is every ranking rule off (the ranking before issue 9); the
            # lexical and vector baselines are single lists with no rules either.
            all_on = RankingOptions()
            variants = {"hybrid": all_on, "today": RankingOptions.legacy()}
            variants.update({f"hybrid-no-{rule}": all_on.without(rule) for rule in RANKING_RULES})
            searchers = {name: Searcher(index, embedder, ranking=opts) for name, opts in variants.items()}
            legacy = RankingOptions.legacy()
            searchers.update({mode: Searcher(index, embedder, ranking=legacy) for mode in ("lexical", "vector")})
            bm25 = Bm25Ranker(symbols)
            modes = {name: "hybrid" for name in variants} | {"lexical": "lexical", "vector": "vector"}
            methods = [*variants, *BASELINES]

            calibration_rows: dict[str, list[tuple[float, bool]]] = defaultdict(list)
            fit_samples: list[tuple[float, float, bool]] = []
            per_query = []
            latencies: dict[str, list[float]] = defaultdict(list)
            for i, q in enumerate(queries, 1):
                gold = gold_keys(q)
                split = split_of(q["id"])
                row = {
                    "id": q["id"],
                    "split": split,
                    "package": q["package"],
                    "style": q["style"],
                    "query": q["query"],
                    "ranks": {},
                    "top1": {},
                }
                # A fresh (seeded) order per query: no method always runs first on a cold cache, or
                # right after the BM25 baseline (whose large numpy temporaries slow the next call).
                order = random.Random(i).sample(methods, len(methods))
                for method in order:
                    started = time.perf_counter()
                    if method == "bm25":
                        ranked = bm25.rank(q["query"], K)
                        results = None
                    else:
                        results = searchers[method].search(q["query"], limit=K, mode=modes[method])
                        ranked = [(r.path, r.qualified_name) for r in results]
                    latencies[method].append(1000 * (time.perf_counter() - started))
                    row["ranks"][method] = first_hit_rank(ranked, gold)
                    row["top1"][method] = "::".join(ranked[0]) if ranked else None
                    if method == "hybrid" and results:
                        best = search_module.best_possible_score(q["query"])
                        plain = [n for n, r in enumerate(results) if r.band != "exact"]
                        for n, r in enumerate(results):
                            hit = (r.path, r.qualified_name) in gold
                            calibration_rows[split].append((r.score, hit))
                            if split == "dev" and n in plain and r.raw_score > 0:
                                other = max((results[m].raw_score for m in plain if m != n), default=0.0)
                                fit_samples.append((*search_module.calibration_features(r.raw_score, best, other), hit))
                per_query.append(row)
                if i % 25 == 0:
                    log.info("ranked %d/%d queries", i, len(queries))
            status = index.status()
        finally:
            index.close()

    def summarise(rows: list[dict], names) -> dict[str, dict[str, float]]:
        return {m: metrics([r["ranks"][m] for r in rows]) for m in names}

    overall = summarise(per_query, methods)
    by_split = {
        sp: summarise([r for r in per_query if r["split"] == sp], methods)
        for sp in ("dev", "test")
        if any(r["split"] == sp for r in per_query)
    }
    per_package = {
        pkg: summarise([r for r in per_query if r["package"] == pkg], MAIN_METHODS)
        for pkg in sorted({r["package"] for r in per_query})
    }
    per_style = {
        st: summarise([r for r in per_query if r["style"] == st], MAIN_METHODS)
        for st in sorted({r["style"] for r in per_query})
    }
    latency = {
        m: {
            "p50_ms": round(percentile(latencies[m], 50), 2),
            "p95_ms": round(percentile(latencies[m], 95), 2),
            "mean_ms": round(sum(latencies[m]) / len(latencies[m]), 2),
        }
        for m in methods
    }
    beats = {m: overall["hybrid"]["mrr@10"] > overall[m]["mrr@10"] for m in BASELINES}
    report = {
        "benchmark": "search_quality",
        "corpus": {
            "set": set_name,
            "sources": [f"{s.registry}:{s.name}=={s.version}" for s in corpus.SETS[set_name]],
            "files": status.files,
            "symbols": status.symbols,
            "vectors": status.vectors,
        },
        "model_id": embedder.model_id,
        "device": embedder.device,
        "split": args.split,
        "queries": len(per_query),
        "queries_by_split": {sp: v["hybrid"]["queries"] for sp, v in by_split.items()},
        "queries_by_style": {st: v["hybrid"]["queries"] for st, v in per_style.items()},
        "k": K,
        "metric_notes": "recall@k = share of queries with a gold answer in the top k; mrr@10 = mean 1/rank of the first gold hit (0 beyond 10); "
        "hybrid = every ranking rule on (the default), today = every rule off, hybrid-no-<rule> = that one rule off; "
        "latency per query in ms, query embedding included (each method its own Searcher, no shared vector cache)",
        "ranking_rules": list(RANKING_RULES),
        "methods": overall,
        "by_split": by_split,
        "latency": latency,
        "per_package": per_package,
        "per_style": per_style,
        "calibration": {sp: calibration_report(rows) for sp, rows in sorted(calibration_rows.items())},
        "hybrid_beats_on_mrr@10": beats,
        "table_markdown": split_table(by_split, latency) if by_split else markdown_table(overall),
        "hybrid_misses_top10": [
            {"id": r["id"], "split": r["split"], "query": r["query"], "hybrid_top1": r["top1"]["hybrid"]}
            for r in per_query
            if r["ranks"]["hybrid"] is None
        ],
    }
    if args.fit_calibration:
        report["calibration_fit"] = {
            "fitted_on": "dev split, hybrid's non-exact results",
            "samples": len(fit_samples),
            "coefficients": fit_calibration(fit_samples) if fit_samples else None,
            "in_use": list(search_module.CALIBRATION),
        }
    code = 0 if all(beats.values()) or args.no_check else 1
    if code:
        log.error("hybrid does not beat %s on MRR@10", [m for m, ok in beats.items() if not ok])
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps({**report, "per_query": per_query}, indent=2) + "\n")
        log.info("full report with per-query ranks written to %s", args.json_out)
    return report, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Rank the evaluation queries with hybrid, lexical-only, vector-only search and a BM25 "
        "baseline over a pinned corpus of real packages; print MRR@10 / Recall@1 / Recall@10 as JSON.",
    )
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES, help="evaluation set (default: %(default)s)")
    parser.add_argument("--limit-queries", type=int, default=None, metavar="N", help="use only the first N queries")
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
        "--no-check", action="store_true", help="exit 0 even if hybrid does not beat every other method"
    )
    parser.add_argument(
        "--fit-calibration",
        action="store_true",
        help="also fit search.CALIBRATION on the dev split's hybrid results and report the coefficients",
    )
    parser.add_argument(
        "--index-dir",
        type=Path,
        default=DEFAULT_INDEX_DIR,
        help="cached index of the corpus, updated incrementally (default: %(default)s)",
    )
    parser.add_argument("--fresh", action="store_true", help="build the index from scratch in a temporary directory")
    parser.add_argument(
        "--corpus-cache", type=Path, default=corpus.DEFAULT_CACHE, help="corpus archive cache (default: %(default)s)"
    )
    parser.add_argument("--model", default=None, help="model setting (default: the bundled default model)")
    parser.add_argument(
        "--device", default="cpu", choices=["cpu", "cuda", "auto"], help="embedding device (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.limit_queries is not None and args.limit_queries < 1:
        parser.error("--limit-queries must be >= 1")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        report, code = run(args)
    except (EvalSetError, IndexSetupError, corpus.CorpusError) as exc:
        log.error("%s", exc)
        return 2
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
