"""The 3D model cut into the state's 1 km tiles, for downloads of a part of the city:
``<id>.tiles/<E>_<N>.city.json`` (CityJSON 2.0) and ``<E>_<N>.citygml.gml`` (CityGML 2.0),
``<E>_<N>`` the tile's lower-left corner in km (EPSG:25832, as the state names its tiles), and
``<id>.tiles.json``, the index (tile, bounds, buildings, each file's size and SHA-256).

A building belongs to the tile of the centroid of its ground surface, whole. Every CityGML
tile is validated against the XSDs (member count = buildings) by a second process while the
next tiles are written; every CityJSON tile is read back (building count) and the first is
schema-checked on a sample.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from gdi import xsd
from gdi.city3d import citygml, cityjson
from gdi.city3d.model import Body, ModelInfo
from gdi.errors import PublicationError

TILE_M = 1000


def folder_name(dataset: str) -> str:
    return f"{dataset}.tiles"


def index_name(dataset: str) -> str:
    return f"{dataset}.tiles.json"


def _key(body: Body) -> tuple[int, int]:
    ground = next(s for s in body.shell if s.kind == "GroundSurface").rings[0]
    x, y = ground[:, 0].mean(), ground[:, 1].mean()
    return int(np.floor(x / TILE_M)), int(np.floor(y / TILE_M))


def _file(path: Path, folder: str) -> dict[str, Any]:
    return {"href": f"{folder}/{path.name}", "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _validate(path: str, schemas_dir: str) -> int:
    """In the validating process: the members of one CityGML tile (raises if invalid)."""
    schema = xsd.schema_for(Path(schemas_dir), citygml.schema_imports())
    return xsd.validate_file(Path(path), schema, member=citygml.MEMBER)


def write_tiles(stage: Path, dataset: str, bodies: list[Body], info: ModelInfo,
                schemas_dir: Path, cityjson_schemas: Path) -> dict[str, Any]:
    groups: dict[tuple[int, int], list[Body]] = defaultdict(list)
    for body in bodies:
        groups[_key(body)].append(body)
    folder = stage / folder_name(dataset)
    folder.mkdir()
    tiles = []
    checks: list[tuple[Path, int, Future[int]]] = []
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        for k, ((e, n), members) in enumerate(sorted(groups.items())):
            tiles.append(_tile(folder, e, n, members, info, cityjson_schemas, k == 0))
            gml = folder / tiles[-1]["citygml"]["href"].split("/")[-1]
            checks.append((gml, len(members),
                           pool.submit(_validate, str(gml), str(schemas_dir))))
        for gml, expected, check in checks:
            found = check.result()
            if found != expected:
                raise PublicationError(f"{gml.name}: {found} members, {expected} buildings")
    index = {"crs": "EPSG:25832", "vertical_crs": info.vertical_crs, "tile_size_m": TILE_M,
             "tiles": tiles}
    (stage / index_name(dataset)).write_text(json.dumps(index, indent=1), encoding="utf-8")
    return {"tiles": len(tiles), "buildings": sum(t["buildings"] for t in tiles)}


def _tile(folder: Path, e: int, n: int, members: list[Body], info: ModelInfo,
          cityjson_schemas: Path, schema_check: bool) -> dict[str, Any]:
    """One tile's two files and its index entry (the CityGML's validation is the caller's)."""
    name = f"{e}_{n}"
    cj, gml = folder / f"{name}.city.json", folder / f"{name}.citygml.gml"
    cityjson.write_cityjson(cj, members, info)
    doc = json.loads(cj.read_text(encoding="utf-8"))
    found = sum(1 for o in doc["CityObjects"].values() if o["type"] == "Building")
    if found != len(members):  # (BuildingParts are objects of their own)
        raise PublicationError(f"{cj.name}: {found} buildings written, {len(members)} "
                               "in the tile")
    if schema_check:
        cityjson.validate_schema(cityjson.sample(doc, 100), cityjson_schemas)
    citygml.write_citygml(gml, members, info)
    return {"tile": name, "bbox": [e * TILE_M, n * TILE_M, (e + 1) * TILE_M, (n + 1) * TILE_M],
            "buildings": len(members),
            "cityjson": _file(cj, folder.name), "citygml": _file(gml, folder.name)}
