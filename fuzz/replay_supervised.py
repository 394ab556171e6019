"""Replays a fuzz campaign through the supervised path: every corpus input and every crash, timeout
and OOM artifact becomes a source file of its language in one workspace, which the real
`symscope index` (parsing in supervised workers, as the language server and MCP server do) then
indexes. The campaign passes when the index process never dies (exit 0) and every file is either
indexed or skipped with a stated reason; the JSON it prints counts files, symbols and parser
failures per language.

    python fuzz/replay_supervised.py --campaign /tmp/fuzz-campaign [--keep DIR]

The campaign folder is what `fuzz/run-all.sh` writes: `corpus/<language>/*`, `artifacts/<language>/*`.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lsp_server import _native  # noqa: E402


def file_name_for(language: str, stem: str) -> str:
    """A name our detection maps to `language` (its first extension, else its first file name)."""
    info = next(i for i in _native.languages() if i["name"] == language)
    if info["extensions"]:
        return f"{stem}.{info['extensions'][0]}"
    return f"{stem}-{info['filenames'][0]}"


def build_workspace(campaign: Path, root: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = collections.defaultdict(lambda: collections.Counter())
    for kind in ("corpus", "artifacts"):
        base = campaign / kind
        if not base.is_dir():
            continue
        for lang_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            language = lang_dir.name
            target = root / kind / language
            target.mkdir(parents=True, exist_ok=True)
            for i, item in enumerate(sorted(p for p in lang_dir.iterdir() if p.is_file())):
                name = file_name_for(language, f"{item.name[:40]}-{i}")
                (target / name).write_bytes(item.read_bytes())
                counts[language][kind] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--campaign", type=Path, required=True)
    parser.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "ws"
        root.mkdir(parents=True, exist_ok=True)
        inputs = build_workspace(args.campaign, root)
        started = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "lsp_server",
                "index",
                str(root),
                "--index-dir",
                str(Path(tmp) / "index"),
                "--no-embed",
                "--json",
            ],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        report: dict = {
            "campaign": str(args.campaign),
            "index_exit_status": proc.returncode,
            "index_seconds": round(seconds, 1),
            "inputs": {k: dict(v) for k, v in sorted(inputs.items())},
        }
        if proc.returncode != 0:
            report["stderr_tail"] = proc.stderr[-3000:]
            print(json.dumps(report, indent=1))
            return 1
        stats = json.loads(proc.stdout)
        failures: dict[str, list[str]] = collections.defaultdict(list)
        for line in stats["parser_failures"]:
            path, _, reason = line.partition(": ")
            failures[path.split("/")[1]].append(f"{path}: {reason}")
        report.update(
            files=stats["files"],
            symbols=stats["symbols"],
            skipped=stats["skipped"],
            errors=stats["errors"],
            parser_failures_listed=len(stats["parser_failures"]),
            parser_failures_by_language={k: v for k, v in sorted(failures.items())},
        )
        print(json.dumps(report, indent=1))
        expected = sum(sum(v.values()) for v in inputs.values())
        return 0 if stats["files"] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
