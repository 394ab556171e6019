"""Embedding determinism benchmark: is a text's vector a function of the text and the model only?

Owns measuring, in one process, for each way of running the bundled all-MiniLM-L6-v2 on the CPU
(the graphs are built here from the same fp32 export `lsp_server.embed` makes):
  * independence: each of ~200 symbol texts (embed texts of this repository's own `lsp_server/`,
    made by the real extractor and `index/records.py`) embedded alone vs inside shuffled mixed batches
    of 2, 7, 16 and 64 texts (heavy padding) and through `embed()` itself (length-sorted batches of 16;
    a candidate that embeds every text alone is measured through `embed()` for the mixed batches too):
    max abs difference, min cosine, share of bit-identical rows;
  * throughput: texts/s of `embed()` on chunks of 64 realistic texts, embedder batch sizes 16 (the
    default) and 1 (each text alone), 2 intra-op threads; candidates are timed in interleaved rounds (the machine is
    shared) and the median round is reported;
  * agreement with fp32 (quality proxy): cosine to the fp32 vector of each of all ~830 texts
    (min / mean) and the mean overlap of each text's 10 nearest neighbours among them;
  * the op types of the graph onnxruntime really runs (after its optimisations), flagging the ops
    that quantise activations with one scale per whole tensor (and so reduce over the batch).

Calibration texts (static quantisation) come from this repository's `rust/` and `tests/` sources,
never from the measured texts and never from evaluation packages.

Never: writes outside a temporary folder, reaches the network, or prints anything but the JSON
result to stdout (logs go to stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # there is no model hub here; never try to reach one

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

import numpy as np  # noqa: E402

from lsp_server import embed  # noqa: E402

log = logging.getLogger("benchmarks.embed_determinism")

MIXED_BATCH_SIZES = (2, 7, 16, 64)
CALIBRATION_WIDTH = 96  # tokens, for calibrators that need one input shape (percentile)
SUSPECT_OPS = {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention", "DynamicQuantizeLSTM"}


# -- texts ----------------------------------------------------------------------------------------


def symbol_texts(paths: list[Path]) -> list[str]:
    """The embed texts the index would store for these files (real extractor, real records)."""
    from lsp_server import _native
    from lsp_server.index import records

    texts: list[str] = []
    for path in paths:
        data = path.read_bytes()
        result = _native.extract(str(path), data, supervised=False)  # our own trusted source
        rows, _ = records.file_rows(result, data)
        texts.extend(row.embed_text for row in rows)
    return list(dict.fromkeys(texts))  # distinct, in file order


def spread(texts: list[str], n: int) -> list[str]:
    if len(texts) <= n:
        return texts
    step = len(texts) / n
    return [texts[int(i * step)] for i in range(n)]


# -- candidate graphs -----------------------------------------------------------------------------


def _weight_matmuls(model):
    inits = {t.name: t for t in model.graph.initializer}
    return [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in inits], inits


def quantize_blocks_int8(w: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """MatMul weight [K, N] -> MatMulNBits (bits=8, symmetric) data [N, K/bs, bs] uint8 and scales [N, K/bs]."""
    k, n = w.shape
    blocks = -(-k // block_size)
    wt = np.zeros((n, blocks * block_size), np.float32)
    wt[:, :k] = w.T
    wt = wt.reshape(n, blocks, block_size)
    scale = np.abs(wt).max(axis=-1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(wt / scale[..., None]), -127, 127).astype(np.int16) + 128  # zero point 128 (default)
    return q.astype(np.uint8), scale.astype(np.float32)


def to_matmul_nbits(model, block_size: int, accuracy_level: int, fuse_bias: bool):
    from onnx import helper, numpy_helper

    matmuls, inits = _weight_matmuls(model)
    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    dropped_nodes, dropped_inits = set(), set()
    replacement = {}
    for node in matmuls:
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        k, n = w.shape
        q, scales = quantize_blocks_int8(w, block_size)
        qname, sname = node.input[1] + ".q8", node.input[1] + ".scales"
        model.graph.initializer.extend([numpy_helper.from_array(q, qname), numpy_helper.from_array(scales, sname)])
        dropped_inits.add(node.input[1])
        inputs = [node.input[0], qname, sname]
        output = node.output[0]
        if fuse_bias:
            (add,) = consumers[output]
            bias = add.input[1] if add.input[0] == output else add.input[0]
            inputs += ["", "", bias]
            output = add.output[0]
            dropped_nodes.add(add.name)
        replacement[node.name] = helper.make_node(
            "MatMulNBits",
            inputs,
            [output],
            name=node.name + ".q8",
            domain="com.microsoft",
            K=k,
            N=n,
            bits=8,
            block_size=block_size,
            accuracy_level=accuracy_level,
        )
    nodes = [replacement.get(nd.name, nd) for nd in model.graph.node if nd.name not in dropped_nodes]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    kept = [t for t in model.graph.initializer if t.name not in dropped_inits]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def to_int8_dynamic(fp32_path: Path, out_path: Path) -> None:
    """What symscope shipped before: onnxruntime's quantize_dynamic (int8 weights per channel, one
    activation scale per whole input tensor, computed at run time from the batch)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        quantize_dynamic(
            str(fp32_path),
            str(out_path),
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            reduce_range=False,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)


