"""CityJSON 2.0 and CityJSONSeq encoders of the LoD1.2 building model, and their checks.

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
import functools
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import jsonschema
import numpy as np
import referencing
import referencing.exceptions

from gdi.city3d.model import Body, ModelInfo
from gdi.errors import CrsError, PublicationError, SchemaLoadError, SchemaValidationError

VERTICAL_CRS_KEY = "+verticalReferenceSystem"
SEMANTICS = ({"type": "GroundSurface"}, {"type": "WallSurface"}, {"type": "RoofSurface"})
_SEMANTIC_INDEX = {s["type"]: i for i, s in enumerate(SEMANTICS)}
_VERTEX_CHUNK = 100_000
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SCHEMA_FILES = {"CityJSON": "cityjson.schema.json",
                 "CityJSONFeature": "cityjsonfeature.schema.json"}


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
    index: list[int]       # per ring vertex of all bodies: its vertex (file or feature local)
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
    ids = [b.id for b in body_list]
    if len(set(ids)) < len(ids):
        dup = next(i for i, n in itertools.groupby(sorted(ids)) if len(list(n)) > 1)
        raise PublicationError(f"CityJSON: building id {dup!r} occurs twice")
    rings = [r for b in body_list for s in b.shell for r in s.rings]
    if not rings:
        return _Encoded(body_list, [0.0, 0.0, 0.0], [], np.empty((0, 3), np.int64), [],
                        np.zeros(len(body_list) + 1, np.int64))
    xyz = np.concatenate(rings, dtype=np.float64)
    low = xyz.min(axis=0)
    q = np.rint((xyz - low) / scale).astype(np.int64)
    sizes = np.array([sum(len(r) for s in b.shell for r in s.rings) for b in body_list])
    group = np.repeat(np.arange(len(body_list)), sizes) if per_body else None
    vertices, index, first = _first_use_index(q, group)
    if group is not None:  # the vertices of one body follow each other
        offsets = np.searchsorted(group[first], np.arange(len(body_list) + 1))
        index -= np.repeat(offsets[:-1], sizes)
    else:
        offsets = np.array([0] + [len(vertices)] * len(body_list))
    extent = [float(x) for x in (*low, *(low + q.max(axis=0) * scale))]  # as decoded
    return _Encoded(body_list, extent[:3], extent, vertices, index.tolist(), offsets)


def _city_objects(enc: _Encoded) -> Iterator[tuple[str, str]]:
    """The JSON of each body's id and CityObject (its geometry indexing ``enc.index``)."""
    pos, index, semantics = 0, enc.index, list(SEMANTICS)
    for body in enc.bodies:
        surfaces: list[list[list[int]]] = []
        for s in body.shell:
            surfaces.append([index[pos:(pos := pos + len(r))] for r in s.rings])
        values = [_SEMANTIC_INDEX[s.kind] for s in body.shell]
        geometry = {"type": "Solid", "lod": "1.2", "boundaries": [surfaces],
                    "semantics": {"surfaces": semantics, "values": [values]}}
        obj = {"type": "Building", **({"attributes": body.attributes} if body.attributes
                                      else {}), "geometry": [geometry]}
        try:
            yield _JSON.encode(body.id), _JSON.encode(obj)
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
    """One CityJSON 2.0 file of ``bodies`` (LoD1.2 Solids); returns the counts written."""
    enc = _encode(bodies, scale, per_body=False)
    with _replacing(path) as f:
        f.write(_JSON.encode(_header(enc, info, scale))[:-1] + ',"CityObjects":{')
        for i, (key, obj) in enumerate(_city_objects(enc)):
            f.write(f"{',' if i else ''}{key}:{obj}")
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
        for i, (key, obj) in enumerate(_city_objects(enc)):
            vertices = _JSON.encode(enc.vertices[enc.offsets[i]:enc.offsets[i + 1]].tolist())
            f.write(f'\n{{"type":"CityJSONFeature","id":{key},"CityObjects":{{{key}:{obj}}},'
                    f'"vertices":{vertices}}}')
        f.write("\n")
    return {"buildings": len(enc.bodies), "vertices": len(enc.vertices)}


