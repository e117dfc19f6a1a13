"""Stable versions: ``beginLifespanVersion`` changes only when an object changes.

Each release keeps a small state file (local id -> content hash, begin of lifespan). A new run
reuses the previous begin for every object whose public content (attributes and position to
the millimetre) hashes the same, and stamps changed or new objects with the run time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

STATE_FILE = "state.sqlite"


def content_hash(data: pd.DataFrame, geometry: np.ndarray) -> np.ndarray:
    """One 64-bit hash per record of the given (public) columns and the geometry (1 mm)."""
    cols = data.drop(columns=["begin_lifespan"], errors="ignore").copy()
    wkb = shapely.to_wkb(shapely.set_precision(geometry, 0.001))
    cols["__geom"] = pd.util.hash_array(np.asarray(wkb, dtype=object))
    return pd.util.hash_pandas_object(cols, index=False).to_numpy(dtype=np.uint64)


def read_state(release: Path | None) -> dict[str, tuple[int, str]]:
    if release is None or not (release / STATE_FILE).exists():
        return {}
    with sqlite3.connect(release / STATE_FILE) as con:
        rows = con.execute("SELECT local_id, hash, begin FROM lifespan").fetchall()
    return {lid: (int(h), begin) for lid, h, begin in rows}


def assign(data: pd.DataFrame, geometry: np.ndarray, previous: dict[str, tuple[int, str]],
           now: str) -> tuple[pd.Series, np.ndarray, int]:
    """Begin of lifespan per record; returns (begins, hashes, number unchanged)."""
    hashes = content_hash(data, geometry)
    # store as signed 64-bit for SQLite
    signed = hashes.astype(np.int64)
    begins = []
    unchanged = 0
    for lid, h in zip(data["local_id"], signed, strict=True):
        prev = previous.get(lid)
        if prev is not None and prev[0] == int(h):
            begins.append(prev[1])
            unchanged += 1
        else:
            begins.append(now)
    return pd.Series(begins, index=data.index, dtype=object), signed, unchanged


def write_state(release: Path, local_ids: pd.Series, hashes: np.ndarray, begins: pd.Series
                ) -> None:
    with sqlite3.connect(release / STATE_FILE) as con:
        con.execute("CREATE TABLE lifespan (local_id TEXT PRIMARY KEY, hash INTEGER, begin TEXT)")
        con.executemany(
            "INSERT INTO lifespan VALUES (?, ?, ?)",
            zip(local_ids.tolist(), (int(h) for h in hashes), begins.tolist(), strict=True),
        )
