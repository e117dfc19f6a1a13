"""Spatial literals of CQL2 filters, in the storage CRS, and their exact evaluation.

pygeoapi hands a parsed filter to :func:`storage_literals` (installed in place of its own
``modify_pygeofilter`` by :mod:`gdi.publish.app`): every spatial literal (a WKT geometry, a
``BBOX(...)`` predicate, a ``BBOX`` or envelope literal) is transformed from the filter CRS
(``filter-crs``, CRS84 by default, in that CRS's axis order: EPSG:4258 is latitude first) to
the collection's storage CRS through :mod:`gdi.crs`, boxes as densified polygons so that a
CRS84 rectangle stays exact. The provider then asks the GeoPackage's R-tree for candidates
and decides each one with shapely (``gdi_spatial``, a SQLite function registered on every
store connection).
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

import numpy as np
import shapely
from pygeofilter import ast, values

from gdi import crs

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
PREDICATES: dict[type, str] = {
    ast.GeometryIntersects: "intersects", ast.GeometryDisjoint: "disjoint",
    ast.GeometryContains: "contains", ast.GeometryWithin: "within",
    ast.GeometryTouches: "touches", ast.GeometryCrosses: "crosses",
    ast.GeometryOverlaps: "overlaps", ast.GeometryEquals: "equals",
}
CONVERSE = {"contains": "within", "within": "contains"}


class SpatialLiteralError(ValueError):
    """A spatial literal that cannot be used (not a geometry, outside the CRS...)."""


def _crs_code(uri: str | None) -> str:
    if not uri:
        return "OGC:CRS84"
    text = str(uri)
    if text.rstrip("/").endswith("CRS84"):
        return "OGC:CRS84"
    if "/EPSG/" in text:
        return f"EPSG:{text.rstrip('/').rsplit('/', 1)[1]}"
    return text


def _box(minx: float, miny: float, maxx: float, maxy: float) -> shapely.Geometry:
    if not (minx <= maxx and miny <= maxy):
        raise SpatialLiteralError("a bbox needs minx <= maxx and miny <= maxy")
    if not all(np.isfinite([minx, miny, maxx, maxy])) or max(map(abs, (minx, miny, maxx, maxy))
                                                            ) > 1e9:
        raise SpatialLiteralError("a bbox needs finite coordinates of the CRS's area")
    box = shapely.box(minx, miny, maxx, maxy)
    step = max(maxx - minx, maxy - miny) / 32
    try:
        return shapely.segmentize(box, step) if step > 0 else box
    except shapely.errors.GEOSException as exc:
        raise SpatialLiteralError(f"a bbox that cannot be used: {exc}") from None


def _to_storage(geom: shapely.Geometry, source: str, storage: str) -> shapely.Geometry:
    if crs.north_first(source):  # the literal is in the CRS's own axis order
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    if crs.parse_crs(source) == crs.parse_crs(storage):
        return geom
    # an edge is straight in the literal's CRS: densify it so that it stays (nearly) that
    # line in the storage CRS (1/64 of the literal's size: millimetres at city scale)
    x0, y0, x1, y1 = geom.bounds
    step = max(x1 - x0, y1 - y0) / 64
    if step > 0 and shapely.get_type_id(geom) not in (0, 4):
        try:
            geom = shapely.segmentize(geom, step)
        except shapely.errors.GEOSException as exc:
            raise SpatialLiteralError(f"a geometry literal that cannot be used: {exc}") from None
    out = shapely.transform(geom, lambda c: np.column_stack(
        crs.transform_xy(c[:, 0], c[:, 1], source, storage)))
    if not np.isfinite(shapely.get_coordinates(out)).all():
        raise SpatialLiteralError(f"a spatial literal lies outside the area of {source}")
    return out


def _literal(node: Any, source: str, storage: str) -> Any:
    """A spatial literal as a ``values.Geometry`` in the storage CRS (other nodes as they are)."""
    if isinstance(node, values.Geometry):
        named = node.geometry.get("crs", {}).get("properties", {}).get("name")
        geom = shapely.geometry.shape(node.geometry)
        out = _to_storage(geom, _crs_code(named) if named else source, storage)
    elif isinstance(node, values.Envelope):  # pygeofilter's JSON parser: x1, x2 = minx, miny
        out = _to_storage(_box(node.x1, node.x2, node.y1, node.y2), source, storage)
    elif isinstance(node, ast.Function) and node.name.lower() == "bbox" and \
            len(node.arguments) in (4, 6):
        a = [float(v) for v in node.arguments]
        box = (a[0], a[1], a[2], a[3]) if len(a) == 4 else (a[0], a[1], a[3], a[4])
        out = _to_storage(_box(*box), source, storage)
    else:
        return node
    return values.Geometry(dict(shapely.geometry.mapping(out)))


def _walk(node: Any, source: str, storage: str) -> Any:
    if isinstance(node, ast.BBox):  # BBOX(geometry, ...) predicate: intersects a box
        box = _box(node.minx, node.miny, node.maxx, node.maxy)
        geom = _to_storage(box, _crs_code(node.crs) if node.crs else source, storage)
        return ast.GeometryIntersects(_walk(node.lhs, source, storage),
                                      values.Geometry(dict(shapely.geometry.mapping(geom))))
    if type(node) in PREDICATES:
        return type(node)(_literal(node.lhs, source, storage),
                          _literal(node.rhs, source, storage))
    if isinstance(node, ast.And | ast.Or):
        return type(node)(_walk(node.lhs, source, storage), _walk(node.rhs, source, storage))
    if isinstance(node, ast.Not):
        return ast.Not(_walk(node.sub_node, source, storage))
    return node


def storage_literals(ast_tree: Any, *, filter_crs_uri: str | None = None,
                     storage_crs_uri: str | None = None,
                     geometry_column_name: str | None = None) -> Any:
    """pygeoapi's ``modify_pygeofilter`` contract: the filter with its spatial literals in
    the storage CRS."""
    if not storage_crs_uri:
        return ast_tree
    return _walk(ast_tree, _crs_code(filter_crs_uri or CRS84), _crs_code(storage_crs_uri))


@functools.lru_cache(maxsize=64)
def _prepared(wkb: bytes) -> shapely.Geometry:
    geom = shapely.from_wkb(wkb)
    shapely.prepare(geom)
    return geom


def evaluate(feature: Any, predicate: str, literal_wkb: bytes) -> int:
    """``predicate(feature, literal)`` as 0/1 (the SQLite function ``gdi_spatial``)."""
    if feature is None:
        return 0
    return int(getattr(shapely, predicate)(feature, _prepared(literal_wkb)))


# The exact shape of the request's ``bbox`` parameter in the storage CRS: pygeoapi hands the
# provider only an envelope, which for a CRS84 box in UTM covers more than the box.
_exact_bbox: contextvars.ContextVar[tuple[tuple[float, ...], bytes] | None] = \
    contextvars.ContextVar("gdi_exact_bbox", default=None)


def reset_request() -> None:
    """Forget the previous request's box (the guard calls it for every request)."""
    _exact_bbox.set(None)


def bbox_to_storage(bbox: list[float], source: str, target: str) -> list[float]:
    """The envelope pygeoapi wants, and the exact box kept for the provider."""
    src, dst = _crs_code(source), _crs_code(target)
    x0, y0, x1, y1 = bbox[0], bbox[1], bbox[2], bbox[3]
    if crs.north_first(src):  # given in the CRS's axis order: (lat, lon) boxes for EPSG:4258
        x0, y0, x1, y1 = y0, x0, y1, x1
        shape = _to_storage(shapely.transform(_box(x0, y0, x1, y1), lambda c: c[:, ::-1]), src,
                            dst)
    else:
        shape = _to_storage(_box(x0, y0, x1, y1), src, dst)
    envelope = list(shape.bounds)
    if not all(np.isfinite(envelope)):
        raise SpatialLiteralError(f"the box lies outside the area of {src}")
    _exact_bbox.set((tuple(envelope), shapely.to_wkb(shape)))
    return envelope


def exact_bbox(envelope: list[float]) -> bytes | None:
    """The exact box (WKB, storage CRS) behind an envelope of this request, if any."""
    kept = _exact_bbox.get()
    if kept is not None and kept[0] == tuple(envelope[:4]):
        return kept[1]
    return None
