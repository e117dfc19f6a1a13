"""The open-data extracts of one published collection, one writer per format.

Every writer takes the collection as the live release's public GeoPackage holds it (the
public fields of the public records, nothing else) and writes one file:

- ``<name>.csv``: RFC 4180 (comma, double quotes, CRLF), UTF-8 without BOM, a header of the
  field keys; for points ``longitude``/``latitude`` (WGS84, 7 decimals, ~1 cm), for areas
  ``wkt`` (WGS84 longitude/latitude, 7 decimals): a spreadsheet user gets positions and a GIS
  user gets the outline, at the cost of long cells for areas;
- ``<name>.geojson``: RFC 7946 (WGS84 longitude/latitude, 7 decimals);
- ``<name>.gpkg``: the published GeoPackage itself (EPSG:25832), byte for byte;
- ``<name>.shp.zip``: a Shapefile (UTF-8 with ``.cpg``, EPSG:25832) whose field names are cut
  to 10 characters by :func:`shapefile_names` (documented in ``datapackage.json``);
- ``<name>.parquet``: GeoParquet 1.1 (EPSG:25832, WKB, bbox covering column);
- ``<name>.fgb``: FlatGeobuf with its spatial index (EPSG:25832).

Coordinates are transformed only in :mod:`gdi.crs`; files are written through pyogrio (the one
vector I/O engine) and pyarrow (Parquet).
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gdi import crs

WGS84 = "EPSG:4326"
NAMES = {"csv": "CSV", "geojson": "GeoJSON", "gpkg": "GeoPackage", "shp": "Shapefile (ZIP)",
         "geoparquet": "GeoParquet", "fgb": "FlatGeobuf"}  # format -> name people know
FORMATS: dict[str, tuple[str, str]] = {  # suffix -> (format, media type)
    "csv": ("csv", "text/csv"),
    "geojson": ("geojson", "application/geo+json"),
    "gpkg": ("gpkg", "application/geopackage+sqlite3"),
    "shp.zip": ("shp", "application/zip"),
    "parquet": ("geoparquet", "application/vnd.apache.parquet"),
    "fgb": ("fgb", "application/flatgeobuf"),
}


def shapefile_names(names: list[str]) -> dict[str, str]:
    """Field key -> DBF field name (at most 10 characters): the key cut to 10; a name taken
    already gets the first 8 characters and a two-digit number, in field order."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        short = name[:10]
        n = 1
        while short.lower() in taken:
            short = f"{name[:8]}{n:02d}"
            n += 1
        taken.add(short.lower())
        out[name] = short
    return out


def _wgs84(frame: gpd.GeoDataFrame, storage_crs: str) -> gpd.GeoDataFrame:
    moved = crs.transform_geometry(frame.geometry.to_numpy(), storage_crs, WGS84,
                                   authority_order=False)
    out = frame.copy(deep=False)
    out.set_geometry(gpd.GeoSeries(np.asarray(moved, dtype=object), index=frame.index,
                                   crs=WGS84), inplace=True)
    return out


def read(gpkg: Path, layer: str) -> gpd.GeoDataFrame:
    """The published collection with its own types (Arrow: integers with gaps stay integers,
    dates stay dates), as every writer here expects it."""
    frame = pyogrio.read_dataframe(gpkg, layer=layer, use_arrow=True,
                                   arrow_to_pandas_kwargs={"types_mapper": pd.ArrowDtype})
    assert isinstance(frame, gpd.GeoDataFrame)
    return frame


def write_csv(frame: gpd.GeoDataFrame, path: Path, storage_crs: str) -> None:
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geo = _wgs84(frame, storage_crs).geometry.to_numpy()
    if len(geo) and (shapely.get_type_id(geo) == 0).all():
        table["longitude"] = np.round(shapely.get_x(geo), 7)
        table["latitude"] = np.round(shapely.get_y(geo), 7)
    else:
        table["wkt"] = shapely.to_wkt(geo, rounding_precision=7, trim=True)
    table.to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n",
                 quoting=csv.QUOTE_MINIMAL)


def write_geojson(frame: gpd.GeoDataFrame, path: Path, storage_crs: str) -> None:
    pyogrio.write_dataframe(_wgs84(frame, storage_crs), path, driver="GeoJSON", use_arrow=True,
                            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "7",
                                           "WRITE_BBOX": "YES"})


def write_gpkg(source: Path, path: Path) -> None:
    """The published GeoPackage itself (a hard link where the file system allows)."""
    try:
        os.link(source, path)
    except OSError:
        shutil.copy2(source, path)


def write_shapefile(frame: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    names = shapefile_names([c for c in frame.columns if c != frame.geometry.name])
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        shp = Path(tmp) / f"{layer}.shp"
        pyogrio.write_dataframe(frame.rename(columns=names), shp, driver="ESRI Shapefile",
                                encoding="UTF-8", use_arrow=True,
                                layer_options={"RESIZE": "YES"})  # no text cut at 80
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                zf.write(part, part.name)


def write_parquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False, compression="zstd", schema_version="1.1.0",
                     write_covering_bbox=True)


def write_fgb(frame: gpd.GeoDataFrame, path: Path) -> None:
    pyogrio.write_dataframe(frame, path, driver="FlatGeobuf", use_arrow=True,
                            layer_options={"SPATIAL_INDEX": "YES"})


def writers(frame: gpd.GeoDataFrame, gpkg: Path, layer: str, storage_crs: str
            ) -> dict[str, Callable[[Path], None]]:
    """Suffix -> writer of that file for this collection."""
    return {
        "csv": lambda p: write_csv(frame, p, storage_crs),
        "geojson": lambda p: write_geojson(frame, p, storage_crs),
        "gpkg": lambda p: write_gpkg(gpkg, p),
        "shp.zip": lambda p: write_shapefile(frame, p, layer),
        "parquet": lambda p: write_parquet(frame, p),
        "fgb": lambda p: write_fgb(frame, p),
    }
