"""Encode LoD1.2 bodies as CityGML 2.0 (LoD1 solids), streamed with ``lxml.etree.xmlfile``.

A ``core:CityModel`` (gml:name, a 3D gml:Envelope: the bodies are collected first) of
``core:cityObjectMember/bldg:Building``: ``function`` (AdV code), ``roofType``,
``measuredHeight``, ``storeysAboveGround``, ``lod1Solid`` (gml:Solid of a CompositeSurface);
every other attribute becomes a generic attribute typed by its Python type. The helpers for
geometry, ids, timestamps and streaming are shared with :mod:`gdi.city3d.bu3d`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from lxml import etree

from gdi.city3d.model import Body, ModelInfo
from gdi.errors import GdiError

CORE = "http://www.opengis.net/citygml/2.0"
BLDG = "http://www.opengis.net/citygml/building/2.0"
GEN = "http://www.opengis.net/citygml/generics/2.0"
GML31 = "http://www.opengis.net/gml"
MEMBER = f"{{{CORE}}}cityObjectMember"  # for gdi.xsd.validate_file(..., member=MEMBER)
XSI = "http://www.w3.org/2001/XMLSchema-instance"
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


def schema_imports() -> tuple[tuple[str, str], ...]:
    """Namespace/location pairs for :func:`gdi.xsd.schema_for`."""
    return ((BLDG, BLDG_XSD), (GEN, GEN_XSD))


class EncodeError(GdiError, ValueError):
    """A body cannot be encoded (id, timestamp or ring not encodable)."""


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


def _crs_uri(code: str) -> str:
    if code.startswith(("http://", "https://")):
        return code
    authority, _, number = code.partition(":")
    if authority.upper() != "EPSG" or not number.isdigit():
        raise EncodeError(f"CRS {code!r} is not an EPSG code")
    return f"http://www.opengis.net/def/crs/EPSG/0/{number}"


def compound_srs(info: ModelInfo) -> str:
    """The srsName of the 3D coordinates: EPSG has no single code for ETRS89 / UTM 32N +
    DHHN2016 height, so a compound CRS URI (GDI-DE's convention, OGC ``crs-compound``)."""
    return (f"http://www.opengis.net/def/crs-compound?1={_crs_uri(info.crs)}"
            f"&2={_crs_uri(info.vertical_crs)}")


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


_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]")


def ncname(value: str, prefix: str, *, always: bool = False) -> str:
    """A gml:id (xs:ID, an NCName) for ``value``: ``prefix`` + value (``always``, or when
    value is not an NCName), characters outside [A-Za-z0-9._-] replaced by ``_``."""
    if not value:
        raise EncodeError("a body without id")
    if not always and _NCNAME.match(value):
        return value
    return prefix + _NOT_NAME.sub("_", value)


def unique(gid: str, seen: set[str], body_id: str) -> str:
    """``gid``, remembered in ``seen``; an error if it was seen before."""
    if gid in seen:
        raise EncodeError(f"body {body_id}: gml:id {gid} is not unique (duplicate body id?)")
    seen.add(gid)
    return gid


_FORMATS: dict[int, str] = {}


def poslist(ring: np.ndarray, body_id: str) -> str:
    """``gml:posList`` text of an open (n, 3) ring, closed, x y z at 1 mm."""
    fmt = _FORMATS.get(len(ring))
    if fmt is None:
        if len(ring) < 3:
            raise EncodeError(f"body {body_id}: a ring of {len(ring)} vertices")
        fmt = _FORMATS[len(ring)] = " ".join(["%.3f %.3f %.3f"] * (len(ring) + 1))
    values = ring.ravel().tolist()
    try:
        return fmt % (*values, *values[:3])
    except TypeError:  # not (n, 3)
        raise EncodeError(f"body {body_id}: a ring of shape {ring.shape}, not (n, 3)") from None


class SurfacePool:
    """The ``gml:surfaceMember/gml:Polygon`` children of ``container`` (a gml:Shell or
    gml:CompositeSurface), reused from body to body: only posList texts (and polygon ids)
    change while the ring counts match."""

    def __init__(self, container: etree._Element, gml: str, *, polygon_ids: bool) -> None:
        self.container, self.gml, self.ids = container, gml, polygon_ids
        self.members: list[tuple[etree._Element, etree._Element, list[etree._Element]]] = []
        self.active = 0

    def _rings(self, i: int, count: int) -> list[etree._Element]:
        _, polygon, lists = self.members[i]
        if len(lists) != count:
            polygon[:] = []
            lists.clear()
            for j in range(count):
                boundary = etree.SubElement(
                    polygon, f"{{{self.gml}}}{'exterior' if j == 0 else 'interior'}")
                ring = etree.SubElement(boundary, f"{{{self.gml}}}LinearRing")
                lists.append(etree.SubElement(ring, f"{{{self.gml}}}posList",
                                              srsDimension="3"))
        return lists

    def fill(self, body: Body, gid: str = "") -> None:
        k = len(body.shell)
        while len(self.members) < k:
            member = etree.Element(f"{{{self.gml}}}surfaceMember")
            self.members.append((member, etree.SubElement(member, f"{{{self.gml}}}Polygon"), []))
        for i in range(self.active, k):
            self.container.append(self.members[i][0])
        for i in range(k, self.active):
            self.container.remove(self.members[i][0])
        self.active = k
        for i, surface in enumerate(body.shell):
            if self.ids:
                self.members[i][1].set(f"{{{self.gml}}}id", f"{gid}.{i}")
            lists = self._rings(i, len(surface.rings))
            for el, ring in zip(lists, surface.rings, strict=True):
                el.text = poslist(ring, body.id)


def _head(bodies: Sequence[Body], title: str, srs: str) -> list[etree._Element]:
    """gml:name and, unless there are no bodies, gml:boundedBy (a 3D envelope)."""
    nsmap = {"gml": GML31}
    name = etree.Element(f"{{{GML31}}}name", nsmap=nsmap)
    name.text = title
    if not bodies:
        return [name]
    points = [np.concatenate([r for s in b.shell for r in s.rings]) for b in bodies]
    lows = np.min([p.min(axis=0) for p in points], axis=0)
    highs = np.max([p.max(axis=0) for p in points], axis=0)
    bounded = etree.Element(f"{{{GML31}}}boundedBy", nsmap=nsmap)
    env = etree.SubElement(bounded, f"{{{GML31}}}Envelope", srsName=srs, srsDimension="3")
    for tag, corner in (("lowerCorner", lows), ("upperCorner", highs)):
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

    def fill(self, body: Body, gid: str) -> etree._Element:
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
        self.b[:] = children
        self.pool.fill(body)
        return self.member


def write_citygml(path: Path, bodies: Iterable[Body], info: ModelInfo, *,
                  progress: Progress | None = None) -> int:
    """Write ``bodies`` as a CityGML 2.0 CityModel (LoD1 solids) to ``path``; return the
    member count. A partly written file is removed when encoding fails."""
    items = bodies if isinstance(bodies, list | tuple) else list(bodies)
    srs = compound_srs(info)
    nsmap = {"core": CORE, "bldg": BLDG, "gen": GEN, "gml": GML31}  # a member's declarations
    locations = " ".join(f"{ns} {loc}" for ns, loc in schema_imports())
    root = (f"{{{CORE}}}CityModel", {f"{{{XSI}}}schemaLocation": locations},
            {**nsmap, "xsi": XSI})
    template = _Member(nsmap, srs)
    seen: set[str] = set()
    return stream(path, root, _head(items, info.title, srs), items,
                  lambda b: template.fill(b, unique(ncname(b.id, "b_"), seen, b.id)), progress)
