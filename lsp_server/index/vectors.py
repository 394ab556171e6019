"""The LanceDB projection: one table of vectors per embedding model.

Owns every LanceDB call: tables of (symbol_id, text_hash, model_id, vector, text), upserts with
`merge_insert` on `symbol_id` (declared the unenforced primary key), deletes with `lancedb.expr`
`isin` over bound values, vector search (an exact scan under `ANN_MIN_ROWS`, an IVF index above
it), compaction and index upkeep off the query path, and quarantining a table that cannot be opened.

One table per model (named from a hash of the model id), so vector spaces never mix, and a new
model fills its own table while the old one still serves.

Must never:
  * build a filter string from values (filters are `lancedb.expr` expressions);
  * be treated as truth: everything here can be rebuilt from SQLite (`index/store.py`), which is
    what `Index` does when this disagrees with it or cannot be opened;
  * run SQL or embed text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import shutil
import threading
import time
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

log = logging.getLogger(__name__)

# LanceDB's Rust side logs warnings ("No existing dataset ... will be created") straight to stderr
# when its module loads; keep it to errors unless the user asked for more.
os.environ.setdefault("LANCEDB_LOG", "error")

TABLE_PREFIX = "vectors_"
# Below this many rows an exact scan is fast enough (~10 ms at 10k x 384 here) and perfectly
# accurate; above it an IVF_FLAT index keeps queries at a few ms (exact distances within the
# probed partitions, and it trains in seconds where IVF_PQ takes half a minute on 2 cores).
ANN_MIN_ROWS = 10_000
# Re-fold unindexed rows into the ANN index once they are this share of the table.
REINDEX_UNINDEXED_SHARE = 0.10
# Compact once this many small fragments piled up (every merge_insert adds one).
COMPACT_SMALL_FRAGMENTS = 16
# Every optimize() removes all superseded versions: each compaction and index rewrite leaves a
# full copy of what it rewrote (a first build of 60k symbols left ~270 MB of dead files next to
# ~190 MB of live ones while they were kept 30 s). Lance ages versions by when they were
# *created*, not superseded, so a grace period would not protect a reader mid-query anyway; what
# does is that the latest version is never removed and a reader that loses the race retries once
# on fresh handles (see search()). (lancedb's cleanup-only call needs pylance; optimize does not.)
KEEP_OLD_VERSIONS = timedelta(0)
# A filtered search whose candidate set is at most this large scans just those rows exactly.
PREFILTER_MAX_IDS = 4096


class VectorStoreError(Exception):
    """A LanceDB table cannot be opened or used; the index rebuilds it from SQLite."""


class _AsyncRunner:
    """One event-loop thread for LanceDB's async API. A whole vector query then costs one
    hand-off to LanceDB's runtime instead of the sync API's seven (schema look-ups included),
    which is most of a warm query's latency on a busy 2-core machine."""

    _instance: _AsyncRunner | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self.loop.run_forever, name="symscope-lancedb", daemon=True)
        thread.start()

    @classmethod
    def get(cls) -> _AsyncRunner:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


def table_name(model_id: str) -> str:
    return TABLE_PREFIX + hashlib.blake2b(model_id.encode(), digest_size=8).hexdigest()


def _schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("symbol_id", pa.string(), nullable=False),
            pa.field("text_hash", pa.string(), nullable=False),
            pa.field("model_id", pa.string(), nullable=False),
            pa.field("vector", pa.list_(pa.float32(), dim), nullable=False),
            pa.field("text", pa.string()),
        ]
    )


