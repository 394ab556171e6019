"""`python -m training {fetch,mine,train,export,all}`: the pipeline's one command line.

Owns: argument parsing, `compare` (the validation slice through embed.py: default vs trained), where each stage's output goes (`training/out/`, git-ignored; the fetch
cache under ~/.cache/symscope/training), and the `--tiny` end-to-end smoke settings.

Must never: write into the git tree except `training/data/` (manifest, mining stats, run logs).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DATA = HERE / "data"


def cmd_fetch(args: argparse.Namespace) -> None:
    from training.fetch import fetch_all

    rows = fetch_all(jobs=args.jobs)
    kept = [r for r in rows if r["kept"]]
    print(f"fetched {len(rows)} pins, kept {len(kept)} in {len({r['registry'] for r in kept})} registries")


def cmd_mine(args: argparse.Namespace) -> None:
    from training.fetch import load_manifest, tree_of
    from training.mine import mine

    rows = [r for r in load_manifest() if r["kept"]]
    if args.tiny:  # one small package per split is enough to prove the stage
        rows = [r for r in rows if r["name"] in ("tenacity", "bstr", "toolz", "ws")]
    packages = [(f"{r['registry']}:{r['name']}", tree_of(r)) for r in rows]
    out = Path(args.out) / "pairs"
    stats_path = (out / "stats.json") if args.tiny else DATA / "mining_stats.json"
    started = time.perf_counter()
    stats = mine(packages, out, stats_path, limit=150 if args.tiny else None)
    print(json.dumps({k: stats[k] for k in ("candidates", "pairs", "by_split", "by_signal")}))
    print(f"mined in {time.perf_counter() - started:.0f}s; stats in {stats_path}")


def cmd_train(args: argparse.Namespace) -> None:
    from training.train import TrainConfig, train

    config = TrainConfig.from_args(args)
    train(config, Path(args.out) / "pairs", Path(args.out) / "run")


def cmd_export(args: argparse.Namespace) -> None:
    from training.export import export

    export(Path(args.out) / "run", Path(args.out) / "model")


def cmd_compare(args: argparse.Namespace) -> None:
    """The validation slice through symscope's own embedder (ONNX, int8 on the CPU): the bundled
    default against the installed trained model, exactly as search would embed them."""
    import numpy as np

    from lsp_server import embed
    from training.train import TrainConfig, code_text, read_jsonl

    cfg = TrainConfig.from_args(args)
    pairs = [p for p in read_jsonl(Path(args.out) / "pairs" / "validation.jsonl") if p["signal"] == "doc"]
    order = np.random.default_rng(cfg.seed + 1).permutation(len(pairs))[: cfg.val_pairs]  # train.py's slice
    val = [pairs[i] for i in sorted(order)]
    for spec in ("default:int8", "symscope-code-minilm:int8"):
        started = time.perf_counter()
        model = embed.load_embedder(spec, device="cpu", max_length=cfg.max_len)
        queries = np.stack([model.embed_query(p["query"]) for p in val])  # alone, as search embeds a query
        scores = queries @ model.embed([code_text(p) for p in val]).T
        ranks = (scores > np.diag(scores)[:, None]).sum(1)
        print(
            json.dumps(
                {
                    "model_id": model.model_id,
                    "n": len(val),
                    "recall@1": float((ranks == 0).mean()),
                    "recall@5": float((ranks < 5).mean()),
                    "mrr": float((1.0 / (ranks + 1)).mean()),
                    "seconds": round(time.perf_counter() - started, 1),
                }
            ),
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["fetch", "mine", "train", "export", "compare", "all"])
    parser.add_argument("--out", default=str(OUT), help="where pairs, runs and the model go (default training/out)")
    parser.add_argument("--tiny", action="store_true", help="a one-minute end-to-end run on a few hundred pairs")
    parser.add_argument("--jobs", type=int, default=6, help="parallel downloads")
    try:
        from training.train import add_train_arguments
    except ModuleNotFoundError:  # jax missing: fetch and mine still work
        pass
    else:
        add_train_arguments(parser)
    args = parser.parse_args(argv)
    if args.tiny and args.out == str(OUT):
        args.out = str(OUT / "tiny")
    stages = ["fetch", "mine", "train", "export"] if args.stage == "all" else [args.stage]
    for stage in stages:
        print(f"== {stage}", flush=True)
        globals()[f"cmd_{stage}"](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
