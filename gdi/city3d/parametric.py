"""Parametric LoD2 shells of rectangular buildings: flat, shed, gable and hip roofs.

``roof_shell`` builds one closed shell (:mod:`gdi.city3d.model`) from a footprint rectangle,
the ground, eave and ridge heights and an AdV Dachform code. The rectangle's local frame has
u along its long edge and v across it; its corners run counter-clockwise seen from above.

* 1000 flat: a roof rectangle at the eave (= ridge) height; so is a sloped form whose ridge
  rises less than ``RISE_TOL`` above the eave.
* 2100 shed: one roof plane from the eave on the first long edge of ``corners`` (edge 0→1
  when it is the longer one, else edge 1→2) to the ridge on the opposite long edge.
* 3100 gable: the ridge along the long axis; two roof rectangles, the end walls pentagons.
* 3200 hip: the same slope on all four sides, so the ridge is shortened by half the width at
  both ends: two trapezoid and two triangle roof faces (a pyramid for a square).

Surfaces come in the order ground, walls (one per footprint edge, counter-clockwise from
the first corner of the first long edge), roofs. Every ring is planar, open and
outward-oriented (right-hand rule), so ``solids.check(shell) == []``. ``rectangle`` gives the
corners of a footprint's minimum rotated rectangle in the order ``roof_shell`` expects.
"""

from __future__ import annotations

import numpy as np
import shapely

from gdi.city3d.model import Surface
from gdi.city3d.solids import FootprintError
from gdi.errors import GdiError

FLAT, SHED, GABLE, HIP = 1000, 2100, 3100, 3200  # AdV Dachform codes
FORMS = (FLAT, SHED, GABLE, HIP)
RECT_TOL = 0.01   # a footprint is a rectangle if it is one within this (m)
RISE_TOL = 0.001  # a sloped roof rising less than this is flat (m)
SNAP_TOL = 0.001  # rectangle corners this close to a footprint vertex take its coordinates
LENGTH_EPS = 1e-6  # edges differing by less than this are equally long (m)
_NEXT = np.array([1, 2, 3, 0])


class RoofError(GdiError, ValueError):
    """A parametric roof cannot be built (no rectangle, heights out of order, unknown form)."""


def _pairs(c: np.ndarray) -> tuple[float, float]:
    """Mean lengths of the edges 0→1, 2→3 and of the edges 1→2, 3→0 of a quadrilateral."""
    edges = np.hypot(*(c[_NEXT] - c).T)
    return float(edges[0] + edges[2]) / 2, float(edges[1] + edges[3]) / 2


def _frame(corners: np.ndarray) -> np.ndarray:
    """``corners`` as a validated (4, 2) float array, rotated so that edge 0→1 is long."""
    c = np.asarray(corners, dtype=np.float64)
    if c.shape != (4, 2) or not np.isfinite(c).all():
        raise RoofError(f"corners must be a finite (4, 2) array, not shape {c.shape}")
    x, y = c[:, 0] - c[0, 0], c[:, 1] - c[0, 1]
    area = 0.5 * float(np.dot(x, y[_NEXT]) - np.dot(x[_NEXT], y))
    if area <= 0:
        raise RoofError(f"corners must run counter-clockwise around a positive area ({area:.3f})")
    diagonals = np.hypot(*(c[2] - c[0])), np.hypot(*(c[3] - c[1]))
    skew = float(np.hypot(*(c[0] + c[2] - c[1] - c[3])))
    if skew > RECT_TOL or abs(diagonals[0] - diagonals[1]) > RECT_TOL:
        raise RoofError("corners are not a rectangle (opposite sides or diagonals differ "
                        f"by more than {RECT_TOL} m)")
    pair = _pairs(c)
    return c if pair[0] >= pair[1] - LENGTH_EPS else c[_NEXT]


def _heights(ground: float, eave: float, ridge: float, form: int) -> int:
    """The effective form; RoofError if the heights or the form are unusable."""
    if form not in FORMS:
        raise RoofError(f"roof form {form} is not one of {FORMS} (AdV Dachform)")
    if not all(np.isfinite(h) for h in (ground, eave, ridge)):
        raise RoofError("ground, eave and ridge must be finite heights")
    if eave - ground < RISE_TOL:
        raise RoofError(f"eave {eave:.3f} is not above the ground {ground:.3f}")
    if ridge < eave - RISE_TOL or (form == FLAT and ridge > eave + RISE_TOL):
        raise RoofError(f"ridge {ridge:.3f} does not fit eave {eave:.3f} for form {form}")
    return FLAT if ridge - eave < RISE_TOL else form


def _xyz(points: list[np.ndarray], z: list[float]) -> np.ndarray:
    out = np.empty((len(points), 3))
    out[:, :2], out[:, 2] = points, z
    return out


