"""Mine (natural language, code) pairs from the fetched training packages with symscope's extractor.

Owns: which files are mined (sources only: no tests, generated, minified, vendored or example files),
the pair signals (`doc`: a symbol's docstring / leading doc comment -> its code with that comment
removed; `name`: the words of its qualified name -> the same code), doc cleaning and filtering,
dedupe, the split by package (validation packages from `packages.VALIDATION`), and the stats file.

Must never: mine a package the manifest did not keep, put one package's pairs in both splits, or
leave the doc inside the code it is paired with (a pair whose doc cannot be cut out is dropped).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from lsp_server import _native
from training.packages import VALIDATION

CODE_CHARS = 2000  # ~ 400-600 tokens: more than the 128-256 token window we train with
MIN_DOC_WORDS = 4
MIN_DOC_CHARS = 20
MIN_CODE_LINES = 2
MAX_QUERY_REPEATS = 3  # a summary shared by more symbols than this is boilerplate ("See above.")
#: The languages the training packages are written in; other files they ship (CSS, shell, C) are not mined.
MINED_LANGUAGES = {"python", "javascript", "typescript", "tsx", "rust", "go", "java", "kotlin"}
MINED_KINDS = {"function", "method", "class", "interface", "struct", "enum", "trait", "constructor", "module"}

# gitignore-style globs the scan skips: tests, generated bundles, vendored copies, examples, docs.
EXCLUDES = [
    "**/test/**", "**/tests/**", "**/testing/**", "**/__tests__/**", "**/spec/**", "**/testdata/**",
    "**/*_test.go", "**/test_*.py", "**/*_test.py", "**/conftest.py", "**/*.test.*", "**/*.spec.*",
    "**/*Test.java", "**/*Tests.java", "**/dist/**", "**/build/**", "**/bundles/**", "**/umd/**",
    "**/*.min.js", "**/*.min.mjs", "**/*.bundle.js", "**/node_modules/**", "**/vendor/**",
    "**/generated/**", "**/*_pb2.py", "**/*.pb.go", "**/*_generated.*", "**/examples/**",
    "**/example/**", "**/benches/**", "**/benchmarks/**", "**/docs/**", "**/doc/**", "**/*.d.ts",
    "**/*.md", "**/*.rst", "**/*.txt", "**/*.json", "**/*.yml", "**/*.yaml", "**/*.toml",
]  # fmt: skip
_GENERATED_MARK = re.compile(rb"(?i)(code generated .* do not edit|@generated|auto-?generated|DO NOT EDIT)")

_TAG_LINE = re.compile(
    r"^\s*([@:](param|return|returns|throws|raises|type|rtype|see|since|example|deprecated|"
    r"arg|argument|yields|template|typedef|property|private|public|internal|api)\b|"
    r"(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Note|See Also)\s*:?\s*$|-{3,}$)"
)
_BOILER = re.compile(
    r"(?i)^(todo|fixme|xxx|copyright|licensed under|spdx|nolint|deprecated|internal use|"
    r"see (the )?above|inherit|override|implements|for internal)"
)


@dataclass(frozen=True)
class Pair:
    query: str
    code: str  # the symbol's code, its doc removed, cut to CODE_CHARS
    header: str  # "kind qualified_name": the first line of the text symscope embeds per symbol
    signal: str  # doc | name
    language: str
    package: str  # registry:name
    path: str  # relative to the package root
    split: str  # train | validation


def summary(doc: str) -> str | None:
    """The doc's first paragraph, without tag lines and markup, or None when too short / boilerplate."""
    lines: list[str] = []
    for line in doc.strip().splitlines():
        line = line.strip()
        if not line:
            if lines:
                break
            continue
        if _TAG_LINE.match(line) or line.startswith(("```", ">>>", "...")):
            break
        lines.append(line)
    text = " ".join(lines)
    text = re.sub(r"\{@\w+\s+([^}]*)\}", r"\1", text)  # {@link Foo} -> Foo
    text = re.sub(r"<[^>]{1,40}>", "", text)  # html tags
    text = re.sub(r"[`*]+|:\w+:", "", text)  # markdown / rst roles
    text = re.sub(r"\s+", " ", text).strip()[:300]
    if len(text) < MIN_DOC_CHARS or len(text.split()) < MIN_DOC_WORDS or _BOILER.match(text):
        return None
    return text


_PY_DOCSTRING = re.compile(r"""(?s)^(?P<q>[rRuUbBfF]{0,2}(?:\"\"\"|'''|"|'))""")


def strip_doc(code: str, doc: str, language: str) -> str | None:
    """`code` without `doc`. Leading comments are outside the symbol's range already; a docstring
    inside the body (Python) is cut out. None when a line of the doc is still in the code."""
    if language == "python":
        lines = code.split("\n")
        # the first statement after the header (the line ending the signature with ':')
        for i, line in enumerate(lines):
            if line.rstrip().endswith(":") and i + 1 < len(lines):
                rest = "\n".join(lines[i + 1 :])
                body = rest.lstrip()
                m = _PY_DOCSTRING.match(body)
                if m:
                    quote = m.group("q").lstrip("rRuUbBfF")
                    end = body.find(quote, len(m.group("q")))
                    if end >= 0:
                        after = body[end + len(quote) :]
                        after = after[after.find("\n") + 1 :] if "\n" in after else after
                        code = "\n".join(lines[: i + 1]) + "\n" + after
                break
    first = next((line.strip() for line in doc.splitlines() if len(line.strip()) >= 12), "")
    if first and first in code:
        return None
    return code


