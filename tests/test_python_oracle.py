"""Oracle test on code nobody here wrote: every `.py` file of the running Python's standard library,
compared against Python's own `ast`.

Compared per definition: (name, kind, start line, parent), for classes, functions, methods and
nested functions. Kind follows `ast`: a function directly inside a class body is a method.
Decorator-line policy: a definition starts at its `def` / `class` line, as `ast`'s `lineno` does;
decorators are outside the range (they are shown by editors as part of the header, not the symbol).
Files that `ast` itself cannot parse (Python 2 test data, deliberate syntax errors) are excluded
and counted.
"""

from __future__ import annotations

import ast
import json
import sys
import sysconfig
import warnings
from pathlib import Path

from lsp_server import _native

THRESHOLD = 0.995
DEF_KINDS = {"class", "function", "method"}

Key = tuple[str, str, int, object]


def ast_definitions(tree: ast.AST) -> set[Key]:
    found: set[Key] = set()
    stack: list[tuple[ast.AST, object, bool]] = [(tree, None, False)]  # node, parent key, parent is class
    while stack:
        node, parent, in_class = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(child, ast.ClassDef):
                    kind = "class"
                else:
                    kind = "method" if in_class else "function"
                key = (child.name, kind, child.lineno, parent)
                found.add(key)
                stack.append((child, (child.name, child.lineno), isinstance(child, ast.ClassDef)))
            else:
                stack.append((child, parent, in_class and not isinstance(child, (ast.Lambda,))))
    return found


def native_definitions(result: dict) -> set[Key]:
    symbols = result["symbols"]
    found: set[Key] = set()
    for s in symbols:
        if s["kind"] not in DEF_KINDS:
            continue
        parent = s["parent"]
        while parent is not None and symbols[parent]["kind"] not in DEF_KINDS:
            parent = symbols[parent]["parent"]
        parent_key = None if parent is None else (symbols[parent]["name"], symbols[parent]["range"][0] + 1)
        found.add((s["name"], s["kind"], s["range"][0] + 1, parent_key))
    return found


def compare_stdlib() -> dict:
    root = Path(sysconfig.get_paths()["stdlib"])
    ours: dict[str, dict] = {}
    # site-packages holds third-party code, not the standard library.
    for batch in _native.Scanner(str(root), max_file_size=50_000_000, timeout_ms=30_000, excludes=["site-packages"]):
        for r in batch:
            if r["path"].endswith(".py"):
                ours[r["path"]] = r
    tp = fp = fn = 0
    files = excluded = 0
    worst: list[tuple[int, str]] = []
    examples: list[str] = []
    for rel, result in sorted(ours.items()):
        source = (root / rel).read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source, filename=rel)
        except (SyntaxError, ValueError):
            excluded += 1
            continue
        files += 1
        expected = ast_definitions(tree)
        got = native_definitions(result)
        hit = len(expected & got)
        tp += hit
        fp += len(got - expected)
        fn += len(expected - got)
        misses = len(expected ^ got)
        if misses:
            worst.append((misses, rel))
            if len(examples) < 20:
                examples.extend(f"{rel}: missing {k}" for k in sorted(expected - got, key=str)[:2])
                examples.extend(f"{rel}: extra {k}" for k in sorted(got - expected, key=str)[:2])
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "python": sys.version.split()[0],
        "files": files,
        "excluded_unparseable_by_ast": excluded,
        "definitions": tp + fn,
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "worst_files": [f for _, f in sorted(worst, reverse=True)[:10]],
        "examples": examples[:20],
    }


def test_stdlib_matches_ast() -> None:
    report = compare_stdlib()
    assert report["files"] > 500
    assert report["precision"] >= THRESHOLD, report
    assert report["recall"] >= THRESHOLD, report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(compare_stdlib(), indent=1) + "\n")
