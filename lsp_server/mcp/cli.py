"""`symscope mcp`: open each root's index through a WorkspaceSession (first update, file watcher,
embedder loading, writer take-over, the same upkeep the language server gives its folders) and
serve them over stdio or streamable HTTP until the client leaves.

Owns: turning `--root` (repeatable) into served roots as the language server turns workspace
folders into them (`lsp_server.multiroot`: a root inside another is served from the outer index; an
explicit index directory belongs to the first root, the others get their own below it), and the
transport's life cycle.

Must never: write to stdout (in stdio mode it carries protocol frames only; the HTTP address goes
to stderr), or serve HTTP beyond loopback without a bearer token.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from lsp_server.mcp.events import ServerEvents
from lsp_server.mcp.http import LOOPBACK_HOSTS, TOKEN_ENV, parse_http_address, serve_http_in_thread

log = logging.getLogger(__name__)


def root_arguments(args: Any) -> list[str]:
    """The --root values in order (one `.` when none was given)."""
    given = getattr(args, "root", None)
    if isinstance(given, (str, os.PathLike)):
        return [os.fspath(given)]
    return [os.fspath(r) for r in given] if given else ["."]


def run(args: Any) -> int:
    """The `symscope mcp` command."""
    from lsp_server.config import Settings
    from lsp_server.mcp.roots import NestedRoot, Root, RootSet, unique_names
    from lsp_server.mcp.server import create_server, single_root
    from lsp_server.mcp.stdio import answer_unreadable_lines
    from lsp_server.multiroot import plan_folders
    from lsp_server.session import ERROR, WorkspaceSession

    explicit = {
        "index_dir": args.index_dir,
        "model": args.model,
        "device": args.device,
        "embed": False if args.no_embed else None,
    }
    given = root_arguments(args)
    for raw in given:
        if not os.path.isdir(os.path.expanduser(raw)):
            raise SystemExit(f"symscope mcp: --root {raw!r} is not a directory")
    plan = plan_folders(
        [os.path.realpath(os.path.expanduser(r)) for r in given], lambda r: Settings.load(r, **explicit)
    )
    names = unique_names([folder.root for folder in plan])
    token = args.token or os.environ.get(TOKEN_ENV) or None
    address = parse_http_address(args.http) if args.http else None
    if address and address[0] not in LOOPBACK_HOSTS and not token:
        raise SystemExit(f"symscope mcp: binding to {address[0]} needs a bearer token (--token or ${TOKEN_ENV})")

    events = ServerEvents()
    several = len(plan) > 1
    sessions: dict[int, WorkspaceSession] = {}
    try:
        for n, folder in enumerate(plan):
            if folder.served_by is not None:
                continue
            on_progress = events.progress_callback(names[n]) if several else events.session_progress
            session = WorkspaceSession(
                folder.settings, readonly=args.readonly, on_progress=on_progress, on_status=events.session_status
            )
            sessions[n] = session
            session.start()
        # Serve as soon as every index is open: first updates run on in the background and the
        # tools say so (index_note, index_status), instead of a client timing out on a big repo.
        for n, session in sessions.items():
            while session.index is None or session.searcher is None:
                if session.state == ERROR:
                    problem = session.status().last_error or "cannot open the index"
                    raise SystemExit(f"symscope mcp: {plan[n].root}: {problem}")
                time.sleep(0.01)
            if not args.no_watch and not args.readonly:
                session.start_watcher()
        own: dict[int, Root] = {
            n: single_root(
                plan[n].settings, index=s.index, searcher=s.searcher, session=s, name=names[n] if several else None
            )
            for n, s in sessions.items()
        }
        nested = [
            NestedRoot(name=names[n], root_real=folder.root, served_by=own[folder.served_by])
            for n, folder in enumerate(plan)
            if folder.served_by is not None
        ]
        roots = RootSet(list(own.values()), nested, order=names)
        server = create_server(roots=roots, events=events)
        for root in roots.roots:
            log.info("serving %s (index %s)", root.root_real, root.index.index_dir)
        if address is None:
            answer_unreadable_lines(server)
            server.run("stdio")
            return 0
        thread = serve_http_in_thread(
            server, address[0], address[1], token=token, allowed_origins=args.allow_origin or ()
        )
        # The address goes to stderr: stdout is never used for anything but protocol data.
        sys.stderr.write(f"symscope mcp: listening on {thread.url}\n")
        sys.stderr.flush()
        try:
            while thread.is_alive():
                thread.join(0.5)
        except KeyboardInterrupt:
            thread.stop()
        return 1 if thread.error is not None else 0
    finally:
        for session in sessions.values():
            session.stop()
