"""Terrain, roof surfaces, trees and DGM1/DOM1 tiles of the synthetic city.

Helpers of :mod:`gdi.samples.buildings`. Everything is analytic and vectorised: the terrain is
a smooth function of (x, y) in EPSG:25832, a roof a function of building-local (u, v), with u
along the long axis. Tiles are rendered by rasterising building index labels at pixel centres
and evaluating the roof of each labelled pixel; tree crowns are domes laid over that.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.errors import NotGeoreferencedWarning
from rasterio.features import rasterize
from rasterio.transform import from_origin

TILE = 1000  # tile side in m and in px (1 m pixels)
NODATA = -9999.0
QUANTUM = 1 / 128  # stored height resolution (m): below 1 cm, and DEFLATE stays effective
FLAT, SHED, GABLE, HIP = 1000, 2100, 3100, 3200  # AdV Dachform codes
CENTRE = (565000.0, 5778000.0)
AREA = (556000.0, 5767000.0, 574000.0, 5786000.0)
SAMPLES = 20  # truth statistics: SAMPLES × SAMPLES points per rectangle
# (amplitude m, cycles per m east, cycles per m north, phase)
_WAVES = ((5.0, 1 / 5200, 1 / 7400, 0.3), (3.5, -1 / 3100, 1 / 4300, 1.9),
          (1.5, 1 / 1500, 1 / 2100, 4.1), (0.5, 1 / 700, -1 / 900, 2.2))
_PROFILE = {"driver": "GTiff", "width": TILE, "height": TILE, "count": 1, "dtype": "float32",
            "crs": "EPSG:25832", "nodata": NODATA, "compress": "DEFLATE", "predictor": 3,
            "tiled": True, "blockxsize": 256, "blockysize": 256}


def river_x(y: np.ndarray) -> np.ndarray:
    """Easting of the river (the Innerste, roughly south to north) at northing y."""
    return CENTRE[0] - 1500.0 + 600.0 * np.sin((y - CENTRE[1]) / 1100.0 + 0.5)


def terrain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Noise-free ground height (m, DHHN2016) at (x, y); broadcasts like numpy."""
    dx, dy = x - CENTRE[0], y - CENTRE[1]
    z = 99.0 + 0.0006 * dx - 0.0003 * dy
    for amp, kx, ky, phase in _WAVES:
        z = z + amp * np.sin(2 * np.pi * (kx * dx + ky * dy) + phase)
    return z - 9.0 * np.exp(-(((x - river_x(y)) / 280.0) ** 2))


def roof_height(form: np.ndarray, u: np.ndarray, v: np.ndarray, hl: np.ndarray, hw: np.ndarray,
                eave: np.ndarray, ridge: np.ndarray) -> np.ndarray:
    """Noise-free roof height at local (u, v); hl, hw are the half length and half width.

    Gable: ridge along u. Hip: the same slope on all four sides, so the ridge is hl - hw
    shorter than half the long axis at each end. Shed: rises linearly across, from the eave
    at v = -hw to the ridge at v = +hw. Flat: the eave height.
    """
    au, av = np.minimum(np.abs(u), hl), np.minimum(np.abs(v), hw)
    slope = (ridge - eave) / hw
    gable = ridge - slope * av
    hip = eave + slope * np.minimum(hw - av, hl - au)
    shed = eave + slope * 0.5 * (np.clip(v, -hw, hw) + hw)
    return np.where(form == GABLE, gable,
                    np.where(form == HIP, hip, np.where(form == SHED, shed, eave)))


