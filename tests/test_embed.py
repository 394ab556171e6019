"""Tests for lsp_server.embed: the real bundled model (exported once per session into a temp cache,
offline), its fp32 graph against an independent numpy BERT, int8 against fp32, batching (a vector
never depends on its batch: alone == batched, two builds rank alike), errors, and the hashing embedder."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from lsp_server import embed
from lsp_server.embed import (
    DeviceUnavailableError,
    Embedder,
    HashingEmbedder,
    ModelFolderError,
    OnnxEmbedder,
)

SYMBOL_TEXTS = [
    "function upload_with_retry(client, path, attempts): retry failed uploads with exponential backoff",
    "function parse_config(path) -> dict: read the TOML configuration file and return the settings",
    "class LruCache: least recently used cache with a fixed capacity",
    "method UserRepository.find_by_email(email) -> User | None: look a user up by e-mail address",
    "open the SQLite database in WAL mode with a busy timeout",
    "def mean(xs): return sum(xs) / len(xs)",
    "Der schnelle braune Fuchs springt über den faulen Hund.",
    "",
    "x",
    "watch the workspace for file changes and reindex modified files " * 3,
]


# -- fixtures: the real bundled model, exported once per session into a temp cache -----------------


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("model-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(embed.MODEL_CACHE_ENV, str(cache))
        mp.setenv("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub
        yield cache


@pytest.fixture(scope="session")
def int8_dir(model_cache: Path) -> Path:
    return embed.default_model_dir("int8")


@pytest.fixture(scope="session")
def fp32_dir(model_cache: Path) -> Path:
    return embed.default_model_dir("fp32")


@pytest.fixture(scope="module")
def int8_model(int8_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(int8_dir, device="cpu")


@pytest.fixture(scope="module")
def fp32_model(fp32_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(fp32_dir, device="cpu")


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# -- an independent numpy BERT forward pass (float64, one text at a time, no padding) -------------


def read_weights(path: Path) -> dict[str, np.ndarray]:
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    body = raw[8 + header_len :]
    out = {}
    for name, info in header.items():
        if name != "__metadata__" and info["dtype"] == "F32":
            begin, end = info["data_offsets"]
            out[name] = np.frombuffer(body[begin:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def reference_hidden(w: dict[str, np.ndarray], ids: list[int], heads: int = 12, layers: int = 6) -> np.ndarray:
    def layer_norm(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def linear(x, name):
        return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    erf = np.frompyfunc(math.erf, 1, 1)
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, "embeddings.LayerNorm")
    hidden = x.shape[1]
    d = hidden // heads
    for i in range(layers):
        p = f"encoder.layer.{i}"
        q, k, v = (
            linear(x, f"{p}.attention.self.{m}").reshape(n, heads, d).transpose(1, 0, 2)
            for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(linear(context, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        inner = linear(x, f"{p}.intermediate.dense")
        gelu = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)).astype(np.float64))
        x = layer_norm(linear(gelu, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
    return x


# -- the default model -----------------------------------------------------------------------------


def test_default_model_exports_offline_into_the_cache(int8_dir: Path, model_cache: Path, int8_model: OnnxEmbedder):
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert int8_dir.parent == model_cache
    assert int8_dir.name.startswith("all-MiniLM-L6-v2-int8-")
    for name in ("model.onnx", "tokenizer.json", "1_Pooling/config.json", "LICENSE", embed.MANIFEST_NAME):
        assert (int8_dir / name).is_file(), name
    assert not list(model_cache.glob(".tmp-*")), "temp export folders must not survive"
    assert isinstance(int8_model, Embedder)
    assert int8_model.dim == 384
    assert int8_model.device == "cpu"
    assert int8_model.pooling == "mean"
    name, precision, pooling, max_length, graph_hash = int8_model.model_id.split(":")
    assert (name, precision, pooling, max_length) == ("all-MiniLM-L6-v2", "int8-token", "mean", "256")
    assert len(graph_hash) == 12


def test_resolve_default_uses_the_cache_without_reexporting(int8_dir: Path, fp32_dir: Path):
    graph_mtime = (int8_dir / "model.onnx").stat().st_mtime_ns
    assert embed.resolve_model(None) == int8_dir
    assert embed.resolve_model("default") == int8_dir
    assert embed.resolve_model("default:fp32") == fp32_dir
    assert embed.load_embedder("default", device="cpu").model_dir == int8_dir
    assert (int8_dir / "model.onnx").stat().st_mtime_ns == graph_mtime


def test_default_is_fp32_where_cuda_will_run_it(int8_dir: Path, fp32_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(embed, "cuda_device_count", lambda: 1)
    assert embed.resolve_model(None, device="auto") == fp32_dir
    assert embed.resolve_model(None, device="cuda") == fp32_dir
    assert embed.resolve_model(None, device="cpu") == int8_dir


def test_the_gpu_build_without_a_gpu_keeps_the_cpu_graph(
    int8_dir: Path, fp32_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    # onnxruntime-gpu lists its CUDA provider on any machine; with no device the driver reports,
    # 'auto' must pick the CPU's int8 graph rather than an fp32 graph that CUDA would not run.
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(embed, "cuda_device_count", lambda: 0)
    assert embed.resolve_model(None, device="auto") == int8_dir
    assert embed._will_use_cuda("auto") is False


def test_cuda_requested_with_the_gpu_build_but_no_gpu_says_so(int8_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(embed, "cuda_device_count", lambda: 0)
    with pytest.raises(DeviceUnavailableError, match="reports no GPU"):
        OnnxEmbedder(int8_dir, device="cuda")


def test_cuda_device_count_matches_the_machine():
    # The driver probe never raises; where no NVIDIA device node exists it must report none.
    count = embed.cuda_device_count()
    if not Path("/dev/nvidiactl").exists():
        assert count == 0
    else:
        assert count >= 0


def test_a_bert_checkpoint_folder_is_exported_like_the_default(
    tmp_path: Path, model_cache: Path, int8_model: OnnxEmbedder
):
    checkpoint = tmp_path / "my-minilm"
    checkpoint.mkdir()
    source = embed.bundled_model_source()
    for name in ("model.safetensors", "config.json", "tokenizer.json", "1_Pooling"):
        (checkpoint / name).symlink_to(source / name)
    folder = embed.resolve_model(checkpoint)
    assert folder.parent == model_cache and folder.name.startswith("my-minilm-int8-")
    model = embed.load_embedder(checkpoint, device="cpu")
    assert model.model_id.startswith("my-minilm:int8-token:mean:256:")
    # Same weights, same recipe: the same graph, so the same vectors.
    assert model.model_id.rsplit(":", 1)[1] == int8_model.model_id.rsplit(":", 1)[1]
    np.testing.assert_array_equal(model.embed(SYMBOL_TEXTS[:3]), int8_model.embed(SYMBOL_TEXTS[:3]))


def test_vectors_are_unit_float32_in_input_order(int8_model: OnnxEmbedder):
    vectors = int8_model.embed(SYMBOL_TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(SYMBOL_TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = int8_model.embed_query(SYMBOL_TEXTS[0])
    assert query.shape == (384,) and query.dtype == np.float32


def test_similarities_are_sensible(int8_model: OnnxEmbedder):
    query = int8_model.embed_query("how do I retry a failed upload")
    upload, config, cache = int8_model.embed(SYMBOL_TEXTS[:3])
    assert query @ upload > query @ config + 0.1
    assert query @ upload > query @ cache + 0.1
    config_query = int8_model.embed_query("load settings from a config file")
    assert config_query @ config > config_query @ upload


def test_fp32_graph_matches_an_independent_numpy_bert(fp32_dir: Path, fp32_model: OnnxEmbedder):
    weights = read_weights(embed.bundled_model_source() / "model.safetensors")
    texts = ["def upload_with_retry(client, path): retry failed uploads", "parse config", "x"]
    encodings = fp32_model._tokenizer.encode_batch(texts)
    # One padded batch through the graph, so the attention mask is exercised too.
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(texts), width), np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encodings):
        ids[row, : len(e.ids)] = e.ids
        mask[row, : len(e.ids)] = 1
    (hidden,) = fp32_model._session.run(
        ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    )
    worst = 0.0
    for row, e in enumerate(encodings):
        expected = reference_hidden(weights, e.ids)
        worst = max(worst, float(np.abs(hidden[row, : len(e.ids)] - expected).max()))
        pooled = expected.mean(axis=0)
        np.testing.assert_allclose(fp32_model.embed_query(texts[row]), pooled / np.linalg.norm(pooled), atol=1e-5)
    assert worst < 1e-4, worst


def test_int8_stays_close_to_fp32(int8_model: OnnxEmbedder, fp32_model: OnnxEmbedder):
    assert int8_model.model_id != fp32_model.model_id
    realistic = [t for t in SYMBOL_TEXTS if len(t) > 20]
    cosines = cosine_rows(int8_model.embed(realistic), fp32_model.embed(realistic))
    assert cosines.min() >= 0.98 and cosines.mean() >= 0.99, cosines
    # Texts with almost no tokens are where int8 noise shows most; still the same direction.
    degenerate = ["", "x"]
    assert cosine_rows(int8_model.embed(degenerate), fp32_model.embed(degenerate)).min() >= 0.95


def test_length_sorted_batches_keep_input_order(fp32_dir: Path, int8_model: OnnxEmbedder):
    texts = [f"{'very ' * (i * 7 % 23)}long symbol number {i}" for i in range(13)]
    batched = OnnxEmbedder(fp32_dir, device="cpu", batch_size=4, threads=1).embed(texts)
    alone = OnnxEmbedder(fp32_dir, device="cpu", batch_size=1)
    np.testing.assert_array_equal(batched, np.stack([alone.embed_query(t) for t in texts]))
    mixed = [SYMBOL_TEXTS[i] for i in (9, 0, 7, 3, 1, 6, 4)]
    rows = OnnxEmbedder(int8_model.model_dir, device="cpu", batch_size=3).embed(mixed)
    np.testing.assert_array_equal(rows, np.stack([int8_model.embed_query(t) for t in mixed]))


# -- a vector is a function of its text and the model only ----------------------------------------

# Symbol-like texts of very different lengths (1 to ~120 tokens), so batches pad a lot.
VARIED_TEXTS = SYMBOL_TEXTS + [
    "method Index.update\ndef update(self, cancel=None) -> UpdateStats\nScan the workspace and refresh the "
    "index.\nuses: scanner store outbox vectors reconcile quarantine",
    "variable SEARCH_LIMIT_DEFAULT\nSEARCH_LIMIT_DEFAULT = 20",
    "function split_identifier\ndef split_identifier(name: str) -> list[str]\nuses: camel snake digits",
    "class Searcher\nHybrid search over one index: FTS5 bm25 plus vectors, fused by reciprocal rank.",
    "struct Tokenizer\npub struct Tokenizer { pos: usize }",
    "function getUserName(user)\nLook up the display name of a user record.\nuses: firstName lastName",
    "method Document.edit\n" + "apply an incremental edit to the tree and re-parse the changed range " * 8,
]


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_vectors_do_not_depend_on_their_batch(precision: str, int8_model: OnnxEmbedder, fp32_model: OnnxEmbedder):
    """Alone, in length-sorted batches of any size and in unsorted batches padded far beyond their
    length, a text gets the very same bits (queries are embedded alone, documents in batches)."""
    model = int8_model if precision == "int8" else fp32_model
    alone = np.stack([model.embed_query(text) for text in VARIED_TEXTS])
    order = np.random.default_rng(5).permutation(len(VARIED_TEXTS))
    shuffled = [VARIED_TEXTS[i] for i in order]
    for batch_size in (2, 5, 16):
        rows = OnnxEmbedder(model.model_dir, device="cpu", batch_size=batch_size).embed(shuffled)
        np.testing.assert_array_equal(rows, alone[order], err_msg=f"batch_size={batch_size}")
    # Straight through the graph, unsorted: short texts padded to the longest of the batch.
    encodings = model._tokenizer.encode_batch(shuffled)
    for start in range(0, len(order), 6):
        np.testing.assert_array_equal(model._run_encoded(encodings[start : start + 6]), alone[order[start : start + 6]])


def test_no_op_of_the_running_graph_mixes_the_rows_of_a_batch(int8_dir: Path, tmp_path: Path):
    """The graph onnxruntime really runs (after its own fusions) quantises activations per token:
    no per-tensor dynamic quantisation, every reduction over the last (hidden) axis only."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # not the warning that an optimised graph is hardware specific
    options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    ort.InferenceSession(str(int8_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"])
    nodes = list(onnx.load(str(tmp_path / "optimized.onnx")).graph.node)
    ops = {node.op_type for node in nodes}
    assert "MatMulInteger" in ops
    assert not ops & {"DynamicQuantizeLinear", "DynamicQuantizeMatMul", "QAttention", "MatMulIntegerToFloat"}, ops
    for node in nodes:
        if node.op_type.startswith("Reduce"):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            assert list(attrs.get("axes", [])) == [-1] and len(node.input) == 1, node


_MORE_FILES = {
    "pkg/cache.py": '''
        class LruCache:
            """Least recently used cache with a fixed capacity."""

            def get(self, key, default=None):
                return self._items.get(key, default)

            def put(self, key, value):
                self._items[key] = value
                if len(self._items) > self.capacity:
                    self.evict_oldest()

            def evict_oldest(self):
                self._items.pop(next(iter(self._items)))


        def hash_file(path, chunk_size=65536):
            """Content hash of a file, read in chunks so large files fit in memory."""
            with open(path, "rb") as fh:
                return fh.read(chunk_size)
        ''',
    "web/routes.js": """
        // Register the HTTP routes of the REST API.
        function registerRoutes(app) {
          app.get("/users/:id", fetchUser);
        }

        async function fetchUser(req, res) {
          res.json(await db.users.findById(req.params.id));
        }
        """,
}


def test_two_fresh_builds_of_one_corpus_rank_identically(tmp_path: Path, int8_dir: Path):
    """Two independent builds (fresh index folders, separately loaded models batching differently)
    store the same vectors and answer every question with the same ranking and scores."""
    from index_support import SAMPLE_FILES, make_workspace, open_index

    from lsp_server.search import Searcher

    root = make_workspace(tmp_path / "ws", {**SAMPLE_FILES, **_MORE_FILES})
    queries = [
        "read the settings file from disk",
        "retry a failed upload",
        "display name of a person",
        "split source text into lexical tokens",
        "drop the least recently used entry",
        "look a user up by id over http",
    ]
    builds = []
    for n, batch_size in enumerate((16, 3)):
        embedder = OnnxEmbedder(int8_dir, device="cpu", batch_size=batch_size)
        with open_index(root, tmp_path / f"index-{n}", embedder=embedder) as ix:
            stats = ix.update()
            assert stats.embedded == stats.symbols > 20 and not stats.errors
            searcher = Searcher(ix, embedder)
            rankings = {
                (query, mode): [
                    (r.path, r.qualified_name, r.score, r.raw_score) for r in searcher.search(query, 10, mode=mode)
                ]
                for query in queries
                for mode in ("hybrid", "vector")
            }
            vectors = {sid: (h, vec.tobytes()) for sid, (h, vec) in ix.vectors.vectors(embedder.model_id).items()}
            builds.append((vectors, rankings))
    (vectors_a, rankings_a), (vectors_b, rankings_b) = builds
    assert vectors_a == vectors_b
    assert all(rankings_a[key] for key in rankings_a)
    assert rankings_a == rankings_b


def test_empty_input_gives_an_empty_matrix(int8_model: OnnxEmbedder):
    vectors = int8_model.embed([])
    assert vectors.shape == (0, 384) and vectors.dtype == np.float32


def test_long_text_is_truncated_not_an_error(fp32_model: OnnxEmbedder):
    long_text = "retry the upload after a transient network failure " * 2000
    first, with_tail = fp32_model.embed([long_text, long_text + " completely different ending about cats"])
    # Everything after token 256 is cut, so the tail cannot change the vector.
    np.testing.assert_allclose(first, with_tail, atol=1e-6)


def test_undecodable_source_text_is_embedded_not_an_error(int8_model: OnnxEmbedder):
    # Source read with errors="surrogateescape" carries lone surrogates, which tokenizers rejects.
    vectors = int8_model.embed(["def f(): return '\udcff'", "plain"])
    assert vectors.shape == (2, 384) and np.isfinite(vectors).all()


def test_rejects_a_bare_string_and_non_strings(int8_model: OnnxEmbedder):
    with pytest.raises(TypeError, match="embed_query"):
        int8_model.embed("a string is not a list of texts")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        int8_model.embed(["ok", None])  # type: ignore[list-item]


def test_cls_pooling_is_read_from_the_model_folder(fp32_dir: Path, fp32_model: OnnxEmbedder, tmp_path: Path):
    for name in ("model.onnx", "tokenizer.json", "config.json"):
        (tmp_path / name).symlink_to(fp32_dir / name)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False})
    )
    cls_model = OnnxEmbedder(tmp_path, device="cpu")
    assert cls_model.pooling == "cls" and ":cls:" in cls_model.model_id
    assert cls_model.model_id != fp32_model.model_id
    text = "parse the configuration file"
    enc = fp32_model._tokenizer.encode(text)
    ids = np.array([enc.ids], np.int64)
    (hidden,) = fp32_model._session.run(
        ["last_hidden_state"],
        {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)},
    )
    np.testing.assert_allclose(cls_model.embed_query(text), hidden[0, 0] / np.linalg.norm(hidden[0, 0]), atol=1e-6)


