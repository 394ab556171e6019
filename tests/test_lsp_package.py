"""The language server package's boundaries (ARCHITECTURE.md's invariants), read from the source:
only `lsp_server/lsp/` imports pygls / lsprotocol, its overlay imports neither (and loads without
them), and the package's `__init__` imports nothing, so using the overlay never loads pygls."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.lsp_support import REPO

PACKAGE = REPO / "lsp_server"
PROTOCOL_LIBRARIES = {"pygls", "lsprotocol"}


def _imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports (at any depth: lazy imports count)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_the_lsp_package_imports_pygls():
    lsp_dir = PACKAGE / "lsp"
    importers = sorted(
        str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if _imported_roots(p) & PROTOCOL_LIBRARIES
    )
    assert importers, "no module imports pygls: the scan is broken"
    outside = [p for p in importers if not (REPO / p).is_relative_to(lsp_dir)]
    assert outside == [], f"pygls/lsprotocol imported outside lsp_server/lsp/: {outside}"
    assert "lsp_server/lsp/overlay.py" not in importers
    assert _imported_roots(lsp_dir / "__init__.py") == set()


def test_every_module_of_the_package_opens_with_a_docstring():
    missing = [
        p.name for p in sorted((PACKAGE / "lsp").glob("*.py")) if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert missing == []


def test_the_overlay_loads_without_pygls():
    probe = "import sys, lsp_server.lsp.overlay; print(sorted(m for m in ('pygls', 'lsprotocol') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
