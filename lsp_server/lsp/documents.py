"""Document synchronisation: didOpen / didChange / didSave / didClose into the folders' overlays.

Owns handing each open document to the folder that holds it (others to the server's `loose` holder:
outlines only), converting LSP content changes into the overlay's plain `Change`s in the negotiated
encoding, resyncing from didSave's text, telling the folder's session that a saved file changed, and
asking it to embed an opened file's pending symbols first.
pygls keeps no copy of open documents (server.py's protocol routes these notifications here only).

Must never: raise on a change it cannot place (the overlay clamps or ignores it; we log), or let
unsaved text reach the on-disk index.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as t
from pygls.uris import to_fs_path

from lsp_server.lsp.overlay import Change, Position

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)


def did_open(ls: SymscopeServer, params: t.DidOpenTextDocumentParams) -> None:
    doc = params.text_document
    path = to_fs_path(doc.uri)
    folder = ls.folder_for(path) or ls.loose
    old = ls.doc_folders.get(doc.uri)
    if old is not None and old is not folder:
        old.overlay.close(doc.uri)
    folder.overlay.open(doc.uri, Path(path) if path else None, doc.language_id, doc.version, doc.text)
    ls.doc_folders[doc.uri] = folder
    if path and folder.session is not None and folder.relative(path) is not None:
        # What the person is reading gets its vectors next (the file's symbols jump the queue).
        folder.session.prioritize([path])


def did_change(ls: SymscopeServer, params: t.DidChangeTextDocumentParams) -> None:
    changes = []
    for change in params.content_changes:
        if isinstance(change, t.TextDocumentContentChangePartial):
            r = change.range
            changes.append(
                Change(change.text, Position(r.start.line, r.start.character), Position(r.end.line, r.end.character))
            )
        else:
            changes.append(Change(change.text))
    report = ls.scope(params.text_document.uri).overlay.change(
        params.text_document.uri, params.text_document.version, changes, ls.encoding
    )
    if report is None:
        log.warning("didChange for %s, which is not open: ignored", params.text_document.uri)
    elif report.problems:
        log.warning(
            "didChange %s v%s: %s", params.text_document.uri, params.text_document.version, "; ".join(report.problems)
        )


def did_save(ls: SymscopeServer, params: t.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    folder = ls.scope(uri)
    if folder.overlay.saved(uri, params.text):
        log.warning("%s had drifted from the editor's text; resynced from didSave", uri)
    path = to_fs_path(uri)
    if path and folder.session is not None and folder.relative(path) is not None:
        folder.session.files_changed([path])


def did_close(ls: SymscopeServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.scope(uri).overlay.close(uri)
    ls.doc_folders.pop(uri, None)
