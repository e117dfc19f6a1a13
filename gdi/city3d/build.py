"""The 3D steps of a buildings run (called by gdi.pipeline, which keeps the release):

1. :func:`measured_buildings` (after the clean step): one polygon per footprint, heights from
   the DGM/DOM (or the source), the LoD1.2 shell and its structural checks; a building that
   fails a rule is rejected with its reason, so read = published + rejected still holds;
2. :func:`carried_forward`: the changes against the live release and each version's begin;
3. :func:`models` (inside the staging folder): CityJSON, CityJSONSeq, CityGML 2.0 and the
   INSPIRE BU-3D GML of the existing state, the change list and the history store, and the
   planning variant; every file validated before the release may go live.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gdi.city3d import changes, heights, planning, rasters, solids
from gdi.city3d.model import Body, ModelInfo
from gdi.clean import CleanTable
from gdi.descriptor import Descriptor
from gdi.errors import DescriptorError
from gdi.report import RunReport
from gdi.settings import Settings

MAIN_PART_SHARE = 0.9  # a footprint in parts keeps its largest part if that holds 90 %
_RENAMED = ("function", "roof_type", "storeys")


@dataclasses.dataclass(frozen=True)
class Measured:
    table: CleanTable
    shells: dict[str, tuple[Any, ...]]  # local id -> LoD1.2 shell
    mosaics: tuple[rasters.Mosaic, ...]


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
    import json

    import pyogrio

    from gdi.publish import release

    empty = pd.DataFrame(index=range(len(polys)), columns=list(heights.derived_fields()))
    live = release.current(settings.publish_dir, desc.id)
    if live is None or not (live / f"{desc.id}.gpkg").exists():
        return empty
    rep = json.loads((live / "report.json").read_text(encoding="utf-8"))
    if rep.get("city3d", {}).get("fingerprint") != print_:
        return empty
    prev = pyogrio.read_dataframe(live / f"{desc.id}.gpkg",
                                  columns=["local_id", *heights.derived_fields()])
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


def measured_buildings(table: CleanTable, desc: Descriptor, settings: Settings,
                       work_dir: Path, report: RunReport, source_file: str,
                       progress: Any = None) -> Measured:
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
        got = heights.measure(polys[idx], dgm, dom, hs, progress)
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
    shells: dict[str, tuple[Any, ...]] = {}
    shell_why = np.full(len(polys), None, dtype=object)
    ids = table.data["local_id"].astype(str).to_numpy()
    ground = frame["ground_height"].to_numpy(dtype=float)
    roof = frame["roof_lod12"].to_numpy(dtype=float)
    for i in np.flatnonzero(ok & pd.isna(height_why)):
        shell = solids.extrude(polys[i], float(ground[i]), float(roof[i]))
        problems = solids.check(shell)
        if problems:
            shell_why[i] = f"LoD1.2 body not valid: {problems[0]}"
        else:
            shells[ids[i]] = shell
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
    return Measured(out, shells, mosaics)


def carried_forward(table: CleanTable, desc: Descriptor, live: Path | None, now: str
                    ) -> changes.Changes:
    spec = desc.city3d
    assert spec is not None
    attrs = [n for n, f in desc.fields.items() if not f.internal and not f.derived]
    return changes.compare(table.data, table.geometry, attrs, live, desc.id,
                           desc.publication.collection, spec.change, now, desc.storage_crs)


def current_use_table(desc: Descriptor, allowed: frozenset[str] | None) -> dict[str, str]:
    """ALKIS function code -> INSPIRE CurrentUseValue (the declared mapping table)."""
    spec = desc.city3d
    if spec is None or spec.current_use_table is None:
        return {}
    path = spec.current_use_table
    if not path.exists():
        raise DescriptorError(f"{desc.path}: city3d.current_use_table {path} not found")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    out = {r["code"].strip(): r["current_use"].strip() for r in rows}
    known = None if allowed is None else {u.rsplit("/", 1)[-1] for u in allowed}
    bad = sorted({v for v in out.values() if known is not None and v not in known})
    if bad:
        raise DescriptorError(f"{path}: {bad} are not INSPIRE CurrentUseValue values")
    return out


def _value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if np.isnan(v) else round(float(v), 3)
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v if isinstance(v, str | int | float | bool) else str(v)


def bodies(public: CleanTable, shells: dict[str, tuple[Any, ...]], desc: Descriptor
           ) -> list[Body]:
    """The public bodies of the existing state: public attributes only."""
    spec = desc.city3d
    assert spec is not None
    rename = {getattr(spec, f"{k}_field"): k for k in _RENAMED if getattr(spec, f"{k}_field")}
    internal = set(desc.internal_fields())
    cols = [c for c in public.data.columns if c not in internal and c != "begin_lifespan"]
    records = public.data[cols].rename(columns=rename).to_dict("records")
    begins = public.data["begin_lifespan"].astype(str).to_numpy()
    out = []
    for i, rec in enumerate(records):
        ident = str(rec.pop("local_id"))
        attrs = {k: _value(v) for k, v in rec.items()}
        attrs["status"] = "existing"
        out.append(Body(ident, shells[ident], attrs, float(attrs["ground_height"]),
                        float(attrs["roof_lod12"]), begins[i]))
    return out


def planned_bodies(plan: planning.Plan, dgm: rasters.Mosaic | None, dom: rasters.Mosaic | None,
                   desc: Descriptor, now: str) -> list[Body]:
    """Bodies of the planned projects, standing on the DGM (the 5th percentile)."""
    spec = desc.city3d
    assert spec is not None
    if not plan.bodies:
        return []
    if dgm is None or dom is None:
        raise planning.PlanningError(
            "planning: planned bodies need the DGM (city3d.heights.source: rasters)")
    feet = np.array([b.footprint for b in plan.bodies], dtype=object)
    ground = heights.measure(feet, dgm, dom, spec.heights)["ground_height"].to_numpy()
    out = []
    for b, g in zip(plan.bodies, ground, strict=True):
        if not np.isfinite(g):
            raise planning.PlanningError(f"planning: {b.file}: project {b.id!r} lies where "
                                         "the DGM has no heights")
        attrs = {"project": b.project, "project_status": b.status, "plan_date": b.date,
                 "height_lod12": b.height_m, "ground_height": round(float(g), 3),
                 "status": "planned", "function": None, "roof_type": None, "storeys": None}
        out.append(Body(b.id, solids.extrude(b.footprint, float(g), float(g) + b.height_m),
                        attrs, float(g), float(g) + b.height_m, now, "planned"))
    return out


def info(desc: Descriptor, settings: Settings, mosaics: tuple[rasters.Mosaic, ...],
         source_date: str, variant: str = "existing") -> ModelInfo:
    spec = desc.city3d
    assert spec is not None
    lineage = [f"Footprints: {desc.source.path.name} ({source_date[:10]})"]
    lineage += [f"{m.name}: {len(m.tiles)} tiles, {m.res:g} m, newest {m.source_date}"
                for m in mosaics]
    lineage.append(
        f"LoD1.2: ground = DGM p{spec.heights.ground_percentile} under the footprint, roof = "
        f"DOM p{spec.heights.block_percentile} inside the footprint eroded by "
        f"{spec.heights.erode_m:g} m" if spec.heights.source == "rasters" else
        "LoD1.2: ground and height from the source's attributes")
    dates = [source_date[:10], *(m.source_date for m in mosaics)]
    title = desc.title.de + (" – Planungsvariante" if variant == "planning" else "")
    return ModelInfo(title=title, crs=desc.storage_crs, reference_date=max(dates),
                     lineage=tuple(lineage), namespace=f"{settings.namespace_base}/{desc.id}",
                     variant="planning" if variant == "planning" else "existing")


def plan_of(measured: Measured, desc: Descriptor, now: str) -> tuple[planning.Plan, list[Body]]:
    """The planning folder read and checked before anything is staged (a bad file refuses
    the run; neither model changes)."""
    spec = desc.city3d
    assert spec is not None
    if spec.planning is None:
        return planning.Plan((), {}, ()), []
    bbox = desc.area.bbox if desc.area else (-1e12, -1e12, 1e12, 1e12)
    ids = measured.table.data["local_id"].astype(str).to_numpy()
    plan = planning.read(spec.planning, desc.storage_crs, bbox, ids,
                         shapely.get_geometry(measured.table.geometry, 0))
    dgm = measured.mosaics[0] if measured.mosaics else None
    dom = measured.mosaics[1] if measured.mosaics else None
    return plan, planned_bodies(plan, dgm, dom, desc, now)


def models(stage: Path, public: CleanTable, desc: Descriptor, settings: Settings,
           measured: Measured, changed: changes.Changes, plan: tuple[planning.Plan, list[Body]],
           report: RunReport, source_date: str) -> dict[str, str]:
    """Every 3D file of the release into ``stage``; returns {output key: file name}."""
    from gdi.city3d import products
    from gdi.inspire import codelists

    lists = codelists.from_settings(settings)
    uses = current_use_table(desc, lists.values("CurrentUseValue"))
    unmapped: dict[str, int] = {}

    def current_use(body: Body) -> str | None:
        code = body.attributes.get("function")
        if code is None:
            return None
        use = uses.get(str(code))
        if use is None:
            unmapped[str(code)] = unmapped.get(str(code), 0) + 1
        return use

    existing = bodies(public, measured.shells, desc)
    schemas = settings.shared_dir / "cityjson-schemas"
    meta = info(desc, settings, measured.mosaics, source_date)
    written = products.write_model(stage, desc.id, existing, meta, current_use,
                                   settings.schemas_dir, schemas)
    report.inspire = {"application_schema": "bu-core3d/4.0", "feature_type": "bu-core3d:Building",
                      "members": len(existing), "excluded": 0, "valid": True,
                      "gml": written["bu3d"]}
    the_plan, planned = plan
    out: dict[str, str] = {k: v for k, v in written.items() if isinstance(v, str)}
    summary: dict[str, Any] = {"bodies": len(existing), "vertices": written["vertices"],
                               "timings": written["timings"], "current_use_unmapped": unmapped}
    if the_plan.files:
        variant = [b for b in existing if b.id not in the_plan.replaced] + planned
        meta_p = info(desc, settings, measured.mosaics, source_date, "planning")
        done = products.write_model(stage, desc.id, variant, meta_p, current_use,
                                    settings.schemas_dir, schemas, planning=True)
        out.update({k: v for k, v in done.items() if isinstance(v, str)})
        summary["planning"] = {"files": list(the_plan.files), "planned": len(planned),
                               "replaced": dict(sorted(the_plan.replaced.items())),
                               "bodies": len(variant)}
    csv_name, hist_name = changes.write(changed, stage, desc.id)
    out["changes"], out["history"] = csv_name, hist_name
    summary["changes"] = changed.counts()
    summary["history_rows"] = len(changed.history)
    report.city3d["model"] = summary
    return out
