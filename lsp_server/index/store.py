"""The SQLite store: the index's single source of truth.

Owns the schema and its migrations (PRAGMA user_version), the files / symbols / refs / outbox /
meta / embed_cache tables and the FTS5 table over identifier parts, every SQL statement of the
project, WAL mode, busy timeouts and `BEGIN IMMEDIATE` writes.

Must never:
  * build SQL from values: every value is a bound parameter; the only SQL text assembled at run
    time is picked from constant fragments (filters) or `?` placeholders;
  * hand FTS5 a query it did not build itself from sanitised, double-quoted terms;
  * touch LanceDB, embed, or parse source (callers hand it prepared rows).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lsp_server.index.globs import glob_matches
from lsp_server.index.records import RefRow, SymbolRow

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000
# New databases use 8 KiB pages: cached vectors (~0.8 KB each as float16) then fill pages with
# little slack (4 KiB pages fit only four). Existing databases keep their page size.
NEW_DB_PAGE_SIZE = 8192
# After a checkpoint resets the WAL, truncate the -wal file to this size instead of leaving it at
# its high-water mark (a first build grows it to tens of MB).
WAL_SIZE_LIMIT = 4 * 1024 * 1024
# Cached vectors are stored as float16 (half the bytes; cosine changes by ~1e-4). Vectors are
# rounded to that precision *before* they go to the cache and LanceDB alike
# (`to_cache_precision`), so a LanceDB table rebuilt from the cache equals the one built by
# embedding. float32 entries written by older versions are still read (told apart by length).
CACHE_DTYPE = np.float16
# SQLite's default limit on bound parameters is 32766 on 3.32+; stay far below for IN (...) lists.
_CHUNK = 500

_SCHEMA_V1 = [
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE files(
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        language TEXT,
        state TEXT NOT NULL CHECK (state IN ('indexed', 'skipped', 'error')),
        reason TEXT,
        has_error INTEGER NOT NULL DEFAULT 0,
        timed_out INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID""",
    """CREATE TABLE symbols(
        id INTEGER PRIMARY KEY,
        symbol_id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        language TEXT NOT NULL,
        name TEXT NOT NULL,
        name_lower TEXT NOT NULL,
        qualified_name TEXT NOT NULL,
        qualified_lower TEXT NOT NULL,
        kind TEXT NOT NULL,
        container TEXT,
        parent_id TEXT,
        start_line INTEGER NOT NULL,
        end_line INTEGER NOT NULL,
        ranges TEXT NOT NULL,
        signature TEXT NOT NULL,
        doc TEXT,
        snippet TEXT NOT NULL,
        embed_text TEXT NOT NULL,
        text_hash TEXT NOT NULL
    )""",
    "CREATE INDEX symbols_path ON symbols(path)",
    "CREATE INDEX symbols_name_lower ON symbols(name_lower)",
    "CREATE INDEX symbols_qualified_lower ON symbols(qualified_lower)",
    """CREATE TABLE refs(
        path TEXT NOT NULL,
        from_symbol TEXT,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        line INTEGER NOT NULL,
        col INTEGER NOT NULL
    )""",
    "CREATE INDEX refs_path ON refs(path)",
    "CREATE INDEX refs_name ON refs(name)",
    "CREATE INDEX refs_from ON refs(from_symbol)",
    # One pending projection change per symbol (the latest wins). `seq` identifies the write that
    # queued it, so the sync worker acknowledges a row only if nothing re-queued it meanwhile.
    """CREATE TABLE outbox(
        symbol_id TEXT PRIMARY KEY,
        op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
        text_hash TEXT NOT NULL,
        seq INTEGER NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX outbox_seq ON outbox(seq)",
    """CREATE TABLE embed_cache(
        model_id TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        used INTEGER NOT NULL,
        PRIMARY KEY (model_id, text_hash)
    ) WITHOUT ROWID""",
    # Lexical index over identifier parts (rowid = symbols.id). porter stems English words in docs
    # and queries alike; identifiers were already split into lowercase parts by records.py.
    """CREATE VIRTUAL TABLE symbol_fts USING fts5(
        name, qualified, body, path, tokenize = 'porter unicode61'
    )""",
    "INSERT INTO meta(key, value) VALUES ('generation', '0'), ('outbox_seq', '0'), ('cache_tick', '0')",
]

# v2: files get integer ids; refs point at files and enclosing symbols by integer id (the largest
# table shrinks by half); embed_cache becomes a rowid table (large blobs in a WITHOUT ROWID table
# cost ~3x their size).
_V2_FILES = [
    """CREATE TABLE files_v2(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        language TEXT,
        state TEXT NOT NULL CHECK (state IN ('indexed', 'skipped', 'error')),
        reason TEXT,
        has_error INTEGER NOT NULL DEFAULT 0,
        timed_out INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO files_v2(path, size, mtime_ns, content_hash, language, state, reason, has_error, timed_out) "
    "SELECT path, size, mtime_ns, content_hash, language, state, reason, has_error, timed_out FROM files",
    "DROP TABLE files",
    "ALTER TABLE files_v2 RENAME TO files",
]
_V2_REFS = [
    # References live and die with their file: file_id and from_id (symbols.id of the enclosing
    # symbol, always in the same file) are integers.
    """CREATE TABLE refs_v2(
        file_id INTEGER NOT NULL,
        from_id INTEGER,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        line INTEGER NOT NULL,
        col INTEGER NOT NULL
    )""",
    "INSERT INTO refs_v2(file_id, from_id, name, target, kind, line, col) "
    "SELECT f.id, s.id, r.name, r.target, r.kind, r.line, r.col FROM refs r "
    "JOIN files f ON f.path = r.path LEFT JOIN symbols s ON s.symbol_id = r.from_symbol",
    "DROP TABLE refs",
    "ALTER TABLE refs_v2 RENAME TO refs",
    "CREATE INDEX refs_file ON refs(file_id)",
    "CREATE INDEX refs_name ON refs(name)",
    "CREATE INDEX refs_from ON refs(from_id)",
]
_V2_CACHE = [
    # Vectors by what was embedded, not by symbol: branch switches, reverts and renames reuse them.
    """CREATE TABLE embed_cache_v2(
        id INTEGER PRIMARY KEY,
        model_id TEXT NOT NULL,
        text_hash TEXT NOT NULL,
        vector BLOB NOT NULL,
        used INTEGER NOT NULL
    )""",
    "INSERT INTO embed_cache_v2(model_id, text_hash, vector, used) "
    "SELECT model_id, text_hash, vector, used FROM embed_cache",
    "DROP TABLE embed_cache",
    "ALTER TABLE embed_cache_v2 RENAME TO embed_cache",
    "CREATE UNIQUE INDEX embed_cache_key ON embed_cache(model_id, text_hash)",
]


