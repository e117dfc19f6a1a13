"""Issue 15: 3D Tiles 1.1 of the building model (gdi.city3d.tiles3d, gdi.city3d.glb).

A tileset of ~50 synthetic bodies (one with two LoD2 parts) is read back with a strict GLB
reader of our own and checked against independent computations (pyproj used directly:
frame origin, vertex placement, ENU axes), then run through the official validators where
they are installed: CesiumGS' 3d-tiles-validator (also validates the GLB content with
Khronos' glTF validator and checks EXT_mesh_features / EXT_structural_metadata) and
Khronos' gltf-validator (npm). A run over 45,000 LoD1.2 bodies prints its timing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely

from gdi.city3d import glb, solids, tiles3d
from gdi.city3d.model import Body, Surface
from gdi.errors import GdiError
from tests.conftest import ROOT

X0, Y0, N_CONST = 565_000.0, 5_778_000.0, 43.7
TILE = 500.0
NODE_MODULES = ROOT / "portal" / "node_modules"
TILES_VALIDATOR = Path(os.environ.get("GDI_3DTILES_VALIDATOR",
                                      NODE_MODULES / "3d-tiles-validator"))
GLTF_VALIDATOR = Path(os.environ.get("GDI_GLTF_VALIDATOR", NODE_MODULES / "gltf-validator"))
_TYPES = {5126: "<f4", 5125: "<u4", 5123: "<u2", 5121: "u1"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}


def _footprint(i: int) -> shapely.Polygon:
    x, y = X0 - 700 + (i % 10) * 140.0, Y0 - 400 + (i // 10) * 170.0
    kind = i % 5
    if kind == 1:  # L shape
        return shapely.Polygon([(x, y), (x + 20, y), (x + 20, y + 6), (x + 6, y + 6),
                                (x + 6, y + 15), (x, y + 15)])
    if kind == 2:  # courtyard (a hole)
        return shapely.Polygon([(x, y), (x + 30, y), (x + 30, y + 25), (x, y + 25)],
                               [[(x + 8, y + 8), (x + 8, y + 17), (x + 22, y + 17),
                                 (x + 22, y + 8)]])
    if kind == 3:  # concave star
        return shapely.Polygon([(x, y), (x + 10, y + 4), (x + 20, y), (x + 16, y + 10),
                                (x + 20, y + 20), (x + 10, y + 14), (x, y + 20),
                                (x + 4, y + 10)])
    return shapely.box(x, y, x + 12.5, y + 8.25)


def _bodies() -> list[Body]:
    rng = np.random.default_rng(15)
    out = []
    for i in range(50):
        poly = _footprint(i)
        ground = 90.0 + rng.uniform(-2, 2)
        roof = ground + rng.uniform(5, 20)
        lod2: tuple[tuple[Any, ...], ...] = ()
        if i == 5:  # two parts of different heights: a fake LoD2
            x, y, _, _ = poly.bounds
            lod2 = (solids.extrude(shapely.box(x, y, x + 6, y + 8.25), ground, roof),
                    solids.extrude(shapely.box(x + 6, y, x + 12.5, y + 8.25), ground,
                                   roof - 3))
        attrs = {"function": "31001" if i % 4 else None, "roof_type": "1000" if i % 2 else None,
                 "storeys": None if i % 6 == 0 else 1 + i % 5}
        out.append(Body(f"DENIAL{i:010d}", solids.extrude(poly, ground, roof), attrs, ground,
                        roof, "2025-03-31T00:00:00Z" if i % 3 else None,
                        "planned" if i == 11 else "existing", lod2=lod2))
    return out


BODIES = _bodies()


@pytest.fixture(scope="module")
def tileset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("tiles3d") / "existing"
    stats = tiles3d.write_tileset(folder, BODIES, title="Gebäude (Test)",
                                  geoid_undulation=N_CONST, tile_size_m=TILE)
    return folder, stats


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """A strict GLB reader: header, exactly one JSON and one BIN chunk, padding, sizes."""
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data)), path.name
    jlen, jtype = struct.unpack_from("<II", data, 12)
    assert jtype == 0x4E4F534A and jlen % 4 == 0
    gltf = json.loads(data[20:20 + jlen].decode("utf-8"))
    blen, btype = struct.unpack_from("<II", data, 20 + jlen)
    assert btype == 0x004E4942 and blen % 4 == 0 and 28 + jlen + blen == len(data)
    binary = data[28 + jlen:]
    assert gltf["buffers"] == [{"byteLength": gltf["buffers"][0]["byteLength"]}]
    assert 0 <= blen - gltf["buffers"][0]["byteLength"] < 4
    return gltf, binary


def view_bytes(gltf: dict[str, Any], binary: bytes, index: int) -> bytes:
    v = gltf["bufferViews"][index]
    assert v["buffer"] == 0 and "byteStride" not in v and v["byteOffset"] % 8 == 0
    assert v["byteLength"] > 0 and v["byteOffset"] + v["byteLength"] <= len(binary)
    return binary[v["byteOffset"]:v["byteOffset"] + v["byteLength"]]


def accessor(gltf: dict[str, Any], binary: bytes, index: int) -> np.ndarray:
    a = gltf["accessors"][index]
    raw = view_bytes(gltf, binary, a["bufferView"])
    width = _WIDTH[a["type"]]
    dtype = np.dtype(_TYPES[a["componentType"]])
    assert a.get("byteOffset", 0) + a["count"] * width * dtype.itemsize <= len(raw)
    arr = np.frombuffer(raw, dtype, a["count"] * width, a.get("byteOffset", 0))
    return arr.reshape(a["count"], width) if width > 1 else arr


def property_table(gltf: dict[str, Any], binary: bytes) -> dict[str, list[Any]]:
    """The columns of property table 0, decoded (strings through their offsets)."""
    meta = gltf["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    props = meta["schema"]["classes"][table["class"]]["properties"]
    n = table["count"]
    out: dict[str, list[Any]] = {}
    for name, spec in props.items():
        col = table["properties"].get(name)
        if col is None:  # left out: every value is noData
            assert not spec.get("required") and spec["type"] == "STRING"
            out[name] = [None] * n
            continue
        values = view_bytes(gltf, binary, col["values"])
        if spec["type"] == "STRING":
            assert col.get("stringOffsetType", "UINT32") == "UINT32"
            off = np.frombuffer(view_bytes(gltf, binary, col["stringOffsets"]), "<u4")
            assert len(off) == n + 1 and off[0] == 0 and off[-1] == len(values)
            assert (np.diff(off.astype(np.int64)) >= 0).all()
            texts = [values[off[k]:off[k + 1]].decode("utf-8") for k in range(n)]
            out[name] = [None if t == spec.get("noData") else t for t in texts]
        else:
            dtype = {"FLOAT32": "<f4", "INT32": "<i4"}[spec["componentType"]]
            arr = np.frombuffer(values, dtype)
            assert len(arr) == n
            out[name] = [None if v == spec.get("noData") else v.item() for v in arr]
    return out


def tiles_of(tileset_json: dict[str, Any]) -> list[dict[str, Any]]:
    out, stack = [], [tileset_json["root"]]
    while stack:
        tile = stack.pop()
        out.append(tile)
        for child in tile.get("children", []):
            assert child["geometricError"] <= tile["geometricError"]
            stack.append(child)
    return out


def frame(ts: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    m = np.array(ts["root"]["transform"], dtype=float).reshape(4, 4).T  # column-major
    assert np.allclose(m[3], [0, 0, 0, 1])
    return m[:3, :3], m[:3, 3]


def local_points(gltf: dict[str, Any], positions: np.ndarray) -> np.ndarray:
    """GLB y-up positions -> the tileset's z-up ENU frame (node translation added)."""
    p = positions.astype(np.float64) + gltf["nodes"][0]["translation"]
    return np.column_stack((p[:, 0], -p[:, 2], p[:, 1]))