def test_max_length_is_part_of_the_model_id(fp32_dir: Path, fp32_model: OnnxEmbedder):
    short = OnnxEmbedder(fp32_dir, device="cpu", max_length=128)
    assert short.model_id != fp32_model.model_id
    with pytest.raises(ValueError, match="max_position_embeddings"):
        OnnxEmbedder(fp32_dir, device="cpu", max_length=4096)


# -- the cache -------------------------------------------------------------------------------------


def test_exports_are_atomic_and_survive_crash_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(embed.MODEL_CACHE_ENV, str(tmp_path))
    # Two threads racing for the same export get the same complete folder.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: embed.default_model_dir("fp32"), range(2))
    assert first == second and embed._is_complete_export(first)
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == [first.name]
    # Simulate a crash mid-export (temp folder left behind) and a damaged final folder (no manifest).
    stale = tmp_path / f".tmp-{first.name}-crashed"
    stale.mkdir()
    (stale / "model.onnx").write_bytes(b"junk")
    (first / embed.MANIFEST_NAME).unlink()
    (first / "model.onnx").write_bytes(b"half a graph")
    rebuilt = embed.default_model_dir("fp32")
    assert rebuilt == first and embed._is_complete_export(rebuilt)
    assert not stale.exists()
    assert OnnxEmbedder(rebuilt, device="cpu").embed_query("hello").shape == (384,)


