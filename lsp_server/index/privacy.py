"""Keeps an index directory private to the user who owns it.

An index holds copies of the code it indexes (snippets, signatures, docs, embedded text, vectors), so
on a shared machine it must be as private as the user's cache: directories 0700, files 0600.

Owns three things, all called from `Index.open`:
- `restrict_umask()`: ORs 0o077 into the process umask. LanceDB's Rust code writes new files on
  every commit (data files, manifests, transactions, deletion files) and SQLite creates index.db and
  its -wal/-shm, none of which take a mode from us, so chmod after the fact would always leave a
  window (and miss files written later). The umask is process-wide, which is acceptable because a
  symscope process writes nothing but its index (and the per-user model cache, which is as
  private). It is set by readers too: a reader creates the directory, may create index.db and
  its schema, and may take over as the writer later. Bits already in the umask are kept;
  nothing is ever loosened.
- `make_private_dir(index_dir)`: creates the directory and any missing parents with mode 0o700,
  and tightens the folders between the user's symscope cache folder and the index (they are ours).
- `tighten_tree(index_dir)`: an existing index (made by an older symscope, or chmod-ed by hand)
  loses its group/other bits: directories become at most 0700, files at most 0600. Only entries
  the current user owns are touched; symlinks are never followed or changed (the walk holds
  directory fds, and every file is opened with O_NOFOLLOW and checked against what was listed).

Must never: follow a symlink out of the index, change anything another user owns, loosen a mode,
or fail an open because some entry could not be tightened (that is logged, not raised).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def restrict_umask() -> int:
    """OR PRIVATE_UMASK into the process umask; returns the umask now in force."""
    # os.umask can only be read by setting it: set the restrictive value first, so the brief moment
    # between the two calls is never looser than the result.
    old = os.umask(PRIVATE_UMASK)
    new = old | PRIVATE_UMASK
    os.umask(new)
    return new


def _ours(st: os.stat_result) -> bool:
    return st.st_uid == os.geteuid()


def _tighten_fd(fd: int, st: os.stat_result) -> None:
    if _ours(st) and stat.S_IMODE(st.st_mode) & PRIVATE_UMASK:
        os.fchmod(fd, stat.S_IMODE(st.st_mode) & ~PRIVATE_UMASK)


def _tighten_dir_path(path: Path) -> None:
    """Tighten one directory named by `path` (not followed if it is a symlink)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        log.debug("cannot tighten %s: %s", path, exc)
        return
    try:
        _tighten_fd(fd, os.fstat(fd))
    except OSError as exc:
        log.warning("cannot make %s private: %s", path, exc)
    finally:
        os.close(fd)


def make_private_dir(index_dir: Path, cache_root: Path | None = None) -> None:
    """Create `index_dir` (and missing parents) 0700; tighten the folders from `cache_root` (the
    user's symscope cache folder, ours alone) down to `index_dir` when the index lives inside it."""
    index_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # parents: 0o777 & ~umask (0o077 in)
    if cache_root is None:
        return
    try:
        relative = index_dir.relative_to(cache_root)
    except ValueError:
        return  # a location the user chose: its parents are theirs, not ours
    current = cache_root
    _tighten_dir_path(current)
    for part in relative.parts[:-1]:
        current = current / part
        _tighten_dir_path(current)


def tighten_tree(top: Path) -> int:
    """Drop group/other bits from `top` and everything below it that we own; returns how many
    entries changed. Symlinks (at any depth, `top` included) are skipped, never followed."""
    changed = 0
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        walk = os.fwalk(top, follow_symlinks=False)
        for _dirpath, _dirnames, filenames, dirfd in walk:
            st = os.fstat(dirfd)
            if _ours(st) and stat.S_IMODE(st.st_mode) & PRIVATE_UMASK:
                os.fchmod(dirfd, stat.S_IMODE(st.st_mode) & ~PRIVATE_UMASK)
                changed += 1
            for name in filenames:
                try:
                    listed = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                    if not stat.S_ISREG(listed.st_mode) or not _ours(listed):
                        continue  # symlinks, sockets, fifos, devices, other users' files
                    if not stat.S_IMODE(listed.st_mode) & PRIVATE_UMASK:
                        continue
                    fd = os.open(name, flags, dir_fd=dirfd)
                except OSError as exc:  # vanished, or swapped for a symlink (ELOOP) meanwhile
                    log.debug("not tightening %s: %s", name, exc)
                    continue
                try:
                    now = os.fstat(fd)
                    if stat.S_ISREG(now.st_mode) and (now.st_dev, now.st_ino) == (listed.st_dev, listed.st_ino):
                        _tighten_fd(fd, now)
                        changed += 1
                finally:
                    os.close(fd)
    except OSError as exc:
        log.warning("could not make every file of %s private: %s", top, exc)
    return changed