@dataclasses.dataclass(frozen=True)
class Rects:
    """Rotated rectangles: centre, direction of the long axis (rad), half length and width."""

    cx: np.ndarray
    cy: np.ndarray
    ang: np.ndarray
    hl: np.ndarray
    hw: np.ndarray

    def take(self, idx: np.ndarray) -> Rects:
        return Rects(*(getattr(self, f.name)[idx] for f in dataclasses.fields(self)))

    def corners(self) -> np.ndarray:
        """(n, 4, 2) corners, counter-clockwise."""
        su = np.array([-1.0, 1.0, 1.0, -1.0])
        sv = np.array([-1.0, -1.0, 1.0, 1.0])
        u, v = su * self.hl[:, None], sv * self.hw[:, None]
        c, s = np.cos(self.ang)[:, None], np.sin(self.ang)[:, None]
        return np.stack([self.cx[:, None] + u * c - v * s, self.cy[:, None] + u * s + v * c], -1)

    def polygons(self) -> np.ndarray:
        return shapely.polygons(self.corners())

    def local(self, k: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - self.cx[k], y - self.cy[k]
        c, s = np.cos(self.ang[k]), np.sin(self.ang[k])
        return dx * c + dy * s, dy * c - dx * s


@dataclasses.dataclass(frozen=True)
class Roofs:
    rects: Rects
    form: np.ndarray
    eave: np.ndarray
    ridge: np.ndarray

    def at(self, k: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        r = self.rects
        return roof_height(self.form[k], u, v, r.hl[k], r.hw[k], self.eave[k], self.ridge[k])


@dataclasses.dataclass(frozen=True)
class Trees:
    """Dome-shaped crowns: centre, radius, crown base and top (absolute heights)."""

    x: np.ndarray
    y: np.ndarray
    r: np.ndarray
    base: np.ndarray
    top: np.ndarray


def make_trees(rng: np.random.Generator, cells: list[tuple[int, int]], rects: Rects,
               overhang: np.ndarray) -> Trees:
    """~450 free-standing trees per km² clear of all buildings, plus one tree overhanging each
    building of ``overhang``: centred 0.5-3 m outside the middle of a side, reaching >= 1 m in.

    Crowns are 4-12 m wide and 8-20 m high above the terrain at their centre.
    """
    footprints = shapely.STRtree(rects.polygons())
    n = 450 * len(cells)
    cell = np.array(cells, dtype=float)[rng.integers(0, len(cells), n)] * TILE
    x, y = cell[:, 0] + rng.uniform(0, TILE, n), cell[:, 1] + rng.uniform(0, TILE, n)
    r = rng.uniform(2, 6, n)
    crowns = shapely.buffer(shapely.points(x, y), r + 0.3, quad_segs=4)
    free = np.setdiff1d(np.arange(n), footprints.query(crowns, predicate="intersects")[0])
    k, m = overhang, overhang.size
    side, d, t = rng.integers(0, 4, m), rng.uniform(0.5, 3, m), rng.uniform(-0.4, 0.4, m)
    sign = np.where(side % 2 == 0, 1.0, -1.0)
    u = np.where(side < 2, sign * (rects.hl[k] + d), t * 2 * rects.hl[k])
    v = np.where(side < 2, t * 2 * rects.hw[k], sign * (rects.hw[k] + d))
    c, s = np.cos(rects.ang[k]), np.sin(rects.ang[k])
    ox, oy = rects.cx[k] + u * c - v * s, rects.cy[k] + u * s + v * c
    orad = rng.uniform(np.minimum(d + 1, 6), 6)
    out = np.setdiff1d(np.arange(m), footprints.query(shapely.points(ox, oy),
                                                      predicate="intersects")[0])
    x, y = np.concatenate([x[free], ox[out]]), np.concatenate([y[free], oy[out]])
    r = np.concatenate([r[free], orad[out]])
    height, ground = rng.uniform(8, 20, x.size), terrain(x, y)
    return Trees(x, y, r, ground + 0.35 * height, ground + height)


def _sample_grid(rects: Rects, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = (np.arange(SAMPLES) + 0.5) / SAMPLES * 2 - 1
    su, sv = (a.ravel() for a in np.meshgrid(s, s, indexing="ij"))
    return su * rects.hl[idx, None], sv * rects.hw[idx, None]


def ground_p05(rects: Rects, chunk: int = 4096) -> np.ndarray:
    """5th percentile of the noise-free terrain over each rectangle (regular sample grid)."""
    out = np.empty(rects.cx.size)
    for start in range(0, out.size, chunk):
        idx = np.arange(start, min(start + chunk, out.size))
        u, v = _sample_grid(rects, idx)
        c, s = np.cos(rects.ang[idx, None]), np.sin(rects.ang[idx, None])
        x, y = rects.cx[idx, None] + u * c - v * s, rects.cy[idx, None] + u * s + v * c
        out[idx] = np.percentile(terrain(x, y), 5, axis=1)
    return out


def roof_p70(roofs: Roofs, chunk: int = 4096) -> np.ndarray:
    """70th percentile of the noise-free roof surface over each rectangle."""
    out = np.empty(roofs.form.size)
    for start in range(0, out.size, chunk):
        idx = np.arange(start, min(start + chunk, out.size))
        u, v = _sample_grid(roofs.rects, idx)
        out[idx] = np.percentile(roofs.at(idx[:, None], u, v), 70, axis=1)
    return out


def _window(x: np.ndarray, y: np.ndarray, reach: np.ndarray, x0: float, y0: float) -> np.ndarray:
    return np.flatnonzero((x + reach > x0) & (x - reach < x0 + TILE)
                          & (y + reach > y0) & (y - reach < y0 + TILE))


def _lay_trees(dom: np.ndarray, trees: Trees, x0: float, y1: float) -> None:
    """Raise dom (in place) to the crowns of the trees overlapping the tile."""
    t = _window(trees.x, trees.y, trees.r, x0, y1 - TILE)
    if t.size == 0:
        return
    off = np.arange(-7, 8)
    col = (np.floor(trees.x[t] - x0).astype(np.int64)[:, None, None] + off[None, None, :])
    row = (np.floor(y1 - trees.y[t]).astype(np.int64)[:, None, None] + off[None, :, None])
    col, row = np.broadcast_arrays(col, row)
    rho2 = (((x0 + col + 0.5 - trees.x[t, None, None]) ** 2
             + (y1 - row - 0.5 - trees.y[t, None, None]) ** 2) / trees.r[t, None, None] ** 2)
    ok = (rho2 < 1) & (col >= 0) & (col < TILE) & (row >= 0) & (row < TILE)
    base, top = trees.base[t, None, None], trees.top[t, None, None]
    z = np.broadcast_to(base + (top - base) * np.sqrt(np.clip(1 - rho2, 0, 1)), ok.shape)
    np.maximum.at(dom.reshape(-1), (row * TILE + col)[ok], z[ok])


def render_tile(e_km: int, n_km: int, roofs: Roofs, polygons: np.ndarray, trees: Trees,
                holes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """DGM and DOM (float32, quantised, noisy) of the 1 km tile with lower-left (e, n) km."""
    x0, y1 = e_km * TILE, (n_km + 1) * TILE
    transform = from_origin(x0, y1, 1, 1)
    xs = x0 + np.arange(TILE) + 0.5
    ys = (y1 - np.arange(TILE) - 0.5)[:, None]
    ground = terrain(xs[None, :], ys)
    dom = ground.copy()
    r = roofs.rects
    sel = _window(r.cx, r.cy, r.hl + r.hw, x0, y1 - TILE)
    if sel.size:
        labels = rasterize(zip(polygons[sel], sel + 1, strict=True), out_shape=(TILE, TILE),
                           transform=transform, fill=0, dtype="int32")
        rows, cols = np.nonzero(labels)
        k = labels[rows, cols] - 1
        u, v = r.local(k, xs[cols], ys[rows, 0])
        dom[rows, cols] = np.maximum(roofs.at(k, u, v), ground[rows, cols])
    _lay_trees(dom, trees, x0, y1)
    rng = np.random.default_rng([seed, e_km, n_km])
    dgm = ground + np.clip(rng.normal(0, 0.03, ground.shape), -0.09, 0.09)
    dom += np.clip(rng.normal(0, 0.1, dom.shape), -0.3, 0.3)
    dgm, dom = (np.round(a / QUANTUM) * QUANTUM for a in (dgm, dom))
    box = shapely.bounds(holes).reshape(-1, 4)
    reach = np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
    near = _window(box[:, 0], box[:, 1], reach, x0, y1 - TILE)
    if near.size:
        mask = rasterize(holes[near], out_shape=(TILE, TILE), transform=transform, fill=0,
                         default_value=1, dtype="uint8")
        dom[mask == 1] = NODATA
    return dgm.astype(np.float32), dom.astype(np.float32)


def write_tiles(folder: Path, cells: list[tuple[int, int]], roofs: Roofs, trees: Trees,
                holes: np.ndarray, seed: int) -> None:
    """Write dgm1/ and dom1/ tiles for every cell, two tiles at a time."""
    for sub in ("dgm1", "dom1"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    polygons = roofs.rects.polygons()

    def one(cell: tuple[int, int]) -> None:
        e, n = cell
        grids = render_tile(e, n, roofs, polygons, trees, holes, seed)
        for sub, grid in zip(("dgm1", "dom1"), grids, strict=True):
            path = folder / sub / f"{sub}_32_{e}_{n}_1_ni.tif"
            with rasterio.open(path, "w", transform=from_origin(e * TILE, (n + 1) * TILE, 1, 1),
                               **_PROFILE) as ds:
                ds.write(grid, 1)

    with warnings.catch_warnings():  # rasterize's in-memory dataset warns before georeferencing
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
            list(pool.map(one, cells))
