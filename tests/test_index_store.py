"""The index write path: stable ids, incremental updates, the embedding cache, the outbox,
schema versions, quarantine of unusable stores, model changes."""

from __future__ import annotations

import shutil
import sqlite3

import numpy as np
import pytest
from index_support import DIM, SAMPLE_FILES, index_snapshot, make_workspace, open_index, write_files

from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index, IndexUnavailableError, NotWriterError
from lsp_server.index.records import file_rows, symbol_id
from lsp_server.index.store import SCHEMA_VERSION, Store, SymbolFilter
from lsp_server.index.vectors import table_name


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def index(ws, tmp_path):
    ix = open_index(ws, tmp_path / "idx")
    ix.update()
    yield ix
    ix.close()


def ids_by_name(index: Index) -> dict[str, str]:
    return {r.qualified_name: r.symbol_id for r in index.iter_symbols()}


def test_first_build_indexes_and_embeds_every_symbol(index):
    status = index.status()
    assert status.files == len(SAMPLE_FILES)
    names = set(ids_by_name(index))
    assert {"load_config", "UploadClient.retry_upload", "getUserName", "HttpServer.start", "extract_symbols"} <= names
    assert status.vectors == status.symbols > 0
    assert status.pending == 0
    assert status.is_writer


def test_every_symbol_gets_embed_text_with_kind_name_signature_and_body_digest(index):
    records = {r.qualified_name: r for r in index.iter_symbols()}
    undocumented = records["save_config"]
    assert undocumented.doc is None
    assert undocumented.embed_text.startswith("function save_config\n")
    assert "def save_config(path, data)" in undocumented.embed_text
    assert "uses:" in undocumented.embed_text and "dump" in undocumented.embed_text
    documented = records["load_config"]
    assert "Read the settings file" in documented.embed_text


def test_second_update_with_no_change_embeds_and_writes_nothing(index):
    generation = index.generation()
    stats = index.update()
    assert (stats.changed, stats.deleted, stats.embedded) == (0, 0, 0)
    assert stats.files == len(SAMPLE_FILES)
    assert index.generation() == generation  # nothing was rewritten


def test_symbol_ids_are_stable_across_unrelated_edits(index, ws):
    before = ids_by_name(index)
    config = ws / "pkg/config.py"
    config.write_text("# a new comment line\n\ndef brand_new():\n    pass\n\n" + config.read_text())
    stats = index.update()
    after = ids_by_name(index)
    assert stats.changed == 1
    for name, sid in before.items():
        assert after[name] == sid, name
    assert "brand_new" in after
    # Only the new symbol needed embedding: moved symbols keep their text (no positions in it).
    assert stats.embedded == 1


def test_symbol_id_rule():
    a = symbol_id("a.py", "function", "f", 0)
    assert a == symbol_id("a.py", "function", "f", 0)
    assert (
        len(
            {
                a,
                symbol_id("a.py", "function", "f", 1),
                symbol_id("b.py", "function", "f", 0),
                symbol_id("a.py", "method", "f", 0),
                symbol_id("a.py", "function", "g", 0),
            }
        )
        == 5
    )


def test_same_named_siblings_get_distinct_ids(tmp_path):
    root = make_workspace(tmp_path / "ws", {"dup.py": "def f():\n    pass\n\ndef f():\n    return 1\n"})
    with open_index(root, tmp_path / "idx") as ix:
        ix.update()
        ids = [r.symbol_id for r in ix.iter_symbols() if r.name == "f"]
        assert len(ids) == 2 and len(set(ids)) == 2


def test_reverted_file_and_branch_switch_embed_nothing(index, ws):
    path = ws / "pkg/upload.py"
    original = path.read_text()
    path.write_text(original.replace("Sends files to the storage server.", "Pushes blobs to a bucket."))
    assert index.update().embedded == 1  # the class's doc changed
    path.write_text(original)  # revert
    assert index.update().embedded == 0
    # A "branch" that deletes one file and renames another: every text was seen before.
    moved = ws / "lib/user.js"
    moved.parent.mkdir()
    shutil.move(ws / "web/user.js", moved)
    (ws / "src/parse.rs").unlink()
    stats = index.update()
    assert stats.embedded == 0 and stats.reused > 0 and stats.deleted == 2
    write_files(ws, {"src/parse.rs": SAMPLE_FILES["src/parse.rs"], "web/user.js": SAMPLE_FILES["web/user.js"]})
    moved.unlink()
    assert index.update().embedded == 0
    status = index.status()
    assert status.vectors == status.symbols and status.pending == 0


