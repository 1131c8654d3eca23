"""What the locally started stores (embedded PostgreSQL, local Neo4j) have in common: one owner per
data dir, a free loopback port, and errors that carry the tail of the server's log."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path


def log_tail(path: Path, lines: int, max_bytes: int) -> str:
    """The last `lines` lines within the last `max_bytes` of a log ("" when it cannot be read)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class LocalServerError(RuntimeError):
    """Starting, initialising or stopping a locally run server failed; the message ends with the
    tail of its log when there is one."""

    tail_lines = 20
    tail_bytes = 8192

    def __init__(self, what: str, *, log_path: Path | None = None, detail: str = "") -> None:
        message = what
        if detail:
            message += f"\n{detail.rstrip()}"
        if log_path is not None:
            message += f"\nServer log: {log_path}"
            tail = log_tail(log_path, self.tail_lines, self.tail_bytes)
            if tail:
                message += f"\nLast lines of the server log:\n{tail}"
        super().__init__(message)
        self.log_path = log_path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class DataDirLock:
    """An exclusive flock on a file in the data dir: one server object per data dir, in this or any
    other process (a second one fails at once instead of fighting over the files)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """True when the lock is now held (or already was); False when someone else holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
