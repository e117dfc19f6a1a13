"""Stable versions: ``beginLifespanVersion`` changes only when an object changes.

Each release keeps a small state file, Parquet (local id -> content hash, begin of lifespan),
in its ``internal/`` folder when the dataset has records or fields the public may not see
(the state lists every local id).
A new run reuses the previous begin for every object whose public content (attributes and
position to the millimetre) hashes the same, and stamps changed or new objects with the run
time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shapely

STATE_FILE = "state.parquet"


def content_hash(data: pd.DataFrame, geometry: np.ndarray) -> np.ndarray:
    """One 64-bit hash per record of the given (public) columns and the geometry (1 mm)."""
    cols = data.drop(columns=["begin_lifespan"], errors="ignore").copy()
    wkb = shapely.to_wkb(shapely.set_precision(geometry, 0.001))
    cols["__geom"] = pd.util.hash_array(np.asarray(wkb, dtype=object))
    return pd.util.hash_pandas_object(cols, index=False).to_numpy(dtype=np.uint64)


def read_state(release: Path | None) -> pd.DataFrame:
    """The previous release's (local_id, hash, begin) table; empty for a first run."""
    path = None if release is None else next(
        (p for p in (release / "internal" / STATE_FILE, release / STATE_FILE) if p.exists()), None)
    if path is None:
        return pd.DataFrame({"local_id": pd.Series(dtype=object),
                             "hash": pd.Series(dtype="int64"),
                             "begin": pd.Series(dtype=object)})
    return pd.read_parquet(path)


def assign(data: pd.DataFrame, geometry: np.ndarray, previous: pd.DataFrame,
           now: str) -> tuple[pd.Series, np.ndarray, int]:
    """Begin of lifespan per record; returns (begins, hashes, number unchanged)."""
    hashes = content_hash(data, geometry).astype(np.int64)
    current = pd.DataFrame({"local_id": data["local_id"].astype(object).to_numpy(),
                            "hash": hashes})
    merged = current.merge(previous, on="local_id", how="left", suffixes=("", "_prev"))
    same = (merged["hash"] == merged["hash_prev"]).to_numpy(dtype=bool)
    begins = np.where(same, merged["begin"].to_numpy(dtype=object), now)
    return pd.Series(begins, index=data.index, dtype=object), hashes, int(same.sum())


def write_state(release: Path, local_ids: pd.Series, hashes: np.ndarray, begins: pd.Series
                ) -> None:
    frame = pd.DataFrame({"local_id": local_ids.astype(str).to_numpy(), "hash": hashes,
                          "begin": begins.astype(str).to_numpy()})
    frame.to_parquet(release / STATE_FILE, index=False)
