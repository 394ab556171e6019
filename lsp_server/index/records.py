"""From one parsed file (a `_native.FileResult`) to the rows the index stores.

Owns: the stable `symbol_id` rule, the text embedded per symbol (kind, qualified name, signature,
doc, a short digest of the body; every symbol, documented or not), its `text_hash`, the stored
snippet, and the words the lexical index sees.

Must never: run SQL, touch LanceDB or embed anything (this is pure data shaping, so the write path
can prepare rows outside any transaction).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from lsp_server.index.identifiers import CODE_KEYWORDS, name_words, words

# Bump when the embedded text changes shape: it is part of every text_hash, so old cache entries
# simply stop matching and nothing stale is ever reused.
EMBED_TEXT_VERSION = "1"
# Bump when anything this module derives changes (ids, embed text, digests, lexical words): the
# writer then re-parses every file once (index/__init__.py), so old and new rows never mix.
RECORDS_VERSION = "2"

DOC_CHARS = 400  # enough for a docstring's summary paragraph; longer docs dilute the embedding
DIGEST_IDENTIFIERS = 24
DIGEST_SCAN_BYTES = 6000  # the start of a body says what it does; scanning all of a huge class is waste
SNIPPET_LINES = 4
SNIPPET_CHARS = 320

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass(frozen=True, slots=True)
class SymbolRow:
    symbol_id: str
    path: str
    language: str
    name: str
    qualified_name: str
    kind: str
    container: str | None
    parent_id: str | None
    start_line: int  # 1-based, inclusive
    end_line: int
    ranges: str  # JSON: [range_utf16, selection_utf16, range_utf8, selection_utf8, byte_range], 0-based
    signature: str
    doc: str | None
    snippet: str
    embed_text: str
    text_hash: str
    # FTS5 columns
    fts_name: str
    fts_qualified: str
    fts_text: str
    fts_path: str


@dataclass(frozen=True, slots=True)
class RefRow:
    path: str
    from_symbol: str | None
    name: str
    target: str
    kind: str
    line: int  # 1-based
    col: int  # UTF-16, 0-based


def symbol_id(path: str, kind: str, qualified_name: str, ordinal: int) -> str:
    """Stable across unrelated edits: nothing positional goes in, only the ordinal among siblings
    with the same kind and qualified name (overloads, redefinitions)."""
    key = f"{path}\x00{kind}\x00{qualified_name}\x00{ordinal}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=12).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.blake2b(
        f"{EMBED_TEXT_VERSION}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


def body_digest(body: str, exclude: set[str]) -> str:
    """The identifiers a body uses most, in order of first use: 'open read_bytes json loads ...'."""
    idents = _IDENT.findall(body)
    counts = Counter(idents)
    for ident in list(counts):
        if ident in exclude or ident.lower() in CODE_KEYWORDS:
            del counts[ident]
    if len(counts) > DIGEST_IDENTIFIERS:
        keep = {ident for ident, _ in counts.most_common(DIGEST_IDENTIFIERS)}
    else:
        keep = counts.keys()
    return " ".join(ident for ident in dict.fromkeys(idents) if ident in keep)


def embed_text(kind: str, qualified_name: str, signature: str, doc: str | None, digest: str) -> str:
    lines = [f"{kind} {qualified_name}"]
    if signature:
        lines.append(signature)
    if doc:
        lines.append(doc[:DOC_CHARS])
    if digest:
        lines.append(f"uses: {digest}")
    return "\n".join(lines)


def snippet(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()[:SNIPPET_LINES]]
    out = "\n".join(lines)
    return out if len(out) <= SNIPPET_CHARS else out[: SNIPPET_CHARS - 1] + "…"


def _ranges_json(*ranges) -> str:
    """JSON for the stored ranges (ints only), without json.dumps' per-call overhead."""
    return "[" + ",".join("[" + ",".join(str(int(v)) for v in r) + "]" for r in ranges) + "]"


def file_rows(result: dict, data: bytes | None) -> tuple[list[SymbolRow], list[RefRow]]:
    """The rows for one parsed file. `data` is the file's bytes (for digests and snippets); None
    keeps those empty (the symbol is still indexed and embedded from its name and signature)."""
    path = result["path"]
    language = result["language"] or ""
    symbols = result["symbols"]
    ordinals: Counter[tuple[str, str]] = Counter()
    ids: list[str] = []
    for sym in symbols:
        key = (sym["kind"], sym["qualified_name"])
        ids.append(symbol_id(path, sym["kind"], sym["qualified_name"], ordinals[key]))
        ordinals[key] += 1
    path_words = " ".join(words(path))
    rows: list[SymbolRow] = []
    for index, sym in enumerate(symbols):
        start, end = sym["byte_range"]
        # Only the start of a body is read: digests and snippets need no more, and decoding whole
        # bodies would cost O(depth x file size) for nested symbols.
        body = data[start : min(end, start + DIGEST_SCAN_BYTES)].decode("utf-8", "replace") if data is not None else ""
        signature = sym["signature"] or ""
        doc = sym["doc"] or None
        exclude = {sym["name"], *re.findall(r"\w+", signature)}
        digest = body_digest(body, exclude) if body else ""
        text = embed_text(sym["kind"], sym["qualified_name"], signature, doc, digest)
        parent = sym.get("parent")
        rng = sym["range"]
        rows.append(
            SymbolRow(
                symbol_id=ids[index],
                path=path,
                language=language,
                name=sym["name"],
                qualified_name=sym["qualified_name"],
                kind=sym["kind"],
                container=sym.get("container"),
                parent_id=ids[parent] if parent is not None and 0 <= parent < len(ids) else None,
                start_line=rng[0] + 1,
                end_line=rng[2] + 1,
                ranges=_ranges_json(
                    rng,
                    sym["selection_range"],
                    sym.get("range_utf8", rng),
                    sym.get("selection_range_utf8", sym["selection_range"]),
                    sym["byte_range"],
                ),
                signature=signature,
                doc=doc,
                snippet=snippet(body) if body else signature,
                embed_text=text,
                text_hash=text_hash(text),
                fts_name=name_words(sym["name"]),
                fts_qualified=" ".join(words(sym.get("container") or "")),
                fts_text=" ".join(w for w in words(f"{signature} {doc or ''} {digest}") if w not in CODE_KEYWORDS),
                fts_path=path_words,
            )
        )
    refs = [
        RefRow(
            path=path,
            from_symbol=ids[from_symbol] if from_symbol is not None and 0 <= from_symbol < len(ids) else None,
            name=name,
            target=target,
            kind=kind,
            line=line + 1,
            col=col,
        )
        # the core's references are (name, target, kind, line, col, from_symbol) tuples
        for name, target, kind, line, col, from_symbol in result["references"]
    ]
    return rows, refs
