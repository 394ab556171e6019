"""Identifier words: how names and queries are cut into the parts that lexical search matches on.

Owns the one splitting rule shared by what is stored (FTS5 columns, the fuzzy name table) and what is
asked (query terms), so both sides always agree: camelCase, PascalCase, snake_case, kebab-case,
digits and acronyms (`HTTPServerError2` -> http, server, error, 2).

Must never: run SQL, or produce a query term holding anything but word characters (the FTS5 query
builder double-quotes these terms and relies on that).
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+")
# "HTTPServerError2" -> HTTP, Server, Error, 2; "retry_upload" -> retry, upload; non-Latin letters
# stay whole words.
_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+")
# An identifier as people type one: letters/digits/_/$, optionally dotted or `::`-qualified.
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*(?:(?:\.|::|#)[A-Za-z_$][\w$]*)*")
_CODE_SHAPED = re.compile(r"_|[a-z][A-Z]|[A-Za-z]\d|\.|::|#")

# Words that carry no meaning in a natural-language code question; dropped from lexical queries
# (never from identifier queries) so "where are files read" ranks on "files" and "read".
STOPWORDS = frozenset(
    """a an and are as at be by can do does for from how i in into is it its of on or that the this
    to was what when where which who why with""".split()
)

# Keywords of the languages we index: in a signature or body they say nothing about what the code
# does, so they stay out of body digests and the lexical index's body words.
CODE_KEYWORDS = frozenset(
    """abstract async await bool break catch class cls const continue def elif else extends false
    final finally fn for func function impl implements int let mut nil none null override private
    protected pub public return self static str struct this true try var void while
    """.split()
)


@lru_cache(maxsize=1 << 16)
def split_identifier(name: str) -> tuple[str, ...]:
    """The lowercased parts of one identifier or word: "loadConfig" -> ("load", "config")."""
    return tuple(part.lower() for part in _PART.findall(name))


def words(text: str) -> list[str]:
    """Every lowercased identifier part in free text, in order, duplicates kept."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.extend(split_identifier(word))
    return out


def name_words(name: str) -> str:
    """The FTS5 text for a symbol name: its parts plus, for multi-part names, the name glued
    together ("load config loadconfig"), so both "load config" and "loadconfig" match."""
    parts = split_identifier(name)
    if len(parts) > 1:
        return " ".join(parts) + " " + "".join(parts)
    return " ".join(parts)


def is_identifier(text: str) -> bool:
    """True for a query that is one identifier, possibly qualified: `load_config`, `a.b.C`, `A::b`."""
    return _IDENTIFIER.fullmatch(text) is not None


def looks_like_code(token: str) -> bool:
    """True for a token no English word looks like: snake_case, camelCase, dotted, with digits."""
    return _CODE_SHAPED.search(token) is not None


def identifier_tokens(text: str) -> list[str]:
    """The identifier-shaped tokens of a query, in order: 'why does loadConfig fail' -> [why, does,
    loadConfig, fail]."""
    return _IDENTIFIER.findall(text)


def last_component(qualified: str) -> str:
    """'a.b.C' -> 'C'; 'A::b' -> 'b'; 'Cls#m' -> 'm'."""
    return re.split(r"\.|::|#", qualified)[-1]
