"""The DGM and DOM tile sets, each read as one mosaic (a GDAL VRT built with lxml).

Every tile is checked before a height is read: the declared CRS, the declared resolution,
pixel edges on the resolution's grid, one band, a nodata value. A mismatch refuses the run
with the tile's name and what is wrong. Windows are read from the VRT, so a building on a
tile edge is measured on both tiles at once; where no tile lies, the window reads nodata.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import rasterio
import rasterio.io
from lxml import etree
from rasterio.windows import Window

from gdi.descriptor import RasterSetSpec
from gdi.errors import SourceError

NODATA = -9999.0  # used where a tile declares none (documented in docs/city3d.md)


# GDAL settings for the height step: decode a window's blocks (and rasterize) on every core.
# GDAL_CACHEMAX stays GDAL's default (5 % of RAM): set to 512 MB it made each rasterize of a
# window 13x slower (measured), and the default already holds a window's neighbour tiles.
GDAL_ENV = {"GDAL_NUM_THREADS": "ALL_CPUS"}


@dataclasses.dataclass(frozen=True)
class Mosaic:
    name: str
    vrt: Path
    tiles: tuple[Path, ...]
    bounds: tuple[float, float, float, float]
    res: float
    nodata: float
    source_date: str  # the newest tile's modification date (YYYY-MM-DD)

    def read(self, bounds: tuple[float, float, float, float],
             src: rasterio.io.DatasetReader | None = None) -> np.ndarray:
        """float32 heights of the window ``bounds`` (pixel-aligned); NaN where no data.
        ``src``: the VRT opened once by the caller (keeps GDAL's block cache across windows;
        opening it per window costs several times the reading)."""
        minx, miny, maxx, maxy = bounds
        cols = round((maxx - minx) / self.res)
        rows = round((maxy - miny) / self.res)
        out = np.full((rows, cols), np.nan, dtype=np.float32)
        x0 = round((minx - self.bounds[0]) / self.res)
        y0 = round((self.bounds[3] - maxy) / self.res)
        width = round((self.bounds[2] - self.bounds[0]) / self.res)
        height = round((self.bounds[3] - self.bounds[1]) / self.res)
        c0, r0 = max(x0, 0), max(y0, 0)
        c1, r1 = min(x0 + cols, width), min(y0 + rows, height)
        if c1 <= c0 or r1 <= r0:
            return out
        window = Window(c0, r0, c1 - c0, r1 - r0)
        if src is None:
            with rasterio.open(self.vrt) as own:
                data = own.read(1, window=window, out_dtype=np.float32)
        else:
            data = src.read(1, window=window, out_dtype=np.float32)
        data[data == np.float32(self.nodata)] = np.nan
        out[r0 - y0:r1 - y0, c0 - x0:c1 - x0] = data
        return out


def open_mosaic(spec: RasterSetSpec, name: str, work_dir: Path) -> Mosaic:
    """Check every tile of ``spec`` and write the VRT into ``work_dir``."""
    if not spec.path.is_dir():
        raise SourceError(f"{name}: folder {spec.path} not found",
                          hint="check city3d.heights in the descriptor")
    paths = sorted(spec.path.glob(spec.pattern))
    if not paths:
        raise SourceError(f"{name}: no tile matches {spec.pattern} in {spec.path}")
    res = spec.resolution_m
    tiles: list[tuple[Path, tuple[float, float, float, float], float | None, str]] = []
    for path in paths:
        try:
            with rasterio.open(path) as src:
                epsg = src.crs.to_epsg() if src.crs else None
                rx, ry = src.res
                b = src.bounds
                bands, nodata, dtype = src.count, src.nodata, src.dtypes[0]
        except rasterio.errors.RasterioIOError as exc:
            raise SourceError(f"{name}: {path.name} is not a readable GeoTIFF ({exc})") from None
        where = f"{name}: {path.name}"
        if f"EPSG:{epsg}" != spec.crs:
            raise SourceError(f"{where}: CRS is {f'EPSG:{epsg}' if epsg else 'not set'}, "
                              f"the descriptor says {spec.crs}",
                              hint="deliver the tiles in the declared CRS or fix the descriptor")
        if not (math.isclose(rx, res, abs_tol=1e-6) and math.isclose(ry, res, abs_tol=1e-6)):
            raise SourceError(f"{where}: resolution {rx:g} x {ry:g} m, the descriptor says "
                              f"{res:g} m", hint="all tiles of a set share one resolution")
        if any(abs(v / res - round(v / res)) > 1e-6 for v in (b.left, b.top)):
            raise SourceError(f"{where}: pixel edges are not on the {res:g} m grid "
                              f"(origin {b.left}, {b.top})")
        if bands != 1:
            raise SourceError(f"{where}: {bands} bands, a height model has one")
        tiles.append((path, (b.left, b.bottom, b.right, b.top), nodata, dtype))
    nodatas = {t[2] for t in tiles}
    if len(nodatas) > 1:
        raise SourceError(
            f"{name}: tiles declare different nodata values {sorted(map(str, nodatas))}")
    nodata = next(iter(nodatas))
    nodata = NODATA if nodata is None else float(nodata)
    bounds = (min(t[1][0] for t in tiles), min(t[1][1] for t in tiles),
              max(t[1][2] for t in tiles), max(t[1][3] for t in tiles))
    vrt = work_dir / f"{name.lower()}.vrt"
    _write_vrt(vrt, tiles, bounds, res, nodata, spec.crs)
    newest = max(p.stat().st_mtime for p in paths)
    date = dt.datetime.fromtimestamp(newest, tz=dt.UTC).date().isoformat()
    return Mosaic(name, vrt, tuple(paths), bounds, res, nodata, date)


def _write_vrt(path: Path, tiles: list[tuple[Path, tuple[float, float, float, float],
                                              float | None, str]],
               bounds: tuple[float, float, float, float], res: float, nodata: float,
               crs: str) -> None:
    width = round((bounds[2] - bounds[0]) / res)
    height = round((bounds[3] - bounds[1]) / res)
    root = etree.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    etree.SubElement(root, "SRS").text = crs
    etree.SubElement(root, "GeoTransform").text = (
        f"{bounds[0]!r}, {res!r}, 0, {bounds[3]!r}, 0, {-res!r}")
    band = etree.SubElement(root, "VRTRasterBand", dataType="Float32", band="1")
    etree.SubElement(band, "NoDataValue").text = repr(nodata)
    for tile, (left, bottom, right, top), tile_nodata, _ in tiles:
        cols, rows = round((right - left) / res), round((top - bottom) / res)
        # a SimpleSource copies blocks as they are: the tile's nodata is the VRT's
        same = tile_nodata is None or float(tile_nodata) == nodata
        src = etree.SubElement(band, "SimpleSource" if same else "ComplexSource")
        etree.SubElement(src, "SourceFilename", relativeToVRT="0").text = str(tile.resolve())
        etree.SubElement(src, "SourceBand").text = "1"
        etree.SubElement(src, "SrcRect", xOff="0", yOff="0", xSize=str(cols), ySize=str(rows))
        etree.SubElement(src, "DstRect", xOff=str(round((left - bounds[0]) / res)),
                         yOff=str(round((bounds[3] - top) / res)),
                         xSize=str(cols), ySize=str(rows))
        if not same and tile_nodata is not None:
            etree.SubElement(src, "NODATA").text = repr(float(tile_nodata))
    etree.ElementTree(root).write(str(path), pretty_print=True)


def fingerprint(mosaics: tuple[Mosaic, ...], settings: str) -> str:
    """Changes when any tile (name, size, modification time) or the height settings do: a
    building whose footprint and fingerprint are unchanged keeps its measured heights."""
    parts = [settings] + [[m.name, [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                    for p in m.tiles]] for m in mosaics]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
