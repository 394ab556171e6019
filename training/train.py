"""Contrastive fine-tuning of all-MiniLM-L6-v2 on mined (query, code) pairs, in JAX.

Owns: the BERT encoder in JAX (the same maths as `lsp_server.embed.build_bert_onnx`: embeddings +
LayerNorm, post-LN layers, exact-erf GELU, padded keys masked, mean pooling over the attention mask,
L2 normalisation, exactly as `embed.py` pools), the loss (symmetric InfoNCE over in-batch negatives
plus one hard negative per pair from the same file, else the same package), AdamW, optional freezing
of the embeddings and lower layers, validation Recall@1 / MRR on the held-apart packages, checkpoints
that a run resumes from, and the run log (`log.jsonl`, `summary.json`).

Must never: read a pair of the validation split while training, depend on torch, or use a random
source other than the seeded numpy generator (a run is repeatable from its config).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")
import jax
import jax.numpy as jnp

from lsp_server.embed import bundled_model_source, read_safetensors


@dataclass
class TrainConfig:
    seed: int = 17
    max_len: int = 128  # code side, tokens
    query_len: int = 32
    batch_size: int = 32
    steps: int = 400  # optimiser steps (the run stops at the end of the data if sooner)
    lr: float = 3e-5
    warmup: int = 40
    weight_decay: float = 0.01
    scale: float = 20.0  # inverse temperature (sentence-transformers' MultipleNegativesRankingLoss default)
    freeze_layers: int = 3  # embeddings + this many lower layers get no updates (0: train everything)
    hard_negatives: bool = True
    name_fraction: float = 0.2  # share of qualified-name pairs among training pairs (rest: doc pairs)
    train_pairs: int = 0  # 0: all; else a seeded subset of this many pairs
    val_pairs: int = 1000  # validation doc pairs (one pool: each query ranks all their codes)
    eval_every: int = 100
    tiny: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainConfig:
        config = cls(**{f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None})
        if args.tiny:
            config.tiny = True
            config.steps, config.batch_size, config.val_pairs, config.eval_every = 6, 8, 64, 3
            config.max_len, config.train_pairs, config.warmup = 64, 200, 2
        return config


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("train")
    for f in fields(TrainConfig):
        if f.name == "tiny":
            continue
        kind = {"int": int, "float": float, "bool": lambda s: s.lower() in ("1", "true", "yes")}[f.type]
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=kind, default=None)


# -- model ---------------------------------------------------------------------------------------


def load_weights() -> tuple[dict[str, np.ndarray], dict, Path]:
    source = bundled_model_source()
    weights = {k: np.asarray(v, np.float32) for k, v in read_safetensors(source / "model.safetensors").items()}
    weights.pop("embeddings.position_ids", None)
    config = json.loads((source / "config.json").read_text())
    return weights, config, source


def layer_norm(x, g, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + eps) * g + b


def encode(params: dict, ids, mask, config: dict, freeze_layers: int):
    """ids, mask [B, S] -> L2-normalised mean-pooled vectors [B, H]."""
    eps = float(config.get("layer_norm_eps", 1e-12))
    heads = config["num_attention_heads"]
    p = params
    x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.token_type_embeddings.weight"][0]
    x = x + p["embeddings.position_embeddings.weight"][: ids.shape[1]][None]
    x = layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], eps)
    maskf = mask.astype(jnp.float32)
    additive = (1.0 - maskf)[:, None, None, :] * jnp.finfo(jnp.float32).min
    B, S, H = x.shape
    d = H // heads

    def dense(x, name):
        return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]

    for i in range(config["num_hidden_layers"]):
        if i == freeze_layers and freeze_layers > 0:
            x = jax.lax.stop_gradient(x)  # nothing below is trained: skip its backward pass
        n = f"encoder.layer.{i}"
        q = dense(x, f"{n}.attention.self.query").reshape(B, S, heads, d).transpose(0, 2, 1, 3)
        k = dense(x, f"{n}.attention.self.key").reshape(B, S, heads, d).transpose(0, 2, 3, 1)
        v = dense(x, f"{n}.attention.self.value").reshape(B, S, heads, d).transpose(0, 2, 1, 3)
        probs = jax.nn.softmax(q @ k / math.sqrt(d) + additive, axis=-1)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, H)
        x = layer_norm(dense(ctx, f"{n}.attention.output.dense") + x, *_ln(p, f"{n}.attention.output.LayerNorm"), eps)
        inner = dense(x, f"{n}.intermediate.dense")
        gelu = inner * 0.5 * (1.0 + jax.scipy.special.erf(inner / math.sqrt(2.0)))
        x = layer_norm(dense(gelu, f"{n}.output.dense") + x, *_ln(p, f"{n}.output.LayerNorm"), eps)
    pooled = (x * maskf[:, :, None]).sum(1) / jnp.maximum(maskf.sum(1, keepdims=True), 1e-9)
    return pooled / jnp.maximum(jnp.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12)


def _ln(p, name):
    return p[f"{name}.weight"], p[f"{name}.bias"]


def trainable_names(weights: dict, freeze_layers: int) -> list[str]:
    if freeze_layers <= 0:
        return sorted(weights)
    return sorted(k for k in weights if k.startswith("encoder.layer.") and int(k.split(".")[2]) >= freeze_layers)


# -- data ----------------------------------------------------------------------------------------


class Tokens:
    def __init__(self, source: Path) -> None:
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(source / "tokenizer.json"))
        self.tok.no_padding()

    def batch(self, texts: list[str], length: int) -> tuple[np.ndarray, np.ndarray]:
        self.tok.enable_truncation(max_length=length)
        ids = np.zeros((len(texts), length), np.int32)
        mask = np.zeros((len(texts), length), np.int32)
        for row, enc in enumerate(self.tok.encode_batch(texts)):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        return ids, mask


def code_text(pair: dict) -> str:
    """The document side: the header symscope embeds first ('kind qualified_name'), then the code."""
    return f"{pair['header']}\n{pair['code']}"


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def training_pairs(pairs: list[dict], config: TrainConfig, rng: np.random.Generator) -> list[dict]:
    doc = [p for p in pairs if p["signal"] == "doc"]
    name = [p for p in pairs if p["signal"] == "name"]
    want_name = int(len(doc) * config.name_fraction / max(1e-9, 1 - config.name_fraction))
    if len(name) > want_name:
        name = [name[i] for i in sorted(rng.choice(len(name), want_name, replace=False))]
    chosen = doc + name
    order = rng.permutation(len(chosen))
    chosen = [chosen[i] for i in order]
    if config.train_pairs:
        chosen = chosen[: config.train_pairs]
    return chosen


def hard_negative_index(pairs: list[dict], rng: np.random.Generator) -> np.ndarray:
    """For each pair, another pair of the same file (else package) with different code; -1 if none."""
    by_file: dict[tuple, list[int]] = {}
    by_package: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        by_file.setdefault((p["package"], p["path"]), []).append(i)
        by_package.setdefault(p["package"], []).append(i)
    out = np.full(len(pairs), -1, np.int64)
    for i, p in enumerate(pairs):
        for pool in (by_file[(p["package"], p["path"])], by_package[p["package"]]):
            if len(pool) > 1:
                for _ in range(4):
                    j = pool[int(rng.integers(len(pool)))]
                    if j != i and pairs[j]["code"] != p["code"]:
                        out[i] = j
                        break
            if out[i] >= 0:
                break
    return out


# -- evaluation ----------------------------------------------------------------------------------


def evaluate(params, config: dict, tokens: Tokens, val: list[dict], cfg: TrainConfig, encode_fn) -> dict:
    """Each validation query ranks all validation codes: Recall@1, Recall@5, MRR."""

    def vectors(texts, length):
        out = []
        for start in range(0, len(texts), 64):
            chunk = texts[start : start + 64]
            chunk = chunk + [""] * (64 - len(chunk))  # fixed shapes: one compilation
            ids, mask = tokens.batch(chunk, length)
            out.append(np.asarray(encode_fn(params, ids, mask)))
        return np.concatenate(out)[: len(texts)]

    q = vectors([p["query"] for p in val], cfg.query_len)
    c = vectors([code_text(p) for p in val], cfg.max_len)
    scores = q @ c.T
    ranks = (scores > np.diag(scores)[:, None]).sum(1)  # 0 = first
    return {
        "recall@1": float((ranks == 0).mean()),
        "recall@5": float((ranks < 5).mean()),
        "mrr": float((1.0 / (ranks + 1)).mean()),
        "n": len(val),
    }


# -- training ------------------------------------------------------------------------------------


def train(cfg: TrainConfig, pairs_dir: Path, run_dir: Path) -> dict:
    started = time.time()
    run_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    weights, config, source = load_weights()
    tokens = Tokens(source)
    train_all = read_jsonl(pairs_dir / "train.jsonl")
    val_all = [p for p in read_jsonl(pairs_dir / "validation.jsonl") if p["signal"] == "doc"]
    assert not {p["package"] for p in train_all} & {p["package"] for p in val_all}, "split leak"
    val = [val_all[i] for i in sorted(np.random.default_rng(cfg.seed + 1).permutation(len(val_all))[: cfg.val_pairs])]
    pairs = training_pairs(train_all, cfg, rng)
    negatives = hard_negative_index(pairs, rng) if cfg.hard_negatives else np.full(len(pairs), -1)
    steps = min(cfg.steps, len(pairs) // cfg.batch_size)

    names = trainable_names(weights, cfg.freeze_layers)
    frozen = {k: jnp.asarray(v) for k, v in weights.items() if k not in names}
    params = {k: jnp.asarray(weights[k]) for k in names}
    m = {k: jnp.zeros_like(v) for k, v in params.items()}
    v2 = {k: jnp.zeros_like(v) for k, v in params.items()}
    start_step = 0
    ckpt = run_dir / "checkpoint.npz"
    if ckpt.is_file():  # resume: same config, same seeded data order, skip what was done
        saved = np.load(ckpt)
        start_step = int(saved["step"])
        params = {k: jnp.asarray(saved[f"p/{k}"]) for k in names}
        m = {k: jnp.asarray(saved[f"m/{k}"]) for k in names}
        v2 = {k: jnp.asarray(saved[f"v/{k}"]) for k in names}
        print(f"resuming from step {start_step}")

    encode_fn = jax.jit(lambda p, ids, mask: encode({**frozen, **p}, ids, mask, config, cfg.freeze_layers))

    def loss_fn(p, q_ids, q_mask, c_ids, c_mask, n_ids, n_mask, has_neg):
        full = {**frozen, **p}
        q = encode(full, q_ids, q_mask, config, cfg.freeze_layers)
        c = encode(full, c_ids, c_mask, config, cfg.freeze_layers)
        logits_qc = cfg.scale * q @ c.T
        if cfg.hard_negatives:
            n = encode(full, n_ids, n_mask, config, cfg.freeze_layers)
            logits_qn = cfg.scale * q @ n.T + jnp.where(has_neg[None, :], 0.0, -1e9)
            logits_q = jnp.concatenate([logits_qc, logits_qn], axis=1)
        else:
            logits_q = logits_qc
        labels = jnp.arange(q.shape[0])
        loss_q = -jax.nn.log_softmax(logits_q, axis=1)[labels, labels].mean()
        loss_c = -jax.nn.log_softmax(logits_qc.T, axis=1)[labels, labels].mean()
        return (loss_q + loss_c) / 2

    @jax.jit
    def step_fn(p, m, v2, t, lr, *batch):
        loss, grads = jax.value_and_grad(loss_fn)(p, *batch)
        b1, b2 = 0.9, 0.999
        new_p, new_m, new_v = {}, {}, {}
        for k in p:
            g = grads[k]
            new_m[k] = b1 * m[k] + (1 - b1) * g
            new_v[k] = b2 * v2[k] + (1 - b2) * g * g
            mhat = new_m[k] / (1 - b1**t)
            vhat = new_v[k] / (1 - b2**t)
            decay = cfg.weight_decay * p[k] if p[k].ndim > 1 else 0.0
            new_p[k] = p[k] - lr * (mhat / (jnp.sqrt(vhat) + 1e-8) + decay)
        return new_p, new_m, new_v, loss

    log_path = run_dir / "log.jsonl"
    log = open(log_path, "a", encoding="utf-8")

    def record(entry: dict) -> None:
        entry = {"time_s": round(time.time() - started, 1), **entry}
        print(json.dumps(entry), flush=True)
        log.write(json.dumps(entry) + "\n")
        log.flush()

    record(
        {
            "event": "start",
            "config": asdict(cfg),
            "train_pairs": len(pairs),
            "val_pairs": len(val),
            "steps": steps,
            "trainable": len(names),
            "device": str(jax.devices()[0]),
            "hard_negatives": int((negatives >= 0).sum()),
        }
    )
    if start_step == 0:
        record({"event": "eval", "step": 0, **evaluate(params, config, tokens, val, cfg, encode_fn)})

    tokens_seen = 0
    window = []
    t_train = time.time()
    for step in range(start_step, steps):
        rows = list(range(step * cfg.batch_size, (step + 1) * cfg.batch_size))
        batch_pairs = [pairs[i] for i in rows]
        q_ids, q_mask = tokens.batch([p["query"] for p in batch_pairs], cfg.query_len)
        c_ids, c_mask = tokens.batch([code_text(p) for p in batch_pairs], cfg.max_len)
        neg = [negatives[i] for i in rows]
        n_ids, n_mask = tokens.batch([code_text(pairs[j]) if j >= 0 else "" for j in neg], cfg.max_len)
        has_neg = np.array([j >= 0 for j in neg])
        if step < cfg.warmup:
            lr = cfg.lr * (step + 1) / cfg.warmup
        else:  # linear decay to zero at the last step
            lr = cfg.lr * max(0.0, (steps - step) / max(1, steps - cfg.warmup))
        params, m, v2, loss = step_fn(
            params, m, v2, jnp.float32(step + 1), jnp.float32(lr), q_ids, q_mask, c_ids, c_mask, n_ids, n_mask, has_neg
        )
        tokens_seen += int(q_mask.sum() + c_mask.sum() + n_mask.sum())
        window.append(float(loss))
        if (step + 1) % 10 == 0 or step + 1 == steps:
            record(
                {
                    "event": "train",
                    "step": step + 1,
                    "loss": round(float(np.mean(window)), 4),
                    "lr": lr,
                    "tokens_per_s": round(tokens_seen / (time.time() - t_train), 1),
                }
            )
            window = []
        if (step + 1) % cfg.eval_every == 0 or step + 1 == steps:
            np.savez(
                ckpt,
                step=step + 1,
                **{f"p/{k}": np.asarray(x) for k, x in params.items()},
                **{f"m/{k}": np.asarray(x) for k, x in m.items()},
                **{f"v/{k}": np.asarray(x) for k, x in v2.items()},
            )
            record({"event": "eval", "step": step + 1, **evaluate(params, config, tokens, val, cfg, encode_fn)})
            summary = write_outputs(run_dir, cfg, frozen, params, step + 1, steps, len(train_all), len(pairs), started)

    if start_step >= steps:
        summary = json.loads((run_dir / "summary.json").read_text())
    record({"event": "done", "wall_s": summary["wall_s"]})
    return summary


def write_outputs(run_dir, cfg, frozen, params, step, steps, available, chosen, started) -> dict:
    """weights.npz (all tensors, what export reads) and summary.json, as of `step`: an interrupted
    run can be exported at its last evaluation, and resumed from checkpoint.npz."""
    final = {**{k: np.asarray(v) for k, v in frozen.items()}, **{k: np.asarray(v) for k, v in params.items()}}
    np.savez(run_dir / "weights.npz", **final)
    evals = [json.loads(line) for line in open(run_dir / "log.jsonl") if '"eval"' in line]
    summary = {
        "config": asdict(cfg),
        "steps_done": step,
        "steps_planned": steps,
        "train_pairs_available": available,
        "train_pairs_used": min(chosen, step * cfg.batch_size),
        "validation": {"before": evals[0] if evals else None, "after": evals[-1] if evals else None},
        "curve": [{k: e[k] for k in ("step", "recall@1", "mrr")} for e in evals],
        "wall_s": round(time.time() - started, 1),
        "device": str(jax.devices()[0]),
        "cpu_count": os.cpu_count(),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
