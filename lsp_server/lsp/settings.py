"""Settings: the command line's and the client's options resolved into each folder's `Settings`.

Owns this front end's own options (`LSP_OPTIONS`: watcher, workspaceSymbolLimit, references) and
their checks, the precedence (command line < initializationOptions < workspace/didChangeConfiguration;
camelCase or snake_case keys), every served folder's index `Settings`, and the rule that one index
directory never serves two folders: default ones are keyed by the folder's real path; an explicit
one belongs to the first folder of `initialize`, and every other folder that would share it gets
`<dir>/folders/<name>-<hash>`. A bad option is reported (`settings_error`: status and a message)
and the rest still apply.

Must never: start or stop a session (configuration.py and folders.py do), or raise on a client's
option: a bad value falls back to its default with an error the user sees.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsp_server.config import ConfigError, Settings
from lsp_server.lsp.protocol import snake
from lsp_server.multiroot import with_own_index_dir

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

WORKSPACE_SYMBOL_LIMIT = 100

# Settings that belong to this front end, not to config.Settings.
# `references`: search-based textDocument/references (references.py), off by default.
LSP_OPTIONS = {"watcher": "auto", "workspace_symbol_limit": WORKSPACE_SYMBOL_LIMIT, "references": False}
WATCHER_MODES = ("auto", "client", "watchfiles", "off")


def resolve_settings(ls: SymscopeServer, options: dict[str, Any]) -> None:
    """Command-line defaults overlaid with client options: this front end's options now, and the
    index settings every folder's Settings start from (`assign_settings`); a bad option is
    reported (status + message) and the rest still apply."""
    ls.settings_error = None
    merged = {**ls.base_settings, **{snake(k): v for k, v in (options or {}).items()}}
    lsp_options = dict(LSP_OPTIONS)
    for key in list(merged):
        if key in LSP_OPTIONS:
            lsp_options[key] = merged.pop(key)
    if lsp_options["watcher"] not in WATCHER_MODES:
        ls.settings_error = f"watcher must be one of {', '.join(WATCHER_MODES)}, got {lsp_options['watcher']!r}"
        lsp_options["watcher"] = "auto"
    limit = lsp_options["workspace_symbol_limit"]
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        ls.settings_error = f"workspaceSymbolLimit must be a positive integer, got {limit!r}"
        lsp_options["workspace_symbol_limit"] = WORKSPACE_SYMBOL_LIMIT
    if not isinstance(lsp_options["references"], bool):
        ls.settings_error = f"references must be true or false, got {lsp_options['references']!r}"
        lsp_options["references"] = False
    ls.options = lsp_options
    ls.explicit = merged
    assign_settings(ls)


def folder_settings(ls: SymscopeServer, root: Path) -> Settings:
    merged = ls.explicit
    try:
        return Settings.load(root, **merged)
    except ConfigError as exc:
        ls.settings_error = f"symscope settings: {exc}"
        log.error("%s", ls.settings_error)
    # Keep every valid option, drop only the ones that fail on their own.
    valid = {}
    for key, value in merged.items():
        try:
            Settings.load(root, **{key: value})
            valid[key] = value
        except ConfigError:
            continue
    try:
        return Settings.load(root, **valid)
    except ConfigError:  # the workspace's own file is broken: built-in defaults plus what is valid
        return Settings(root=root, **{k: v for k, v in valid.items() if k in Settings.__dataclass_fields__})


def assign_settings(ls: SymscopeServer, *, keep_running: bool = False) -> None:
    """Settings for every served folder. One index directory never serves two folders: default
    ones are keyed by the folder's real path already; an explicit one (indexDir, SYMSCOPE_INDEX_DIR,
    a workspace file) belongs to the first folder of `initialize`, and every other folder that
    would share it gets `<that dir>/folders/<name>-<hash of its real path>` instead (stable while
    folders come and go)."""
    if ls.primary_root is not None:
        ls.primary_index_dir = folder_settings(ls, ls.primary_root).resolved_index_dir
    taken: dict[Path, Path] = {}
    for folder in ls.served():
        assert folder.root is not None
        if keep_running and folder.session is not None and folder.settings is not None:
            taken[folder.settings.resolved_index_dir] = folder.root  # a running session keeps its settings
            continue
        settings = with_own_index_dir(
            folder_settings(ls, folder.root),
            primary=folder.root == ls.primary_root,
            primary_dir=ls.primary_index_dir,
            taken=taken,
        )
        taken[settings.resolved_index_dir] = folder.root
        folder.settings = settings


def settings_keys(ls: SymscopeServer) -> tuple:
    return tuple((f.key, settings_key(f.settings)) for f in ls.served())


def settings_key(settings: Settings | None) -> tuple | None:
    if settings is None:
        return None
    return (
        settings.resolved_index_dir,
        settings.model,
        settings.device,
        tuple(settings.excludes),
        settings.max_file_size,
        settings.embed,
    )