_NAME_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def name_parts(qualified_name: str) -> list[str]:
    """'Outer.parse_HTTPHeader' -> ['outer', 'parse', 'http', 'header']."""
    return [part.lower() for part in _NAME_PART.findall(qualified_name)]


def _dedent(code: str, first_line_indent: str) -> str:
    lines = code.split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        out.append(line[len(first_line_indent) :] if line.startswith(first_line_indent) else line)
    return "\n".join(out)


def mine_tree(root: Path, package: str, split: str) -> Iterator[Pair]:
    """Every candidate pair of one unpacked package (before corpus-wide dedupe)."""
    scanner = _native.Scanner(str(root), threads=1, timeout_ms=2000, excludes=EXCLUDES, supervised=True)
    for batch in scanner:
        for result in batch:
            if (
                result["skipped"]
                or result["error"]
                or not result["symbols"]
                or result["language"] not in MINED_LANGUAGES
            ):
                continue
            data = (root / result["path"]).read_bytes()
            if _GENERATED_MARK.search(data[:2000]):
                continue
            language = result["language"]
            for sym in result["symbols"]:
                if sym["kind"] not in MINED_KINDS:
                    continue
                start, end = sym["byte_range"]
                line_start = data.rfind(b"\n", 0, start) + 1
                indent = re.match(rb"[ \t]*", data[line_start:start]).group(0).decode()
                code = data[start : min(end, start + CODE_CHARS * 2)].decode("utf-8", "replace")
                if code.count("\n") + 1 < MIN_CODE_LINES + (1 if sym["doc"] else 0):
                    continue
                header = f"{sym['kind']} {sym['qualified_name']}"
                doc = sym["doc"]
                query = summary(doc) if doc else None
                if doc:
                    code = strip_doc(code, doc, language)
                    if code is None:
                        continue
                code = _dedent(code, indent)[:CODE_CHARS]
                if code.count("\n") + 1 < MIN_CODE_LINES:
                    continue
                if query:
                    yield Pair(query, code, header, "doc", language, package, result["path"], split)
                words = " ".join(name_parts(sym["qualified_name"]))
                if len(words.split()) >= 2:
                    yield Pair(words, code, header, "name", language, package, result["path"], split)


def dedupe(pairs: Iterable[Pair]) -> list[Pair]:
    """One pair per (signal, code); doc queries repeated more than MAX_QUERY_REPEATS times dropped."""
    seen: set[bytes] = set()
    kept: list[Pair] = []
    for pair in pairs:
        key = hashlib.blake2b(f"{pair.signal}\0{pair.code}".encode("utf-8", "replace"), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            kept.append(pair)
    repeats = Counter(p.query.lower() for p in kept if p.signal == "doc")
    return [p for p in kept if p.signal != "doc" or repeats[p.query.lower()] <= MAX_QUERY_REPEATS]


def mine(packages: list[tuple[str, Path]], out_dir: Path, stats_path: Path, limit: int | None = None) -> dict:
    """Mine `packages` ((registry:name, tree)), write train.jsonl / validation.jsonl and the stats.
    `limit` caps the candidates taken from each package (for smoke runs)."""
    raw: list[Pair] = []
    for package, tree in packages:
        split = "validation" if package in VALIDATION else "train"
        got = list(mine_tree(tree, package, split))[: limit or None]
        print(f"mined {len(got):6d} candidate pairs from {package} ({split})", flush=True)
        raw.extend(got)
    pairs = dedupe(raw)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter] = {"package": Counter(), "language": Counter(), "signal": Counter()}
    by_split: dict[str, Counter] = defaultdict(Counter)
    files = {split: open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") for split in ("train", "validation")}
    try:
        for pair in pairs:
            files[pair.split].write(json.dumps(asdict(pair), ensure_ascii=False) + "\n")
            counts["package"][f"{pair.package}|{pair.signal}"] += 1
            counts["language"][f"{pair.language}|{pair.signal}"] += 1
            counts["signal"][pair.signal] += 1
            by_split[pair.split][pair.signal] += 1
    finally:
        for f in files.values():
            f.close()
    splits = {split: {p.package for p in pairs if p.split == split} for split in ("train", "validation")}
    assert not splits["train"] & splits["validation"], "a package is in both splits"
    stats = {
        "candidates": len(raw),
        "pairs": len(pairs),
        "by_split": {k: dict(v) for k, v in sorted(by_split.items())},
        "validation_packages": sorted(splits["validation"]),
        "by_signal": dict(counts["signal"]),
        "by_language": _nest(counts["language"]),
        "by_package": _nest(counts["package"]),
    }
    stats_path.parent.mkdir(parents=True, exist_ok=True)
    stats_path.write_text(json.dumps(stats, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return stats


def _nest(counter: Counter) -> dict:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for key, n in sorted(counter.items()):
        outer, inner = key.split("|")
        out[outer][inner] = n
    return dict(out)


def read_pairs(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]
