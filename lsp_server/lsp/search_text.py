"""`symscope/searchText`: exact text or regex search over the indexed files of every folder.

{pattern, regex?, caseInsensitive?, path?, limit?, context?} -> {state, filesSearched, truncated,
results: [{uri, path, folder, line, text, range, symbol?, symbolKind?, symbolLine?, before?,
after?}]}: saved content (what the index holds), folder by folder in order until `limit` is
filled; ranges in the negotiated encoding, each hit with its enclosing symbol.

Must never: search on the event loop, or turn a bad pattern into anything but InvalidParams.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pygls.exceptions import JsonRpcInvalidParams

from lsp_server.lsp.protocol import JsonDict, symbol_kind

if TYPE_CHECKING:
    from lsp_server.lsp.server import SymscopeServer


async def symscope_search_text(ls: SymscopeServer, params: Any):
    """`symscope/searchText` {pattern, regex?, caseInsensitive?, path?, limit?, context?}: exact
    text or regex search over the indexed files (saved content), each hit with its enclosing symbol."""
    from lsp_server.text_search import DEFAULT_LIMIT, TextSearchError, search_text

    if not isinstance(params, dict) or not isinstance(params.get("pattern"), str):
        raise JsonRpcInvalidParams.of(
            ValueError("symscope/searchText takes {pattern, regex?, caseInsensitive?, path?, limit?, context?}")
        )
    flags = {k: params.get(k, False) for k in ("regex", "caseInsensitive")}
    numbers = {"limit": params.get("limit", DEFAULT_LIMIT), "context": params.get("context", 0)}
    glob = params.get("path")
    if not all(isinstance(v, bool) for v in flags.values()):
        raise JsonRpcInvalidParams.of(ValueError("regex and caseInsensitive must be booleans"))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers.values()):
        raise JsonRpcInvalidParams.of(ValueError("limit and context must be integers"))
    if glob is not None and not isinstance(glob, str):
        raise JsonRpcInvalidParams.of(ValueError("path must be a glob string"))
    served = [f for f in ls.served() if f.session is not None and f.session.index is not None]
    if not served:
        return JsonDict(state="starting", results=[], truncated=None)

    def run():
        # Folder by folder, in order, until the limit is filled.
        out, truncated, files = [], None, 0
        for folder in served:
            found = search_text(
                folder.session.index,
                params["pattern"],
                regex=flags["regex"],
                case_insensitive=flags["caseInsensitive"],
                path_glob=glob or None,
                limit=numbers["limit"] - len(out),
                context=numbers["context"],
            )
            files += found.files_searched
            truncated = truncated or found.truncated
            out.extend((hit, folder) for hit in found.hits)
            if len(out) >= numbers["limit"]:
                if folder is not served[-1]:
                    truncated = (
                        truncated
                        or f"stopped at {numbers['limit']} matches; later workspace folders not searched (raise limit)"
                    )
                break
        return out, truncated, files

    try:
        hits, truncated, files_searched = await ls.in_thread(run)
    except TextSearchError as exc:
        raise JsonRpcInvalidParams.of(exc) from None
    results = []
    for hit, folder in hits:
        line = hit.line - 1
        item = {
            "uri": folder.uri_for(hit.path),
            "path": hit.path,
            "line": hit.line,
            "text": hit.text,
            "folder": folder.name,
            "range": ls.lsp_range(
                (line, hit.utf16_range[0], line, hit.utf16_range[1]), (line, hit.utf8_range[0], line, hit.utf8_range[1])
            ),
        }
        if hit.symbol:
            item.update(symbol=hit.symbol, symbolKind=symbol_kind(hit.symbol_kind or ""), symbolLine=hit.symbol_line)
        if hit.before or hit.after:
            item.update(before=hit.before, after=hit.after)
        results.append(item)
    return JsonDict(state=ls.state(), results=results, truncated=truncated, filesSearched=files_searched)
