"""pygeoapi feature provider for the published GeoPackages, with plain sqlite3.

Why not pygeoapi's stock providers: SQLiteGPKG needs mod_spatialite, which pyenv Pythons
cannot load, and is slow on large tables (counts, deep offsets, bbox without the R-tree).
This one reads the GeoPackage's own R-tree for bbox queries (exact for points, refined with
shapely for other geometries), pages through a compact fid index (an offset of 900,000 skips
index entries, not rows), decodes GeoPackage geometry blobs with shapely, filters CQL2 in SQL
and never returns a column that is not in the (public) store.

A release is immutable, so it is opened ``immutable=1``. The configured path is the
``current`` symlink: a published new release is picked up by the next request.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import shapely
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
)

from gdi import crs
from gdi.publish import spatial
from gdi.publish.cql import FilterError, to_sql
from gdi.publish.params import BOOLEAN
from gdi.publish.store import Layer, decode, open_layer

_local = threading.local()


def _connection(path: Path) -> tuple[sqlite3.Connection, Layer]:
    """The open store behind a configured path (through ``current``); a newly promoted
    release is opened on the next request and the old one closed."""
    real = path.resolve()
    cache: dict[Path, tuple[Path, sqlite3.Connection, Layer]] = _local.__dict__.setdefault(
        "c", {})
    cached = cache.get(path)
    if cached is None or cached[0] != real:
        if cached is not None:
            cached[1].close()
        con, layer = open_layer(real)
        cache[path] = (real, con, layer)
        return con, layer
    return cached[1], cached[2]


def _count(con: sqlite3.Connection, layer: Layer, where: str, params: list[Any]) -> int:
    """numberMatched; a release never changes, so a count is cached per query."""
    if not where:
        return layer.count
    cache: dict[tuple[Any, ...], int] = _local.__dict__.setdefault("n", {})
    key = (str(layer.path), where, *map(repr, params))
    if key not in cache:
        if len(cache) > 512:
            cache.clear()
        cache[key] = int(con.execute(f'SELECT COUNT(*) FROM "{layer.table}"{where}',
                                     params).fetchone()[0])
    return cache[key]


class GpkgProvider(BaseProvider):
    """Read-only feature provider over one layer of a published GeoPackage."""

    def __init__(self, provider_def: dict[str, Any]) -> None:
        super().__init__(provider_def)
        self.path = Path(self.data)
        _, layer = _connection(self.path)
        self.layer = layer
        titles = (self.options or {}).get("titles", {})
        self._fields = {name: {**spec, **({"title": titles[name]} if name in titles else {})}
                        for name, spec in layer.fields.items()}
        self._booleans = {n for n, f in self._fields.items() if f["type"] == "boolean"}

    @property
    def _geom_sql(self) -> str:
        return f'"{self.layer.geometry}"' if self.layer.geometry else "NULL"

    def get_fields(self) -> dict[str, dict[str, Any]]:
        return self._fields

    def _bbox_sql(self, box: tuple[float, float, float, float]) -> tuple[str, list[Any]]:
        if self.layer.is_table:
            return "0", []  # a table without geometry: no record lies in any box
        minx, miny, maxx, maxy = box
        sql = (f'"fid" IN (SELECT id FROM "{self.layer.rtree}" WHERE minx <= ? AND maxx >= ? '
               f"AND miny <= ? AND maxy >= ?)")
        params: list[Any] = [maxx, minx, maxy, miny]
        if self.layer.is_point:  # the R-tree holds float32 bounds: refine to the exact box
            g = f'"{self.layer.geometry}"'
            sql += f" AND gdi_x({g}) BETWEEN ? AND ? AND gdi_y({g}) BETWEEN ? AND ?"
            params += [minx, maxx, miny, maxy]
        return sql, params

    def _where(self, bbox: list[float], properties: list[tuple[str, str]], q: str | None,
               filterq: Any) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        ext = self.layer.extent
        exact = spatial.exact_bbox(bbox) if bbox else None  # a box in another CRS: its shape
        if bbox and ext and (shapely.contains(shapely.from_wkb(exact), shapely.box(*ext))
                             if exact is not None else
                             bbox[0] <= ext[0] and bbox[1] <= ext[1] and bbox[2] >= ext[2]
                             and bbox[3] >= ext[3]):
            bbox = []  # the box holds the whole layer: no spatial condition needed
        if bbox:
            sql, p = self._bbox_sql((bbox[0], bbox[1], bbox[2], bbox[3]))
            clauses.append(sql)
            params += p
            if exact is not None and not self.layer.is_table:
                clauses.append(f'gdi_spatial("{self.layer.geometry}", ?, ?)')
                params += ["intersects", exact]
        for name, value in properties:
            if name not in self._fields:
                raise ProviderInvalidQueryError(user_msg=f"unknown property {name}")
            clauses.append(f'"{name}" = ?')
            params.append(_typed(value, self._fields[name]["type"]))
        if q:  # each word literally: '%' and '_' are not wildcards
            text = [n for n, f in self._fields.items() if f["type"] == "string"]
            ors = " OR ".join(f"\"{n}\" LIKE ? ESCAPE '\\'" for n in text) or "0"
            for word in q.split(","):
                literal = word.strip().replace("\\", "\\\\").replace("%", "\\%").replace(
                    "_", "\\_")
                clauses.append(f"({ors})")
                params += [f"%{literal}%"] * len(text)
        if filterq is not None:
            try:
                sql, p = to_sql(filterq, set(self._fields), self.layer.geometry or "geometry",
                                self._bbox_sql)
            except FilterError as exc:
                raise ProviderInvalidQueryError(user_msg=f"filter: {exc}") from None
            clauses.append(sql)
            params += p
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def query(self, offset: int = 0, limit: int = 10, resulttype: str = "results",
              bbox: list[float] | None = None, datetime_: str | None = None,
              properties: list[tuple[str, str]] | None = None,
              sortby: list[dict[str, str]] | None = None,
              select_properties: list[str] | None = None, skip_geometry: bool = False,
              q: str | None = None, filterq: Any = None, **kwargs: Any) -> dict[str, Any]:
        con, layer = _connection(self.path)
        where, params = self._where(bbox or [], properties or [], q, filterq)
        exact = layer.is_point or layer.is_table or not bbox
        result: dict[str, Any] = {"type": "FeatureCollection", "features": []}
        if exact:
            result["numberMatched"] = _count(con, layer, where, params)
        if resulttype == "hits":
            result["numberReturned"] = 0
            return result
        cols = [c for c in (select_properties or list(self._fields)) if c in self._fields]
        if self.id_field not in cols:
            cols.insert(0, self.id_field)
        order = self._order(sortby)
        select = ", ".join(f'"{c}"' for c in cols) + (", " if not skip_geometry else "")
        select += "" if skip_geometry else self._geom_sql
        if exact and not where and not sortby and offset > 0 and layer.fid_index:
            # keyset through the compact fid index: skip index entries, not rows
            start = con.execute(f'SELECT fid FROM "{layer.table}" INDEXED BY "{layer.fid_index}"'
                                f" ORDER BY fid LIMIT 1 OFFSET ?", (offset,)).fetchone()
            rows = [] if start is None else con.execute(
                f'SELECT {select} FROM "{layer.table}" WHERE fid >= ? ORDER BY fid LIMIT ?',
                (start[0], limit)).fetchall()
        elif exact:
            rows = con.execute(f'SELECT {select} FROM "{layer.table}"{where}{order} LIMIT ? '
                               f"OFFSET ?", [*params, limit, offset]).fetchall()
        else:
            rows = self._refined(con, select, where, params, order, bbox or [], skip_geometry)
            result["numberMatched"] = len(rows)
            rows = rows[offset:offset + limit]
        spec = kwargs.get("crs_transform_spec")
        result["features"] = [self._feature(r, cols, skip_geometry, spec) for r in rows]
        result["numberReturned"] = len(result["features"])
        return result

    def _refined(self, con: sqlite3.Connection, select: str, where: str, params: list[Any],
                 order: str, bbox: list[float], skip_geometry: bool) -> list[Any]:
        """Non-point layers: the R-tree finds candidates, shapely keeps true intersections."""
        box = shapely.box(*bbox[:4])
        sql = f'SELECT {select}, {self._geom_sql} FROM "{self.layer.table}"{where}{order}'
        return [r[:-1] for r in con.execute(sql, params) if shapely.intersects(decode(r[-1]), box)]

    def _order(self, sortby: list[dict[str, str]] | None) -> str:
        if not sortby:
            return " ORDER BY fid"
        parts = []
        for s in sortby:
            if s["property"] not in self._fields:
                raise ProviderInvalidQueryError(
                    user_msg=f"sortby: unknown property {s['property']}")
            parts.append(f'"{s["property"]}" {"DESC" if s["order"] == "-" else "ASC"}')
        return " ORDER BY " + ", ".join([*parts, "fid"])

    def _feature(self, row: tuple[Any, ...], cols: list[str], skip_geometry: bool,
                 spec: Any = None) -> dict[str, Any]:
        props = dict(zip(cols, row[: len(cols)], strict=True))
        for name in self._booleans.intersection(props):  # GeoPackage stores 0/1
            if props[name] is not None:
                props[name] = bool(props[name])
        geom = None
        if not skip_geometry:
            shape = decode(row[len(cols)])
            if shape is not None and spec is not None:
                # this encoder owns its axis order: authority order unless always_xy is asked
                shape = crs.transform_geometry(shape, spec.source_crs_uri, spec.target_crs_uri,
                                               authority_order=not spec.always_xy)
            geom = None if shape is None else shapely.geometry.mapping(shape)
        return {"type": "Feature", "id": props[self.id_field], "geometry": geom,
                "properties": props}

    def get(self, identifier: str, **kwargs: Any) -> dict[str, Any]:
        con, layer = _connection(self.path)
        cols = list(self._fields)
        sql = ", ".join(f'"{c}"' for c in cols) + f", {self._geom_sql}"
        row = con.execute(f'SELECT {sql} FROM "{layer.table}" WHERE "{self.id_field}" = ?',
                          (str(identifier),)).fetchone()
        if row is None:
            raise ProviderItemNotFoundError(f"item {identifier} not found")
        return self._feature(row, cols, False, kwargs.get("crs_transform_spec"))

    def __repr__(self) -> str:
        return f"<GpkgProvider> {self.data}"


def _typed(value: str, kind: str) -> Any:
    """A property filter's value in the property's type (checked first by the guard,
    gdi.publish.params, which answers 400 with the reason)."""
    try:
        if kind == "integer":
            number = int(value)
            if not -(2**63) <= number < 2**63:
                raise ValueError(value)
            return number
        if kind == "number":
            return float(value)
    except ValueError:
        raise ProviderInvalidQueryError(user_msg=f"'{value}' is not a {kind}") from None
    if kind == "boolean":
        if value.strip().lower() not in BOOLEAN:
            raise ProviderInvalidQueryError(user_msg=f"'{value}' is not a boolean")
        return int(BOOLEAN[value.strip().lower()])
    return value

