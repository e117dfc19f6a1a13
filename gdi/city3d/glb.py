"""A small binary glTF 2.0 (GLB) writer for the 3D Tiles content (gdi.city3d.tiles3d).

One GLB holds one mesh with one TRIANGLES primitive per material. Every primitive has
POSITION and NORMAL (float32), ``_FEATURE_ID_0`` (float32: the feature's row in the property
table) and its indices (uint16, or uint32 past 65,534 vertices), and carries
``EXT_mesh_features`` (one feature id set on attribute 0, bound to property table 0). The
glTF root carries ``EXT_structural_metadata``: the schema and one property table whose
columns are binary in the BIN chunk (numbers little-endian; strings UTF-8 with UINT32
``stringOffsets``, count + 1 offsets; None is written as the empty string, the class's
``noData``). A string column that is empty for every feature is left out of the table (a
buffer view cannot be empty; the extension allows omitting a property that is not
required). ``featureCount`` is the number of distinct ids in the primitive. Both extensions
are listed in ``extensionsUsed``, not in ``extensionsRequired``: a viewer without them still
draws the geometry.

Every buffer view starts on an 8-byte boundary (EXT_structural_metadata asks 8 for its
views; glTF asks the component size of its accessors). The JSON chunk is padded with spaces,
the BIN chunk with zeros, both to 4 bytes, as the GLB container requires.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from gdi.errors import GdiError

MAGIC, VERSION = 0x46546C67, 2         # "glTF", container version 2
JSON_CHUNK, BIN_CHUNK = 0x4E4F534A, 0x004E4942
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
FLOAT, UNSIGNED_SHORT, UNSIGNED_INT, INT = 5126, 5123, 5125, 5124
TRIANGLES = 4
MESH_FEATURES, STRUCTURAL_METADATA = "EXT_mesh_features", "EXT_structural_metadata"
_ALIGN = 8
_NUMERIC = {"FLOAT32": "<f4", "FLOAT64": "<f8", "INT32": "<i4", "UINT32": "<u4",
            "INT16": "<i2", "UINT16": "<u2", "INT8": "i1", "UINT8": "u1"}


class GlbError(GdiError, ValueError):
    """Data that cannot be written as the GLB asked for (sizes or types do not fit)."""


@dataclasses.dataclass(frozen=True)
class Primitive:
    """One primitive: ``indices`` (k, 3) into its own vertex arrays (n, 3) / (n,)."""

    material: int
    positions: np.ndarray      # (n, 3) float32, glTF y-up, relative to the node translation
    normals: np.ndarray        # (n, 3) float32, unit length
    feature_ids: np.ndarray    # (n,) the feature's row in the property table
    indices: np.ndarray        # (k, 3) integers < n


@dataclasses.dataclass(frozen=True)
class Column:
    """One property table column: a STRING list (None = no data) or a numeric array."""

    type: Literal["STRING", "SCALAR"]
    values: Sequence[str | None] | np.ndarray
    component: str = ""        # SCALAR only: FLOAT32, INT32 ...


class _Buffer:
    """The BIN chunk under construction: buffer views and accessors."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []

    def view(self, data: bytes, target: int | None = None) -> int:
        pad = -self.size % _ALIGN
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        view: dict[str, Any] = {"buffer": 0, "byteOffset": self.size, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.parts.append(data)
        self.size += len(data)
        self.views.append(view)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, component: int, kind: str, target: int,
                 bounds: bool = False) -> int:
        acc: dict[str, Any] = {"bufferView": self.view(array.tobytes(), target),
                               "componentType": component, "count": len(array), "type": kind}
        if bounds:
            acc["min"] = [float(v) for v in array.min(axis=0)]
            acc["max"] = [float(v) for v in array.max(axis=0)]
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _primitive(buf: _Buffer, p: Primitive, feature_count: int) -> dict[str, Any]:
    n = len(p.positions)
    if not n or not len(p.indices) or p.normals.shape != (n, 3) or p.feature_ids.shape != (n,):
        raise GlbError(f"primitive of material {p.material}: empty or mismatched arrays")
    small = n < 65535  # 65535 is the primitive restart value of uint16 indices
    idx = p.indices.reshape(-1).astype("<u2" if small else "<u4")
    ids = p.feature_ids.astype("<f4")
    attributes = {
        "POSITION": buf.accessor(p.positions.astype("<f4"), FLOAT, "VEC3", ARRAY_BUFFER, True),
        "NORMAL": buf.accessor(p.normals.astype("<f4"), FLOAT, "VEC3", ARRAY_BUFFER),
        "_FEATURE_ID_0": buf.accessor(ids, FLOAT, "SCALAR", ARRAY_BUFFER),
    }
    indices = buf.accessor(idx, UNSIGNED_SHORT if small else UNSIGNED_INT, "SCALAR",
                           ELEMENT_ARRAY_BUFFER)
    distinct = len(np.unique(ids))
    if ids.min() < 0 or ids.max() >= feature_count:
        raise GlbError(f"feature ids outside [0, {feature_count})")
    return {"attributes": attributes, "indices": indices, "material": p.material,
            "mode": TRIANGLES, "extensions": {MESH_FEATURES: {"featureIds": [
                {"featureCount": distinct, "attribute": 0, "propertyTable": 0}]}}}


