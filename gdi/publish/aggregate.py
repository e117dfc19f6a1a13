"""Aggregates on the INSPIRE statistical grid (ETRS89-LAEA, EPSG:3035): counts of confidential
records the public may see (``grid_counts``), and the view service's overview of a dense
public point layer (``cell_counts``).

Each record is counted in the cell that holds a point inside its geometry. One row per
(cell, class) with at least ``suppress_below`` records; no totals (they would reveal the
suppressed counts by subtraction). Cell ids follow the INSPIRE grid convention
``CRS3035RES1000mN<northing>E<easting>`` (lower-left corner).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gdi import crs

GRID_CRS = "EPSG:3035"


def _corners(geometry: np.ndarray, size: int, storage_crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower-left corners (easting, northing in EPSG:3035) of each record's cell."""
    points = shapely.get_type_id(geometry) == 0
    anchor = geometry if points.all() else shapely.point_on_surface(geometry)
    x, y = crs.transform_xy(shapely.get_x(anchor), shapely.get_y(anchor), storage_crs,
                            GRID_CRS)
    return ((np.floor(x / size) * size).astype(np.int64),
            (np.floor(y / size) * size).astype(np.int64))


def _cells(e: np.ndarray, n: np.ndarray, size: int, storage_crs: str, **columns: object
           ) -> gpd.GeoDataFrame:
    boxes = shapely.transform(shapely.box(e, n, e + size, n + size), lambda c: np.column_stack(
        crs.transform_xy(c[:, 0], c[:, 1], GRID_CRS, storage_crs)))
    return gpd.GeoDataFrame({
        "cell_id": [f"CRS3035RES{size}mN{nn}E{ee}" for nn, ee in zip(n, e, strict=True)],
        "grid": f"{size // 1000}km" if size >= 1000 else f"{size}m", **columns,
    }, geometry=list(boxes), crs=storage_crs)


def grid_counts(geometry: np.ndarray, classes: pd.Series, *, size: int, suppress_below: int,
                storage_crs: str) -> tuple[gpd.GeoDataFrame, int]:
    """(cells with counts, in the storage CRS; number of suppressed cell/class pairs)."""
    e, n = _corners(geometry, size, storage_crs)
    frame = pd.DataFrame({"e": e, "n": n, "cls": classes.astype(object).to_numpy()})
    counts = frame.groupby(["e", "n", "cls"], dropna=False).size().reset_index(name="count")
    kept = counts[counts["count"] >= suppress_below].reset_index(drop=True)
    out = _cells(kept["e"].to_numpy(), kept["n"].to_numpy(), size, storage_crs,
                 **{"class": kept["cls"].astype(str), "count": kept["count"].astype("int64")})
    return out, int(len(counts) - len(kept))


def cell_counts(geometry: np.ndarray, *, size: int, storage_crs: str) -> gpd.GeoDataFrame:
    """Records per grid cell, every cell with records (public data: nothing suppressed)."""
    e, n = _corners(geometry, size, storage_crs)
    keys, counts = np.unique(np.column_stack([e, n]), axis=0, return_counts=True)
    return _cells(keys[:, 0], keys[:, 1], size, storage_crs, count=counts.astype(np.int64))
