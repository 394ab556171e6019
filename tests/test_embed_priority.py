"""Embedding order and its promise to the user: open and just-saved files first, then functions,
methods and types, then the rest; a rate and an ETA for what is still pending.

Real index (Rust scanner, SQLite, LanceDB); the embedder is the weightless HashingEmbedder wrapped
to record the order in which texts reach it.
"""

from __future__ import annotations

import numpy as np
import pytest
from index_support import DIM, make_workspace, open_index

import lsp_server.index as index_module
from lsp_server.embed import HashingEmbedder
from lsp_server.index import IndexProgress, format_eta
from lsp_server.index.store import EMBED_FIRST_KINDS

# Many small files: each holds one function and module-level variables, so kinds and paths can be
# told apart in the order the texts are embedded.
FILES = {
    f"pkg/mod{i:02d}.py": f'''
        LIMIT_{i} = {i}
        NAME_{i} = "module {i}"


        def handler_{i}(request):
            """Answer request number {i}."""
            return request + LIMIT_{i}
        '''
    for i in range(12)
}


class RecordingEmbedder(HashingEmbedder):
    """HashingEmbedder that remembers every text it embedded, in order."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen.extend(texts)
        return super().embed(texts)


@pytest.fixture
def ws(tmp_path):
    return make_workspace(tmp_path / "ws", FILES)


def kinds_in_order(ix, rows) -> list[str]:
    records = ix.get_symbols([r.symbol_id for r in rows])
    return [records[r.symbol_id].kind for r in rows]


def test_functions_and_types_are_embedded_before_variables(ws, tmp_path):
    with open_index(ws, tmp_path / "idx", embed=False) as ix:
        ix.update()
        rows = ix.store.pending(10_000)
        kinds = kinds_in_order(ix, rows)
        first_other = next(i for i, k in enumerate(kinds) if k not in EMBED_FIRST_KINDS)
        assert kinds.count("function") == 12
        assert all(k in EMBED_FIRST_KINDS for k in kinds[:first_other])
        assert all(k not in EMBED_FIRST_KINDS for k in kinds[first_other:])


def test_a_boosted_file_comes_first(ws, tmp_path):
    with open_index(ws, tmp_path / "idx", embed=False) as ix:
        ix.update()
        ix.prioritize([ws / "pkg/mod07.py"])  # absolute paths are accepted, like relative ones
        order = ix.store.pending(10_000, boost_paths=["pkg/mod07.py"])
        records = ix.get_symbols([r.symbol_id for r in order])
        paths = [records[r.symbol_id].path for r in order]
        assert set(paths[:3]) == {"pkg/mod07.py"} and "pkg/mod07.py" not in paths[3:]
        # The keyset cursor pages through the same order without gaps or repeats.
        paged, after = [], (-1, -1, "")
        while batch := ix.store.pending(5, after, ["pkg/mod07.py"]):
            paged.extend(r.symbol_id for r in batch)
            after = batch[-1].cursor
        assert paged == [r.symbol_id for r in order]


def test_a_file_opened_during_the_first_sync_is_embedded_next(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "SYNC_BATCH", 4)
    embedder = RecordingEmbedder(DIM)
    with open_index(ws, tmp_path / "idx", embedder=embedder) as ix:
        ix.update(sync=False)
        total = ix.status().pending
        opened = "pkg/mod11.py"  # its function would otherwise come last among the functions

        def on_progress(p: IndexProgress) -> None:
            if p.done == 4:  # after the first batch: the editor opens a file
                ix.prioritize([opened])

        ix.sync_vectors(progress=on_progress)
        assert ix.status().pending == 0 and len(embedder.seen) == total
        # The opened file's three symbols are the very next batch's first texts.
        next_texts = embedder.seen[4:7]
        assert all("11" in text for text in next_texts), next_texts
        assert not any("11" in text for text in embedder.seen[:4])


def test_progress_and_status_give_a_rate_and_an_eta(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "SYNC_BATCH", 5)
    events: list[IndexProgress] = []
    with open_index(ws, tmp_path / "idx") as ix:
        assert ix.status().embed_rate is None and ix.status().eta_seconds is None
        ix.update(progress=events.append)
        embeds = [e for e in events if e.phase == "embed"]
        assert len(embeds) >= 2
        assert all(e.eta_seconds is not None and e.eta_seconds >= 0 for e in embeds)
        assert embeds[-1].eta_seconds == 0 and "left" in embeds[-1].message
        status = ix.status()
        assert status.embed_rate is not None and status.embed_rate > 0
        assert status.pending == 0 and status.eta_seconds is None  # nothing left to wait for
        # A new change is pending: the status says how long it should take at the recorded rate.
        (ws / "pkg/mod00.py").write_text("def fresh():\n    return 1\n")
        ix.update_files([ws / "pkg/mod00.py"], sync=False)
        status = ix.status()
        assert status.pending > 0
        assert status.eta_seconds == pytest.approx(status.pending / status.embed_rate, abs=0.1)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (42.4, "42s"), (185, "3m 05s"), (3600 + 12 * 60, "1h 12m"), (-3, "0s")]
)
def test_format_eta(seconds, text):
    assert format_eta(seconds) == text


def test_vectors_are_the_same_in_any_order(ws, tmp_path):
    # Priority changes when a text is embedded, never what its vector is.
    with open_index(ws, tmp_path / "a") as a, open_index(ws, tmp_path / "b", embed=False) as b:
        a.update()
        b.update()
        b.prioritize(["pkg/mod05.py", "pkg/mod09.py"])
        b.sync_vectors()
        model = a.embedder.model_id
        va, _ = a.vectors.snapshot(model)
        vb, _ = b.vectors.snapshot(model)
        assert va == vb
        record = next(r for r in a.iter_symbols() if r.name == "handler_5")
        assert np.array_equal(a.stored_vector(record, model, DIM), b.stored_vector(record, model, DIM))