class VectorStore:
    def __init__(self, directory: Path, *, writable: bool) -> None:
        self.directory = directory
        self.writable = writable
        self._db = None
        self._tables: dict[str, object] = {}
        self._partitions: dict[str, tuple[int, float]] = {}
        self._async_db = None
        self._async_tables: dict[str, object] = {}
        self._counts: dict[str, tuple[int, float]] = {}

    # -- connection and tables ----------------------------------------------------------------

    def _connect(self):
        if self._db is None:
            import lancedb

            if self.writable:
                self.directory.mkdir(parents=True, exist_ok=True)
            # interval 0: every query sees the latest committed version (readers follow the writer).
            self._db = lancedb.connect(str(self.directory), read_consistency_interval=timedelta(0))
        return self._db

    def _table_dir(self, model_id: str) -> Path:
        return self.directory / f"{table_name(model_id)}.lance"

    def exists(self, model_id: str) -> bool:
        return self._table_dir(model_id).exists()

    def open(self, model_id: str):
        """The model's table, or None when it was never created. Raises VectorStoreError when it
        exists but cannot be opened."""
        table = self._tables.get(model_id)
        if table is not None:
            return table
        if not self.exists(model_id):
            return None
        try:
            table = self._connect().open_table(table_name(model_id))
            table.count_rows()  # reads the manifest: a broken one fails here
        except Exception as exc:  # lancedb raises plain ValueError/RuntimeError/OSError subclasses
            raise VectorStoreError(f"vector table for {model_id} cannot be opened: {exc}") from exc
        self._tables[model_id] = table
        return table

    def ensure(self, model_id: str, dim: int):
        table = self.open(model_id)
        if table is not None:
            field = table.schema.field("vector")
            if field.type.list_size != dim:
                raise VectorStoreError(
                    f"vector table for {model_id} has dimension {field.type.list_size}, model gives {dim}"
                )
            return table
        table = self._connect().create_table(table_name(model_id), schema=_schema(dim), exist_ok=True)
        try:
            table.set_unenforced_primary_key("symbol_id")
        except Exception as exc:  # older Lance formats cannot record it; merge_insert still keys on it
            log.debug("could not declare symbol_id the primary key: %s", exc)
        self._tables[model_id] = table
        return table

    def quarantine(self, model_id: str, quarantine_dir: Path) -> Path | None:
        """Move an unusable table aside (kept for inspection, never read again)."""
        self._forget(model_id)
        src = self._table_dir(model_id)
        if not src.exists():
            return None
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        dest = quarantine_dir / f"{src.name}.{time.strftime('%Y%m%d-%H%M%S')}.{time.monotonic_ns()}"
        shutil.move(str(src), str(dest))
        return dest

    def drop_other_models(self, keep_model_id: str) -> list[str]:
        """Remove the tables of every other model (called once `keep_model_id` is complete)."""
        keep = f"{table_name(keep_model_id)}.lance"
        dropped = []
        if not self.directory.exists():
            return dropped
        for entry in self.directory.iterdir():
            if entry.name.startswith(TABLE_PREFIX) and entry.name.endswith(".lance") and entry.name != keep:
                shutil.rmtree(entry, ignore_errors=True)
                dropped.append(entry.name)
        for model_id in [m for m in {*self._tables, *self._async_tables} if f"{table_name(m)}.lance" != keep]:
            self._forget(model_id)
        return dropped

    def _forget(self, model_id: str) -> None:
        """Drop cached handles of a table that moved or vanished."""
        self._tables.pop(model_id, None)
        self._async_tables.pop(model_id, None)
        self._counts.pop(model_id, None)
        self._partitions.pop(model_id, None)

    # -- reading ------------------------------------------------------------------------------

    def count(self, model_id: str) -> int:
        table = self.open(model_id)
        return 0 if table is None else table.count_rows()

    def snapshot(self, model_id: str) -> tuple[dict[str, str], set[str]]:
        """(symbol_id -> text_hash, ids present more than once) of the model's table."""
        table = self.open(model_id)
        if table is None:
            return {}, set()
        try:
            data = table.search().select(["symbol_id", "text_hash"]).limit(None).to_arrow()
        except Exception as exc:
            raise VectorStoreError(f"vector table for {model_id} cannot be read: {exc}") from exc
        ids = data.column("symbol_id").to_pylist()
        hashes = data.column("text_hash").to_pylist()
        rows: dict[str, str] = {}
        duplicates: set[str] = set()
        for sid, h in zip(ids, hashes):
            if sid in rows:
                duplicates.add(sid)
            rows[sid] = h
        return rows, duplicates

    def vectors(self, model_id: str) -> dict[str, tuple[str, np.ndarray]]:
        """symbol_id -> (text_hash, vector): the whole table (tests and consistency checks)."""
        table = self.open(model_id)
        if table is None:
            return {}
        data = table.search().select(["symbol_id", "text_hash", "vector"]).limit(None).to_arrow()
        matrix = _matrix(data.column("vector"))
        return {
            sid: (h, matrix[i])
            for i, (sid, h) in enumerate(
                zip(data.column("symbol_id").to_pylist(), data.column("text_hash").to_pylist())
            )
        }

    def vectors_by_hash(self, model_id: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """text_hash -> vector for rows the table already holds (refills a lost embedding cache)."""
        table = self.open(model_id)
        if table is None or not hashes or table.count_rows() == 0:
            return {}
        from lancedb.expr import col

        out: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(hashes))
        for start in range(0, len(wanted), 2000):
            data = (
                table.search()
                .where(col("text_hash").isin(wanted[start : start + 2000]))
                .select(["text_hash", "vector"])
                .limit(None)
                .to_arrow()
            )
            if data.num_rows:
                matrix = _matrix(data.column("vector"))
                for i, h in enumerate(data.column("text_hash").to_pylist()):
                    out[h] = matrix[i]
        return out

    def search(
        self, model_id: str, vector: np.ndarray, k: int, allowed: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(symbol_id, cosine similarity) best first. `allowed` restricts to those ids (an exact
        scan over them); None searches everything (through the IVF index when there is one)."""
        if k <= 0 or (allowed is not None and not allowed) or not self.exists(model_id):
            return []
        vec = np.asarray(vector, dtype=np.float32)
        try:
            data = _AsyncRunner.get().run(self._search(model_id, vec, k, allowed))
        except Exception as exc:
            # A reader can race the writer's clean-up of old versions: forget handles, try once more.
            log.debug("vector search failed (%s); retrying with fresh handles", exc)
            self._async_tables.pop(model_id, None)
            try:
                data = _AsyncRunner.get().run(self._search(model_id, vec, k, allowed))
            except Exception as again:
                raise VectorStoreError(f"vector search failed: {again}") from again
        if data is None:
            return []
        return [
            (sid, 1.0 - float(dist))
            for sid, dist in zip(data.column("symbol_id").to_pylist(), data.column("_distance").to_pylist())
        ]

    async def _async_table(self, model_id: str):
        table = self._async_tables.get(model_id)
        if table is None:
            import lancedb

            if self._async_db is None:
                self._async_db = await lancedb.connect_async(
                    str(self.directory), read_consistency_interval=timedelta(0)
                )
            table = await self._async_db.open_table(table_name(model_id))
            self._async_tables[model_id] = table
        return table

    async def _search(self, model_id: str, vec: np.ndarray, k: int, allowed: Sequence[str] | None):
        from lancedb.expr import col

        table = await self._async_table(model_id)
        query = table.query().nearest_to(vec).distance_type("cosine").limit(k).select(["symbol_id", "_distance"])
        if allowed is not None:
            query = query.where(col("symbol_id").isin(list(allowed))).bypass_vector_index()
        else:
            partitions = await self._ivf_partitions(model_id, table)
            if partitions:
                query = query.nprobes(max(10, math.ceil(partitions * 0.1)))
        return await query.to_arrow()

    async def _ivf_partitions(self, model_id: str, table) -> int:
        """Partitions of the table's IVF index (0 when it has none), cached for a few seconds:
        listing indices on every query would cost more than the search itself."""
        cached = self._partitions.get(model_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < 5.0:
            return cached[0]
        partitions = 0
        try:
            for index in await table.list_indices():
                if list(index.columns) == ["vector"]:
                    indexed = int(getattr(index, "num_indexed_rows", 0) or 0)
                    partitions = _partitions_for(indexed)
        except Exception:  # an optimisation only: a plain search is always correct
            partitions = 0
        self._partitions[model_id] = (partitions, now)
        return partitions

    def has_rows(self, model_id: str) -> bool:
        """Whether the model's table holds any vector; cached for a second (asked per query)."""
        cached = self._counts.get(model_id)
        now = time.monotonic()
        if cached is not None and now - cached[1] < 1.0:
            return cached[0] > 0
        if not self.exists(model_id):
            count = 0
        else:
            try:
                count = _AsyncRunner.get().run(self._count(model_id))
            except Exception:
                self._async_tables.pop(model_id, None)
                count = 0
        self._counts[model_id] = (count, now)
        return count > 0

    async def _count(self, model_id: str) -> int:
        table = await self._async_table(model_id)
        return await table.count_rows()

    # -- writing ------------------------------------------------------------------------------

    def apply(
        self,
        model_id: str,
        dim: int,
        upserts: Sequence[tuple[str, str, np.ndarray, str]],
        deletes: Sequence[str],
    ) -> None:
        """Upsert (symbol_id, text_hash, vector, text) rows and delete ids. Idempotent: replaying
        the same call after a crash gives the same table."""
        table = self.ensure(model_id, dim)
        from lancedb.expr import col

        if deletes:
            ids = list(dict.fromkeys(deletes))
            for start in range(0, len(ids), 2000):
                table.delete(col("symbol_id").isin(ids[start : start + 2000]))
        if upserts:
            latest = {row[0]: row for row in upserts}  # merge_insert rejects duplicate keys in one batch
            rows = list(latest.values())
            matrix = np.stack([np.asarray(r[2], dtype=np.float32) for r in rows]).reshape(len(rows), dim)
            data = pa.table(
                {
                    "symbol_id": [r[0] for r in rows],
                    "text_hash": [r[1] for r in rows],
                    "model_id": [model_id] * len(rows),
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel(), pa.float32()), dim),
                    "text": [r[3] for r in rows],
                },
                schema=_schema(dim),
            )
            (table.merge_insert("symbol_id").when_matched_update_all().when_not_matched_insert_all().execute(data))

    def delete_all_copies(self, model_id: str, symbol_ids: Sequence[str]) -> None:
        table = self.open(model_id)
        if table is None or not symbol_ids:
            return
        from lancedb.expr import col

        table.delete(col("symbol_id").isin(list(symbol_ids)))

    def maintain(self, model_id: str) -> None:
        """Compaction, ANN index upkeep and removal of superseded versions; run by the writer
        after syncing, never per query."""
        table = self.open(model_id)
        if table is None:
            return
        stats = table.stats()  # a dict in lancedb 0.40 (a dataclass in some older releases)
        if not isinstance(stats, dict):
            stats = {
                "num_rows": stats.num_rows,
                "fragment_stats": {
                    "num_fragments": stats.fragment_stats.num_fragments,
                    "num_small_fragments": stats.fragment_stats.num_small_fragments,
                },
            }
        rows = int(stats["num_rows"])
        fragments = int(stats["fragment_stats"].get("num_fragments", 0))
        has_index = any(list(index.columns) == ["vector"] for index in table.list_indices())
        if rows >= ANN_MIN_ROWS and not has_index:
            from lancedb.index import IvfFlat

            if fragments > 1:
                # Compact first: compacting after the build would rewrite the index as well.
                _optimize(table)
            partitions = _partitions_for(rows)
            started = time.perf_counter()
            table.create_index("vector", config=IvfFlat(distance_type="cosine", num_partitions=partitions))
            log.info(
                "built IVF_FLAT index (%d partitions) over %d vectors in %.1fs",
                partitions,
                rows,
                time.perf_counter() - started,
            )
        else:
            unindexed = 0
            if has_index:
                for index in table.list_indices():
                    if list(index.columns) == ["vector"]:
                        unindexed = int(getattr(table.index_stats(index.name), "num_unindexed_rows", 0) or 0)
            if int(stats["fragment_stats"]["num_small_fragments"]) >= COMPACT_SMALL_FRAGMENTS or (
                has_index and unindexed > REINDEX_UNINDEXED_SHARE * max(rows, 1)
            ):
                _optimize(table)

    def bytes_on_disk(self) -> int:
        total = 0
        if self.directory.exists():
            for p in self.directory.rglob("*"):
                try:
                    if p.is_file():
                        total += p.stat().st_size
                except OSError:
                    pass
        return total


def _optimize(table) -> None:
    """Compact, fold new rows into the ANN index, and remove superseded versions."""
    with warnings.catch_warnings():
        # lancedb warns that readers of removed versions fail; ours retry (see KEEP_OLD_VERSIONS).
        warnings.filterwarnings("ignore", message=r"optimize\(cleanup_older_than=0\)", category=UserWarning)
        table.optimize(cleanup_older_than=KEEP_OLD_VERSIONS)


def _partitions_for(rows: int) -> int:
    return max(16, int(math.sqrt(max(rows, 1))))


def _matrix(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    dim = array.type.list_size
    return array.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32, copy=False)
