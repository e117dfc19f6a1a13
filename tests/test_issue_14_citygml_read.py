"""Issue 14: the streaming reader of AdV LoD2-DE CityGML, on two real NRW tiles.

The expected numbers are those of ``real-data/3d/README.md``; the object counts are checked
again against a plain ``lxml.etree.parse`` of each tile.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from gdi.city3d.citygml_read import (
    CityGmlPart,
    count_objects,
    crs_of,
    read_folder,
    read_tile,
    srs_codes,
)
from gdi.errors import SourceError
from tests.conftest import ROOT, SHARED

TILES = SHARED / "real-data" / "3d"
SMALL, LARGE = TILES / "LoD2_32_329_5730_1_NW.gml", TILES / "LoD2_32_339_5727_1_NW.gml"
NS = {"bldg": "http://www.opengis.net/citygml/building/1.0", "gml": "http://www.opengis.net/gml"}
README = {  # tile: buildings, parts, buildings split into parts, solids, polygons, heights
    LARGE.name: (106, 24, 11, 119, 1219, (2.379, 12.627)),
    SMALL.name: (16, 7, 2, 21, 206, (2.196, 8.913)),
}
ROOF_TYPES = {  # on Buildings without parts plus on BuildingParts (README tables added up)
    LARGE.name: {"3100": 45 + 12, "1000": 34 + 5, "2100": 13 + 3, "5000": 1 + 2, "3500": 1,
                 "3300": 1, "9999": 1, "3200": 1},
    SMALL.name: {"1000": 7 + 1, "3100": 3 + 2, "2100": 2, "9999": 1, "3300": 1, "5000": 2,
                 "3200": 2},
}
FUNCTIONS = {  # per Building
    LARGE.name: {"31001_2720": 31, "51009_1610": 18, "31001_2724": 14, "31001_2463": 13,
                 "31001_1010": 9, "31001_2723": 9, "31001_1210": 6, "31001_1313": 4,
                 "51003_1201": 1, "51009_1611": 1},
    SMALL.name: {"31001_2720": 7, "31001_2723": 3, "31001_1210": 3, "51009_1610": 1,
                 "31001_2523": 1, "31001_1010": 1},
}
BOTH = pytest.mark.parametrize("tile", [LARGE, SMALL], ids=["339_5727", "329_5730"])
pytestmark = pytest.mark.skipif(not LARGE.is_file(), reason=f"real tiles missing in {TILES}")


@BOTH
def test_counts_match_a_plain_parse(tile: Path) -> None:
    tree = etree.parse(str(tile))
    buildings = tree.xpath("//bldg:Building", namespaces=NS)
    parts = tree.xpath("//bldg:BuildingPart", namespaces=NS)
    split = tree.xpath("//bldg:Building[bldg:consistsOfBuildingPart]", namespaces=NS)
    n_buildings, n_parts, n_split, n_solids, *_ = README[tile.name]
    assert (len(buildings), len(parts), len(split)) == (n_buildings, n_parts, n_split)
    assert count_objects(tile) == {"Building": len(buildings), "BuildingPart": len(parts)}

    read = list(read_tile(tile))
    assert len(read) == len(buildings) - len(split) + len(parts) == n_solids
    gml_id = "{http://www.opengis.net/gml}id"
    expected_ids = [b.get(gml_id) for b in buildings if b not in split] + \
        [p.get(gml_id) for p in parts]
    assert sorted(p.id for p in read) == sorted(expected_ids)
    assert {p.building_id for p in read} == {b.get(gml_id) for b in buildings}
    assert {p.file for p in read} == {tile.name}


@BOTH
def test_geometry_attributes_and_solids(tile: Path) -> None:
    read = list(read_tile(tile))
    *_, n_polygons, _ = README[tile.name]
    envelope = etree.parse(str(tile)).find("gml:boundedBy/gml:Envelope", NS)
    z_low, z_high = (float(envelope.findtext(f"gml:{corner}", namespaces=NS).split()[2])
                     for corner in ("lowerCorner", "upperCorner"))
    for part in read:
        assert part.problems == ()
        assert part.footprint is not None and part.footprint.is_valid
        assert part.footprint.area > 0 and part.footprint.geom_type == "Polygon"
        assert part.ground_z is not None and z_low <= part.ground_z < z_high
        assert part.attributes["Gemeindeschluessel"] == "05170048"
        assert part.attributes["Grundrissaktualitaet"] == "2020-07-01"
        assert part.solid_refs == part.solid_resolved == len(part.surfaces) > 0
        kinds = collections.Counter(kind for kind, _ in part.surfaces)
        assert kinds["GroundSurface"] >= 1 and kinds["RoofSurface"] >= 1
        for _, rings in part.surfaces:
            for ring in rings:
                assert ring.ndim == 2 and ring.shape[1] == 3 and len(ring) >= 3
                assert not np.array_equal(ring[0], ring[-1])  # not closed
    assert sum(p.solid_refs for p in read) == n_polygons


@BOTH
def test_roof_types_functions_and_heights(tile: Path) -> None:
    read = list(read_tile(tile))
    assert collections.Counter(p.roof_type for p in read) == ROOF_TYPES[tile.name]
    per_building = {p.building_id: p.function for p in read}
    assert collections.Counter(per_building.values()) == FUNCTIONS[tile.name]
    heights = [p.measured_height for p in read]
    assert all(h is not None for h in heights)
    assert (min(heights), max(heights)) == README[tile.name][5]  # type: ignore[type-var]


def test_building_attributes_are_inherited_by_parts() -> None:
    read = list(read_tile(SMALL))
    parts = [p for p in read if p.id != p.building_id]
    assert len(parts) == 7
    for part in parts:
        assert part.function is not None
        assert "Geometrietyp2DReferenz" in part.attributes  # only on the Building
        assert "DatenquelleDachhoehe" in part.attributes  # only on the part


@BOTH
def test_crs_of_the_real_tiles(tile: Path) -> None:
    assert crs_of(tile) == ("EPSG:25832", "EPSG:7837")


@pytest.mark.parametrize(("name", "expected"), [
    ("urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH*GCG2016", ("EPSG:25832", "EPSG:7837")),
    ("urn:adv:crs:ETRS89_UTM33*DE_DHHN2016_NH*GCG2016", ("EPSG:25833", "EPSG:7837")),
    ("urn:adv:crs:ETRS89_UTM32*DE_DHHN92_NH", ("EPSG:25832", "EPSG:5783")),
    ("urn:adv:crs:ETRS89_UTM32", ("EPSG:25832", None)),
    ("EPSG:25832", ("EPSG:25832", None)),
    ("urn:ogc:def:crs:EPSG::25832", ("EPSG:25832", None)),
    ("urn:ogc:def:crs:EPSG:6.12:25833", ("EPSG:25833", None)),
    ("http://www.opengis.net/def/crs/EPSG/0/25832", ("EPSG:25832", None)),
    ("urn:ogc:def:crs,crs:EPSG::25832,crs:EPSG::7837", ("EPSG:25832", "EPSG:7837")),
    ("urn:ogc:def:crs,crs:EPSG:6.12:25832,crs:EPSG:6.12:5783", ("EPSG:25832", "EPSG:5783")),
    ("EPSG:25832+7837", ("EPSG:25832", "EPSG:7837")),
    ("urn:ogc:def:crs:EPSG::5555", ("EPSG:25832", "EPSG:5783")),
])
def test_srs_names(name: str, expected: tuple[str, str | None]) -> None:
    assert srs_codes(name) == expected


@pytest.mark.parametrize("name", ["urn:adv:crs:ETRS89_UTM32*DE_FOO_NH", "urn:adv:crs:XY",
                                  "urn:ogc:def:crs:OGC:1.3:CRS84", "local"])
def test_unknown_srs_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / "tile.gml"
    path.write_text(LARGE.read_text(encoding="utf-8").replace(
        "urn:adv:crs:ETRS89_UTM32*DE_DHHN2016_NH*GCG2016", name), encoding="utf-8")
    with pytest.raises(SourceError, match="unknown srsName") as info:
        crs_of(path)
    assert name in str(info.value) and "tile.gml" in str(info.value)


def test_truncated_tile_is_a_source_error(tmp_path: Path) -> None:
    data = LARGE.read_bytes()
    path = tmp_path / LARGE.name
    path.write_bytes(data[: len(data) // 2])
    assert crs_of(path) == ("EPSG:25832", "EPSG:7837")  # the header is still there
    for action in (lambda: list(read_tile(path)), lambda: count_objects(path)):
        with pytest.raises(SourceError, match="malformed or truncated") as info:
            action()
        assert str(path) in str(info.value) and "line" in str(info.value)
        assert info.value.__cause__ is None and info.value.__suppress_context__
        assert not isinstance(info.value, etree.LxmlError)
    parts: list[CityGmlPart] = []
    with pytest.raises(SourceError, match=r"after \d+ buildings"):
        parts.extend(read_tile(path))
    assert 0 < len(parts) < README[LARGE.name][3]  # the buildings before the cut were read


def test_not_a_citygml_file(tmp_path: Path) -> None:
    (empty := tmp_path / "empty.gml").write_bytes(b"")
    (other := tmp_path / "other.gml").write_bytes(b"<?xml version='1.0'?><a><b/></a>")
    with pytest.raises(SourceError, match="malformed or truncated"):
        list(read_tile(empty))
    with pytest.raises(SourceError, match=r"not a CityGML 1\.0 or 2\.0 file"):
        list(read_tile(other))
    with pytest.raises(SourceError, match="not found"):
        list(read_folder(tmp_path / "missing"))
    with pytest.raises(SourceError, match="no CityGML files"):
        list(read_folder(tmp_path, "*.xml"))
    with pytest.raises(SourceError, match="cannot read"):
        list(read_tile(tmp_path / "missing.gml"))


def test_folder_of_20_tiles(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"LoD2_{i:02d}.gml").symlink_to(LARGE)
    files = collections.Counter(p.file for p in read_folder(tmp_path))
    assert files == {f"LoD2_{i:02d}.gml": README[LARGE.name][3] for i in range(20)}


MEMORY_PROBE = """
import resource, sys
from pathlib import Path
from gdi.city3d.citygml_read import read_tile
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = sum(1 for _ in read_tile(Path(sys.argv[1])))
print(n, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_memory_stays_flat_on_a_big_tile(tmp_path: Path) -> None:
    """One file with the large tile's buildings 20 times (42 MB): peak memory grows < 40 MB."""
    text = LARGE.read_text(encoding="utf-8")
    head, _, rest = text.partition("<core:cityObjectMember>")
    members, _, tail = rest.rpartition("</core:cityObjectMember>")
    path = tmp_path / "big.gml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(head)
        for _ in range(20):
            fh.write(f"<core:cityObjectMember>{members}</core:cityObjectMember>")
        fh.write(tail)
    assert path.stat().st_size > 20 * len(members)
    proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True,
                          text=True, cwd=ROOT, check=True, timeout=300)
    n, grown_mb = (int(v) for v in proc.stdout.split())
    assert n == 20 * README[LARGE.name][3]
    assert grown_mb < 40, f"peak memory grew by {grown_mb} MB"