def test_embedding_cache_survives_reopening(ws, tmp_path, index):
    index.close()
    (ws / "pkg/config.py").write_text((ws / "pkg/config.py").read_text() + "\n\ndef extra():\n    pass\n")
    with open_index(ws, tmp_path / "idx") as again:
        stats = again.update()
        assert stats.embedded == 1


def test_deleted_file_leaves_no_symbols_or_vectors(index, ws):
    gone = {r.symbol_id for r in index.symbols_in_file("web/user.js")}
    assert gone
    (ws / "web/user.js").unlink()
    stats = index.update()
    assert stats.deleted == 1
    assert index.symbols_in_file("web/user.js") == []
    projected, _ = index.vectors.snapshot(index.embedder.model_id)
    assert not gone & set(projected)


def test_no_embed_leaves_rows_pending_and_a_later_sync_fills_them(ws, tmp_path):
    with open_index(ws, tmp_path / "idx", embed=False) as ix:
        stats = ix.update()
        assert stats.embedded == 0 and stats.pending == stats.symbols > 0
        assert ix.sync_vectors() == stats.symbols
        assert ix.status().pending == 0


def test_outbox_row_is_acknowledged_only_if_unchanged(ws, tmp_path):
    with open_index(ws, tmp_path / "idx", embed=False) as ix:
        ix.update()
        rows = ix.store.pending(10_000)
        target = next(r for r in rows if r.symbol_id == ids_by_name(ix)["load_config"])
        # The symbol changes after the sync worker read its row but before it acknowledged it.
        config = ws / "pkg/config.py"
        config.write_text(config.read_text().replace("parse it into a dictionary", "decode it"))
        ix.update()
        assert ix.store.ack([target]) == 0
        still = {r.symbol_id: r for r in ix.store.pending(10_000)}
        assert still[target.symbol_id].text_hash != target.text_hash
        other = next(r for r in rows if r.symbol_id != target.symbol_id)
        assert ix.store.ack([other]) == 1


def test_apply_results_accepts_hand_made_file_results(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    data = b"def alpha():\n    return beta()\n"
    result = {
        "path": "m.py",
        "language": "python",
        "size": len(data),
        "mtime_ns": 1,
        "content_hash": "h1",
        "skipped": None,
        "unchanged": False,
        "has_error": False,
        "timed_out": False,
        "error": None,
        "symbols": [
            {
                "name": "alpha",
                "kind": "function",
                "kind_id": 12,
                "qualified_name": "alpha",
                "container": None,
                "parent": None,
                "range": (0, 0, 1, 17),
                "selection_range": (0, 4, 0, 9),
                "range_utf8": (0, 0, 1, 17),
                "selection_range_utf8": (0, 4, 0, 9),
                "byte_range": (0, len(data) - 1),
                "signature": "def alpha()",
                "doc": None,
            }
        ],
        "references": [("beta", "beta", "call", 1, 11, 0)],
    }
    rows, refs = file_rows(result, data)
    assert rows[0].start_line == 1 and rows[0].end_line == 2
    assert "beta" in rows[0].embed_text and refs[0].from_symbol == rows[0].symbol_id
    with open_index(root, tmp_path / "idx") as ix:
        ix.apply_results([result], {"m.py": data})
        assert [r.name for r in ix.symbols_in_file("m.py")] == ["alpha"]
        assert ix.sync_vectors() == 1


def test_schema_version_is_recorded_and_newer_schema_is_refused(index, tmp_path):
    assert index.store.schema_version() == SCHEMA_VERSION
    index.close()
    con = sqlite3.connect(tmp_path / "idx" / "index.db")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(IndexUnavailableError, match="newer"):
        open_index(tmp_path / "ws", tmp_path / "idx")


def test_wal_mode(index):
    assert index.store._reader().execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupt_database_is_quarantined_and_rebuilt(ws, tmp_path, index):
    symbols = index.status().symbols
    index.close()
    db = tmp_path / "idx" / "index.db"
    for suffix in ("-wal", "-shm"):
        (tmp_path / "idx" / f"index.db{suffix}").unlink(missing_ok=True)
    db.write_bytes(b"this is not a database, just garbage " * 200)
    with open_index(ws, tmp_path / "idx") as ix:
        status = ix.status()
        assert "quarantined" in status.last_error
        assert list((tmp_path / "idx" / "quarantine").iterdir())
        stats = ix.update()
        assert stats.symbols == symbols
        # The vectors survived in LanceDB: the rebuilt database takes them back, embedding nothing.
        assert stats.embedded == 0
        assert ix.status().vectors == symbols


def test_reader_facing_a_corrupt_database_gets_a_clear_error(ws, tmp_path):
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "index.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexUnavailableError, match="cannot be opened"):
        open_index(ws, idx, readonly=True)


def test_unopenable_vector_table_is_rebuilt_from_sqlite_without_embedding(ws, tmp_path, index):
    before = index_snapshot(index)
    model = index.embedder.model_id
    index.close()
    table_dir = tmp_path / "idx" / "lance" / f"{table_name(model)}.lance"
    for manifest in (table_dir / "_versions").iterdir():
        manifest.write_bytes(b"\x00garbage")
    with open_index(ws, tmp_path / "idx") as ix:
        assert "vector table unusable" in (ix.status().last_error or "")
        stats = ix.update()
        assert stats.embedded == 0 and stats.reused == len(before["symbols"])
        assert index_snapshot(ix)["vectors"] == before["vectors"]


def test_vector_table_that_disagrees_is_reconciled(ws, tmp_path, index):
    before = index_snapshot(index)
    model = index.embedder.model_id
    victim = before["symbols"][0][0]
    index.vectors.delete_all_copies(model, [victim])
    # and a stray row no symbol owns, plus a duplicate of another row
    vec = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    index.vectors.apply(model, DIM, [("stray", "h", vec, "t")], [])
    table = index.vectors.open(model)
    dup = before["symbols"][1][0]
    h, v = index.vectors.vectors(model)[dup]
    import pyarrow as pa

    table.add(
        pa.table(
            {
                "symbol_id": [dup],
                "text_hash": [h],
                "model_id": [model],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(v, pa.float32()), DIM),
                "text": ["x"],
            },
            schema=table.schema,
        )
    )
    index.close()
    with open_index(ws, tmp_path / "idx") as ix:
        assert ix.update().embedded == 0
        assert index_snapshot(ix) == before


