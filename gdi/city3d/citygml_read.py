"""Streaming reader of AdV LoD2-DE CityGML (1.0 and 2.0): one record per solid-bearing object.

Tiles are parsed with ``lxml.etree.iterparse`` on ``bldg:Building`` end events; a Building is
cleared with everything before it once read, so memory stays flat on state tiles of hundreds
of MB. Every Building yields one :class:`CityGmlPart` if it has no parts, else one per
BuildingPart (plus itself if it has geometry of its own). Nothing is dropped: what cannot be
read is reported in ``problems``. Polygons are read inline or through ``xlink:href="#id"``
(AdV 1.0: ``lod2Solid`` refers to the polygons of ``boundedBy``; 2.0 often the other way).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from lxml import etree

from gdi.city3d.citygml_crs import crs_of as crs_of  # re-exported: the reader's API
from gdi.city3d.citygml_crs import srs_codes as srs_codes
from gdi.errors import SourceError

GML = "http://www.opengis.net/gml"
CORE = tuple(f"http://www.opengis.net/citygml/{v}" for v in ("1.0", "2.0"))
BLDG = tuple(f"http://www.opengis.net/citygml/building/{v}" for v in ("1.0", "2.0"))
GEN = tuple(f"http://www.opengis.net/citygml/generics/{v}" for v in ("1.0", "2.0"))
HREF, GML_ID = "{http://www.w3.org/1999/xlink}href", f"{{{GML}}}id"
POLYGON, RING, POS_LIST, POS, COORDINATES, EXTERIOR, INTERIOR, MEMBER = (
    f"{{{GML}}}{n}" for n in ("Polygon", "LinearRing", "posList", "pos", "coordinates",
                              "exterior", "interior", "surfaceMember"))
SURFACE_KINDS = ("GroundSurface", "WallSurface", "RoofSurface", "ClosureSurface",
                 "OuterCeilingSurface", "OuterFloorSurface")


def _tags(name: str, ns: tuple[str, ...] = BLDG) -> frozenset[str]:
    return frozenset(f"{{{n}}}{name}" for n in ns)


BUILDING, PART, CONSISTS = _tags("Building"), _tags("BuildingPart"), _tags("consistsOfBuildingPart")
FUNCTION, ROOF_TYPE, HEIGHT = _tags("function"), _tags("roofType"), _tags("measuredHeight")
SOLID, BOUNDED_BY, LOD2_MULTI = _tags("lod2Solid"), _tags("boundedBy"), _tags("lod2MultiSurface")
SURFACE_TAGS = {tag: kind for kind in SURFACE_KINDS for tag in _tags(kind)}
CITY_MODEL = _tags("CityModel", CORE)
GEN_VALUE, GEN_SET = _tags("value", GEN), _tags("genericAttributeSet", GEN)
Rings = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class CityGmlPart:
    """One solid-bearing object: a Building without parts, or one BuildingPart."""

    id: str                  # gml:id of the Building or BuildingPart
    building_id: str         # gml:id of the Building (= ALKIS id)
    file: str                # name of the file it came from
    function: str | None     # bldg:function; a part inherits its building's if it has none
    roof_type: str | None    # bldg:roofType
    measured_height: float | None
    attributes: dict[str, str]  # generic attributes (the building's, overridden by the part's)
    footprint: shapely.Polygon | shapely.MultiPolygon | None  # 2D union of GroundSurfaces
    ground_z: float | None   # min z of the GroundSurface vertices
    surfaces: tuple[tuple[str, Rings], ...]  # (kind, rings) per polygon, exterior ring first
    solid_refs: int          # surfaceMember xlink references in lod2Solid
    solid_resolved: int      # how many of them resolved to a polygon of this building
    problems: tuple[str, ...]


def read_folder(folder: Path, pattern: str = "*.gml") -> Iterator[CityGmlPart]:
    """All parts of all tiles in ``folder`` matching ``pattern``, tile by tile in name order."""
    if not folder.is_dir():
        raise SourceError(f"{folder}: CityGML folder not found")
    files = sorted(p for p in folder.glob(pattern) if p.is_file())
    if not files:
        raise SourceError(f"{folder}: no CityGML files matching '{pattern}'")
    for path in files:
        yield from read_tile(path)


def read_tile(path: Path) -> Iterator[CityGmlPart]:
    """The parts of one tile in document order; SourceError if the file is not well-formed."""
    count = 0
    try:
        with path.open("rb") as fh:
            events = etree.iterparse(fh, events=("end",), tag=BUILDING, huge_tree=True,
                                     remove_comments=True, resolve_entities=False,
                                     no_network=True, collect_ids=False)
            for _, building in events:
                yield from _read_building(building, path.name)
                count += 1
                _release(building)
            root = events.root
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, exc, f"after {count} buildings") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read CityGML: {exc.strerror or exc}") from None
    if root is None or root.tag not in CITY_MODEL:
        raise SourceError(f"{path}: not a CityGML 1.0 or 2.0 file (root element "
                          f"{'none' if root is None else root.tag})")


def count_objects(path: Path) -> dict[str, int]:
    """``{"Building": n, "BuildingPart": m}`` from a parser that builds no tree."""
    counter = _Counter()
    parser = etree.XMLParser(target=counter, huge_tree=True, resolve_entities=False,
                             no_network=True)
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                parser.feed(chunk)
        parser.close()
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(path, exc, "while counting its objects") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read CityGML: {exc.strerror or exc}") from None
    return counter.counts


class _Counter:
    def __init__(self) -> None:
        self.counts = {"Building": 0, "BuildingPart": 0}

    def start(self, tag: str, attrib: object) -> None:
        if tag in BUILDING or tag in PART:
            self.counts["Building" if tag in BUILDING else "BuildingPart"] += 1

    def close(self) -> None:
        pass


def _syntax_error(path: Path, exc: etree.XMLSyntaxError, where: str) -> SourceError:
    line, column = exc.position or (0, 0)
    return SourceError(f"{path}: the CityGML file is malformed or truncated ({exc.msg}, line "
                       f"{line}, column {column}), {where}",
                       hint="download the tile again and compare its size or checksum")


def _release(elem: etree._Element) -> None:
    """Free a processed element and everything before it, up to the root."""
    elem.clear(keep_tail=False)
    node: etree._Element | None = elem
    while node is not None and (parent := node.getparent()) is not None:
        while node.getprevious() is not None:
            del parent[0]
        node = parent


def _read_building(building: etree._Element, file: str) -> list[CityGmlPart]:
    bid = building.get(GML_ID) or f"{file}:line{building.sourceline}"
    try:
        index = {p.get(GML_ID): p for p in building.iter(POLYGON)}
        return list(_Building(file, bid, building, index).read(building, bid, None, {}))
    except Exception as exc:  # a building that cannot be read is reported, never dropped
        return [CityGmlPart(bid, bid, file, None, None, None, {}, None, None, (), 0, 0,
                            (f"building could not be read: {type(exc).__name__}: {exc}",))]


@dataclass
class _Building:
    file: str
    id: str
    elem: etree._Element
    index: dict[str | None, etree._Element]  # gml:id -> Polygon, all polygons of the building

    def read(self, obj: etree._Element, oid: str, function: str | None,
             attributes: dict[str, str]) -> Iterator[CityGmlPart]:
        """The object itself if it has no parts or geometry of its own, then its parts."""
        attributes = {**attributes, **_attributes(obj)}
        function = _text(obj, FUNCTION) or function
        parts = [p for c in obj if c.tag in CONSISTS for p in c if p.tag in PART]
        if not parts or any(c.tag in SOLID or c.tag in BOUNDED_BY for c in obj):
            yield self._part(obj, oid, function, attributes)
        for i, part in enumerate(parts):
            yield from self.read(part, part.get(GML_ID) or f"{oid}_part{i + 1}", function,
                                 attributes)

    def _part(self, obj: etree._Element, oid: str, function: str | None,
              attributes: dict[str, str]) -> CityGmlPart:
        problems = [f"{etree.QName(e).localname} without gml:id"
                    for e in dict.fromkeys((self.elem, obj)) if e.get(GML_ID) is None]
        own = [c for c in obj if c.tag not in CONSISTS]  # not the elements of its parts
        own_ids = {p.get(GML_ID) for c in own for p in c.iter(POLYGON)}
        surfaces: list[tuple[str, Rings]] = []
        for surface in (s for c in own if c.tag in BOUNDED_BY for s in c):
            if (kind := SURFACE_TAGS.get(surface.tag)) is None:
                problems.append(f"unsupported boundary surface {etree.QName(surface)}")
                continue
            for poly in self._polygons(surface, kind, problems):
                if rings := _polygon(poly, problems):
                    surfaces.append((kind, rings))
        refs = resolved = 0
        solids = [c for c in own if c.tag in SOLID]
        for ref in (str(m.get(HREF)) for s in solids for m in s.iter(MEMBER) if m.get(HREF)):
            refs += 1
            if not (targets := self._resolve(ref)):
                problems.append(f"lod2Solid references {ref} which is not in the building")
                continue
            resolved += 1
            if any(t.get(GML_ID) not in own_ids for t in targets):
                problems.append(f"lod2Solid references {ref} of another part of the building")
        if not solids:
            problems.append("no lod2Solid")
        elif not surfaces and any(True for s in solids for _ in s.iter(POLYGON)):
            problems.append("lod2Solid polygons without boundary surfaces (no semantics)")
        grounds = [rings for kind, rings in surfaces if kind == "GroundSurface"]
        footprint, ground_z = _footprint(grounds, problems)
        return CityGmlPart(
            id=oid, building_id=self.id, file=self.file, function=function,
            roof_type=_text(obj, ROOF_TYPE), measured_height=_height(obj, problems),
            attributes=attributes, footprint=footprint, ground_z=ground_z,
            surfaces=tuple(surfaces), solid_refs=refs, solid_resolved=resolved,
            problems=tuple(dict.fromkeys(problems)))

    def _polygons(self, surface: etree._Element, kind: str,
                  problems: list[str]) -> Iterator[etree._Element]:
        """The polygons of a boundary surface's lod2MultiSurface, inline or referenced."""
        multis = [c for c in surface if c.tag in LOD2_MULTI]
        if not multis:
            problems.append(f"{kind} {surface.get(GML_ID, '')} without lod2MultiSurface")
        for elem in (e for m in multis for e in m.iter(POLYGON, MEMBER)):
            if elem.tag == POLYGON:
                yield elem
            elif (ref := elem.get(HREF)) is not None:
                if not (targets := self._resolve(ref)):
                    problems.append(f"{kind} references {ref} which is not in the building")
                yield from targets

    def _resolve(self, href: str) -> list[etree._Element]:
        """The polygons an ``xlink:href`` points to inside this building ([] if none)."""
        gid = href.rpartition("#")[2]
        if (poly := self.index.get(gid)) is not None:
            return [poly]
        found = self.elem.xpath(".//*[@gml:id=$gid]", namespaces={"gml": GML}, gid=gid)
        return [p for t in found for p in t.iter(POLYGON)]


