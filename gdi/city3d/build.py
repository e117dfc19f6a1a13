"""The 3D steps of a buildings run (called by gdi.pipeline, which keeps the release):

1. :func:`gdi.city3d.measure.measured_buildings` (after the clean step): heights, sources
   (LoD2 or LoD1.2), roof forms, the LoD1.2 shell and its checks; failures are rejected;
2. :func:`carried_forward`: the changes against the live release and each version's begin;
3. :func:`models` (inside the staging folder): CityJSON, CityJSONSeq, CityGML 2.0 and the
   INSPIRE BU-3D GML of the existing state, the change list and the history store, and the
   planning variant; every file validated before the release may go live.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gdi.city3d import changes, heights, lod2, planning, rasters, solids, tiled
from gdi.city3d.measure import Measured
from gdi.city3d.model import Body, ModelInfo
from gdi.clean import CleanTable
from gdi.descriptor import Descriptor
from gdi.errors import DescriptorError
from gdi.report import RunReport
from gdi.settings import Settings

_RENAMED = ("function", "roof_type", "storeys")


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


def bodies(public: CleanTable, shells: dict[str, tuple[Any, ...]], desc: Descriptor,
           lod2_used: dict[str, lod2.Lod2Building] | None = None) -> list[Body]:
    """The public bodies of the existing state: public attributes only; LoD2 where used."""
    lod2_used = lod2_used or {}
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
        official = lod2_used.get(ident)
        out.append(Body(ident, shells[ident], attrs, float(attrs["ground_height"]),
                        float(attrs["roof_lod12"]), begins[i],
                        lod2=official.shells if official else (),
                        lod2_parts=official.parts if official else ()))
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
           report: RunReport, source_date: str, progress: Any = None) -> dict[str, str]:
    """Every 3D file of the release into ``stage``; returns {output key: file name}.
    ``progress`` (``update``) counts the files written."""
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

    existing = bodies(public, measured.shells, desc, measured.lod2)
    schemas = settings.shared_dir / "cityjson-schemas"
    meta = info(desc, settings, measured.mosaics, source_date)
    written = products.write_model(stage, desc.id, existing, meta, current_use,
                                   settings.schemas_dir, schemas, progress=progress)
    report.inspire = {"application_schema": "bu-core3d/4.0", "feature_type": "bu-core3d:Building",
                      "members": len(existing), "excluded": 0, "valid": True,
                      "gml": written["bu3d"]}
    the_plan, planned = plan
    out: dict[str, str] = {k: v for k, v in written.items() if isinstance(v, str)}
    summary: dict[str, Any] = {"bodies": len(existing), "vertices": written["vertices"],
                               "timings": written["timings"], "current_use_unmapped": unmapped,
                               "lod2_bodies": sum(1 for b in existing if b.lod2),
                               "tiles_1km": written.get("tiles")}
    out["tiles_1km"] = tiled.index_name(desc.id)
    summary["3dtiles"] = {"existing": products.write_3dtiles(stage, desc.id, "existing",
                                                             existing, meta)}
    if progress is not None:
        progress.update(1)
    if the_plan.files:
        variant = [b for b in existing if b.id not in the_plan.replaced] + planned
        meta_p = info(desc, settings, measured.mosaics, source_date, "planning")
        done = products.write_model(stage, desc.id, variant, meta_p, current_use,
                                    settings.schemas_dir, schemas, planning=True,
                                    progress=progress)
        out.update({k: v for k, v in done.items() if isinstance(v, str)})
        summary["planning"] = {"files": list(the_plan.files), "planned": len(planned),
                               "replaced": dict(sorted(the_plan.replaced.items())),
                               "bodies": len(variant)}
        summary["3dtiles"]["planning"] = products.write_3dtiles(stage, desc.id, "planning",
                                                                variant, meta_p)
    csv_name, hist_name = changes.write(changed, stage, desc.id)
    out["changes"], out["history"] = csv_name, hist_name
    summary["changes"] = changed.counts()
    summary["history_rows"] = len(changed.history)
    report.city3d["model"] = summary
    return out