def test_model_change_never_mixes_vector_spaces(ws, tmp_path, index):
    old_model = index.embedder.model_id
    index.close()
    with open_index(ws, tmp_path / "idx", dim=32) as ix:
        new_model = ix.embedder.model_id
        assert new_model != old_model
        stats = ix.update()
        assert stats.embedded == stats.symbols  # a new vector space: everything embedded once
        vectors = ix.vectors.vectors(new_model)
        assert {vec.shape[0] for _, vec in vectors.values()} == {32}
        table = ix.vectors.open(new_model)
        assert set(table.search().select(["model_id"]).limit(None).to_arrow().column("model_id").to_pylist()) == {
            new_model
        }
        # the old table served until the new one was complete, then was dropped
        assert not ix.vectors.exists(old_model)
        assert ix.store.get_meta("model_id") == new_model


def test_reader_cannot_write_and_sees_writer_commits(ws, tmp_path):
    with open_index(ws, tmp_path / "idx") as writer, open_index(ws, tmp_path / "idx") as reader:
        assert writer.is_writer and not reader.is_writer
        with pytest.raises(NotWriterError):
            reader.update()
        writer.update()
        assert reader.status().symbols == writer.status().symbols > 0
        assert reader.status().vectors == writer.status().vectors
        writer.close()
        assert reader.take_over()
        assert reader.is_writer
        assert reader.update().changed == 0


def test_readonly_never_takes_the_lock(ws, tmp_path):
    with open_index(ws, tmp_path / "idx", readonly=True) as ro:
        assert not ro.is_writer and not ro.take_over()
        with open_index(ws, tmp_path / "idx") as rw:
            assert rw.is_writer


def test_skipped_files_are_counted_with_reasons(tmp_path):
    root = make_workspace(tmp_path / "ws", {"a.py": "def a():\n    pass\n"})
    (root / "big.py").write_text("x = 1\n" * 400)
    (root / "blob.py").write_bytes(b"\x00\x01\x02binary" * 10)
    with open_index(root, tmp_path / "idx", max_file_size=1000) as ix:
        stats = ix.update()
        assert sum(stats.skipped.values()) >= 2, stats.skipped
        again = ix.update()
        assert again.changed == 0 and again.skipped == stats.skipped


def test_update_files_reindexes_known_and_discovers_new(index, ws):
    config = ws / "pkg/config.py"
    config.write_text(config.read_text() + "\n\ndef added_later():\n    pass\n")
    stats = index.update_files([config])
    assert stats.changed == 1 and stats.embedded == 1
    assert "added_later" in ids_by_name(index)
    (ws / "pkg/new_mod.py").write_text("def fresh_function():\n    pass\n")
    index.update_files([ws / "pkg/new_mod.py"])
    assert "fresh_function" in ids_by_name(index)
    config.unlink()
    index.update_files([config])
    assert "load_config" not in ids_by_name(index)


