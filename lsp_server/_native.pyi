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

class ParserCrashed(NativeError):
    """The parser worker died on a document's current text (that text is never parsed again)."""

class WorkerStats(TypedDict):
    started: int  # parser worker processes started so far
    deaths: int  # workers that died on a request (crash, hang, memory ceiling)
    hangs: int  # of those, killed by the watchdog
    alive: int
    memory_mb: int  # memory a worker may take beyond its start-up size
    hang_ms: int  # allowance past a request's parse budget before the watchdog kills
    command: list[str]

def languages() -> list[LanguageInfo]: ...
def detect_language(path: str, head: bytes | None = None) -> str | None: ...
def extract(
    path: str,
    data: bytes,
    language: str | None = None,
    timeout_ms: int = 2000,
    max_file_size: int | None = None,
    supervised: bool = True,
) -> FileResult:
    """Parses in a supervised worker unless supervised=False (trusted input only): a grammar that
    crashes, hangs or exceeds the memory ceiling makes the result `skipped` with the reason,
    "parser crashed (signal 6: SIGABRT): ...", "parser hung (...)", "parser exceeded ..."."""

def configure_workers(
    command: list[str] | None = None,
    cwd: str | None = None,
    memory_mb: int | None = None,
    hang_ms: int | None = None,
    idle_ms: int | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Changes how parser workers start and are bounded (None keeps a value); idle workers and the
    document host are stopped so the next request uses the new settings."""

def worker_stats() -> WorkerStats: ...

class TextMatch(TypedDict):
    path: str  # as listed
    line: int  # 1-based
    text: str  # the line, invalid UTF-8 replaced, cut around the match when very long
    char_start: int  # 0-based column of the match in the whole line, in characters
    utf16_range: tuple[int, int]  # the match in the whole line, UTF-16 units, 0-based, end exclusive
    utf8_range: tuple[int, int]  # the same in bytes
    before: list[str]  # context lines
    after: list[str]

class TextSearchFound(TypedDict):
    matches: list[TextMatch]
    files_searched: int
    truncated: bool  # more than `limit` matching lines exist
    timed_out: bool
    refused: list[tuple[str, str]]  # listed files not searched: (path, why)

def search_text(
    root: str,
    files: list[str],
    pattern: str,
    regex: bool = False,
    case_insensitive: bool = False,
    context: int = 0,
    limit: int = 50,
    timeout_ms: int = 5000,
) -> TextSearchFound:
    """Exact text (or linear-time regex) search over `files`, relative to `root`, first matches in
    the order given; only plain files inside the root by real path are read. A pattern that does
    not compile, or whose compiled form is too large, raises ValueError."""

def serve_worker() -> None:
    """A parser worker's main loop on stdin/stdout (`python -m lsp_server._worker`)."""

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
        supervised: bool = True,
    ) -> None: ...
    def __iter__(self) -> Scanner: ...
    def __next__(self) -> list[FileResult]: ...
    def cancel(self) -> None: ...
    @property
    def files_seen(self) -> int: ...

class Document:
    """An open document kept as a tree-sitter tree and re-parsed incrementally after each edit, in
    the supervised document host (or in this process with supervised=False)."""

    def __init__(
        self,
        language: str,
        text: bytes,
        timeout_ms: int = 2000,
        max_file_size: int = 2_000_000,
        supervised: bool = True,
    ) -> None:
        """Text that the scan's skip policy rejects (binary, minified, deeply nested, too large) is
        kept but not parsed: symbols() then reports `skipped` with the reason."""
    @property
    def failure(self) -> str | None:
        """Why the parser died on the current text, if it did."""
    @property
    def language(self) -> str: ...
    @property
    def text(self) -> bytes: ...
    def edit(self, start_byte: int, old_end_byte: int, new_text: bytes) -> None:
        """Replace text[start_byte:old_end_byte] with new_text and re-parse incrementally.
        Raises ValueError for out-of-range or non-monotonic offsets (the document is left unchanged)."""
    def replace(self, text: bytes) -> None: ...
    def symbols(self, references: bool = True) -> FileResult:
        """Raises ParserCrashed when the parser died on the current text."""
