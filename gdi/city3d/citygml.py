"""Encode bodies as CityGML 2.0 (LoD1 solids and LoD2), streamed with ``lxml.etree.xmlfile``.

A ``core:CityModel`` (gml:name, a 3D gml:Envelope: the bodies are collected first) of
``core:cityObjectMember/bldg:Building``: ``function`` (AdV code), ``roofType``,
``measuredHeight``, ``storeysAboveGround``, ``lod1Solid`` (gml:Solid of a CompositeSurface);
every other attribute becomes a generic attribute typed by its Python type.

A body with LoD2 (issue 15) keeps its lod1Solid and gets, per LoD2 part, a ``lod2Solid``
(gml:Solid whose CompositeSurface refers by ``xlink:href`` to the polygons) and one
``boundedBy/bldg:<Kind>Surface/lod2MultiSurface`` per surface holding its polygon: the AdV
layout, so the semantics live once in boundedBy. A single part sits in the Building itself;
of several parts each becomes a ``consistsOfBuildingPart/BuildingPart`` (gml:id = its id),
except a part whose id is the building's own (geometry of the Building itself, as AdV allows).
Order as in building.xsd: lod1Solid, lod2Solid, boundedBy, consistsOfBuildingPart. Derived
ids: surfaces ``<part>.s<j>``, polygons ``<part>.p<j>``. Like the Building, the LoD2 elements
are pooled and refilled from body to body.

The geometry, srsName and id helpers are in :mod:`gdi.city3d.gmlgeom`; timestamps and
streaming here are shared with :mod:`gdi.city3d.bu3d`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from lxml import etree

from gdi.city3d.gmlgeom import (
    EncodeError,
    SurfacePool,
    bounds,
    compound_srs,
    lod2_layout,
    ncname,
    refill,
    unique,
)
from gdi.city3d.model import Body, ModelInfo, Surface

CORE = "http://www.opengis.net/citygml/2.0"
BLDG = "http://www.opengis.net/citygml/building/2.0"
GEN = "http://www.opengis.net/citygml/generics/2.0"
GML31 = "http://www.opengis.net/gml"
MEMBER = f"{{{CORE}}}cityObjectMember"  # for gdi.xsd.validate_file(..., member=MEMBER)
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XLINK = "http://www.w3.org/1999/xlink"
_GID, _HREF = f"{{{GML31}}}id", f"{{{XLINK}}}href"
BLDG_XSD = "http://schemas.opengis.net/citygml/building/2.0/building.xsd"
GEN_XSD = "http://schemas.opengis.net/citygml/generics/2.0/generics.xsd"
FUNCTION_CODESPACE = ("https://repository.gdi-de.org/schemas/adv/citygml/Codelisten/"
                      "BuildingFunctionTypeAdV.xml")
ROOF_CODESPACE = "https://repository.gdi-de.org/schemas/adv/citygml/Codelisten/RoofTypeTypeAdV.xml"
# attributes with a CityGML property: (element, attributes, text); others become generics
MAPPED: dict[str, tuple[str, dict[str, str], Callable[[Any], str]]] = {
    "function": ("function", {"codeSpace": FUNCTION_CODESPACE}, str),
    "roof_type": ("roofType", {"codeSpace": ROOF_CODESPACE}, str),
    "measured_height": ("measuredHeight", {"uom": "m"}, lambda v: f"{float(v):.3f}"),
    "storeys": ("storeysAboveGround", {}, lambda v: str(int(v))),
}
BOUNDARY_KINDS = frozenset({"GroundSurface", "WallSurface", "RoofSurface", "ClosureSurface",
                            "OuterCeilingSurface", "OuterFloorSurface"})


def schema_imports() -> tuple[tuple[str, str], ...]:
    """Namespace/location pairs for :func:`gdi.xsd.schema_for`."""
    return ((BLDG, BLDG_XSD), (GEN, GEN_XSD))


class Progress(Protocol):
    def update(self, n: int, /) -> object: ...


def stream(path: Path, root: tuple[str, dict[str, str], dict[str, str]],
           head: Sequence[etree._Element], bodies: Sequence[Body],
           member: Callable[[Body], etree._Element], progress: Progress | None) -> int:
    """Write ``root`` (tag, attributes, nsmap) with the ``head`` elements, then ``member(body)``
    for each body, streamed; report every 1000 members to a tqdm-like ``progress``. A partly
    written file is removed when encoding fails. Return the member count."""
    tag, attrib, nsmap = root
    try:
        with path.open("wb") as fh, etree.xmlfile(fh, encoding="utf-8", buffered=True) as xf:
            xf.write_declaration()
            with xf.element(tag, attrib, nsmap=nsmap):
                for el in head:
                    xf.write(el)
                for i, body in enumerate(bodies, 1):
                    xf.write(member(body))
                    if progress is not None and i % 1000 == 0:
                        progress.update(1000)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    if progress is not None and len(bodies) % 1000:
        progress.update(len(bodies) % 1000)
    return len(bodies)


@dataclasses.dataclass(frozen=True)
class Lifespan:
    iso: str      # xs:dateTime (UTC with Z where the input had an offset)
    version: str  # compact timestamp for base:versionId (at most 25 characters)
    date: str     # xs:date (CityGML creationDate)


@functools.lru_cache(maxsize=4096)
def _lifespan(begin: str) -> Lifespan:
    t = dt.datetime.fromisoformat(begin).replace(microsecond=0)
    zone = ""
    if t.tzinfo is not None:
        t, zone = t.astimezone(dt.UTC).replace(tzinfo=None), "Z"
    return Lifespan(t.isoformat() + zone, t.strftime("%Y%m%dT%H%M%S") + zone,
                    t.date().isoformat())


def lifespan(begin: str | None, body_id: str) -> Lifespan | None:
    try:
        return None if begin is None else _lifespan(begin)
    except ValueError:
        raise EncodeError(f"body {body_id}: begin {begin!r} is not an ISO 8601 date-time"
                          ) from None


def _head(bodies: Sequence[Body], title: str, srs: str) -> list[etree._Element]:
    """gml:name and, unless there are no vertices, gml:boundedBy (a 3D envelope)."""
    nsmap = {"gml": GML31}
    name = etree.Element(f"{{{GML31}}}name", nsmap=nsmap)
    name.text = title
    corners = bounds(bodies)
    if corners is None:
        return [name]
    bounded = etree.Element(f"{{{GML31}}}boundedBy", nsmap=nsmap)
    env = etree.SubElement(bounded, f"{{{GML31}}}Envelope", srsName=srs, srsDimension="3")
    for tag, corner in zip(("lowerCorner", "upperCorner"), corners, strict=True):
        etree.SubElement(env, f"{{{GML31}}}{tag}").text = " ".join(
            f"{v:.3f}" for v in corner.tolist())
    return [name, bounded]


def _typed(value: Any) -> tuple[str, str] | None:
    """(generic attribute kind, text) by the value's Python type; None: not written."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return "string", "true" if value else "false"
    if isinstance(value, int | np.integer):
        return "int", str(int(value))
    if isinstance(value, float | np.floating):
        return ("double", repr(float(value))) if math.isfinite(value) else None
    return "string", str(value)