def _ref_tile(body: Body) -> str:
    x, y = body.shell[0].rings[0][0][:2]
    return f"{math.floor(x / TILE)}_{math.floor(y / TILE)}"


def test_glb_contents(tileset: tuple[Path, dict[str, Any]]) -> None:
    folder, stats = tileset
    ts = json.loads((folder / "tileset.json").read_text(encoding="utf-8"))
    leaves = [t for t in tiles_of(ts) if "content" in t and "children" not in t]
    assert stats["tiles"] == len(leaves) == len([
        p for p in (folder / "tiles").glob("*.glb") if not p.name.startswith("far_")])
    assert stats["buildings"] == len(BODIES) and stats["skipped_surfaces"] == 0
    by_id = {b.id: b for b in BODIES}
    seen: set[str] = set()
    triangles = 0
    for leaf in leaves:
        uri = leaf["content"]["uri"]
        gltf, binary = read_glb(folder / uri)
        assert gltf["asset"]["version"] == "2.0" and "extensionsRequired" not in gltf
        assert set(gltf["extensionsUsed"]) == {"EXT_mesh_features", "EXT_structural_metadata"}
        table = property_table(gltf, binary)
        count = gltf["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["count"]
        assert len(set(table["id"])) == count and not seen & set(table["id"])
        seen |= set(table["id"])
        assert all(uri == f"tiles/{_ref_tile(by_id[i])}.glb" for i in table["id"])
        (mesh,) = gltf["meshes"]
        fid_all, pts_all = [], []
        for prim in mesh["primitives"]:
            assert prim["mode"] == 4 and set(prim["attributes"]) == {
                "POSITION", "NORMAL", "_FEATURE_ID_0"}
            pos = accessor(gltf, binary, prim["attributes"]["POSITION"])
            acc = gltf["accessors"][prim["attributes"]["POSITION"]]
            assert acc["min"] == pos.min(axis=0).tolist() and acc["max"] == pos.max(axis=0).tolist()
            nrm = accessor(gltf, binary, prim["attributes"]["NORMAL"])
            fid = accessor(gltf, binary, prim["attributes"]["_FEATURE_ID_0"])
            idx = accessor(gltf, binary, prim["indices"]).astype(np.int64).reshape(-1, 3)
            assert len(pos) == len(nrm) == len(fid) and idx.max() < len(pos)
            assert np.allclose(np.linalg.norm(nrm, axis=1), 1, atol=1e-6)
            (fids,) = prim["extensions"]["EXT_mesh_features"]["featureIds"]
            assert (fids["attribute"], fids["propertyTable"]) == (0, 0)
            assert (fid == np.round(fid)).all() and fid.min() >= 0 and fid.max() < count
            assert fids["featureCount"] == len(np.unique(fid))
            p = pos.astype(np.float64)
            face = np.cross(p[idx[:, 1]] - p[idx[:, 0]], p[idx[:, 2]] - p[idx[:, 0]])
            face /= np.linalg.norm(face, axis=1, keepdims=True)
            assert (np.einsum("ij,ij->i", face, nrm[idx[:, 0]]) > 0.999).all(), "winding"
            triangles += len(idx)
            fid_all.append(fid)
            pts_all.append(local_points(gltf, pos))
        fid_v, pts = np.concatenate(fid_all).astype(int), np.concatenate(pts_all)
        box = np.array(leaf["boundingVolume"]["box"])
        assert (np.abs(pts - box[:3]) <= box[[3, 7, 11]] + 1e-6).all()
        for k, ident in enumerate(table["id"]):
            body = by_id[ident]
            up = pts[fid_v == k, 2]
            assert up.max() - up.min() == pytest.approx(body.roof - body.ground, abs=0.01)
            assert table["lod"][k] == ("2" if body.lod2 else "1.2")
            assert table["height_lod12"][k] == pytest.approx(body.roof - body.ground, abs=1e-4)
            assert table["ground_height"][k] == pytest.approx(body.ground, abs=1e-4)
            assert table["storeys"][k] == body.attributes["storeys"]
            assert table["function"][k] == body.attributes["function"]
            assert table["roof_type"][k] == body.attributes["roof_type"]
            assert table["status"][k] == body.status and table["begin"][k] == body.begin
    assert seen == set(by_id) and stats["triangles"] == triangles


def test_roof_areas_cover_footprints(tileset: tuple[Path, dict[str, Any]]) -> None:
    """Roof triangles cover each footprint exactly (holes stay open, concave parts filled)."""
    folder, _ = tileset
    areas: dict[str, float] = {}
    for path in (folder / "tiles").glob("*.glb"):
        if path.name.startswith("far_"):  # the far view: test_far_view_per_block
            continue
        gltf, binary = read_glb(path)
        ids = property_table(gltf, binary)["id"]
        for prim in gltf["meshes"][0]["primitives"]:
            if gltf["materials"][prim["material"]]["name"] != "roof":
                continue
            p = accessor(gltf, binary, prim["attributes"]["POSITION"]).astype(np.float64)
            fid = accessor(gltf, binary, prim["attributes"]["_FEATURE_ID_0"]).astype(int)
            t = accessor(gltf, binary, prim["indices"]).astype(np.int64).reshape(-1, 3)
            a = np.linalg.norm(np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]),
                               axis=1) / 2
            for k, area in zip(fid[t[:, 0]], a, strict=True):
                areas[ids[k]] = areas.get(ids[k], 0.0) + float(area)
    for i, body in enumerate(BODIES):
        # ENU metres vs UTM grid metres: UTM's scale here is 0.99965 (area factor 0.9993)
        assert areas[body.id] == pytest.approx(_footprint(i).area, rel=2e-3), body.id


