"""Encode bodies as INSPIRE Buildings 3D (``bu-core3d`` 4.0) GML 3.2: LoD1.2 and LoD2.

A WFS 2.0 ``wfs:FeatureCollection`` of ``bu-core3d:Building`` members, streamed with
``lxml.etree.xmlfile``. As in :mod:`gdi.inspire.gml`, the member is built once as a template
(constant codes and voids exist once); per body only the variable leaves are set and the
polygons are refilled from pools (:class:`gdi.city3d.gmlgeom.SurfacePool`, whose helpers both
encoders share), then the member is serialised.

A body with LoD2 (issue 15) also gets ``geometry3DLoD2``: a ``geometryMultiSurface`` of all
LoD2 polygons of all its parts (ids ``<gid>.lod2.<i>``). A MultiSurface, not a Solid: the
state's solids are published as delivered and need not be perfectly closed, and a Solid would
claim closedness; the parts stay one building, as in ``geometry3DLoD1``.

Every property of the type is mapped, voided with a nilReason, or omitted for a reason (the
project's rule, cf. :mod:`gdi.inspire.plan`); :data:`PROPERTIES` lists the decisions in schema
order (``BuildingsBase.xsd`` AbstractConstruction, AbstractBuilding, Building, then
``BuildingsCore3D.xsd``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from lxml import etree

from gdi.city3d.citygml import Progress, lifespan, stream
from gdi.city3d.gmlgeom import (
    EncodeError,
    SurfacePool,
    compound_srs,
    lod2_surfaces,
    ncname,
    unique,
)
from gdi.city3d.model import Body, ModelInfo
from gdi.inspire.codelists import INSPIRE_BASE
from gdi.inspire.gml import BASE, GML, WFS, WFS_XSD, XLINK, XSI

__all__ = ["PROPERTIES", "EncodeError", "schema_imports", "write_bu3d"]

BU_BASE = "http://inspire.ec.europa.eu/schemas/bu-base/4.0"
BU3D = "http://inspire.ec.europa.eu/schemas/bu-core3d/4.0"
BU3D_XSD = "https://inspire.ec.europa.eu/schemas/bu-core3d/4.0/BuildingsCore3D.xsd"
VOID = INSPIRE_BASE + "VoidReasonValue/"
_NIL = f"{{{XSI}}}nil"
_HREF = f"{{{XLINK}}}href"
_GID = f"{{{GML}}}id"

# Property -> how it is filled: "mapped", "void:<VoidReasonValue>" or "omit:<why>".
PROPERTIES: dict[str, str] = {
    "beginLifespanVersion": "mapped (Body.begin; void:Unknown without one)",
    "conditionOfConstruction": "mapped (functional; projected for planned bodies)",
    "dateOfConstruction": "void:Unpopulated",
    "dateOfDemolition": "omit:only standing or projected buildings are published",
    "dateOfRenovation": "void:Unpopulated",
    "elevation": "void:Unpopulated",
    "endLifespanVersion": "omit:only current versions are published",
    "externalReference": "void:Unpopulated",
    "heightAboveGround": "mapped (roof - ground; generalRoof over generalGround)",
    "inspireId": "mapped (localId = Body.id, versionId = compact begin or void:Unknown)",
    "name": "void:Unpopulated",
    "buildingNature": "void:Unpopulated",
    "currentUse": "mapped (current_use(body); void:Unknown where None; percentage Unpopulated)",
    "numberOfDwellings": "void:Unpopulated",
    "numberOfBuildingUnits": "void:Unpopulated",
    "numberOfFloorsAboveGround": "mapped (attributes['storeys']; void:Unknown where None)",
    "parts": "omit:each body is published as one building",
    "geometry2D": "omit:the footprint is the solid's ground surface (footPrint reference)",
    "geometry3DLoD1": "mapped (geometrySolid; terrainIntersection and accuracies void)",
    # conditional: omitted for a LoD1.2-only body, mapped for a body with Body.lod2
    "geometry3DLoD2": ("omit:LoD1.2-only body; with Body.lod2 mapped (geometryMultiSurface of "
                       "all parts' polygons; terrainIntersection and accuracies void)"),
    "geometry3DLoD3": "omit:LoD1.2 and LoD2 data only",
    "geometry3DLoD4": "omit:LoD1.2 and LoD2 data only",
}


def schema_imports() -> tuple[tuple[str, str], ...]:
    """Namespace/location pairs for :func:`gdi.xsd.schema_for`."""
    return ((WFS, WFS_XSD), (BU3D, BU3D_XSD))


def _code(codelist: str, value: str) -> str:
    return f"{INSPIRE_BASE}{codelist}/{value}"


def _sub(parent: etree._Element, ns: str, name: str, *, href: str | None = None,
         void: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ns}}}{name}", attrib)
    if href is not None:
        el.set(_HREF, href)
    if void is not None:
        el.set(_NIL, "true")
        el.set("nilReason", VOID + void)
    return el


def _set(el: etree._Element, text: str | None, reason: str = "Unknown") -> None:
    """Fill a voidable simple-content leaf, or nil it."""
    if text is None:
        el.text = None
        el.set(_NIL, "true")
        el.set("nilReason", VOID + reason)
    else:
        el.attrib.pop(_NIL, None)
        el.attrib.pop("nilReason", None)
        el.text = text


def _geometry_tail(g: etree._Element) -> None:
    """The properties of a BuildingGeometry3DLoD after its geometry (LoD1 and LoD2 alike,
    up to LoD1's verticalGeometryReference3DTop)."""
    elevation = "ElevationReferenceValue"
    _sub(g, BU3D, "terrainIntersection", void="Unpopulated")
    _sub(g, BU3D, "verticalGeometryReference3DBottom", href=_code(elevation, "generalGround"))
    # gml:LengthType requires uom even when nil
    _sub(g, BU3D, "horizontalGeometryEstimatedAccuracy", void="Unknown", uom="m")
    _sub(g, BU3D, "verticalGeometryEstimatedAccuracy", void="Unknown", uom="m")
    _sub(g, BU3D, "horizontalGeometryReference",
         href=_code("HorizontalGeometryReferenceValue", "footPrint"))


class _Template:
    """One ``wfs:member`` whose variable leaves are refilled for each body."""

    def __init__(self, info: ModelInfo, srs: str) -> None:
        nsmap = {"wfs": WFS, "bu-core3d": BU3D, "bu-base": BU_BASE, "base": BASE, "gml": GML,
                 "xlink": XLINK, "xsi": XSI}
        self.member = etree.Element(f"{{{WFS}}}member", nsmap=nsmap)
        b = self.building = _sub(self.member, BU3D, "Building")
        self.begin = _sub(b, BU_BASE, "beginLifespanVersion")
        self.condition = _sub(b, BU_BASE, "conditionOfConstruction")
        _sub(b, BU_BASE, "dateOfConstruction", void="Unpopulated")
        _sub(b, BU_BASE, "dateOfRenovation", void="Unpopulated")
        _sub(b, BU_BASE, "elevation", void="Unpopulated")
        _sub(b, BU_BASE, "externalReference", void="Unpopulated")
        hag = _sub(_sub(b, BU_BASE, "heightAboveGround"), BU_BASE, "HeightAboveGround")
        elevation = "ElevationReferenceValue"
        _sub(hag, BU_BASE, "heightReference", href=_code(elevation, "generalRoof"))
        _sub(hag, BU_BASE, "lowReference", href=_code(elevation, "generalGround"))
        self.height_status = _sub(hag, BU_BASE, "status")
        self.height = _sub(hag, BU_BASE, "value", uom="m")
        ident = _sub(_sub(b, BU_BASE, "inspireId"), BASE, "Identifier")
        self.local_id = _sub(ident, BASE, "localId")
        _sub(ident, BASE, "namespace").text = info.namespace
        self.version = _sub(ident, BASE, "versionId")
        _sub(b, BU_BASE, "name", void="Unpopulated")
        _sub(b, BU_BASE, "buildingNature", void="Unpopulated")
        self.use_nil = _sub(b, BU_BASE, "currentUse", void="Unknown")
        self.use = etree.Element(f"{{{BU_BASE}}}currentUse")
        use = _sub(self.use, BU_BASE, "CurrentUse")
        self.use_value = _sub(use, BU_BASE, "currentUse")
        _sub(use, BU_BASE, "percentage", void="Unpopulated")
        _sub(b, BU_BASE, "numberOfDwellings", void="Unpopulated")
        _sub(b, BU_BASE, "numberOfBuildingUnits", void="Unpopulated")
        self.floors = _sub(b, BU_BASE, "numberOfFloorsAboveGround")
        g = _sub(_sub(b, BU3D, "geometry3DLoD1"), BU3D, "BuildingGeometry3DLoD1")
        self.solid = _sub(_sub(g, BU3D, "geometrySolid"), GML, "Solid", srsName=srs,
                          srsDimension="3")
        shell = _sub(_sub(self.solid, GML, "exterior"), GML, "Shell")
        self.pool = SurfacePool(shell, GML, polygon_ids=True)  # GML 3.2: gml:id is required
        _geometry_tail(g)
        _sub(g, BU3D, "verticalGeometryReference3DTop", href=_code(elevation, "generalRoof"))
        # geometry3DLoD2: put after geometry3DLoD1 only for a body with LoD2
        self.lod2 = etree.Element(f"{{{BU3D}}}geometry3DLoD2")
        g2 = _sub(self.lod2, BU3D, "BuildingGeometry3DLoD2")
        self.multi = _sub(_sub(g2, BU3D, "geometryMultiSurface"), GML, "MultiSurface",
                          srsName=srs, srsDimension="3")
        self.pool2 = SurfacePool(self.multi, GML, polygon_ids=True)
        _geometry_tail(g2)

    def fill(self, body: Body, gid: str, use: str | None) -> etree._Element:
        self.building.set(_GID, gid)
        begin = lifespan(body.begin, body.id)
        _set(self.begin, begin.iso if begin else None)
        planned = body.status == "planned"
        condition = "projected" if planned else "functional"
        self.condition.set(_HREF, _code("ConditionOfConstructionValue", condition))
        # a planned height is a design value, an existing one derives from measurements
        status = "estimated" if planned else "measured"
        self.height_status.set(_HREF, _code("HeightStatusValue", status))
        self.height.text = f"{round(body.roof, 3) - round(body.ground, 3):.3f}"
        self.local_id.text = body.id
        _set(self.version, begin.version if begin else None)
        if use is None:
            if self.use.getparent() is not None:
                self.building.replace(self.use, self.use_nil)
        else:
            uri = use if use.startswith(("http://", "https://")) else _code("CurrentUseValue", use)
            self.use_value.set(_HREF, uri)
            if self.use_nil.getparent() is not None:
                self.building.replace(self.use_nil, self.use)
        storeys = body.attributes.get("storeys")
        _set(self.floors, None if storeys is None else str(int(storeys)))
        self.solid.set(_GID, gid + ".solid")
        self.pool.fill(body.shell, body.id, gid)
        if body.lod2:
            self.multi.set(_GID, gid + ".lod2")
            self.pool2.fill(lod2_surfaces(body), body.id, gid + ".lod2")
            if self.lod2.getparent() is None:
                self.building.append(self.lod2)  # geometry3DLoD1 is the last child
        elif self.lod2.getparent() is not None:
            self.building.remove(self.lod2)
        return self.member


def write_bu3d(path: Path, bodies: Iterable[Body], info: ModelInfo, *,
               current_use: Callable[[Body], str | None],
               progress: Progress | None = None) -> int:
    """Write ``bodies`` as a bu-core3d FeatureCollection to ``path``; return the member
    count. ``current_use`` gives a body's CurrentUseValue (``residential`` or its URI) or None.
    A partly written file is removed when encoding fails."""
    if not info.namespace:
        raise EncodeError("ModelInfo.namespace is empty: INSPIRE identifiers need one")
    items = bodies if isinstance(bodies, list | tuple) else list(bodies)  # counted up front
    srs = compound_srs(info)
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    n = str(len(items))
    attrs = {"timeStamp": stamp, "numberMatched": n, "numberReturned": n,
             f"{{{XSI}}}schemaLocation": " ".join(f"{a} {b}" for a, b in schema_imports())}
    nsmap = {"wfs": WFS, "gml": GML, "xsi": XSI, "bu-core3d": BU3D, "bu-base": BU_BASE,
             "base": BASE, "xlink": XLINK}
    template = _Template(info, srs)
    seen: set[str] = set()

    def member(body: Body) -> etree._Element:
        gid = unique(ncname(body.id, "bu3d_", always=True), seen, body.id)
        return template.fill(body, gid, current_use(body))

    root = (f"{{{WFS}}}FeatureCollection", attrs, nsmap)
    return stream(path, root, (), items, member, progress)
