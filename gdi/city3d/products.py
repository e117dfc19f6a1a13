"""The files of a buildings release, written into the staging folder and checked there:

- ``<id>.city.json`` (CityJSON 2.0) and ``<id>.city.jsonl`` (CityJSONSeq), schema-checked on
  a sample (the first and a spread of objects) against the official 2.0.2 schemas;
- ``<id>.citygml.gml`` (CityGML 2.0 LoD1) and ``<id>.bu3d.gml`` (INSPIRE BU-3D 4.0), each
  validated completely against the official XSDs;
- the planning variant: ``<id>.planning.city.json`` and ``<id>.planning.bu3d.gml`` (existing
  bodies minus those the projects replace, plus the planned bodies);
- the change list and the history store (gdi.city3d.changes).

Nothing here decides what is published: only public attributes reach a Body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gdi import memory, xsd
from gdi.city3d import bu3d, citygml, cityjson, tiled
from gdi.city3d.model import Body, ModelInfo
from gdi.descriptor import Descriptor
from gdi.errors import PublicationError

SCHEMA_SAMPLE = 200  # CityJSON objects schema-checked per run (the validator is slow)


def names(dataset: str) -> dict[str, str]:
    """Every 3D file of a release (the downloads besides the GeoPackage)."""
    return {"cityjson": f"{dataset}.city.json", "cityjsonseq": f"{dataset}.city.jsonl",
            "citygml": f"{dataset}.citygml.gml", "bu3d": f"{dataset}.bu3d.gml",
            "planning_cityjson": f"{dataset}.planning.city.json",
            "planning_bu3d": f"{dataset}.planning.bu3d.gml"}


def downloads(desc: Descriptor) -> list[str]:
    """The 3D files and folders served under /downloads/<id>/ besides those of every dataset
    (the BU-3D GML is the dataset's INSPIRE GML: listed by gdi.publish.ogcapi.download_files):
    the whole-city files, the 1 km tiles and their index, the 3D Tiles."""
    if desc.city3d is None:
        return []
    from gdi.city3d.changes import changes_file, history_file

    return [n for k, n in names(desc.id).items() if k != "bu3d"] + [
        changes_file(desc.id), history_file(desc.id), tiled.folder_name(desc.id),
        tiled.index_name(desc.id), tiles3d_folder(desc.id)]


def write_3dtiles(stage: Path, dataset: str, variant: str, bodies: list[Body],
                  info: ModelInfo) -> dict[str, Any]:
    """The 3D Tiles 1.1 tileset of one model variant (gdi.city3d.tiles3d), heights placed on
    the ellipsoid with the quasigeoid (GCG2016 from PROJ where installed, else a constant)."""
    from gdi.city3d import tiles3d

    folder = stage / tiles3d_folder(dataset) / variant
    folder.mkdir(parents=True)
    memory.trim()
    undulation = tiles3d.undulation_from_proj() or tiles3d.GCG2016_HILDESHEIM_M
    start = time.perf_counter()
    stats = tiles3d.write_tileset(folder, bodies, title=info.title, geoid_undulation=undulation)
    return {**stats, "seconds": round(time.perf_counter() - start, 3)}


def tiles3d_folder(dataset: str) -> str:
    """``<id>.3dtiles/existing/tileset.json`` and ``.../planning/tileset.json``."""
    return f"{dataset}.3dtiles"


def _check_cityjson(path: Path, bodies: list[Body], info: ModelInfo, schemas: Path) -> None:
    """The schema check on a sample written by the same encoder: ``SCHEMA_SAMPLE`` bodies
    spread over the model (loading the whole city's file to sample it would take a GB of
    memory); the whole file's start and end checked as CityJSON."""
    step = max(1, len(bodies) // SCHEMA_SAMPLE)
    sample = path.with_name(f".sample.{path.name}")
    try:
        cityjson.write_cityjson(sample, bodies[::step][:SCHEMA_SAMPLE], info)
        cityjson.validate_schema(json.loads(sample.read_text(encoding="utf-8")), schemas,
                                 kind="CityJSON")
    finally:
        sample.unlink(missing_ok=True)
    with path.open("rb") as fh:
        head = fh.read(64)
        fh.seek(-16, 2)
        tail = fh.read().rstrip()
    if b'"type":"CityJSON"' not in head.replace(b" ", b"") or not tail.endswith(b"}"):
        raise PublicationError(f"{path.name}: not a complete CityJSON document")


def _check_seq(path: Path, schemas: Path) -> None:
    with path.open(encoding="utf-8") as fh:
        first = json.loads(fh.readline())
        if first.get("type") != "CityJSON":
            raise PublicationError(f"{path.name}: the first line is no CityJSON header")
        for k, line in enumerate(fh):
            if k >= SCHEMA_SAMPLE:
                break
            cityjson.validate_schema(json.loads(line), schemas, kind="CityJSONFeature")


def write_model(stage: Path, dataset: str, bodies: list[Body], info: ModelInfo,
                current_use: Callable[[Body], str | None], schemas_dir: Path,
                cityjson_schemas: Path, *, planning: bool = False,
                progress: Any = None) -> dict[str, Any]:
    """One model (existing state, or the planning variant) in every format, validated: each
    GML by a second process following it while it is written and while the JSON files are
    (the second core), CityJSON on a sample. Returns {output key: file name, "timings":
    {...}, "vertices": n}."""
    n = names(dataset)
    out: dict[str, Any] = {}
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal t
        memory.trim()  # the encoder's buffers: not carried into the next step
        if progress is not None:
            progress.update(1)
        now = time.perf_counter()
        timings[step] = round(now - t, 3)
        t = now

    checks: list[tuple[str, xsd.StreamValidator]] = []
    try:
        if not planning:
            path = stage / n["citygml"]
            checks.append((n["citygml"], xsd.StreamValidator(
                schemas_dir, citygml.schema_imports(), path, member=citygml.MEMBER)))
            citygml.write_citygml(path, bodies, info)
            checks[-1][1].finish_input()
            out["citygml"] = n["citygml"]
            lap("citygml")
        key = "planning_bu3d" if planning else "bu3d"
        path = stage / n[key]
        checks.append((n[key], xsd.StreamValidator(schemas_dir, bu3d.schema_imports(), path)))
        members = bu3d.write_bu3d(path, bodies, info, current_use=current_use)
        checks[-1][1].finish_input()
        if members != len(bodies):
            raise PublicationError(f"{n[key]}: {members} members for {len(bodies)} bodies")
        out[key] = n[key]
        lap("bu3d")
        key = "planning_cityjson" if planning else "cityjson"
        stats = cityjson.write_cityjson(stage / n[key], bodies, info)
        out[key] = n[key]
        out["vertices"] = stats.get("vertices")
        lap("cityjson")
        _check_cityjson(stage / n[key], bodies, info, cityjson_schemas)
        lap("cityjson_schema")
        if not planning:
            cityjson.write_cityjsonseq(stage / n["cityjsonseq"], bodies, info)
            _check_seq(stage / n["cityjsonseq"], cityjson_schemas)
            out["cityjsonseq"] = n["cityjsonseq"]
            lap("cityjsonseq")
            out["tiles"] = tiled.write_tiles(stage, dataset, bodies, info, schemas_dir,
                                             cityjson_schemas)
            lap("tiles_1km")
        for name, check in checks:  # every body a member of each GML, each valid
            found = check.verdict()
            if found != len(bodies):
                raise PublicationError(f"{name}: {found} members for {len(bodies)} bodies")
        lap("gml_validation_wait")
    except BaseException:
        for _, check in checks:
            check.abort()
        raise
    out["timings"] = timings
    return out