def to_fp16_weights(model, compute_fp16: bool):
    """Weight MatMuls with fp16 weights: cast back to fp32 (folded at load: fp32 maths, fp16-rounded
    weights), or with the activation cast to fp16 so the MatMul itself runs in fp16."""
    from onnx import TensorProto, helper, numpy_helper

    matmuls, inits = _weight_matmuls(model)
    new_nodes = []
    by_name = {node.name: node for node in matmuls}
    for node in model.graph.node:
        if node.name not in by_name:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float16)
        wname = node.input[1] + ".fp16"
        model.graph.initializer.append(numpy_helper.from_array(w, wname))
        if compute_fp16:
            a16 = node.name + ".a16"
            new_nodes.append(helper.make_node("Cast", [node.input[0]], [a16], name=a16, to=TensorProto.FLOAT16))
            y16 = node.name + ".y16"
            new_nodes.append(helper.make_node("MatMul", [a16, wname], [y16], name=node.name))
            new_nodes.append(helper.make_node("Cast", [y16], [node.output[0]], name=y16 + ".f32", to=TensorProto.FLOAT))
        else:
            w32 = wname + ".f32"
            new_nodes.append(helper.make_node("Cast", [wname], [w32], name=w32, to=TensorProto.FLOAT))
            new_nodes.append(helper.make_node("MatMul", [node.input[0], w32], [node.output[0]], name=node.name))
    dropped = {node.input[1] for node in matmuls}
    kept = [t for t in model.graph.initializer if t.name not in dropped]
    del model.graph.node[:]
    model.graph.node.extend(new_nodes)
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model


def to_static_int8(fp32_path: Path, out_path: Path, calibration: list[str], tokenizer, method: str) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    model = onnx.load(str(fp32_path))
    names = [n.name for n in _weight_matmuls(model)[0]]
    del model

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(tokenizer.encode_batch(calibration))

        def get_next(self):
            enc = next(self._it, None)
            if enc is None:
                return None
            ids = np.asarray([enc.ids], np.int64)
            mask = np.ones_like(ids)
            if method != "minmax":  # histogram calibrators stack their inputs: one fixed width
                width = CALIBRATION_WIDTH
                ids = np.pad(ids[:, :width], ((0, 0), (0, max(0, width - ids.shape[1]))))
                mask = np.pad(mask[:, :width], ((0, 0), (0, max(0, width - mask.shape[1]))))
            return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the calibrators print progress to stdout
            quantize_static(
                str(fp32_path),
                str(out_path),
                Reader(),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=["MatMul"],
                nodes_to_quantize=names,
                per_channel=True,
                reduce_range=False,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method={"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}[
                    method
                ],
                extra_options={"CalibMovingAverage": False} if method == "minmax" else {"CalibPercentile": 99.99},
            )
    finally:
        root.setLevel(level)


def make_folder(base: Path, name: str, fp32_dir: Path, graph_bytes: bytes | None, precision: str) -> Path:
    folder = base / name
    folder.mkdir()
    for entry in fp32_dir.iterdir():
        if entry.name in ("model.onnx", embed.MANIFEST_NAME):
            continue
        target = folder / entry.name
        if entry.is_dir():
            target.symlink_to(entry, target_is_directory=True)
        else:
            target.symlink_to(entry)
    if graph_bytes is not None:
        (folder / "model.onnx").write_bytes(graph_bytes)
    (folder / embed.MANIFEST_NAME).write_text(json.dumps({"name": name, "precision": precision}))
    return folder


