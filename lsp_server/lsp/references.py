"""`textDocument/references`, search-based and off by default; its capability follows the setting.

With `references: true` (initializationOptions or settings) the answer is every call and import of
the name under the cursor that the index recorded, minus those in files that define another symbol
of that name (they resolve there), plus the declaration; the client is told once, in its log, that
these are search-based. No type checking: a client's real language server knows better, so the
capability is advertised only when the option is on (at initialize, or later by dynamic
registration where the client allows it).

Must never: answer when the option is off (None), raise on a position it cannot place (an empty
list), or answer more than `REFERENCES_MAX` locations.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types as t

from lsp_server.lsp.protocol import CLIENT_REPLY_TIMEOUT_S, JsonList
from lsp_server.lsp.symbol_at import Request, index_of_session, resolve_at, target_at

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer

log = logging.getLogger(__name__)

REFERENCES_MAX = 200
REFERENCES_REGISTRATION_ID = "symscope/references"
REFERENCES_NOTE = (
    "symscope: references are search-based: every call and import of the name that the index "
    "recorded (no type checking); turn them off with `references: false`"
)


def _references(ls: SymscopeServer, uri: str, pos: tuple[int, int], declaration: bool) -> list[dict]:
    ls = ls.scope(uri)
    index = index_of_session(ls)
    if index is None or ls.root is None:
        return []
    req = Request(ls, index)
    target = target_at(req, uri, pos)
    if target is None or not target.word:
        return []
    name = target.word
    definition = target.on_name if target.on_name is not None and target.on_name.name == name else None
    if definition is None:
        resolved = resolve_at(req, target)
        definition = resolved[0][0] if resolved else None
    definitions = index.definitions(name)
    mentions = index.mentions(name, REFERENCES_MAX * 2)
    if definition is not None:
        # A file that defines another symbol of this name calls that one (same file wins).
        elsewhere = {d.path for d in definitions if d.symbol_id != definition.symbol_id} - {definition.path}
        mentions = [m for m in mentions if m.path not in elsewhere]
    out: list[dict] = []
    seen: set[tuple] = set()
    if declaration:
        for d in [definition] if definition is not None else definitions:
            _, sel = req.ranges(d)
            loc_uri = uri if d.path == target.rel else ls.uri_for(d.path)
            seen.add((d.path, sel["start"]["line"], sel["start"]["character"]))
            out.append({"uri": loc_uri, "range": sel})
    for m in mentions:
        if len(out) >= REFERENCES_MAX:
            break
        rng = req.site_range(m)
        key = (m.path, rng["start"]["line"], rng["start"]["character"])
        if key in seen:
            continue
        seen.add(key)
        out.append({"uri": uri if m.path == target.rel else ls.uri_for(m.path), "range": rng})
    return out


async def references(ls: SymscopeServer, params: t.ReferenceParams):
    if not ls.options.get("references"):
        log.info("textDocument/references is off (set `references: true` for search-based references)")
        return None
    if not ls.references_noted:
        ls.references_noted = True
        ls.window_log_message(t.LogMessageParams(type=t.MessageType.Info, message=REFERENCES_NOTE))
    pos = (params.position.line, params.position.character)
    declaration = bool(params.context.include_declaration) if params.context is not None else True
    try:
        found = await ls.in_thread(_references, ls, params.text_document.uri, pos, declaration)
    except Exception:
        log.exception("references failed for %s", params.text_document.uri)
        found = []
    return JsonList(found)


def advertise(ls: SymscopeServer, result: t.InitializeResult) -> None:
    """At initialize: the references capability only when `references: true`."""
    if ls.options.get("references"):
        ls.references_advertised = "static"
    else:
        ls.references_advertised = None
        result.capabilities.references_provider = None


async def references_changed(ls: SymscopeServer) -> None:
    """After a settings change: (un)register references with a client that allows it. A capability
    given at initialize cannot be taken back; the handler then declines by the current setting."""
    wanted = bool(ls.options.get("references"))
    if wanted == (ls.references_advertised is not None) or ls.references_advertised == "static":
        return
    caps = ls.client_capabilities.text_document
    if not (caps and caps.references and caps.references.dynamic_registration):
        log.info("references turned on: this client learns of it after a restart (requests are answered now)")
        return
    timeout = CLIENT_REPLY_TIMEOUT_S
    try:
        if wanted:
            registration = t.Registration(
                id=REFERENCES_REGISTRATION_ID,
                method=t.TEXT_DOCUMENT_REFERENCES,
                register_options=t.ReferenceRegistrationOptions(document_selector=None),
            )
            await asyncio.wait_for(
                ls.client_register_capability_async(t.RegistrationParams(registrations=[registration])), timeout
            )
            ls.references_advertised = "dynamic"
        else:
            gone = t.Unregistration(id=REFERENCES_REGISTRATION_ID, method=t.TEXT_DOCUMENT_REFERENCES)
            await asyncio.wait_for(
                ls.client_unregister_capability_async(t.UnregistrationParams(unregisterations=[gone])), timeout
            )
            ls.references_advertised = None
    except Exception as exc:
        log.warning("client refused the references (un)registration: %s", exc)
