"""Tests for the evaluation harness's pure parts (no index, no model, no network): the corpus layout
rules per registry, the strict and lenient hit rules, the paired bootstrap, the covering corpus set and
the vetting messages of `benchmarks/search_quality.py`."""

from __future__ import annotations

import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import corpus  # noqa: E402
import search_quality as sq  # noqa: E402


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_go_zip_loses_its_module_version_prefix(tmp_path: Path):
    source = corpus.Source("go", "github.com/x/cli/v2", "2.0.1", "", label="x-cli-2.0.1")
    archive = _zip(
        tmp_path / "a.zip",
        {"github.com/x/cli/v2@v2.0.1/go.mod": b"m", "github.com/x/cli/v2@v2.0.1/internal/a.go": b"package a"},
    )
    target = tmp_path / source.folder
    corpus._unpack(archive, target, source)
    assert _tree(target) == ["go.mod", "internal/a.go"]


def test_go_zip_member_outside_the_prefix_is_refused(tmp_path: Path):
    source = corpus.Source("go", "github.com/x/y", "1.0.0", "", label="y-1.0.0")
    archive = _zip(tmp_path / "a.zip", {"github.com/x/y@v1.0.0/a.go": b"", "../evil.go": b""})
    with pytest.raises(corpus.CorpusError):
        corpus._unpack(archive, tmp_path / source.folder, source)
    assert not (tmp_path / "evil.go").exists()


def test_maven_jar_keeps_its_contents_and_drops_meta_inf(tmp_path: Path):
    source = corpus.Source("maven", "org.x:lib", "1.0", "", label="lib-1.0")
    archive = _zip(
        tmp_path / "lib-1.0-sources.jar",
        {"META-INF/MANIFEST.MF": b"x", "META-INF/LICENSE.txt": b"x", "org/x/Lib.java": b"class Lib {}"},
    )
    corpus._unpack(archive, tmp_path / source.folder, source)
    assert _tree(tmp_path / source.folder) == ["org/x/Lib.java"]


def test_tarball_top_folder_becomes_the_folder_and_drop_folders_go(tmp_path: Path):
    source = corpus.Source("npm", "ajv", "8.20.0", "", drop=("dist",))
    archive = _tgz(
        tmp_path / "ajv-8.20.0.tgz",
        {"package/lib/core.ts": b"export {}", "package/dist/core.js": b"", "package/package.json": b"{}"},
    )
    corpus._unpack(archive, tmp_path / source.folder, source)
    assert source.folder == "ajv-8.20.0"
    assert _tree(tmp_path / source.folder) == ["lib/core.ts", "package.json"]


def test_eval_set_holds_quality_and_pins_every_archive():
    folders = set(corpus.source_by_folder("eval"))
    assert set(corpus.source_by_folder("quality")) <= folders
    assert len(folders) == len(corpus.SETS["eval"]) == 19
    for source in corpus.SETS["eval"]:
        assert len(source.sha256) == 64, source
    assert sq.covering_set(["quality"]) == "quality"
    assert sq.covering_set(["quality", "eval"]) == "eval"


def test_strict_and_lenient_hit_rules():
    gold = sq.Gold("p/a.py", "C.m", ((10, 20),))
    assert sq.is_hit(sq.Hit("p/a.py", "C.m", 50, 60), gold, "strict")  # same name, moved
    assert sq.is_hit(sq.Hit("p/a.py", "D.m", 12, 14), gold, "strict")  # start within 2 lines
    holder = sq.Hit("p/a.py", "C", 5, 40)  # the class holding the gold method
    assert not sq.is_hit(holder, gold, "strict") and sq.is_hit(holder, gold, "lenient")
    assert not sq.is_hit(sq.Hit("p/a.py", "E", 21, 30), gold, "lenient")  # no overlap
    assert not sq.is_hit(sq.Hit("p/b.py", "C.m", 10, 20), gold, "lenient")  # other file
    ranked = [sq.Hit("p/b.py", "x", 1, 2), holder, sq.Hit("p/a.py", "C.m", 10, 20)]
    assert sq.first_hit_rank(ranked, [gold], "strict") == 3
    assert sq.first_hit_rank(ranked, [gold], "lenient") == 2


def test_paired_bootstrap_is_seeded_and_brackets_the_mean():
    a = [1, 2, None, 1, 3, None, 1, 1]
    b = [2, 2, None, None, 3, 1, None, 1]
    first = sq.paired_bootstrap(a, b, 500, seed=9)
    assert first == sq.paired_bootstrap(a, b, 500, seed=9)
    assert first["ci95"][0] <= first["diff"] <= first["ci95"][1]
    same = sq.paired_bootstrap(a, a, 200, seed=1)
    assert same["diff"] == 0 and same["ci95"] == [0.0, 0.0]


def _write(path: Path, queries: list[dict], set_name: str = "eval") -> Path:
    path.write_text(json.dumps({"description": "t", "corpus_set": set_name, "queries": queries}))
    return path


def test_vetting_names_the_file_and_the_id(tmp_path: Path):
    bad_package = {
        "id": "x-1",
        "package": "nope-1.0",
        "query": "q",
        "style": "semantic",
        "gold": [{"path": "a", "qualified_name": "b"}],
    }
    with pytest.raises(sq.EvalSetError, match=r"queries-x\.json: x-1 names package 'nope-1\.0'"):
        sq.load_eval_set(_write(tmp_path / "queries-x.json", [bad_package]))
    bad_kind = {
        "id": "s-1",
        "package": "anyhow-1.0.105",
        "query": "q",
        "kind": "fuzzy",
        "gold": [{"path": "a", "qualified_name": "b"}],
    }
    with pytest.raises(sq.EvalSetError, match=r"symbols-x\.json: s-1 has kind 'fuzzy'"):
        sq.load_symbol_set(_write(tmp_path / "symbols-x.json", [bad_kind]))
    one = {
        "id": "d-1",
        "package": "anyhow-1.0.105",
        "query": "q",
        "style": "hint",
        "gold": [{"path": "a", "qualified_name": "b"}],
    }
    files = [_write(tmp_path / "queries-a.json", [one]), _write(tmp_path / "queries-b.json", [one])]
    with pytest.raises(sq.EvalSetError, match=r"queries-b\.json: query id d-1 is also in queries-a\.json"):
        sq.load_all(files, [])


def test_vet_reports_missing_gold_and_name_words():
    q = {
        "id": "v-1",
        "file": "queries-v.json",
        "package": "pkg-1.0",
        "query": "flatten the nested mapping",
        "style": "semantic",
        "gold": [{"path": "a.py", "qualified_name": "flatten_dict"}, {"path": "a.py", "qualified_name": "gone"}],
    }

    class Sym:
        def __init__(self, path, qn, doc=None):
            self.path, self.qualified_name, self.doc = path, qn, doc

    syms = [Sym("pkg-1.0/a.py", "flatten_dict")]
    by_key = {("pkg-1.0/a.py", "flatten_dict"): syms}
    problems = sq.vet([q], [], by_key, syms)
    assert any(p.startswith("queries-v.json v-1: gold pkg-1.0/a.py :: gone is not in the index") for p in problems)
    assert any("queries-v.json v-1: semantic query uses 'flatten'" in p for p in problems)
