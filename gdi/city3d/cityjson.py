"""CityJSON 2.0 and CityJSONSeq encoders of the building model (LoD1.2 and LoD2).

Every Building has its LoD1.2 ``Solid``. Its LoD2 (issue 15) is one ``Solid`` of lod "2" per
building part, with semantics (Ground/Wall/Roof/ClosureSurface, only the kinds present), laid
out as in CityGML (:func:`gdi.city3d.gmlgeom.lod2_layout`): a single part is a second geometry
of the Building itself; several parts become ``BuildingPart`` objects (key = the part's id,
``parents`` = the building, listed in the Building's ``children``) right after it, and in a
CityJSONSeq in the building's CityJSONFeature. Not a MultiSolid in the Building: CityJSON
2.0.2 allows only MultiSurface, CompositeSurface, Solid and CompositeSolid for a Building, and
a CompositeSolid claims face-sharing solids, which AdV parts touching in a point are not.

Vertices are written as integers with a ``transform`` (``scale`` 1 mm, ``translate`` the
minimum corner). In a CityJSON file they are de-duplicated over the whole file; in a
CityJSONSeq every ``CityJSONFeature`` holds its own de-duplicated vertices and all share the
transform of the first line. Vertices keep the order of their first use, so the vertices of
one building stay together.

The coordinates are ETRS89 / UTM 32N with DHHN2016 heights; EPSG has no compound CRS for the
pair, so ``referenceSystem`` names EPSG:25832 and ``metadata["+verticalReferenceSystem"]``
EPSG:7837 (the metadata schema allows extra members; ``+`` marks a non-core property).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from gdi.city3d.cityjson_schema import validate_schema
from gdi.city3d.gmlgeom import lod2_layout
from gdi.city3d.model import Body, ModelInfo, Surface
from gdi.errors import CrsError, PublicationError

__all__ = ["SEMANTICS", "VERTICAL_CRS_KEY", "crs_url", "read_cityjson", "sample",
           "validate_schema", "write_cityjson", "write_cityjsonseq"]

VERTICAL_CRS_KEY = "+verticalReferenceSystem"
SEMANTICS = ({"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"})
_SEMANTIC_INDEX = {s["type"]: i for i, s in enumerate(SEMANTICS)}
LOD2_KINDS = ("GroundSurface", "WallSurface", "RoofSurface", "ClosureSurface",
              "OuterCeilingSurface", "OuterFloorSurface")  # semantics order of the LoD2
_VERTEX_CHUNK = 100_000
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def crs_url(code: str) -> str:
    """``EPSG:25832`` as the OGC URL CityJSON asks for (URLs pass unchanged)."""
    if code.startswith(("http://", "https://")):
        return code
    m = re.fullmatch(r"\s*EPSG:(\d+)\s*", code, flags=re.IGNORECASE)
    if not m:
        raise CrsError(f"CityJSON needs an EPSG code, not {code!r}")
    return f"https://www.opengis.net/def/crs/EPSG/0/{m.group(1)}"


@dataclasses.dataclass(frozen=True)
class _Encoded:
    bodies: list[Body]
    translate: list[float]
    extent: list[float]
    vertices: np.ndarray   # (U, 3) integers, in the order of first use
    index: list[int]       # per ring vertex of all bodies (LoD1.2, then LoD2): its vertex
    offsets: np.ndarray    # (B + 1,) per body: its first vertex in ``vertices``


def _words(cols: list[np.ndarray]) -> list[np.ndarray]:
    """Non-negative integer columns (most significant first) packed into few int64 words."""
    words: list[np.ndarray] = []
    span = 0
    for c in cols:
        r = int(c.max()) + 1
        if words and span * r < 1 << 62:
            words[-1] = words[-1] * r + c
            span *= r
        else:
            words.append(c.copy())
            span = r
    return words


def _first_use_index(q: np.ndarray, group: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``q`` (per ``group``) in order of first use, each row's index into
    them, and the position of each distinct row's first use."""
    words = _words(([group] if group is not None else []) + [q[:, 0], q[:, 1], q[:, 2]])
    order = np.argsort(words[0], kind="stable") if len(words) == 1 else np.lexsort(words[::-1])
    new = np.concatenate(([True], (np.diff(np.stack(words)[:, order]) != 0).any(axis=0)))
    first = order[new]                       # stable sort: the first use of each distinct row
    by_use = np.argsort(first)
    rank = np.argsort(by_use)
    index = np.empty(len(q), dtype=np.int64)
    index[order] = rank[np.cumsum(new) - 1]
    return q[first[by_use]], index, first[by_use]