def build_candidates(base: Path, calibration: list[str], quick: bool) -> dict[str, tuple[Path, int]]:
    """name -> (model folder, embedder batch size override or 0)."""
    import onnx

    src = embed.bundled_model_source()
    fp32_dir = embed.export_onnx(src, base / "fp32", "fp32")
    fp32_graph = fp32_dir / "model.onnx"
    dynamic_dir = make_folder(base, "int8-dynamic", fp32_dir, None, "int8")
    to_int8_dynamic(fp32_graph, dynamic_dir / "model.onnx")
    out: dict[str, tuple[Path, int]] = {
        "int8-dynamic (before)": (dynamic_dir, 0),
        "int8-dynamic, each text alone": (dynamic_dir, 1),
        "fp32": (fp32_dir, 0),
        # what lsp_server.embed exports for "int8" now
        "int8 per-token (shipped)": (embed.export_onnx(src, base / "int8-token", "int8"), 0),
    }
    nbits = [(32, 4, True), (128, 4, True), (32, 0, True)] if not quick else [(32, 4, True)]
    for block, level, fuse in nbits:
        model = to_matmul_nbits(onnx.load(str(fp32_graph)), block, level, fuse)
        name = f"int8 weights only (MatMulNBits b{block}, accuracy_level {level})"
        out[name] = (
            make_folder(base, f"nbits-{block}-{level}-{int(fuse)}", fp32_dir, model.SerializeToString(), "int8"),
            0,
        )
    for compute in (False, True) if not quick else (True,):
        model = to_fp16_weights(onnx.load(str(fp32_graph)), compute)
        name = "fp16 weights, fp16 MatMul" if compute else "fp16 weights, fp32 maths"
        out[name] = (make_folder(base, f"fp16-{int(compute)}", fp32_dir, model.SerializeToString(), "fp16"), 0)
    tokenizer, _ = embed._load_tokenizer(fp32_dir / "tokenizer.json", 256)
    for method in ("minmax", "percentile") if not quick else ("minmax",):
        started = time.perf_counter()
        folder = make_folder(base, f"static-{method}", fp32_dir, None, "int8")
        to_static_int8(fp32_graph, folder / "model.onnx", calibration, tokenizer, method)
        log.info("static %s calibration: %.1fs", method, time.perf_counter() - started)
        out[f"int8 static QDQ ({method}, {len(calibration)} texts)"] = (folder, 0)
    return out


# -- measurements ---------------------------------------------------------------------------------


