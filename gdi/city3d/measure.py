"""The first 3D step of a buildings run (after the clean step): one polygon per footprint,
heights from the DGM/DOM (or the source), the source of the geometry per building (the state's
LoD2 where current, gdi.city3d.lod2), the roof form estimated where no LoD2 is used
(gdi.city3d.roofs), and the LoD1.2 shell with its structural checks. A building that fails a
rule is rejected with its reason, so read = published + rejected still holds."""

from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyogrio
import shapely

from gdi import memory
from gdi.city3d import heights, lod2, rasters, roofs, solids
from gdi.clean import CleanTable
from gdi.descriptor import Descriptor
from gdi.publish import release
from gdi.report import RunReport
from gdi.settings import Settings

MAIN_PART_SHARE = 0.9  # a footprint in parts keeps its largest part if that holds 90 %


@dataclasses.dataclass(frozen=True)
class Measured:
    table: CleanTable
    shells: dict[str, tuple[Any, ...]]  # local id -> LoD1.2 shell
    mosaics: tuple[rasters.Mosaic, ...]
    lod2: dict[str, lod2.Lod2Building] = dataclasses.field(default_factory=dict)  # used


def _single(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(one polygon per footprint, reason or None): the largest part if it holds 90 %."""
    polys = np.full(len(geoms), None, dtype=object)
    why = np.full(len(geoms), None, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    one = shapely.get_num_geometries(geoms) == 1  # nearly all: no loop for them
    polys[one] = shapely.get_geometry(geoms[one], 0)
    flat = one & ~(shapely.area(polys.astype(object)) > 0)
    why[flat] = "footprint without area"
    polys[flat] = None
    for i in np.flatnonzero(~one):
        g = geoms[i]
        parts = [p for p in shapely.get_parts(g) if p.area > 0]
        if not parts:
            why[i] = "footprint without area"
            continue
        parts.sort(key=lambda p: -p.area)
        if parts[0].area < MAIN_PART_SHARE * sum(p.area for p in parts):
            why[i] = (f"footprint in {len(parts)} parts (after repair); an ALKIS building "
                      "is one surface")
            continue
        polys[i] = parts[0]
    return polys, why


def _reject(table: CleanTable, why: np.ndarray, field: str) -> list[dict[str, Any]]:
    return [{"file": table.rejections[0]["file"] if table.rejections else "", "record":
             int(table.record[i]), "field": field, "value": None, "reason": str(why[i]),
             "kind": "rejected"} for i in np.flatnonzero(pd.notna(why))]


def _kept_heights(desc: Descriptor, settings: Settings, print_: str, ids: pd.Series,
                  polys: np.ndarray, ok: np.ndarray) -> pd.DataFrame:
    """Heights of the live release for buildings whose footprint is unchanged, when the
    rasters and the height settings are too (same fingerprint); rows of the others empty."""
    empty = pd.DataFrame(index=range(len(polys)), columns=list(heights.MEASURED))
    live = release.current(settings.publish_dir, desc.id)
    if live is None or not (live / f"{desc.id}.gpkg").exists():
        return empty
    rep = json.loads((live / "report.json").read_text(encoding="utf-8"))
    if rep.get("city3d", {}).get("fingerprint") != print_:
        return empty
    prev = pyogrio.read_dataframe(live / f"{desc.id}.gpkg",
                                  columns=["local_id", *heights.MEASURED])
    where = pd.Index(prev["local_id"].astype(str)).get_indexer(ids.astype(str))
    hit = np.flatnonzero(ok & (where >= 0))
    old = np.asarray(shapely.get_geometry(prev.geometry.to_numpy()[where[hit]], 0),
                     dtype=object)
    same = shapely.equals_exact(np.asarray(polys[hit], dtype=object), old, tolerance=0.0005)
    rows = hit[same]
    out = empty.copy()
    values = prev.drop(columns=["local_id", "geometry"]).iloc[where[rows]]
    out.iloc[rows] = values[list(empty.columns)].to_numpy(dtype=object)
    return out


def _sources(frame: pd.DataFrame, table: CleanTable, desc: Descriptor, polys: np.ndarray,
             ok: np.ndarray, mosaics: tuple[rasters.Mosaic, ...], report: RunReport,
             progress: Phases) -> tuple[pd.DataFrame, dict[str, lod2.Lod2Building]]:
    """The LoD2 merge (best source per building) and, where no LoD2 is used, the roof form
    estimated from the DOM; columns lod_source, lod_reason, lod2_roof_type, roof_form_*."""
    spec = desc.city3d
    assert spec is not None
    n = len(frame)
    source = np.full(n, None, dtype=object)
    source[ok] = "1.2"
    frame = frame.assign(lod_source=source, lod_reason=None,
                         lod2_roof_type=pd.array([None] * n, dtype="Int64"),
                         roof_form_estimate=pd.array([None] * n, dtype="Int64"),
                         roof_form_confidence=np.nan)
    used: dict[str, lod2.Lod2Building] = {}
    ids = table.data["local_id"].astype(str).to_numpy()
    if spec.lod2 is not None:
        models, stats = lod2.read(spec.lod2, progress)
        idx = np.flatnonzero(ok)
        dates = (table.data[spec.footprint_date_field].iloc[idx] if spec.footprint_date_field
                 else pd.Series([None] * len(idx)))
        src, why = lod2.choose(ids[idx], polys[idx], dates.reset_index(drop=True),
                               frame["roof_p50"].to_numpy(dtype=float)[idx],
                               frame["roof_min"].to_numpy(dtype=float)[idx], models, spec.lod2)
        frame.loc[idx, "lod_source"], frame.loc[idx, "lod_reason"] = src, why
        official = [models[i].roof_type if i in models else None for i in ids]
        frame["lod2_roof_type"] = pd.array(
            [int(v) if v is not None and str(v).isdigit() else None for v in official],
            dtype="Int64")
        used = {str(ids[i]): models[str(ids[i])] for i, s in zip(idx, src, strict=True)
                if s == "2"}
        stats["used"] = len(used)
        stats["reasons"] = dict(Counter(why))
        stats["not_in_alkis"] = len(set(models) - set(ids[idx]))
        report.city3d["lod2"] = stats
        del models  # the LoD2 not taken, and the parse's garbage: back to the system
        memory.trim()
    else:
        frame.loc[ok, "lod_reason"] = "no_lod2"
    estimate = np.flatnonzero(ok & (frame["lod_source"] == "1.2").to_numpy())
    if mosaics and len(estimate):
        progress.phase("roof forms", len(estimate))
        got = roofs.classify(polys[estimate], mosaics[1], mosaics[0], erode_m=spec.heights.erode_m,
                             progress=progress.update)
        frame.loc[estimate, "roof_form_estimate"] = got["roof_form_estimate"].to_numpy()
        frame.loc[estimate, "roof_form_confidence"] = got["roof_form_confidence"].to_numpy()
        report.city3d["roof_forms"] = {
            str(k): int(v) for k, v in got["roof_form_estimate"].value_counts().items()}
    return frame, used


class Phases(Protocol):
    """What a person waiting sees: each phase of the step with its own count."""

    def phase(self, name: str, total: int | None, unit: str = "rec") -> None: ...

    def update(self, n: int, /) -> object: ...


class _Silent:
    def phase(self, name: str, total: int | None, unit: str = "rec") -> None:
        pass

    def update(self, n: int, /) -> object:
        return None


def measured_buildings(table: CleanTable, desc: Descriptor, settings: Settings,
                       work_dir: Path, report: RunReport, source_file: str,
                       progress: Phases | None = None) -> Measured:
    """Heights, the LoD2 merge, roof forms and checked LoD1.2 bodies of the cleaned
    footprints; ``progress`` shows each phase (heights, LoD2 tiles, roof forms, bodies)."""
    progress = progress or _Silent()
    spec = desc.city3d
    assert spec is not None
    polys, why = _single(table.geometry)
    ok = pd.isna(why)
    mosaics: tuple[rasters.Mosaic, ...] = ()
    hs = spec.heights
    clock = time.perf_counter()
    steps: dict[str, float] = {}
    if hs.source == "rasters":
        assert hs.dgm is not None and hs.dom is not None
        dgm = rasters.open_mosaic(hs.dgm, "DGM", work_dir)
        dom = rasters.open_mosaic(hs.dom, "DOM", work_dir)
        mosaics = (dgm, dom)
        steps["rasters_checked"] = round(time.perf_counter() - clock, 3)
        print_ = rasters.fingerprint(mosaics, hs.model_dump_json())
        kept = _kept_heights(desc, settings, print_, table.data["local_id"], polys, ok)
        idx = np.flatnonzero(ok & ~kept.index.isin(kept.dropna(how="all").index))
        progress.phase("heights", len(idx))
        got = heights.measure(polys[idx], dgm, dom, hs, progress.update)
        frame = pd.concat([got.set_axis(idx), kept.dropna(how="all")]).reindex(
            range(len(polys)))
        report.city3d["heights_reused"] = int(ok.sum() - len(idx))
        report.city3d["fingerprint"] = print_
    else:
        assert hs.ground_field and hs.height_field
        frame = heights.from_attributes(table.data[hs.ground_field], table.data[hs.height_field])
    steps["heights"] = round(time.perf_counter() - clock - sum(steps.values()), 3)
    verdict = heights.verdicts(frame, hs)
    height_why = verdict.copy()
    height_why[~ok] = None
    measured_ok = ok & pd.isna(height_why)
    frame, used = _sources(frame, table, desc, polys, measured_ok, mosaics, report, progress)
    steps["lod2_and_roofs"] = round(time.perf_counter() - clock - sum(steps.values()), 3)
    shells: dict[str, tuple[Any, ...]] = {}
    shell_why = np.full(len(polys), None, dtype=object)
    ids = table.data["local_id"].astype(str).to_numpy()
    ground = frame["ground_height"].to_numpy(dtype=float)
    roof = frame["roof_lod12"].to_numpy(dtype=float)
    todo = np.flatnonzero(ok & pd.isna(height_why))
    progress.phase("LoD1.2 bodies", len(todo))
    for k, i in enumerate(todo, 1):
        if k % 1000 == 0:
            progress.update(1000)
        shell = solids.extrude(polys[i], float(ground[i]), float(roof[i]))
        problems = solids.check(shell)
        if problems:
            shell_why[i] = f"LoD1.2 body not valid: {problems[0]}"
        else:
            shells[ids[i]] = shell
    progress.update(len(todo) % 1000)
    steps["bodies_checked"] = round(time.perf_counter() - clock - sum(steps.values()), 3)
    report.city3d["timings"] = steps
    rows = [*_reject(table, why, "geometry"), *_reject(table, height_why, "height"),
            *_reject(table, shell_why, "geometry")]
    for r in rows:
        r["file"] = source_file
    keep = ok & pd.isna(height_why) & pd.isna(shell_why)
    data = pd.concat([table.data.reset_index(drop=True), frame.reset_index(drop=True)], axis=1)
    geoms = np.array([None if p is None else shapely.MultiPolygon([p]) for p in polys],
                     dtype=object)
    report.city3d["heights"] = {
        "source": hs.source, "block_percentile": hs.block_percentile,
        "ground_percentile": hs.ground_percentile, "erode_m": hs.erode_m,
        "quality": {str(k): int(v) for k, v in
                    pd.Series(frame["height_quality"][keep]).value_counts().items()},
        "rasters": [{"name": m.name, "tiles": len(m.tiles), "resolution_m": m.res,
                     "bounds": list(m.bounds), "source_date": m.source_date} for m in mosaics],
    }
    out = dataclasses.replace(table, data=data[keep].reset_index(drop=True),
                              geometry=geoms[keep], record=table.record[keep],
                              rejections=[*table.rejections, *rows])
    return Measured(out, shells, mosaics, used)