def test_export_and_embedding_write_nothing_to_stdout(tmp_path: Path):
    # stdout carries the LSP / MCP protocol; the quantiser and onnxruntime must not print there.
    script = (
        "import logging; logging.basicConfig(level=logging.DEBUG); from lsp_server import embed; "
        "embed.load_embedder(None, device='cpu').embed(['hello world'])"
    )
    env = {
        **os.environ,
        embed.MODEL_CACHE_ENV: str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert run.stdout == ""
    assert "exported all-MiniLM-L6-v2-int8-" in run.stderr


# -- bad input -------------------------------------------------------------------------------------


def test_bad_model_folders_get_errors_naming_what_is_missing(tmp_path: Path, fp32_dir: Path):
    with pytest.raises(ModelFolderError, match="neither 'default'"):
        embed.resolve_model(str(tmp_path / "does-not-exist"))
    with pytest.raises(ModelFolderError, match=r"neither an ONNX graph .* nor a BERT checkpoint"):
        embed.resolve_model(tmp_path)
    (tmp_path / "model.onnx").symlink_to(fp32_dir / "model.onnx")
    with pytest.raises(ModelFolderError, match="missing tokenizer.json"):
        embed.resolve_model(tmp_path)
    assert isinstance(ModelFolderError("x"), ValueError)


def test_ambiguous_pooling_config_is_refused(tmp_path: Path, fp32_dir: Path):
    for name in ("model.onnx", "tokenizer.json"):
        (tmp_path / name).symlink_to(fp32_dir / name)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(
        json.dumps({"pooling_mode_cls_token": True, "pooling_mode_max_tokens": True})
    )
    with pytest.raises(ModelFolderError, match="exactly one of cls / mean / max"):
        OnnxEmbedder(tmp_path, device="cpu")


def test_empty_folder_names_both_missing_files(tmp_path: Path):
    with pytest.raises(ModelFolderError, match=r"missing an ONNX graph \(\*\.onnx\) and tokenizer.json"):
        OnnxEmbedder(tmp_path, device="cpu")


def test_unsupported_checkpoints_are_refused_before_exporting(tmp_path: Path, model_cache: Path):
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "hidden_size": 8}))
    with pytest.raises(ModelFolderError, match="missing tokenizer.json"):
        embed.resolve_model(tmp_path)
    shutil.copyfile(embed.bundled_model_source() / "tokenizer.json", tmp_path / "tokenizer.json")
    with pytest.raises(ModelFolderError, match="model_type is 'gpt2'"):
        embed.resolve_model(tmp_path)