CITYGML_2 = """<?xml version="1.0" encoding="UTF-8"?>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0"
 xmlns:bldg="http://www.opengis.net/citygml/building/2.0"
 xmlns:gen="http://www.opengis.net/citygml/generics/2.0" xmlns:gml="http://www.opengis.net/gml"
 xmlns:xlink="http://www.w3.org/1999/xlink">
 <core:cityObjectMember><bldg:Building gml:id="A">
  <gen:intAttribute name="storeys"><gen:value>2</gen:value></gen:intAttribute>
  <bldg:function>31001_1010</bldg:function><bldg:measuredHeight>6.5</bldg:measuredHeight>
  <bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
   <gml:surfaceMember><gml:Polygon gml:id="g1">
    <gml:exterior><gml:LinearRing><gml:pos>0 0 10</gml:pos><gml:pos>0 10 10</gml:pos>
     <gml:pos>10 10 10</gml:pos><gml:pos>10 0 10</gml:pos><gml:pos>0 0 10</gml:pos>
    </gml:LinearRing></gml:exterior>
    <gml:interior><gml:LinearRing><gml:posList srsDimension="3">2 2 10 8 2 10 8 8 10 2 8 10
     2 2 10</gml:posList></gml:LinearRing></gml:interior></gml:Polygon></gml:surfaceMember>
   <gml:surfaceMember><gml:Polygon gml:id="r1"><gml:exterior><gml:LinearRing>
    <gml:posList>0 0 16 10 0 16 10 10 16 0 10 16</gml:posList>
   </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
  </gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>
  <bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface>
   <gml:surfaceMember xlink:href="#g1"/></gml:MultiSurface></bldg:lod2MultiSurface>
  </bldg:GroundSurface></bldg:boundedBy>
  <bldg:boundedBy><bldg:RoofSurface><bldg:lod2MultiSurface><gml:MultiSurface>
   <gml:surfaceMember xlink:href="#r1"/></gml:MultiSurface></bldg:lod2MultiSurface>
  </bldg:RoofSurface></bldg:boundedBy>
 </bldg:Building></core:cityObjectMember>
 <core:cityObjectMember><bldg:Building gml:id="B">
  <gen:stringAttribute name="k"><gen:value>building</gen:value></gen:stringAttribute>
  <bldg:function>31001_2463</bldg:function>
  <bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="B1">
   <gen:stringAttribute name="k"><gen:value>part</gen:value></gen:stringAttribute>
   <bldg:roofType>1000</bldg:roofType>
   <bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
    <gml:surfaceMember xlink:href="#b1g"/><gml:surfaceMember xlink:href="#nowhere"/>
   </gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod2Solid>
   <bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface>
    <gml:surfaceMember><gml:Polygon gml:id="b1g"><gml:exterior><gml:LinearRing>
     <gml:posList srsDimension="3">0 0 5 0 1 5 0 0 5</gml:posList>
    </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
   </gml:MultiSurface></bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy>
  </bldg:BuildingPart></bldg:consistsOfBuildingPart>
 </bldg:Building></core:cityObjectMember>
 <core:cityObjectMember><bldg:Building gml:id="C"/></core:cityObjectMember>
 <core:cityObjectMember><bldg:Building gml:id="D"><bldg:function>51009_1610</bldg:function>
  <bldg:lod2Solid><gml:Solid><gml:exterior><gml:CompositeSurface>
   <gml:surfaceMember xlink:href="#d1g"/></gml:CompositeSurface></gml:exterior></gml:Solid>
  </bldg:lod2Solid>
  <bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="D1">
   <bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface>
    <gml:surfaceMember><gml:Polygon gml:id="d1g"><gml:exterior><gml:LinearRing>
     <gml:posList>0 0 5 0 1 5 1 1 5 0 0 5</gml:posList>
    </gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember>
   </gml:MultiSurface></bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy>
  </bldg:BuildingPart></bldg:consistsOfBuildingPart>
 </bldg:Building></core:cityObjectMember>
</core:CityModel>
"""