class _Member:
    """One ``core:cityObjectMember/bldg:Building`` reused from body to body: its children
    (created once per kind, generic attributes once per name and type) are refilled and put
    in schema order."""

    def __init__(self, nsmap: dict[str, str], srs: str) -> None:
        self.lod2 = _Lod2(srs)
        self.member = etree.Element(MEMBER, nsmap=nsmap)
        self.b = b = etree.SubElement(self.member, f"{{{BLDG}}}Building")
        self.created = etree.SubElement(b, f"{{{CORE}}}creationDate")
        self.mapped = [(key, etree.SubElement(b, f"{{{BLDG}}}{tag}", attrib), text)
                       for key, (tag, attrib, text) in MAPPED.items()]  # schema order
        self.lod1 = etree.SubElement(b, f"{{{BLDG}}}lod1Solid")
        solid = etree.SubElement(self.lod1, f"{{{GML31}}}Solid", srsName=srs, srsDimension="3")
        composite = etree.SubElement(etree.SubElement(solid, f"{{{GML31}}}exterior"),
                                     f"{{{GML31}}}CompositeSurface")
        self.pool = SurfacePool(composite, GML31, polygon_ids=False)  # GML 3.1.1: optional
        self.generics: dict[tuple[str, str], tuple[etree._Element, etree._Element]] = {}

    def _generic(self, name: str, kind: str) -> tuple[etree._Element, etree._Element]:
        if (name, kind) not in self.generics:
            el = etree.SubElement(self.b, f"{{{GEN}}}{kind}Attribute", name=name)
            self.generics[name, kind] = (el, etree.SubElement(el, f"{{{GEN}}}value"))
        return self.generics[name, kind]

    def fill(self, body: Body, gid: str, seen: set[str]) -> etree._Element:
        self.b.set(f"{{{GML31}}}id", gid)
        children = []
        begin = lifespan(body.begin, body.id)
        if begin is not None:
            self.created.text = begin.date
            children.append(self.created)
        attrs = body.attributes
        for key, value in attrs.items():
            typed = None if key in MAPPED else _typed(value)
            if typed is not None:
                el, text = self._generic(key, typed[0])
                text.text = typed[1]
                children.append(el)
        for key, el, text_of in self.mapped:
            if attrs.get(key) is not None:
                el.text = text_of(attrs[key])
                children.append(el)
        children.append(self.lod1)
        self.b[:] = [*children, *self.lod2.fill(body, gid, seen)] if body.lod2 else children
        self.pool.fill(body.shell, body.id)
        return self.member