def test_update_files_never_reads_through_a_link_out_of_the_workspace(index, ws, tmp_path):
    outside = tmp_path / "outside_secret.py"
    outside.write_text("def leaked_secret_function():\n    pass\n")
    config = ws / "pkg/config.py"
    config.unlink()
    config.symlink_to(outside)
    index.update_files([config])
    names = ids_by_name(index)
    assert "leaked_secret_function" not in names
    assert "load_config" not in names  # the file as the index knew it is gone
    index.update()  # the scan agrees: links are not followed
    assert "leaked_secret_function" not in ids_by_name(index)


def test_filters_are_bound_parameters(index):
    store: Store = index.store
    flt = SymbolFilter(language="python", kind="function", path_glob="pkg/*.py")
    ids = store.filtered_ids(flt, 100)
    names = {r.name for r in index.get_symbols(ids).values()}
    assert names == {"load_config", "save_config"}
    hostile = SymbolFilter(language="python' OR '1'='1", kind=None, path_glob="*'; DROP TABLE symbols; --")
    assert store.filtered_ids(hostile, 100) == []
    assert index.status().symbols > 0


def test_embedder_with_a_different_dimension_for_the_same_model_id_is_rejected(ws, tmp_path, index):
    class Liar(HashingEmbedder):
        def __init__(self):
            super().__init__(16)
            self.model_id = index.embedder.model_id  # claims the old model but gives 16-d vectors

    index.close()
    with open_index(ws, tmp_path / "idx", embedder=Liar()) as ix:
        (ws / "pkg/config.py").write_text("def changed():\n    pass\n")
        stats = ix.update()
        assert any("dimension" in e for e in stats.errors)


def test_schema_v1_database_is_migrated_keeping_its_data(tmp_path):
    from lsp_server.index.store import MIGRATIONS

    path = tmp_path / "index.db"
    con = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        con.execute(statement)
    con.execute("PRAGMA user_version = 1")
    con.execute("INSERT INTO files VALUES ('a.py', 10, 5, 'h', 'python', 'indexed', NULL, 0, 0)")
    con.execute(
        "INSERT INTO symbols(id, symbol_id, path, language, name, name_lower, qualified_name, qualified_lower, "
        "kind, start_line, end_line, ranges, signature, snippet, embed_text, text_hash) VALUES "
        "(7, 'sid', 'a.py', 'python', 'f', 'f', 'f', 'f', 'function', 1, 2, '[]', 'def f()', 'def f()', 't', 'th')"
    )
    con.execute("INSERT INTO refs VALUES ('a.py', 'sid', 'g', 'g', 'call', 2, 4)")
    con.execute("INSERT INTO embed_cache VALUES ('m', 'th', ?, 0)", (np.ones(4, dtype=np.float32).tobytes(),))
    con.commit()
    con.close()
    store = Store(path, writable=True)
    assert store.schema_version() == SCHEMA_VERSION == 2
    assert store.known_files() == {"a.py": (10, 5, "h")}
    assert store.refs_from("sid", 10) == [("g", "g", "a.py", 2)]
    assert store.refs_to("g", 10) == [("sid", "g", "a.py", 2)]
    assert list(store.cached_vectors("m", ["th"], 4)["th"]) == [1.0] * 4
    store.close()


def test_records_recipe_change_reparses_every_file_but_embeds_nothing(index, ws, tmp_path):
    symbols = index.status().symbols
    index.store.set_meta("records_version", "0")  # as if written by an older recipe
    index.close()
    with open_index(ws, tmp_path / "idx") as ix:
        stats = ix.update()
        assert stats.changed == len(SAMPLE_FILES) and stats.symbols == symbols and stats.embedded == 0
        assert ix.update().changed == 0


def test_embedding_cache_is_bounded(tmp_path, monkeypatch):
    import lsp_server.index as index_module

    monkeypatch.setattr(index_module, "CACHE_KEEP_UNUSED_MIN", 3)
    root = make_workspace(tmp_path / "ws", {"churn.py": "def churn():\n    pass\n"})
    with open_index(root, tmp_path / "idx") as ix:
        for version in range(8):
            (root / "churn.py").write_text(f'def churn():\n    """Version {version} of the text."""\n')
            assert ix.update().embedded == 1
        # one live text plus at most 3 unused ones, the most recently used
        assert ix.store.cache_size(ix.embedder.model_id) == 4
        (root / "churn.py").write_text('def churn():\n    """Version 6 of the text."""\n')
        assert ix.update().embedded == 0
        (root / "churn.py").write_text('def churn():\n    """Version 1 of the text."""\n')
        assert ix.update().embedded == 1  # long evicted
