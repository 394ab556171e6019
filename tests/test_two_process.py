"""Two processes open one index at the same moment: exactly one becomes the writer, neither errors,
the reader sees the writer's commits, and when the writer dies (SIGKILL) the reader takes over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from index_support import make_workspace

REPO = Path(__file__).resolve().parents[1]

PEER = r"""
import json, sys, threading, time
from lsp_server.config import Settings
from lsp_server.embed import HashingEmbedder
from lsp_server.index import Index
from lsp_server.search import Searcher

def say(**kw):
    print(json.dumps(kw), flush=True)

root, index_dir = sys.argv[1], sys.argv[2]
embedder = HashingEmbedder(48)
sys.stdin.readline()  # both peers open the index at the same signal
index = Index.open(Settings(root=root, index_dir=index_dir), embedder=embedder)
say(writer=index.is_writer)
searcher = Searcher(index, embedder)
if index.is_writer:
    stats = index.update()
    say(updated=stats.symbols, errors=stats.errors)
    sys.stdin.readline()
else:
    # Search continuously while the writer writes: no query may fail.
    failures, stop = [], threading.Event()
    def keep_searching():
        while not stop.is_set():
            try:
                searcher.search("load config", 5)
                searcher.symbols("ldcfg", 5)
            except Exception as exc:
                failures.append(repr(exc))
            time.sleep(0.01)
    thread = threading.Thread(target=keep_searching)
    thread.start()
    expected = int(sys.stdin.readline())  # the writer's symbol count, once it committed
    deadline = time.monotonic() + 120
    while True:
        status = index.status()
        if status.symbols == expected and status.vectors == expected and status.pending == 0:
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    stop.set()
    thread.join()
    assert not failures, failures
    say(saw=status.symbols, top=searcher.search("load_config", 1)[0].qualified_name,
        fuzzy=searcher.symbols("ldcfg", 1)[0].qualified_name)
    sys.stdin.readline()  # the writer has been killed
    while not index.take_over():
        assert time.monotonic() < deadline + 60
        time.sleep(0.05)
    stats = index.update()
    say(took_over=index.is_writer, changed=stats.changed, embedded=stats.embedded, symbols=stats.symbols)
index.close()
"""


def spawn(root: Path, index_dir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        [sys.executable, "-c", PEER, str(root), str(index_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"peer exited ({proc.returncode}): {proc.stderr.read()}")
    return json.loads(line)


def send(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-index", "existing-index"])
@pytest.mark.timeout(600)
def test_two_processes_one_writer_reader_follows_and_takes_over(tmp_path, fresh):
    root = make_workspace(tmp_path / "ws")
    index_dir = tmp_path / "idx"
    if not fresh:
        # A populated index whose working tree then changed: the writer has real work to do.
        warm = spawn(root, index_dir)
        send(warm)
        assert read(warm)["writer"] is True
        read(warm)  # updated
        warm.stdin.close()
        assert warm.wait(timeout=300) == 0
        (root / "pkg/extra.py").write_text("def extra_thing():\n    pass\n")

    a, b = spawn(root, index_dir), spawn(root, index_dir)
    try:
        send(a), send(b)  # go
        roles = {id(p): read(p)["writer"] for p in (a, b)}
        assert sorted(roles.values()) == [False, True], roles
        writer, reader = (a, b) if roles[id(a)] else (b, a)

        updated = read(writer)
        assert updated["errors"] == [] and updated["updated"] > 0
        reader.stdin.write(f"{updated['updated']}\n")
        reader.stdin.flush()
        seen = read(reader)
        assert seen["saw"] == updated["updated"]
        assert seen["top"] == "load_config" and seen["fuzzy"] == "load_config"

        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        send(reader)
        took = read(reader)
        assert took["took_over"] is True
        assert took["changed"] == 0 and took["embedded"] == 0
        assert took["symbols"] == updated["updated"]
        reader.stdin.close()
        assert reader.wait(timeout=60) == 0
        errors = reader.stderr.read()
        assert "Traceback" not in errors and "Error" not in errors, errors
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)
