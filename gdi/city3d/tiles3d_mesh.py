"""The triangle mesh of the building shells for the 3D Tiles (gdi.city3d.tiles3d).

Every surface keeps its own vertices (its ring vertices: each face has a flat normal, the
Newell normal of its rings recomputed in the output frame) and is cut into triangles by
:mod:`gdi.city3d.triangulate`. Per building the LoD2 part shells are used with ``lod="best"``
where the body has them, else the LoD1.2 shell. :meth:`Mesh.by_tile` orders the drawn
surfaces by tile, material and building, so each tile's vertices and each of its primitives
(one per material) are contiguous, and numbers the buildings of a tile (its feature ids).
A surface that gets no triangle (degenerate, or self-intersecting) is counted in
``Mesh.skipped``, not repaired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np

from gdi.city3d.model import Body
from gdi.city3d.triangulate import ranges, triangulate

MATERIALS: list[dict[str, Any]] = [  # roof dark red, walls light grey, ground grey (linear RGB)
    {"name": "roof", "pbrMetallicRoughness": {"baseColorFactor": [0.45, 0.08, 0.06, 1.0],
                                              "metallicFactor": 0.0, "roughnessFactor": 0.9}},
    {"name": "wall", "pbrMetallicRoughness": {"baseColorFactor": [0.78, 0.78, 0.75, 1.0],
                                              "metallicFactor": 0.0, "roughnessFactor": 0.9}},
    {"name": "ground", "pbrMetallicRoughness": {"baseColorFactor": [0.4, 0.4, 0.4, 1.0],
                                                "metallicFactor": 0.0, "roughnessFactor": 1.0}},
]
MATERIAL_OF = {"RoofSurface": 0, "WallSurface": 1, "ClosureSurface": 1, "GroundSurface": 2}


@dataclasses.dataclass(frozen=True)
class TilePart:
    """One tile: its bodies (feature order) and its primitives."""

    body_ids: np.ndarray       # indices into the bodies, in feature id order
    vertex_index: np.ndarray   # the tile's vertices (indices into Mesh.vertices), in order
    local_ids: np.ndarray      # (n,) feature id per vertex of vertex_index
    primitives: list[tuple[int, int, int, np.ndarray]]  # material, start, stop, (k, 3)


@dataclasses.dataclass(frozen=True)
class Mesh:
    vertices: np.ndarray       # (V, 3) storage coordinates, the rings of all surfaces
    vertex_surf: np.ndarray    # (V,) the surface of each vertex
    surf_start: np.ndarray     # (S,) first vertex of each surface (its vertices are contiguous)
    surf_len: np.ndarray       # (S,)
    surf_body: np.ndarray      # (S,)
    surf_mat: np.ndarray       # (S,) index into MATERIALS
    nxt: np.ndarray            # (V,) the next vertex in the same ring
    triangles: np.ndarray      # (T, 3) vertex indices, outward winding
    tri_surf: np.ndarray       # (T,)
    ref_xy: np.ndarray         # (B, 2) reference point per body (NaN without geometry)
    lod: list[str]             # per body: "2" or "1.2"
    skipped: int               # surfaces not drawn

    @property
    def vertex_body(self) -> np.ndarray:
        return self.surf_body[self.vertex_surf]

    @property
    def drawn(self) -> np.ndarray:
        """Per body: has at least one triangle."""
        surfs = np.flatnonzero(np.bincount(self.tri_surf, minlength=len(self.surf_start)))
        return np.bincount(self.surf_body[surfs], minlength=len(self.lod)) > 0

    def normals(self, points: np.ndarray) -> np.ndarray:
        """Unit normal per vertex (its surface's), of ``points`` (V, 3) in any frame."""
        n = _newell(points, self.nxt, self.surf_start, self.vertex_surf)
        length = np.linalg.norm(n, axis=1, keepdims=True)
        n = np.divide(n, length, out=np.tile([0.0, 0.0, 1.0], (len(n), 1)), where=length > 0)
        return n[self.vertex_surf]

    def by_tile(self, cols: np.ndarray) -> Iterator[tuple[tuple[int, int], TilePart]]:
        """The drawn surfaces grouped by the tile (``cols``: (B, 2) per body) of their body,
        ordered by tile, material and body."""
        counts = np.bincount(self.tri_surf, minlength=len(self.surf_start))
        surfs = np.flatnonzero(counts)
        cmin = cols[self.surf_body[surfs]].min(axis=0)
        rel = cols - cmin
        span = int(rel[self.surf_body[surfs], 1].max()) + 1
        tile_of_body = rel[:, 0] * span + rel[:, 1]
        body = self.surf_body[surfs]
        order = np.lexsort((body, self.surf_mat[surfs], tile_of_body[body]))
        surfs, body = surfs[order], body[order]
        tile = tile_of_body[body]
        lens = self.surf_len[surfs]
        new_start = np.cumsum(lens) - lens
        vertex_index = ranges(self.surf_start[surfs], lens)
        new_of_old = np.full(len(self.vertices), -1, dtype=np.int64)
        new_of_old[vertex_index] = np.arange(len(vertex_index))
        rank = np.full(len(self.surf_start), -1, dtype=np.int64)
        rank[surfs] = np.arange(len(surfs))
        t_order = np.argsort(rank[self.tri_surf], kind="stable")
        tris = new_of_old[self.triangles[t_order]]
        group = tile * 3 + self.surf_mat[surfs]
        t_group = group[rank[self.tri_surf[t_order]]]
        for t in np.unique(tile):
            s0, s1 = np.searchsorted(tile, [t, t + 1])
            bodies = np.unique(body[s0:s1])
            v0 = int(new_start[s0])
            v1 = int(new_start[s1 - 1] + lens[s1 - 1])
            local = np.searchsorted(bodies, self.surf_body[self.vertex_surf[
                vertex_index[v0:v1]]])
            prims = []
            for g in np.unique(group[s0:s1]):
                a, b = np.searchsorted(group[s0:s1], [g, g + 1]) + s0
                ta, tb = np.searchsorted(t_group, [g, g + 1])
                start, stop = int(new_start[a]), int(new_start[b - 1] + lens[b - 1])
                prims.append((int(g % 3), start - v0, stop - v0, tris[ta:tb] - start))
            yield ((int(t // span + cmin[0]), int(t % span + cmin[1])),
                   TilePart(bodies, vertex_index[v0:v1], local, prims))


def _newell(points: np.ndarray, nxt: np.ndarray, surf_start: np.ndarray,
            vertex_surf: np.ndarray) -> np.ndarray:
    """Newell's normal (twice the vector area) per surface, relative to its first vertex."""
    rel = points - points[surf_start][vertex_surf]
    return np.add.reduceat(np.cross(rel, rel[nxt]), surf_start, axis=0)


def _surfaces(bodies: Sequence[Body], lod: Literal["best", "1.2"]
              ) -> tuple[list[np.ndarray], list[int], list[int], list[int], np.ndarray,
                         list[str]]:
    """Rings (exterior first), ring surface, surface body, surface material, ref points."""
    rings: list[np.ndarray] = []
    ring_surf: list[int] = []
    surf_body: list[int] = []
    surf_mat: list[int] = []
    ref = np.full((len(bodies), 2), np.nan)
    lods: list[str] = []
    for b, body in enumerate(bodies):
        use2 = lod == "best" and bool(body.lod2)
        lods.append("2" if use2 else "1.2")
        surfaces = [s for part in body.lod2 for s in part] if use2 else body.shell
        ground = [s.rings[0] for s in body.shell if s.kind == "GroundSurface" and s.rings]
        for s in surfaces:
            kept = [r for r in s.rings if len(r) >= 3]
            if not kept or kept[0] is not s.rings[0]:
                continue
            sid = len(surf_body)
            surf_body.append(b)
            surf_mat.append(MATERIAL_OF.get(s.kind, 1))
            rings.extend(kept)
            ring_surf.extend([sid] * len(kept))
        first = ground[0] if ground and len(ground[0]) else (
            rings[-1] if surf_body and surf_body[-1] == b else None)
        if first is not None:
            ref[b] = np.asarray(first, dtype=float)[0, :2]
    return rings, ring_surf, surf_body, surf_mat, ref, lods


def build_mesh(bodies: Sequence[Body], lod: Literal["best", "1.2"]) -> Mesh:
    """The triangles of every body's chosen shell(s)."""
    rings, ring_surf_l, surf_body_l, surf_mat_l, ref, lods = _surfaces(bodies, lod)
    ring_len = np.array([len(r) for r in rings], dtype=np.int64)
    v = (np.concatenate(rings).astype(np.float64) if rings else np.empty((0, 3)))[:, :3]
    ring_surf = np.array(ring_surf_l, dtype=np.int64)
    n_surf = len(surf_body_l)
    ring_start = np.cumsum(ring_len) - ring_len
    rings_per = np.bincount(ring_surf, minlength=n_surf)
    first_ring = np.cumsum(rings_per) - rings_per
    surf_start = ring_start[first_ring] if n_surf else np.empty(0, np.int64)
    surf_len = np.add.reduceat(ring_len, first_ring) if n_surf else np.empty(0, np.int64)
    vertex_surf = np.repeat(ring_surf, ring_len)
    nxt = np.arange(len(v)) + 1
    nxt[ring_start + ring_len - 1] = ring_start
    normal = _newell(v, nxt, surf_start, vertex_surf) if n_surf else np.empty((0, 3))
    tris, tri_surf = triangulate(v - v[surf_start][vertex_surf] if n_surf else v, normal,
                                 ring_start, ring_len, ring_surf, surf_start, surf_len)
    skipped = n_surf - int(np.count_nonzero(np.bincount(tri_surf, minlength=n_surf)))
    return Mesh(v, vertex_surf, surf_start, surf_len, np.array(surf_body_l, dtype=np.int64),
                np.array(surf_mat_l, dtype=np.int64), nxt, tris, tri_surf, ref, lods, skipped)
