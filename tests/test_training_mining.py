"""The training pipeline's mining stage on a tiny fixture (no `train` group, no network, CPU only).

Checks that a pair's doc is cut out of its code, that the split is by whole package, that tests and
generated files are not mined, and that the committed data manifest lists only packages of the
training list (read from the copy committed as training/training_list.md, not from shared/).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from training import mine as mining
from training.packages import PINS, VALIDATION, Pin, check_pins, training_list

ROOT = Path(__file__).resolve().parent.parent

PY_SOURCE = '''
def retry_upload(path, attempts=3):
    """Upload a file again until the server accepts it or attempts run out.

    Args:
        path: the file.
    """
    for _ in range(attempts):
        if send(path):
            return True
    return False


class Ledger:
    """A running balance of credits and debits per account."""

    def post_entry(self, account, amount):
        self.balances[account] = self.balances.get(account, 0) + amount
        return self.balances[account]
'''

GO_SOURCE = """package money

// ParseAmount reads a decimal amount of money from a string.
func ParseAmount(s string) (int64, error) {
\tvalue, err := strconv.ParseFloat(s, 64)
\treturn int64(value * 100), err
}
"""


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_mining_removes_docs_skips_tests_and_splits_by_package(tmp_path: Path) -> None:
    train_pkg = _package(
        tmp_path / "a",
        {"pkg/upload.py": PY_SOURCE, "tests/test_upload.py": PY_SOURCE.replace("retry_upload", "other_upload"),
         "dist/bundle.py": PY_SOURCE.replace("Ledger", "Bundled")},
    )  # fmt: skip
    val_name = sorted(VALIDATION)[0]
    val_pkg = _package(tmp_path / "b", {"money/parse.go": GO_SOURCE})
    stats = mining.mine(
        [("pypi:fixture-train", train_pkg), (val_name, val_pkg)], tmp_path / "pairs", tmp_path / "stats.json"
    )
    train = mining.read_pairs(tmp_path / "pairs" / "train.jsonl")
    validation = mining.read_pairs(tmp_path / "pairs" / "validation.jsonl")

    docs = {p["query"]: p for p in train if p["signal"] == "doc"}
    assert set(docs) == {
        "Upload a file again until the server accepts it or attempts run out.",
        "A running balance of credits and debits per account.",
    }
    upload = docs["Upload a file again until the server accepts it or attempts run out."]
    assert upload["code"].startswith("def retry_upload(path, attempts=3):\n")
    assert "Upload a file" not in upload["code"] and '"""' not in upload["code"]
    assert "for _ in range(attempts):" in upload["code"]
    assert upload["header"] == "function retry_upload"
    assert {p["path"] for p in train} == {"pkg/upload.py"}  # tests/ and dist/ are not mined
    assert any(p["signal"] == "name" and p["query"] == "retry upload" for p in train)

    assert {p["package"] for p in validation} == {val_name}
    assert {p["package"] for p in train} == {"pypi:fixture-train"}
    (go_doc,) = [p for p in validation if p["signal"] == "doc"]
    assert go_doc["query"] == "ParseAmount reads a decimal amount of money from a string."
    assert "//" not in go_doc["code"] and go_doc["code"].startswith("func ParseAmount")
    assert stats["validation_packages"] == [val_name]
    assert stats["by_package"]["pypi:fixture-train"]["doc"] == 2
    assert json.loads((tmp_path / "stats.json").read_text())["pairs"] == stats["pairs"]


def test_short_and_boilerplate_docs_are_dropped() -> None:
    assert mining.summary("Returns x.") is None
    assert mining.summary("TODO: make this faster and better") is None
    assert mining.summary("Parse the header.\n\n:param s: text\n") is None  # under 4 words
    assert mining.summary("Parse one header line into a pair.\n:param s: text") == "Parse one header line into a pair."
    assert mining.summary("Resolve the {@link Path} of the file we read.") == "Resolve the Path of the file we read."


def test_dedupe_drops_repeated_code_and_boilerplate_queries() -> None:
    def pair(query: str, code: str) -> mining.Pair:
        return mining.Pair(query, code, "function f", "doc", "python", "pypi:x", "x.py", "train")

    same = [pair("Open the file for reading now.", "def f():\n    pass")] * 2
    shared = [pair("Same words for every symbol here.", f"def f{i}():\n    pass") for i in range(5)]
    assert len(mining.dedupe(same)) == 1
    assert mining.dedupe(shared) == []


def test_manifest_lists_only_training_list_packages() -> None:
    listed = training_list(ROOT / "training" / "training_list.md")
    assert len(listed["pypi"]) > 40 and "django" in listed["pypi"] and "com.google.guava:guava" in listed["maven"]
    evaluation = {"tomlkit", "structlog", "koa", "ajv", "clap", "walkdir", "org.jsoup:jsoup", "github.com/gorilla/mux"}
    assert not evaluation & set().union(*listed.values())
    check_pins(PINS, listed)
    manifest = json.loads((ROOT / "training" / "data" / "manifest.json").read_text())["packages"]
    assert manifest, "the committed manifest is empty"
    for row in manifest:
        assert row["name"] in listed[row["registry"]], row
        if row["kept"]:
            assert len(row["sha256"]) == 64 and row["licence"]
    kept = [r for r in manifest if r["kept"]]
    assert len(kept) >= 40 and len({r["registry"] for r in kept}) >= 4
    with pytest.raises(ValueError, match="not on the training list"):
        check_pins((Pin("pypi", "tomlkit", "0.13.2"),), listed)
