"""CQL2 (pygeofilter AST) to a parameterised SQLite WHERE clause.

Only the public columns of a collection may be named; anything else, and any operator not
supported here, raises :class:`FilterError`, which the provider turns into HTTP 400. A filter
is never silently ignored. Values are always bound as parameters, never spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pygeofilter import ast, values

from gdi.errors import GdiError


class FilterError(GdiError, ValueError):
    """A filter names an unknown property or uses an unsupported operator."""


_CMP = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
        ast.GreaterThan: ">", ast.GreaterEqual: ">="}


class _Translator:
    def __init__(self, columns: set[str], geometry: str,
                 bbox_sql: Callable[[tuple[float, float, float, float]], tuple[str, list[Any]]]
                 ) -> None:
        self.columns = columns
        self.geometry = geometry
        self.bbox_sql = bbox_sql
        self.params: list[Any] = []

    def attr(self, node: Any) -> str:
        if not isinstance(node, ast.Attribute):
            raise FilterError("the left side of a comparison must be a property name")
        if node.name not in self.columns:
            raise FilterError(f"unknown property '{node.name}'")
        return f'"{node.name}"'

    def value(self, v: Any) -> str:
        if isinstance(v, ast.Node | values.Geometry | values.Envelope):
            raise FilterError("only literal values are supported on the right side")
        if isinstance(v, dt.datetime | dt.date):
            v = v.isoformat()
        self.params.append(v)
        return "?"

    def envelope(self, node: Any) -> tuple[float, float, float, float]:
        if isinstance(node, values.Envelope):
            return (node.x1, node.y1, node.x2, node.y2)
        if isinstance(node, values.Geometry):
            ring = node.geometry.get("coordinates", [[]])[0]
            xs, ys = [c[0] for c in ring], [c[1] for c in ring]
            box = {(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))}
            if node.geometry.get("type") == "Polygon" and {tuple(c) for c in ring} == box:
                return (min(xs), min(ys), max(xs), max(ys))
        raise FilterError("spatial filters support BBOX or S_INTERSECTS with a rectangle")

    def spatial(self, lhs: Any, box: tuple[float, float, float, float]) -> str:
        if not isinstance(lhs, ast.Attribute) or lhs.name not in {self.geometry, "geometry"}:
            raise FilterError("a spatial predicate needs the geometry property")
        sql, params = self.bbox_sql(box)
        self.params.extend(params)
        return sql

    def __call__(self, node: Any) -> str:
        if isinstance(node, ast.And | ast.Or):
            op = "AND" if isinstance(node, ast.And) else "OR"
            return f"({self(node.lhs)} {op} {self(node.rhs)})"
        if isinstance(node, ast.Not):
            return f"(NOT {self(node.sub_node)})"
        if type(node) in _CMP:
            return f"{self.attr(node.lhs)} {_CMP[type(node)]} {self.value(node.rhs)}"
        if isinstance(node, ast.Between):
            neg = "NOT " if node.not_ else ""
            return (f"{self.attr(node.lhs)} {neg}BETWEEN {self.value(node.low)} AND "
                    f"{self.value(node.high)}")
        if isinstance(node, ast.Like):
            pattern = node.pattern.replace(node.singlechar, "_") if node.singlechar != "_" \
                else node.pattern
            neg = "NOT " if node.not_ else ""
            return f"{self.attr(node.lhs)} {neg}LIKE {self.value(pattern)} ESCAPE '\\'"
        if isinstance(node, ast.In):
            neg = "NOT " if node.not_ else ""
            items = ", ".join(self.value(v) for v in node.sub_nodes)
            return f"{self.attr(node.lhs)} {neg}IN ({items})"
        if isinstance(node, ast.IsNull):
            return f"{self.attr(node.lhs)} IS {'NOT ' if node.not_ else ''}NULL"
        if isinstance(node, ast.BBox):
            return self.spatial(node.lhs, (node.minx, node.miny, node.maxx, node.maxy))
        if isinstance(node, ast.GeometryIntersects):
            return self.spatial(node.lhs, self.envelope(node.rhs))
        if isinstance(node, ast.Include):
            return "0" if node.not_ else "1"
        raise FilterError(f"unsupported filter operation {type(node).__name__}")


def to_sql(node: Any, columns: set[str], geometry: str,
           bbox_sql: Callable[[tuple[float, float, float, float]], tuple[str, list[Any]]]
           ) -> tuple[str, list[Any]]:
    t = _Translator(columns, geometry, bbox_sql)
    return t(node), t.params
