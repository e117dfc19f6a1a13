"""Exclusive locks between processes of the project (``flock``: released by the kernel when
the holder dies, even by SIGKILL, so a killed process never leaves a stale lock)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gdi.errors import GdiError


@contextmanager
def exclusive(path: Path, error: type[GdiError], what: str) -> Iterator[None]:
    """Hold the lock file ``path``; raise ``error`` naming ``what`` and the holder's pid if
    another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise error(f"{what} is under way (pid {other}); nothing was changed",
                        hint="wait for it to finish (or stop it), then try again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
