"""The one vector I/O adapter: every read and write of vector files goes through pyogrio here.

Reading returns a :class:`RawTable`: the source attributes exactly as text (nothing parsed, so
cleaning sees the mess and can report it), the geometry, the record numbers, and what was
learned about the file (encoding and how it was decided).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyogrio.errors import DataSourceError

from gdi import integrity
from gdi.descriptor import SourceSpec
from gdi.encoding import check_declared, dbf_record_bytes, detect, normalise_name
from gdi.errors import SourceEncodingError, SourceError

_DBF_TYPED_HEADER = re.compile(r"^\s*([^,]+),[CNDLF](,\d+){1,2}\s*$")


@dataclass(frozen=True)
class RawTable:
    path: Path
    attributes: pd.DataFrame  # Arrow strings, values as read (NA where empty)
    geometry: np.ndarray  # shapely geometries (None where missing), in the source CRS
    record: np.ndarray  # 1-based record numbers in file order
    encoding: str
    encoding_origin: str  # ".cpg", "descriptor", "detected"
    source_date: str
    notes: list[str] = field(default_factory=list)
    geometry_notes: dict[int, str] = field(default_factory=dict)  # row index -> repair note
    file_crs: str | None = None  # what the file says of its CRS (.prj, srs, crs member)

    def __len__(self) -> int:
        return len(self.record)


def read_source(spec: SourceSpec) -> RawTable:
    path = spec.path
    if not path.exists():
        raise SourceError(
            f"{path}: source file not found", hint="check source.path in the descriptor"
        )
    readers = {"shapefile": _read_shapefile, "csv": _read_csv, "citygml": _read_citygml}
    table = readers.get(spec.format, _read_generic)(spec)
    if len(table) == 0:
        raise SourceError(
            f"{path}: the source holds zero records", hint="check the export; nothing published"
        )
    return table


def _mtime(path: Path) -> str:
    ts = path.stat().st_mtime
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).replace(microsecond=0).isoformat()


def _ogr_read(path: Path, **kwargs: Any) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Attributes (Arrow-typed) and the geometry as WKB (None for a table without geometry)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, table = pyogrio.read_arrow(path, **kwargs)
    except DataSourceError as exc:
        raise SourceError(f"{path}: not a readable vector file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SourceEncodingError(
            f"{path}: bytes do not decode as {kwargs.get('encoding') or 'UTF-8'}: {exc.reason}",
            hint="set source.encoding in the descriptor to the export's code page",
        ) from None
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    wkb = None
    if geom_col in table.column_names:
        wkb = np.asarray(table.column(geom_col).to_pylist(), dtype=object)
        table = table.drop_columns([geom_col])
    attrs = table.to_pandas(types_mapper=pd.ArrowDtype)
    return attrs, wkb


def _geometries(wkb: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Shapely geometries; a geometry GEOS cannot build as written (a ring not closed) is
    repaired by closing it, and noted, so cleaning can report it."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    missing = np.array([g is None for g in geoms], dtype=bool)
    given = np.array([b is not None for b in wkb], dtype=bool)
    broken = np.flatnonzero(missing & given)
    notes: dict[int, str] = {}
    if len(broken):
        fixed = shapely.from_wkb(wkb[broken], on_invalid="fix")
        for i, g in zip(broken.tolist(), fixed, strict=True):
            geoms[i] = g
            notes[i] = ("ring not closed; closed when read" if g is not None
                        else "geometry not readable")
    return np.asarray(geoms, dtype=object), notes


_ARROW_STR = pd.ArrowDtype(pa.string())


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every attribute as text (Arrow strings), exactly as a person would read it in the file:
    integral floats without '.0', dates as ISO."""
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s.dtype):
            arr = s.to_numpy(dtype=float, na_value=np.nan)
            whole = np.isfinite(arr) & (np.floor(arr) == arr) & (np.abs(arr) < 2**53)
            text = s.astype(_ARROW_STR)
            text[whole] = pd.Series(arr[whole].astype(np.int64), index=s.index[whole]).astype(
                _ARROW_STR)
            out[col] = text
        elif pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = s.dt.strftime("%Y-%m-%d").astype(_ARROW_STR)
        else:
            out[col] = s.astype(_ARROW_STR)
    return pd.DataFrame(out, index=df.index)


def _file_crs(path: Path, layer: str | None = None) -> str | None:
    try:
        info = pyogrio.read_info(path, layer=layer)
    except DataSourceError:
        return None
    return info.get("crs") or None


