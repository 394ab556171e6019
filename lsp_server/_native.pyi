"""Typed stubs for the Rust core (`rust/python.rs`).

Positions: lines are 0-based. Every range is given twice: columns in UTF-16 code units (the LSP default)
and in UTF-8 bytes from the start of the line (for clients that negotiate `utf-8`). Invalid UTF-8 is
parsed as the bytes it is; a column that falls inside an invalid sequence counts each invalid byte as one
UTF-16 unit (the same rule as U+FFFD replacement, byte for byte).
"""

from collections.abc import Iterator
from typing import Literal, NamedTuple, TypedDict

__version__: str

Range = tuple[int, int, int, int]  # start_line, start_col, end_line, end_col

class Symbol(TypedDict):
    name: str
    kind: str  # lowercase LSP SymbolKind name: "class", "method", "function", ...
    kind_id: int  # LSP SymbolKind number
    qualified_name: str  # container path joined with ".", e.g. "Outer.Inner.method"
    container: str | None  # qualified name of the parent symbol, None at top level
    parent: int | None  # index of the parent symbol in the same list (parents come first)
    range: Range  # whole definition, UTF-16 columns
    selection_range: Range  # the name, UTF-16 columns
    range_utf8: Range
    selection_range_utf8: Range
    byte_range: tuple[int, int]
    signature: str  # declaration line(s) without the body, whitespace collapsed
    doc: str | None  # docstring or leading doc comment, comment markers stripped

class Reference(NamedTuple):
    """Built as a plain tuple (cheap for the core to produce); unpack by position."""

    name: str  # the called or imported name (last identifier)
    target: str  # the full callee / import path text as written, e.g. "self.store.put", "os.path"
    kind: Literal["call", "import"]
    line: int
    col: int  # UTF-16
    from_symbol: int | None  # index of the innermost enclosing symbol

class FileResult(TypedDict):
    path: str  # relative to the scan root (forward slashes) or as given to extract()
    language: str | None
    size: int
    mtime_ns: int
    content_hash: str  # blake3 hex of the raw bytes; "" when the file was not read
    skipped: str | None  # reason when not parsed: "binary", "too large (N bytes > M)", "minified", ...
    unchanged: bool  # scan(): matched the caller's known (size, mtime_ns) or content hash; nothing parsed
    has_error: bool  # tree-sitter found syntax errors (symbols are still returned)
    timed_out: bool  # the parse budget ran out; partial or no symbols
    error: str | None  # an I/O error reading the file
    symbols: list[Symbol]
    references: list[tuple[str, str, str, int, int, int | None]]  # Reference fields, in order

class LanguageInfo(TypedDict):
    name: str
    extensions: list[str]
    filenames: list[str]
    shebangs: list[str]
    extracts: list[str]  # symbol kinds this language's query can produce, plus "calls"/"imports"

class NativeError(Exception): ...

def languages() -> list[LanguageInfo]: ...
def detect_language(path: str, head: bytes | None = None) -> str | None: ...
def extract(
    path: str,
    data: bytes,
    language: str | None = None,
    timeout_ms: int = 2000,
) -> FileResult: ...
def hash_bytes(data: bytes) -> str: ...

class Scanner(Iterator[list[FileResult]]):
    """Walks `root` in parallel (gitignore-aware) and yields batches of FileResults as they finish.

    `known` maps relative paths to (size, mtime_ns, content_hash) from the last index: files that match
    by size+mtime are not read; files whose hash matches are not parsed. Both come back with
    unchanged=True so the caller can tell deleted files (absent) from unchanged ones.
    Iteration releases the GIL while waiting.
    """

    def __init__(
        self,
        root: str,
        known: dict[str, tuple[int, int, str]] | None = None,
        max_file_size: int = 2_000_000,
        threads: int = 0,
        batch_size: int = 256,
        timeout_ms: int = 2000,
        excludes: list[str] | None = None,
    ) -> None: ...
    def __iter__(self) -> Scanner: ...
    def __next__(self) -> list[FileResult]: ...
    def cancel(self) -> None: ...
    @property
    def files_seen(self) -> int: ...

class Document:
    """An open document kept as a tree-sitter tree and re-parsed incrementally after each edit."""

    def __init__(self, language: str, text: bytes, timeout_ms: int = 2000, max_file_size: int = 2_000_000) -> None:
        """Text that the scan's skip policy rejects (binary, minified, deeply nested, too large) is
        kept but not parsed: symbols() then reports `skipped` with the reason."""
    @property
    def language(self) -> str: ...
    @property
    def text(self) -> bytes: ...
    def edit(self, start_byte: int, old_end_byte: int, new_text: bytes) -> None:
        """Replace text[start_byte:old_end_byte] with new_text and re-parse incrementally.
        Raises ValueError for out-of-range or non-monotonic offsets (the document is left unchanged)."""
    def replace(self, text: bytes) -> None: ...
    def symbols(self) -> FileResult: ...
