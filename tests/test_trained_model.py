"""The trained model's way into symscope, without the `train` group: the fp16 safetensors that
training/export.py writes read back exactly, a model setting naming `symscope-code-minilm` selects
the installed checkpoint with its own model_id (never all-MiniLM-L6-v2's), and a workspace file's
named model is not taken for a path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lsp_server import embed
from lsp_server.config import Settings
from lsp_server.embed import ModelFolderError
from training.export import write_safetensors


def test_fp16_safetensors_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((3, 5)).astype(np.float16), "pos": np.arange(4, dtype=np.int64)[None]}
    write_safetensors(tmp_path / "m.safetensors", tensors, {"format": "pt"})
    back = embed.read_safetensors(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back["a.weight"], tensors["a.weight"])
    np.testing.assert_array_equal(back["pos"], tensors["pos"])


def test_a_trained_model_is_selected_by_name_with_its_own_model_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(embed.MODEL_CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(embed.TRAINED_MODELS_ENV, str(tmp_path / "trained"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelFolderError, match="python -m training"):
        embed.resolve_model("symscope-code-minilm")
    folder = tmp_path / "trained" / "symscope-code-minilm"
    folder.mkdir(parents=True)
    source = embed.bundled_model_source()
    for name in ("model.safetensors", "config.json", "tokenizer.json", "1_Pooling"):
        (folder / name).symlink_to(source / name)
    resolved = embed.resolve_model("symscope-code-minilm:int8")
    assert resolved.name.startswith("symscope-code-minilm-int8-")
    model = embed.OnnxEmbedder(resolved, device="cpu")
    assert model.model_id.startswith("symscope-code-minilm:int8-token:mean:256:")
    with pytest.raises(ModelFolderError, match="neither 'default'"):
        embed.resolve_model("symscope-code-minilm:int4")


def test_named_model_in_a_workspace_file_is_not_a_path(tmp_path: Path) -> None:
    (tmp_path / "symscope.toml").write_text('model = "symscope-code-minilm"\n')
    assert Settings.load(tmp_path).model == "symscope-code-minilm"
    (tmp_path / "symscope.toml").write_text('model = "models/mine"\n')
    assert Settings.load(tmp_path).model == str((tmp_path / "models" / "mine").resolve())
