"""`symscope outline` / `languages` through the real console script, on hostile files: 100,000
levels of nesting, a 10 MB one-line minified bundle, a binary file and invalid UTF-8. Each must end
with exit code 0 and either symbols or a clear skip reason (never a crash or a hang)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

SYMSCOPE = [sys.executable, "-m", "lsp_server"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The timeout only guards against hangs; speed is measured by benchmarks/extract.py.
    return subprocess.run([*SYMSCOPE, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def outline(path: Path) -> dict:
    proc = run("outline", "--json", str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    depth = 100_000
    (d / "nested.js").write_text("function f(){\n" * depth + "}\n" * depth)
    (d / "nested.py").write_text("x = (\n" + "[\n" * depth + "]\n" * depth + ")\n")
    chunks, size, i = [], 0, 0
    while size < 10_000_000:
        chunk = f"function a{i}(b,c){{return b+c*{i}}};var v{i}=a{i}(1,2);"
        chunks.append(chunk)
        size += len(chunk)
        i += 1
    (d / "bundle.min.js").write_text("".join(chunks))
    rng = random.Random(7)
    (d / "blob.bin").write_bytes(bytes(rng.randrange(256) for _ in range(50_000)))
    (d / "latin1.py").write_bytes(
        b"def ok():\n    return '\xff\xfe'\n\nclass Caf\xe9:\n    def m(self):  # \xe2\x82\n        pass\n"
    )
    return d


@pytest.mark.parametrize("name", ["nested.js", "nested.py"])
def test_deep_nesting_is_skipped_with_a_reason(hostile: Path, name: str) -> None:
    record = outline(hostile / name)
    assert record["symbols"] == []
    assert record["skipped"].startswith("deeply nested")


def test_minified_bundle_is_skipped(hostile: Path) -> None:
    record = outline(hostile / "bundle.min.js")
    assert record["language"] == "javascript"
    assert record["skipped"].startswith("too large")
    # Raised size cap: the minified policy still applies.
    proc = run("outline", "--json", "--max-file-size", "20000000", str(hostile / "bundle.min.js"))
    assert json.loads(proc.stdout)["skipped"] == "minified"


def test_binary_is_skipped(hostile: Path) -> None:
    assert outline(hostile / "blob.bin")["skipped"] == "binary"


def test_invalid_utf8_keeps_symbols_and_lines(hostile: Path) -> None:
    record = outline(hostile / "latin1.py")
    names = [(s["name"], s["start_line"]) for s in record["symbols"]]
    assert names[0] == ("ok", 1)
    cls = record["symbols"][1]
    assert cls["start_line"] == 4 and cls["kind"] == "class"
    assert cls["children"][0]["name"] == "m" and cls["children"][0]["start_line"] == 5


def test_directory_outline_honours_gitignore(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("vendor/\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.py").write_text("def vendored(): pass\n")
    (tmp_path / "app.go").write_text("package app\n\nfunc Run() {}\n")
    (tmp_path / "notes.txt").write_text("not source\n")
    proc = run("outline", "--json", str(tmp_path))
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [os.path.basename(r["path"]) for r in records] == ["app.go"]
    assert records[0]["symbols"][0]["name"] == "Run"


def test_outline_text_tree_and_missing_file(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text("class A:\n    def f(self):\n        pass\n")
    proc = run("outline", str(src))
    assert proc.returncode == 0
    assert "class A" in proc.stdout and "    method f" in proc.stdout
    missing = run("outline", str(tmp_path / "nope.py"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_languages_json_lists_at_least_31() -> None:
    proc = run("languages", "--json")
    langs = json.loads(proc.stdout)
    assert len(langs) >= 31
    by_name = {lang["name"]: lang for lang in langs}
    for required in [
        "python",
        "javascript",
        "typescript",
        "tsx",
        "go",
        "rust",
        "java",
        "c",
        "cpp",
        "csharp",
        "ruby",
        "php",
        "kotlin",
        "swift",
        "scala",
        "bash",
        "lua",
        "haskell",
        "ocaml",
        "elixir",
        "julia",
        "r",
        "zig",
        "objc",
        "solidity",
        "hcl",
        "css",
        "markdown",
        "yaml",
        "toml",
    ]:
        assert required in by_name, required
    assert "dart" in by_name or "erlang" in by_name
    assert "method" in by_name["python"]["extracts"] or "function" in by_name["python"]["extracts"]


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("symscope ")


def test_shebang_script_is_outlined(tmp_path: Path) -> None:
    script = tmp_path / "deploy"
    script.write_text("#!/usr/bin/env bash\nrelease() {\n  echo hi\n}\n")
    record = outline(script)
    assert record["language"] == "bash"
    assert record["symbols"][0]["name"] == "release"


def test_transpiled_js_with_inline_source_map_is_not_minified(tmp_path: Path) -> None:
    # Readable transpiled code (superagent's lib/*.js) ends with a data-URL source map line of
    # tens of KB; the code is outlined, the map line does not make the file "minified".
    functions = "".join(f"function handler{i}(req, res) {{\n  return res.send(req.body);\n}}\n\n" for i in range(30))
    source_map = "//# sourceMappingURL=data:application/json;charset=utf-8;base64," + "eyJ2ZXJzaW9uIjozfQ" * 1700
    path = tmp_path / "request-base.js"
    path.write_text('"use strict";\n\n' + functions + source_map + "\n")
    record = outline(path)
    assert "skipped" not in record, record.get("skipped")
    assert [s["name"] for s in record["symbols"]] == [f"handler{i}" for i in range(30)]
