"""Issue 15: the state's LoD2 (two real NRW tiles, AdV LoD2-DE CityGML 1.0) written next to
the LoD1.2 in CityJSON 2.0 / CityJSONSeq, CityGML 2.0 and INSPIRE BU-3D, every file validated
against its official schemas (offline) and compared with the source: polygon counts, semantics
and vertices (within 1 mm).

The source's README counts boundary surface *elements* (865 Wall, 191 Roof, 119 Ground,
35 Closure in tile 339_5727); a few of them hold two polygons, and the model has one Surface
per polygon, so the encoders write one boundary surface (semantic surface) per polygon: the
per-kind polygon counts are compared, and the README's element counts are checked against the
source so the difference stays explained.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from lxml import etree

from gdi.city3d import bu3d, citygml, cityjson, solids
from gdi.city3d.citygml_read import CityGmlPart, read_tile
from gdi.city3d.model import Body, ModelInfo, Surface
from gdi.errors import GdiError, SchemaValidationError
from gdi.xsd import schema_for, validate_file
from tests.conftest import SHARED

TILES = sorted((SHARED / "real-data" / "3d").glob("LoD2_*.gml"))
JSON_SCHEMAS = SHARED / "cityjson-schemas"
XSD = SHARED / "inspire-schemas"
KINDS = ("WallSurface", "RoofSurface", "GroundSurface", "ClosureSurface")
README_SURFACES = {  # boundary surface elements per kind, from the tiles' README
    "LoD2_32_339_5727_1_NW.gml": (865, 191, 119, 35),
    "LoD2_32_329_5730_1_NW.gml": (125, 39, 21, 16),
}
SRC = {"bldg": "http://www.opengis.net/citygml/building/1.0", "gml": "http://www.opengis.net/gml"}
NS = {"core": citygml.CORE, "bldg": citygml.BLDG, "gml31": citygml.GML31,
      "wfs": "http://www.opengis.net/wfs/2.0", "bu-core3d": bu3d.BU3D,
      "gml": "http://www.opengis.net/gml/3.2", "xlink": "http://www.w3.org/1999/xlink"}
INFO = ModelInfo(title="LoD2 NRW (Test)", reference_date="2021-01-23",
                 namespace="https://registry.gdi-de.org/id/de.nw.test/bu3d")


@dataclasses.dataclass(frozen=True)
class Source:
    bodies: list[Body]
    elements: Counter[str]   # boundary surface elements per kind (lxml)
    polygons: Counter[str]   # polygons in boundary surfaces per kind (lxml)
    parts: int               # bldg:BuildingPart elements (lxml)
    solids: int              # bldg:lod2Solid elements (lxml)


def _body(building_id: str, parts: list[CityGmlPart]) -> Body:
    """LoD1.2 from the union of the parts' footprints (its largest polygon: a few parts do
    not quite touch), LoD2 one shell per part as read."""
    union = shapely.union_all([p.footprint for p in parts])
    footprint = max(shapely.get_parts(union), key=lambda g: g.area)
    ground = min(float(p.ground_z) for p in parts if p.ground_z is not None)
    roof = max(float(p.ground_z or 0) + float(p.measured_height or 0) for p in parts)
    attributes = {"function": parts[0].function, "roof_type": parts[0].roof_type,
                  "measured_height": round(roof - ground, 3), "source": "Geobasis NRW LoD2"}
    lod2 = tuple(tuple(Surface(kind, rings) for kind, rings in p.surfaces)  # type: ignore[arg-type]
                 for p in parts)
    return Body(building_id, solids.extrude(footprint, ground, roof), attributes, ground, roof,
                lod2=lod2, lod2_parts=tuple(p.id for p in parts))


@pytest.fixture(scope="module")
def source() -> Source:
    assert len(TILES) == 2, "the real NRW tiles are missing"
    bodies, elements, polygons, parts, solids_ = [], Counter[str](), Counter[str](), 0, 0
    for tile in TILES:
        groups: dict[str, list[CityGmlPart]] = defaultdict(list)
        for part in read_tile(tile):
            if part.footprint is not None and part.ground_z is not None:
                groups[part.building_id].append(part)
        bodies += [_body(bid, ps) for bid, ps in groups.items()]
        doc = etree.parse(str(tile))
        surfaces = doc.xpath("//bldg:boundedBy/*", namespaces=SRC)
        tile_elements = Counter(etree.QName(s).localname for s in surfaces)
        assert tuple(tile_elements[k] for k in KINDS) == README_SURFACES[tile.name]
        elements += tile_elements
        for s in surfaces:
            polygons[etree.QName(s).localname] += len(s.findall(".//gml:Polygon", SRC))
        parts += len(doc.xpath("//bldg:BuildingPart", namespaces=SRC))
        solids_ += len(doc.xpath("//bldg:lod2Solid", namespaces=SRC))
    return Source(bodies, elements, polygons, parts, solids_)


def _lod2_xyz(bodies: list[Body]) -> np.ndarray:
    return np.concatenate([r for b in bodies for shell in b.lod2 for s in shell for r in s.rings])


def _flat(node: Any) -> list[int]:
    return [i for x in node for i in _flat(x)] if isinstance(node, list) else [node]


def _kinds(bodies: list[Body]) -> Counter[str]:
    return Counter(s.kind for b in bodies for shell in b.lod2 for s in shell)


def _lod2_solids(objects: dict[str, Any], body: Body) -> list[dict[str, Any]]:
    """The LoD2 Solids of ``body`` in ``Body.lod2`` order: the Building's own (single part)
    or its BuildingParts' (linked both ways)."""
    building, single = objects[body.id], len(body.lod2) == 1
    lod1 = building["geometry"][0]
    assert (lod1["type"], lod1["lod"]) == ("Solid", "1.2")
    assert building.get("children", []) == ([] if single else list(body.lod2_parts))
    out = []
    for name in body.lod2_parts:
        obj = building if single else objects[name]
        assert obj is building or (obj["type"], obj["parents"]) == ("BuildingPart", [body.id])
        [solid] = [g for g in obj["geometry"] if g["lod"] == "2"]
        assert solid["type"] == "Solid"
        out.append(solid)
    return out


