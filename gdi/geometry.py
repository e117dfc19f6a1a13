"""Geometry checks and repairs of the cleaning step (rules in docs/data-quality.md).

- missing, empty or (0, 0): rejected;
- transformed to the area CRS (the storage CRS) through :mod:`gdi.crs`;
- outside the dataset's area box: if the swapped pair lies inside, swapped back (amended) or
  rejected, as the descriptor says; otherwise rejected;
- polygons: a ring not closed was closed by the reader (amended); repeated vertices are
  removed (amended); an invalid polygon (self-intersection...) is repaired with GEOS
  ``make_valid`` (method "structure", polygonal part kept; amended); what is still not a
  valid polygon with an area is rejected. Polygons are stored as MultiPolygons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

from gdi import crs
from gdi.descriptor import AreaSpec

Report = Callable[[np.ndarray, np.ndarray, str, Any, str, str], None]


def _swap_xy(geoms: np.ndarray) -> np.ndarray:
    return np.asarray(shapely.transform(geoms, lambda c: c[:, ::-1]), dtype=object)


def _to_crs(geoms: np.ndarray, source: str, target: str) -> np.ndarray:
    def fn(c: np.ndarray) -> np.ndarray:
        x, y = crs.transform_xy(c[:, 0], c[:, 1], source, target)
        return np.column_stack([x, y])

    return np.asarray(shapely.transform(geoms, fn), dtype=object)


def check(geom: np.ndarray, rec: np.ndarray, notes: dict[int, str], source_crs: str,
          area: AreaSpec, add: Report) -> tuple[np.ndarray, np.ndarray]:
    """Geometries in the area CRS and a mask of records to reject."""
    geom = np.asarray(geom, dtype=object)
    reject = np.zeros(len(geom), dtype=bool)
    for i, note in notes.items():
        unreadable = note == "geometry not readable"
        add(_one(len(geom), i), rec, "geometry", None, note,
            "rejected" if unreadable else "amended")
        reject[i] = reject[i] or unreadable
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    points = shapely.get_type_id(geom) == 0
    xs, ys = shapely.get_x(geom), shapely.get_y(geom)
    with np.errstate(invalid="ignore"):
        missing |= points & ((xs == 0) & (ys == 0))
    missing &= ~reject
    add(missing, rec, "geometry", None, "coordinates missing", "rejected")
    reject |= missing
    ok = ~reject
    out = np.full(len(geom), None, dtype=object)
    minx, miny, maxx, maxy = area.bbox

    def inside_xy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy))

    def inside(g: np.ndarray) -> np.ndarray:
        return inside_xy(shapely.get_x(g), shapely.get_y(g))

    if points[ok].all():  # points (a million trees): plain coordinate arrays
        ax, ay = crs.transform_xy(xs[ok], ys[ok], source_crs, area.crs)
        out[ok] = shapely.points(ax, ay)
        ok_inside = np.zeros(len(geom), dtype=bool)
        ok_inside[ok] = inside_xy(ax, ay)
    else:
        out[ok] = _to_crs(geom[ok], source_crs, area.crs)
        anchor = np.full(len(geom), None, dtype=object)
        anchor[ok] = shapely.point_on_surface(out[ok])
        ok_inside = ok & inside(anchor)
    outside = ok & ~ok_inside
    swapped = np.zeros(len(geom), dtype=bool)
    if outside.any():
        idx = np.flatnonzero(outside)
        turned = _to_crs(_swap_xy(geom[idx]), source_crs, area.crs)
        with np.errstate(invalid="ignore"):  # outside the grid: inf, so not inside
            fits = inside(np.asarray(shapely.point_on_surface(turned), dtype=object))
        swapped[idx[fits]] = True
        if area.swapped == "swap":
            out[idx[fits]] = turned[fits]
    shown = np.full(len(geom), None, dtype=object)
    flagged = np.flatnonzero(outside)
    shown[flagged] = [_show(g) for g in geom[flagged]]
    if area.swapped == "swap":
        add(swapped, rec, "geometry", shown, "easting and northing swapped; swapped back",
            "amended")
    else:
        add(swapped, rec, "geometry", shown, "easting and northing swapped", "rejected")
        reject |= swapped
    far = outside & ~swapped
    add(far, rec, "geometry", shown, "position outside the area of the dataset", "rejected")
    reject |= far
    polys = ~reject & ~points
    if polys.any():
        out, broken = _polygons(out, polys, rec, add)
        reject |= broken
    return out, reject


def _one(n: int, i: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[i] = True
    return mask


def _show(g: Any) -> str | None:
    if g is None:
        return None
    p = g if shapely.get_type_id(g) == 0 else shapely.point_on_surface(g)
    return f"{p.x:.2f} {p.y:.2f}" if not p.is_empty else None


def _polygons(out: np.ndarray, mask: np.ndarray, rec: np.ndarray, add: Report
              ) -> tuple[np.ndarray, np.ndarray]:
    reject = np.zeros(len(out), dtype=bool)
    idx = np.flatnonzero(mask)
    geoms = np.asarray(shapely.remove_repeated_points(out[idx], tolerance=0.0), dtype=object)
    dup = np.zeros(len(out), dtype=bool)
    dup[idx] = shapely.get_num_coordinates(geoms) < shapely.get_num_coordinates(out[idx])
    add(dup, rec, "geometry", None, "repeated vertices removed", "amended")
    for j in np.flatnonzero(~shapely.is_valid(geoms)).tolist():  # few: one by one
        reason = shapely.is_valid_reason(geoms[j])
        made = shapely.make_valid(geoms[j], method="structure", keep_collapsed=False)
        parts = [p for p in shapely.get_parts(made) if shapely.get_type_id(p) == 3]
        fixed = shapely.MultiPolygon(parts) if parts else None
        one = _one(len(out), int(idx[j]))
        if fixed is None or fixed.area <= 0 or not fixed.is_valid:
            add(one, rec, "geometry", reason, "invalid polygon that cannot be repaired",
                "rejected")
            reject[idx[j]] = True
        else:
            add(one, rec, "geometry", reason, "invalid polygon repaired (make_valid, structure)",
                "amended")
        geoms[j] = fixed
    out = out.copy()
    out[idx] = [g if g is None or shapely.get_type_id(g) != 3 else shapely.MultiPolygon([g])
                for g in geoms]
    out[reject] = None
    return out, reject