def _text(obj: etree._Element, tags: frozenset[str]) -> str | None:
    return next((c.text.strip() for c in obj if c.tag in tags and c.text and c.text.strip()),
                None)


def _height(obj: etree._Element, problems: list[str]) -> float | None:
    text = _text(obj, HEIGHT)
    try:
        return None if text is None else float(text)
    except ValueError:
        problems.append(f"measuredHeight '{text}' is not a number")
        return None


def _attributes(obj: etree._Element) -> dict[str, str]:
    """Generic attributes: any gen:*Attribute with a name and a gen:value, sets flattened."""
    out: dict[str, str] = {}
    for child in obj:
        if not isinstance(child.tag, str) or not child.tag.startswith(("{" + GEN[0], "{" + GEN[1])):
            continue
        if child.tag in GEN_SET:
            out.update(_attributes(child))
        elif (name := child.get("name")) is not None:
            out[name] = (next((v.text for v in child if v.tag in GEN_VALUE), None) or "").strip()
    return out


def _polygon(poly: etree._Element, problems: list[str]) -> Rings | None:
    """Exterior ring then interior rings; None (and a problem) if the exterior is unusable."""
    rings: list[np.ndarray] = []
    for boundary in (poly.find(EXTERIOR), *poly.findall(INTERIOR)):
        coords = _ring(boundary)
        if isinstance(coords, str):
            problems.append(f"{coords} (polygon {poly.get(GML_ID, 'without gml:id')})")
            if not rings:
                return None
        else:
            rings.append(coords)
    return tuple(rings)