def _check_cityjson_lod2(objects: dict[str, Any], vertices: np.ndarray,
                         transform: dict[str, Any], bodies: list[Body]) -> None:
    """Semantics as in the model, vertices within 1 mm."""
    kinds: Counter[str] = Counter()
    index: list[int] = []
    for body in bodies:
        for solid in _lod2_solids(objects, body):
            names = [s["type"] for s in solid["semantics"]["surfaces"]]
            kinds.update(names[v] for v in _flat(solid["semantics"]["values"]))
            index += _flat(solid["boundaries"])
    assert kinds == _kinds(bodies)
    xyz = vertices[index] * transform["scale"] + transform["translate"]
    assert np.abs(xyz - _lod2_xyz(bodies)).max() <= 0.001


def test_cityjson_and_seq_lod2(source: Source, tmp_path: Path) -> None:
    bodies = source.bodies
    path = tmp_path / "lod2.city.json"
    t = time.perf_counter()
    stats = cityjson.write_cityjson(path, bodies, INFO)
    written = time.perf_counter() - t
    doc = cityjson.read_cityjson(path)
    t = time.perf_counter()
    cityjson.validate_schema(doc, JSON_SCHEMAS)  # the whole document, every building
    checked = time.perf_counter() - t
    objects = doc["CityObjects"]
    types = Counter(o["type"] for o in objects.values())
    assert types == {"Building": len(bodies), "BuildingPart": source.parts}
    assert stats["buildings"] == len(bodies)
    lod2 = [g for o in objects.values() for g in o["geometry"] if g["lod"] == "2"]
    assert len(lod2) == sum(len(b.lod2) for b in bodies) == source.solids
    assert sum(len(g["boundaries"][0]) for g in lod2) == sum(source.polygons.values())
    assert _kinds(bodies) == source.polygons  # the model has every source polygon
    vertices = np.asarray(doc["vertices"], dtype=np.int64)
    _check_cityjson_lod2(objects, vertices, doc["transform"], bodies)
    # one vertex list for both LoDs: every distinct millimetre point once, some shared
    lod1 = np.concatenate([r for b in bodies for s in b.shell for r in s.rings])
    mm = np.rint(np.concatenate([lod1, _lod2_xyz(bodies)]) * 1000).astype(np.int64)
    assert len(vertices) == len(np.unique(mm, axis=0))
    shared = len(np.unique(np.rint(lod1 * 1000), axis=0)) + len(
        np.unique(np.rint(_lod2_xyz(bodies) * 1000), axis=0)) - len(vertices)
    assert shared > 0

    seq = tmp_path / "lod2.city.jsonl"
    t = time.perf_counter()
    cityjson.write_cityjsonseq(seq, bodies, INFO)
    seq_written = time.perf_counter() - t
    head, *features = (json.loads(line) for line in seq.read_text("utf-8").splitlines())
    cityjson.validate_schema(head, JSON_SCHEMAS)
    assert [f["id"] for f in features] == [b.id for b in bodies]
    for feature, body in zip(features, bodies, strict=True):
        cityjson.validate_schema(feature, JSON_SCHEMAS, kind="CityJSONFeature")
        assert list(feature["CityObjects"]) == [body.id, *objects[body.id].get("children", [])]
        _check_cityjson_lod2(feature["CityObjects"],
                             np.asarray(feature["vertices"], dtype=np.int64), head["transform"],
                             [body])
    print(f"\nCityJSON: {len(bodies)} buildings, {stats['vertices']} vertices, write "
          f"{written:.3f} s, full schema check {checked:.2f} s; CityJSONSeq {seq_written:.3f} s")


