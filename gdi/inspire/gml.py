"""Encode a compiled plan as INSPIRE GML 3.2 in a WFS 2.0 ``wfs:FeatureCollection``.

Built with lxml, streamed member by member (``etree.xmlfile``) so a million features need no
document in memory. This encoder owns its axis order: EPSG:25832 is written easting, northing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from lxml import etree

from gdi.inspire.plan import VOID_BASE, Plan, Step, codelist_uri

GML = "http://www.opengis.net/gml/3.2"
WFS = "http://www.opengis.net/wfs/2.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
BASE = "http://inspire.ec.europa.eu/schemas/base/3.3"
WFS_XSD = "http://schemas.opengis.net/wfs/2.0/wfs.xsd"
SRS = "http://www.opengis.net/def/crs/EPSG/0/25832"
_NIL = f"{{{XSI}}}nil"
_HREF = f"{{{XLINK}}}href"
_GID = f"{{{GML}}}id"


def schema_imports(plan: Plan) -> list[tuple[str, str]]:
    return [(WFS, WFS_XSD), (plan.feature.ns, plan.feature.schema_url)]


def _text(value: Any, simple: str | None) -> str:
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if simple in {"integer", "int", "long"}:
        return str(int(value))
    return str(value)


def _geometry(parent: etree._Element, geom: Any, gid: str) -> None:
    kind = shapely.get_type_id(geom)
    if kind == 0:  # Point
        pt = etree.SubElement(parent, f"{{{GML}}}Point", {_GID: gid, "srsName": SRS,
                                                           "srsDimension": "2"})
        etree.SubElement(pt, f"{{{GML}}}pos").text = f"{geom.x:.3f} {geom.y:.3f}"
        return
    polys = list(geom.geoms) if kind == 6 else [geom]
    ms = etree.SubElement(parent, f"{{{GML}}}MultiSurface", {_GID: gid, "srsName": SRS,
                                                              "srsDimension": "2"})
    for i, poly in enumerate(polys):
        member = etree.SubElement(ms, f"{{{GML}}}surfaceMember")
        pg = etree.SubElement(member, f"{{{GML}}}Polygon", {_GID: f"{gid}.{i}"})
        for j, ring in enumerate([poly.exterior, *poly.interiors]):
            tag = "exterior" if j == 0 else "interior"
            lr = etree.SubElement(etree.SubElement(pg, f"{{{GML}}}{tag}"), f"{{{GML}}}LinearRing")
            etree.SubElement(lr, f"{{{GML}}}posList").text = " ".join(
                f"{x:.3f} {y:.3f}" for x, y in ring.coords)


class _Encoder:
    def __init__(self, plan: Plan, namespace: str) -> None:
        self.plan = plan
        self.ns = plan.feature.ns
        self.namespace = namespace

    def q(self, step: Step) -> str:
        return f"{{{step.prop.ns}}}{step.prop.name}"

    def void(self, parent: etree._Element, step: Step, reason: str) -> None:
        etree.SubElement(parent, self.q(step), {_NIL: "true", "nilReason": VOID_BASE + reason})

    def steps(self, parent: etree._Element, steps: tuple[Step, ...], rec: dict[str, Any]) -> None:
        for st in steps:
            if st.mapping is None:
                obj_ns, obj_name = st.prop.object_element or (self.ns, st.prop.name)
                el = etree.SubElement(parent, self.q(st))
                self.steps(etree.SubElement(el, f"{{{obj_ns}}}{obj_name}"), st.children, rec)
                continue
            self.leaf(parent, st, rec)

    def leaf(self, parent: etree._Element, st: Step, rec: dict[str, Any]) -> None:
        m = st.mapping
        assert m is not None
        op = m.operation
        if op == "omit":
            return
        if op == "void":
            self.void(parent, st, m.void or "Unknown")
            return
        if op == "identifier":
            ident = etree.SubElement(etree.SubElement(parent, self.q(st)), f"{{{BASE}}}Identifier")
            etree.SubElement(ident, f"{{{BASE}}}localId").text = rec["local_id"]
            etree.SubElement(ident, f"{{{BASE}}}namespace").text = self.namespace
            return
        if op == "geometry":
            _geometry(etree.SubElement(parent, self.q(st)), rec["__geometry"], rec["__gid"] + ".g")
            return
        if op == "lifespan":
            value: Any = rec["begin_lifespan"]
        elif op == "value":
            value = codelist_uri(m.codelist, str(m.value)) if m.codelist else m.value
        else:
            value = rec.get(st.path)
        if value is None:
            if m.nil_reason_if_missing:
                etree.SubElement(parent, self.q(st), nilReason=VOID_BASE + m.nil_reason_if_missing)
            elif st.prop.nillable:
                self.void(parent, st, m.void_if_missing)
            return  # optional and absent (required ones were excluded before encoding)
        if st.prop.kind == "reference":
            etree.SubElement(parent, self.q(st), {_HREF: str(value)})
        else:
            etree.SubElement(parent, self.q(st)).text = _text(value, st.prop.simple_type)

    def feature(self, rec: dict[str, Any]) -> etree._Element:
        ft = self.plan.feature
        el = etree.Element(f"{{{ft.ns}}}{ft.name}", {_GID: rec["__gid"]},
                           nsmap={ft.prefix: ft.ns, "gml": GML, "base": BASE, "xlink": XLINK,
                                  "xsi": XSI})
        self.steps(el, self.plan.steps, rec)
        return el


def _records(data: pd.DataFrame, values: pd.DataFrame, geometry: np.ndarray, prefix: str
             ) -> Iterator[dict[str, Any]]:
    cols = ["local_id", "begin_lifespan"]
    base = data[cols].to_dict("records")
    leaf = values.to_dict("records") if len(values.columns) else [{}] * len(base)
    for b, lv, g in zip(base, leaf, geometry, strict=True):
        rec = {**b, **lv, "__geometry": g, "__gid": f"{prefix}.{b['local_id']}"}
        yield rec


def write_collection(path: Path, plan: Plan, data: pd.DataFrame, values: pd.DataFrame,
                     geometry: np.ndarray, *, namespace: str, gml_prefix: str,
                     progress: Any = None) -> int:
    """Write the members; ``data``/``values``/``geometry`` hold only encodable records."""
    enc = _Encoder(plan, namespace)
    n = len(data)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    locations = " ".join(f"{ns} {loc}" for ns, loc in schema_imports(plan))
    nsmap = {"wfs": WFS, "gml": GML, "xsi": XSI, plan.feature.prefix: plan.feature.ns,
             "base": BASE, "xlink": XLINK}
    attrs = {"timeStamp": stamp, "numberMatched": str(n), "numberReturned": str(n),
             f"{{{XSI}}}schemaLocation": locations}
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{WFS}}}FeatureCollection", attrs, nsmap=nsmap):
            for rec in _records(data, values, geometry, gml_prefix):
                member = etree.Element(f"{{{WFS}}}member")
                member.append(enc.feature(rec))
                xf.write(member)
                if progress is not None:
                    progress.update(1)
    return n