def test_corrupt_safetensors_is_a_clear_error(tmp_path: Path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ModelFolderError, match="not a safetensors file"):
        embed.read_safetensors(bad)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
    bad.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    with pytest.raises(ModelFolderError, match="do not match its shape"):
        embed.read_safetensors(bad)


def test_cuda_request_without_cuda_says_how_to_install_it(int8_dir: Path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(DeviceUnavailableError, match="onnxruntime-gpu"):
        OnnxEmbedder(int8_dir, device="cuda")
    assert OnnxEmbedder(int8_dir, device="auto").device == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        OnnxEmbedder(int8_dir, device="tpu")  # type: ignore[arg-type]


# -- HashingEmbedder -------------------------------------------------------------------------------


def test_hashing_embedder_is_deterministic_across_processes():
    texts = ["def uploadWithRetry(path)", "parse_config", "", "HTTPServerError 404"]
    model = HashingEmbedder(dim=64)
    vectors = model.embed(texts)
    np.testing.assert_array_equal(vectors, HashingEmbedder(dim=64).embed(texts))
    script = (
        "import json, sys; from lsp_server.embed import HashingEmbedder; "
        f"print(json.dumps(HashingEmbedder(dim=64).embed({texts!r}).tolist()))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    other = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    np.testing.assert_array_equal(vectors, np.array(json.loads(other.stdout), dtype=np.float32))


def test_hashing_embedder_is_a_real_bag_of_words():
    model = HashingEmbedder()
    assert isinstance(model, Embedder) and model.model_id == "hashing-256" and model.device == "cpu"
    vectors = model.embed(["uploadWithRetry(path)", "retry the upload", "parse_config(path)", ""])
    assert vectors.shape == (4, 256) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    code, query, other, _ = vectors
    assert code @ query > code @ other
    assert embed.hashing_features("HTTPServerError2 snake_case") == [
        "httpservererror2",
        "http",
        "server",
        "error",
        "2",
        "snake_case",
        "snake",
        "case",
    ]
    assert model.embed([]).shape == (0, 256)
    with pytest.raises(TypeError):
        model.embed("not a list")