def _citygml_buildings(path: Path) -> list[etree._Element]:
    return etree.parse(str(path)).findall("core:cityObjectMember/bldg:Building", NS)


def test_citygml_lod2(source: Source, tmp_path: Path) -> None:
    bodies = source.bodies
    path = tmp_path / "lod2.citygml.gml"
    t = time.perf_counter()
    assert citygml.write_citygml(path, bodies, INFO) == len(bodies)
    written = time.perf_counter() - t
    schema = schema_for(XSD, citygml.schema_imports())
    t = time.perf_counter()
    assert validate_file(path, schema, member=citygml.MEMBER) == len(bodies)
    checked = time.perf_counter() - t
    root = etree.parse(str(path)).getroot()
    surfaces = root.findall(".//bldg:boundedBy/*", NS)
    assert Counter(etree.QName(s).localname for s in surfaces) == source.polygons
    polygons = root.findall(".//bldg:boundedBy//gml31:Polygon", NS)
    assert len(polygons) == sum(source.polygons.values())
    hrefs = [m.get(f"{{{NS['xlink']}}}href") for m in root.iterfind(
        ".//bldg:lod2Solid//gml31:surfaceMember", NS)]
    assert sorted(hrefs) == sorted("#" + p.get(f"{{{citygml.GML31}}}id") for p in polygons)
    assert len(root.findall(".//bldg:BuildingPart", NS)) == source.parts
    for b in _citygml_buildings(path):  # building.xsd order; lod1Solid always kept
        tags = [etree.QName(c).localname for c in b]
        lod = tags[tags.index("lod1Solid"):]
        assert lod in (["lod1Solid", "lod2Solid", *["boundedBy"] * (len(lod) - 2)],
                       ["lod1Solid", *["consistsOfBuildingPart"] * (len(lod) - 1)])
    # read back with the project's own reader: the same parts, surfaces and vertices
    back = {p.id: p for p in read_tile(path)}
    by_part = {pid: shell for b in bodies for pid, shell in zip(b.lod2_parts, b.lod2,
                                                                  strict=True)}
    assert back.keys() == by_part.keys()
    for pid, part in back.items():
        assert not part.problems and part.solid_refs == part.solid_resolved == len(part.surfaces)
        assert [k for k, _ in part.surfaces] == [s.kind for s in by_part[pid]]
        for (_, rings), s in zip(part.surfaces, by_part[pid], strict=True):
            for a, b in zip(rings, s.rings, strict=True):
                assert np.abs(a - b).max() <= 0.001
    print(f"\nCityGML: {len(bodies)} buildings, {len(polygons)} LoD2 polygons, write "
          f"{written:.3f} s, XSD check {checked:.2f} s, {path.stat().st_size / 1e6:.1f} MB")


