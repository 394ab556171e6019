"""Several workspace roots served by one process: which root serves which, and which index
directory each root with an index of its own gets.

The one home of these rules: the language server's workspace folders (`lsp/folders.py`,
`lsp/settings.py`) and `symscope mcp --root ...` both use them, so a root's index is the same
whichever front end opened it: a root inside another one is not indexed twice (the outer
root's index holds its files; it is served from there); an explicit index directory (a flag,
`SYMSCOPE_INDEX_DIR`, a workspace file) belongs to the first root, and every other root that would
share it gets `<that dir>/folders/<name>-<hash of its real path>`; default index directories are
keyed by each root's real path already.

Must never: open an index or create a folder (it only plans), or import a front end's protocol.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsp_server.config import Settings, default_index_dir


@dataclass
class PlannedFolder:
    root: str  # real path
    settings: Settings | None  # None for a nested root (served by another root's index)
    served_by: int | None = None  # position of the outer root whose index holds this one's files


def inside(path: str, root: str) -> bool:
    """Whether `path` lies strictly inside `root` (both real paths)."""
    return path != root and os.path.commonpath([path, root]) == root


def outermost_container(real: str, roots: Sequence[str]) -> int | None:
    """Position in `roots` of the outermost root strictly holding `real` (its index serves it), or None."""
    outer = [n for n, other in enumerate(roots) if inside(real, other)]
    return min(outer, key=lambda n: len(Path(roots[n]).parts)) if outer else None


def with_own_index_dir(
    settings: Settings, *, primary: bool, primary_dir: Path | None, taken: Collection[Path]
) -> Settings:
    """`settings`, or a copy with `<dir>/folders/<name>-<hash>` when its index directory is the
    primary root's (and this root is not the primary) or already serves another root."""
    wanted = settings.resolved_index_dir
    if not primary and (wanted == primary_dir or wanted in taken):
        return dataclasses.replace(settings, index_dir=wanted / "folders" / default_index_dir(settings.root).name)
    return settings


def plan_folders(real_roots: list[str], load: Callable[[str], Settings]) -> list[PlannedFolder]:
    """Each distinct root in order, with its settings (index directory made distinct) or the
    position of the outermost root holding it."""
    roots: list[str] = []
    for real in real_roots:
        if real not in roots:
            roots.append(real)
    planned = [PlannedFolder(root=real, settings=None, served_by=outermost_container(real, roots)) for real in roots]
    primary_dir = load(roots[0]).resolved_index_dir
    taken: set[Path] = set()
    for n, folder in enumerate(planned):
        if folder.served_by is not None:
            continue
        settings = with_own_index_dir(load(folder.root), primary=n == 0, primary_dir=primary_dir, taken=taken)
        taken.add(settings.resolved_index_dir)
        folder.settings = settings
    return planned
