"""Buildings carried forward from one release to the next (docs/city3d.md, "Versions").

Building ids are the ALKIS object ids. Against the live release each building is:
``unchanged`` (keeps its ``beginLifespanVersion``), ``new``, ``footprint_changed`` (Hausdorff
distance above ``footprint_tolerance_m``), ``roof_changed`` (LoD1.2 roof height moved more
than ``roof_threshold_m``), ``attributes_changed`` (an ALKIS attribute changed), or
``demolished`` (in the live release, not in this one). Demolished buildings and the replaced
versions of changed ones go to the history store (``<id>.history.gpkg``) with their
``end_lifespan``; the history of the live release is carried forward, never dropped.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gdi.descriptor import ChangeSpec

HISTORY = "history"
KINDS = ("new", "footprint_changed", "roof_changed", "attributes_changed", "demolished")


def history_file(dataset: str) -> str:
    return f"{dataset}.history.gpkg"


def changes_file(dataset: str) -> str:
    return f"{dataset}.changes.csv"


@dataclasses.dataclass(frozen=True)
class Changes:
    begins: np.ndarray            # beginLifespanVersion per current building
    kinds: np.ndarray             # None (unchanged) or the change per current building
    table: pd.DataFrame           # one row per change: local_id, change, roof_before/after
    history: gpd.GeoDataFrame     # the carried-forward history plus this run's retirements

    def counts(self) -> dict[str, int]:
        got = self.table["change"].value_counts()
        return {k: int(got.get(k, 0)) for k in KINDS} | {
            "unchanged": int(sum(k is None for k in self.kinds))}


def _comparable(values: pd.Series) -> np.ndarray:
    """Values as text the same way whether read from the run or from the live GeoPackage
    (3 and 3.0, a date and its ISO text, NULL and NaN compare equal)."""
    def one(v: object) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return "\0"
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            return repr(round(float(v), 6))
        return v.isoformat()[:10] if hasattr(v, "isoformat") else str(v)
    return np.array([one(v) for v in values.astype(object)], dtype=object)


def _previous(live: Path | None, dataset: str, layer: str) -> gpd.GeoDataFrame | None:
    path = None if live is None else live / f"{dataset}.gpkg"
    if path is None or not path.exists():
        return None
    return pyogrio.read_dataframe(path, layer=layer)


def _history(live: Path | None, dataset: str, crs: str) -> gpd.GeoDataFrame:
    path = None if live is None else live / history_file(dataset)
    if path is not None and path.exists():
        return pyogrio.read_dataframe(path, layer=HISTORY)
    return gpd.GeoDataFrame({"local_id": pd.Series(dtype=object)}, geometry=[], crs=crs)


def compare(data: pd.DataFrame, geometry: np.ndarray, attributes: list[str], live: Path | None,
            dataset: str, layer: str, spec: ChangeSpec, now: str, crs: str) -> Changes:
    """``data``: the run's public buildings (local_id, roof_lod12, the ``attributes``)."""
    prev = _previous(live, dataset, layer)
    n = len(data)
    history = _history(live, dataset, crs)
    if prev is None:
        table = pd.DataFrame({"local_id": data["local_id"].astype(str), "change": "new",
                              "roof_before": np.nan, "roof_after": data["roof_lod12"]})
        return Changes(np.full(n, now, dtype=object), np.full(n, "new", dtype=object),
                       table, history)
    where = pd.Index(prev["local_id"].astype(str)).get_indexer(data["local_id"].astype(str))
    known = where >= 0
    kinds = np.full(n, "new", dtype=object)
    old_geom = np.full(n, None, dtype=object)
    old_geom[known] = prev.geometry.to_numpy()[where[known]]
    moved = np.zeros(n, dtype=bool)
    moved[known] = shapely.hausdorff_distance(
        np.asarray(geometry, dtype=object)[known], old_geom[known]) > spec.footprint_tolerance_m
    roof_before = np.full(n, np.nan)
    roof_before[known] = prev["roof_lod12"].to_numpy(dtype=float)[where[known]]
    roof = data["roof_lod12"].to_numpy(dtype=float)
    raised = known & ~moved & ~(np.abs(roof - roof_before) <= spec.roof_threshold_m)
    shared = [a for a in attributes if a in prev.columns]
    other = np.zeros(n, dtype=bool)
    for a in shared:
        now_v, was = _comparable(data[a]), _comparable(prev[a])
        other[known] |= now_v[known] != was[where[known]]
    other &= known & ~moved & ~raised
    kinds[known] = None
    kinds[moved] = "footprint_changed"
    kinds[raised] = "roof_changed"
    kinds[other] = "attributes_changed"
    begins = np.full(n, now, dtype=object)
    keep = known & (kinds == None)  # noqa: E711 (elementwise)
    begins[keep] = prev["begin_lifespan"].astype(str).to_numpy(dtype=object)[where[keep]]
    gone = ~pd.Index(prev["local_id"].astype(str)).isin(data["local_id"].astype(str))
    changed_prev = where[known & (kinds != None)]  # noqa: E711
    retired = pd.concat([prev.iloc[np.flatnonzero(gone)].assign(change="demolished"),
                         prev.iloc[changed_prev].assign(change="superseded")])
    retired["end_lifespan"] = now
    history = pd.concat([history, retired], ignore_index=True) if len(history) else retired
    rows = pd.DataFrame({"local_id": data["local_id"].astype(str), "change": kinds,
                         "roof_before": roof_before, "roof_after": roof})
    rows = rows[rows["change"].notna()]
    dead = prev.loc[gone, ["local_id", "roof_lod12"]].rename(columns={"roof_lod12":
                                                                      "roof_before"})
    rows = pd.concat([rows, dead.assign(change="demolished", roof_after=np.nan)],
                     ignore_index=True)[["local_id", "change", "roof_before", "roof_after"]]
    return Changes(begins, kinds, rows.reset_index(drop=True),
                   gpd.GeoDataFrame(history, geometry="geometry", crs=crs))


def write(changes: Changes, stage: Path, dataset: str) -> tuple[str, str]:
    """The change list (CSV) and the history store into the release being built."""
    csv_name, hist_name = changes_file(dataset), history_file(dataset)
    changes.table.round(3).to_csv(stage / csv_name, index=False)
    hist = changes.history
    if len(hist):
        pyogrio.write_dataframe(hist, stage / hist_name, layer=HISTORY)
    else:  # an empty history is still a store: the next run carries it forward
        pyogrio.write_dataframe(
            gpd.GeoDataFrame({"local_id": pd.Series(["-"]), "end_lifespan": ["-"]},
                             geometry=[shapely.Point(0, 0)], crs=hist.crs).iloc[:0],
            stage / hist_name, layer=HISTORY, geometry_type="MultiPolygon")
    return csv_name, hist_name