def test_bu3d_lod2(source: Source, tmp_path: Path) -> None:
    bodies = source.bodies
    path = tmp_path / "lod2.bu3d.gml"
    t = time.perf_counter()
    assert bu3d.write_bu3d(path, bodies, INFO, current_use=lambda b: None) == len(bodies)
    written = time.perf_counter() - t
    t = time.perf_counter()
    assert validate_file(path, schema_for(XSD, bu3d.schema_imports())) == len(bodies)
    checked = time.perf_counter() - t
    buildings = etree.parse(str(path)).findall("wfs:member/bu-core3d:Building", NS)
    expected = [k for k, v in bu3d.PROPERTIES.items()
                if not v.startswith("omit:") or k == "geometry3DLoD2"]
    xyz = []
    for b in buildings:
        assert [etree.QName(c).localname for c in b] == expected
        multi = b.find("bu-core3d:geometry3DLoD2/bu-core3d:BuildingGeometry3DLoD2/"
                       "bu-core3d:geometryMultiSurface/gml:MultiSurface", NS)
        assert multi is not None
        for pos in multi.iterfind(".//gml:posList", NS):
            ring = np.array(pos.text.split(), dtype=float).reshape(-1, 3)
            assert (ring[0] == ring[-1]).all()
            xyz.append(ring[:-1])
    assert sum(1 for b in buildings for _ in b.iterfind(".//gml:MultiSurface/gml:surfaceMember",
                                                          NS)) == sum(source.polygons.values())
    assert np.abs(np.concatenate(xyz) - _lod2_xyz(bodies)).max() <= 0.001
    print(f"\nBU-3D: {len(bodies)} buildings, write {written:.3f} s, XSD check {checked:.2f} s, "
          f"{path.stat().st_size / 1e6:.1f} MB")


def test_reused_templates_and_layouts(source: Source, tmp_path: Path) -> None:
    """Templates reused from body to body drop what the previous body had: LoD1.2-only,
    single-part, several-part and a building with geometry of its own besides its parts (a
    part carrying the building's id), in one file each, every file valid."""
    multi = [b for b in source.bodies if len(b.lod2) > 2][:2]
    single = [b for b in source.bodies if len(b.lod2) == 1][:2]
    own = dataclasses.replace(multi[1], lod2_parts=(multi[1].id, *multi[1].lod2_parts[1:]))
    bodies = [multi[0], dataclasses.replace(single[0], lod2=(), lod2_parts=()), single[1], own,
              dataclasses.replace(single[0], id=single[0].id + "x", lod2=(), lod2_parts=())]
    has_lod2 = [True, False, True, True, False]
    path = tmp_path / "mixed.bu3d.gml"
    bu3d.write_bu3d(path, bodies, INFO, current_use=lambda b: None)
    validate_file(path, schema_for(XSD, bu3d.schema_imports()))
    members = etree.parse(str(path)).findall("wfs:member/bu-core3d:Building", NS)
    assert [b.find("bu-core3d:geometry3DLoD2", NS) is not None for b in members] == has_lod2

    path = tmp_path / "mixed.citygml.gml"
    citygml.write_citygml(path, bodies, INFO)
    validate_file(path, schema_for(XSD, citygml.schema_imports()), member=citygml.MEMBER)
    layout = [([etree.QName(c).localname for c in b if "lod2" in c.tag or "Part" in c.tag],
               len(b.findall("bldg:boundedBy", NS))) for b in _citygml_buildings(path)]
    parts = ["consistsOfBuildingPart"]
    assert layout == [(parts * len(multi[0].lod2), 0), ([], 0), (["lod2Solid"], len(
        single[1].lod2[0])), (["lod2Solid", *parts * (len(own.lod2) - 1)], len(own.lod2[0])),
        ([], 0)]
    back = {p.id: p for p in read_tile(path)}
    lod1_only = {bodies[1].id, bodies[4].id}  # the reader reports them: "no lod2Solid"
    assert set(back) == {pid for b in bodies for pid in b.lod2_parts} | lod1_only
    assert all(not p.problems for p in back.values() if p.id not in lod1_only)

    path = tmp_path / "mixed.city.json"
    cityjson.write_cityjson(path, bodies, INFO)
    doc = cityjson.read_cityjson(path)
    cityjson.validate_schema(doc, JSON_SCHEMAS)
    objects = doc["CityObjects"]
    assert [len(objects[b.id]["geometry"]) for b in bodies] == [1, 1, 2, 2, 1]
    assert objects[own.id]["children"] == list(own.lod2_parts[1:])
    for body in bodies:
        assert "children" in objects[body.id] or len(body.lod2) < 2
    assert len(objects) == len(bodies) + len(multi[0].lod2) + len(own.lod2) - 1


