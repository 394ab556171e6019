"""An index is private to its owner: every folder 0700, every file 0600 (SQLite, LanceDB, the
lock, quarantine), new indexes and old ones alike, and symlinks inside are never followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from index_support import make_workspace, open_index, write_files

from lsp_server.config import INDEX_DIR_ENV, Settings
from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index


@pytest.fixture(autouse=True)
def loose_umask():
    """Start every test from the common 022 umask (so only the index can make things private) and
    give the rest of the session back the umask it had."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def modes_below(top: Path) -> dict[str, int]:
    """Every entry under `top` (itself included), not following symlinks: relative path -> mode."""
    found = {".": mode(top)}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(top))] = mode(path)
    return found


def assert_private(top: Path, *, skip: tuple[str, ...] = ()) -> None:
    loose = {}
    for rel, m in modes_below(top).items():
        if rel in skip:
            continue
        path = top / rel
        want = 0o700 if path.is_dir() and not path.is_symlink() else 0o600
        if m != want:
            loose[rel] = oct(m)
    assert not loose, f"entries not private under {top}: {loose}"


def test_new_index_with_vectors_is_private(ws, tmp_path):
    idx_dir = tmp_path / "idx"
    with open_index(ws, idx_dir) as index:
        stats = index.update()
        assert stats.symbols > 0 and index.status().vectors == stats.symbols  # real LanceDB rows
        names = set(modes_below(idx_dir))
        assert {"index.db", "write.lock", "lance"} <= names
        assert any(n.endswith(".lance") for n in names)
        assert any(n.endswith("-wal") for n in names)
        assert_private(idx_dir)
        # Lance writes new files on every commit: they are private too.
        write_files(ws, {"pkg/extra.py": "def brand_new_function():\n    return 1\n"})
        before = set(modes_below(idx_dir))
        index.update()
        assert len(set(modes_below(idx_dir)) - before) > 0
        assert_private(idx_dir)
    assert_private(idx_dir)


def test_missing_parents_of_a_chosen_index_dir_are_private_but_existing_ones_untouched(ws, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    idx_dir = shared / "a" / "b" / "idx"
    with open_index(ws, idx_dir, embedder=None):
        pass
    assert mode(shared) == 0o755  # the user's own folder: not ours to change
    assert mode(shared / "a") == 0o700 and mode(shared / "a" / "b") == 0o700
    assert_private(idx_dir)


def test_default_location_under_the_user_cache_is_private(ws, tmp_path, monkeypatch):
    cache = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv(INDEX_DIR_ENV, raising=False)
    (cache / "symscope").mkdir(parents=True)
    os.chmod(cache / "symscope", 0o755)  # made by an older symscope
    settings = Settings(root=ws)
    idx_dir = settings.resolved_index_dir
    assert idx_dir.is_relative_to(cache / "symscope" / "indexes")
    with Index.open(settings, embedder=HashingEmbedder(16)) as index:
        index.update()
    assert mode(cache / "symscope") == 0o700
    assert mode(cache / "symscope" / "indexes") == 0o700
    assert_private(idx_dir)


def test_existing_world_readable_index_is_tightened_on_open(ws, tmp_path):
    idx_dir = tmp_path / "idx"
    with open_index(ws, idx_dir) as index:
        index.update()
    (idx_dir / "quarantine" / "old").mkdir(parents=True)
    (idx_dir / "quarantine" / "old" / "index.db").write_bytes(b"old copy of the code")
    for dirpath, dirnames, filenames in os.walk(idx_dir):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(Path(dirpath) / name, 0o644)
    assert mode(idx_dir / "index.db") == 0o644
    with open_index(ws, idx_dir) as index:
        assert index.is_writer
        assert_private(idx_dir)
        assert index.status().symbols > 0  # still a working index


def test_reader_taking_over_tightens(ws, tmp_path):
    idx_dir = tmp_path / "idx"
    writer = open_index(ws, idx_dir)
    writer.update()
    reader = open_index(ws, idx_dir)  # a second flock in this process: not the writer
    try:
        assert writer.is_writer and not reader.is_writer
        os.chmod(idx_dir, 0o755)
        os.chmod(idx_dir / "index.db", 0o644)
        writer.close()
        assert reader.take_over()
        assert mode(idx_dir) == 0o700 and mode(idx_dir / "index.db") == 0o600
    finally:
        writer.close()
        reader.close()


def test_symlinks_inside_the_index_are_not_followed(ws, tmp_path):
    idx_dir = tmp_path / "idx"
    with open_index(ws, idx_dir, embedder=None):
        pass
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the index's")
    os.chmod(outside, 0o755)
    os.chmod(outside / "secret.txt", 0o644)
    (idx_dir / "link-to-dir").symlink_to(outside, target_is_directory=True)
    (idx_dir / "link-to-file").symlink_to(outside / "secret.txt")
    (idx_dir / "dangling").symlink_to(tmp_path / "does-not-exist")
    os.chmod(idx_dir, 0o755)
    with open_index(ws, idx_dir, embedder=None) as index:
        assert index.is_writer
    assert mode(outside) == 0o755
    assert mode(outside / "secret.txt") == 0o644
    assert (idx_dir / "link-to-dir").is_symlink() and (idx_dir / "link-to-file").is_symlink()
    assert_private(idx_dir, skip=("link-to-dir", "link-to-file", "dangling"))


def test_a_symlinked_index_dir_inside_the_cache_parent_is_not_followed_for_parents(ws, tmp_path, monkeypatch):
    """The cache folders are tightened only when they are real folders, never through a link."""
    cache = tmp_path / "xdg-cache"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o755)
    cache.mkdir()
    (cache / "symscope").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv(INDEX_DIR_ENV, raising=False)
    with Index.open(Settings(root=ws), embedder=None):
        pass
    assert mode(elsewhere) == 0o755  # a link the user made: the target is theirs
