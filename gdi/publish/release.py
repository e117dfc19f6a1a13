"""Releases: build aside, validate, then switch atomically.

``<data>/publish/<dataset>/releases/<run>/`` holds one complete publication; ``current`` is a
symlink to the live one. A run builds into ``releases/.<run>.partial``; only after every check
passed is it renamed and ``current`` replaced in one ``rename(2)``. A failed run leaves the
last good publication untouched and removes its partial build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gdi.errors import PublicationError


def dataset_dir(publish_dir: Path, dataset: str) -> Path:
    return publish_dir / dataset


def current(publish_dir: Path, dataset: str) -> Path | None:
    link = dataset_dir(publish_dir, dataset) / "current"
    return link.resolve() if link.exists() else None


@contextmanager
def staging(publish_dir: Path, dataset: str, run_id: str) -> Iterator[Path]:
    """Yield a fresh staging folder; remove it if the block fails."""
    releases = dataset_dir(publish_dir, dataset) / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    partial = releases / f".{run_id}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def promote(publish_dir: Path, dataset: str, partial: Path, run_id: str, keep: int) -> Path:
    """Make a validated staging folder the live release (atomic symlink swap)."""
    base = dataset_dir(publish_dir, dataset)
    final = base / "releases" / run_id
    if final.exists():
        raise PublicationError(f"release {run_id} of {dataset} exists already")
    partial.rename(final)
    tmp = base / f".current.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path("releases") / run_id)
    os.replace(tmp, base / "current")
    _prune(base / "releases", final, keep)
    return final


def _prune(releases: Path, live: Path, keep: int) -> None:
    done = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)
    for old in done[: max(0, len(done) - keep)]:
        if old != live:
            shutil.rmtree(old, ignore_errors=True)
