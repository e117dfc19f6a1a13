"""Roof form estimated from the DOM where no LoD2 model exists (an estimate, not a survey).

Pixels: as in :mod:`gdi.city3d.heights`, the buildings are grouped per 1 km block, each block
reads one window of the DOM and of the DGM (the VRTs opened once), and the footprints,
eroded by ``erode_m``, are burnt in as labels (pixel centres inside). A pixel counts if it has
DOM and DGM data and lies at least ``MIN_ABOVE_GROUND_M`` above the DGM (ground seen through a
courtyard, or a building missing from the DOM, is no roof). A footprint keeping fewer than
``MIN_PIXELS`` pixels once eroded is measured on its uneroded pixel centres; with fewer still
it gets no estimate (``<NA>``).

Frame: the footprint's minimum rotated rectangle; u runs along its long axis, v across, both
from its centre; L and W are its length and width.

Models, each linear in its parameters and fitted to all buildings of a block at once (per
building weighted normal equations summed with ``np.bincount``, solved as a batch):

- Flachdach: z = a (one horizontal plane);
- Pultdach: z = a + b·u + c·v (one inclined plane);
- Satteldach: z = a + b·|v| (two planes meeting in a ridge along u at v = 0), and the same
  with the ridge along v, z = a + b·|u| (square-ish houses, ridges across the long axis);
- Walmdach: z = a + b·max(|v|, |u| − (L − W)/2) (four planes of one slope, ridge L − W).

The ridge of the gable and hip models lies on the rectangle's centre line: an off-centre
ridge (irregular or L-shaped footprints) fits badly and may be taken for another form.
Krüppelwalm, Zelt, Mansard and mixed roofs have no model: they come out as the nearest of the
four forms.

Robustness: ordinary least squares, then ``ITERATIONS`` reweightings with Tukey's biweight
(scale: 1.4826 × the median absolute residual, at least ``2 × NOISE_FLOOR_M``), one-sided:
a DOM pixel above the model is cut off at ``TUKEY_UP`` scales, one below at ``TUKEY_C``,
because a tree crown over a roof, a chimney or a dormer only ever adds height. Score: a BIC
on the truncated squared residuals, n·ln(Σ min(r², τ²)/n + σ₀²) + k·ln(n) with τ =
``TRUNCATE_M`` (every model pays the same τ² for an outlier pixel, so hiding a tree crown does
not pay off) and σ₀ = ``NOISE_FLOOR_M`` (a near-perfect fit, e.g. a DOM computed from a
model, does not turn centimetre differences into certainty). Candidates steeper than
``MAX_SLOPE_DEG`` (a crown or a wall) and gable or hip fits that do not fall away from the
ridge (b ≥ 0) are dropped.

Decision: the lowest score wins, the flat plane credited ``FLAT_BONUS`` (a sloped form must
be clearly better: on small garages the DOM noise alone makes a 5-10° "slope"); a sloped
winner with a slope below ``flat_deg`` (default 5°) becomes Flachdach (``roof_slope_deg`` is
then the inclination of the best single plane). The 5° follows the real NRW LoD2 tiles:
their Flachdach surfaces are level, their Pultdach surfaces 10–53°. A shed roof of 1–5°
(drainage slope) is therefore reported as Flachdach.

Confidence (0..1) = separation × fit × support: separation 1 − exp(−Δscore/10) against the
best candidate of another form, for Flachdach at least 1 − slope/flat_deg (slope of the best
sloped candidate), for a sloped form at most slope/flat_deg − 1; fit 1/(1 + (RMSE/0.25 m)²)
(RMSE of the truncated residuals); support 1 − exp(−pixels/20). It ranks the estimates; it is
not a calibrated probability.
``ridge_azimuth_deg``: the ridge (gable, hip) or the upper edge (shed), degrees clockwise
from grid north in [0, 180); NaN for Flachdach.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import rasterio
import shapely

from gdi.city3d.heights import BLOCK_M, block_grid, burn, grouped_percentiles
from gdi.city3d.rasters import GDAL_ENV, Mosaic

ROOF_FORMS = {1000: "Flachdach", 2100: "Pultdach", 3100: "Satteldach", 3200: "Walmdach"}
MIN_PIXELS = 8
MIN_ABOVE_GROUND_M = 1.0
FLAT_DEG = 5.0
MAX_SLOPE_DEG = 70.0
FLAT_BONUS = 10.0  # BIC units a sloped model must beat the flat plane by
ITERATIONS, TUKEY_C, TUKEY_UP = 3, 4.685, 2.5
TRUNCATE_M, NOISE_FLOOR_M = 0.5, 0.05
# the candidates: AdV code and the columns of the design matrix (see the module docstring)
MODELS = ((1000, ("one",)), (2100, ("one", "u", "v")), (3100, ("one", "av")),
          (3100, ("one", "au")), (3200, ("one", "hip")))
CODES = np.array([c for c, _ in MODELS])


@dataclasses.dataclass(frozen=True)
class Estimate:
    code: np.ndarray  # AdV code, 0 where too few pixels
    confidence: np.ndarray
    slope_deg: np.ndarray
    azimuth_deg: np.ndarray


def frames(footprints: np.ndarray) -> np.ndarray:
    """(n, 6): centre x, y, long axis unit vector (cos, sin), half length, half width of each
    footprint's minimum rotated rectangle; NaN where the footprint has no area."""
    geoms = np.asarray(footprints, dtype=object)
    out = np.full((len(geoms), 6), np.nan)
    rect = shapely.oriented_envelope(geoms)
    ok = (shapely.get_type_id(rect) == 3) & (shapely.get_num_coordinates(rect) == 5)
    ok[ok] &= shapely.area(rect[ok]) > 0
    if not ok.any():
        return out
    c = shapely.get_coordinates(shapely.get_exterior_ring(rect[ok])).reshape(-1, 5, 2)
    e0, e1 = c[:, 1] - c[:, 0], c[:, 2] - c[:, 1]
    l0, l1 = np.hypot(*e0.T), np.hypot(*e1.T)
    first = l0 >= l1
    axis = np.where(first[:, None], e0, e1) / np.maximum(l0, l1)[:, None]
    centre = c[:, :4].mean(axis=1)
    out[ok] = np.column_stack([centre, axis, np.maximum(l0, l1) / 2, np.minimum(l0, l1) / 2])
    return out


