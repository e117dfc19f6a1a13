"""Every coordinate transformation of the project is built here.

Rules:
- transformers are built with ``always_xy=True``: arrays in and out are (easting, northing) or
  (lon, lat) whatever the authority axis order; encoders that need another order (GML in
  EPSG:4258) swap explicitly.
- a transformation from DHDN (Gauss-Krüger, EPSG:31466-31469, 3044...) must use the BETA2007 NTv2
  grid. PROJ is asked for the best transformation only (``only_best=True``) and refuses when
  the grid is missing: no silent fallback to a metre-level 7-parameter transformation.
"""

from __future__ import annotations

import functools
import math
import re
import threading
import warnings
from pathlib import Path

import numpy as np
import pyproj
import pyproj.datadir
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

from gdi.errors import CrsError

GRID_FILE = "BETA2007.gsb"
STORAGE_CRS = "EPSG:25832"
# Reference values of the BETA2007 README (Hildesheim), checked on every run that uses the grid.
REFERENCE_GK3 = (3565000.0, 5778000.0)
REFERENCE_UTM = (564901.378, 5776127.941)

_grid_dir: Path | None = None


def use_grids(search_path: list[Path]) -> Path:
    """Make the first folder holding BETA2007.gsb known to PROJ; return it."""
    global _grid_dir
    for folder in search_path:
        if (folder / GRID_FILE).is_file():
            if _grid_dir != folder:
                pyproj.datadir.append_data_dir(str(folder))
                _grid_dir = folder
                _per_thread.__dict__.pop("t", None)
            return folder
    raise CrsError(
        f"NTv2 grid {GRID_FILE} not found in: {', '.join(str(p) for p in search_path)}",
        hint="install Debian's proj-data or set GDI_GRID_DIRS to the folder holding the grid",
    )


def parse_crs(code: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(code)
    except ProjCRSError:
        raise CrsError(
            f"unknown CRS '{code}'", hint="use an EPSG code such as EPSG:31467 or EPSG:25832"
        ) from None


def needs_grid(crs: pyproj.CRS) -> bool:
    datum = crs.datum.name if crs.datum else ""
    return "Deutsches Hauptdreiecksnetz" in datum


_per_thread = threading.local()  # pyproj objects are not shared between threads


def transformer(source: str, target: str) -> pyproj.Transformer:
    """The one way to get a transformer (cached per thread); refuses DHDN without the grid."""
    cache: dict[tuple[str, str], pyproj.Transformer] = _per_thread.__dict__.setdefault("t", {})
    key = (source, target)
    if key not in cache:
        cache[key] = _build(source, target)
    return cache[key]


def _build(source: str, target: str) -> pyproj.Transformer:
    src, dst = parse_crs(source), parse_crs(target)
    if not (needs_grid(src) or needs_grid(dst)):
        return pyproj.Transformer.from_crs(src, dst, always_xy=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # we raise our own error below
            group = pyproj.transformer.TransformerGroup(src, dst, always_xy=True)
    except ProjError as exc:
        raise CrsError(f"no usable transformation {source} -> {target}: {exc}") from None
    if not group.best_available or not group.transformers:
        raise CrsError(
            f"transformation {source} -> {target} would not use the BETA2007 grid",
            hint="install Debian's proj-data or set GDI_GRID_DIRS to the folder of the grid",
        )
    # The single best operation (the grid), not a pipeline with fallbacks: a point outside
    # the grid comes back as inf instead of silently shifted by a 7-parameter transformation.
    t = group.transformers[0]
    return t


def transform_xy(
    x: np.ndarray, y: np.ndarray, source: str, target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Transform coordinate arrays (x = easting/lon, y = northing/lat)."""
    if parse_crs(source) == parse_crs(target):
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    tx, ty = transformer(source, target).transform(x, y, errcheck=False)
    return np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)


def grid_self_check() -> float:
    """Distance (m) between the grid result for the reference point and the README value."""
    x, y = transformer("EPSG:31467", STORAGE_CRS).transform(*REFERENCE_GK3)
    dist = float(np.hypot(x - REFERENCE_UTM[0], y - REFERENCE_UTM[1]))
    if dist > 0.001:
        raise CrsError(
            f"BETA2007 self-check failed: reference point off by {dist:.3f} m",
            hint="a wrong or damaged grid file is in use",
        )
    return dist


def transformation_description(source: str, target: str) -> str:
    return str(transformer(source, target).description)


@functools.lru_cache(maxsize=32)  # caches a bool, no pyproj object
def north_first(code: str) -> bool:
    """True if the CRS's authority axis order starts with northing/latitude (EPSG:4326...)."""
    axes = parse_crs(code).axis_info
    return bool(axes) and axes[0].direction.lower() in {"north", "south"}


def transform_geometry(geom: object, source: str, target: str, *, authority_order: bool
                       ) -> object:
    """Transform a shapely geometry; ``authority_order`` writes lat/lon where the CRS says so."""
    import shapely

    t = transformer(source, target)
    swap = authority_order and north_first(target)

    def fn(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tx, ty = t.transform(x, y, errcheck=False)
        return (ty, tx) if swap else (tx, ty)

    return shapely.transform(geom, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))


def crs84_extent(extent: tuple[float, float, float, float], storage_crs: str) -> list[float]:
    """The CRS84 box holding a storage-CRS box: its outline densified (64 points a side) and
    transformed, rounded outwards to 6 decimals, so that no feature lies outside it (two
    transformed corners miss the bulge of the edges between them)."""
    minx, miny, maxx, maxy = extent
    t = np.linspace(0.0, 1.0, 65)
    xs = np.concatenate([minx + (maxx - minx) * t, np.full(65, maxx),
                         maxx - (maxx - minx) * t, np.full(65, minx)])
    ys = np.concatenate([np.full(65, miny), miny + (maxy - miny) * t, np.full(65, maxy),
                         maxy - (maxy - miny) * t])
    lon, lat = transform_xy(xs, ys, storage_crs, "OGC:CRS84")
    scale = 1e6
    return [math.floor(float(lon.min()) * scale) / scale, math.floor(float(lat.min()) * scale)
            / scale, math.ceil(float(lon.max()) * scale) / scale,
            math.ceil(float(lat.max()) * scale) / scale]


_EPSG = re.compile(r"^(?:EPSG:|urn:ogc:def:crs:EPSG:[^:]*:)(\d+)$", re.I)


def normalise_crs(value: str) -> str:
    """A CRS as a client may name it (``EPSG:25832``, a URN, CRS84) -> its OGC URI."""
    m = _EPSG.match(value.strip())
    if m:
        return f"http://www.opengis.net/def/crs/EPSG/0/{m.group(1)}"
    if value.strip().upper() in {"CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84"}:
        return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    return value