def test_unencodable_lod2_is_refused(source: Source, tmp_path: Path) -> None:
    body = next(b for b in source.bodies if len(b.lod2) > 1)
    wrong = [dataclasses.replace(body, lod2_parts=body.lod2_parts[:1]),
             dataclasses.replace(body, lod2_parts=(body.id,) * len(body.lod2))]
    for bad in wrong:
        with pytest.raises(GdiError, match="part"):
            citygml.write_citygml(tmp_path / "bad.gml", [bad], INFO)
        with pytest.raises(GdiError, match="part"):
            cityjson.write_cityjson(tmp_path / "bad.city.json", [bad], INFO)
    assert not (tmp_path / "bad.gml").exists() and not (tmp_path / "bad.city.json").exists()


def test_broken_documents_fail(source: Source, tmp_path: Path) -> None:
    bodies = source.bodies[:5]
    path = tmp_path / "lod2.city.json"
    cityjson.write_cityjson(path, bodies, INFO)
    doc = copy.deepcopy(cityjson.read_cityjson(path))
    lod2 = next(g for o in doc["CityObjects"].values() for g in o["geometry"] if g["lod"] == "2")
    lod2["type"] = "MultiSolid"  # not allowed for a Building or BuildingPart in 2.0.2
    with pytest.raises(SchemaValidationError, match="geometry"):
        cityjson.validate_schema(doc, JSON_SCHEMAS)

    path = tmp_path / "lod2.citygml.gml"
    citygml.write_citygml(path, bodies, INFO)
    tree = etree.parse(str(path))
    building = next(b for b in tree.iterfind(".//bldg:Building", NS)
                    if b.find("bldg:boundedBy", NS) is not None)
    building.find("bldg:lod1Solid", NS).addprevious(building.find("bldg:boundedBy", NS))
    broken = tmp_path / "broken.citygml.gml"
    tree.write(str(broken), xml_declaration=True, encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="lod1Solid"):
        validate_file(broken, schema_for(XSD, citygml.schema_imports()), member=citygml.MEMBER)

    path = tmp_path / "lod2.bu3d.gml"
    bu3d.write_bu3d(path, bodies, INFO, current_use=lambda b: None)
    tree = etree.parse(str(path))
    building = tree.find("wfs:member/bu-core3d:Building", NS)
    building.find("bu-core3d:geometry3DLoD1", NS).addprevious(
        building.find("bu-core3d:geometry3DLoD2", NS))
    broken = tmp_path / "broken.bu3d.gml"
    tree.write(str(broken), xml_declaration=True, encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="geometry3DLoD1"):
        validate_file(broken, schema_for(XSD, bu3d.schema_imports()))
