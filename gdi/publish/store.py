"""The published GeoPackage as a store: indexes added at publication, layer facts for serving.

Plain sqlite3 (no SpatiaLite): the R-tree of a GeoPackage is an ordinary SQLite virtual table.
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from gdi.errors import PublicationError
from gdi.publish.spatial import evaluate

_TYPES = {"INTEGER": ("integer", None), "INT": ("integer", None), "MEDIUMINT": ("integer", None),
          "SMALLINT": ("integer", None), "TINYINT": ("integer", None),
          "REAL": ("number", None), "DOUBLE": ("number", None), "FLOAT": ("number", None),
          "BOOLEAN": ("boolean", None), "DATE": ("string", "date"),
          "DATETIME": ("string", "date-time")}


@dataclass(frozen=True)
class Layer:
    path: Path  # the release's file (releases are immutable)
    table: str
    geometry: str | None  # None: a table without geometry
    geometry_type: str
    srs_id: int
    rtree: str | None
    fid_index: str | None  # compact index for deep offsets (None in releases without it)
    count: int
    extent: tuple[float, float, float, float] | None
    fields: dict[str, dict[str, Any]]

    @property
    def is_point(self) -> bool:
        return self.geometry_type.upper() == "POINT"

    @property
    def is_table(self) -> bool:
        return self.geometry is None


def finalize(path: Path, table: str, id_field: str) -> None:
    """Add the indexes the provider relies on: unique ids, compact fid order."""
    con = sqlite3.connect(path)
    try:
        con.execute(f'CREATE UNIQUE INDEX "{table}_{id_field}_idx" ON "{table}"("{id_field}")')
        con.execute(f'CREATE INDEX "{table}_fid_idx" ON "{table}"(fid)')
        con.execute("ANALYZE")
        con.commit()
    except sqlite3.IntegrityError:
        raise PublicationError(f"{path.name}: {id_field} is not unique") from None
    finally:
        con.close()


ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def wkb_start(blob: bytes) -> int:
    """Where the WKB starts in a GeoPackage geometry blob (after header and envelope)."""
    return 8 + ENVELOPE_BYTES.get((blob[3] >> 1) & 0x07, 0)


def decode(blob: bytes | None) -> Any:
    """A GeoPackage geometry blob as a shapely geometry."""
    return None if blob is None else shapely.from_wkb(blob[wkb_start(blob):])


def blob_xy(blob: bytes | None, axis: int) -> float | None:
    """x (axis 0) or y (axis 1) of a GeoPackage point blob, for exact bbox checks in SQL."""
    if blob is None or len(blob) < 29:
        return None
    start = wkb_start(blob)
    order = "<" if blob[start] == 1 else ">"
    if struct.unpack_from(f"{order}I", blob, start + 1)[0] % 1000 != 1:
        return None  # not a point
    return float(struct.unpack_from(f"{order}d", blob, start + 5 + 8 * axis)[0])


def open_layer(path: Path) -> tuple[sqlite3.Connection, Layer]:
    if not path.is_file():
        raise PublicationError(f"published store {path} not found")
    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                          check_same_thread=False)
    con.create_function("gdi_x", 1, lambda b: blob_xy(b, 0), deterministic=True)
    con.create_function("gdi_y", 1, lambda b: blob_xy(b, 1), deterministic=True)
    con.create_function("gdi_spatial", 3, lambda b, op, wkb: evaluate(decode(b), op, wkb),
                        deterministic=True)
    table, minx, miny, maxx, maxy = con.execute(
        "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents "
        "WHERE data_type IN ('features', 'attributes')").fetchone()
    row = con.execute("SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns"
                      " WHERE table_name = ?", (table,)).fetchone()
    geom, gtype, srs = row if row else (None, "NONE", 0)
    count = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    fields: dict[str, dict[str, Any]] = {}
    for _, name, decl, *_ in con.execute(f'PRAGMA table_info("{table}")'):
        if name in {"fid", geom}:
            continue
        kind, fmt = _TYPES.get(str(decl).upper().split("(")[0], ("string", None))
        fields[name] = {"type": kind, **({"format": fmt} if fmt else {})}
    fid_index = con.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = ?",
                            (f"{table}_fid_idx",)).fetchone()
    extent = (minx, miny, maxx, maxy) if None not in (minx, miny, maxx, maxy) else None
    layer = Layer(path, table, geom, gtype, int(srs), f"rtree_{table}_{geom}" if geom else None,
                  fid_index[0] if fid_index else None, int(count), extent, fields)
    return con, layer
