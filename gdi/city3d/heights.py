"""Per-building heights from the DGM and the DOM, in bulk (docs/city3d.md, "Heights").

For each 1 km block of buildings one window of each model is read; the footprints are burnt
into it as labels (pixel centres inside), once as they are (the ground) and once eroded by
``erode_m`` (the roof, away from the eaves and the walls' pixels); the per-label percentiles
come from one sort of (label, height) pairs. No building is measured by itself.

- ``ground_height``: the ``ground_percentile`` (default 5th) of the DGM under the footprint;
- ``roof_min/p50/p70/max``: DOM statistics inside the eroded footprint (the 3DBAG set);
- ``roof_lod12``: the DOM's ``block_percentile`` (default 70th): the LoD1.2 roof;
- ``height_lod12`` = roof_lod12 - ground_height; ``measured_height`` = roof_max - ground_height
  (CityGML's measuredHeight: ground to the highest point);
- ``pixel_count``, ``nodata_share``: DOM pixels used, and the share of the eroded footprint
  without DOM or DGM data. A footprint too small to keep a pixel after erosion is measured
  on every pixel it touches (quality ``few_pixels``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio import features
from rasterio.transform import from_origin

from gdi.city3d.rasters import GDAL_ENV, Mosaic
from gdi.descriptor import HeightsSpec

BLOCK_M = 1000.0
FEW_PIXELS = 4


def _spec(title_de: str, title_en: str, kind: str = "number", unit: str | None = "m"
          ) -> dict[str, Any]:
    out: dict[str, Any] = {"source": "", "type": kind, "derived": True,
                           "title": {"de": title_de, "en": title_en}}
    if unit:
        out["unit"] = unit
    return out


MEASURED = ("ground_height", "roof_min", "roof_p50", "roof_p70", "roof_max", "roof_lod12",
            "height_lod12", "measured_height", "pixel_count", "nodata_share", "height_quality")


def derived_fields() -> dict[str, dict[str, Any]]:
    """The fields a 3D run adds to every building (typed and titled for every output)."""
    return {
        "ground_height": _spec("Geländehöhe (DHHN2016)", "Ground height (DHHN2016)"),
        "roof_min": _spec("Dachhöhe Minimum (DHHN2016)", "Roof height minimum (DHHN2016)"),
        "roof_p50": _spec("Dachhöhe Median (DHHN2016)", "Roof height median (DHHN2016)"),
        "roof_p70": _spec("Dachhöhe 70. Perzentil (DHHN2016)",
                          "Roof height 70th percentile (DHHN2016)"),
        "roof_max": _spec("Dachhöhe Maximum (DHHN2016)", "Roof height maximum (DHHN2016)"),
        "roof_lod12": _spec("Dachhöhe LoD1.2-Block (DHHN2016)",
                            "LoD1.2 block roof height (DHHN2016)"),
        "height_lod12": _spec("Gebäudehöhe LoD1.2 über Gelände",
                              "LoD1.2 height above ground"),
        "measured_height": _spec("Gemessene Höhe (Gelände bis höchster Punkt)",
                                 "Measured height (ground to highest point)"),
        "pixel_count": _spec("Anzahl DOM-Pixel", "Number of DOM pixels", "integer", None),
        "nodata_share": _spec("Anteil ohne Höhendaten", "Share without height data",
                              "number", None),
        "height_quality": _spec("Qualität der Höhe", "Height quality", "text", None),
        "lod_source": _spec("Quelle der Geometrie (LoD)", "Geometry source (LoD)", "text",
                            None),
        "lod_reason": _spec("Grund der Quellenwahl", "Why this source", "text", None),
        "lod2_roof_type": _spec("Dachform (amtliches LoD2)", "Roof type (official LoD2)",
                                "integer", None),
        "roof_form_estimate": _spec("Dachform (geschätzt aus DOM)",
                                    "Roof form (estimated from the DOM)", "integer", None),
        "roof_form_confidence": _spec("Sicherheit der Dachform-Schätzung",
                                      "Confidence of the roof form estimate", "number", None),
    }


def _window(bounds: np.ndarray, res: float) -> tuple[float, float, float, float]:
    minx = np.floor(bounds[:, 0].min() / res) * res - res
    miny = np.floor(bounds[:, 1].min() / res) * res - res
    maxx = np.ceil(bounds[:, 2].max() / res) * res + res
    maxy = np.ceil(bounds[:, 3].max() / res) * res + res
    return float(minx), float(miny), float(maxx), float(maxy)


def _shapes(geoms: np.ndarray, ids: np.ndarray) -> list[tuple[dict[str, Any], int]]:
    """(GeoJSON-like polygon, label) pairs from one ragged export of the coordinates (the
    per-geometry ``__geo_interface__`` rasterio would call costs more than the rasterizing)."""
    keep = np.array([g is not None for g in geoms], dtype=bool)
    keep[keep] = ~shapely.is_empty(geoms[keep])
    geoms, ids = geoms[keep], ids[keep]
    if not len(geoms):
        return []
    polys = shapely.get_parts(geoms, return_index=True)
    _, coords, (ring_off, poly_off) = shapely.to_ragged_array(polys[0])
    pts = coords.tolist()  # plain lists: rasterio reads numpy scalars one by one, slowly
    rings = [pts[a:b] for a, b in itertools.pairwise(ring_off.tolist())]
    out = []
    for k, (a, b) in enumerate(itertools.pairwise(poly_off)):
        out.append(({"type": "Polygon", "coordinates": rings[a:b]}, int(ids[polys[1][k]])))
    return out


def block_grid(bounds: np.ndarray, res: float
               ) -> tuple[tuple[float, float, float, float], tuple[int, int], Any]:
    """The pixel-aligned window around footprints' ``bounds`` (one pixel of margin): its
    bounds, its (rows, cols) and its affine transform."""
    win = _window(bounds, res)
    shape = (round((win[3] - win[1]) / res), round((win[2] - win[0]) / res))
    return win, shape, from_origin(win[0], win[3], res, res)


def burn(geoms: np.ndarray, ids: np.ndarray, shape: tuple[int, int], transform: Any,
         all_touched: bool = False) -> np.ndarray:
    """Label raster of ``shape``: each geometry's id where pixel centres lie inside it (every
    touched pixel with ``all_touched``), 0 elsewhere."""
    shapes = _shapes(np.asarray(geoms, dtype=object), np.asarray(ids))
    if not shapes:
        return np.zeros(shape, dtype=np.int32)
    return features.rasterize(shapes, out_shape=shape, transform=transform, fill=0,
                              all_touched=all_touched, dtype=np.int32)


def grouped_percentiles(labels: np.ndarray, values: np.ndarray, n: int,
                        qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(count per label 0..n-1, percentiles [len(qs), n]) of ``values`` grouped by ``labels``
    (numpy's default linear interpolation); NaN where a label has no value."""
    order = np.lexsort((values, labels))
    s, lab = values[order], labels[order]
    counts = np.bincount(lab, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full((len(qs), n), np.nan)
    has = counts > 0
    for k, q in enumerate(qs):
        pos = starts[has] + q / 100.0 * (counts[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, starts[has] + counts[has] - 1)
        frac = pos - lo
        out[k, has] = s[lo] + frac * (s[hi] - s[lo])
    return counts, out


def _block(idx: np.ndarray, footprints: np.ndarray, eroded: np.ndarray, bounds: np.ndarray,
           dgm: Mosaic, dom: Mosaic, sg: Any, sd: Any, spec: HeightsSpec,
           cols: dict[str, np.ndarray], pixels: np.ndarray, nodata: np.ndarray,
           few: np.ndarray) -> None:
    """The buildings ``idx`` of one block measured on one window of each model (in place)."""
    res = dom.res
    win, shape, transform = block_grid(bounds[idx], res)
    local = np.arange(1, len(idx) + 1)
    full = burn(footprints[idx], local, shape, transform)
    roof = burn(eroded[idx], local, shape, transform)
    m = len(idx) + 1
    area_px = np.bincount(roof.ravel(), minlength=m)
    small = np.flatnonzero(area_px[1:] == 0)
    if len(small):  # too small to keep a pixel once eroded: every pixel it touches
        touched = burn(footprints[idx[small]], local[small], shape, transform, True)
        roof = np.where(touched > 0, touched, roof)
        few[idx[small]] = True
        area_px = np.bincount(roof.ravel(), minlength=m)
    bare = np.flatnonzero(np.bincount(full.ravel(), minlength=m)[1:] == 0)
    if len(bare):  # no pixel centre inside: the ground under every pixel it touches
        touched = burn(footprints[idx[bare]], local[bare], shape, transform, True)
        full = np.where(touched > 0, touched, full)
    ground_px = np.bincount(full.ravel(), minlength=m)
    z_dgm, z_dom = dgm.read(win, sg), dom.read(win, sd)
    ok_g = (full > 0) & np.isfinite(z_dgm)
    _, g = grouped_percentiles(full[ok_g], z_dgm[ok_g].astype(np.float64), m,
                               (float(spec.ground_percentile),))
    ok_r = (roof > 0) & np.isfinite(z_dom) & np.isfinite(z_dgm)
    count, r = grouped_percentiles(roof[ok_r], z_dom[ok_r].astype(np.float64), m,
                                   (0.0, 50.0, 70.0, 100.0, float(spec.block_percentile)))
    cols["ground_height"][idx] = g[0, 1:]
    for k, name in enumerate(("roof_min", "roof_p50", "roof_p70", "roof_max",
                              "roof_lod12")):
        cols[name][idx] = r[k, 1:]
    pixels[idx] = count[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_roof = 1 - count[1:] / area_px[1:]
        g_count = np.bincount(full[ok_g], minlength=m)
        share_ground = 1 - g_count[1:] / ground_px[1:]
    nodata[idx] = np.fmax(np.nan_to_num(share_roof, nan=1.0),
                          np.nan_to_num(share_ground, nan=1.0))


def measure(footprints: np.ndarray, dgm: Mosaic, dom: Mosaic, spec: HeightsSpec,
            progress: Callable[[int], Any] | None = None) -> pd.DataFrame:
    """The height fields of every footprint (polygons in the rasters' CRS), in input order."""
    n = len(footprints)
    if n == 0:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in MEASURED})
    eroded = shapely.buffer(footprints, -spec.erode_m) if spec.erode_m else footprints
    anchor = shapely.point_on_surface(footprints)
    cell = (np.floor(shapely.get_x(anchor) / BLOCK_M).astype(np.int64) * 100_000
            + np.floor(shapely.get_y(anchor) / BLOCK_M).astype(np.int64))
    bounds = shapely.bounds(footprints)
    cols = {k: np.full(n, np.nan) for k in ("ground_height", "roof_min", "roof_p50",
                                            "roof_p70", "roof_max", "roof_lod12")}
    pixels = np.zeros(n, dtype=np.int64)
    nodata = np.ones(n)
    few = np.zeros(n, dtype=bool)
    order = np.argsort(cell, kind="stable")
    splits = np.flatnonzero(np.diff(cell[order])) + 1
    with rasterio.Env(**GDAL_ENV), rasterio.open(dgm.vrt) as sg, \
            rasterio.open(dom.vrt) as sd:
        for idx in np.split(order, splits):
            _block(idx, footprints, eroded, bounds, dgm, dom, sg, sd, spec, cols, pixels,
                   nodata, few)
            if progress is not None:
                progress(len(idx))
    frame = pd.DataFrame({k: np.round(v, 3) for k, v in cols.items()})
    frame["height_lod12"] = np.round(frame["roof_lod12"] - frame["ground_height"], 3)
    frame["measured_height"] = np.round(frame["roof_max"] - frame["ground_height"], 3)
    frame["pixel_count"] = pixels
    frame["nodata_share"] = np.round(nodata, 4)
    quality = np.where(few, "few_pixels", "ok").astype(object)
    quality[(nodata > 0) & ~few] = "partial_coverage"
    frame["height_quality"] = quality
    return frame


def verdicts(frame: pd.DataFrame, spec: HeightsSpec) -> np.ndarray:
    """Per building None (published) or the reason it is rejected."""
    out = np.full(len(frame), None, dtype=object)
    nod = frame["nodata_share"].to_numpy(dtype=float)
    h = frame["height_lod12"].to_numpy(dtype=float)
    no_data = ~np.isfinite(h)
    out[no_data] = "no DGM/DOM heights under the footprint (no tile or nodata)"
    much = ~no_data & (nod > spec.max_nodata_share)
    out[much] = (f"more than {spec.max_nodata_share:.0%} of the footprint without "
                 "DGM/DOM heights")
    low = ~no_data & ~much & (h < spec.min_height_m)
    out[low] = (f"LoD1.2 height below {spec.min_height_m:g} m: no building in the DOM "
                "(demolished, or the DOM is older than the footprint)")
    return out


def from_attributes(ground: pd.Series, height: pd.Series) -> pd.DataFrame:
    """Heights given by the source (e.g. AdV CityGML: ground surface, measuredHeight)."""
    g = pd.to_numeric(ground, errors="coerce").to_numpy(dtype=float)
    h = pd.to_numeric(height, errors="coerce").to_numpy(dtype=float)
    nan = np.full(len(g), np.nan)
    frame = pd.DataFrame({"ground_height": np.round(g, 3), "roof_min": nan, "roof_p50": nan,
                          "roof_p70": nan, "roof_max": np.round(g + h, 3),
                          "roof_lod12": np.round(g + h, 3)})
    frame["height_lod12"] = np.round(h, 3)
    frame["measured_height"] = np.round(h, 3)
    frame["pixel_count"] = np.zeros(len(g), dtype=np.int64)
    frame["nodata_share"] = np.where(np.isfinite(g + h), 0.0, 1.0)
    frame["height_quality"] = np.full(len(g), "from_source", dtype=object)
    return frame
