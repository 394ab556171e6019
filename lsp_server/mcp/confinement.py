"""Path confinement: every path an agent sends becomes a file the index knows inside a root, or a
refusal saying why.

Owns: reading a path argument (relative, absolute or a file:// URI; NUL bytes refused), the
realpath-inside-root check (`os.path.commonpath` over real paths, never a string prefix:
`/ws-evil` shares a prefix with `/ws`), the denylist of secrets and version-control internals,
the index's list of known files, and reading a confined file with the check repeated on what was
really opened.

Must never: serve bytes of a file outside its root (symlinks resolved), one the index does not
know (ignored, `.env`, `.git/`, not source), or one that stopped being what was checked between
the check and the read; or tell the agent more about a refused path than why it was refused.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from mcp.server.mcpserver.exceptions import ToolError

if TYPE_CHECKING:
    from lsp_server.index import Index

log = logging.getLogger(__name__)

KNOWN_FILES_MAX_AGE_S = 10.0

# Never served even if some index knew them: secrets and version-control internals.
_DENIED_COMPONENTS = frozenset({".git", ".hg", ".svn"})
_DENIED_NAME = re.compile(r"^\.env(\..*)?$|^\.netrc$|^\.npmrc$|^\.pypirc$", re.IGNORECASE)


class PathRefused(ToolError):
    """A path argument points outside the workspace, at an ignored file, or at nothing indexed."""


def refusal(raw: object, why: str) -> PathRefused:
    text = str(raw)
    shown = text if len(text) <= 200 else text[:200] + "…"
    return PathRefused(f"path {shown!r} refused: {why}")


def path_text(raw: object) -> str:
    """The file-system path an argument names (a file:// URI decoded), not yet resolved."""
    if not isinstance(raw, str) or not raw.strip():
        raise refusal(raw, "empty path")
    text = raw.strip()
    if "\x00" in text:
        raise refusal(raw, "contains a NUL byte")
    if text.lower().startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise refusal(raw, "file URIs must name a local file")
        text = unquote(parts.path)
        if "\x00" in text:
            raise refusal(raw, "contains a NUL byte")
    return text


def real_inside(candidate: str, root_real: str) -> str | None:
    """The real path of `candidate` (every symlink followed) when it lies inside `root_real`."""
    try:
        real = os.path.realpath(candidate)
        if os.path.commonpath([real, root_real]) == root_real:
            return real
    except (ValueError, OSError):
        pass
    return None


class Workspace:
    """One index's files, as an agent may see them.

    A path may be relative to the root, absolute, or a file:// URI. It is resolved with realpath
    (every symlink followed, `..` applied to the real directory) and must lie inside the root's
    real path. What remains must be a file the index knows: the scanner already left out gitignored
    files, unknown languages (`.env`) and `.git/`; a denylist repeats the last two for safety.
    """

    def __init__(self, root: str | os.PathLike[str], index: Index) -> None:
        self.root_real = os.path.realpath(root)
        self.index = index
        self._known: dict[str, tuple[int, int, str]] = {}
        self._known_key: tuple[int, float] | None = None
        self._known_lock = threading.Lock()

    def relative(self, raw: str) -> str:
        """The root-relative, forward-slash path of an indexed file; raises PathRefused."""
        text = path_text(raw)
        real = real_inside(text if os.path.isabs(text) else os.path.join(self.root_real, text), self.root_real)
        if real is None:
            raise refusal(raw, "outside the workspace root")
        return self.indexed(real, raw)

    def indexed(self, real: str, raw: str) -> str:
        """The root-relative path of `real` (already checked to lie inside the root) if the index
        knows that file and it is not denied; raises PathRefused."""
        rel = os.path.relpath(real, self.root_real).replace(os.sep, "/")
        if rel in (".", "") or rel.startswith("../"):
            raise refusal(raw, "not a file in the workspace")
        components = rel.split("/")
        if any(c in _DENIED_COMPONENTS for c in components) or _DENIED_NAME.match(components[-1]):
            raise refusal(raw, "ignored file (never served)")
        if rel not in self.known_files():
            raise refusal(raw, "not an indexed file (ignored, not source code, or not indexed yet; see index_status)")
        return rel

    def known_files(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, content_hash) of the index's files, reloaded when the index's
        generation moves (every file written or deleted) and at least every KNOWN_FILES_MAX_AGE_S
        (a file only touched keeps its generation but gets a new mtime)."""
        generation = self.index.generation()
        now = time.monotonic()
        with self._known_lock:
            if (
                self._known_key is None
                or self._known_key[0] != generation
                or now - self._known_key[1] > KNOWN_FILES_MAX_AGE_S
            ):
                self._known = self.index.store.known_files()
                self._known_key = (generation, now)
            return self._known

    def still_inside(self, rel: str) -> bool:
        """Whether an indexed path still resolves inside the root (by real path): an indexed file
        later replaced by a symlink pointing out of the workspace must not become a way to read
        (snippets of) what it points at."""
        if real_inside(os.path.join(self.root_real, *rel.split("/")), self.root_real) is not None:
            return True
        log.warning("left out %s: it now resolves outside the workspace", rel)
        return False

    def read_bytes(self, rel: str, max_bytes: int, within: str | None = None) -> bytes:
        """The bytes of an already-confined file, re-checking what was actually opened: a path
        component swapped for a symlink after the check must not redirect the read. `within`: a
        real folder inside the root the file must also lie in (a root nested in this one)."""
        full = os.path.join(self.root_real, *rel.split("/"))
        fence = within or self.root_real
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(full, flags)
        except OSError as exc:
            raise refusal(rel, f"cannot be opened ({exc.strerror or exc})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise refusal(rel, "not a regular file")
            opened = _opened_path(fd)
            if opened is not None:
                if os.path.commonpath([opened, fence]) != fence:
                    raise refusal(rel, "outside the workspace root")
            else:
                now = os.stat(full, follow_symlinks=False)
                if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                    raise refusal(rel, "changed while being read")
            if st.st_size > max_bytes:
                raise refusal(rel, f"larger than the {max_bytes}-byte limit")
            chunks = []
            remaining = max_bytes + 1
            while remaining > 0:
                chunk = os.read(fd, min(remaining, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)[:max_bytes]
        finally:
            os.close(fd)


def _opened_path(fd: int) -> str | None:
    """The real path of an open descriptor (Linux /proc), or None where that is unavailable."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