def _migrate_to_v2(con: sqlite3.Connection) -> None:
    # Development builds wrote files/refs in the v2 layout while still calling it version 1:
    # convert only the tables that still have the v1 layout.
    def columns(table: str) -> set[str]:
        return {row[1] for row in con.execute("SELECT * FROM pragma_table_info(?)", (table,))}

    for table, marker, statements in (
        ("files", "id", _V2_FILES),  # before refs: their conversion looks up file ids
        ("refs", "file_id", _V2_REFS),
        ("embed_cache", "id", _V2_CACHE),
    ):
        if marker not in columns(table):
            for statement in statements:
                con.execute(statement)


# Migrations: MIGRATIONS[n] takes user_version n-1 to n (a list of statements, or a function of
# the connection for conditional steps). Append, never edit.
MIGRATIONS: dict[int, list[str] | Callable[[sqlite3.Connection], None]] = {1: _SCHEMA_V1, 2: _migrate_to_v2}

# BM25 column weights (name parts, container, signature/doc/body words, path). Name parts lead,
# but only by a little: a natural-language question's words mostly match docs and bodies, and a
# 10x name weight let any symbol whose name holds one common query word ("get", "value") outrank
# the documented answer (search_quality dev split: lexical-only MRR@10 0.334 -> 0.362, hybrid
# 0.460 -> 0.492). Exact identifier queries do not depend on this: search.py's exact tier ranks them.
_BM25 = "bm25(symbol_fts, 1.5, 1.0, 1.0, 0.25)"

_SYMBOL_COLUMNS = (
    "s.symbol_id, s.path, s.language, s.name, s.qualified_name, s.kind, s.container, s.parent_id, "
    "s.start_line, s.end_line, s.ranges, s.signature, s.doc, s.snippet, s.embed_text, s.text_hash"
)
# What ranking reads of a candidate (index.SymbolBrief): no JSON, no body text; the enclosing
# symbol's doc and whether the row still waits for its vector come along in the same row.
_BRIEF_COLUMNS = (
    "s.id, s.symbol_id, s.path, s.language, s.name, s.qualified_name, s.kind, s.container, s.signature, "
    "s.text_hash, p.doc, o.symbol_id IS NOT NULL, s.start_line"
)
_BRIEF_FROM = (
    "symbols s LEFT JOIN symbols p ON p.symbol_id = s.parent_id LEFT JOIN outbox o ON o.symbol_id = s.symbol_id"
)


class StoreError(Exception):
    """The SQLite store cannot be used (corrupt, from a newer version, unwritable)."""


class NewerSchemaError(StoreError):
    pass


@dataclass(frozen=True)
class SymbolFilter:
    """Search filters; all values end up as bound parameters."""

    language: str | None = None
    kind: str | None = None
    path_glob: str | None = None

    def __bool__(self) -> bool:
        return bool(self.language or self.kind or self.path_glob)

    def sql(self, alias: str = "s") -> tuple[str, list]:
        """A constant SQL fragment (' AND ...') plus its parameters."""
        clauses: list[str] = []
        params: list = []
        if self.language:
            clauses.append(f" AND {alias}.language = ?")
            params.append(self.language.lower())
        if self.kind:
            clauses.append(f" AND {alias}.kind = ?")
            params.append(self.kind.lower())
        if self.path_glob:
            clauses.append(f" AND symscope_glob(?, {alias}.path)")
            params.append(self.path_glob)
        return "".join(clauses), params


