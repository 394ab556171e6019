"""Settings: defaults, the default index location, workspace files, environment and explicit values."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsp_server.config import INDEX_DIR_ENV, ConfigError, Settings, default_index_dir


def test_defaults_and_per_workspace_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv(INDEX_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    a, b = tmp_path / "proj", tmp_path / "other" / "proj"
    a.mkdir()
    b.mkdir(parents=True)
    s = Settings.load(a)
    assert s.device == "auto" and s.embed is True and s.excludes == [] and s.max_file_size == 2_000_000
    assert s.resolved_index_dir == default_index_dir(a)
    assert s.resolved_index_dir.parent == tmp_path / "cache" / "symscope" / "indexes"
    assert s.resolved_index_dir.name.startswith("proj-")
    assert default_index_dir(a) != default_index_dir(b)  # same folder name, different workspace


def test_env_and_explicit_index_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(INDEX_DIR_ENV, str(tmp_path / "from-env"))
    assert Settings.load(tmp_path).resolved_index_dir == tmp_path / "from-env"
    assert Settings.load(tmp_path, index_dir=tmp_path / "flag").resolved_index_dir == tmp_path / "flag"


def test_workspace_files_then_explicit_values(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.symscope]\nexcludes = ["vendor/**"]\nmax-file-size = 1000\ndevice = "cpu"\n'
    )
    (tmp_path / "symscope.toml").write_text('embed = false\nmodel = "models/mine"\n')
    s = Settings.load(tmp_path)
    assert s.excludes == ["vendor/**"] and s.max_file_size == 1000 and s.device == "cpu" and s.embed is False
    assert Path(s.model) == tmp_path / "models" / "mine"  # relative to the workspace
    s = Settings.load(tmp_path, device="cuda", embed=None)
    assert s.device == "cuda" and s.embed is False  # None means "not given"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense = 1\n", "unknown setting 'nonsense'"),
        ("max_file_size = 'big'\n", "max_file_size must be int"),
        ("embed = 'yes'\n", "embed must be bool"),
        ("excludes = [1, 2]\n", "excludes must be a list of strings"),
        ("device = 'tpu'\n", "device must be one of"),
        ("this is not toml", "not valid TOML"),
    ],
)
def test_bad_settings_are_named(tmp_path, text, message):
    (tmp_path / "symscope.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Settings.load(tmp_path)