def _encode(bodies: Iterable[Body], scale: float, *, per_body: bool) -> _Encoded:
    body_list = list(bodies)
    ids = [b.id for b in body_list] + [n for b in body_list for n, _ in lod2_layout(b)[1]]
    if len(set(ids)) < len(ids):
        dup = next(i for i, n in itertools.groupby(sorted(ids)) if len(list(n)) > 1)
        raise PublicationError(f"CityJSON: building (part) id {dup!r} occurs twice")
    rings = [r for b in body_list for shell in (b.shell, *b.lod2) for s in shell for r in s.rings]
    if not rings:
        return _Encoded(body_list, [0.0, 0.0, 0.0], [], np.empty((0, 3), np.int64), [],
                        np.zeros(len(body_list) + 1, np.int64))
    xyz = np.concatenate(rings, dtype=np.float64)
    low = xyz.min(axis=0)
    q = np.rint((xyz - low) / scale).astype(np.int64)
    sizes = np.array([sum(len(r) for shell in (b.shell, *b.lod2) for s in shell for r in s.rings)
                      for b in body_list])
    group = np.repeat(np.arange(len(body_list)), sizes) if per_body else None
    vertices, index, first = _first_use_index(q, group)
    if group is not None:  # the vertices of one body follow each other
        offsets = np.searchsorted(group[first], np.arange(len(body_list) + 1))
        index -= np.repeat(offsets[:-1], sizes)
    else:
        offsets = np.array([0] + [len(vertices)] * len(body_list))
    extent = [float(x) for x in (*low, *(low + q.max(axis=0) * scale))]  # as decoded
    return _Encoded(body_list, extent[:3], extent, vertices, index.tolist(), offsets)


def _shell(shell: Sequence[Surface], index: list[int], pos: int
           ) -> tuple[list[list[list[int]]], int]:
    """The boundaries of ``shell`` (surfaces of rings of vertex indices), and the new ``pos``."""
    surfaces: list[list[list[int]]] = []
    for s in shell:
        surfaces.append([index[pos:(pos := pos + len(r))] for r in s.rings])
    return surfaces, pos


def _lod2(shell: Sequence[Surface], body_id: str, index: list[int], pos: int
          ) -> tuple[dict[str, Any], int]:
    """The LoD2 Solid of one part, and the new ``pos``."""
    kinds = {s.kind for s in shell}
    if unknown := kinds.difference(LOD2_KINDS):
        raise PublicationError(f"CityJSON: building {body_id!r} has LoD2 surfaces of kind "
                               f"{sorted(unknown)}")
    present = [k for k in LOD2_KINDS if k in kinds]
    number = {k: i for i, k in enumerate(present)}
    surfaces, pos = _shell(shell, index, pos)
    return {"type": "Solid", "lod": "2", "boundaries": [surfaces],
            "semantics": {"surfaces": [{"type": k} for k in present],
                          "values": [[number[s.kind] for s in shell]]}}, pos


def _city_objects(enc: _Encoded) -> Iterator[list[tuple[str, str]]]:
    """Per body, the JSON of the id and CityObject of its Building and BuildingParts (their
    geometry indexing ``enc.index``: LoD1.2, then the LoD2 parts in ``Body.lod2`` order)."""
    pos, index, semantics = 0, enc.index, list(SEMANTICS)
    for body in enc.bodies:
        surfaces, pos = _shell(body.shell, index, pos)
        values = [_SEMANTIC_INDEX[s.kind] for s in body.shell]
        geometry = [{"type": "Solid", "lod": "1.2", "boundaries": [surfaces],
                     "semantics": {"surfaces": semantics, "values": [values]}}]
        own, parts = lod2_layout(body)
        solids = []
        for shell in body.lod2:  # in the order the vertices were numbered
            solid, pos = _lod2(shell, body.id, index, pos)
            solids.append(solid)
        if own is not None:
            geometry.append(solids[own])
        obj: dict[str, Any] = {"type": "Building", **({"attributes": body.attributes}
                                                      if body.attributes else {}),
                               "geometry": geometry}
        if parts:
            obj["children"] = [name for name, _ in parts]
        objects = [(body.id, obj)] + [
            (name, {"type": "BuildingPart", "parents": [body.id], "geometry": [solids[i]]})
            for name, i in parts]
        try:
            yield [(_JSON.encode(key), _JSON.encode(o)) for key, o in objects]
        except (TypeError, ValueError) as e:
            raise PublicationError(f"CityJSON: building {body.id!r} is no JSON ({e})") from e