def _ring(boundary: etree._Element | None) -> np.ndarray | str:
    """The (n, 3) vertices of a gml:LinearRing, not closed, or the problem as text."""
    ring = None if boundary is None else boundary.find(RING)
    if ring is None:
        return "polygon without exterior" if boundary is None else "ring is not a LinearRing"
    pos_list, pos = ring.find(POS_LIST), ring.findall(POS)
    holder = pos_list if pos_list is not None else pos[0] if pos else ring.find(COORDINATES)
    if holder is None:
        return "polygon ring without coordinates"
    text = holder.text if pos_list is not None or not pos else " ".join(p.text or "" for p in pos)
    try:
        values = np.array((text or "").replace(",", " ").split(), dtype=np.float64)
    except ValueError:
        return "polygon ring with unreadable coordinates"
    dim = holder.get("srsDimension") or holder.get("dimension") or "3"
    if dim != "3" or values.size % 3:
        return f"polygon ring with {values.size} values, not 3D (srsDimension {dim})"
    pts = values.reshape(-1, 3)
    if len(pts) > 1 and (pts[0] == pts[-1]).all():
        pts = pts[:-1]
    return pts if len(pts) >= 3 else "polygon ring with < 3 vertices"


def _footprint(grounds: list[Rings], problems: list[str]
               ) -> tuple[shapely.Polygon | shapely.MultiPolygon | None, float | None]:
    """The valid 2D union of the ground polygons (polygonal parts only) and their lowest z."""
    if not grounds:
        problems.append("no GroundSurface")
        return None, None
    ground_z = float(min(r[:, 2].min() for rings in grounds for r in rings))
    polys = [shapely.Polygon(rings[0][:, :2], [r[:, :2] for r in rings[1:]]) for rings in grounds]
    union = shapely.union_all(shapely.make_valid(np.array(polys, dtype=object)))
    pieces = [p for p in shapely.get_parts(shapely.get_parts(union))
              if isinstance(p, shapely.Polygon) and p.area > 0]
    if not pieces:
        problems.append("GroundSurface without area in 2D")
        return None, ground_z
    return (pieces[0] if len(pieces) == 1 else shapely.MultiPolygon(pieces)), ground_z


