"""Releases: build aside, validate, then switch atomically.

``<data>/publish/<dataset>/releases/<run>/`` holds one complete publication; ``current`` is a
symlink to the live one. A run builds into ``releases/.<run>.<pid>.partial``; only after every
check passed is it renamed and ``current`` replaced in one ``rename(2)``. A failed run leaves
the last good publication untouched and removes its partial build.

One run per dataset at a time: :func:`locked` holds an exclusive lock on the dataset's folder
(``flock``, released by the kernel when the process dies, even by SIGKILL). Whoever holds it
removes the partial builds of runs that were killed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gdi.errors import PublicationError
from gdi.locks import exclusive


def dataset_dir(publish_dir: Path, dataset: str) -> Path:
    return publish_dir / dataset


def current(publish_dir: Path, dataset: str) -> Path | None:
    link = dataset_dir(publish_dir, dataset) / "current"
    return link.resolve() if link.exists() else None


@contextmanager
def locked(publish_dir: Path, dataset: str) -> Iterator[None]:
    """Hold the dataset's run lock (refused while another run of it is under way); remove
    the partial builds of killed runs, which nobody else can own now."""
    base = dataset_dir(publish_dir, dataset)
    with exclusive(base / ".lock", PublicationError, f"another run of {dataset}"):
        releases = base / "releases"
        if releases.exists():
            for stale in releases.glob(".*.partial"):
                shutil.rmtree(stale, ignore_errors=True)
        yield


@contextmanager
def staging(publish_dir: Path, dataset: str, run_id: str) -> Iterator[Path]:
    """Yield a fresh staging folder of this process; remove it if the block fails."""
    releases = dataset_dir(publish_dir, dataset) / "releases"
    releases.mkdir(parents=True, exist_ok=True)
    partial = releases / f".{run_id}.{os.getpid()}.partial"
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
    n = 1
    while final.exists():  # two runs within one second
        final = base / "releases" / f"{run_id}-{n}"
        n += 1
    partial.rename(final)
    tmp = base / f".current.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path("releases") / final.name)
    os.replace(tmp, base / "current")
    _prune(base / "releases", final, keep)
    return final


def _prune(releases: Path, live: Path, keep: int) -> None:
    done = sorted((p for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)
    for old in done[: max(0, len(done) - keep)]:
        if old != live:
            shutil.rmtree(old, ignore_errors=True)
