"""LoD1.2 bodies: the extruded shell of a footprint, and its structural checks.

``extrude`` turns a 2D footprint (holes allowed) into one closed shell of planar surfaces
(:mod:`gdi.city3d.model`): a ground surface, a roof surface and one wall per ring edge, every
ring ordered so that its normal points out of the solid.

``check`` is the structural test every body passes before it is encoded, lean enough to run
once per building (about 40 µs for a rectangle, see tests/test_issue_14_solids.py). The
vertices are snapped to a ``tol`` grid in numpy and numbered; the directed edges then give
closedness (every undirected edge used exactly twice) and consistent orientation (never twice
in the same direction); the divergence theorem gives the signed volume (outward orientation,
positive volume); the distance to a best-fit plane per surface gives planarity. Shells are
small (24 ring vertices for a rectangle), where plain Python loops beat numpy's per-call cost.
Each problem is one string ``"<kind>: <detail>"`` with ``kind`` from :data:`KINDS`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import shapely

from gdi.city3d.model import Body, Surface
from gdi.errors import GdiError

DUPLICATE_TOL = 0.001  # consecutive footprint vertices closer than this are one vertex (m)
KINDS = ("few-vertices", "duplicate-vertex", "not-closed", "orientation", "inward",
         "zero-volume", "non-planar")
_KEY_BITS = 21         # per coordinate when a snapped vertex is packed into one int64


class FootprintError(GdiError, ValueError):
    """A footprint cannot be extruded (not a polygon, empty, or a ring collapses)."""


def _open_ring(closed: np.ndarray) -> np.ndarray:
    """The open ring of a closed coordinate array, without consecutive duplicates."""
    step = closed[1:] - closed[:-1]
    if ((step * step).sum(axis=1) >= DUPLICATE_TOL**2).all():
        return closed[:-1]
    kept = [closed[0]]
    for p in closed[1:-1]:
        if np.hypot(*(p - kept[-1])) >= DUPLICATE_TOL:
            kept.append(p)
    while len(kept) > 1 and np.hypot(*(kept[-1] - kept[0])) < DUPLICATE_TOL:
        kept.pop()
    return np.asarray(kept)


def _footprint_rings(polygon: shapely.Polygon) -> list[np.ndarray]:
    """The 2D rings of ``polygon``: exterior counter-clockwise first, then holes clockwise."""
    if not isinstance(polygon, shapely.Polygon) or polygon.is_empty:
        raise FootprintError(f"cannot extrude {polygon.geom_type}: a non-empty Polygon is needed")
    oriented = shapely.orient_polygons(polygon)
    xy = shapely.get_coordinates(oriented)
    if shapely.get_num_interior_rings(oriented):
        sizes = shapely.get_num_coordinates(shapely.get_rings(oriented))
        parts = np.split(xy, np.cumsum(sizes)[:-1])
    else:
        parts = [xy]
    rings = [_open_ring(part) for part in parts]
    if min(len(r) for r in rings) < 3:
        raise FootprintError("a footprint ring has fewer than 3 distinct vertices")
    return rings


def _at(xy: np.ndarray, z: float) -> np.ndarray:
    out = np.empty((len(xy), 3))
    out[:, :2], out[:, 2] = xy, z
    return out


def extrude(polygon: shapely.Polygon, ground: float, roof: float) -> tuple[Surface, ...]:
    """The LoD1.2 shell of ``polygon`` between the heights ``ground`` and ``roof``.

    Returns the ground surface, the roof surface and then the walls ring by ring, edge by
    edge (the exterior first). Holes become courtyards whose walls face into the courtyard.
    """
    rings = _footprint_rings(polygon)
    ground_s = Surface("GroundSurface", tuple(_at(r[::-1], ground) for r in rings))
    roof_s = Surface("RoofSurface", tuple(_at(r, roof) for r in rings))
    walls: list[Surface] = []
    for r in rings:
        nxt = np.concatenate((r[1:], r[:1]))
        quads = np.empty((len(r), 4, 3))
        quads[:, 0, :2], quads[:, 1, :2], quads[:, 2, :2], quads[:, 3, :2] = r, nxt, nxt, r
        quads[:, :2, 2], quads[:, 2:, 2] = ground, roof
        walls.extend(Surface("WallSurface", (q,)) for q in quads)
    return (ground_s, roof_s, *walls)


def _topology(vid: list[int], lens: list[int]) -> list[str]:
    """Duplicate vertices, closedness and orientation from the vertex ids of one shell."""
    out: list[str] = []
    edges: list[tuple[int, int]] = []
    repeated = consecutive = pos = 0
    for n in lens:
        r = vid[pos:pos + n]
        pos += n
        distinct = len(set(r))
        if distinct == n:
            edges += zip(r, r[1:] + r[:1], strict=True)
            continue
        repeated += n - distinct
        pairs = list(zip(r, r[1:] + r[:1], strict=True))
        consecutive += sum(a == b for a, b in pairs)
        edges += [(a, b) for a, b in pairs if a != b]
    if repeated:
        out.append(f"duplicate-vertex: {repeated} repeated vertices in rings "
                   f"({consecutive} consecutive)")
    directed = set(edges)
    if len(directed) == len(edges) and {(b, a) for a, b in edges} == directed:
        return out
    uses = Counter((a, b) if a < b else (b, a) for a, b in edges)
    bad = sum(1 for c in uses.values() if c != 2)
    if bad:
        out.append(f"not-closed: {bad} edges not shared by exactly two faces")
    if len(edges) > len(directed):
        out.append(f"orientation: {len(edges) - len(directed)} edges used twice in the same "
                   "direction")
    return out


def _cross_sum(ring: list[list[float]]) -> tuple[float, float, float]:
    """Σ v_i × v_i+1 over a ring: twice its vector area (Newell's normal)."""
    sx = sy = sz = 0.0
    ax, ay, az = ring[-1]
    for bx, by, bz in ring:
        sx += ay * bz - az * by
        sy += az * bx - ax * bz
        sz += ax * by - ay * bx
        ax, ay, az = bx, by, bz
    return sx, sy, sz


def _geometry(shell: tuple[Surface, ...], pts: list[list[float]], tol: float
              ) -> tuple[float, list[str]]:
    """Signed volume (divergence theorem over a fan of each ring) and non-planar surfaces.

    A surface's plane has the normal of its exterior ring (Newell's method, the best-fit
    normal of a polygon) and passes through the mean of all its vertices.
    """
    out: list[str] = []
    six_vol = 0.0
    pos = 0
    for j, s in enumerate(shell):
        start, normal = pos, (0.0, 0.0, 0.0)
        for k, r in enumerate(s.rings):
            ring = pts[pos:pos + len(r)]
            pos += len(r)
            if not ring:
                continue
            sx, sy, sz = _cross_sum(ring)
            ox, oy, oz = ring[0]
            six_vol += ox * sx + oy * sy + oz * sz
            if k == 0:
                normal = (sx, sy, sz)
        nx, ny, nz = normal
        length = math.sqrt(nx * nx + ny * ny + nz * nz)
        if pos > start and length > 0:
            nx, ny, nz = nx / length, ny / length, nz / length
            dist = [x * nx + y * ny + z * nz for x, y, z in pts[start:pos]]
            mean = sum(dist) / len(dist)
            worst = max(max(dist) - mean, mean - min(dist))
            if worst > tol:
                out.append(f"non-planar: surface {j} ({s.kind}) deviates {worst:.3f} m "
                           "from its plane")
    return six_vol / 6.0, out


def _vertices(shell: tuple[Surface, ...]) -> tuple[np.ndarray, list[int]]:
    """All ring vertices of the shell centred on its first vertex, and the ring lengths."""
    rings = [r for s in shell for r in s.rings]
    lens = [len(r) for r in rings]
    if not sum(lens):
        return np.empty((0, 3)), lens
    v = np.concatenate(rings, dtype=np.float64)
    v -= v[0]
    return v, lens


def _vertex_ids(v: np.ndarray, reach: float, tol: float) -> list[int]:
    """One id per distinct vertex of the shell on a ``tol`` grid (``reach``: largest |v|)."""
    q = np.rint(v * (1.0 / tol)).astype(np.int64)
    keys: list[Any]
    if reach / tol < (1 << (_KEY_BITS - 1)) - 1:  # one int per vertex: 3 × 21 bits
        keys = ((q[:, 0] << 2 * _KEY_BITS) + (q[:, 1] << _KEY_BITS) + q[:, 2]).tolist()
    else:
        keys = list(map(tuple, q.tolist()))
    ids: dict[Any, int] = {}
    return [ids.setdefault(k, len(ids)) for k in keys]


def check(shell: tuple[Surface, ...], *, tol: float = 0.001) -> list[str]:
    """Structural problems of ``shell``; the empty list means it is a valid closed solid."""
    v, lens = _vertices(shell)
    if not len(v):
        return ["few-vertices: the shell has no vertices"]
    out: list[str] = []
    if min(lens) < 3:
        out.append(f"few-vertices: {sum(n < 3 for n in lens)} rings with < 3 vertices")
    reach = float(np.abs(v).max())
    out += _topology(_vertex_ids(v, reach, tol), lens)
    vol, planarity = _geometry(shell, v.tolist(), tol)
    limit = tol * reach**2  # a slab ``tol`` thick over the shell's size
    if vol < -limit:
        out.append(f"inward: signed volume {vol:.3f} m³ < 0 (faces point inward)")
    elif vol <= limit:
        out.append(f"zero-volume: signed volume {vol:.6f} m³")
    return out + planarity


def volume(shell: tuple[Surface, ...]) -> float:
    """Signed volume of a closed shell (positive when it is oriented outward)."""
    v, _ = _vertices(shell)
    return _geometry(shell, v.tolist(), float("inf"))[0]


def structural_report(bodies: Iterable[Body], *, tol: float = 0.001, first: int = 20
                      ) -> dict[str, int | list[str]]:
    """Runs :func:`check` on every body.

    Returns the number of bodies, of invalid ones, of bodies with each kind of problem
    (:data:`KINDS`) and, as ``first_invalid``, the ids of the first ``first`` invalid bodies.
    """
    counts = dict.fromkeys(KINDS, 0)
    ids: list[str] = []
    total = invalid = 0
    for body in bodies:
        total += 1
        problems = check(body.shell, tol=tol)
        if not problems:
            continue
        invalid += 1
        if len(ids) < first:
            ids.append(body.id)
        for kind in {p.split(":", 1)[0] for p in problems}:
            counts[kind] = counts.get(kind, 0) + 1
    return {"bodies": total, "invalid": invalid, **counts, "first_invalid": ids}