def test_frame_and_vertex_placement(tileset: tuple[Path, dict[str, Any]]) -> None:
    folder, _ = tileset
    ts = json.loads((folder / "tileset.json").read_text(encoding="utf-8"))
    assert ts["asset"]["version"] == "1.1" and ts["root"]["refine"] == "ADD"
    rot, origin = frame(ts)
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-12)
    # the centre, computed independently: the middle of the vertices' 3D box, h = H + N
    v = np.concatenate([r for b in BODIES for shell in (b.lod2 or (b.shell,))
                        for s in shell for r in s.rings])
    centre = (v.min(axis=0) + v.max(axis=0)) / 2 + [0, 0, N_CONST]
    to_ecef = pyproj.Transformer.from_crs("EPSG:25832", "EPSG:4978", always_xy=True)
    expected = np.array(to_ecef.transform(*centre))
    assert np.linalg.norm(origin - expected) < 1.0
    lon, lat = pyproj.Transformer.from_crs("EPSG:25832", "EPSG:4258", always_xy=True
                                           ).transform(centre[0], centre[1])
    lo, la = math.radians(lon), math.radians(lat)
    up = [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]
    assert np.allclose(rot[:, 2], up, atol=1e-9) and rot[2, 0] == pytest.approx(0, abs=1e-12)
    # a roof corner of body 0, placed by pyproj, is a GLB vertex within 1 mm
    body = BODIES[0]
    x, y = body.shell[1].rings[0][0][:2]
    enu = rot.T @ (np.array(to_ecef.transform(x, y, body.roof + N_CONST)) - origin)
    gltf, binary = read_glb(folder / "tiles" / f"{_ref_tile(body)}.glb")
    pts = np.concatenate([local_points(gltf, accessor(gltf, binary, p["attributes"]["POSITION"]))
                          for p in gltf["meshes"][0]["primitives"]])
    assert np.linalg.norm(pts - enu, axis=1).min() < 0.001
    # the tree: leaves carry content and error 0, block nodes the far view (REPLACE), boxes
    # nest, errors shrink towards leaves
    for tile in tiles_of(ts):
        box = np.array(tile["boundingVolume"]["box"])
        if "content" in tile and "children" not in tile:
            assert tile["geometricError"] == 0
            assert not tile["content"]["uri"].startswith("tiles/far_")
        elif "content" in tile:
            assert tile["content"]["uri"].startswith("tiles/far_")
            assert tile["refine"] == "REPLACE" and tile["geometricError"] == 2 * TILE / 8
            assert all("children" not in c for c in tile["children"])
        else:
            assert (tile["geometricError"] > 0 and "refine" not in tile) or tile is ts["root"]
        for child in tile.get("children", []):
            c = np.array(child["boundingVolume"]["box"])
            assert (np.abs(c[:3] - box[:3]) + c[[3, 7, 11]] <= box[[3, 7, 11]] + 1e-6).all()
    assert ts["geometricError"] >= ts["root"]["geometricError"]


