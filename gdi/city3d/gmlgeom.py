"""GML geometry helpers shared by the CityGML 2.0 (GML 3.1.1) and BU-3D (GML 3.2) encoders.

Both encoders write the same building model (:mod:`gdi.city3d.model`); only the GML namespace
and whether polygons need a ``gml:id`` differ. :func:`poslist` formats an open (n, 3) ring as
a closed ``gml:posList`` at 1 mm; :class:`SurfacePool` keeps the ``gml:surfaceMember/
gml:Polygon`` children of a container (gml:Shell, gml:CompositeSurface or gml:MultiSurface)
and refills them from body to body (:func:`refill`), so a streamed encoder creates elements
only when a body has more surfaces (or other ring counts) than any before it. Also shared: the
compound srsName, ``gml:id`` values (:func:`ncname`, :func:`unique`), the envelope
(:func:`bounds`) and where the LoD2 parts go (:func:`lod2_layout`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from lxml import etree

from gdi.city3d.model import Body, ModelInfo, Surface
from gdi.errors import GdiError


class EncodeError(GdiError, ValueError):
    """A body cannot be encoded (id, timestamp or ring not encodable)."""


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


def ring_lists(polygon: etree._Element, gml: str, count: int) -> list[etree._Element]:
    """``count`` exterior/interior LinearRings under ``polygon``; their posList elements."""
    lists = []
    for j in range(count):
        boundary = etree.SubElement(polygon, f"{{{gml}}}{'exterior' if j == 0 else 'interior'}")
        ring = etree.SubElement(boundary, f"{{{gml}}}LinearRing")
        lists.append(etree.SubElement(ring, f"{{{gml}}}posList", srsDimension="3"))
    return lists


def refill(polygon: etree._Element, lists: list[etree._Element], gml: str,
           surface: Surface, body_id: str) -> None:
    """Set the posLists of a reused ``polygon`` to the rings of ``surface`` (``lists``, its
    posList elements, is rebuilt when the ring count changes)."""
    if len(lists) != len(surface.rings):
        polygon[:] = []
        lists[:] = ring_lists(polygon, gml, len(surface.rings))
    for el, ring in zip(lists, surface.rings, strict=True):
        el.text = poslist(ring, body_id)


class SurfacePool:
    """The ``gml:surfaceMember/gml:Polygon`` children of ``container`` (a gml:Shell,
    gml:CompositeSurface or gml:MultiSurface), reused from body to body: only posList texts
    (and polygon ids) change while the ring counts match."""

    def __init__(self, container: etree._Element, gml: str, *, polygon_ids: bool) -> None:
        self.container, self.gml, self.ids = container, gml, polygon_ids
        self.members: list[tuple[etree._Element, etree._Element, list[etree._Element]]] = []
        self.active = 0

    def fill(self, surfaces: Sequence[Surface], body_id: str, gid: str = "") -> None:
        """One polygon per surface; with ``polygon_ids`` the i-th is ``{gid}.{i}``."""
        k = len(surfaces)
        while len(self.members) < k:
            member = etree.Element(f"{{{self.gml}}}surfaceMember")
            self.members.append((member, etree.SubElement(member, f"{{{self.gml}}}Polygon"), []))
        for i in range(self.active, k):
            self.container.append(self.members[i][0])
        for i in range(k, self.active):
            self.container.remove(self.members[i][0])
        self.active = k
        for i, surface in enumerate(surfaces):
            _, polygon, lists = self.members[i]
            if self.ids:
                polygon.set(f"{{{self.gml}}}id", f"{gid}.{i}")
            refill(polygon, lists, self.gml, surface, body_id)


def lod2_layout(body: Body) -> tuple[int | None, list[tuple[str, int]]]:
    """Where the LoD2 parts of ``body`` go, in CityGML and CityJSON alike: (the index in
    ``body.lod2`` of the Building's own shell or None, [(part id, index)] of its
    BuildingParts). A single part is the Building's own; of several, the one whose id is the
    building's (geometry of the Building itself, as AdV allows) too, every other a
    BuildingPart. Parts without ids are named ``<body id>_part<n>`` (as
    :mod:`gdi.city3d.citygml_read` names them)."""
    names = body.lod2_parts or tuple(f"{body.id}_part{i + 1}" for i in range(len(body.lod2)))
    if len(names) != len(body.lod2):
        raise EncodeError(f"body {body.id}: {len(body.lod2)} LoD2 shells, {len(names)} part ids")
    own: int | None = None
    parts: list[tuple[str, int]] = []
    for i, (name, shell) in enumerate(zip(names, body.lod2, strict=True)):
        if not shell:
            raise EncodeError(f"body {body.id}: LoD2 part {name} without surfaces")
        if len(names) > 1 and name != body.id:
            parts.append((name, i))
        elif own is not None:
            raise EncodeError(f"body {body.id}: two LoD2 parts carry the building's id")
        else:
            own = i
    return own, parts


def lod2_surfaces(body: Body) -> list[Surface]:
    """All LoD2 surfaces of ``body``, part after part."""
    return [s for shell in body.lod2 for s in shell]


def bounds(bodies: Iterable[Body]) -> tuple[np.ndarray, np.ndarray] | None:
    """The 3D (low, high) corners of every vertex of ``bodies`` (LoD1.2 and LoD2); None
    without vertices."""
    lows, highs = [], []
    for b in bodies:
        rings = [r for shell in (b.shell, *b.lod2) for s in shell for r in s.rings]
        if rings:
            points = np.concatenate(rings)
            lows.append(points.min(axis=0))
            highs.append(points.max(axis=0))
    if not lows:
        return None
    return np.min(lows, axis=0), np.max(highs, axis=0)