@dataclass(frozen=True)
class OutboxRow:
    symbol_id: str
    op: str
    text_hash: str
    seq: int
    priority: int = 0  # EMBED_PRIORITY_SQL's class: the order rows are embedded in

    @property
    def cursor(self) -> tuple[int, int, str]:
        """The keyset position just after this row, for `Store.pending(after=...)`."""
        return (self.priority, self.seq, self.symbol_id)


# Kinds whose vectors answer most questions ("where do we retry uploads?" lands on a function or a
# type), so they are embedded before fields, variables, keys and headings on a first index.
EMBED_FIRST_KINDS = ("function", "method", "constructor", "class", "interface", "struct", "enum", "module")
# The embedding order of an outbox row `o` joined to its symbol `s`; the one bound parameter is a
# JSON array of boosted paths (bound, never formatted in). Constants only are formatted in here.
EMBED_PRIORITY_SQL = (
    "CASE WHEN o.op = 'delete' THEN 0"
    " WHEN s.path IN (SELECT value FROM json_each(?)) THEN 1"
    f" WHEN s.kind IN ({', '.join(repr(k) for k in EMBED_FIRST_KINDS)}) THEN 2"
    " ELSE 3 END"
)


@dataclass(frozen=True)
class PreparedFile:
    """Everything one file's transaction writes; built outside the transaction."""

    path: str
    size: int
    mtime_ns: int
    content_hash: str
    language: str | None
    state: str  # indexed | skipped | error
    reason: str | None
    has_error: bool
    timed_out: bool
    symbols: list[SymbolRow]
    refs: list[RefRow]


def _glob_sql(pattern: str | None, path: str | None) -> int:
    if pattern is None or path is None:
        return 0
    return 1 if glob_matches(pattern, path) else 0


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("PRAGMA temp_store = MEMORY")
    con.execute("PRAGMA cache_size = -32000")
    con.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT:d}")
    con.create_function("symscope_glob", 2, _glob_sql, deterministic=True)
    return con