def test_far_view_per_block(tileset: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """Each block node's far view holds exactly its leaves' buildings of at least
    MIN_AREA_M2, as flat prisms from ground to the LoD1.2 roof, with the same feature
    metadata, in far fewer triangles; without it the tree has no far content."""
    from gdi.city3d import tiles3d_tree

    folder, stats = tileset
    ts = json.loads((folder / "tileset.json").read_text(encoding="utf-8"))
    blocks = [t for t in tiles_of(ts) if "content" in t and "children" in t]
    assert len(blocks) == stats["far_tiles"] >= 2
    by_id = {b.id: b for b in BODIES}
    big = {b.id for b in BODIES if shapely.Polygon(
        b.shell[0].rings[0][:, :2], [r[:, :2] for r in b.shell[0].rings[1:]]).area
        >= tiles3d_tree.MIN_AREA_M2}
    seen: list[str] = []
    far_triangles = 0
    for block in blocks:
        gltf, binary = read_glb(folder / block["content"]["uri"])
        table = property_table(gltf, binary)
        below = set()
        for leaf in block["children"]:
            leaf_gltf, leaf_binary = read_glb(folder / leaf["content"]["uri"])
            below |= set(property_table(leaf_gltf, leaf_binary)["id"])
        assert set(table["id"]) == below & big
        seen += table["id"]
        pts, fid = [], []
        for prim in gltf["meshes"][0]["primitives"]:
            assert gltf["materials"][prim["material"]]["name"] in {"roof", "wall"}  # no ground
            pts.append(local_points(gltf, accessor(gltf, binary, prim["attributes"]["POSITION"])))
            fid.append(accessor(gltf, binary, prim["attributes"]["_FEATURE_ID_0"]))
            far_triangles += len(accessor(gltf, binary, prim["indices"])) // 3
        p, f = np.concatenate(pts), np.concatenate(fid).astype(int)
        box = np.array(block["boundingVolume"]["box"])
        assert (np.abs(p - box[:3]) <= box[[3, 7, 11]] + 1e-6).all()
        for k, ident in enumerate(table["id"]):
            body = by_id[ident]
            up = p[f == k, 2]
            assert up.max() - up.min() == pytest.approx(body.roof - body.ground, abs=0.01)
            assert table["lod"][k] == ("2" if body.lod2 else "1.2")
            assert table["height_lod12"][k] == pytest.approx(body.roof - body.ground, abs=1e-4)
    assert sorted(seen) == sorted(big)
    x, y = _footprint(0).bounds[:2]  # a 5 m x 5 m shed beside house 0: no far view
    shed = Body("shed", solids.extrude(shapely.box(x + 20, y, x + 25, y + 5), 90, 93), {}, 90, 93)
    tiles3d.write_tileset(tmp_path / "shed", [BODIES[0], shed], title="t",
                          geoid_undulation=N_CONST, tile_size_m=TILE)
    (far,) = (tmp_path / "shed" / "tiles").glob("far_*.glb")
    (near,) = [p for p in (tmp_path / "shed" / "tiles").glob("*.glb") if p != far]
    assert property_table(*read_glb(far))["id"] == [BODIES[0].id]
    assert sorted(property_table(*read_glb(near))["id"]) == [BODIES[0].id, "shed"]
    assert far_triangles == stats["far_triangles"] < stats["triangles"]
    plain = tiles3d.write_tileset(tmp_path / "plain", BODIES, title="t",
                                  geoid_undulation=N_CONST, tile_size_m=TILE, overview=False)
    assert plain["far_tiles"] == 0 and not list((tmp_path / "plain" / "tiles").glob("far_*"))
    plain_ts = json.loads((tmp_path / "plain" / "tileset.json").read_text(encoding="utf-8"))
    assert all("children" not in t for t in tiles_of(plain_ts) if "content" in t)


def test_options_and_errors(tmp_path: Path) -> None:
    few = BODIES[5:10]
    const = tiles3d.write_tileset(tmp_path / "c", few, title="t", geoid_undulation=N_CONST)
    func = tiles3d.write_tileset(tmp_path / "f", few, title="t",
                                 geoid_undulation=lambda lon, lat: np.full(len(lon), N_CONST))
    assert {**const, "bytes": 0} == {**func, "bytes": 0}  # tileset.json's extras differ
    for a, b in zip(sorted((tmp_path / "c" / "tiles").iterdir()),
                    sorted((tmp_path / "f" / "tiles").iterdir()), strict=True):
        assert a.read_bytes() == b.read_bytes()
    lod12 = tiles3d.write_tileset(tmp_path / "l", few, title="t", geoid_undulation=N_CONST,
                                  lod="1.2")
    assert lod12["triangles"] < const["triangles"]  # body 5 without its two LoD2 parts
    gltf, binary = read_glb(next((tmp_path / "l" / "tiles").glob("*.glb")))
    assert set(property_table(gltf, binary)["lod"]) == {"1.2"}
    with pytest.raises(GdiError):
        tiles3d.write_tileset(tmp_path / "e", [], title="t", geoid_undulation=N_CONST)
    with pytest.raises(GdiError):
        tiles3d.write_tileset(tmp_path / "n", few, title="t",
                              geoid_undulation=lambda lon, lat: lon * np.nan)
    with pytest.raises(GdiError):
        tiles3d.write_tileset(tmp_path / "t", few, title="t", geoid_undulation=N_CONST,
                              tile_size_m=0)


def test_bad_surfaces_and_large_tiles(tmp_path: Path) -> None:
    """A self-intersecting LoD2 roof is skipped and counted; a body without geometry is
    left out; a primitive of more than 65,534 vertices gets uint32 indices."""
    x, y = X0, Y0
    bowtie = np.array([[x, y, 100], [x + 10, y + 10, 100], [x + 10, y, 100], [x, y + 10, 100],
                       [x + 5, y - 3, 100]])
    part = (*solids.extrude(shapely.box(x, y, x + 10, y + 10), 90, 100)[:1],
            Surface("RoofSurface", (bowtie,)),
            *solids.extrude(shapely.box(x, y, x + 10, y + 10), 90, 100)[2:])
    odd = [Body("bowtie", solids.extrude(shapely.box(x, y, x + 10, y + 10), 90, 100), {}, 90,
                100, lod2=(part,)),
           Body("empty", (), {}, 90, 100)]
    stats = tiles3d.write_tileset(tmp_path / "odd", odd, title="t", geoid_undulation=N_CONST)
    assert (stats["buildings"], stats["skipped_surfaces"]) == (1, 1)
    many = [Body(f"b{i}", solids.extrude(shapely.box(x + i % 70 * 7, y + i // 70 * 7,
                                                     x + i % 70 * 7 + 5, y + i // 70 * 7 + 5),
                                         90, 95), {}, 90, 95) for i in range(4200)]
    stats = tiles3d.write_tileset(tmp_path / "many", many, title="t",
                                  geoid_undulation=N_CONST, tile_size_m=1000)
    (path,) = (tmp_path / "many" / "tiles").glob("*.glb")
    gltf, binary = read_glb(path)
    walls = next(p for p in gltf["meshes"][0]["primitives"]
                 if gltf["materials"][p["material"]]["name"] == "wall")
    assert gltf["accessors"][walls["indices"]]["componentType"] == 5125
    idx = accessor(gltf, binary, walls["indices"])
    assert idx.max() == gltf["accessors"][walls["attributes"]["POSITION"]]["count"] - 1 > 65535


def test_undulation_from_proj() -> None:
    """GCG2016 through PROJ where its grid is installed, else None (caller's constant)."""
    dirs = [Path(pyproj.datadir.get_data_dir()), Path("/usr/share/proj")]
    grid = any((d / "de_bkg_gcg2016.tif").is_file() for d in dirs)
    fn = tiles3d.undulation_from_proj()
    if not grid and not pyproj.network.is_network_enabled():
        assert fn is None
    if fn is not None:
        n = fn(np.array([9.95]), np.array([52.15]))
        assert 40 < n[0] < 47
    assert 42 < tiles3d.GCG2016_HILDESHEIM_M < 46


def _report(node_report: dict[str, Any]) -> list[str]:
    lines, stack = [], [(0, i) for i in node_report.get("issues", [])]
    while stack:
        depth, issue = stack.pop()
        lines.append(f"{'  ' * depth}{issue['severity']} {issue['type']} {issue['path']}: "
                     f"{issue['message']}")
        stack.extend((depth + 1, c) for c in issue.get("causes", []))
    return lines


def test_3d_tiles_validator(tileset: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    main = TILES_VALIDATOR / "build" / "main"
    if not main.is_file() or not shutil.which("node"):
        pytest.skip(f"3d-tiles-validator not installed in {TILES_VALIDATOR} (npm package "
                    "3d-tiles-validator; or set GDI_3DTILES_VALIDATOR to its folder)")
    folder, _ = tileset

    def validate(path: Path) -> dict[str, Any]:
        report = tmp_path / f"{path.parent.name}.report.json"
        subprocess.run(["node", str(main), "--tilesetFile", str(path), "--reportFile",
                        str(report)], check=True, capture_output=True, timeout=600)
        return dict(json.loads(report.read_text(encoding="utf-8")))

    result = validate(folder / "tileset.json")
    lines = _report(result)
    infos = Counter(line.split(": ", 1)[1] for line in lines
                    if line.lstrip().startswith("INFO") and ".glb" not in line.split(": ")[0])
    print(f"\n3d-tiles-validator: {result['numErrors']} errors, {result['numWarnings']} "
          f"warnings, {result['numInfos']} infos", *(x for x in lines if "INFO" not in x),
          *(f"  info x{n}: {m}" for m, n in infos.most_common()), sep="\n")
    assert result["numErrors"] == 0, "\n".join(lines)
    # control: a GLB whose property table is shorter than its feature ids must fail
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    path = next((broken / "tiles").glob("*.glb"))
    gltf, binary = read_glb(path)
    gltf["extensions"]["EXT_structural_metadata"]["propertyTables"][0]["count"] = 1
    path.write_bytes(glb.container(gltf, binary[:gltf["buffers"][0]["byteLength"]]))
    assert validate(broken / "tileset.json")["numErrors"] > 0


def test_gltf_validator(tileset: tuple[Path, dict[str, Any]]) -> None:
    if not (GLTF_VALIDATOR / "package.json").is_file() or not shutil.which("node"):
        pytest.skip(f"gltf-validator (npm) not installed ({GLTF_VALIDATOR})")
    folder, _ = tileset
    script = ("const v=require(process.argv[1]);const fs=require('fs');(async()=>{const o={};"
              "for(const f of process.argv.slice(2)){const r=await v.validateBytes("
              "new Uint8Array(fs.readFileSync(f)),{maxIssues:50});o[f]=r.issues;}"
              "console.log(JSON.stringify(o));})();")
    files = sorted(str(p) for p in (folder / "tiles").glob("*.glb"))
    proc = subprocess.run(["node", "-e", script, str(GLTF_VALIDATOR), *files], check=True,
                          capture_output=True, text=True, timeout=600)
    issues = json.loads(proc.stdout)
    assert set(issues) == set(files)
    for f, rep in issues.items():
        msgs = [m for m in rep["messages"] if m["severity"] <= 1]
        for m in msgs:
            print(Path(f).name, m["code"], m.get("pointer", ""), m["message"])
        assert rep["numErrors"] == 0, Path(f).name


def test_pygltflib_reads_tiles(tileset: tuple[Path, dict[str, Any]]) -> None:
    pygltflib = pytest.importorskip("pygltflib")
    folder, _ = tileset
    for path in (folder / "tiles").glob("*.glb"):
        doc = pygltflib.GLTF2().load_binary(str(path))
        assert len(doc.meshes) == 1 and doc.asset.version == "2.0"
        assert len(doc.binary_blob()) >= doc.buffers[0].byteLength


def test_whole_city_timing(tmp_path: Path) -> None:
    """45,000 LoD1.2 bodies (rectangles, L shapes, heptagons, a courtyard every 20th)."""
    rng = np.random.default_rng(45)
    side, bodies = 212, []
    start = time.perf_counter()
    for i in range(45_000):
        x, y = 558_000 + (i % side) * 70.0, 5_771_000 + (i // side) * 70.0
        w, d = rng.uniform(8, 25, 2)
        poly = (shapely.box(x, y, x + w, y + d) if i % 4 == 3 else
                shapely.Polygon([(x, y), (x + 30, y), (x + 30, y + 25), (x, y + 25)],
                                [[(x + 8, y + 8), (x + 8, y + 17), (x + 22, y + 17),
                                  (x + 22, y + 8)]]) if i % 20 == 1 else
                shapely.Polygon([(x, y), (x + w, y), (x + w + 3, y + d / 2), (x + w, y + d),
                                 (x + w / 2, y + d + 3), (x, y + d), (x - 2, y + d / 2)])
                if i % 4 == 2 else
                shapely.Polygon([(x, y), (x + w, y), (x + w, y + 6), (x + 6, y + 6),
                                 (x + 6, y + d), (x, y + d)]))
        ground = 80 + rng.uniform(0, 20)
        roof = ground + rng.uniform(5, 20)
        bodies.append(Body(f"DENILD{i:010d}", solids.extrude(poly, ground, roof),
                           {"function": "31001", "storeys": 2, "roof_type": "1000"},
                           ground, roof, "2025-03-31T00:00:00Z"))
    built = time.perf_counter() - start
    start = time.perf_counter()
    stats = tiles3d.write_tileset(tmp_path / "city", bodies, title="Stadt",
                                  geoid_undulation=N_CONST)
    took = time.perf_counter() - start
    print(f"\n45,000 bodies: built in {built:.1f} s; tileset in {took:.1f} s: {stats}; "
          f"{stats['bytes'] / 1e6:.1f} MB, {stats['bytes'] / 45_000:.0f} B per building")
    assert stats["buildings"] == 45_000 and stats["skipped_surfaces"] == 0
