"""Sanity of the CRSs a descriptor declares (rules in docs/data-quality.md).

- a source or area CRS must be a horizontal 2D CRS (geographic 2D or projected): a geocentric,
  3D, vertical or compound CRS is refused;
- the declared source CRS must agree with what the file says of itself (.prj, GeoPackage
  srs, GeoJSON crs member); a mismatch names both;
- the area box must lie in the area of use of its CRS (a box in degrees for a CRS in metres
  is caught at ``gdi check``);
- when positions fall outside the area, :func:`fitting_crs` names the common CRSs under which
  they would fit: the hint a department needs when ``source.crs`` is wrong.
"""

from __future__ import annotations

import numpy as np
import pyproj

from gdi import crs
from gdi.errors import CrsError

# CRSs German municipal exports come in, tried when positions do not fit the declared one
COMMON = ("EPSG:25832", "EPSG:25833", "EPSG:31467", "EPSG:31466", "EPSG:31468", "EPSG:4326",
          "EPSG:3857", "EPSG:4647", "EPSG:5677")


def horizontal_2d(code: str, where: str) -> pyproj.CRS:
    parsed = crs.parse_crs(code)
    kind = ("geocentric" if parsed.is_geocentric else "vertical" if parsed.is_vertical
            else "compound" if parsed.is_compound else None)
    if kind is None and not (parsed.is_projected or parsed.is_geographic):
        kind = parsed.type_name
    if kind is None and len(parsed.axis_info) != 2:
        kind = f"{len(parsed.axis_info)}D"
    if kind is not None:
        raise CrsError(f"{where}: '{code}' ({parsed.name}) is a {kind} CRS; a horizontal 2D "
                       "CRS is needed", hint="use e.g. EPSG:25832 (UTM 32N) or EPSG:31467 "
                       "(Gauss-Krüger zone 3)")
    return parsed


def _epsg(value: pyproj.CRS) -> int | None:
    return value.to_epsg(min_confidence=70)


def same_crs(declared: str, found: str | None, where: str) -> None:
    """Refuse a declared CRS that contradicts the file's own (``found``; None: not stated)."""
    if not found:
        return
    want = crs.parse_crs(declared)
    try:
        have = pyproj.CRS.from_user_input(found)
    except pyproj.exceptions.CRSError:
        return  # a .prj PROJ cannot read says nothing either way
    if want.equals(have, ignore_axis_order=True):
        return
    a, b = _epsg(want), _epsg(have)
    if a is not None and a == b:
        return
    named = f"EPSG:{b}" if b is not None else have.name
    raise CrsError(f"{where}: the descriptor says source.crs {declared} ({want.name}), the "
                   f"file says {named} ({have.name})",
                   hint="correct source.crs in the descriptor, or the export's CRS")


def check_area(bbox: tuple[float, float, float, float], code: str, where: str) -> None:
    """The area box must be ordered and lie inside the CRS's area of use."""
    parsed = horizontal_2d(code, where)
    minx, miny, maxx, maxy = bbox
    if not (minx < maxx and miny < maxy):
        raise CrsError(f"{where}: area.bbox {list(bbox)} is not [minx, miny, maxx, maxy]")
    use = parsed.area_of_use
    if use is None:
        return
    x = np.array([minx, maxx, minx, maxx, (minx + maxx) / 2])
    y = np.array([miny, miny, maxy, maxy, (miny + maxy) / 2])
    lon, lat = crs.transform_xy(x, y, code, "EPSG:4326")
    slack = 1.0  # degrees: boxes at a zone's edge stay valid
    inside = (np.isfinite(lon) & np.isfinite(lat) & (lon >= use.west - slack)
              & (lon <= use.east + slack) & (lat >= use.south - slack) & (lat <= use.north + slack))
    if not inside.all():
        unit = parsed.axis_info[0].unit_name if parsed.axis_info else "units"
        raise CrsError(f"{where}: area.bbox {list(bbox)} lies outside the area of use of {code} "
                       f"({use.name}); the box must be in {unit} of {code}",
                       hint="give area.bbox in the area CRS (e.g. metres for EPSG:25832)")


def fitting_crs(x: np.ndarray, y: np.ndarray, bbox: tuple[float, float, float, float],
                area_crs: str, declared: str, share: float = 0.9) -> list[str]:
    """Common CRSs under which at least ``share`` of the given positions lie in the area."""
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok][:2000], y[ok][:2000]
    if not len(x):
        return []
    out = []
    for code in COMMON:
        if code == declared:
            continue
        try:
            tx, ty = crs.transform_xy(x, y, code, area_crs)
        except CrsError:
            continue
        with np.errstate(invalid="ignore"):
            inside = ((tx >= bbox[0]) & (tx <= bbox[2]) & (ty >= bbox[1]) & (ty <= bbox[3]))
        if inside.mean() >= share:
            out.append(code)
    return out