def runtime_ops(folder: Path, scratch: Path) -> dict[str, int]:
    """Op types of the graph onnxruntime actually runs after its optimisations."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    target = scratch / f"{folder.name}.optimized.onnx"
    options.optimized_model_filepath = str(target)
    ort.InferenceSession(str(folder / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"])
    counts: dict[str, int] = {}
    reductions: set[str] = set()
    for node in onnx.load(str(target), load_external_data=False).graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
        if node.op_type.startswith("Reduce") or node.op_type in (
            "Softmax",
            "LayerNormalization",
            "SkipLayerNormalization",
        ):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            reductions.add(f"{node.op_type}(axes={attrs.get('axes', attrs.get('axis', 'default'))})")
    target.unlink()
    return dict(sorted(counts.items())), sorted(reductions)


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {
        "max_abs": float(np.abs(a - b).max()),
        "min_cosine": float(cos.min()),
        "bit_identical_rows": float((a == b).all(axis=1).mean()),
    }


def independence(model: embed.OnnxEmbedder, texts: list[str], seed: int) -> dict:
    encodings = model._tokenizer.encode_batch(texts)
    alone = np.stack([model._run_encoded([e])[0] for e in encodings])
    rng = np.random.default_rng(seed)
    result = {}
    worst = {"max_abs": 0.0, "min_cosine": 1.0, "bit_identical_rows": 1.0}
    for size in MIXED_BATCH_SIZES:
        order = rng.permutation(len(texts))
        mixed = np.empty_like(alone)
        for start in range(0, len(order), size):
            rows = order[start : start + size]
            if model.batch_size == 1:  # this candidate's embed() never batches: measure that path
                mixed[rows] = embed.OnnxEmbedder.embed(model, [texts[i] for i in rows])
            else:  # unsorted mixed lengths straight through the graph: the most padding
                mixed[rows] = model._run_encoded([encodings[i] for i in rows])
        result[f"mixed_{size}"] = compare(alone, mixed)
    result["embed_sorted"] = compare(alone, embed.OnnxEmbedder.embed(model, texts))
    for stats in result.values():
        worst["max_abs"] = max(worst["max_abs"], stats["max_abs"])
        worst["min_cosine"] = min(worst["min_cosine"], stats["min_cosine"])
        worst["bit_identical_rows"] = min(worst["bit_identical_rows"], stats["bit_identical_rows"])
    result["worst"] = worst
    return result, alone


class _with_batch:
    """The same loaded session with another batch size (no second session)."""

    def __init__(self, model: embed.OnnxEmbedder, batch_size: int) -> None:
        self.__dict__.update(model.__dict__)
        self.batch_size = batch_size
        self._run_encoded = model._run_encoded


def neighbour_overlap(vectors: np.ndarray, reference: np.ndarray, k: int = 10) -> float:
    def top(v):
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argsort(-sims, axis=1, kind="stable")[:, :k]

    a, b = top(vectors), top(reference)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--texts", type=int, default=200, help="texts for the independence check")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved throughput rounds")
    parser.add_argument("--chunks", type=int, default=4, help="chunks of 64 texts per throughput round")
    parser.add_argument("--calibration", type=int, default=128, help="calibration texts for static int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="one variant per family")
    parser.add_argument("--only", default="", help="comma-separated substrings of candidate names to keep")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    import onnxruntime as ort

    measured = symbol_texts(sorted((REPO_ROOT / "lsp_server").rglob("*.py")))
    calibration_pool = symbol_texts(
        sorted((REPO_ROOT / "rust").rglob("*.rs")) + sorted((REPO_ROOT / "tests").glob("*.py"))
    )
    calibration_pool = [t for t in calibration_pool if t not in set(measured)]
    calibration = spread(calibration_pool, args.calibration)
    probe = spread(measured, args.texts)
    throughput_texts = spread(measured, 64 * args.chunks)
    chunks = [throughput_texts[i : i + 64] for i in range(0, len(throughput_texts), 64)]
    log.info("%d measured texts, %d probes, %d calibration texts", len(measured), len(probe), len(calibration))

    report: dict = {
        "onnxruntime": ort.__version__,
        "threads": args.threads,
        "texts": {
            "measured": len(measured),
            "independence": len(probe),
            "throughput": len(throughput_texts),
            "calibration": len(calibration),
        },
        "candidates": {},
    }
    with tempfile.TemporaryDirectory(prefix="symscope-embed-det-") as tmp:
        base = Path(tmp)
        candidates = build_candidates(base, calibration, args.quick)
        if args.only:
            keep = [s.strip() for s in args.only.split(",") if s.strip()]
            candidates = {k: v for k, v in candidates.items() if k == "fp32" or any(s in k for s in keep)}
        models = {}
        for name, (folder, batch) in candidates.items():
            started = time.perf_counter()
            model = embed.OnnxEmbedder(folder, device="cpu", threads=args.threads, batch_size=batch or 16)
            models[name] = model
            report["candidates"][name] = {
                "graph_mb": round((folder / "model.onnx").stat().st_size / 1e6, 1),
                "load_s": round(time.perf_counter() - started, 2),
            }
            ops, reductions = runtime_ops(folder, base)
            report["candidates"][name]["runtime_ops"] = ops
            report["candidates"][name]["reductions"] = reductions
            report["candidates"][name]["whole_tensor_activation_quantisation"] = sorted(SUSPECT_OPS & ops.keys())

        reference = models["fp32"].embed(measured)
        reference_alone_probe = None
        for name, model in models.items():
            log.info("independence + agreement: %s", name)
            ind, alone = independence(model, probe, seed=7)
            if name == "fp32":
                reference_alone_probe = alone
            vectors = model.embed(measured)
            report["candidates"][name]["independence"] = ind
            cos = (vectors * reference).sum(axis=1)
            report["candidates"][name]["agreement_with_fp32"] = {
                "embed_min_cosine": float(cos.min()),
                "embed_mean_cosine": float(cos.mean()),
                "top10_neighbour_overlap": neighbour_overlap(vectors, reference),
                "_alone": alone,
            }
        for name in models:
            agreement = report["candidates"][name]["agreement_with_fp32"]
            alone = agreement.pop("_alone")
            cos = (alone * reference_alone_probe).sum(axis=1)
            agreement["alone_min_cosine"] = float(cos.min())
            agreement["alone_mean_cosine"] = float(cos.mean())

        for batch in (16, 1):
            times: dict[str, list[float]] = {name: [] for name in models}
            for model in models.values():  # warm-up
                model.embed(chunks[0][:16])
            for _ in range(args.rounds):
                for name, model in models.items():
                    runner = _with_batch(model, 1 if candidates[name][1] == 1 else batch)
                    started = time.perf_counter()
                    for chunk in chunks:
                        embed.OnnxEmbedder.embed(runner, chunk)
                    times[name].append(time.perf_counter() - started)
            for name, rounds in times.items():
                report["candidates"][name][f"texts_per_s_batch{batch}"] = round(
                    len(throughput_texts) / statistics.median(rounds), 1
                )
                report["candidates"][name][f"texts_per_s_batch{batch}_rounds"] = [
                    round(len(throughput_texts) / t, 1) for t in rounds
                ]
    report["load_average"] = os.getloadavg()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