class Store:
    """One SQLite database. Writes go through one connection under a lock (`write()`); reads use a
    connection per thread, so a long write never blocks searches (WAL)."""

    def __init__(self, path: Path, *, writable: bool) -> None:
        self.path = path
        self.writable = writable
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False
        con = self._reader()
        # Touch the file: a file that is not a database fails here, not in the middle of a search.
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if con.execute("PRAGMA page_count").fetchone()[0] == 0:
            # Only an empty file takes a page size (before WAL mode writes its first page).
            con.execute(f"PRAGMA page_size = {NEW_DB_PAGE_SIZE:d}")
        # Any process may create or migrate the schema (idempotent, under BEGIN IMMEDIATE): a
        # reader that starts first must not fail. Index *data* is written by the writer only.
        mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"cannot switch {path} to WAL mode (got {mode})")
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise NewerSchemaError(
                f"{path} has schema version {version}, newer than this symscope's {SCHEMA_VERSION}: "
                "upgrade symscope or choose another --index-dir"
            )
        if version < SCHEMA_VERSION:
            self._migrate()

    # -- connections --------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self._closed:
                raise StoreError("store is closed")
            con = _connect(self.path)
            self._local.con = con
            with self._connections_lock:
                self._connections.append(con)
        return con

    @contextmanager
    def write(self, *, bump_generation: bool = False) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction on the write connection (rolled back on any error)."""
        if not self.writable:
            raise StoreError("this process is not the index writer")
        with self._write_lock:
            con = self._writer()
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                if bump_generation:
                    con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    def _writer(self) -> sqlite3.Connection:
        con = getattr(self, "_wcon", None)
        if con is None:
            con = _connect(self.path)
            self._wcon = con
            with self._connections_lock:
                self._connections.append(con)
        return con

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            for con in self._connections:
                try:
                    con.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._wcon = None
        self._local = threading.local()

    def _migrate(self) -> None:
        with self._write_lock:
            con = self._writer()
            while True:
                version = con.execute("PRAGMA user_version").fetchone()[0]
                if version >= SCHEMA_VERSION:
                    return
                target = version + 1
                con.execute("BEGIN IMMEDIATE")
                try:
                    # Re-read inside the lock: another process may have migrated meanwhile.
                    if con.execute("PRAGMA user_version").fetchone()[0] != version:
                        con.execute("ROLLBACK")
                        continue
                    step = MIGRATIONS[target]
                    if callable(step):
                        step(con)
                    else:
                        for statement in step:
                            con.execute(statement)
                    con.execute(f"PRAGMA user_version = {target:d}")
                    con.execute("COMMIT")
                    log.info("index schema migrated to version %d", target)
                except BaseException:
                    con.execute("ROLLBACK")
                    raise

    def schema_version(self) -> int:
        return self._reader().execute("PRAGMA user_version").fetchone()[0]

    def integrity_problem(self) -> str | None:
        """None when `PRAGMA quick_check` passes, else its first complaint."""
        rows = self._reader().execute("PRAGMA quick_check(1)").fetchall()
        first = rows[0][0] if rows else "ok"
        return None if first == "ok" else str(first)

    # -- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._reader().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.write() as con:
            if value is None:
                con.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                con.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def generation(self) -> int:
        """Bumped by every write that changes symbols: readers refresh in-memory tables on change."""
        return int(self.get_meta("generation", "0") or 0)

    # -- files --------------------------------------------------------------------------------

    def known_files(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, content_hash), as `_native.Scanner(known=...)` wants it."""
        return {
            path: (size, mtime, content_hash)
            for path, size, mtime, content_hash in self._reader().execute(
                "SELECT path, size, mtime_ns, content_hash FROM files"
            )
        }

    def paths_not_indexed(self) -> set[str]:
        """Files the last scan skipped or could not read."""
        return {r[0] for r in self._reader().execute("SELECT path FROM files WHERE state != 'indexed'")}

    def has_files(self) -> bool:
        return self._reader().execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    def file_states(self) -> dict[str, int]:
        return dict(self._reader().execute("SELECT state, count(*) FROM files GROUP BY state"))

    def skip_reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason, n in self._reader().execute(
            "SELECT reason, count(*) FROM files WHERE state = 'skipped' GROUP BY reason"
        ):
            # "too large (3000000 bytes > 2000000)" -> "too large": one bucket per kind of reason.
            key = (reason or "skipped").split(" (")[0]
            counts[key] = counts.get(key, 0) + n
        return counts

    def text_searchable_paths(self) -> list[str]:
        """Every file the scan took (indexed or skipped by policy, not unreadable), in path order."""
        return [r[0] for r in self._reader().execute("SELECT path FROM files WHERE state != 'error' ORDER BY path")]

    def parser_failures(self, limit: int = 20) -> list[str]:
        """Files whose parser crashed, hung or ran out of memory ("path: reason"): skipped until
        their content changes (supervise.rs words every such reason "parser ...")."""
        return [
            f"{path}: {reason}"
            for path, reason in self._reader().execute(
                "SELECT path, reason FROM files WHERE state = 'skipped' AND reason LIKE ? ORDER BY path LIMIT ?",
                ("parser %", limit),
            )
        ]

    def file_errors(self, limit: int = 20) -> list[str]:
        return [
            f"{path}: {reason}"
            for path, reason in self._reader().execute(
                "SELECT path, reason FROM files WHERE state = 'error' ORDER BY path LIMIT ?", (limit,)
            )
        ]

    def force_rescan(self) -> None:
        """Make every file look changed to the scanner (stat and hash mismatch), so the next
        update re-parses all of them; vectors are reused through the embedding cache."""
        with self.write() as con:
            con.execute("UPDATE files SET mtime_ns = -1, content_hash = ''")

    def apply_files(
        self,
        files: Sequence[PreparedFile],
        touched: Sequence[tuple[str, int, int]] = (),
        deleted: Sequence[str] = (),
    ) -> int:
        """One transaction: replace each file's symbols, refs and lexical rows, queue projection
        changes in the outbox, refresh stat data of unchanged files, drop deleted files.
        Returns how many outbox rows were queued."""
        if not files and not touched and not deleted:
            return 0
        queued = 0
        with self.write(bump_generation=bool(files or deleted)) as con:
            seq = self._next_seq(con)
            for path, size, mtime_ns in touched:
                con.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))
            for path in deleted:
                queued += self._replace_file_symbols(con, None, path, [], [], seq)
                con.execute("DELETE FROM files WHERE path = ?", (path,))
            for f in files:
                file_id = con.execute(
                    "INSERT INTO files(path, size, mtime_ns, content_hash, language, state, reason, "
                    "has_error, timed_out) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, "
                    "content_hash = excluded.content_hash, language = excluded.language, "
                    "state = excluded.state, reason = excluded.reason, has_error = excluded.has_error, "
                    "timed_out = excluded.timed_out RETURNING id",
                    (
                        f.path,
                        f.size,
                        f.mtime_ns,
                        f.content_hash,
                        f.language,
                        f.state,
                        f.reason,
                        int(f.has_error),
                        int(f.timed_out),
                    ),
                ).fetchone()[0]
                queued += self._replace_file_symbols(con, file_id, f.path, f.symbols, f.refs, seq)
        return queued

    @staticmethod
    def _next_seq(con: sqlite3.Connection) -> int:
        con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'outbox_seq'")
        return int(con.execute("SELECT value FROM meta WHERE key = 'outbox_seq'").fetchone()[0])

    def _replace_file_symbols(
        self,
        con: sqlite3.Connection,
        file_id: int | None,
        path: str,
        symbols: Sequence[SymbolRow],
        refs: Sequence[RefRow],
        seq: int,
    ) -> int:
        old = dict(con.execute("SELECT symbol_id, text_hash FROM symbols WHERE path = ?", (path,)))
        old_rowids = [r[0] for r in con.execute("SELECT id FROM symbols WHERE path = ?", (path,))]
        for start in range(0, len(old_rowids), _CHUNK):
            chunk = old_rowids[start : start + _CHUNK]
            con.execute(f"DELETE FROM symbol_fts WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)
        con.execute("DELETE FROM symbols WHERE path = ?", (path,))
        con.execute("DELETE FROM refs WHERE file_id IN (SELECT id FROM files WHERE path = ?)", (path,))
        row_ids: dict[str, int] = {}
        outbox: list[tuple[str, str, str, int]] = []
        new_ids = {row.symbol_id for row in symbols}
        if symbols:
            # Ids are assigned here (one writer, inside its transaction) so both tables can be
            # filled with executemany instead of a statement per symbol.
            first = con.execute("SELECT coalesce(max(id), 0) + 1 FROM symbols").fetchone()[0]
            row_ids = {row.symbol_id: first + i for i, row in enumerate(symbols)}
            con.executemany(
                "INSERT INTO symbols(id, symbol_id, path, language, name, name_lower, qualified_name, "
                "qualified_lower, kind, container, parent_id, start_line, end_line, ranges, signature, "
                "doc, snippet, embed_text, text_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        first + i,
                        row.symbol_id,
                        row.path,
                        row.language,
                        row.name,
                        row.name.lower(),
                        row.qualified_name,
                        row.qualified_name.lower(),
                        row.kind,
                        row.container,
                        row.parent_id,
                        row.start_line,
                        row.end_line,
                        row.ranges,
                        row.signature,
                        row.doc,
                        row.snippet,
                        row.embed_text,
                        row.text_hash,
                    )
                    for i, row in enumerate(symbols)
                ],
            )
            con.executemany(
                "INSERT INTO symbol_fts(rowid, name, qualified, body, path) VALUES (?, ?, ?, ?, ?)",
                [
                    (first + i, row.fts_name, row.fts_qualified, row.fts_text, row.fts_path)
                    for i, row in enumerate(symbols)
                ],
            )
            outbox = [
                (row.symbol_id, "upsert", row.text_hash, seq)
                for row in symbols
                if old.get(row.symbol_id) != row.text_hash
            ]
        for gone in old.keys() - new_ids:
            outbox.append((gone, "delete", "", seq))
        if refs and file_id is not None:
            con.executemany(
                "INSERT INTO refs(file_id, from_id, name, target, kind, line, col) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(file_id, row_ids.get(r.from_symbol), r.name, r.target, r.kind, r.line, r.col) for r in refs],
            )
        if outbox:
            con.executemany(
                "INSERT INTO outbox(symbol_id, op, text_hash, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(symbol_id) DO UPDATE SET op = excluded.op, text_hash = excluded.text_hash, "
                "seq = excluded.seq",
                outbox,
            )
        return len(outbox)

    # -- outbox and embedding cache -----------------------------------------------------------

    def pending_count(self) -> int:
        return self._reader().execute("SELECT count(*) FROM outbox").fetchone()[0]

    def pending_map(self) -> dict[str, tuple[str, str]]:
        """symbol_id -> (op, text_hash) of every pending row."""
        return {sid: (op, h) for sid, op, h in self._reader().execute("SELECT symbol_id, op, text_hash FROM outbox")}

    def pending(
        self, limit: int, after: tuple[int, int, str] = (-1, -1, ""), boost_paths: Sequence[str] = ()
    ) -> list[OutboxRow]:
        """Pending rows in embedding order, keyset-paginated by (priority, seq, symbol_id).

        Priority (see `EMBED_PRIORITY_SQL`): deletes first (they cost nothing), then symbols of
        `boost_paths` (open documents, files just changed), then functions, methods and types,
        then everything else; oldest first within a class.
        """
        rows = self._reader().execute(
            "SELECT symbol_id, op, text_hash, seq, priority FROM ("
            f"  SELECT o.symbol_id, o.op, o.text_hash, o.seq, {EMBED_PRIORITY_SQL} AS priority"
            "   FROM outbox o LEFT JOIN symbols s ON s.symbol_id = o.symbol_id"
            ") WHERE (priority, seq, symbol_id) > (?, ?, ?) ORDER BY priority, seq, symbol_id LIMIT ?",
            (json.dumps(list(boost_paths)), *after, limit),
        )
        return [OutboxRow(*r) for r in rows]

    def pending_ids(self, symbol_ids: Iterable[str]) -> set[str]:
        return {
            row[0]
            for chunk in _chunks(list(symbol_ids))
            for row in self._reader().execute(
                f"SELECT symbol_id FROM outbox WHERE symbol_id IN ({','.join('?' * len(chunk))})", chunk
            )
        }

    def embed_inputs(self, symbol_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """symbol_id -> (text_hash, embed_text) for symbols that still exist."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(list(symbol_ids)):
            for sid, h, text in self._reader().execute(
                f"SELECT symbol_id, text_hash, embed_text FROM symbols WHERE symbol_id IN "
                f"({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[sid] = (h, text)
        return out

    def cached_vectors(self, model_id: str, hashes: Iterable[str], dim: int) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for chunk in _chunks(list(set(hashes))):
            for h, blob in self._reader().execute(
                f"SELECT text_hash, vector FROM embed_cache WHERE model_id = ? AND text_hash IN "
                f"({','.join('?' * len(chunk))})",
                [model_id, *chunk],
            ):
                vec = _decode_vector(blob, dim)
                if vec is not None:
                    out[h] = vec
        return out

    def put_vectors(self, model_id: str, vectors: dict[str, np.ndarray]) -> None:
        if not vectors:
            return
        with self.write() as con:
            tick = self._tick(con)
            con.executemany(
                "INSERT INTO embed_cache(model_id, text_hash, vector, used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(model_id, text_hash) DO UPDATE SET vector = excluded.vector, used = excluded.used",
                [(model_id, h, np.ascontiguousarray(v, dtype=CACHE_DTYPE).tobytes(), tick) for h, v in vectors.items()],
            )

    def touch_cache(self, model_id: str, hashes: Iterable[str]) -> None:
        """Mark cache entries as used now (the garbage collector keeps recently used ones)."""
        hashes = list(set(hashes))
        if not hashes:
            return
        with self.write() as con:
            tick = self._tick(con)
            for chunk in _chunks(hashes):
                con.execute(
                    f"UPDATE embed_cache SET used = ? WHERE model_id = ? AND text_hash IN "
                    f"({','.join('?' * len(chunk))})",
                    [tick, model_id, *chunk],
                )

    @staticmethod
    def _tick(con: sqlite3.Connection) -> int:
        row = con.execute("SELECT value FROM meta WHERE key = 'cache_tick'").fetchone()
        return int(row[0]) if row else 0

    def advance_cache_tick(self) -> None:
        with self.write() as con:
            con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'cache_tick'")

    def gc_cache(self, keep_unused: int) -> int:
        """Drop the least recently used cache entries no current symbol needs, keeping at most
        `keep_unused` of them (enough to make a branch switch back cheap)."""
        con = self._reader()
        cached = con.execute("SELECT count(*) FROM embed_cache").fetchone()[0]
        live = con.execute("SELECT count(*) FROM symbols").fetchone()[0]
        if cached <= live + keep_unused:
            return 0  # even if every live symbol had its own entry, nothing is over the bound
        with self.write() as con:
            unused = con.execute(
                "SELECT count(*) FROM embed_cache WHERE text_hash NOT IN (SELECT text_hash FROM symbols)"
            ).fetchone()[0]
            excess = unused - keep_unused
            if excess <= 0:
                return 0
            con.execute(
                "DELETE FROM embed_cache WHERE id IN (SELECT id FROM embed_cache WHERE text_hash NOT IN "
                "(SELECT text_hash FROM symbols) ORDER BY used LIMIT ?)",
                (excess,),
            )
            return excess

    def cache_size(self, model_id: str | None = None) -> int:
        if model_id is None:
            return self._reader().execute("SELECT count(*) FROM embed_cache").fetchone()[0]
        return self._reader().execute("SELECT count(*) FROM embed_cache WHERE model_id = ?", (model_id,)).fetchone()[0]

    def ack(self, rows: Sequence[OutboxRow]) -> int:
        """Remove outbox rows that were applied, but only those nobody re-queued since (same seq
        and hash): a symbol edited while its old text was being embedded stays pending."""
        if not rows:
            return 0
        with self.write() as con:
            before = con.total_changes
            con.executemany(
                "DELETE FROM outbox WHERE symbol_id = ? AND seq = ? AND op = ? AND text_hash = ?",
                [(r.symbol_id, r.seq, r.op, r.text_hash) for r in rows],
            )
            return con.total_changes - before

    def enqueue(self, upserts: Sequence[tuple[str, str]], deletes: Sequence[str]) -> int:
        """Queue projection repairs found by reconciliation (symbol_id, text_hash) / symbol_id."""
        if not upserts and not deletes:
            return 0
        with self.write() as con:
            seq = self._next_seq(con)
            con.executemany(
                "INSERT INTO outbox(symbol_id, op, text_hash, seq) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(symbol_id) DO UPDATE SET op = excluded.op, text_hash = excluded.text_hash, "
                "seq = excluded.seq",
                [(sid, "upsert", h, seq) for sid, h in upserts] + [(sid, "delete", "", seq) for sid in deletes],
            )
        return len(upserts) + len(deletes)

    # -- symbols ------------------------------------------------------------------------------

    def symbol_hashes(self) -> dict[str, str]:
        return dict(self._reader().execute("SELECT symbol_id, text_hash FROM symbols"))

    def counts(self) -> tuple[int, int]:
        con = self._reader()
        files = con.execute("SELECT count(*) FROM files WHERE state = 'indexed'").fetchone()[0]
        symbols = con.execute("SELECT count(*) FROM symbols").fetchone()[0]
        return files, symbols

    def symbols_by_id(self, symbol_ids: Sequence[str]) -> dict[str, tuple]:
        out: dict[str, tuple] = {}
        for chunk in _chunks(list(symbol_ids)):
            for row in self._reader().execute(
                f"SELECT {_SYMBOL_COLUMNS} FROM symbols s WHERE s.symbol_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[row[0]] = row
        return out

    def symbols_by_rowid(self, rowids: Sequence[int]) -> dict[int, tuple]:
        out: dict[int, tuple] = {}
        for chunk in _chunks(list(rowids)):
            for row in self._reader().execute(
                f"SELECT s.id, {_SYMBOL_COLUMNS} FROM symbols s WHERE s.id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[row[0]] = row[1:]
        return out

    def symbols_in_file(self, path: str) -> list[tuple]:
        return (
            self._reader()
            .execute(f"SELECT {_SYMBOL_COLUMNS} FROM symbols s WHERE s.path = ? ORDER BY s.id", (path,))
            .fetchall()
        )

    def iter_symbols(self, batch: int = 2000) -> Iterator[tuple]:
        last = 0
        con = self._reader()
        while True:
            rows = con.execute(
                f"SELECT s.id, {_SYMBOL_COLUMNS} FROM symbols s WHERE s.id > ? ORDER BY s.id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield row[1:]
            last = rows[-1][0]

    def name_table(self) -> tuple[int, list[tuple]]:
        """(generation, rows of (id, name, kind, language, path, qualified_name)) read in one
        snapshot, for the in-memory fuzzy table."""
        con = self._reader()
        con.execute("BEGIN")
        try:
            generation = int(con.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            rows = con.execute("SELECT id, name, kind, language, path, qualified_name FROM symbols").fetchall()
        finally:
            con.execute("COMMIT")
        return generation, rows

    def filtered_ids(self, flt: SymbolFilter, limit: int) -> list[str]:
        """symbol_ids passing the filter, at most `limit` (callers pass limit+1 to detect overflow)."""
        sql, params = flt.sql()
        return [
            r[0]
            for r in self._reader().execute(f"SELECT s.symbol_id FROM symbols s WHERE 1{sql} LIMIT ?", [*params, limit])
        ]

    def filtered_ids_among(self, flt: SymbolFilter, symbol_ids: Sequence[str]) -> list[str]:
        """The given symbol_ids that pass the filter."""
        sql, params = flt.sql()
        out: list[str] = []
        for chunk in _chunks(list(symbol_ids)):
            out.extend(
                r[0]
                for r in self._reader().execute(
                    f"SELECT s.symbol_id FROM symbols s WHERE s.symbol_id IN ({','.join('?' * len(chunk))}){sql}",
                    [*chunk, *params],
                )
            )
        return out

    # -- lexical search -----------------------------------------------------------------------

    def fts_search(self, terms: Sequence[str], flt: SymbolFilter, limit: int) -> list[tuple[int, float]]:
        """(symbols.id, bm25) best first, for any of `terms` (identifier parts, word characters
        only). Each term is double-quoted, so FTS5 operators in user text are just words, and the
        whole expression is bound as a parameter."""
        terms = [t for t in terms if t]
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        sql, params = flt.sql()
        if flt:
            query = (
                f"SELECT symbol_fts.rowid, {_BM25} AS rank FROM symbol_fts "
                f"JOIN symbols s ON s.id = symbol_fts.rowid WHERE symbol_fts MATCH ?{sql} ORDER BY rank LIMIT ?"
            )
        else:
            query = f"SELECT rowid, {_BM25} AS rank FROM symbol_fts WHERE symbol_fts MATCH ? ORDER BY rank LIMIT ?"
        return self._reader().execute(query, [match, *params, limit]).fetchall()

    def fts_words(self, rowids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """id -> (name words, body words) as stored in the lexical index (for explanations)."""
        out: dict[int, tuple[str, str]] = {}
        for chunk in _chunks(list(rowids)):
            for rowid, name, body in self._reader().execute(
                f"SELECT rowid, name, body FROM symbol_fts WHERE rowid IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[rowid] = (name, body)
        return out

    def exact_names(
        self, names: Sequence[str], qualified: Sequence[str], flt: SymbolFilter, limit: int
    ) -> list[tuple[int, str, str, str, str]]:
        """(id, symbol_id, name, qualified_name, matched) for symbols whose name or qualified name
        equals one of the given (lowercased) strings."""
        out: list[tuple[int, str, str, str, str]] = []
        sql, params = flt.sql()
        con = self._reader()
        for column, values in (("name_lower", names), ("qualified_lower", qualified)):
            for value in dict.fromkeys(values):
                out.extend(
                    (*row, value)
                    for row in con.execute(
                        f"SELECT s.id, s.symbol_id, s.name, s.qualified_name FROM symbols s "
                        f"WHERE s.{column} = ?{sql} LIMIT ?",
                        [value, *params, limit],
                    )
                )
        return out

    def symbol_ids_for_rowids(self, rowids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in _chunks(list(rowids)):
            out.update(
                self._reader().execute(
                    f"SELECT id, symbol_id FROM symbols WHERE id IN ({','.join('?' * len(chunk))})", chunk
                )
            )
        return out

    # -- ranking candidates: one light row per symbol (_BRIEF_COLUMNS), what search.py ranks on --

    def lexical_candidates(
        self, terms: Sequence[str], names: Sequence[str], qualified: Sequence[str], flt: SymbolFilter, limit: int
    ) -> tuple[list[tuple], list[tuple]]:
        """Both lexical lists of one query, read in one snapshot: exact rows (matched, *brief) for
        names / qualified names equal to the given lowercased strings, and bm25 rows (bm25, name
        words, body words, *brief), best first, as `exact_names` and `fts_search` rank them."""
        sql, params = flt.sql()
        con = self._reader()
        con.execute("BEGIN")
        try:
            exact: list[tuple] = []
            for column, values in (("name_lower", names), ("qualified_lower", qualified)):
                for value in dict.fromkeys(values):
                    exact.extend(
                        (value, *row)
                        for row in con.execute(
                            f"SELECT {_BRIEF_COLUMNS} FROM {_BRIEF_FROM} WHERE s.{column} = ?{sql} LIMIT ?",
                            [value, *params, limit],
                        )
                    )
            ranked = self.fts_search(terms, flt, limit)
            rows: dict[int, tuple] = {}
            for chunk in _chunks([rowid for rowid, _ in ranked]):
                for row in con.execute(
                    f"SELECT f.name, f.body, {_BRIEF_COLUMNS} FROM {_BRIEF_FROM} JOIN symbol_fts f ON f.rowid = s.id "
                    f"WHERE s.id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ):
                    rows[row[2]] = row
        finally:
            con.execute("COMMIT")
        return exact, [(rank, *rows[rowid]) for rowid, rank in ranked if rowid in rows]

    def briefs(self, symbol_ids: Sequence[str]) -> dict[str, tuple]:
        """symbol_id -> brief row (_BRIEF_COLUMNS) of the symbols that exist."""
        out: dict[str, tuple] = {}
        for chunk in _chunks(list(symbol_ids)):
            for row in self._reader().execute(
                f"SELECT {_BRIEF_COLUMNS} FROM {_BRIEF_FROM} WHERE s.symbol_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out[row[1]] = row
        return out

    # -- references ---------------------------------------------------------------------------

    def refs_from(self, symbol_id: str, limit: int) -> list[tuple[str, str, str, int]]:
        """(name, target, path, line) of calls made inside a symbol."""
        return (
            self._reader()
            .execute(
                "SELECT r.name, r.target, s.path, r.line FROM symbols s JOIN refs r ON r.from_id = s.id "
                "WHERE s.symbol_id = ? AND r.kind = 'call' ORDER BY r.line LIMIT ?",
                (symbol_id, limit),
            )
            .fetchall()
        )

    def refs_to(self, name: str, limit: int) -> list[tuple[str | None, str, str, int]]:
        """(from_symbol, target, path, line) of calls to `name` anywhere."""
        return (
            self._reader()
            .execute(
                "SELECT s.symbol_id, r.target, f.path, r.line FROM refs r JOIN files f ON f.id = r.file_id "
                "LEFT JOIN symbols s ON s.id = r.from_id WHERE r.name = ? AND r.kind = 'call' LIMIT ?",
                (name, limit),
            )
            .fetchall()
        )

    def imports_in(self, path: str) -> list[tuple[str, str]]:
        """(name, target) of the imports of one file."""
        return (
            self._reader()
            .execute(
                "SELECT r.name, r.target FROM refs r JOIN files f ON f.id = r.file_id "
                "WHERE f.path = ? AND r.kind = 'import'",
                (path,),
            )
            .fetchall()
        )

    def ref_sites_from(self, symbol_id: str, limit: int) -> list[tuple[str, str, str, str, int, int]]:
        """(name, target, kind, path, line, col) of the calls made inside a symbol, in line order."""
        return (
            self._reader()
            .execute(
                "SELECT r.name, r.target, r.kind, s.path, r.line, r.col FROM symbols s JOIN refs r ON r.from_id = s.id "
                "WHERE s.symbol_id = ? AND r.kind = 'call' ORDER BY r.line, r.col LIMIT ?",
                (symbol_id, limit),
            )
            .fetchall()
        )

    def ref_sites_named(self, name: str, limit: int) -> list[tuple[str | None, str, str, str, int, int]]:
        """(from_symbol, target, kind, path, line, col) of every reference (call or import) to `name`."""
        return (
            self._reader()
            .execute(
                "SELECT s.symbol_id, r.target, r.kind, f.path, r.line, r.col FROM refs r JOIN files f ON f.id = r.file_id "
                "LEFT JOIN symbols s ON s.id = r.from_id WHERE r.name = ? ORDER BY f.path, r.line, r.col LIMIT ?",
                (name, limit),
            )
            .fetchall()
        )

    def definitions_named(self, name: str, limit: int) -> list[tuple]:
        return (
            self._reader()
            .execute(f"SELECT {_SYMBOL_COLUMNS} FROM symbols s WHERE s.name = ? LIMIT ?", (name, limit))
            .fetchall()
        )

    # -- size ---------------------------------------------------------------------------------

    def bytes_on_disk(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            try:
                total += p.stat().st_size
            except OSError:
                pass
        return total


def to_cache_precision(vectors: np.ndarray) -> np.ndarray:
    """float32 vectors rounded to what the embedding cache stores, so LanceDB gets the very
    values a rebuild from the cache would give it."""
    return np.asarray(vectors, dtype=np.float32).astype(CACHE_DTYPE).astype(np.float32)


def _decode_vector(blob: bytes, dim: int) -> np.ndarray | None:
    """A cached vector as float32: float16 blobs (this version) or float32 ones (older versions);
    None when the length fits neither (another dimension: treated as not cached)."""
    if len(blob) == dim * np.dtype(CACHE_DTYPE).itemsize:
        return np.frombuffer(blob, dtype=CACHE_DTYPE).astype(np.float32)
    if len(blob) == dim * 4:
        return np.frombuffer(blob, dtype=np.float32)
    return None


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
