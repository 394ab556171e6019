"""`index_status`: how complete and fresh each root's index is. With several roots the top level
adds up the roots with an index of their own (state: the least advanced one) and `roots` lists
each, a nested root with the root whose index serves it.

Must never: open, write or wait on an index; it reports what the sessions and indexes say now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsp_server.index import format_eta
from lsp_server.mcp.models import IndexStatusResult, RootStatus
from lsp_server.mcp.roots import NestedRoot

if TYPE_CHECKING:
    from lsp_server.mcp.roots import Root, RootSet

# Least advanced first: the whole is as far along as its slowest root.
_STATE_ORDER = ("error", "starting", "indexing", "embedding", "reader", "ready")


def index_status(roots: RootSet) -> IndexStatusResult:
    if not roots.several:
        return root_status(roots, roots.first)
    own = {root.name: root_status(roots, root) for root in roots.roots}
    listed = []
    for entry in roots.order:
        if isinstance(entry, NestedRoot):
            outer = own[entry.served_by.name]
            fields = outer.model_dump(exclude={"roots"})
            fields.update(root=entry.root_real, state="nested", message=f"indexed with {entry.served_by.name}")
            listed.append(RootStatus(**fields, name=entry.name, served_by=entry.served_by.name))
        else:
            listed.append(RootStatus(**own[entry.name].model_dump(exclude={"roots"}), name=entry.name))
    parts = list(own.values())
    slowest = min(parts, key=lambda p: _STATE_ORDER.index(p.state) if p.state in _STATE_ORDER else 0)
    freshness = "; ".join(f"{name}: {p.freshness}" for name, p in own.items())
    errors = [f"{name}: {p.last_error}" for name, p in own.items() if p.last_error]
    return IndexStatusResult(
        root=parts[0].root,
        index_dir=parts[0].index_dir,
        files=sum(p.files for p in parts),
        symbols=sum(p.symbols for p in parts),
        vectors=sum(p.vectors for p in parts),
        pending_embeddings=sum(p.pending_embeddings for p in parts),
        model=parts[0].model,
        device=parts[0].device,
        index_bytes=sum(p.index_bytes for p in parts),
        last_error="; ".join(errors) or None,
        role="writer" if all(p.role == "writer" for p in parts) else "reader",
        indexing=any(p.indexing for p in parts),
        state=slowest.state,
        message=slowest.message,
        search_mode=roots.search_mode(),
        freshness=freshness,
        parser_failures=[f for p in parts for f in p.parser_failures],
        roots=listed,
    )


def root_status(roots: RootSet, root: Root) -> IndexStatusResult:
    st = root.index.status()
    session = root.session
    indexing = root.indexing()
    state = message = None
    last_error = st.last_error
    if session is not None:
        snapshot = session.status()
        state, message = snapshot.state, snapshot.message
        last_error = snapshot.last_error or last_error
    if indexing:
        freshness = "indexing in progress: results may be incomplete"
    elif st.files == 0:
        freshness = "empty: nothing indexed yet"
    elif st.pending:
        eta = f"; about {format_eta(st.eta_seconds)} to go" if st.eta_seconds is not None else ""
        freshness = f"symbols up to date; {st.pending} waiting for embeddings (found by name, not yet by meaning{eta})"
    else:
        freshness = "up to date"
    return IndexStatusResult(
        root=st.root,
        index_dir=st.index_dir,
        files=st.files,
        symbols=st.symbols,
        vectors=st.vectors,
        pending_embeddings=st.pending,
        model=st.model_id,
        device=st.device,
        index_bytes=st.index_bytes,
        last_error=last_error,
        role="writer" if st.is_writer else "reader",
        indexing=indexing,
        state=state,
        message=message,
        search_mode=root.search_mode(),
        freshness=freshness,
        parser_failures=[roots.display_failure(root, f) for f in st.parser_failures],
    )