def _pixels(idx: np.ndarray, footprints: np.ndarray, eroded: np.ndarray, bounds: np.ndarray,
            dom: Mosaic, dgm: Mosaic, sd: Any, sg: Any
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(local building index, x, y, DOM z) of the usable roof pixels of the block ``idx``."""
    res = dom.res
    win, shape, transform = block_grid(bounds[idx], res)
    local = np.arange(1, len(idx) + 1)
    lab = burn(eroded[idx], local, shape, transform)
    z_dom, z_dgm = dom.read(win, sd), dgm.read(win, sg)
    with np.errstate(invalid="ignore"):
        roof = np.isfinite(z_dgm) & (z_dom - z_dgm >= MIN_ABOVE_GROUND_M)
    few = np.bincount(lab[roof & (lab > 0)], minlength=len(idx) + 1)[1:] < MIN_PIXELS
    if few.any():  # too small once eroded: its pixel centres without erosion
        full = burn(footprints[idx[few]], local[few], shape, transform)
        lab = np.where(full > 0, full, lab)
    rows, cols = np.nonzero(roof & (lab > 0))
    x = win[0] + (cols + 0.5) * res
    y = win[3] - (rows + 0.5) * res
    return lab[rows, cols] - 1, x, y, z_dom[rows, cols].astype(np.float64)


def _median(k: np.ndarray, a: np.ndarray, m: int) -> np.ndarray:
    """Per-building median (lower middle value) of ``a`` >= 0 grouped by ``k``: one float
    sort of k + a/(max a + 1) (faster than lexsort); 0 where a building has no value."""
    s = np.sort(k + a / (a.max(initial=0.0) + 1.0))
    counts = np.bincount(k, minlength=m)
    mid = np.cumsum(counts) - counts + (counts - 1) // 2
    out = np.zeros(m)
    has = counts > 0
    out[has] = s[mid[has]] - np.floor(s[mid[has]])
    return out * (a.max(initial=0.0) + 1.0)


def _solve(k: np.ndarray, cols: list[np.ndarray], z: np.ndarray, w: np.ndarray,
           m: int) -> np.ndarray:
    """(m, p) weighted least-squares parameters per building from its normal equations."""
    p = len(cols)
    a, b = np.empty((m, p, p)), np.empty((m, p))
    for i in range(p):
        b[:, i] = np.bincount(k, w * cols[i] * z, minlength=m)
        for j in range(i, p):
            a[:, i, j] = a[:, j, i] = np.bincount(k, w * cols[i] * cols[j], minlength=m)
    a += (1e-9 * (np.trace(a, axis1=1, axis2=2) + 1))[:, None, None] * np.eye(p)
    return np.linalg.solve(a, b[..., None])[..., 0]


def _fit(k: np.ndarray, cols: list[np.ndarray], z: np.ndarray,
         m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tukey-reweighted fit: parameters (m, p), truncated RSS and pixel count per building."""
    w = np.ones_like(z)
    for it in range(ITERATIONS + 1):
        beta = _solve(k, cols, z, w, m)
        r = z - sum(beta[k, i] * c for i, c in enumerate(cols))
        if it < ITERATIONS:
            s = np.maximum(1.4826 * _median(k, np.abs(r), m), 2 * NOISE_FLOOR_M)
            t = r / (np.where(r > 0, TUKEY_UP, TUKEY_C) * s[k])
            w = np.clip(1 - t * t, 0, None) ** 2
    counts = np.bincount(k, minlength=m)
    return beta, np.bincount(k, np.minimum(r * r, TRUNCATE_M ** 2), minlength=m), counts


def _azimuth(ex: np.ndarray, ey: np.ndarray) -> np.ndarray:
    """Degrees clockwise from grid north of the direction (ex, ey), in [0, 180)."""
    return np.degrees(np.arctan2(ex, ey)) % 180.0


def estimate(k: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray, frame: np.ndarray,
             flat_deg: float = FLAT_DEG) -> Estimate:
    """The roof form of buildings 0..m-1 (``frame`` (m, 6) from :func:`frames`) from their
    roof pixels: building index ``k``, pixel centre ``x``, ``y`` and DOM height ``z``."""
    m = len(frame)
    count = np.bincount(k, minlength=m)
    ok = count >= MIN_PIXELS
    px = ok[k]
    k, x, y, z = k[px], x[px], y[px], z[px]
    f = frame[k]
    dx, dy = x - f[:, 0], y - f[:, 1]
    u, v = dx * f[:, 2] + dy * f[:, 3], dy * f[:, 2] - dx * f[:, 3]
    _, med = grouped_percentiles(k, z, m, (50.0,))
    z = z - med[0][k]  # conditioning: heights around each roof's median
    feats = {"one": np.ones_like(z), "u": u, "v": v, "au": np.abs(u), "av": np.abs(v),
             "hip": np.maximum(np.abs(v), np.abs(u) - (f[:, 4] - f[:, 5]))}
    bic, rmse = (np.full((len(MODELS), m), np.inf) for _ in range(2))
    grad = np.zeros((len(MODELS), m))
    shed = np.zeros((m, 2))
    for j, (_, names) in enumerate(MODELS):
        beta, rss, kept = _fit(k, [feats[c] for c in names], z, m)
        nk = np.maximum(kept, 1)
        bic[j] = nk * np.log(rss / nk + NOISE_FLOOR_M ** 2) + len(names) * np.log(nk)
        rmse[j] = np.sqrt(rss / nk)
        if names == ("one", "u", "v"):
            shed, grad[j] = beta[:, 1:3], np.hypot(beta[:, 1], beta[:, 2])
        elif len(names) == 2:  # gable and hip: the roof must fall away from the ridge
            grad[j] = -beta[:, 1]
            bic[j, beta[:, 1] >= 0] = np.inf
    slope = np.degrees(np.arctan(grad))
    bic[slope > MAX_SLOPE_DEG] = np.inf  # steeper: a tree crown or a wall, not a roof
    score = bic - np.where(CODES == 1000, FLAT_BONUS, 0.0)[:, None]
    ar = np.arange(m)
    win = np.argmin(score, axis=0)
    low = win > 0
    low[low] = slope[win[low], ar[low]] < flat_deg
    win[low] = 0  # sloped but below flat_deg: Flachdach
    flat = win == 0
    code = np.where(ok, CODES[win], 0)
    other = np.where(CODES[:, None] == CODES[win][None, :], np.inf, score).min(axis=0)
    sep = 1 - np.exp(-np.clip(other - score[win, ar], 0, None) / 10)
    s_slope = slope[1 + np.argmin(score[1:], axis=0), ar]  # the best sloped candidate's
    sep = np.where(flat, np.maximum(sep, np.clip(1 - s_slope / flat_deg, 0, 1)),
                   np.minimum(sep, np.clip(s_slope / flat_deg - 1, 0, 1)))
    fit = 1 / (1 + (rmse[win, ar] / 0.25) ** 2)
    conf = np.where(ok, sep * fit * (1 - np.exp(-count / 20)), 0.0)
    c, s = frame[:, 2], frame[:, 3]
    gx, gy = shed[:, 0] * c - shed[:, 1] * s, shed[:, 0] * s + shed[:, 1] * c
    az = np.select([win == 1, win == 3], [_azimuth(-gy, gx), _azimuth(-s, c)], _azimuth(c, s))
    return Estimate(code, conf, np.where(ok, np.where(flat, slope[1], s_slope), np.nan),
                    np.where(ok & ~flat, az, np.nan))


def classify(footprints: np.ndarray, dom: Mosaic, dgm: Mosaic, *, erode_m: float = 0.5,
             flat_deg: float = FLAT_DEG,
             progress: Callable[[int], Any] | None = None) -> pd.DataFrame:
    """The roof form estimate of every footprint (polygons in the rasters' CRS), in input
    order: ``roof_form_estimate`` (Int64 AdV code, <NA> with too few pixels),
    ``roof_form_confidence``, ``roof_slope_deg``, ``ridge_azimuth_deg``."""
    geoms = np.asarray(footprints, dtype=object)
    n = len(geoms)
    if abs(dom.res - dgm.res) > 1e-9:
        raise ValueError(f"DOM ({dom.res:g} m) and DGM ({dgm.res:g} m) resolutions differ")
    code = np.zeros(n, dtype=np.int64)
    conf, slope, azimuth = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    frame = frames(geoms)
    usable = np.isfinite(frame[:, 0])
    todo = np.flatnonzero(usable)
    if len(todo):
        eroded = shapely.buffer(geoms, -erode_m) if erode_m else geoms
        anchor = shapely.point_on_surface(geoms[todo])
        cell = (np.floor(shapely.get_x(anchor) / BLOCK_M).astype(np.int64) * 100_000
                + np.floor(shapely.get_y(anchor) / BLOCK_M).astype(np.int64))
        bounds = shapely.bounds(geoms)
        order = todo[np.argsort(cell, kind="stable")]
        splits = np.flatnonzero(np.diff(np.sort(cell, kind="stable"))) + 1
        with rasterio.Env(**GDAL_ENV), rasterio.open(dom.vrt) as sd, \
                rasterio.open(dgm.vrt) as sg:
            for idx in np.split(order, splits):
                k, x, y, z = _pixels(idx, geoms, eroded, bounds, dom, dgm, sd, sg)
                est = estimate(k, x, y, z, frame[idx], flat_deg)
                code[idx], conf[idx] = est.code, est.confidence
                slope[idx], azimuth[idx] = est.slope_deg, est.azimuth_deg
                if progress is not None:
                    progress(len(idx))
    if progress is not None and n > len(todo):
        progress(n - len(todo))
    return pd.DataFrame({
        "roof_form_estimate": pd.Series(code, dtype="Int64").mask(code == 0),
        "roof_form_confidence": np.round(conf, 3),
        "roof_slope_deg": np.round(slope, 1),
        "ridge_azimuth_deg": np.round(azimuth, 1),
    })


def confusion(truth: Sequence[int], predicted: Sequence[int | None]) -> pd.DataFrame:
    """Counts: one row per true code (int, ascending), one column per code of ``ROOF_FORMS``
    and any other predicted code (str), then ``none`` (no estimate: None or <NA>)."""
    t = [int(v) for v in truth]
    p = ["none" if v is None or pd.isna(v) else str(int(v)) for v in predicted]
    if len(t) != len(p):
        raise ValueError(f"{len(t)} true and {len(p)} predicted values")
    codes = sorted(set(ROOF_FORMS) | {int(v) for v in p if v != "none"})
    out = pd.DataFrame(0, index=pd.Index(sorted(set(t)), name="truth"),
                       columns=pd.Index([str(c) for c in codes] + ["none"], name="predicted"))
    for a, b in zip(t, p, strict=True):
        out.loc[a, b] += 1
    return out
