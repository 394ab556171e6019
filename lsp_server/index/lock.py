"""The single-writer lock of an index directory.

Owns `<index_dir>/write.lock`: an exclusive `fcntl.flock` held for as long as a process is the
index's writer. The kernel drops it when the holder dies (even by SIGKILL), so a reader that tries
again takes over; nothing is ever left to clean up by hand.

Must never: block (every attempt is non-blocking), or treat the lock file's contents as truth (the
pid written there is only a hint for status messages).
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

LOCK_NAME = "write.lock"


class WriterLock:
    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True if this process holds it now."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return False
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder_hint(self) -> str | None:
        """The pid the current holder wrote, for messages only."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return text or None

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
