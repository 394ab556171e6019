"""Memory readings of running processes from Linux's /proc, shared by the benchmarks that sample a
server (memory.py, scale.py).

Owns: a process's status memory fields and its descendants (the supervised parser workers are a
server's children). Never: starts, signals or waits on a process; a process that is gone reads as
empty, never as an error.
"""

from __future__ import annotations

import os

STATUS_FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM / RssAnon / RssFile / RssShmem of a process in bytes ({} when it is gone)."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in STATUS_FIELDS:
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        return {}
    return out


def children(pid: int) -> list[int]:
    """Every descendant of `pid`, depth first ([] when it is gone)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    kids = [int(x) for x in fh.read().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found
