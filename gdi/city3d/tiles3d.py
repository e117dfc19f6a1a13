"""3D Tiles 1.1 of the building model: ``tileset.json`` and one GLB per square tile.

Frame. The root tile's ``transform`` is the east-north-up (ENU) frame at the model's centre
-> ECEF (EPSG:4978), a column-major 4x4 matrix as 3D Tiles requires. The centre is the
middle of the 3D bounding box of all vertices (EPSG:25832 easting/northing, ellipsoidal
height); the ENU axes follow its ETRS89 longitude and latitude. Every vertex is transformed
with PROJ (EPSG:25832 + ellipsoidal height -> EPSG:4978, through :func:`gdi.crs.transformer`;
ETRS89 -> WGS 84 is PROJ's null transformation, as usual for web globes) and rotated into that
ENU frame, in float64. Bounding volumes are boxes in the ENU frame (z up). GLB content is
glTF y-up, as 3D Tiles 1.1 applies the y-up -> z-up rotation: positions are
(east, up, -north), relative to the tile's centre, which is the GLB node's ``translation``
(float32 positions then keep 0.1 mm precision).

Heights. The model's heights are DHHN2016 normal heights H (EPSG:7837); ECEF needs
ellipsoidal heights h = H + N, with N the height of the quasigeoid GCG2016 above the GRS80
ellipsoid. ``geoid_undulation`` gives N: a constant or a function of (lon, lat) arrays
(ETRS89 degrees), evaluated once per building at its reference point, so a building stays
rigid (a flat roof stays flat). :func:`undulation_from_proj` gives that function when PROJ
has the BKG grid ``de_bkg_gcg2016.tif`` (Debian's proj-data 9.1 does not ship it); otherwise
callers use :data:`GCG2016_HILDESHEIM_M`, N at the city centre, good to about 1 m (from
EGM96; N varies by about half a metre over the city).

Tiles. A building belongs to the ``tile_size_m`` square (absolute grid, named
``tiles/<col>_<row>.glb``, col = floor(E / size), row = floor(N / size)) that holds its
reference point, the first vertex of its LoD1.2 ground surface. The tiles are the leaves
(geometric error 0) of a tree: 4 x 4 tiles under a block node (2 km for 500 m tiles) that
holds the block's far view (:mod:`gdi.city3d.tiles3d_tree`, ``tiles/far_<col>_<row>.glb``,
``refine: "REPLACE"``: the detailed tiles replace it once loaded), blocks under a quadtree
without content (``refine: "ADD"`` from the root). A block node has the geometric error
``2 * tile_size_m * error_ratio`` (default :data:`ERROR_RATIO`, 1/8: 125 m for 500 m tiles),
a quadtree node with edge s ``s * error_ratio``. A viewer loads a node's children when
``error * viewport height / (distance * 2 tan(fov / 2))`` exceeds its threshold (16 px in
CesiumJS and 3d-tiles-renderer), i.e. within ``error * 54`` m for a 1000 px high, 60 degree
view: the 500 m tiles of a block load when the camera comes within about 6.8 km of it, the
far view of a block (its 4 km parent: 500 m) within 27 km. So a view of the whole city
shows the far view (simple prisms of the larger buildings) and the detail streams in near
the camera (a 10 m house is about 1.5 px wide when its tile loads).

Geometry. Per building its LoD2 part shells (``lod="best"`` and LoD2 present) or its LoD1.2
shell (:mod:`gdi.city3d.tiles3d_mesh`): flat normals, one primitive per material (roof,
wall and closure, ground), feature ids and the property table per tile (:mod:`gdi.city3d.glb`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from gdi import crs
from gdi.city3d import glb, tiles3d_tree
from gdi.city3d.model import Body
from gdi.city3d.tiles3d_mesh import MATERIALS, Mesh, build_mesh
from gdi.errors import CrsError, GdiError

GCG2016_HILDESHEIM_M = 43.7  # N of the quasigeoid at the city centre (m), see the docstring
ERROR_RATIO = 1 / 8          # geometric error of a quadtree node per metre of its edge
ENU_CHUNK = 262_144          # vertices transformed at a time
STORAGE_CRS, ECEF_CRS, GEOGRAPHIC_CRS = "EPSG:25832", "EPSG:4978", "EPSG:4258"
Undulation = float | Callable[[np.ndarray, np.ndarray], np.ndarray]

SCHEMA: dict[str, Any] = {"id": "gdi_buildings", "classes": {"building": {
    "name": "Gebäude (building)", "properties": {
        "id": {"type": "STRING", "required": True, "description": "ALKIS object id"},
        "function": {"type": "STRING", "noData": "", "description": "ALKIS Gebäudefunktion"},
        "roof_type": {"type": "STRING", "noData": ""},
        "storeys": {"type": "SCALAR", "componentType": "INT32", "noData": -1},
        "height_lod12": {"type": "SCALAR", "componentType": "FLOAT32", "required": True,
                         "description": "LoD1.2 roof minus ground (m)"},
        "ground_height": {"type": "SCALAR", "componentType": "FLOAT32", "required": True,
                          "description": "ground height (m, DHHN2016)"},
        "status": {"type": "STRING", "required": True, "description": "existing or planned"},
        "lod": {"type": "STRING", "required": True, "description": "2 or 1.2"},
        "begin": {"type": "STRING", "noData": "", "description": "beginLifespanVersion"},
    }}}}
_TILESET_SCHEMA = {"id": "gdi_tileset", "classes": {"tileset": {"properties": {
    "name": {"type": "STRING", "semantic": "NAME"},
    "description": {"type": "STRING", "semantic": "DESCRIPTION"}}}}}


class TilesError(GdiError, ValueError):
    """The tileset cannot be written (no geometry, bad parameters, failed transformation)."""


def undulation_from_proj() -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """N(lon, lat) of GCG2016 through PROJ (ETRS89 -> DHHN2016 height), or None when PROJ
    lacks the grid (it would fall back to a 'ballpark' transformation with N = 0)."""
    source, target = "EPSG:4937", "EPSG:4258+7837"
    try:
        t = crs.transformer(source, target)
    except CrsError:
        return None
    if "ballpark" in t.description.lower():
        return None

    def undulation(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        lon = np.asarray(lon, dtype=float)
        h = crs.transformer(source, target).transform(lon, np.asarray(lat, dtype=float),
                                                      np.zeros_like(lon), errcheck=False)[2]
        return -np.asarray(h, dtype=float)  # H = h - N, and h = 0

    probe = undulation(np.array([9.95]), np.array([52.15]))  # Hildesheim
    return undulation if np.isfinite(probe).all() and 20 < probe[0] < 70 else None


def _undulations(mesh: Mesh, geoid_undulation: Undulation) -> np.ndarray:
    """N per building (at its reference point; 0 where a body has no geometry)."""
    located = np.isfinite(mesh.ref_xy).all(axis=1)
    out = np.zeros(len(mesh.ref_xy))
    if not callable(geoid_undulation):
        n = np.full(int(located.sum()), float(geoid_undulation))
    else:
        lon, lat = crs.transform_xy(mesh.ref_xy[located, 0], mesh.ref_xy[located, 1],
                                    STORAGE_CRS, GEOGRAPHIC_CRS)
        n = np.asarray(geoid_undulation(lon, lat), dtype=float).reshape(-1)
    if n.shape != (int(located.sum()),) or not np.isfinite(n).all():
        raise TilesError("geoid_undulation gave no finite value for every building",
                         hint="check the GCG2016 grid or pass a constant")
    out[located] = n
    return out


def _enu_matrix(lon: float, lat: float) -> np.ndarray:
    """Rows: the east, north and up unit vectors in ECEF."""
    lo, la = math.radians(lon), math.radians(lat)
    return np.array([[-math.sin(lo), math.cos(lo), 0.0],
                     [-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)],
                     [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]])


def _to_ecef(x: np.ndarray, y: np.ndarray, h: np.ndarray) -> np.ndarray:
    out = crs.transformer(STORAGE_CRS, ECEF_CRS).transform(x, y, h, errcheck=False)
    xyz = np.column_stack([np.asarray(c, dtype=float) for c in out])
    if not np.isfinite(xyz).all():
        raise TilesError("EPSG:25832 -> EPSG:4978 gave non-finite coordinates")
    return xyz


def _enu(mesh: Mesh, n_body: np.ndarray, origin: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """The mesh's vertices in the tileset's ENU frame, heights made ellipsoidal with N per
    body, transformed by chunks (the transformation's temporaries stay small)."""
    out = np.empty((len(mesh.vertices), 3))
    body = mesh.vertex_body
    for a in range(0, len(out), ENU_CHUNK):
        v = mesh.vertices[a:a + ENU_CHUNK]
        h = v[:, 2] + n_body[body[a:a + ENU_CHUNK]]
        out[a:a + ENU_CHUNK] = (_to_ecef(v[:, 0], v[:, 1], h) - origin) @ rot.T
    return out


def _frame(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The ENU frame at the centre of ``v`` (x, y, h): origin (ECEF), rotation, its record."""
    centre = (v.min(axis=0) + v.max(axis=0)) / 2
    origin = _to_ecef(centre[:1], centre[1:2], centre[2:])[0]
    lon, lat = crs.transform_xy(centre[:1], centre[1:2], STORAGE_CRS, GEOGRAPHIC_CRS)
    record = {"easting": float(centre[0]), "northing": float(centre[1]),
              "ellipsoidal_height": float(centre[2]), "lon": float(lon[0]),
              "lat": float(lat[0])}
    return origin, _enu_matrix(float(lon[0]), float(lat[0])), record


def _transform(origin: np.ndarray, rot: np.ndarray) -> list[float]:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot.T, origin  # columns: east, north, up, origin
    return [float(v) for v in m.T.reshape(-1)]  # column-major


def _storeys(value: Any) -> int:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return -1
    return int(f) if math.isfinite(f) and 0 <= f < 2**31 else -1


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _columns(bodies: list[Body], lods: list[str]) -> dict[str, glb.Column]:
    a = [b.attributes for b in bodies]
    return {
        "id": glb.Column("STRING", [b.id for b in bodies]),
        "function": glb.Column("STRING", [_text(x.get("function")) for x in a]),
        "roof_type": glb.Column("STRING", [_text(x.get("roof_type")) for x in a]),
        "storeys": glb.Column("SCALAR", np.array([_storeys(x.get("storeys")) for x in a]),
                              "INT32"),
        "height_lod12": glb.Column("SCALAR", np.array([b.roof - b.ground for b in bodies]),
                                   "FLOAT32"),
        "ground_height": glb.Column("SCALAR", np.array([b.ground for b in bodies]), "FLOAT32"),
        "status": glb.Column("STRING", [b.status for b in bodies]),
        "lod": glb.Column("STRING", lods),
        "begin": glb.Column("STRING", [_text(b.begin) for b in bodies]),
    }


def _write_glbs(folder: Path, prefix: str, mesh: Mesh, enu: np.ndarray,
                bodies: Sequence[Body], lods: list[str], ref_xy: np.ndarray, tile_size_m: float
                ) -> tuple[dict[tuple[int, int], tiles3d_tree.Node], int]:
    """One GLB per ``tile_size_m`` square of ``mesh`` (``enu``: its vertices in the tileset
    frame; a body's square: the one of its point in ``ref_xy``) as
    ``tiles/<prefix><col>_<row>.glb``; returns (tile, lo, hi) by key, and the bytes."""
    normals = mesh.normals(enu)
    located = np.isfinite(ref_xy).all(axis=1)
    cols = np.floor(np.where(located[:, None], ref_xy, 0.0) / tile_size_m).astype(np.int64)
    tiles: dict[tuple[int, int], tiles3d_tree.Node] = {}
    size = 0
    for (col, row), part in mesh.by_tile(cols):
        idx = part.body_ids
        points, normal = enu[part.vertex_index], normals[part.vertex_index]
        lo, hi = points.min(axis=0), points.max(axis=0)
        centre = (lo + hi) / 2
        translation = (float(centre[0]), float(centre[2]), float(-centre[1]))
        yup = np.column_stack((points[:, 0], points[:, 2], -points[:, 1])) - translation
        nyup = np.column_stack((normal[:, 0], normal[:, 2], -normal[:, 1]))
        prims = [glb.Primitive(mat, yup[a:b], nyup[a:b], part.local_ids[a:b], tris)
                 for mat, a, b, tris in part.primitives]
        data = glb.encode(prims, MATERIALS, translation, SCHEMA, "building", len(idx),
                          _columns([bodies[i] for i in idx], [lods[i] for i in idx]))
        uri = f"tiles/{prefix}{col}_{row}.glb"
        (folder / uri).write_bytes(data)
        size += len(data)
        tiles[col, row] = ({"boundingVolume": {"box": tiles3d_tree.box(lo, hi)},
                            "geometricError": 0.0, "content": {"uri": uri}}, lo, hi)
    return tiles, size


def write_tileset(folder: Path, bodies: Sequence[Body], *, title: str,
                  geoid_undulation: Undulation, tile_size_m: float = 500.0,
                  lod: Literal["best", "1.2"] = "best", error_ratio: float = ERROR_RATIO,
                  overview: bool = True) -> dict[str, Any]:
    """Write ``folder/tileset.json`` and ``folder/tiles/<col>_<row>.glb``.

    ``geoid_undulation``: N (m) of GCG2016, a constant or N(lon, lat) (ETRS89 degrees);
    ``lod``: "best" draws LoD2 where a body has it, "1.2" always the LoD1.2 shell;
    ``error_ratio``: geometric error per metre of a quadtree node's edge (see above);
    ``overview``: the far view per block (gdi.city3d.tiles3d_tree).

    Returns {"tiles", "buildings", "triangles", "bytes" (all files), "skipped_surfaces"
    (surfaces that could not be triangulated: degenerate or self-intersecting)}.
    """
    if lod not in ("best", "1.2"):
        raise TilesError(f"lod must be 'best' or '1.2', not {lod!r}")
    if not (math.isfinite(tile_size_m) and tile_size_m > 0):
        raise TilesError(f"tile_size_m must be positive, not {tile_size_m!r}")
    if not (math.isfinite(error_ratio) and error_ratio > 0):
        raise TilesError(f"error_ratio must be positive, not {error_ratio!r}")
    mesh = build_mesh(bodies, lod)
    if not len(mesh.triangles):
        raise TilesError("no building has any surface to draw")
    n_body = _undulations(mesh, geoid_undulation)  # per body; 0 for bodies without geometry
    h = mesh.vertices[:, 2] + n_body[mesh.vertex_body]
    lo = np.array([*mesh.vertices[:, :2].min(axis=0), h.min()])
    hi = np.array([*mesh.vertices[:, :2].max(axis=0), h.max()])
    del h
    origin, rot, record = _frame(np.array([lo, hi]))
    enu = _enu(mesh, n_body, origin, rot)
    (folder / "tiles").mkdir(parents=True, exist_ok=True)
    leaves, size = _write_glbs(folder, "", mesh, enu, bodies, mesh.lod, mesh.ref_xy,
                               tile_size_m)
    blocks: dict[tuple[int, int], tiles3d_tree.Node] = {}
    far_triangles = 0
    lods, ref_xy = mesh.lod, mesh.ref_xy
    drawn, triangles, skipped = int(mesh.drawn.sum()), len(mesh.triangles), mesh.skipped
    del mesh, enu  # the city's mesh is the run's largest array: gone before the far view's
    if overview:
        simple, index = tiles3d_tree.simple_bodies(bodies)
        far = build_mesh(simple, "1.2") if simple else None
        if far is not None and len(far.triangles):
            far_enu = _enu(far, _undulations(far, geoid_undulation), origin, rot)
            blocks, far_size = _write_glbs(folder, "far_", far, far_enu, simple,
                                           [lods[i] for i in index], ref_xy[index],
                                           tile_size_m * tiles3d_tree.BLOCK)
            size += far_size
            far_triangles = len(far.triangles)
    root = tiles3d_tree.tree(leaves, tile_size_m, error_ratio, blocks)
    root.update(transform=_transform(origin, rot), refine="ADD")
    undulation = ("function of lon, lat (per building)" if callable(geoid_undulation)
                  else float(geoid_undulation))
    tileset = {
        "asset": {"version": "1.1", "extras": {"generator": "gdi-hildesheim"}},
        "schema": _TILESET_SCHEMA,
        "metadata": {"class": "tileset", "properties": {
            "name": title, "description": "LoD1.2/LoD2 buildings, ETRS89 ellipsoidal heights "
            "from DHHN2016 normal heights plus the GCG2016 quasigeoid"}},
        "geometricError": root["geometricError"],
        "root": root,
        "extras": {"origin": record, "geoid_undulation_m": undulation,
                   "source_crs": STORAGE_CRS, "source_vertical_crs": "EPSG:7837",
                   "tile_size_m": tile_size_m},
    }
    text = json.dumps(tileset, ensure_ascii=False, allow_nan=False, indent=1)
    (folder / "tileset.json").write_text(text, encoding="utf-8")
    return {"tiles": len(leaves), "buildings": drawn,
            "triangles": triangles, "far_tiles": len(blocks),
            "far_triangles": far_triangles, "bytes": size + len(text.encode()),
            "skipped_surfaces": skipped}
