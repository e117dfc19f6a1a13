"""Deterministic synthetic city for the 3D building pipeline: ALKIS footprints, DGM1 and DOM1.

``generate`` writes ``buildings/``: ``alkis_gebaeude.gpkg`` (layer ``gebaeude``, EPSG:25832, as
LGLN's ALKIS export gives it), 1 km DGM1/DOM1 GeoTIFF tiles, ``truth.csv`` (the true roof form
and heights of every record) and ``README.txt``. Buildings are non-overlapping rotated
rectangles on a jittered street-block grid, dense in the centre; their roofs (flat, shed,
gable, hip) and tree crowns, some overhanging roofs, are rendered into the DOM. The defects of
``DEFECTS`` are injected on purpose. ``buchungsblatt`` is confidential: every value carries
``CANARY``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gdi.errors import GdiError
from gdi.samples import _city_terrain as ct
from gdi.samples.trees import DISTRICTS

SEED = 7837  # the EPSG code of DHHN2016
CANARY = "GEHEIM-BB"
OID_PREFIX = "DENI03AL"
BLOCK = 120.0  # street block pitch (m); a block's buildings share its orientation
HOUSE, ROW, HALL, GARAGE, PUBLIC = range(5)
DEFECTS = {  # name: (records, what)
    "duplicate_oid": (4, "2 oids recorded twice; the second record is a slightly shifted, "
                         "resized rectangle (both records marked, truth repeats the first)"),
    "bowtie": (3, "self-intersecting footprint (two vertices swapped); make_valid repairs it"),
    "empty_geometry": (1, "NULL geometry"),
    "no_raster": (2, "footprint in a 1 km cell next to the coverage that has no DGM/DOM tile"),
    "partial_raster": (1, "half of the footprint lies outside the tile coverage"),
    "dom_nodata": (2, "the DOM is nodata (-9999) under the footprint buffered by 1 m"),
    "no_function": (1, "gfk is NULL"),
    "sliver": (1, "a 0.5 m x 0.5 m footprint"),
}
# Gebäudefunktion (AX_Gebaeude = 31001) codes and shares per kind: 1000 Wohngebäude, 1010
# Wohnhaus, 1020 Wohnheim, 2000 Gebäude für Wirtschaft oder Gewerbe, 2020 Bürogebäude, 2050
# Geschäftsgebäude, 2143 Lagerhalle, 2463 Garage, 2523 Umformer, 3000 Gebäude für öffentliche
# Zwecke, 3020 Gebäude für Bildung und Forschung, 3021 Allgemein bildende Schule, 3030 Gebäude
# für kulturelle Zwecke, 3065 Kindertagesstätte, 3211 Sport-, Turnhalle
GFK = {HOUSE: {1010: .8, 1000: .2},
       ROW: {1000: .55, 1010: .15, 1020: .05, 2050: .13, 2020: .12},
       HALL: {2000: .45, 2143: .35, 2050: .2},
       GARAGE: {2463: .95, 2523: .05},
       PUBLIC: {3021: .3, 3211: .2, 3065: .15, 3000: .15, 3020: .1, 3030: .1}}
NAMES = {3021: "Grundschule", 3211: "Sporthalle", 3065: "Kindertagesstätte",
         3030: "Kulturzentrum"}
FORMS = {HOUSE: {ct.GABLE: .65, ct.HIP: .35}, ROW: {ct.GABLE: .6, ct.FLAT: .4},
         HALL: {ct.FLAT: .65, ct.SHED: .35}, GARAGE: {ct.FLAT: 1.0},
         PUBLIC: {ct.FLAT: .5, ct.HIP: .5}}
# heights above ground (m): flat roof from, to; eave of a sloped roof from, to; rise from, to
HEIGHTS = {HOUSE: (3, 7, 3, 7, 3, 6), ROW: (9, 18, 8, 14, 3, 5), HALL: (6, 14, 6, 11, 1, 3),
           GARAGE: (2.3, 3, 2.3, 3, 0, 0), PUBLIC: (10, 20, 9, 15, 3, 5)}
STOREY = {HOUSE: 3.0, ROW: 3.0, HALL: 6.0, GARAGE: 3.0, PUBLIC: 3.8}
CELLAR = {HOUSE: .7, ROW: .8, HALL: .1, GARAGE: 0.0, PUBLIC: .5}


class SampleError(GdiError, ValueError):
    """The requested sample cannot be generated (e.g. too many buildings for the area)."""


def _pick(rng: np.random.Generator, shares: dict[int, float], n: int) -> np.ndarray:
    p = np.array(list(shares.values()))
    return np.array(list(shares))[rng.choice(len(shares), n, p=p / p.sum())]


def _cells(rng: np.random.Generator, area_km2: int) -> list[tuple[int, int]]:
    """A compact blob of area_km2 1 km cells around the centre, inside AREA."""
    km = (np.array(ct.AREA) // 1000).astype(int)
    e, n = (a.ravel() for a in np.meshgrid(np.arange(km[0], km[2]), np.arange(km[1], km[3]),
                                           indexing="ij"))
    d = np.hypot(e + 0.5 - ct.CENTRE[0] / 1000, (n + 0.5 - ct.CENTRE[1] / 1000) * 1.1)
    order = np.argsort(d + rng.uniform(0, 0.35, d.size), kind="stable")[:area_km2]
    return sorted(zip(e[order].tolist(), n[order].tolist(), strict=True))


def _lots(s: np.ndarray, lu: float, lv: float) -> tuple[np.ndarray, ...]:
    """Lots of lu x lv m centred in each block's inner square of side s: block, u, v."""
    nu, nv = np.floor(s / lu).astype(int), np.floor(s / lv).astype(int)
    i, j = np.meshgrid(np.arange(nu.max(initial=0)), np.arange(nv.max(initial=0)), indexing="ij")
    b, ii, jj = np.nonzero((i[None] < nu[:, None, None]) & (j[None] < nv[:, None, None]))
    return b, (ii - (nu[b] - 1) / 2) * lu, (jj - (nv[b] - 1) / 2) * lv