def _finish(path: Path, attrs: pd.DataFrame, geometry: np.ndarray,
            geometry_notes: dict[int, str], enc: str, origin: str, notes: list[str],
            file_crs: str | None = None) -> RawTable:
    attrs = _as_text(attrs).reset_index(drop=True)
    return RawTable(
        path=path,
        attributes=attrs,
        geometry=geometry,
        record=np.arange(1, len(attrs) + 1),
        encoding=enc,
        encoding_origin=origin,
        source_date=_mtime(path),
        notes=notes,
        geometry_notes=geometry_notes,
        file_crs=file_crs,
    )


def _read_shapefile(spec: SourceSpec) -> RawTable:
    path = spec.path
    cpg = path.with_suffix(".cpg")
    dbf = path.with_suffix(".dbf")
    if not dbf.exists():
        raise SourceError(f"{path}: the .dbf beside the shapefile is missing")
    records = integrity.dbf(dbf)
    integrity.shapefile(path, records)
    sample = dbf_record_bytes(dbf)
    if cpg.exists():
        enc, origin = normalise_name(cpg.read_text(errors="replace").strip()), ".cpg"
    elif spec.encoding != "auto":
        enc, origin = normalise_name(spec.encoding), "descriptor"
    else:
        enc, origin = detect(sample), "detected"
    check_declared(sample, enc, where=f"{dbf} (encoding from {origin})")
    attrs, wkb = _ogr_read(path, encoding=enc)
    if len(attrs) != records:
        raise SourceError(f"{dbf}: the header announces {records:,} records, {len(attrs):,} "
                          "were read", hint=integrity.CUT)
    geom, geom_notes = _geometries(wkb if wkb is not None else np.full(len(attrs), None))
    return _finish(path, attrs, geom, geom_notes, enc, origin, [], _file_crs(path))


def _read_generic(spec: SourceSpec) -> RawTable:
    # GeoJSON (RFC 7946) and GeoPackage (SQLite text) are UTF-8, nothing else
    declared = normalise_name(spec.encoding) if spec.encoding != "auto" else "utf-8"
    if declared != "utf-8":
        name = "GeoJSON" if spec.format == "geojson" else "a GeoPackage"
        raise SourceEncodingError(
            f"{spec.path}: source.encoding says {declared}, but {name} is always UTF-8"
            + (" (RFC 7946)" if spec.format == "geojson" else ""),
            hint="remove source.encoding" + (", and save the export as UTF-8"
                                             if spec.format == "geojson" else ""))
    if spec.format == "geojson":
        raw = spec.path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SourceEncodingError(
                f"{spec.path}: GeoJSON must be UTF-8 (RFC 7946), but byte "
                f"0x{raw[exc.start]:02x} at {exc.start} is not; the text reads as "
                f"{detect(raw)}", hint="save the export as UTF-8") from None
    attrs, wkb = _ogr_read(spec.path, layer=spec.layer)
    geom, geom_notes = _geometries(wkb if wkb is not None else np.full(len(attrs), None))
    return _finish(spec.path, attrs, geom, geom_notes, "utf-8", "format", [],
                   _file_crs(spec.path, spec.layer))


def _read_citygml(spec: SourceSpec) -> RawTable:
    """AdV CityGML (a file or a folder of tiles): one record per solid-bearing object (a
    building without parts, or each part) with its ground surfaces as the footprint, and the
    columns gml_id, building_id, file, function, roof_type, measured_height, ground_z and
    every generic attribute (gdi.city3d.citygml_read)."""
    from gdi.city3d import citygml_read

    path = spec.path
    files = sorted(path.glob("*.gml")) if path.is_dir() else [path]
    parts = list(citygml_read.read_folder(path) if path.is_dir()
                 else citygml_read.read_tile(path))
    if not parts:
        raise SourceError(f"{path}: no building in the CityGML")
    if spec.layer == "buildings":  # one record per Building: its parts' ground surfaces
        parts = citygml_read.whole_buildings(parts)
    elif spec.layer not in (None, "parts"):
        raise SourceError(f"{path}: layer '{spec.layer}' of a CityGML source is 'parts' "
                          "(a record per solid: the default) or 'buildings'")
    rows = [{"gml_id": p.id, "building_id": p.building_id, "file": p.file,
             "function": p.function, "roof_type": p.roof_type,
             "measured_height": None if p.measured_height is None else repr(p.measured_height),
             "ground_z": None if p.ground_z is None else repr(p.ground_z), **p.attributes}
            for p in parts]
    attrs = pd.DataFrame(rows).astype(object)
    attrs = attrs.where(attrs.notna(), None)
    geometry = np.array([p.footprint for p in parts], dtype=object)
    notes = sorted({f"{p.id}: {m}" for p in parts for m in p.problems})[:50]
    horizontal, vertical = citygml_read.crs_of(files[0])
    latest = max(files, key=lambda f: f.stat().st_mtime)
    table = _finish(latest, attrs, geometry, {}, "utf-8", "format",
                    [f"{len(files)} CityGML file(s), heights {vertical or 'not given'}",
                     *notes], horizontal)
    return dataclasses.replace(table, path=path)


