"""Helpers for the language-server tests: a small real workspace on disk and a pytest-lsp client
that records what the server sends (status notifications, progress, registrations).

Everything is real: the server runs as `python -m lsp_server lsp` in a subprocess over stdio, with
the Rust core, SQLite and LanceDB in temporary folders; only the embedder is the weightless
`HashingEmbedder` (initializationOptions {"model": "hashing"}), so indexing takes milliseconds.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

# One line holds astral-plane emoji before a declaration: UTF-16 columns (2 units each), UTF-8
# columns (4 bytes each) and code points (1 each) all differ there.
EMOJI_LINE = 'const wave = "👋🌍"; function afterEmoji(a) { return a; }'

WORKSPACE_FILES = {
    "pkg/__init__.py": "# the pkg package\n",
    "pkg/config.py": '''
        import json


        def load_config(path):
            """Read the settings file from disk and parse it into a dictionary."""
            with open(path) as fh:
                return json.load(fh)


        def save_config(path, data):
            with open(path, "w") as fh:
                json.dump(data, fh)


        class ConfigError(Exception):
            """Raised when the settings are invalid."""
        ''',
    "pkg/upload.py": '''
        from pkg.config import load_config


        class UploadClient:
            """Sends files to the storage server."""

            def retry_upload(self, data, attempts=3):
                """Send the data again after a network failure, a few times."""
                for _ in range(attempts):
                    if self.send_chunk(data):
                        return True
                return False

            def send_chunk(self, data):
                settings = load_config("upload.json")
                return bool(settings) and bool(data)
        ''',
    "web/user.js": """
        // Look up the display name of a user record.
        function getUserName(user) {
          return user.firstName + " " + user.lastName;
        }
        """,
    "web/emoji.js": EMOJI_LINE + "\nfunction second() {}\n",
}


def make_workspace(root: Path) -> Path:
    for rel, text in WORKSPACE_FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def server_command() -> list[str]:
    return [sys.executable, "-m", "lsp_server", "lsp"]


def server_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["HF_HUB_OFFLINE"] = "1"
    env["XDG_CACHE_HOME"] = str(home / "cache")  # nothing lands in the real user cache
    return env


def init_options(index_dir: Path, **extra: Any) -> dict[str, Any]:
    return {"model": "hashing", "indexDir": str(index_dir), **extra}


def utf16_col(line: str, substring: str) -> int:
    before = line[: line.index(substring)]
    return len(before.encode("utf-16-le")) // 2


def utf8_col(line: str, substring: str) -> int:
    return len(line[: line.index(substring)].encode("utf-8"))


class StatusRecorder:
    """Collects `symscope/statusChanged` notifications and waits for a state."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self._changed = asyncio.Event()

    def __call__(self, params: Any) -> None:
        self.events.append(_plain(params))
        self._changed.set()

    async def wait_for(self, predicate, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in reversed(self.events):
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching status in {timeout}s; saw {[e.get('state') for e in self.events]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass


async def request(client: Any, method: str, params: Any) -> Any:
    """A custom request, its result as plain dicts and lists."""
    return plain(await client.protocol.send_request_async(method, params))


def plain(obj: Any) -> Any:
    return _plain(obj)


def _plain(obj: Any) -> Any:
    """pygls hands custom notifications' params over as plain JSON or namedtuple-like objects."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_asdict"):
        return [_plain(v) for v in obj]
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    return obj