def _candidates(rng: np.random.Generator, cells: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Every building the blocks could hold, with its kind and selection key."""
    e = np.array([c[0] for c in cells]) * 1000.0
    n = np.array([c[1] for c in cells]) * 1000.0
    gx, gy = np.meshgrid(np.arange(e.min(), e.max() + 1000, BLOCK),
                         np.arange(n.min(), n.max() + 1000, BLOCK), indexing="ij")
    inside = _covered(np.stack([gx.ravel(), gy.ravel()], -1)[:, None, :], cells)
    bx, by = gx.ravel()[inside], gy.ravel()[inside]
    dx, dy = bx - ct.CENTRE[0], by - ct.CENTRE[1]
    dn = np.hypot(dx, dy) / (1000 * np.sqrt(len(cells) / np.pi))
    theta = 0.45 * np.sin(dx / 2300 + 0.7) + 0.3 * np.cos(dy / 3100) + rng.normal(0, .05, bx.size)
    side = (BLOCK - 8) / (np.abs(np.cos(theta)) + np.abs(np.sin(theta)))
    field = np.sin(dx / 900 + 1.3) * np.sin(dy / 1100 + 0.4)
    empty = ((np.abs(bx - ct.river_x(by)) < 230)
             | (0.55 * dn + 0.3 * field + 0.25 * rng.random(bx.size) > 0.75))
    w = np.stack([np.full(bx.size, .55), .1 + .5 * np.exp(-(dn / .35) ** 2),
                  .05 + .3 * np.clip(dn - .4, 0, 1), np.full(bx.size, .06)], 1)
    cum = np.cumsum(w, 1) / w.sum(1, keepdims=True)
    btype = np.where(empty, -1, (rng.random(bx.size)[:, None] < cum).argmax(1))
    parts = []  # (block, u, v, du, dv, kind, key)

    def add(b: np.ndarray, u: np.ndarray, v: np.ndarray, du: np.ndarray, dv: np.ndarray,
            kind: int, key: np.ndarray) -> None:
        parts.append((b, u, v, du, dv, np.full(b.size, kind), key))

    def jit(k: int, room: np.ndarray) -> np.ndarray:
        return rng.uniform(-1, 1, k) * np.maximum(room, 0)

    blocks = np.flatnonzero(btype == 0)  # detached houses with garages, lots 24 x 20 m
    b, u, v = _lots(side[blocks], 24, 20)
    b, k = blocks[b], b.size
    length = rng.uniform(9, 14, k)
    width = rng.uniform(8, np.minimum(13, length - 1))
    flip = rng.random(k) < 0.5
    du, dv = np.where(flip, width, length), np.where(flip, length, width)
    key = rng.random(k)
    add(b, u - 4 + jit(k, (16 - du) / 2 - 1), v + jit(k, (20 - dv) / 2 - 1), du, dv, HOUSE, key)
    g = rng.random(k) < 0.6
    gw, gl = rng.uniform(3, 6, k), rng.uniform(5, 9, k)
    add(b[g], u[g] + 8, (v + jit(k, (20 - gl) / 2 - 1))[g], gw[g], gl[g], GARAGE, key[g] - 1e-9)
    rows = np.flatnonzero(btype == 1)  # row and apartment blocks, lots 38 or 56 x 20 m
    short = rng.random(rows.size) < 0.6
    for blocks, lu in ((rows[short], 38), (rows[~short], 56)):
        b, u, v = _lots(side[blocks], lu, 20)
        b, k = blocks[b], b.size
        du, dv = rng.uniform(25, min(50, lu - 4), k), rng.uniform(10, 14, k)
        add(b, u + jit(k, (lu - du) / 2 - 2), v + jit(k, (20 - dv) / 2 - 2), du, dv, ROW,
            rng.random(k))
    blocks = np.flatnonzero(btype == 2)  # halls: one big or four in a block
    big = rng.random(blocks.size) < 0.35
    nq = int((~big).sum())
    b = np.concatenate([blocks[big], np.repeat(blocks[~big], 4)])
    one = np.arange(b.size) < big.sum()
    qu = np.concatenate([np.zeros(big.sum()), np.tile([-1.0, 1.0, -1.0, 1.0], nq)])
    qv = np.concatenate([np.zeros(big.sum()), np.tile([-1.0, -1.0, 1.0, 1.0], nq)])
    s, k = side[b], b.size
    lot = np.where(one, s, s / 2)
    length = rng.uniform(np.where(one, 50, 25), np.minimum(80, lot - 6))
    width = rng.uniform(np.minimum(np.where(one, 30, 25), length), length)
    flip = rng.random(k) < 0.5
    du, dv = np.where(flip, width, length), np.where(flip, length, width)
    add(b, qu * s / 4 + jit(k, (lot - du) / 2 - 3), qv * s / 4 + jit(k, (lot - dv) / 2 - 3),
        du, dv, HALL, rng.random(k))
    b = np.repeat(np.flatnonzero(btype == 3), 2)  # public buildings, two per block
    s, k = side[b], b.size
    dv = rng.uniform(20, np.minimum(50, s - 6))
    du = rng.uniform(12, np.minimum(np.minimum(25, dv - 2), s / 2 - 6))
    add(b, np.tile([-1.0, 1.0], k // 2) * s / 4 + jit(k, (s / 2 - du) / 2 - 3),
        jit(k, (s - dv) / 2 - 3), du, dv, PUBLIC, rng.random(k))
    b, u, v, du, dv, kind, key = (np.concatenate(a) for a in zip(*parts, strict=True))
    along = du >= dv
    ang = theta[b] + np.where(along, 0, np.pi / 2)
    ang += np.where((kind == HOUSE) | (kind == GARAGE), rng.uniform(-.025, .025, b.size), 0)
    c, sn = np.cos(theta[b]), np.sin(theta[b])
    weight = 0.05 + 3 * np.exp(-(dn[b] / 0.55) ** 2)
    return {"cx": bx[b] + u * c - v * sn, "cy": by[b] + u * sn + v * c, "ang": ang,
            "hl": np.maximum(du, dv) / 2, "hw": np.minimum(du, dv) / 2, "kind": kind,
            "key": key ** (1 / weight)}


def _covered(corners: np.ndarray, cells: list[tuple[int, int]]) -> np.ndarray:
    """True where all corners (n, k, 2) of a shape lie in covered cells."""
    e0, n0 = int(ct.AREA[0] // 1000) - 10, int(ct.AREA[1] // 1000) - 10
    grid = np.zeros((40, 40), bool)
    e, n = np.array(cells).T
    grid[e - e0, n - n0] = True
    ix = np.clip(np.floor(corners[..., 0] / 1000).astype(int) - e0, 0, 39)
    iy = np.clip(np.floor(corners[..., 1] / 1000).astype(int) - n0, 0, 39)
    return grid[ix, iy].all(1)


def _specials(cells: list[tuple[int, int]]) -> tuple[dict[str, np.ndarray], list[str]]:
    """partial_raster (a hall on the coverage edge), 2 no_raster houses, the sliver."""
    cover = set(cells)
    ce, cn = ct.CENTRE[0] / 1000 - 0.5, ct.CENTRE[1] / 1000 - 0.5
    dist = sorted(cells, key=lambda c: (abs(c[0] - ce) + abs(c[1] - cn), c))
    edge = next(c for c in dist if (c[0] + 1, c[1]) not in cover)
    outside = [(c[0] + de, c[1] + dn) for c in dist for de, dn in ((0, 1), (-1, 0), (0, -1))]
    free = next(c for c in outside if c not in cover and c != (edge[0] + 1, edge[1])
                and ct.AREA[0] <= c[0] * 1000 < ct.AREA[2]
                and ct.AREA[1] <= c[1] * 1000 < ct.AREA[3])
    home = dist[0]
    cx = [(edge[0] + 1) * 1000.0, free[0] * 1000 + 475.0, free[0] * 1000 + 525.0,
          home[0] * 1000 + 500.0]
    cy = [edge[1] * 1000 + 500.0, free[1] * 1000 + 500.0, free[1] * 1000 + 500.0,
          home[1] * 1000 + 500.0]
    return ({"cx": np.array(cx), "cy": np.array(cy), "ang": np.array([0, .3, .3, .5]),
             "hl": np.array([15, 6.5, 6.0, .25]), "hw": np.array([9, 4.5, 5.0, .25]),
             "kind": np.array([HALL, HOUSE, HOUSE, GARAGE]), "key": np.full(4, 2.0)},
            ["partial_raster", "no_raster", "no_raster", "sliver"])


def _layout(rng: np.random.Generator, cells: list[tuple[int, int]],
            real: int) -> tuple[dict[str, np.ndarray], list[str]]:
    cand = _candidates(rng, cells)
    ok = _covered(ct.Rects(*(cand[f] for f in ("cx", "cy", "ang", "hl", "hw"))).corners(), cells)
    cand = {f: a[ok] for f, a in cand.items()}
    spec, defect = _specials(cells)
    rects = ct.Rects(*(cand[f] for f in ("cx", "cy", "ang", "hl", "hw")))
    srects = ct.Rects(*(spec[f] for f in ("cx", "cy", "ang", "hl", "hw")))
    clash = shapely.STRtree(rects.polygons()).query(shapely.buffer(srects.polygons(), 2.0))[1]
    keep = np.setdiff1d(np.arange(cand["cx"].size), clash)
    if keep.size < real - len(defect):
        raise SampleError(f"{keep.size} building places for {real} buildings",
                          hint="lower count or raise area_km2")
    chosen = np.sort(keep[np.argsort(-cand["key"][keep], kind="stable")[:real - len(defect)]])
    out = {f: np.concatenate([cand[f][chosen], spec[f]]) for f in cand}
    return out, [""] * chosen.size + defect


def _heights(rng: np.random.Generator, kind: np.ndarray,
             ground: np.ndarray) -> tuple[np.ndarray, ...]:
    form, eave, ridge = np.zeros(kind.size, int), np.zeros(kind.size), np.zeros(kind.size)
    for k, forms in FORMS.items():
        m = np.flatnonzero(kind == k)
        form[m] = _pick(rng, forms, m.size)
        flo, fhi, elo, ehi, rlo, rhi = HEIGHTS[k]
        sloped = form[m] != ct.FLAT
        eave[m] = np.where(sloped, rng.uniform(elo, ehi, m.size), rng.uniform(flo, fhi, m.size))
        ridge[m] = eave[m] + np.where(sloped, rng.uniform(rlo, rhi, m.size), 0)
    return form, ground + eave, ground + ridge


def _oids(rng: np.random.Generator, n: int) -> np.ndarray:
    digits = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                           np.uint8)
    value = rng.integers(62**4, 62**5) + np.cumsum(rng.integers(1, 40, n))
    chars = digits[(value[:, None] // 62 ** np.arange(7, -1, -1)) % 62]
    return np.array([OID_PREFIX + c.decode() for c in chars.copy().view("S8").ravel()],
                    dtype=object)


def _nullable(rng: np.random.Generator, values: np.ndarray,
              share: float) -> pd.arrays.IntegerArray:
    out = pd.array(values, "Int32")
    out[rng.random(values.size) < share] = pd.NA
    return out


def _attributes(rng: np.random.Generator, kind: np.ndarray, form: np.ndarray,
                eave_rel: np.ndarray) -> pd.DataFrame:
    """The ALKIS attributes; dachform NULL for ~10 %, aog for ~5 %, aug for ~8 %."""
    n = kind.size
    code, aog = np.zeros(n, int), np.ones(n, int)
    aug = (rng.random(n) < np.choose(kind, [CELLAR[k] for k in range(5)])).astype(int)
    for k, shares in GFK.items():
        m = kind == k
        code[m] = _pick(rng, shares, int(m.sum()))
        aog[m] = np.maximum(1, np.round(eave_rel[m] / STOREY[k]))
    named = np.isin(code, list(NAMES)) & (rng.random(n) < 0.5)
    district = rng.choice(len(DISTRICTS), n)
    first = np.datetime64("2005-01-01")
    days = int((np.datetime64("2025-12-31") - first) / np.timedelta64(1, "D"))
    return pd.DataFrame({
        "oid": _oids(rng, n),
        "gfk": [f"31001_{c}" for c in code],
        "dachform": _nullable(rng, form, 0.1),
        "aog": _nullable(rng, aog, 0.05),
        "aug": _nullable(rng, aug, 0.08),
        "name": [f"{NAMES[c]} {DISTRICTS[d]}" if m else None
                 for c, d, m in zip(code, district, named, strict=True)],
        "grundrissaktualitaet": (first + rng.integers(0, days + 1, n)).astype(str).astype(object),
        "buchungsblatt": [f"{CANARY}-{b:04d}-{s:06d}" for b, s in
                          zip(rng.integers(301, 341, n), rng.integers(1, 20000, n), strict=True)],
    })


def _readme(count: int, cells: list[tuple[int, int]], seed: int) -> str:
    defects = "\n".join(f"  {name:<15} {n} record(s): {what}"
                        for name, (n, what) in DEFECTS.items())
    return f"""Synthetic city for the 3D building pipeline (gdi.samples.buildings, seed {seed})

alkis_gebaeude.gpkg  layer gebaeude, EPSG:25832, {count} footprint records as LGLN's ALKIS
  export gives them: oid (ALKIS object id), gfk (Gebäudefunktion, 31001_<code>), dachform
  (AdV code 1000 Flachdach, 2100 Pultdach, 3100 Satteldach, 3200 Walmdach; NULL ~10 %),
  aog/aug (storeys above/below ground; NULL sometimes), name, grundrissaktualitaet
  (YYYY-MM-DD) and buchungsblatt (CONFIDENTIAL land register link, every value contains
  {CANARY}; it must never appear in a published product).
dgm1/dgm1_32_<E>_<N>_1_ni.tif, dom1/dom1_32_<E>_<N>_1_ni.tif  {len(cells)} tiles each, 1 km,
  1000 x 1000 px float32, EPSG:25832 + DHHN2016 heights (m), nodata -9999, E/N the km of the
  lower-left corner. DGM: a smooth analytic terrain (~80-117 m, a river valley) + noise
  sigma 0.03 m. DOM: terrain, roofs and tree crowns (domes 4-12 m wide, 8-20 m high, some
  centred 0.5-3 m outside a footprint so that they overhang its roof) + noise sigma 0.1 m.
  Noise is clipped at 3 sigma, heights are stored in steps of 1/128 m.
truth.csv  one row per record, in the order of the GeoPackage:
  oid; roof_form (AdV code of the true form, also where dachform is NULL); ground_p05 (5th
  percentile of the noise-free terrain over the footprint); eave, ridge (absolute; for
  Pultdach the low and the high edge, for Flachdach both the roof height); h_p70 (70th
  percentile of the noise-free roof surface over the footprint); h_max (highest roof point);
  defect (empty or the name below). Percentiles use a regular 20 x 20 grid of sample points
  over the true rectangle (linear interpolation). Heights in m DHHN2016.

Roofs: gable ridges run along the long axis; hip roofs have the same slope on all four sides;
shed roofs rise across the short axis. Buildings are non-overlapping rotated rectangles:
detached houses with garages, row/apartment blocks, halls, public buildings.

Defects injected on purpose (truth.csv column defect):
{defects}
The true buildings of bowtie, empty_geometry, no_function and dom_nodata records are
rendered into the DOM like any other; the second record of a duplicate_oid is not.
"""


def generate(out_dir: Path, count: int = 45_000, seed: int = SEED, area_km2: int = 92) -> Path:
    """Write the synthetic city into ``out_dir / "buildings"`` and return that folder."""
    if not 1 <= area_km2 <= 200 or count < 50:
        raise SampleError(f"cannot generate {count} buildings on {area_km2} km²",
                          hint="use count >= 50 and 1 <= area_km2 <= 200")
    rng = np.random.default_rng(seed)
    folder = out_dir / "buildings"
    folder.mkdir(parents=True, exist_ok=True)
    cells = _cells(rng, area_km2)
    b, marks = _layout(rng, cells, count - 2)
    rects = ct.Rects(b["cx"], b["cy"], b["ang"], b["hl"], b["hw"])
    ground = ct.ground_p05(rects)
    form, eave, ridge = _heights(rng, b["kind"], ground)
    roofs = ct.Roofs(rects, form, eave, ridge)
    attrs = _attributes(rng, b["kind"], form, eave - ground)
    defect = np.array(marks, dtype=object)
    ordinary = np.flatnonzero((defect == "") & np.isin(b["kind"], [HOUSE, ROW]))
    victim = rng.choice(ordinary, 9, replace=False)
    defect[victim] = ["duplicate_oid"] * 2 + ["bowtie"] * 3 + ["empty_geometry"] + [
        "dom_nodata"] * 2 + ["no_function"]
    geometry = rects.polygons()
    holes = shapely.buffer(geometry[victim[6:8]], 1.0)
    geometry[victim[2:5]] = shapely.polygons(rects.corners()[victim[2:5]][:, [0, 2, 1, 3]])
    geometry[victim[5]] = None
    attrs.loc[victim[8], "gfk"] = None
    dup = victim[:2]
    twin = ct.Rects(rects.cx[dup] + 0.7, rects.cy[dup] - 0.5, rects.ang[dup] + 0.01,
                    rects.hl[dup] + 0.2, rects.hw[dup] + 0.15)
    order = rng.permutation(count)
    source = np.concatenate([np.arange(count - 2), dup])[order]  # the real building of a record
    gdf = gpd.GeoDataFrame(attrs.iloc[source].reset_index(drop=True), crs="EPSG:25832",
                           geometry=np.concatenate([geometry, twin.polygons()])[order])
    gpkg = folder / "alkis_gebaeude.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf, gpkg, layer="gebaeude", driver="GPKG")
    pd.DataFrame({"oid": gdf["oid"], "roof_form": form[source], "ground_p05": ground[source],
                  "eave": eave[source], "ridge": ridge[source],
                  "h_p70": ct.roof_p70(roofs)[source], "h_max": ridge[source],
                  "defect": defect[source]}).to_csv(folder / "truth.csv", index=False,
                                                    float_format="%.3f", encoding="utf-8")
    plain = np.flatnonzero(defect == "")
    trees = ct.make_trees(rng, cells, rects, rng.choice(plain, plain.size // 25, replace=False))
    ct.write_tiles(folder, cells, roofs, trees, holes, seed)
    (folder / "README.txt").write_text(_readme(count, cells, seed), encoding="utf-8")
    return folder


def city(folder: Path, count: int = 45_000) -> Path:
    """``gdi sample buildings [--count N]``: the city into ``folder`` (sources/buildings),
    its area scaled with the count (92 km² at 45,000 buildings, at least 1 km²), and the
    state's LoD2 CityGML tiles of it (gdi.samples.lod2)."""
    from gdi.samples import lod2

    area = max(1, round(92 * count / 45_000))
    out = generate(folder.parent if folder.name == "buildings" else folder, count,
                   area_km2=area)
    lod2.generate(out)  # the state's LoD2 of the same city, with its cases (lod2_cases.csv)
    return out
