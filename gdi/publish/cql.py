"""CQL2 (pygeofilter AST) to a parameterised SQLite WHERE clause.

Only the public columns of a collection may be named; anything else, and any operator not
supported here, raises :class:`FilterError`, which the provider turns into HTTP 400. A filter
is never silently ignored. Values are always bound as parameters, never spliced into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import shapely
from pygeofilter import ast, values

from gdi.errors import GdiError
from gdi.publish.spatial import CONVERSE, PREDICATES


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
        if isinstance(v, bool):
            v = int(v)
        elif isinstance(v, int) and not -(2**63) <= v < 2**63:
            raise FilterError(f"the integer {v} is out of range (64 bits)")
        elif isinstance(v, float) and v != v:
            raise FilterError("NaN is not a value")
        if isinstance(v, dt.datetime | dt.date):
            v = v.isoformat()
        self.params.append(v)
        return "?"

    def spatial(self, node: Any) -> str:
        """A spatial predicate between the geometry property and a literal (already in the
        storage CRS, see gdi.publish.spatial): R-tree candidates, decided exactly."""
        predicate = PREDICATES[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if isinstance(lhs, values.Geometry) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            predicate = CONVERSE.get(predicate, predicate)
        if not isinstance(lhs, ast.Attribute) or lhs.name not in {self.geometry, "geometry"}:
            raise FilterError("a spatial predicate compares the geometry property with a "
                              "geometry literal")
        if not isinstance(rhs, values.Geometry):
            raise FilterError("the second argument of a spatial predicate must be a geometry "
                              "literal (WKT, or BBOX(minx, miny, maxx, maxy))")
        try:
            literal = shapely.geometry.shape(rhs.geometry)
        except (ValueError, TypeError, AttributeError) as exc:
            raise FilterError(f"not a valid geometry literal: {exc}") from None
        if literal.is_empty or not literal.is_valid:
            raise FilterError("the geometry literal is empty or not valid")
        g = f'"{self.geometry}"'
        check = f"gdi_spatial({g}, ?, ?)"
        if predicate == "disjoint":
            self.params += ["intersects", shapely.to_wkb(literal)]
            return f"({g} IS NOT NULL AND NOT {check})"
        sql, params = self.bbox_sql(tuple(literal.bounds))
        self.params.extend(params)
        self.params += [predicate, shapely.to_wkb(literal)]
        return f"({sql} AND {check})"

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
        if type(node) in PREDICATES:
            return self.spatial(node)
        if isinstance(node, ast.Include):
            return "0" if node.not_ else "1"
        raise FilterError(f"unsupported filter operation {type(node).__name__}")


def to_sql(node: Any, columns: set[str], geometry: str,
           bbox_sql: Callable[[tuple[float, float, float, float]], tuple[str, list[Any]]]
           ) -> tuple[str, list[Any]]:
    t = _Translator(columns, geometry, bbox_sql)
    return t(node), t.params
