"""Triangles of planar 3D polygons with holes, all at once (numpy + one GEOS call).

The input is a flat set of rings (``ring_start``/``ring_len`` into the vertex array, each
ring's surface in ``ring_surf``, the exterior first, the vertices of a surface contiguous)
and each surface's outward normal (Newell's). Output triangles index the vertex array and
turn the way of their surface's normal (right-hand rule):

- a single ring of 3 vertices is one triangle; a single ring of 4 (every LoD1.2 wall, and
  rectangular roofs and grounds) two, split along the diagonal that keeps both triangles
  facing the surface's way (either diagonal of a convex quad does);
- any other surface is projected to its dominant plane (the axis of the largest normal
  component dropped) and triangulated by GEOS' constrained Delaunay triangulation
  (``shapely.constrained_delaunay_triangles``, GEOS >= 3.10), all surfaces in one call. It
  adds no vertex, so every triangle corner is one of the surface's ring vertices: corners are
  mapped back by their exact 2D coordinates (one hashed key per (surface, u, v), checked
  field by field). Triangles facing the wrong way are flipped, degenerate ones dropped.

A surface that cannot be triangulated (self-intersecting: GEOS refuses it; or without area)
gets no triangle; callers count such surfaces. Nothing is repaired.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.errors import GEOSException

MIN_AREA = 1e-6  # m²: surfaces and triangles smaller than this are dropped
_H1, _H2, _H3 = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F),
                 np.uint64(0x165667B19E3779F9))


def ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + n)`` for every (s, n)."""
    offsets = np.cumsum(lens) - lens
    return np.repeat(starts - offsets, lens) + np.arange(int(lens.sum()))


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def _quads(rel: np.ndarray, normal: np.ndarray, sel: np.ndarray, surf_start: np.ndarray
           ) -> np.ndarray:
    first = surf_start[sel]
    p0, p1, p2, p3 = (rel[first + i] for i in range(4))
    n = normal[sel]
    diag02 = (_dot(np.cross(p1 - p0, p2 - p0), n) > 0) & (_dot(np.cross(p2 - p0, p3 - p0), n) > 0)
    a = np.where(diag02[:, None], [0, 1, 2], [1, 2, 3])
    b = np.where(diag02[:, None], [0, 2, 3], [1, 3, 0])
    return (first[:, None, None] + np.stack((a, b), axis=1)).reshape(-1, 3)


def _cdt_all(polys: np.ndarray) -> np.ndarray:
    """GEOS' triangulation of every polygon; an empty collection where GEOS refuses one."""
    try:
        return np.asarray(shapely.constrained_delaunay_triangles(polys))
    except GEOSException:
        out = np.empty(len(polys), dtype=object)
        for i, p in enumerate(polys):
            try:
                out[i] = shapely.constrained_delaunay_triangles(p)
            except GEOSException:
                out[i] = shapely.GeometryCollection()
        return out


def _keys(pos: np.ndarray, uv: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(uv).view(np.uint64)
    with np.errstate(over="ignore"):
        return ((pos.astype(np.uint64) * _H1 ^ bits[:, 0]) * _H2 ^ bits[:, 1]) * _H3


def _match(pos: np.ndarray, uv: np.ndarray, cpos: np.ndarray, cuv: np.ndarray) -> np.ndarray:
    """Per corner (cpos, cuv): the index of the vertex (pos, uv) equal to it, or -1."""
    kv = _keys(pos, uv)
    order = np.argsort(kv, kind="stable")
    ks = kv[order]
    kc = _keys(cpos, cuv)
    i = np.minimum(np.searchsorted(ks, kc), len(ks) - 1)
    cand = order[i]
    ok = (ks[i] == kc) & (pos[cand] == cpos) & (uv[cand] == cuv).all(axis=1)
    return np.where(ok, cand, -1)


def _cdt(rel: np.ndarray, normal: np.ndarray, sel: np.ndarray, ring_start: np.ndarray,
         ring_len: np.ndarray, ring_surf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(sel):
        return np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=np.int64)
    lookup = np.full(len(normal), -1, dtype=np.int64)
    lookup[sel] = np.arange(len(sel))
    rsel = np.flatnonzero(lookup[ring_surf] >= 0)
    rl = ring_len[rsel]
    vid = ranges(ring_start[rsel], rl)
    pos = np.repeat(lookup[ring_surf[rsel]], rl)
    k = np.abs(normal[sel]).argmax(axis=1)
    u_axis, v_axis = (k + 1) % 3, (k + 2) % 3
    uv = np.column_stack((rel[vid, u_axis[pos]], rel[vid, v_axis[pos]])) + 0.0  # no -0.0
    closed = rl + 1
    ring_first = np.cumsum(rl) - rl
    j = np.arange(int(closed.sum())) - np.repeat(np.cumsum(closed) - closed, closed)
    coords = uv[np.repeat(ring_first, closed) + j % np.repeat(rl, closed)]
    ring_offsets = np.concatenate(([0], np.cumsum(closed)))
    per_poly = np.bincount(lookup[ring_surf[rsel]], minlength=len(sel))
    poly_offsets = np.concatenate(([0], np.cumsum(per_poly)))
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords,
                                      (ring_offsets, poly_offsets))
    parts, which = shapely.get_parts(_cdt_all(polys), return_index=True)
    if not len(parts):
        return np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=np.int64)
    corners = shapely.get_coordinates(parts).reshape(-1, 4, 2)[:, :3].reshape(-1, 2) + 0.0
    local = _match(pos, uv, np.repeat(which, 3), corners).reshape(-1, 3)
    good = (local >= 0).all(axis=1)
    return vid[local[good]], sel[which[good]]


def triangulate(rel: np.ndarray, normal: np.ndarray, ring_start: np.ndarray,
                ring_len: np.ndarray, ring_surf: np.ndarray, surf_start: np.ndarray,
                surf_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles (T, 3) into ``rel`` and their surfaces (T,).

    ``rel``: the vertices, each relative to its surface's first vertex (for precision);
    ``normal``: (S, 3) outward (Newell) normal per surface, any length.
    """
    rings_per = np.bincount(ring_surf, minlength=len(surf_start))
    ok = np.linalg.norm(normal, axis=1) >= 2 * MIN_AREA
    single = ok & (rings_per == 1)
    t3 = np.flatnonzero(single & (surf_len == 3))
    q4 = np.flatnonzero(single & (surf_len == 4))
    rest = np.flatnonzero(ok & ~(single & ((surf_len == 3) | (surf_len == 4))))
    cdt_tris, cdt_surf = _cdt(rel, normal, rest, ring_start, ring_len, ring_surf)
    tris = np.concatenate((surf_start[t3, None] + np.arange(3), _quads(rel, normal, q4,
                           surf_start), cdt_tris)).astype(np.int64)
    tri_surf = np.concatenate((t3, np.repeat(q4, 2), cdt_surf)).astype(np.int64)
    p0, p1, p2 = rel[tris[:, 0]], rel[tris[:, 1]], rel[tris[:, 2]]
    tn = np.cross(p1 - p0, p2 - p0)
    flip = _dot(tn, normal[tri_surf]) < 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    keep = np.linalg.norm(tn, axis=1) >= 2 * MIN_AREA
    return tris[keep], tri_surf[keep]
