"""Path globs for search filters, with gitignore-like meaning.

`*.py` matches a basename at any depth; `tests` matches a file or folder named tests anywhere (and
all below it); a pattern with a `/` is anchored at the workspace root; `**` crosses folders, `*` and
`?` do not; `[abc]`, `[a-z]`, `[!abc]` are character classes. Paths are relative, forward slashes.

Matching is done here, not by translating to a regular expression: a regex with many `*` can
backtrack exponentially on a crafted pattern, while this matcher is O(pattern x path) in the worst
case (one backtrack point per segment, a small table for `**`).

Must never: raise on user input (a malformed class like `[` is taken literally) or run SQL.
"""

from __future__ import annotations

from functools import lru_cache

# A segment is a tuple of tokens: a literal character, "?" (any one character), "*" (any run), or
# a character class ("[", negate, frozenset of chars, tuple of (lo, hi) ranges).
_STAR = ("*",)
_ANY = ("?",)


def _parse_segment(text: str) -> tuple:
    tokens: list = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif c == "?":
            tokens.append(_ANY)
        elif c == "[":
            j = i + 1
            negate = j < n and text[j] in "!^"
            if negate:
                j += 1
            start = j
            if j < n and text[j] == "]":
                j += 1  # a leading "]" is a literal member
            while j < n and text[j] != "]":
                j += 1
            if j >= n:
                tokens.append(("=", c))  # no closing bracket: a literal "["
            else:
                body = text[start:j]
                chars: set[str] = set()
                ranges: list[tuple[str, str]] = []
                k = 0
                while k < len(body):
                    if k + 2 < len(body) and body[k + 1] == "-":
                        ranges.append((body[k], body[k + 2]))
                        k += 3
                    else:
                        chars.add(body[k])
                        k += 1
                tokens.append(("[", negate, frozenset(chars), tuple(ranges)))
                i = j
        else:
            tokens.append(("=", c))
        i += 1
    return tuple(tokens)


def _token_matches(token: tuple, ch: str) -> bool:
    if token[0] == "=":
        return token[1] == ch
    if token is _ANY:
        return True
    _, negate, chars, ranges = token
    hit = ch in chars or any(lo <= ch <= hi for lo, hi in ranges)
    return hit != negate


def _segment_matches(tokens: tuple, text: str) -> bool:
    """Wildcard match of one path segment: linear except for re-scans after the last `*`."""
    t = s = 0
    star_t, star_s = -1, 0
    while s < len(text):
        if t < len(tokens) and tokens[t] is not _STAR and _token_matches(tokens[t], text[s]):
            t += 1
            s += 1
        elif t < len(tokens) and tokens[t] is _STAR:
            star_t, star_s = t, s
            t += 1
        elif star_t >= 0:
            star_s += 1
            s = star_s
            t = star_t + 1
        else:
            return False
    while t < len(tokens) and tokens[t] is _STAR:
        t += 1
    return t == len(tokens)


@lru_cache(maxsize=256)
def _compile(pattern: str) -> tuple[bool, tuple]:
    """(anchored, segments) where a segment is None for `**`."""
    pattern = pattern.strip().replace("\\", "/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    trimmed = pattern.rstrip("/")
    anchored = "/" in trimmed
    segments = tuple(
        None if part == "**" else _parse_segment(part) for part in trimmed.lstrip("/").split("/") if part != ""
    )
    return anchored, segments


def _prefix_matches(segments: tuple, parts: list[str]) -> bool:
    """Whether the pattern segments match a leading run of path parts (a folder matches all
    below it). `reach[j]`: the pattern so far can end right after parts[:j]."""
    reach = [True] + [False] * len(parts)
    for seg in segments:
        if seg is None:  # "**": zero or more whole parts
            seen = False
            for j in range(len(parts) + 1):
                seen = seen or reach[j]
                reach[j] = seen
        else:
            reach = [False] + [reach[j] and _segment_matches(seg, parts[j]) for j in range(len(parts))]
    return any(reach)


def glob_matches(pattern: str, path: str) -> bool:
    anchored, segments = _compile(pattern)
    if not segments:
        return True
    parts = path.split("/")
    if anchored:
        return _prefix_matches(segments, parts)
    # No slash: the pattern names one file or folder at any depth.
    return any(_prefix_matches(segments, parts[i:]) for i in range(len(parts)))


class CompiledGlob:
    """`compile_glob(p).fullmatch(path)` for callers that filter many paths with one pattern."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def fullmatch(self, path: str) -> bool:
        return glob_matches(self.pattern, path)


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> CompiledGlob:
    return CompiledGlob(pattern)
