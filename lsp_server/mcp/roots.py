"""The roots one MCP server serves, and the path convention that names their files.

Owns: `Root` (a root with its own index, searcher, confinement and, when a session keeps it fresh,
that session), `NestedRoot` (a root inside another one, served from the outer root's index, as the
language server does), their unique names, and `RootSet`: turning an agent's path argument into
(root, path inside its index) and an indexed path back into what the agent sees.

The convention: with one root, paths are relative to it (nothing changed). With several, every
path in answers and arguments is `<root name>/<path inside that root>`; the name is the root
folder's own name, made unique with `-2`, `-3`, ... An absolute path (or file:// URI) inside a
root is accepted too. A path named through a root must stay inside that root by real path, even
when it would land in another root. A path glob (the `path` filter of the search tools) that
starts with a root name searches that root only; any other glob applies inside every root.

Must never: accept a path that is not inside the root it names (or, absolute, inside any root),
or serve through a root anything its index's own confinement (`Workspace`) refuses.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lsp_server.mcp.confinement import Workspace, path_text, real_inside, refusal

if TYPE_CHECKING:
    from lsp_server.index import Index
    from lsp_server.search import Searcher
    from lsp_server.session import WorkspaceSession

_UNSAFE_NAME = re.compile(r"[\x00-\x1f/\\]+")


@dataclass
class Root:
    """A root with an index of its own."""

    name: str
    index: Index
    searcher: Searcher
    workspace: Workspace
    max_file_size: int
    session: WorkspaceSession | None = None

    @property
    def root_real(self) -> str:
        return self.workspace.root_real

    def indexing(self) -> bool:
        session = self.session
        return session is not None and session.state in ("starting", "indexing")

    def search_mode(self) -> str:
        embedder = self.searcher.embedder
        if embedder is None:
            return "lexical (no embedding model loaded)"
        if not self.index.vectors_ready(embedder.model_id):
            return "lexical (vectors not computed yet)"
        return "hybrid"


@dataclass
class NestedRoot:
    """A root inside another root: the outer root's index holds its files."""

    name: str
    root_real: str
    served_by: Root
    prefix: str = field(init=False)  # where it lies inside served_by, forward slashes

    def __post_init__(self) -> None:
        self.prefix = os.path.relpath(self.root_real, self.served_by.root_real).replace(os.sep, "/")


@dataclass
class ResolvedPath:
    root: Root  # whose index holds the file
    rel: str  # the file's path in that index
    within: str  # the real folder the argument was confined to (a nested root's, or the root's)


def unique_names(real_paths: list[str]) -> list[str]:
    """Each root's name: its folder's own name, `-2`, `-3`, ... when taken already."""
    names: list[str] = []
    for real in real_paths:
        base = _UNSAFE_NAME.sub("_", os.path.basename(real.rstrip(os.sep))) or "root"
        if base in (".", ".."):
            base = "root"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


class RootSet:
    """The served roots in the order they were given; see the module docstring for the paths."""

    def __init__(self, roots: list[Root], nested: list[NestedRoot] | None = None, order: list[str] | None = None):
        if not roots:
            raise ValueError("at least one root with an index is needed")
        self.roots = roots
        self.nested = list(nested or [])
        entries: list[Root | NestedRoot] = [*roots, *self.nested]
        self.by_name: dict[str, Root | NestedRoot] = {e.name: e for e in entries}
        if len(self.by_name) != len(entries):
            raise ValueError("root names must be unique")
        self.order = [self.by_name[n] for n in order] if order else entries
        self.several = len(entries) > 1

    @property
    def first(self) -> Root:
        return self.roots[0]

    # -- paths --------------------------------------------------------------------------------

    def display(self, root: Root, rel: str) -> str:
        """An indexed path as the agent sees it."""
        return f"{root.name}/{rel}" if self.several else rel

    def resolve(self, raw: str) -> ResolvedPath:
        """An agent's path argument -> the indexed file it names; raises PathRefused."""
        if not self.several:
            root = self.first
            return ResolvedPath(root, root.workspace.relative(raw), root.root_real)
        text = path_text(raw)
        if os.path.isabs(text):
            for root in self.roots:
                real = real_inside(text, root.root_real)
                if real is not None:
                    return ResolvedPath(root, root.workspace.indexed(real, raw), root.root_real)
            raise refusal(raw, "outside the workspace roots")
        name, _, rest = text.partition("/")
        entry = self.by_name.get(name)
        if entry is None:
            names = ", ".join(self.by_name)
            raise refusal(
                raw, f"outside the workspace roots: with several roots a path starts with a root name ({names})"
            )
        real = real_inside(os.path.join(entry.root_real, rest), entry.root_real)
        if real is None:
            raise refusal(raw, f"outside the workspace root {name!r}")
        host = entry if isinstance(entry, Root) else entry.served_by
        return ResolvedPath(host, host.workspace.indexed(real, raw), entry.root_real)

    def display_failure(self, root: Root, failure: str) -> str:
        """A `path: reason` line of an index, its path as the agent sees it."""
        return f"{root.name}/{failure}" if self.several else failure

    def glob_targets(self, glob: str | None) -> list[tuple[Root, str | None]]:
        """(root, glob inside it) for a search's path filter."""
        if not glob or not self.several:
            return [(root, glob) for root in self.roots]
        name, _, rest = glob.partition("/")
        entry = self.by_name.get(name)
        if entry is None:
            return [(root, glob) for root in self.roots]
        rest = rest.strip("/")
        if isinstance(entry, Root):
            return [(entry, rest or None)]
        if not rest:
            return [(entry.served_by, f"{entry.prefix}/**")]
        if "/" in rest or rest.startswith("**"):
            return [(entry.served_by, f"{entry.prefix}/{rest}")]
        return [(entry.served_by, f"{entry.prefix}/**/{rest}")]  # a bare name matches at any depth

    # -- state ----------------------------------------------------------------------------------

    def indexing(self) -> bool:
        return any(root.indexing() for root in self.roots)

    def index_note(self) -> str | None:
        """A warning worth its tokens only while answers may be incomplete."""
        if self.indexing():
            return "indexing in progress: results may be incomplete (see index_status)"
        return None

    def search_mode(self) -> str:
        modes = [root.search_mode() for root in self.roots]
        if len(set(modes)) == 1:
            return modes[0]
        return "; ".join(f"{root.name}: {mode}" for root, mode in zip(self.roots, modes, strict=True))

    def describe(self) -> str:
        """The roots, for the server's instructions (several roots only)."""
        lines = []
        for entry in self.order:
            where = f" (inside {entry.served_by.name}: its index)" if isinstance(entry, NestedRoot) else ""
            lines.append(f"  {entry.name}: {entry.root_real}{where}")
        return "\n".join(lines)
