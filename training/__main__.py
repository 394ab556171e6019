"""`python -m training {fetch,mine,train,export,all}`: the pipeline's one command line.

Owns: argument parsing, where each stage's output goes (`training/out/`, git-ignored; the fetch
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["fetch", "mine", "train", "export", "all"])
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
