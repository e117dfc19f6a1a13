"""Issue 14: LoD1.2 bodies from footprints, their structural checks, and the CityJSON 2.0 /
CityJSONSeq encoders validated against the official schemas (offline)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from gdi.city3d import cityjson, solids
from gdi.city3d.model import Body, ModelInfo, Surface
from gdi.errors import GdiError, PublicationError, SchemaValidationError
from tests.conftest import SHARED

SCHEMAS = SHARED / "cityjson-schemas"
X0, Y0 = 565_000.0, 5_778_000.0  # Hildesheim, EPSG:25832

RECTANGLE = shapely.box(X0, Y0, X0 + 12.5, Y0 + 8.25)
L_SHAPE = shapely.Polygon([(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 6), (X0 + 6, Y0 + 6),
                           (X0 + 6, Y0 + 15), (X0, Y0 + 15)])
COURTYARD = shapely.Polygon(
    [(X0, Y0), (X0 + 30, Y0), (X0 + 30, Y0 + 25), (X0, Y0 + 25)],
    [[(X0 + 8, Y0 + 8), (X0 + 8, Y0 + 17), (X0 + 22, Y0 + 17), (X0 + 22, Y0 + 8)]])
CONCAVE = shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 4), (X0 + 20, Y0), (X0 + 16, Y0 + 10),
                           (X0 + 20, Y0 + 20), (X0 + 10, Y0 + 14), (X0, Y0 + 20),
                           (X0 + 4, Y0 + 10)])
FOOTPRINTS = {"rectangle": RECTANGLE, "l_shape": L_SHAPE, "courtyard": COURTYARD,
              "concave": CONCAVE}
INFO = ModelInfo(title="Gebäude LoD1.2 Hildesheim (Test)", reference_date="2025-03-31",
                 namespace="https://geodaten.hildesheim.de/id/bu3d",
                 extra={"point_of_contact": {"contactName": "Stadt Hildesheim, Vermessung",
                                             "emailAddress": "geodaten@stadt-hildesheim.de",
                                             "role": "pointOfContact"}})


def _normal(ring: np.ndarray) -> np.ndarray:
    return np.cross(ring, np.roll(ring, -1, axis=0)).sum(axis=0)  # Newell, unnormalised


def _bodies() -> list[Body]:
    return [Body(f"DENIBU{i:04d}", solids.extrude(p, 81.25 + i, 81.25 + i + 9.5),
                 {"name": name, "storeys": 3, "status": "existing", "height": 9.5}, 81.25 + i,
                 81.25 + i + 9.5) for i, (name, p) in enumerate(FOOTPRINTS.items())]


def _replace(shell: tuple[Surface, ...], i: int, surface: Surface | None) -> tuple[Surface, ...]:
    return shell[:i] + ((surface,) if surface else ()) + shell[i + 1:]


@pytest.mark.parametrize("name", FOOTPRINTS)
def test_extruded_shells_are_valid_and_have_the_prism_volume(name: str) -> None:
    polygon = FOOTPRINTS[name]
    shell = solids.extrude(polygon, 80.0, 92.5)
    assert solids.check(shell) == []
    assert solids.volume(shell) == pytest.approx(polygon.area * 12.5, rel=1e-6)
    kinds = [s.kind for s in shell]
    rings = [len(polygon.exterior.coords) - 1] + [len(h.coords) - 1 for h in polygon.interiors]
    assert kinds.count("GroundSurface") == kinds.count("RoofSurface") == 1
    assert kinds.count("WallSurface") == sum(rings)
    for s in shell:
        for r in s.rings:
            assert r.dtype == np.float64 and r.shape[1] == 3
            assert np.abs(r[0] - r[-1]).max() > 0.001  # not closed


def test_orientation_of_ground_roof_walls_and_courtyard() -> None:
    shell = solids.extrude(COURTYARD, 80.0, 90.0)
    ground, roof, walls = shell[0], shell[1], shell[2:]
    assert _normal(ground.rings[0])[2] < 0 and _normal(ground.rings[1])[2] > 0
    assert _normal(roof.rings[0])[2] > 0 and _normal(roof.rings[1])[2] < 0
    centre = np.array([X0 + 15, Y0 + 12.5])
    for w in walls:
        quad = w.rings[0]
        mid = quad[:, :2].mean(axis=0)
        outward = _normal(quad)[:2] @ (mid - centre)
        courtyard = abs(mid[0] - centre[0]) < 7.5 and abs(mid[1] - centre[1]) < 5
        assert (outward < 0) if courtyard else (outward > 0)  # courtyard walls face inside
        assert quad[0, 2] == quad[1, 2] == 80.0 and quad[2, 2] == quad[3, 2] == 90.0


def test_clockwise_input_and_duplicate_vertices_are_normalised() -> None:
    xy = [(X0, Y0), (X0, Y0 + 10), (X0, Y0 + 10.0004), (X0 + 10, Y0 + 10), (X0 + 10, Y0)]
    shell = solids.extrude(shapely.Polygon(xy), 70.0, 75.0)  # clockwise, a 0.4 mm duplicate
    assert len(shell[0].rings[0]) == 4 and len(shell) == 6
    assert solids.check(shell) == []
    assert solids.volume(shell) == pytest.approx(500.0, rel=1e-4)
    with pytest.raises(GdiError):
        solids.extrude(shapely.MultiPolygon([RECTANGLE]), 0.0, 1.0)


def test_removed_wall_is_not_closed() -> None:
    shell = solids.extrude(L_SHAPE, 80.0, 90.0)
    problems = solids.check(_replace(shell, 3, None))
    assert [p.split(":")[0] for p in problems] == ["not-closed"], problems


def test_flipped_face_is_inconsistently_oriented() -> None:
    shell = solids.extrude(L_SHAPE, 80.0, 90.0)
    flipped = Surface("WallSurface", (shell[4].rings[0][::-1],))
    problems = solids.check(_replace(shell, 4, flipped))
    assert [p.split(":")[0] for p in problems] == ["orientation"], problems


def test_all_faces_flipped_is_inward() -> None:
    shell = solids.extrude(CONCAVE, 80.0, 90.0)
    inverted = tuple(Surface(s.kind, tuple(r[::-1] for r in s.rings)) for s in shell)
    problems = solids.check(inverted)
    assert [p.split(":")[0] for p in problems] == ["inward"], problems
    assert solids.volume(inverted) == pytest.approx(-CONCAVE.area * 10, rel=1e-6)


def test_non_planar_roof_is_reported() -> None:
    shell = solids.extrude(RECTANGLE, 80.0, 90.0)
    corner = shell[1].rings[0][0].copy()

    def lift(r: np.ndarray) -> np.ndarray:  # the same corner in the roof and in its walls
        r = r.copy()
        r[np.all(np.abs(r - corner) < 1e-9, axis=1), 2] += 0.4
        return r

    lifted = tuple(Surface(s.kind, tuple(lift(r) for r in s.rings)) for s in shell)
    problems = solids.check(lifted)
    assert len(problems) == 1 and problems[0].startswith("non-planar: surface 1 (RoofSurface)")
    assert solids.check(lifted, tol=0.2) == []


def test_duplicate_vertices_and_short_rings() -> None:
    shell = solids.extrude(RECTANGLE, 80.0, 90.0)
    ring = shell[1].rings[0]
    doubled = Surface("RoofSurface", (np.vstack([ring[:1], ring]),))
    assert solids.check(_replace(shell, 1, doubled))[0].startswith(
        "duplicate-vertex: 1 repeated vertices in rings (1 consecutive)")
    short = Surface("WallSurface", (shell[2].rings[0][:2],))
    assert "few-vertices" in {p.split(":")[0] for p in solids.check(_replace(shell, 2, short))}
    assert solids.check(())[0].startswith("few-vertices")


def test_structural_report_counts_by_kind() -> None:
    bodies = _bodies()
    broken = bodies[1].shell
    bodies.append(Body("broken", _replace(broken, 3, None), {}, 0.0, 1.0))
    report = solids.structural_report(bodies)
    assert report["bodies"] == 5 and report["invalid"] == 1
    assert report["not-closed"] == 1 and report["non-planar"] == 0
    assert report["first_invalid"] == ["broken"]


def test_cityjson_validates_and_round_trips(tmp_path: Path) -> None:
    bodies = _bodies()
    path = tmp_path / "buildings.city.json"
    counts = cityjson.write_cityjson(path, bodies, INFO)
    doc = cityjson.read_cityjson(path)
    cityjson.validate_schema(doc, SCHEMAS)
    assert counts == {"buildings": 4, "vertices": len(doc["vertices"])}
    assert doc["type"] == "CityJSON" and doc["version"] == "2.0"
    md = doc["metadata"]
    assert md["referenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/25832"
    assert md["+verticalReferenceSystem"] == "https://www.opengis.net/def/crs/EPSG/0/7837"
    assert md["referenceDate"] == "2025-03-31" and md["pointOfContact"]["role"] == "pointOfContact"
    verts = np.array(doc["vertices"])
    assert verts.dtype.kind == "i"
    assert len({tuple(v) for v in doc["vertices"]}) == len(verts)  # de-duplicated
    scale, translate = (np.array(doc["transform"][k]) for k in ("scale", "translate"))
    assert list(scale) == [0.001] * 3 and list(translate) == list(np.vstack(
        [r for b in bodies for s in b.shell for r in s.rings]).min(axis=0))
    decoded = verts * scale + translate
    assert md["geographicalExtent"] == pytest.approx([*decoded.min(0), *decoded.max(0)])
    for body in bodies:
        obj = doc["CityObjects"][body.id]
        assert obj["type"] == "Building" and obj["attributes"] == body.attributes
        (geom,) = obj["geometry"]
        assert geom["type"] == "Solid" and geom["lod"] == "1.2"
        assert geom["semantics"]["surfaces"] == [{"type": "GroundSurface"},
                                                 {"type": "WallSurface"}, {"type": "RoofSurface"}]
        names = [t["type"] for t in geom["semantics"]["surfaces"]]
        (shell,) = geom["boundaries"]
        assert [names[v] for v in geom["semantics"]["values"][0]] == [s.kind for s in body.shell]
        for surface, rings in zip(body.shell, shell, strict=True):
            for ring, idx in zip(surface.rings, rings, strict=True):
                assert np.abs(decoded[idx] - ring).max() <= 0.0005 + 1e-9  # within 1 mm
    assert len(verts) == len({tuple(np.rint(r / 0.001)) for b in bodies for s in b.shell
                              for r in np.vstack(s.rings)})


def test_cityjsonseq_features_validate(tmp_path: Path) -> None:
    bodies = _bodies()
    path = tmp_path / "buildings.city.jsonl"
    counts = cityjson.write_cityjsonseq(path, bodies, INFO)
    head, *features = (json.loads(line) for line in path.read_text("utf-8").splitlines())
    cityjson.validate_schema(head, SCHEMAS)
    assert head["CityObjects"] == {} and head["vertices"] == []
    assert [f["id"] for f in features] == [b.id for b in bodies]
    scale, translate = np.array(head["transform"]["scale"]), head["transform"]["translate"]
    for feature, body in zip(features, bodies, strict=True):
        cityjson.validate_schema(feature, SCHEMAS, kind="CityJSONFeature")
        verts = np.array(feature["vertices"])
        assert len({tuple(v) for v in feature["vertices"]}) == len(verts)
        (shell,) = feature["CityObjects"][body.id]["geometry"][0]["boundaries"]
        used = {i for surface in shell for ring in surface for i in ring}
        assert used == set(range(len(verts)))  # local to the feature
        ground = verts[shell[0][0]] * scale + translate
        assert np.abs(ground - body.shell[0].rings[0]).max() <= 0.0005 + 1e-9
    assert counts["vertices"] == sum(len(f["vertices"]) for f in features)


def test_schema_errors_name_their_paths(tmp_path: Path) -> None:
    path = tmp_path / "b.city.json"
    cityjson.write_cityjson(path, _bodies(), INFO)
    doc = cityjson.sample(cityjson.read_cityjson(path), 2)
    cityjson.validate_schema(doc, SCHEMAS)
    key = next(iter(doc["CityObjects"]))
    doc["CityObjects"][key]["geometry"][0]["boundaries"][0][0][0][1] = 1.5
    doc["metadata"]["referenceDate"] = "31.03.2025"
    with pytest.raises(SchemaValidationError) as err:
        cityjson.validate_schema(doc, SCHEMAS)
    text = str(err.value)
    assert "$.metadata.referenceDate" in text
    assert f'$.CityObjects["{key}"].geometry[0].boundaries[0][0][0][1]' in text
    with pytest.raises(SchemaValidationError):
        cityjson.validate_schema({"type": "CityJSONFeature", "id": "x", "CityObjects": {},
                                  "vertices": [], "version": "2.0"}, SCHEMAS,
                                 kind="CityJSONFeature")


def test_sample_keeps_only_the_vertices_it_uses(tmp_path: Path) -> None:
    path = tmp_path / "b.city.json"
    bodies = _bodies()
    cityjson.write_cityjson(path, bodies, INFO)
    doc = cityjson.read_cityjson(path)
    part = cityjson.sample(doc, 2)
    cityjson.validate_schema(part, SCHEMAS)
    assert list(part["CityObjects"]) == [b.id for b in bodies[:2]]
    assert len(part["vertices"]) < len(doc["vertices"])
    for key, obj in part["CityObjects"].items():
        old = doc["CityObjects"][key]["geometry"][0]["boundaries"]
        new = obj["geometry"][0]["boundaries"]
        for a, b in zip(np.hstack([r for s in old[0] for r in s]),
                        np.hstack([r for s in new[0] for r in s]), strict=True):
            assert doc["vertices"][a] == part["vertices"][b]


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    body = _bodies()[0]
    with pytest.raises(PublicationError):
        cityjson.write_cityjson(tmp_path / "d.city.json", [body, body], INFO)
    assert not list(tmp_path.iterdir())  # no half-written file


def test_45000_buildings(tmp_path: Path) -> None:
    rng = np.random.default_rng(14)
    n = 45_000
    x, y = rng.uniform(560_000, 575_000, n), rng.uniform(5_770_000, 5_785_000, n)
    w, d = rng.uniform(4, 40, n), rng.uniform(4, 40, n)
    ground = rng.uniform(70, 110, n)
    roof = ground + rng.uniform(3, 35, n)
    polygons = shapely.box(x, y, x + w, y + d)
    t0 = time.perf_counter()
    shells = [solids.extrude(p, float(g), float(r))
              for p, g, r in zip(polygons, ground, roof, strict=True)]
    t1 = time.perf_counter()
    problems = [solids.check(s) for s in shells]
    t2 = time.perf_counter()
    bodies = [Body(f"DENIBU{i:08d}", s, {"storeys": 2}, float(g), float(r))
              for i, (s, g, r) in enumerate(zip(shells, ground, roof, strict=True))]
    t3 = time.perf_counter()
    counts = cityjson.write_cityjson(tmp_path / "all.city.json", bodies, INFO)
    t4 = time.perf_counter()
    cityjson.write_cityjsonseq(tmp_path / "all.city.jsonl", bodies, INFO)
    t5 = time.perf_counter()
    print(f"\n45,000 buildings: extrude {t1 - t0:.2f} s, check {t2 - t1:.2f} s, "
          f"write_cityjson {t4 - t3:.2f} s, write_cityjsonseq {t5 - t4:.2f} s")
    assert not any(problems)
    assert counts == {"buildings": n, "vertices": 8 * n}
    doc = cityjson.read_cityjson(tmp_path / "all.city.json")
    cityjson.validate_schema(cityjson.sample(doc, 100), SCHEMAS)