def _header(enc: _Encoded, info: ModelInfo, scale: float) -> dict[str, Any]:
    md: dict[str, Any] = {"title": info.title, "referenceSystem": crs_url(info.crs),
                          VERTICAL_CRS_KEY: crs_url(info.vertical_crs)}
    if identifier := info.extra.get("identifier") or info.namespace:
        md["identifier"] = str(identifier)
    if info.reference_date:
        md["referenceDate"] = info.reference_date
    if enc.extent:
        md["geographicalExtent"] = enc.extent
    if info.extra.get("point_of_contact"):
        md["pointOfContact"] = dict(info.extra["point_of_contact"])
    return {"type": "CityJSON", "version": "2.0",
            "transform": {"scale": [scale] * 3, "translate": enc.translate}, "metadata": md}


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[str]]:
    """Writes ``path`` through a temporary file, so a failed run leaves no half file."""
    part = path.with_name(path.name + ".part")
    try:
        with part.open("w", encoding="utf-8") as f:
            yield f
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def write_cityjson(path: Path, bodies: Iterable[Body], info: ModelInfo, *,
                   scale: float = 0.001) -> dict[str, int]:
    """One CityJSON 2.0 file of ``bodies`` (LoD1.2 Solids, LoD2 Solids where present);
    returns the counts written."""
    enc = _encode(bodies, scale, per_body=False)
    with _replacing(path) as f:
        f.write(_JSON.encode(_header(enc, info, scale))[:-1] + ',"CityObjects":{')
        first = True
        for objects in _city_objects(enc):
            for key, obj in objects:
                f.write(f"{'' if first else ','}{key}:{obj}")
                first = False
        f.write('},"vertices":[')
        for i in range(0, len(enc.vertices), _VERTEX_CHUNK):
            chunk = _JSON.encode(enc.vertices[i:i + _VERTEX_CHUNK].tolist())
            f.write(("," if i else "") + chunk[1:-1])
        f.write("]}\n")
    return {"buildings": len(enc.bodies), "vertices": len(enc.vertices)}


def write_cityjsonseq(path: Path, bodies: Iterable[Body], info: ModelInfo, *,
                      scale: float = 0.001) -> dict[str, int]:
    """CityJSONSeq (JSON Lines): the header object, then one CityJSONFeature per body."""
    enc = _encode(bodies, scale, per_body=True)
    with _replacing(path) as f:
        f.write(_JSON.encode({**_header(enc, info, scale), "CityObjects": {}, "vertices": []}))
        for i, objects in enumerate(_city_objects(enc)):
            vertices = _JSON.encode(enc.vertices[enc.offsets[i]:enc.offsets[i + 1]].tolist())
            members = ",".join(f"{key}:{obj}" for key, obj in objects)
            f.write(f'\n{{"type":"CityJSONFeature","id":{objects[0][0]},"CityObjects":'
                    f'{{{members}}},"vertices":{vertices}}}')
        f.write("\n")
    return {"buildings": len(enc.bodies), "vertices": len(enc.vertices)}


def read_cityjson(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return doc


def _remap(node: Any, new: dict[int, int], used: set[int]) -> Any:
    """``node`` (nested lists of vertex indices) renumbered by ``new``, filling ``used``."""
    if isinstance(node, list):
        return [_remap(x, new, used) for x in node]
    used.add(node)
    return new.setdefault(node, len(new))


def sample(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy of ``doc`` with its first ``n`` CityObjects and only their vertices (re-indexed)."""
    out = copy.deepcopy({k: v for k, v in doc.items() if k not in ("CityObjects", "vertices")})
    objects = copy.deepcopy(dict(itertools.islice(doc["CityObjects"].items(), n)))
    new: dict[int, int] = {}  # numbered in order of first use
    used: set[int] = set()
    for obj in objects.values():
        for g in obj.get("geometry", []):
            g["boundaries"] = _remap(g["boundaries"], new, used)
        for link in ("parents", "children"):  # no links to objects left out
            if link in obj:
                obj[link] = [i for i in obj[link] if i in objects]
    vertices = doc["vertices"]
    return {**out, "CityObjects": objects, "vertices": [list(vertices[i]) for i in new]}
