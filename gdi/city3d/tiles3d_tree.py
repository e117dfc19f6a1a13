"""The tree of the 3D Tiles (gdi.city3d.tiles3d) above the content tiles, and the far view it
holds: per block of 4 x 4 content tiles (2 km for 500 m tiles) one GLB of simple bodies, so a
view of the whole city shows the city before the detailed tiles stream in.

A simple body is the building's LoD1.2 prism (ground to the LoD1.2 roof, flat roof, no
ground surface: it is never seen from above) over its footprint simplified with
:data:`TOLERANCE_M` (topology kept). The far view is drawn from about 7 to 27 km (500 m tiles,
the default error ratio, a 1000 px high 60 degree view), where a pixel covers 8 m or more:
footprints under :data:`MIN_AREA_M2` (one pixel at 7 km) are left out and the simplification
moves no vertex by more than a quarter pixel. The block's node refines by ``REPLACE``: its
detailed tiles take its place once they are loaded, so nothing is drawn twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

from gdi.city3d import solids
from gdi.city3d.model import Body

BLOCK = 4              # content tiles per block edge
TOLERANCE_M = 2.0      # footprint simplification (a quarter pixel at 7 km, see above)
MIN_AREA_M2 = 64.0     # smaller footprints are not in the far view (a pixel at 7 km)
BOX_MARGIN_M = 0.01    # bounding boxes are this much larger than the geometry
Node = tuple[dict[str, Any], np.ndarray, np.ndarray]  # a tile and its box (lo, hi, ENU)


def simple_bodies(bodies: Sequence[Body]) -> tuple[list[Body], list[int]]:
    """The far-view bodies and, for each, the index of its building in ``bodies``."""
    out: list[Body] = []
    index: list[int] = []
    for i, body in enumerate(bodies):
        ground = next((s for s in body.shell if s.kind == "GroundSurface"), None)
        if ground is None or body.roof <= body.ground:
            continue
        shape = shapely.Polygon(ground.rings[0][:, :2], [r[:, :2] for r in ground.rings[1:]])
        if not shape.is_valid or shape.area < MIN_AREA_M2:
            continue
        simple = shape.simplify(TOLERANCE_M, preserve_topology=True)
        if not isinstance(simple, shapely.Polygon) or simple.is_empty or not simple.is_valid:
            simple = shape
        shell = tuple(s for s in solids.extrude(simple, body.ground, body.roof)
                      if s.kind != "GroundSurface")
        out.append(dataclasses.replace(body, shell=shell, lod2=(), lod2_parts=()))
        index.append(i)
    return out, index


def box(lo: np.ndarray, hi: np.ndarray) -> list[float]:
    c, half = (lo + hi) / 2, (hi - lo) / 2 + BOX_MARGIN_M
    return [float(v) for v in (*c, half[0], 0, 0, 0, half[1], 0, 0, 0, half[2])]


def tree(leaves: dict[tuple[int, int], Node], size: float, ratio: float,
         blocks: dict[tuple[int, int], Node]) -> dict[str, Any]:
    """The tree above the content tiles (keys: absolute col, row); returns its root. The
    first level groups BLOCK x BLOCK tiles under a block node that holds the block's far
    view where ``blocks`` has one (refined by REPLACE); above it a quadtree up to a root
    without content (also above a single block)."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in sorted(leaves):
        groups.setdefault((key[0] // BLOCK, key[1] // BLOCK), []).append(key)
    error = size * 2 * ratio  # as a 2-tile node: the content tiles load at the same distance
    nodes = {}
    for block, keys in groups.items():
        node = _node([leaves[k] for k in keys], error)
        if block in blocks:
            far, lo, hi = blocks[block]
            node[0].update(content=far["content"], refine="REPLACE")
            node = (node[0], np.minimum(node[1], lo), np.maximum(node[2], hi))
            node[0]["boundingVolume"] = {"box": box(node[1], node[2])}
        nodes[block] = node
    edge = size * BLOCK
    while len(nodes) > 1 or edge == size * BLOCK:
        edge *= 2
        parents: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for key in sorted(nodes):
            parents.setdefault((key[0] // 2, key[1] // 2), []).append(key)
        nodes = {parent: _node([nodes[k] for k in keys], edge * ratio)
                 for parent, keys in parents.items()}
    return next(iter(nodes.values()))[0]


def _node(children: list[Node], error: float) -> Node:
    lo = np.min([c[1] for c in children], axis=0)
    hi = np.max([c[2] for c in children], axis=0)
    return ({"boundingVolume": {"box": box(lo, hi)}, "geometricError": error,
             "children": [c[0] for c in children]}, lo, hi)
