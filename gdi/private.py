"""Confidential files: where they live and who may read them.

The rule (docs/privacy.md): no value of a confidential field and no position of a non-public
record in any file outside an ``internal/`` folder, and every ``internal/`` folder is readable
by its owner only (folders 0700, files 0600). Everything that writes confidential material
goes through the helpers here, so the rule holds in one place.
"""

from __future__ import annotations

import os
from pathlib import Path

INTERNAL = "internal"


def private_dir(path: Path) -> Path:
    """Create (if needed) a folder only its owner can enter."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write a text file readable by its owner only (created 0600, never world-readable)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def seal(folder: Path) -> None:
    """Make a folder and everything in it readable by its owner only."""
    if not folder.exists():
        return
    folder.chmod(0o700)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o700)
        for f in files:
            os.chmod(os.path.join(root, f), 0o600)