def _table(buf: _Buffer, class_name: str, count: int, columns: dict[str, Column]
           ) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, col in columns.items():
        if len(col.values) != count:
            raise GlbError(f"property {name}: {len(col.values)} values for {count} features")
        if col.type == "STRING":
            encoded = [("" if v is None else v).encode() for v in col.values]
            offsets = np.zeros(count + 1, dtype="<u4")
            np.cumsum([len(e) for e in encoded], out=offsets[1:])
            if not offsets[-1]:  # a buffer view cannot be empty: the column is left out
                continue
            props[name] = {"values": buf.view(b"".join(encoded)),
                           "stringOffsets": buf.view(offsets.tobytes()),
                           "stringOffsetType": "UINT32"}
        else:
            data = np.asarray(col.values).astype(_NUMERIC[col.component])
            props[name] = {"values": buf.view(data.tobytes())}
    return {"class": class_name, "count": count, "properties": props}


def encode(primitives: list[Primitive], materials: list[dict[str, Any]],
           translation: tuple[float, float, float], schema: dict[str, Any], class_name: str,
           count: int, columns: dict[str, Column]) -> bytes:
    """The GLB of one tile: one node (at ``translation``), one mesh, ``count`` features."""
    if not primitives:
        raise GlbError("a GLB needs at least one primitive")
    buf = _Buffer()
    prims = [_primitive(buf, p, count) for p in primitives]
    table = _table(buf, class_name, count, columns)
    gltf: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "gdi-hildesheim (gdi.city3d.glb)"},
        "extensionsUsed": [MESH_FEATURES, STRUCTURAL_METADATA],
        "extensions": {STRUCTURAL_METADATA: {"schema": schema, "propertyTables": [table]}},
        "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "translation": [float(v) for v in translation]}],
        "meshes": [{"primitives": prims}],
        "materials": materials,
        "accessors": buf.accessors, "bufferViews": buf.views,
        "buffers": [{"byteLength": buf.size}],
    }
    return container(gltf, b"".join(buf.parts))


def container(gltf: dict[str, Any], binary: bytes) -> bytes:
    """The GLB container: 12-byte header, JSON chunk, BIN chunk."""
    text = json.dumps(gltf, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    js = text.encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(js) + 8 + len(binary)
    return b"".join((struct.pack("<III", MAGIC, VERSION, total),
                     struct.pack("<II", len(js), JSON_CHUNK), js,
                     struct.pack("<II", len(binary), BIN_CHUNK), binary))