class _ShellPool:
    """``lod2Solid`` (its CompositeSurface refers to the polygons) and one ``boundedBy`` per
    surface of one LoD2 shell, reused from body to body like :class:`SurfacePool`: a
    boundary surface's tag follows the surface's kind."""

    def __init__(self, srs: str) -> None:
        self.solid = etree.Element(f"{{{BLDG}}}lod2Solid")
        self.composite = etree.SubElement(etree.SubElement(etree.SubElement(
            self.solid, f"{{{GML31}}}Solid", srsName=srs, srsDimension="3"),
            f"{{{GML31}}}exterior"), f"{{{GML31}}}CompositeSurface")
        self.srs = srs
        self.refs: list[etree._Element] = []
        self.bounded: list[tuple[etree._Element, etree._Element, etree._Element,
                                 list[etree._Element]]] = []

    def _grow(self) -> None:
        self.refs.append(etree.Element(f"{{{GML31}}}surfaceMember"))
        bounded = etree.Element(f"{{{BLDG}}}boundedBy")
        kind = etree.SubElement(bounded, f"{{{BLDG}}}WallSurface")
        multi = etree.SubElement(etree.SubElement(kind, f"{{{BLDG}}}lod2MultiSurface"),
                                 f"{{{GML31}}}MultiSurface", srsName=self.srs, srsDimension="3")
        polygon = etree.SubElement(etree.SubElement(multi, f"{{{GML31}}}surfaceMember"),
                                   f"{{{GML31}}}Polygon")
        self.bounded.append((bounded, kind, polygon, []))

    def fill(self, shell: Sequence[Surface], prefix: str, body_id: str) -> list[etree._Element]:
        """The properties of ``shell``: surfaces ``<prefix>.s<j>``, polygons ``<prefix>.p<j>``."""
        while len(self.bounded) < len(shell):
            self._grow()
        self.composite[:] = self.refs[:len(shell)]
        for j, surface in enumerate(shell):
            if surface.kind not in BOUNDARY_KINDS:
                raise EncodeError(f"body {body_id}: {surface.kind!r} is no boundary surface")
            _, kind, polygon, lists = self.bounded[j]
            self.refs[j].set(_HREF, f"#{prefix}.p{j}")
            kind.tag = f"{{{BLDG}}}{surface.kind}"
            kind.set(_GID, f"{prefix}.s{j}")
            polygon.set(_GID, f"{prefix}.p{j}")
            refill(polygon, lists, GML31, surface, body_id)
        return [self.solid, *(b[0] for b in self.bounded[:len(shell)])]


class _Lod2:
    """The LoD2 elements of a Building (:func:`lod2_layout`), from pools reused from body to
    body: the Building's own shell, then one ``consistsOfBuildingPart`` per part."""

    def __init__(self, srs: str) -> None:
        self.srs = srs
        self.own = _ShellPool(srs)
        self.parts: list[tuple[etree._Element, etree._Element, _ShellPool]] = []

    def fill(self, body: Body, gid: str, seen: set[str]) -> list[etree._Element]:
        own, parts = lod2_layout(body)
        out = [] if own is None else self.own.fill(body.lod2[own], gid, body.id)
        while len(self.parts) < len(parts):
            member = etree.Element(f"{{{BLDG}}}consistsOfBuildingPart")
            self.parts.append((member, etree.SubElement(member, f"{{{BLDG}}}BuildingPart"),
                               _ShellPool(self.srs)))
        for (name, i), (member, part, pool) in zip(parts, self.parts, strict=False):
            pgid = unique(ncname(name, "b_"), seen, body.id)
            part.set(_GID, pgid)
            part[:] = pool.fill(body.lod2[i], pgid, body.id)
            out.append(member)
        return out


def write_citygml(path: Path, bodies: Iterable[Body], info: ModelInfo, *,
                  progress: Progress | None = None) -> int:
    """Write ``bodies`` as a CityGML 2.0 CityModel (LoD1 solids, LoD2 where a body has it) to
    ``path``; return the member count. A partly written file is removed when encoding fails."""
    items = bodies if isinstance(bodies, list | tuple) else list(bodies)
    srs = compound_srs(info)
    nsmap = {"core": CORE, "bldg": BLDG, "gen": GEN, "gml": GML31}  # a member's declarations
    if any(b.lod2 for b in items):
        nsmap["xlink"] = XLINK
    locations = " ".join(f"{ns} {loc}" for ns, loc in schema_imports())
    root = (f"{{{CORE}}}CityModel", {f"{{{XSI}}}schemaLocation": locations},
            {**nsmap, "xsi": XSI})
    template = _Member(nsmap, srs)
    seen: set[str] = set()
    return stream(path, root, _head(items, info.title, srs), items,
                  lambda b: template.fill(b, unique(ncname(b.id, "b_"), seen, b.id), seen),
                  progress)
