"""Issue 14: LoD1.2 bodies as INSPIRE Buildings 3D (bu-core3d 4.0) and CityGML 2.0, both
validated offline against the official schemas in shared/inspire-schemas."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from lxml import etree

from gdi.city3d import bu3d, citygml
from gdi.city3d.model import Body, ModelInfo, Surface
from gdi.errors import GdiError, SchemaValidationError
from gdi.inspire.model import feature_type
from gdi.xsd import schema_for, validate_file
from tests.conftest import SHARED

SCHEMAS = SHARED / "inspire-schemas"
WFS_MEMBER = "{http://www.opengis.net/wfs/2.0}member"
GML32 = "http://www.opengis.net/gml/3.2"
XLINK = "{http://www.w3.org/1999/xlink}href"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
NS = {"wfs": "http://www.opengis.net/wfs/2.0", "bu-base": bu3d.BU_BASE, "bu-core3d": bu3d.BU3D,
      "base": "http://inspire.ec.europa.eu/schemas/base/3.3", "gml": GML32,
      "core": citygml.CORE, "bldg": citygml.BLDG, "gen": citygml.GEN,
      "gml31": citygml.GML31}
INFO = ModelInfo(title="3D-Gebäudemodell Hildesheim (LoD1.2)",
                 namespace="https://registry.gdi-de.org/id/de.ni.hildesheim/bu3d")
COMPOUND = ("http://www.opengis.net/def/crs-compound?1=http://www.opengis.net/def/crs/EPSG/0/"
            "25832&2=http://www.opengis.net/def/crs/EPSG/0/7837")


def _walls(ring: np.ndarray, ground: float, roof: float) -> list[Surface]:
    """One outward wall per edge of a footprint ring that has the solid on its left
    (exterior counter-clockwise, holes clockwise seen from above)."""
    walls = []
    for a, b in zip(ring, np.roll(ring, -1, axis=0), strict=True):
        quad = np.array([[*a, ground], [*b, ground], [*b, roof], [*a, roof]], dtype=float)
        walls.append(Surface("WallSurface", (quad,)))
    return walls


def prism(body_id: str, outer: list[tuple[float, float]], ground: float, roof: float, *,
          holes: tuple[list[tuple[float, float]], ...] = (), **extra: Any) -> Body:
    """A LoD1.2 block: ``outer`` counter-clockwise, ``holes`` clockwise (seen from above)."""
    ext = np.asarray(outer, dtype=float)
    inner = [np.asarray(h, dtype=float) for h in holes]

    def lift(ring: np.ndarray, z: float) -> np.ndarray:
        return np.column_stack([ring, np.full(len(ring), z)])

    floor = Surface("GroundSurface", (lift(ext[::-1], ground),
                                      *(lift(h[::-1], ground) for h in inner)))
    top = Surface("RoofSurface", (lift(ext, roof), *(lift(h, roof) for h in inner)))
    walls = [w for ring in (ext, *inner) for w in _walls(ring, ground, roof)]
    attributes = {"function": "31001_1010", "roof_type": 1000, "storeys": 3,
                  "measured_height": roof - ground, "height_lod12": roof - ground,
                  "ground_height": ground, "status": extra.pop("status", "existing"),
                  "source": "ALKIS", "note": None, **extra.pop("attributes", {})}
    return Body(body_id, (floor, top, *walls), attributes, ground, roof,
                status=attributes["status"], **extra)


def box(body_id: str, x: float, y: float, ground: float = 90.0, roof: float = 99.5,
        **extra: Any) -> Body:
    return prism(body_id, [(x, y), (x + 12, y), (x + 12, y + 9), (x, y + 9)], ground, roof,
                 **extra)


def sample() -> list[Body]:
    x, y = 565000.0, 5778000.0
    courtyard = prism("DENI03AL0000c0Ur", [(x, y), (x + 40, y), (x + 40, y + 30), (x, y + 30)],
                      88.2, 104.75,
                      holes=([(x + 10, y + 10), (x + 10, y + 20), (x + 30, y + 20),
                              (x + 30, y + 10)],),
                      begin="2024-03-01T08:30:00+01:00", attributes={"storeys": None})
    return [
        box("DENI03AL0000a1Bc", x + 100, y, begin="2023-11-05T12:00:00Z"),
        courtyard,
        box("DENI03AL0000x9Yz", x + 200, y, attributes={"function": None, "roof_type": None}),
        box("plan-2025/07", x + 300, y, status="planned", begin="2025-01-15"),
    ]


def current_use(body: Body) -> str | None:
    return None if body.attributes.get("function") is None else "residential"


def test_bu3d_validates_and_maps(tmp_path: Path) -> None:
    bodies = sample()
    path = tmp_path / "bu3d.gml"
    assert bu3d.write_bu3d(path, bodies, INFO, current_use=current_use) == len(bodies)
    schema = schema_for(SCHEMAS, bu3d.schema_imports())
    assert validate_file(path, schema) == len(bodies)

    doc = etree.parse(str(path))
    buildings = doc.findall("wfs:member/bu-core3d:Building", NS)
    assert len(buildings) == len(doc.findall("wfs:member", NS)) == len(bodies)
    gids = [b.get(f"{{{GML32}}}id") for b in buildings]
    assert len(set(gids)) == len(gids) and gids[0] == "bu3d_DENI03AL0000a1Bc"
    assert gids[3] == "bu3d_plan-2025_07"
    local = [b.findtext("bu-base:inspireId/base:Identifier/base:localId", namespaces=NS)
             for b in buildings]
    assert local == [b.id for b in bodies]
    assert doc.getroot().get("numberReturned") == str(len(bodies))
    by_id = dict(zip(local, buildings, strict=True))

    def href(b: etree._Element, path: str) -> str:
        el = b.find(path, NS)
        assert el is not None, path
        return el.get(XLINK, "")

    cond = "bu-base:conditionOfConstruction"
    assert href(by_id["plan-2025/07"], cond).endswith("/ConditionOfConstructionValue/projected")
    assert href(by_id["DENI03AL0000a1Bc"], cond).endswith("/functional")
    first = by_id["DENI03AL0000a1Bc"]
    ident = "bu-base:inspireId/base:Identifier/base:"
    assert first.findtext(ident + "versionId", namespaces=NS) == "20231105T120000Z"
    assert first.findtext("bu-base:beginLifespanVersion", namespaces=NS) == "2023-11-05T12:00:00Z"
    assert by_id["DENI03AL0000c0Ur"].findtext("bu-base:beginLifespanVersion",
                                              namespaces=NS) == "2024-03-01T07:30:00Z"
    version = by_id["DENI03AL0000x9Yz"].find(ident + "versionId", NS)
    assert version is not None and version.get(XSI_NIL) == "true"
    assert href(first, "bu-base:currentUse/bu-base:CurrentUse/bu-base:currentUse"
                ).endswith("/CurrentUseValue/residential")
    use = by_id["DENI03AL0000x9Yz"].find("bu-base:currentUse", NS)
    assert use is not None and use.get(XSI_NIL) == "true" and len(use) == 0
    hag = "bu-base:heightAboveGround/bu-base:HeightAboveGround/bu-base:"
    assert first.findtext(hag + "value", namespaces=NS) == "9.500"
    assert href(first, hag + "heightReference").endswith("/ElevationReferenceValue/generalRoof")
    floors = by_id["DENI03AL0000c0Ur"].find("bu-base:numberOfFloorsAboveGround", NS)
    assert floors is not None and floors.get(XSI_NIL) == "true"
    assert first.findtext("bu-base:numberOfFloorsAboveGround", namespaces=NS) == "3"
    solid = first.find(".//gml:Solid", NS)
    assert solid is not None and solid.get("srsName") == COMPOUND
    yard = by_id["DENI03AL0000c0Ur"]
    assert len(yard.findall(".//gml:Shell/gml:surfaceMember", NS)) == 2 + 8
    assert len(yard.findall(".//gml:Polygon/gml:interior", NS)) == 2
    pos = first.findtext(".//gml:posList", namespaces=NS).split()
    assert len(pos) == 5 * 3 and pos[:3] == pos[-3:] and pos[0] == "565100.000"


def test_bu3d_every_property_decided_in_schema_order(tmp_path: Path) -> None:
    """PROPERTIES names each property of bu-core3d:Building in XSD order; voids only where
    nillable, omissions only where optional; a member has exactly the non-omitted ones."""
    props = feature_type(SCHEMAS, "bu-core3d/4.0", "Building").properties
    assert list(bu3d.PROPERTIES) == [p.name for p in props]
    for p in props:
        decision = bu3d.PROPERTIES[p.name]
        assert p.nillable or not decision.startswith("void:"), p.name
        assert p.min == 0 or not decision.startswith("omit:"), p.name
    path = tmp_path / "bu3d.gml"
    bu3d.write_bu3d(path, sample()[:1], INFO, current_use=current_use)
    building = etree.parse(str(path)).find("wfs:member/bu-core3d:Building", NS)
    assert building is not None
    written = [etree.QName(el).localname for el in building]
    assert written == [k for k, v in bu3d.PROPERTIES.items() if not v.startswith("omit:")]


def test_bu3d_check_can_fail(tmp_path: Path) -> None:
    path = tmp_path / "bu3d.gml"
    bu3d.write_bu3d(path, sample(), INFO, current_use=current_use)
    doc = etree.parse(str(path))
    ident = doc.find("wfs:member/bu-core3d:Building/bu-base:inspireId", NS)
    assert ident is not None
    ident.getparent().remove(ident)
    broken = tmp_path / "broken.gml"
    doc.write(str(broken), xml_declaration=True, encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="inspireId"):
        validate_file(broken, schema_for(SCHEMAS, bu3d.schema_imports()))


def test_citygml_validates_and_maps(tmp_path: Path) -> None:
    bodies = sample()
    path = tmp_path / "model.gml"
    assert citygml.write_citygml(path, bodies, INFO) == len(bodies)
    schema = schema_for(SCHEMAS, citygml.schema_imports())
    assert validate_file(path, schema, member=citygml.MEMBER) == len(bodies)

    doc = etree.parse(str(path))
    root = doc.getroot()
    assert root.findtext("gml31:name", namespaces=NS) == INFO.title
    env = root.find("gml31:boundedBy/gml31:Envelope", NS)
    assert env is not None and env.get("srsName") == COMPOUND and env.get("srsDimension") == "3"
    assert env.findtext("gml31:lowerCorner", namespaces=NS) == "565000.000 5778000.000 88.200"
    assert env.findtext("gml31:upperCorner", namespaces=NS) == "565312.000 5778030.000 104.750"
    buildings = root.findall("core:cityObjectMember/bldg:Building", NS)
    gids = [b.get(f"{{{citygml.GML31}}}id") for b in buildings]
    assert gids == ["DENI03AL0000a1Bc", "DENI03AL0000c0Ur", "DENI03AL0000x9Yz", "b_plan-2025_07"]
    first = buildings[0]
    function = first.find("bldg:function", NS)
    assert function is not None and function.text == "31001_1010"
    assert function.get("codeSpace") == citygml.FUNCTION_CODESPACE
    assert first.findtext("bldg:roofType", namespaces=NS) == "1000"
    assert first.findtext("bldg:storeysAboveGround", namespaces=NS) == "3"
    assert first.findtext("core:creationDate", namespaces=NS) == "2023-11-05"
    generics = {a.get("name"): (etree.QName(a).localname, a.findtext("gen:value", namespaces=NS))
                for a in first.findall("gen:*", NS)}
    assert generics == {"height_lod12": ("doubleAttribute", "9.5"),
                        "ground_height": ("doubleAttribute", "90.0"),
                        "status": ("stringAttribute", "existing"),
                        "source": ("stringAttribute", "ALKIS")}
    assert buildings[2].find("bldg:function", NS) is None
    assert buildings[2].find("bldg:roofType", NS) is None
    surfaces = buildings[1].findall(
        "bldg:lod1Solid/gml31:Solid/gml31:exterior/gml31:CompositeSurface/gml31:surfaceMember",
        NS)
    assert len(surfaces) == 10


def test_citygml_check_can_fail(tmp_path: Path) -> None:
    path = tmp_path / "model.gml"
    citygml.write_citygml(path, sample(), INFO)
    doc = etree.parse(str(path))
    building = doc.find("core:cityObjectMember/bldg:Building", NS)
    assert building is not None
    height = building.find("bldg:measuredHeight", NS)
    assert height is not None
    building.remove(height)
    building.insert(0, height)  # before gml:name and the city object properties: wrong order
    broken = tmp_path / "broken.gml"
    doc.write(str(broken), xml_declaration=True, encoding="utf-8")
    with pytest.raises(SchemaValidationError, match="creationDate"):
        validate_file(broken, schema_for(SCHEMAS, citygml.schema_imports()), member=citygml.MEMBER)


def test_unencodable_bodies_are_refused(tmp_path: Path) -> None:
    twice = [box("DENI03AL0000dup1", 0, 0), box("DENI03AL0000dup1", 20, 0)]
    path = tmp_path / "dup.gml"
    with pytest.raises(GdiError, match="not unique"):
        bu3d.write_bu3d(path, twice, INFO, current_use=current_use)
    assert not path.exists()
    with pytest.raises(GdiError, match="not unique"):
        citygml.write_citygml(path, twice, INFO)
    with pytest.raises(GdiError, match="ISO 8601"):
        citygml.write_citygml(path, [box("DENI03AL0000bad1", 0, 0, begin="yesterday")], INFO)
    assert not path.exists()
    with pytest.raises(GdiError, match="namespace"):
        bu3d.write_bu3d(path, sample(), ModelInfo(title="no namespace"), current_use=current_use)


def test_45000_buildings_timing(tmp_path: Path) -> None:
    rng = np.random.default_rng(14)
    xy = rng.uniform([560000, 5770000], [575000, 5785000], size=(45000, 2))
    bodies = [box(f"DENI03AL{i:08d}", float(x), float(y), begin="2024-06-01T00:00:00Z")
              for i, (x, y) in enumerate(xy)]

    class Count:
        n = 0

        def update(self, k: int) -> None:
            self.n += k

    for name, write in (
        ("bu3d", lambda p, c: bu3d.write_bu3d(p, bodies, INFO, current_use=current_use,
                                              progress=c)),
        ("citygml", lambda p, c: citygml.write_citygml(p, bodies, INFO, progress=c)),
    ):
        path, counter = tmp_path / f"{name}.gml", Count()
        t = time.perf_counter()
        assert write(path, counter) == len(bodies)
        elapsed = time.perf_counter() - t
        assert counter.n == len(bodies)
        print(f"\n{name}: {len(bodies)} buildings in {elapsed:.2f} s, "
              f"{path.stat().st_size / 1e6:.0f} MB")
