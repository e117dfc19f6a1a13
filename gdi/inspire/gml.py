"""Encode a compiled plan as INSPIRE GML 3.2 in a WFS 2.0 ``wfs:FeatureCollection``.

Built with lxml and streamed (``etree.xmlfile``). For speed at a million features, the member
element is built once per plan as a *template*: constant parts (assigned values, code list
values, voids) exist once; for each record only the variable leaves are set (text, href, nil
attributes), leaves absent for that record are detached, the geometry is rebuilt, and the
member is serialised, once per CRS the file is offered in (the values are set once, the
geometry per CRS: one pass writes every download CRS's file). This encoder owns its axis
order: each CRS's authority order, so EPSG:25832 is easting, northing and EPSG:4258 latitude,
longitude.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from lxml import etree

from gdi.inspire.plan import MULTI_SEP, VOID_BASE, Plan, Step

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
    if simple in {"integer", "int", "long"} and isinstance(value, int | float | np.number) \
            and float(value).is_integer():
        return str(int(value))
    return str(value)  # anything else as it is: the schema validation judges it


@dataclass(frozen=True)
class Srs:
    """The CRS a GML file is written in: its URI, the decimals of a coordinate (1 mm), and
    the coordinates already in its authority axis order (this encoder's rule: GML writes
    EPSG:4258 as latitude, longitude)."""

    uri: str = SRS
    decimals: int = 3

    @classmethod
    def of(cls, code: str) -> Srs:
        from gdi import crs

        epsg = crs.parse_crs(code).to_epsg()
        geographic = crs.parse_crs(code).is_geographic
        return cls(f"http://www.opengis.net/def/crs/EPSG/0/{epsg}", 8 if geographic else 3)


def _geometry(parent: etree._Element, geom: Any, gid: str, srs: Srs = Srs()) -> None:
    kind = shapely.get_type_id(geom)
    d = srs.decimals
    if kind == 0:  # Point
        pt = etree.SubElement(parent, f"{{{GML}}}Point", {_GID: gid, "srsName": srs.uri,
                                                           "srsDimension": "2"})
        etree.SubElement(pt, f"{{{GML}}}pos").text = f"{geom.x:.{d}f} {geom.y:.{d}f}"
        return
    polys = list(geom.geoms) if kind == 6 else [geom]
    ms = etree.SubElement(parent, f"{{{GML}}}MultiSurface", {_GID: gid, "srsName": srs.uri,
                                                              "srsDimension": "2"})
    for i, poly in enumerate(polys):
        member = etree.SubElement(ms, f"{{{GML}}}surfaceMember")
        pg = etree.SubElement(member, f"{{{GML}}}Polygon", {_GID: f"{gid}.{i}"})
        for j, ring in enumerate([poly.exterior, *poly.interiors]):
            tag = "exterior" if j == 0 else "interior"
            lr = etree.SubElement(etree.SubElement(pg, f"{{{GML}}}{tag}"), f"{{{GML}}}LinearRing")
            etree.SubElement(lr, f"{{{GML}}}posList").text = " ".join(
                f"{x:.{d}f} {y:.{d}f}" for x, y in ring.coords)


@dataclass
class _Slot:
    """A leaf of the template whose content depends on the record."""

    el: etree._Element
    parent: etree._Element
    key: str  # column of the record values
    kind: str  # reference | text
    simple: str | None
    missing: str  # "nilreason" | "nil" | "absent"
    reason: str


class _Template:
    def __init__(self, plan: Plan, namespace: str, dataset_gid: str | None) -> None:
        ft = plan.feature
        self.lists = plan.lists
        self.dataset_gid = dataset_gid
        self.member = etree.Element(f"{{{WFS}}}member", nsmap={
            "wfs": WFS, ft.prefix: ft.ns, "gml": GML, "base": BASE, "xlink": XLINK, "xsi": XSI})
        self.feature = etree.SubElement(self.member, f"{{{ft.ns}}}{ft.name}")
        self.slots: list[_Slot] = []
        self._extras: list[etree._Element] = []
        self.local_id: etree._Element | None = None
        self.geometry: etree._Element | None = None
        self.namespace = namespace
        self._point: etree._Element | None = None
        self._pos: etree._Element | None = None
        self._steps(self.feature, plan.steps)
        self.order = {id(s.el): i for i, s in enumerate(self.slots)}

    def _steps(self, parent: etree._Element, steps: tuple[Step, ...]) -> None:
        for st in steps:
            q = f"{{{st.prop.ns}}}{st.prop.name}"
            if st.mapping is None:
                obj_ns, obj_name = st.prop.object_element or (st.prop.ns, st.prop.name)
                el = etree.SubElement(parent, q)
                self._steps(etree.SubElement(el, f"{{{obj_ns}}}{obj_name}"), st.children)
                continue
            m = st.mapping
            op = m.operation
            if op == "omit":
                continue
            el = etree.SubElement(parent, q)
            if op == "void":
                el.attrib.update({_NIL: "true", "nilReason": VOID_BASE + (m.void or "Unknown")})
            elif op == "identifier":
                ident = etree.SubElement(el, f"{{{BASE}}}Identifier")
                self.local_id = etree.SubElement(ident, f"{{{BASE}}}localId")
                etree.SubElement(ident, f"{{{BASE}}}namespace").text = self.namespace
            elif op == "geometry":
                self.geometry = el
            elif op == "dataset_ref":
                el.set(_HREF, f"#{self.dataset_gid}")
            elif op == "value":
                value = self.lists.uri(m.codelist, str(m.value)) if m.codelist else m.value
                if st.prop.kind == "reference":
                    el.set(_HREF, str(value))
                else:
                    el.text = _text(value, st.prop.simple_type)
            else:  # field, compute, lifespan: filled per record
                reason: str
                if m.nil_reason_if_missing:
                    missing, reason = "nilreason", m.nil_reason_if_missing
                elif st.prop.nillable:
                    missing, reason = "nil", m.void_if_missing
                else:
                    missing, reason = "absent", ""
                key = "begin_lifespan" if op == "lifespan" else st.path
                kind = "reference" if st.prop.kind == "reference" else "text"
                self.slots.append(_Slot(el, parent, key, kind, st.prop.simple_type, missing,
                                        reason))

    def columns(self, data: pd.DataFrame, values: pd.DataFrame) -> list[np.ndarray]:
        """Per slot, the final text (or href) of every record, None where missing."""
        out = []
        for slot in self.slots:
            col = data[slot.key] if slot.key in data else values[slot.key]
            simple = slot.simple if slot.kind == "text" else None
            # one text per distinct value, shared by the records that have it (memory)
            codes, uniques = pd.factorize(col)
            texts_u = np.array([_text(v, simple) for v in uniques.tolist()] + [None],
                               dtype=object)
            out.append(texts_u[codes])  # code -1 (missing) picks the trailing None
        return out

    def fill(self, i: int, cols: list[np.ndarray], local_id: str, gid: str) -> list[_Slot]:
        """Set record ``i``'s values (not its geometry: :meth:`set_geometry`, once per CRS
        written); return the slots detached for this record."""
        self.feature.set(_GID, gid)
        if self.local_id is not None:
            self.local_id.text = local_id
        detached = []
        for slot, col in zip(self.slots, cols, strict=True):
            value = col[i]
            el = slot.el
            if value is None:
                el.attrib.clear()
                el.text = None
                if slot.missing == "nilreason":
                    el.set("nilReason", VOID_BASE + slot.reason)
                elif slot.missing == "nil":
                    el.attrib.update({_NIL: "true", "nilReason": VOID_BASE + slot.reason})
                else:
                    slot.parent.remove(el)
                    detached.append(slot)
            else:
                if el.attrib:
                    el.attrib.clear()
                first, *more = value.split(MULTI_SEP)
                self._put(el, slot.kind, first)
                after = el
                for extra in more:  # a multi-valued property: one element per value
                    sibling = etree.Element(el.tag)
                    self._put(sibling, slot.kind, extra)
                    after.addnext(sibling)
                    self._extras.append(sibling)
                    after = sibling
        return detached

    @property
    def has_extras(self) -> bool:
        return bool(self._extras)

    @staticmethod
    def _put(el: etree._Element, kind: str, value: str) -> None:
        if kind == "reference":
            el.set(_HREF, value)
        else:
            el.text = value

    def set_geometry(self, geom: Any, gid: str, pos: str | None, srs: Srs) -> None:
        if self.geometry is None:
            return
        if pos is not None and self._point is not None and self._pos is not None:
            self._point.set(_GID, gid)  # points: reuse the element, set id, CRS and position
            self._point.set("srsName", srs.uri)
            self._pos.text = pos
            return
        for child in list(self.geometry):
            self.geometry.remove(child)
        _geometry(self.geometry, geom, gid, srs)
        point = self.geometry[0]
        is_point = point.tag == f"{{{GML}}}Point"
        self._point, self._pos = (point, point[0]) if is_point else (point, None)

    def restore(self, detached: list[_Slot]) -> None:
        for extra in self._extras:  # the extra values of multi-valued properties
            extra.getparent().remove(extra)
        self._extras.clear()
        for slot in detached:  # put absent leaves back in schema order
            siblings = [s for s in self.slots if s.parent is slot.parent and s.el.getparent()
                        is not None and self.order[id(s.el)] > self.order[id(slot.el)]]
            if siblings:
                siblings[0].el.addprevious(slot.el)
            else:
                slot.parent.append(slot.el)


def _positions(geometry: np.ndarray, decimals: int = 3) -> list[str | None]:
    """``gml:pos`` text of point geometries (None for other types), formatted at once."""
    kinds = shapely.get_type_id(geometry)
    x, y = shapely.get_x(geometry), shapely.get_y(geometry)
    d = decimals
    return [f"{a:.{d}f} {b:.{d}f}" if k == 0 else None
            for k, a, b in zip(kinds, x, y, strict=True)]


@dataclass(frozen=True)
class Block:
    """Features of one type to write: only encodable records."""

    plan: Plan
    data: pd.DataFrame  # local_id, begin_lifespan
    values: pd.DataFrame  # per-record leaf values (from plan.exclusions)
    geometry: np.ndarray


def _in(crs: str, geometry: np.ndarray, storage_crs: str) -> np.ndarray:
    """Geometries in ``crs``, in its authority axis order."""
    if crs == storage_crs:
        return geometry
    from gdi import crs as crsmod

    return np.asarray(crsmod.transform_geometry(geometry, storage_crs, crs,
                                                authority_order=True), dtype=object)


_CHUNK = 65536  # members whose positions are transformed and formatted at once (memory)


def write_collection(targets: Sequence[tuple[Path, str]], blocks: list[Block], *,
                     namespace: str, gml_prefix: str, dataset_local_id: str | None = None,
                     progress: Any = None, storage_crs: str = "EPSG:25832") -> int:
    """Write the blocks' features as a WFS 2.0 FeatureCollection into each target (path,
    CRS) in one pass: a member's values are set once, its geometry once per CRS (transformed
    here, in the CRS's authority axis order). Return the member count."""
    srss = [Srs.of(code) for _, code in targets]
    n = sum(len(b.data) for b in blocks)
    first = blocks[-1].plan
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    locations = " ".join(f"{ns} {loc}" for ns, loc in schema_imports(first))
    nsmap = {"wfs": WFS, "gml": GML, "xsi": XSI, first.feature.prefix: first.feature.ns,
             "base": BASE, "xlink": XLINK}
    attrs = {"timeStamp": stamp, "numberMatched": str(n), "numberReturned": str(n),
             f"{{{XSI}}}schemaLocation": locations}
    dataset_gid = f"{gml_prefix}.{dataset_local_id}" if dataset_local_id else None
    done = 0
    with contextlib.ExitStack() as stack:
        writers = []
        for path, _ in targets:
            fh = stack.enter_context(path.open("wb"))
            xf = stack.enter_context(etree.xmlfile(fh, encoding="utf-8", buffered=True))
            xf.write_declaration()
            stack.enter_context(xf.element(f"{{{WFS}}}FeatureCollection", attrs, nsmap=nsmap))
            writers.append(xf)
        for block in blocks:
            template = _Template(block.plan, namespace, dataset_gid)
            cols = template.columns(block.data, block.values)
            local_ids = block.data["local_id"].tolist()
            for start in range(0, len(local_ids), _CHUNK):
                part = block.geometry[start:start + _CHUNK]
                outs = []
                for (_, code), xf, srs in zip(targets, writers, srss, strict=True):
                    geoms = _in(code, part, storage_crs)
                    outs.append((xf, srs, geoms, _positions(geoms, srs.decimals)))
                for j, lid in enumerate(local_ids[start:start + _CHUNK]):
                    gid = f"{gml_prefix}.{lid}"
                    detached = template.fill(start + j, cols, lid, gid)
                    for xf, srs, geoms, positions in outs:
                        template.set_geometry(geoms[j], gid + ".g", positions[j], srs)
                        xf.write(template.member)
                    if detached or template.has_extras:
                        template.restore(detached)
                    done += 1
                    if progress is not None and done % 1000 == 0:
                        progress.update(1000)
    return n