def _read_csv(spec: SourceSpec) -> RawTable:
    assert spec.csv is not None  # guaranteed by the descriptor model
    path = spec.path
    raw = path.read_bytes()
    notes: list[str] = []
    if raw.startswith(b"\xef\xbb\xbf"):
        enc, origin = "utf-8", "BOM"
    elif spec.encoding != "auto":
        enc, origin = normalise_name(spec.encoding), "descriptor"
    else:
        enc, origin = detect(raw[: 4 << 20]), "detected"
    check_declared(raw[: 4 << 20], enc, where=f"{path} (encoding from {origin})")
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise SourceEncodingError(f"{path}: bytes are not {enc} (byte 0x{raw[exc.start]:02x} "
                                  f"at {exc.start})", hint="set source.encoding") from None
    delimiter = integrity.csv_text(path, text, spec.csv.delimiter)
    opts = {
        "SEPARATOR": {";": "SEMICOLON", ",": "COMMA", "\t": "TAB"}[delimiter],
        "AUTODETECT_TYPE": "NO",
        "KEEP_GEOM_COLUMNS": "YES",
        "HEADERS": "YES",
    }
    if enc == "utf-8":
        gdf, _ = _ogr_read(path, **{"open_options": opts})
    else:  # GDAL's Arrow reader takes UTF-8 only: read a UTF-8 copy of the checked text
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / path.name
            copy.write_text(text.lstrip("\ufeff"), encoding="utf-8")
            gdf, _ = _ogr_read(copy, **{"open_options": opts})
    renamed = {}
    for col in gdf.columns:
        m = _DBF_TYPED_HEADER.match(str(col))
        if m:
            renamed[col] = m.group(1).strip()
    if renamed:
        notes.append(
            f"header carries DBF field types; names taken before the comma ({len(renamed)})")
        gdf = gdf.rename(columns=renamed)
    geom = np.full(len(gdf), None, dtype=object)
    if spec.csv.x is not None and spec.csv.y is not None:
        for col in (spec.csv.x, spec.csv.y):
            if col not in gdf.columns:
                raise SourceError(
                    f"{path}: coordinate column '{col}' not found",
                    hint=f"columns are: {', '.join(map(str, gdf.columns))}",
                )
        x = _parse_decimal(gdf[spec.csv.x], spec.csv.decimal)
        y = _parse_decimal(gdf[spec.csv.y], spec.csv.decimal)
        ok = np.isfinite(x) & np.isfinite(y)
        geom[ok] = shapely.points(x[ok], y[ok])
    return _finish(path, gdf, geom, {}, enc, origin, notes)


def _parse_decimal(s: pd.Series, decimal: str) -> np.ndarray:
    text = s.astype("string").str.strip()
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def write_gpkg(frame: pd.DataFrame, path: Path, layer: str) -> None:
    """Write a GeoPackage 1.2 layer (readable by Debian's GDAL 3.6): with an R-tree index for
    a GeoDataFrame, an attributes table for a plain DataFrame."""
    spatial = isinstance(frame, gpd.GeoDataFrame)
    pyogrio.write_dataframe(
        frame,
        path,
        layer=layer,
        driver="GPKG",
        use_arrow=True,
        dataset_options={"VERSION": "1.2"},
        layer_options={"FID": "fid", **({"SPATIAL_INDEX": "YES"} if spatial else {})},
    )


def write_shapefile(gdf: gpd.GeoDataFrame, path: Path, *, encoding: str, with_cpg: bool) -> None:
    """Write a Shapefile in a given DBF code page (sample data and open-data extracts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding=encoding)
    cpg = path.with_suffix(".cpg")
    if not with_cpg and cpg.exists():
        cpg.unlink()