def read_cityjson(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return doc


class _Validators(NamedTuple):
    document: Any                # the official schema of ``kind``
    objects: dict[str, Any]      # per core CityObject type: its branch of the ``oneOf``
    any_object: Any              # the whole ``oneOf`` (Extension and unknown types)


@functools.cache
def _validators(schemas_dir: Path, kind: str) -> _Validators:
    resources = []
    try:
        for file in sorted(schemas_dir.glob("*.schema.json")):
            contents = json.loads(file.read_text(encoding="utf-8"))
            resources.append((contents["$id"], referencing.Resource.from_contents(contents)))
        root = json.loads((schemas_dir / _SCHEMA_FILES[kind]).read_text(encoding="utf-8"))
        branches = root["properties"]["CityObjects"]["additionalProperties"]["oneOf"]
    except (OSError, ValueError, KeyError) as e:
        raise SchemaLoadError(f"CityJSON schemas in {schemas_dir} cannot be loaded: {e}") from e
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    cls = jsonschema.validators.validator_for(root)
    base = root["$id"].rsplit("/", 1)[0] + "/"

    def make(schema: dict[str, Any]) -> Any:
        return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)

    objects = {ref.rsplit("/", 1)[1]: make({"$ref": base + ref})
               for ref in (b["$ref"] for b in branches) if not ref.endswith("/ExtensionObject")}
    whole = make({"$ref": f"{root['$id']}#/properties/CityObjects/additionalProperties"})
    return _Validators(make(root), objects, whole)


def _errors(doc: dict[str, Any], vs: _Validators) -> Iterator[tuple[str, Any]]:
    """Schema errors with their JSON paths. Every core branch of the CityObjects ``oneOf``
    requires its own ``type``, so an object of a core type is checked against that branch
    only: the same verdict as the ``oneOf``, without validating its geometry 34 times."""
    objects = doc.get("CityObjects")
    objects = objects if isinstance(objects, dict) else {}
    skeleton = {**doc, "CityObjects": {}} if objects else doc
    yield from (("$", e) for e in vs.document.iter_errors(skeleton))
    for key, obj in objects.items():
        kind = obj.get("type") if isinstance(obj, dict) else None
        validator = vs.objects.get(kind if isinstance(kind, str) else "", vs.any_object)
        for e in validator.iter_errors(obj):
            yield f"$.CityObjects[{json.dumps(key)}]", e


def _explain(err: Any) -> Any:
    """Within a ``oneOf`` of typed alternatives, the deepest error of the one whose ``type``
    matched (that is the error a person wants to read), else ``err`` itself."""
    while err.context:
        branches: dict[Any, list[Any]] = {}
        for e in err.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        typed = [es for es in branches.values() if ["type"] not in (list(e.path) for e in es)]
        if len(typed) != 1:
            return err
        err = max(typed[0], key=lambda e: len(e.absolute_path))
    return err


def validate_schema(doc: dict[str, Any], schemas_dir: Path, *,
                    kind: Literal["CityJSON", "CityJSONFeature"] = "CityJSON") -> None:
    """Validates ``doc`` against the official CityJSON 2.0 schemas in ``schemas_dir`` (offline).

    Raises SchemaValidationError naming the first few errors with their JSON paths.
    """
    validators = _validators(Path(schemas_dir).resolve(), kind)
    try:
        errors = list(itertools.islice(_errors(doc, validators), 5))
    except referencing.exceptions.Unresolvable as e:
        raise SchemaLoadError(f"CityJSON schema reference not found offline: {e}") from e
    if errors:
        lines = []
        for prefix, err in errors:
            best = _explain(err)
            lines.append(f"{prefix}{best.json_path[1:]}: {best.message[:200]}")
        raise SchemaValidationError(f"{kind} does not validate against the CityJSON 2.0 "
                                    "schema:\n" + "\n".join(lines))


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
