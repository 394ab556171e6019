"""`symscope index / search / symbols / status` end to end, in-process (real index, HashingEmbedder)."""

from __future__ import annotations

import io
import json

import pytest
from index_support import make_workspace

from lsp_server.cli import main


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_index_then_second_run_embeds_nothing(ws, tmp_path, capsys):
    idx = str(tmp_path / "idx")
    code, out, _ = run(capsys, "index", str(ws), "--index-dir", idx, "--model", "hashing:32", "--json")
    assert code == 0
    first = json.loads(out)
    assert first["files"] == 4 and first["symbols"] > 10 and first["embedded"] == first["symbols"]
    assert first["model_id"] == "hashing-32" and first["device"] == "cpu"
    code, out, _ = run(capsys, "index", str(ws), "--index-dir", idx, "--model", "hashing:32", "--json")
    second = json.loads(out)
    assert (second["changed"], second["embedded"]) == (0, 0)
    code, out, _ = run(capsys, "index", str(ws), "--index-dir", idx, "--model", "hashing:32")
    assert code == 0 and "embedded   0" in out and "symbols" in out and "skipped" in out


def test_no_embed_then_status(ws, tmp_path, capsys):
    idx = str(tmp_path / "idx")
    code, out, _ = run(capsys, "index", str(ws), "--index-dir", idx, "--no-embed", "--json")
    stats = json.loads(out)
    assert code == 0 and stats["embedded"] == 0 and stats["pending"] == stats["symbols"]
    code, out, _ = run(capsys, "status", "--root", str(ws), "--index-dir", idx, "--json")
    status = json.loads(out)
    assert status["symbols"] == stats["symbols"] and status["pending"] == stats["symbols"]
    assert status["exists"] is True and status["index_bytes"] > 0
    code, out, _ = run(capsys, "status", "--root", str(ws), "--index-dir", idx)
    assert "symbols" in out and "pending" in out


def test_status_without_index(ws, tmp_path, capsys):
    code, out, err = run(capsys, "status", "--root", str(ws), "--index-dir", str(tmp_path / "none"), "--json")
    assert code == 0 and json.loads(out)["exists"] is False


def test_search_builds_missing_index_and_prints_json(ws, tmp_path, capsys):
    idx = str(tmp_path / "idx")
    code, out, err = run(
        capsys,
        "search",
        "retry upload",
        "--root",
        str(ws),
        "--index-dir",
        idx,
        "--model",
        "hashing:32",
        "--json",
        "--limit",
        "3",
    )
    assert code == 0 and "building it first" in err
    payload = json.loads(out)
    assert payload["query"] == "retry upload"
    top = payload["results"][0]
    assert top["qualified_name"] == "UploadClient.retry_upload" and top["path"] == "pkg/upload.py"
    assert {
        "path",
        "name",
        "qualified_name",
        "kind",
        "language",
        "start_line",
        "end_line",
        "score",
        "signature",
        "snippet",
        "why",
    } <= set(top)
    assert len(payload["results"]) <= 3


def test_stdin_queries_one_json_line_each(ws, tmp_path, capsys, monkeypatch):
    idx = str(tmp_path / "idx")
    run(capsys, "index", str(ws), "--index-dir", idx, "--model", "hashing:32", "--json")
    monkeypatch.setattr("sys.stdin", io.StringIO('load_config\n\n"; DROP TABLE symbols\nretry upload\n'))
    code, out, _ = run(capsys, "search", "-", "--root", str(ws), "--index-dir", idx, "--model", "hashing:32")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["query"] for line in lines] == [
        "load_config",
        "",
        '"; DROP TABLE symbols',
        "retry upload",
    ]
    assert lines[0]["results"][0]["name"] == "load_config"
    assert lines[1]["results"] == []
    monkeypatch.setattr("sys.stdin", io.StringIO("ldcfg\ngUN\n"))
    code, out, _ = run(capsys, "symbols", "-", "--root", str(ws), "--index-dir", idx, "--model", "hashing:32")
    names = [json.loads(line)["results"][0]["name"] for line in out.splitlines()]
    assert names == ["load_config", "getUserName"]


def test_symbols_human_output_and_filters(ws, tmp_path, capsys):
    idx = str(tmp_path / "idx")
    run(capsys, "index", str(ws), "--index-dir", idx, "--model", "hashing:32", "--json")
    code, out, _ = run(capsys, "symbols", "ldcfg", "--root", str(ws), "--index-dir", idx)
    assert code == 0 and out.startswith("pkg/config.py:") and "load_config" in out.splitlines()[0]
    code, out, err = run(capsys, "symbols", "ldcfg", "--root", str(ws), "--index-dir", idx, "--lang", "rust")
    assert code == 0 and out == "" and "no results" in err
    code, out, _ = run(
        capsys,
        "search",
        "token",
        "--root",
        str(ws),
        "--index-dir",
        idx,
        "--model",
        "hashing:32",
        "--kind",
        "method",
        "--json",
    )
    assert {r["kind"] for r in json.loads(out)["results"]} == {"method"}


def test_bad_arguments_are_clear_errors(ws, tmp_path, capsys):
    code, _, err = run(capsys, "index", str(tmp_path / "missing"), "--index-dir", str(tmp_path / "i"))
    assert code == 1 and "not a folder" in err
    code, _, err = run(capsys, "search", "x", "--root", str(ws), "--index-dir", str(tmp_path / "i"), "--limit", "0")
    assert code == 1 and "--limit" in err
    (ws / "symscope.toml").write_text("bogus_setting = 1\n")
    code, _, err = run(capsys, "index", str(ws), "--index-dir", str(tmp_path / "i"))
    assert code == 1 and "unknown setting 'bogus_setting'" in err


def test_an_unusable_device_is_a_clear_error(ws, tmp_path, capsys):
    # This machine class has no GPU: with either onnxruntime build, `--device cuda` must end with one
    # line saying why and how to proceed, exit status 1, and no traceback.
    code, out, err = run(capsys, "index", str(ws), "--index-dir", str(tmp_path / "i"), "--device", "cuda")
    assert code == 1 and out == ""
    assert "device 'cuda' requested" in err and "Traceback" not in err
