"""Crash consistency: SIGKILL the indexer at random moments, restart, and require the index to equal
a fresh rebuild of the same working tree: same symbols, same vectors, no duplicates, nothing pending.

The indexer runs in a subprocess on a real workspace (Rust scanner, SQLite, LanceDB) with tiny sync
and embedding batches, so kills land between many commits: during the scan/write phase, between
the embedding cache commit and the LanceDB commit, between LanceDB and the outbox acknowledgement,
during compaction, during start-up reconciliation. Between runs the working tree changes (edits,
reverts, new, deleted and renamed files) so replays include deletes and re-queued rows.

20 kills by default; SYMSCOPE_SLOW_TESTS=1 asks for 50.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from index_support import index_snapshot, open_index

REPO = Path(__file__).resolve().parents[1]
DIM = 32
KILLS = 50 if os.environ.get("SYMSCOPE_SLOW_TESTS") == "1" else 20

WORKER = r"""
import sys, time
from lsp_server.config import Settings
from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index

root, index_dir, dim = sys.argv[1], sys.argv[2], int(sys.argv[3])
index = Index.open(Settings(root=root, index_dir=index_dir), embedder=HashingEmbedder(dim))
assert index.is_writer, "the test process must not hold the lock while a worker runs"
print("ready", flush=True)
started = time.perf_counter()
stats = index.update()
assert not stats.errors, stats.errors
print("done", time.perf_counter() - started, flush=True)
index.close()
"""

VERBS = ["load", "save", "parse", "render", "fetch", "merge", "split", "retry", "upload", "scan"]
NOUNS = ["config", "user", "token", "chunk", "table", "record", "buffer", "index", "query", "file"]
DOCS = [
    "Read it from disk.",
    "Send it over the network.",
    "Turn text into a tree.",
    "Combine two of them.",
    None,
]


def python_file(rng: random.Random) -> str:
    out = ["import os\n"]
    for _ in range(rng.randint(4, 9)):
        name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
        doc = rng.choice(DOCS)
        if rng.random() < 0.3:
            out.append(f"class {name.title().replace('_', '')}:\n")
            out.append(f'    """{doc}"""\n' if doc else "    pass\n")
            out.append(f"    def {name}(self, x):\n        return helper_{rng.choice(NOUNS)}(x)\n\n")
        else:
            out.append(f"def {name}(a, b={rng.randint(0, 3)}):\n")
            if doc:
                out.append(f'    """{doc}"""\n')
            out.append(f"    return {rng.choice(VERBS)}_{rng.choice(NOUNS)}(a) + b\n\n")
    return "".join(out)


def js_file(rng: random.Random) -> str:
    return "".join(
        f"function {rng.choice(VERBS)}{rng.choice(NOUNS).title()}(x) {{ return x + {rng.randint(0, 3)}; }}\n"
        for _ in range(rng.randint(3, 7))
    )


def new_file(rng: random.Random, root: Path, n: int) -> None:
    if rng.random() < 0.7:
        path = root / f"pkg{n % 4}" / f"mod{n}.py"
        text = python_file(rng)
    else:
        path = root / "web" / f"file{n}.js"
        text = js_file(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def mutate(rng: random.Random, root: Path, counter: list[int]) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    for path in rng.sample(files, k=max(1, len(files) // 3)):
        path.write_text(python_file(rng) if path.suffix == ".py" else js_file(rng))
    if files and rng.random() < 0.3:
        rng.choice(files).unlink()
    if rng.random() < 0.4:
        counter[0] += 1
        new_file(rng, root, counter[0])
    remaining = sorted(p for p in root.rglob("*") if p.is_file())
    if remaining and rng.random() < 0.2:
        src = rng.choice(remaining)
        counter[0] += 1
        src.rename(src.with_name(f"renamed{counter[0]}{src.suffix}"))


def start_worker(root: Path, index_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    env["SYMSCOPE_SYNC_BATCH"] = "12"  # many small LanceDB commits and outbox acknowledgements
    env["SYMSCOPE_EMBED_BATCH"] = "5"  # many embedding-cache commits
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root), str(index_dir), str(DIM)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def run_to_completion(root: Path, index_dir: Path) -> None:
    proc = start_worker(root, index_dir)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err


def wait_ready(proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("ready"):
            return True
        if not line and proc.poll() is not None:
            return False
    raise AssertionError("worker never became ready")


def fresh_snapshot(root: Path, index_dir: Path) -> dict:
    with open_index(root, index_dir, dim=DIM) as fresh:
        assert fresh.is_writer
        fresh.update()
        return index_snapshot(fresh)


def recovered_snapshot(root: Path, index_dir: Path) -> dict:
    with open_index(root, index_dir, dim=DIM, readonly=True) as recovered:
        return index_snapshot(recovered)


@pytest.mark.timeout(1800)
def test_sigkill_at_random_moments_then_restart_equals_fresh_rebuild(tmp_path):
    rng = random.Random(int(os.environ.get("SYMSCOPE_CRASH_SEED", "20240611")))
    root = tmp_path / "ws"
    index_dir = tmp_path / "idx"
    counter = [0]
    for _ in range(24):
        counter[0] += 1
        new_file(rng, root, counter[0])

    kills = 0
    attempts = 0
    first_build = True
    work_seconds = 0.5
    while kills < KILLS:
        attempts += 1
        assert attempts < KILLS * 4, f"only {kills} kills landed in {attempts} attempts"
        if not first_build:
            mutate(rng, root, counter)
        proc = start_worker(root, index_dir)
        try:
            if rng.random() < 0.15:
                time.sleep(rng.uniform(0.0, 1.5))  # sometimes during start-up and reconciliation
            else:
                if not wait_ready(proc):
                    pytest.fail(f"worker failed: {proc.stderr.read()}")
                time.sleep(rng.uniform(0.0, work_seconds))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            else:
                # It finished before the kill: aim the next delays within its real duration.
                done = proc.stdout.read().split("done", 1)
                if len(done) == 2:
                    work_seconds = max(0.05, float(done[1].split()[0]) * 1.2)
        finally:
            proc.wait(timeout=60)
            proc.stdout.close()
            proc.stderr.close()
        if proc.returncode not in (0, -signal.SIGKILL):
            pytest.fail(f"worker exited with {proc.returncode}")
        first_build = False

        # Restart and check against a fresh rebuild every few kills (and after the last one).
        if kills % 4 == 0 or kills >= KILLS:
            run_to_completion(root, index_dir)
            recovered = recovered_snapshot(root, index_dir)
            fresh = fresh_snapshot(root, tmp_path / f"fresh{attempts}")
            assert recovered["duplicates"] == []
            assert recovered["pending"] == 0
            assert recovered["symbols"] == fresh["symbols"]
            assert recovered["vector_ids"] == fresh["vector_ids"]
            assert recovered["vectors"] == fresh["vectors"]
            assert recovered["files"] == fresh["files"]
            assert recovered["symbols"], "the workspace should never be empty"
    assert kills >= KILLS