def test_citygml_2_inline_solids_holes_and_problems(tmp_path: Path) -> None:
    path = tmp_path / "v2.gml"
    path.write_text(CITYGML_2, encoding="utf-8")
    a, b1, c, d, d1 = read_tile(path)
    assert count_objects(path) == {"Building": 4, "BuildingPart": 2}
    assert (a.id, a.function, a.measured_height, a.attributes) == \
        ("A", "31001_1010", 6.5, {"storeys": "2"})
    assert a.problems == () and (a.solid_refs, a.solid_resolved) == (0, 0)
    assert [kind for kind, _ in a.surfaces] == ["GroundSurface", "RoofSurface"]
    assert [len(r) for r in a.surfaces[0][1]] == [4, 4]  # exterior and hole, not closed
    assert a.footprint is not None and a.footprint.area == pytest.approx(100 - 36)
    assert a.ground_z == 10.0

    assert (b1.id, b1.building_id, b1.function, b1.roof_type) == ("B1", "B", "31001_2463", "1000")
    assert b1.attributes == {"k": "part"}
    assert (b1.solid_refs, b1.solid_resolved, b1.footprint) == (2, 1, None)
    assert "lod2Solid references #nowhere which is not in the building" in b1.problems
    assert any("< 3 vertices" in p for p in b1.problems)

    assert (c.id, c.footprint, c.surfaces) == ("C", None, ())
    assert set(c.problems) == {"no lod2Solid", "no GroundSurface"}

    # a Building with parts and a solid of its own yields itself, then its parts
    assert (d.id, d.building_id, d1.id, d1.building_id) == ("D", "D", "D1", "D")
    assert (d.solid_refs, d.solid_resolved, d.footprint) == (1, 1, None)
    assert "lod2Solid references #d1g of another part of the building" in d.problems
    assert d1.function == "51009_1610" and set(d1.problems) == {"no lod2Solid"}
    assert d1.footprint is not None and d1.footprint.area == pytest.approx(0.5)
