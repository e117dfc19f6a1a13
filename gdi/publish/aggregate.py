"""Aggregates on the INSPIRE statistical grid (ETRS89-LAEA, EPSG:3035) for confidential data.

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


def grid_counts(geometry: np.ndarray, classes: pd.Series, *, size: int, suppress_below: int,
                storage_crs: str) -> tuple[gpd.GeoDataFrame, int]:
    """(cells with counts, in the storage CRS; number of suppressed cell/class pairs)."""
    anchor = shapely.point_on_surface(geometry)
    x, y = crs.transform_xy(shapely.get_x(anchor), shapely.get_y(anchor), storage_crs,
                            GRID_CRS)
    e = (np.floor(x / size) * size).astype(np.int64)
    n = (np.floor(y / size) * size).astype(np.int64)
    frame = pd.DataFrame({"e": e, "n": n, "cls": classes.astype(object).to_numpy()})
    counts = frame.groupby(["e", "n", "cls"], dropna=False).size().reset_index(name="count")
    kept = counts[counts["count"] >= suppress_below].reset_index(drop=True)
    cells = shapely.box(kept["e"], kept["n"], kept["e"] + size, kept["n"] + size)
    corners = shapely.transform(cells, lambda c: np.column_stack(
        crs.transform_xy(c[:, 0], c[:, 1], GRID_CRS, storage_crs)))
    label = f"{size // 1000}km" if size >= 1000 else f"{size}m"
    out = gpd.GeoDataFrame({
        "cell_id": [f"CRS3035RES{size}mN{nn}E{ee}" for nn, ee in zip(kept["n"], kept["e"],
                                                                    strict=True)],
        "grid": label,
        "class": kept["cls"].astype(str),
        "count": kept["count"].astype("int64"),
    }, geometry=list(corners), crs=storage_crs)
    return out, int(len(counts) - len(kept))
