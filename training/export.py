"""Trained weights -> a model folder `lsp_server.embed` exports and loads like the bundled model.

Owns: the fp16 `model.safetensors` (the bundled checkpoint's tensor names and shapes), the files
copied from the bundled all-MiniLM-L6-v2 folder (config, tokenizer, pooling, its Apache-2.0 LICENSE
and NOTICE, which we keep), the model card (`README.md`: data manifest summary, steps, hardware,
wall time, validation figures), and installing the folder where `embed.resolve_model` finds the
`symscope-code-minilm` model.

Must never: change a tensor's name, shape or meaning (embed.py's exporter reads this folder as it
reads the bundled one), or write weights into the git tree (training/out is git-ignored).
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np

from lsp_server.embed import bundled_model_source, trained_model_dir

MODEL_NAME = "symscope-code-minilm"
COPIED = (
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt",
    "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json",
    "LICENSE", "NOTICE",
)  # fmt: skip
DATA = Path(__file__).resolve().parent / "data"


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """The safetensors format (8-byte header length, JSON header, raw little-endian buffers)."""
    dtypes = {np.dtype("<f2"): "F16", np.dtype("<f4"): "F32", np.dtype("<i8"): "I64"}
    header: dict = {"__metadata__": metadata}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        blob = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": dtypes[array.dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        offset += len(blob)
        blobs.append(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


def export(run_dir: Path, out_dir: Path, install: bool = True) -> Path:
    source = bundled_model_source()
    weights = dict(np.load(run_dir / "weights.npz"))
    tensors = {k: v.astype(np.float16) for k, v in weights.items()}
    tensors["embeddings.position_ids"] = np.arange(512, dtype=np.int64)[None]  # as in the bundled file
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    write_safetensors(out_dir / "model.safetensors", tensors, {"format": "pt", "producer": "symscope training"})
    for name in COPIED:
        if (source / name).is_file():
            (out_dir / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, out_dir / name)
    summary = json.loads((run_dir / "summary.json").read_text())
    (out_dir / "training_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "README.md").write_text(model_card(summary), encoding="utf-8")
    print(f"exported {out_dir}")
    if install:
        target = trained_model_dir(MODEL_NAME)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out_dir, target)
        print(f"installed as model '{MODEL_NAME}' in {target}")
    return out_dir


def model_card(summary: dict) -> str:
    manifest_path = DATA / "manifest.json"
    rows = json.loads(manifest_path.read_text())["packages"] if manifest_path.is_file() else []
    kept = [r for r in rows if r["kept"]]
    by_registry: dict[str, int] = {}
    for r in kept:
        by_registry[r["registry"]] = by_registry.get(r["registry"], 0) + 1
    stats_path = DATA / "mining_stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.is_file() else {}
    before = summary["validation"]["before"] or {}
    after = summary["validation"]["after"] or {}
    cfg = summary["config"]
    fmt = lambda e, k: f"{e[k]:.3f}" if k in e else "n/a"  # noqa: E731
    return f"""# {MODEL_NAME}

all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0; see LICENSE and NOTICE, kept from the bundled
copy) fine-tuned contrastively by symscope's `training/` pipeline for natural-language -> code search.
Same architecture, tokenizer and mean pooling; weights stored as fp16 safetensors.

## Data
- {len(kept)} packages kept ({", ".join(f"{n} {r}" for r, n in sorted(by_registry.items()))}) of {len(rows)}
  pinned, all from the training list; dropped: {", ".join(r["name"] for r in rows if not r["kept"]) or "none"}
  (manifest: training/data/manifest.json, with each archive's sha256 and licence).
- Pairs mined with symscope's extractor: {stats.get("pairs", "n/a")} after dedupe
  ({json.dumps(stats.get("by_split", {}))}); validation = whole packages held apart:
  {", ".join(stats.get("validation_packages", []))}.

## Training
- {summary["steps_done"]} steps x batch {cfg["batch_size"]} ({summary["train_pairs_used"]} pairs of
  {summary["train_pairs_available"]} available), symmetric InfoNCE (scale {cfg["scale"]}) over in-batch
  negatives{" + one hard negative per pair from the same file or package" if cfg["hard_negatives"] else ""},
  AdamW lr {cfg["lr"]} (warm-up {cfg["warmup"]}, linear decay), max_len {cfg["max_len"]} (queries
  {cfg["query_len"]}), embeddings + {cfg["freeze_layers"]} lower layers frozen, seed {cfg["seed"]}.
- Hardware: {summary["device"]} ({summary["cpu_count"]} CPU cores, shared); wall time {summary["wall_s"]:.0f} s.

## Validation (held-apart packages; each query ranks all {after.get("n", before.get("n", "n/a"))} codes)
| | Recall@1 | Recall@5 | MRR |
|---|---|---|---|
| all-MiniLM-L6-v2 (before) | {fmt(before, "recall@1")} | {fmt(before, "recall@5")} | {fmt(before, "mrr")} |
| {MODEL_NAME} (after) | {fmt(after, "recall@1")} | {fmt(after, "recall@5")} | {fmt(after, "mrr")} |

These are figures on mined doc-comment queries of the training pipeline's own held-apart packages,
not on symscope's evaluation set; whether this model becomes the default is decided there.
"""