def roof_shell(corners: np.ndarray, ground: float, eave: float, ridge: float,
               form: int) -> tuple[Surface, ...]:
    """The closed LoD2 shell of a rectangular building (see the module docstring)."""
    form = _heights(float(ground), float(eave), float(ridge), int(form))
    g, e, r = float(ground), float(eave), float(ridge)
    a, b, c, d = _frame(corners)
    length, width = float(np.hypot(*(b - a))), float(np.hypot(*(d - a)))
    m_da, m_bc = (a + d) / 2, (b + c) / 2  # the ends of a gable ridge
    top = [e, e, r, r] if form == SHED else [e] * 4  # wall tops at the corners a, b, c, d
    gables: dict[int, np.ndarray] = {}  # wall index: the ridge end it rises to
    if form in (FLAT, SHED):
        roofs = [_xyz([a, b, c, d], top)]
    elif form == GABLE:
        roofs = [_xyz([a, b, m_bc, m_da], [e, e, r, r]), _xyz([c, d, m_da, m_bc], [e, e, r, r])]
        gables = {1: m_bc, 3: m_da}
    elif length - width < 2 * RECT_TOL:  # hip on a (nearly) square: a pyramid
        apex = (a + c) / 2
        roofs = [_xyz([p, q, apex], [e, e, r]) for p, q in ((a, b), (b, c), (c, d), (d, a))]
    else:  # hip: the ridge ends half the width in from the short walls
        t = 0.5 * width / length
        r0, r1 = m_da + t * (b - a), m_bc - t * (b - a)
        roofs = [_xyz([a, b, r1, r0], [e, e, r, r]), _xyz([b, c, r1], [e, e, r]),
                 _xyz([c, d, r0, r1], [e, e, r, r]), _xyz([d, a, r0], [e, e, r])]
    rect = (a, b, c, d)
    walls = []
    for i in range(4):
        j = (i + 1) % 4
        p, q = rect[i], rect[j]
        if i in gables:
            wall = _xyz([p, q, q, gables[i], p], [g, g, top[j], r, top[i]])
        else:
            wall = _xyz([p, q, q, p], [g, g, top[j], top[i]])
        walls.append(Surface("WallSurface", (wall,)))
    ground_s = Surface("GroundSurface", (_xyz([a, d, c, b], [g] * 4),))
    return (ground_s, *walls, *(Surface("RoofSurface", (roof,)) for roof in roofs))


def _min_area_box(polygon: shapely.Geometry) -> np.ndarray:
    """The (4, 2) counter-clockwise corners of the minimum-area rectangle around ``polygon``
    (rotating calipers: one side of it lies on an edge of the convex hull). Unlike GEOS's
    oriented envelope this reproduces a rectangle's own corners to ~1e-9 m."""
    hull = shapely.convex_hull(polygon)
    if not isinstance(hull, shapely.Polygon) or hull.area <= 0:
        raise FootprintError(f"the footprint's convex hull is a {hull.geom_type}")
    pts = shapely.get_coordinates(hull.exterior)
    origin = pts[0]
    pts = pts - origin
    edges = np.diff(pts, axis=0)
    lengths = np.hypot(*edges.T)
    u = edges[lengths > 0] / lengths[lengths > 0, None]
    v = np.stack([-u[:, 1], u[:, 0]], axis=1)
    pu, pv = pts @ u.T, pts @ v.T
    k = int(np.argmin(np.ptp(pu, axis=0) * np.ptp(pv, axis=0)))
    (u0, u1), (v0, v1) = (pu[:, k].min(), pu[:, k].max()), (pv[:, k].min(), pv[:, k].max())
    local = np.array([[u0, v0], [u1, v0], [u1, v1], [u0, v1]])
    return origin + local[:, :1] * u[k] + local[:, 1:] * v[k]


def rectangle(polygon: shapely.Geometry) -> np.ndarray:
    """The (4, 2) counter-clockwise corners of ``polygon``'s minimum rotated rectangle.

    The first edge is a long one; of the (two, for a square four) possible first corners the
    one nearest to the first vertex of the polygon's exterior is taken, so a rectangular
    footprint keeps its own start. Corners within ``SNAP_TOL`` of a footprint vertex take
    that vertex's exact coordinates. FootprintError if the footprint has no area.
    """
    if polygon is None or polygon.is_empty or polygon.area <= 0:
        raise FootprintError("a footprint without area has no rectangle")
    corners = _min_area_box(polygon)
    vertices = shapely.get_coordinates(polygon)
    dist = np.hypot(*(corners[:, None, :] - vertices[None, :, :]).transpose(2, 0, 1))
    near = dist.argmin(axis=1)
    snap = dist[np.arange(4), near] <= SNAP_TOL
    corners[snap] = vertices[near[snap]]
    pair = _pairs(corners)
    starts = [i for i in range(4) if pair[i % 2] >= pair[1 - i % 2] - LENGTH_EPS]
    start = min(starts, key=lambda i: (float(np.hypot(*(corners[i] - vertices[0]))), i))
    return corners[(np.arange(4) + start) % 4]