def whole_buildings(parts: list[CityGmlPart]) -> list[CityGmlPart]:
    """One record per Building from its parts (in first-seen order): the union of the parts'
    ground surfaces, the lowest ground, the highest measured height, the building's function
    and the roof type of its largest part, every part's surfaces."""
    groups: dict[str, list[CityGmlPart]] = {}
    for p in parts:
        groups.setdefault(p.building_id, []).append(p)
    out = []
    for bid, group in groups.items():
        if len(group) == 1 and group[0].id == bid:
            out.append(group[0])
            continue
        feet = [p.footprint for p in group if p.footprint is not None]
        largest = max(group, key=lambda p: 0 if p.footprint is None else p.footprint.area)
        heights = [p.measured_height for p in group if p.measured_height is not None]
        grounds = [p.ground_z for p in group if p.ground_z is not None]
        out.append(dataclasses.replace(
            largest, id=bid, footprint=shapely.union_all(feet) if feet else None,
            roof_type=next((p.roof_type for p in group if p.id == bid and p.roof_type),
                           largest.roof_type),
            measured_height=max(heights) if heights else None,
            ground_z=min(grounds) if grounds else None,
            surfaces=tuple(s for p in group for s in p.surfaces),
            solid_refs=sum(p.solid_refs for p in group),
            solid_resolved=sum(p.solid_resolved for p in group),
            problems=tuple(m for p in group for m in p.problems)))
    return out
