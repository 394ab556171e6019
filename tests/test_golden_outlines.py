"""Golden outlines: one small fixture source per language under tests/fixtures/languages/, its
expected outline and references under tests/golden/<fixture name>.json.

Regenerate after an intended change with `SYMSCOPE_UPDATE_GOLDEN=1 pytest tests/test_golden_outlines.py`
and review the diff: the golden files are the specification of what each language extracts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lsp_server import _native
from lsp_server.outline import outline_json, symbol_tree

FIXTURES = Path(__file__).parent / "fixtures" / "languages"
GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SYMSCOPE_UPDATE_GOLDEN") == "1"

fixture_files = sorted(p for p in FIXTURES.iterdir() if p.is_file())


def golden_record(path: Path) -> dict:
    result = _native.extract(path.name, path.read_bytes())
    symbols = result["symbols"]
    references = [
        f"{kind} {name} <- {symbols[origin]['qualified_name'] if origin is not None else '(top level)'}"
        for name, _target, kind, _line, _col, origin in result["references"]
    ]
    return {
        "language": result["language"],
        "has_error": result["has_error"],
        "qualified_names": [f"{s['kind']} {s['qualified_name']}" for s in symbols],
        "outline": outline_json(symbol_tree(symbols)),
        "references": references,
    }


@pytest.mark.parametrize("fixture", fixture_files, ids=[p.name for p in fixture_files])
def test_golden_outline(fixture: Path) -> None:
    record = golden_record(fixture)
    golden_path = GOLDEN / (fixture.name + ".json")
    if UPDATE:
        golden_path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden_path.exists(), f"no golden file for {fixture.name}; run with SYMSCOPE_UPDATE_GOLDEN=1 and review it"
    expected = json.loads(golden_path.read_text(encoding="utf-8"))
    assert record == expected


def test_every_language_has_a_golden_fixture() -> None:
    languages = {lang["name"] for lang in _native.languages()}
    covered = {_native.detect_language(p.name, p.read_bytes()[:8192]) for p in fixture_files}
    missing = sorted(languages - covered)
    assert not missing, f"languages without a golden fixture: {missing}"
    assert len(languages) >= 31


def test_every_fixture_yields_symbols_without_syntax_errors() -> None:
    for fixture in fixture_files:
        result = _native.extract(fixture.name, fixture.read_bytes())
        assert result["symbols"], f"{fixture.name}: no symbols"
        assert not result["has_error"], f"{fixture.name}: the fixture has syntax errors for its grammar"
