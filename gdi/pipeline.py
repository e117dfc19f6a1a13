"""One dataset's run: read -> clean -> INSPIRE plan -> encode -> validate -> publish -> report.

Every step works on data it is handed and returns data; this module only orders them, stages
the release and keeps the report. Nothing reaches the live publication before every check
has passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio
import shapely
from tqdm import tqdm

from gdi import crs, crscheck, guard, lifespan, preview
from gdi.city3d import build as city3d
from gdi.city3d.measure import measured_buildings
from gdi.clean import CleanTable, clean
from gdi.descriptor import Descriptor
from gdi.errors import GdiError, PublicationError, PublicationRefused
from gdi.inspire import codelists, gml
from gdi.inspire.plan import Plan, compile_plans, exclusions
from gdi.private import private_dir, seal
from gdi.publish import outputs, release, store
from gdi.report import RunReport
from gdi.settings import Settings
from gdi.vio import RawTable, read_source
from gdi.xsd import StreamValidator


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _Clock:
    """Seconds per step, written into the run report."""

    def __init__(self, into: dict[str, float]) -> None:
        self.into = into
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.into[step] = round(now - self.last, 3)
        self.last = now


def _bar(total: int, desc: str, quiet: bool) -> tqdm[Any]:
    return tqdm(total=total, desc=desc, unit="rec", disable=quiet, leave=False, mininterval=0.5)


class _Phases:
    """One bar through the phases of a step: each phase restarts it with its own total."""

    def __init__(self, bar: tqdm[Any], dataset: str) -> None:
        self.bar, self.dataset = bar, dataset

    def phase(self, name: str, total: int | None, unit: str = "rec") -> None:
        self.bar.reset(total=total)
        self.bar.unit = unit
        self.bar.set_description(f"{self.dataset}: {name}")

    def update(self, n: int, /) -> object:
        return self.bar.update(n)


def run_dataset(desc: Descriptor, settings: Settings, *, quiet: bool = False,
                accept_drop: bool = False) -> RunReport:
    started = _now()
    run_id = started.replace(":", "").replace("-", "")
    report = RunReport(dataset=desc.id, run_id=run_id, started=started)
    report.redact = {"fields": desc.internal_fields(),
                     "all_values": desc.publication.public_rows is not None}
    report.local_preview = preview.reasons(settings)
    reports_dir = settings.data_dir / "reports" / desc.id
    try:
        with release.locked(settings.publish_dir, desc.id):
            _run(desc, settings, report, quiet, accept_drop)
    except GdiError as exc:
        report.status = "refused" if isinstance(exc, PublicationRefused) else "failed"
        report.error = str(exc)
        raise
    except BaseException as exc:  # a bug or an interrupt: the report must not say "running"
        report.status = "failed"
        report.error = ("interrupted" if isinstance(exc, KeyboardInterrupt)
                        else f"internal error ({type(exc).__name__})")
        raise
    finally:
        report.finished = _now()
        report.write_latest(reports_dir)
    return report


def _run(desc: Descriptor, settings: Settings, report: RunReport, quiet: bool,
         accept_drop: bool) -> None:
    plans = (compile_plans(desc, settings.schemas_dir, codelists.from_settings(settings))
             if desc.inspire else None)
    src_crs = crscheck.horizontal_2d(desc.source.crs, f"{desc.path}: source.crs")
    if desc.area is not None:
        crscheck.check_area(desc.area.bbox, desc.area.crs, f"{desc.path}: area")
    if crs.needs_grid(src_crs):
        grid_dir = crs.use_grids(settings.grid_search_path())
        report.transformation = {"grid": str(grid_dir / crs.GRID_FILE),
                                 "self_check_m": round(crs.grid_self_check(), 6)}
    clock = _Clock(report.timings)
    raw = read_source(desc.source)
    clock("read")
    report.source = {"path": str(raw.path), "format": desc.source.format,
                     "encoding": raw.encoding, "encoding_from": raw.encoding_origin,
                     "crs": desc.source.crs, "file_crs": raw.file_crs,
                     "source_date": raw.source_date, "notes": raw.notes}
    if desc.area is not None:  # a file refused as a whole: no record is counted as read
        crscheck.same_crs(desc.source.crs, raw.file_crs, f"{raw.path}")
    report.read = len(raw)
    table = clean(raw, desc, referenced_ids(desc, settings))
    if desc.position_from:
        table = _position_from(table, desc, settings)
    report.source["notes"] = [*raw.notes, *table.notes]
    clock("clean")
    measured = None
    if desc.city3d is not None:  # heights, LoD1.2 bodies: failures rejected, so counted
        work = settings.data_dir / "work" / desc.id
        work.mkdir(parents=True, exist_ok=True)
        with _bar(len(table.data), f"{desc.id}: heights", quiet) as bar:
            measured = measured_buildings(table, desc, settings, work, report,
                                          raw.path.name, _Phases(bar, desc.id))
        table = measured.table
        plan = city3d.plan_of(measured, desc, report.started)  # a bad file refuses the run
        clock("heights")
    if desc.area is not None:
        report.transformation["operation"] = crs.transformation_description(
            desc.source.crs, desc.storage_crs)
    report.rejections = table.rejections
    report.amendments = table.amendments
    report.rejected = len({r["record"] for r in table.rejections})
    report.published = len(table.data)
    if not report.balanced:
        raise PublicationError(
            f"accounting does not balance: read {report.read} != published {report.published}"
            f" + rejected {report.rejected}")
    previous = release.current(settings.publish_dir, desc.id)
    _guard(desc, report, raw, previous, accept_drop)
    del raw  # the clean table holds what is needed from here on
    if "species_status" in table.data:
        counts = Counter(table.data["species_status"])
        todo = table.data.loc[table.data["species_status"] == "unresolved"]
        unresolved = todo["species_botanical"].fillna(todo[desc.species.field]) if desc.species \
            else todo["species_status"]
        report.species = {**counts, "unresolved_names": dict(Counter(unresolved).most_common())}

    public_cols = [c for c in table.data.columns if c not in set(desc.internal_fields())]
    begins, hashes, unchanged = lifespan.assign(table.data[public_cols], table.geometry,
                                                lifespan.read_state(previous), report.started)
    changed = None
    if measured is not None:  # buildings: versions by the rules of gdi.city3d.changes
        changed = city3d.carried_forward(table, desc, previous, report.started)
        begins = pd.Series(changed.begins, index=table.data.index, dtype=object)
        unchanged = changed.counts()["unchanged"]
    table.data["begin_lifespan"] = begins
    report.lifespan = {"unchanged": unchanged, "new_or_changed": len(begins) - unchanged}
    clock("lifespan")

    public = outputs.public_rows(table, desc)
    report.public = {"records": len(public.data), "withheld": len(table.data) - len(public.data)}
    with release.staging(settings.publish_dir, desc.id, report.run_id) as stage:
        gml_path = stage / f"{desc.id}.inspire.gml"
        gpkg_path = stage / f"{desc.id}.gpkg"
        report.outputs = {"gpkg": gpkg_path.name}
        validators: list[StreamValidator] = []
        variants = outputs.other_crs(desc, settings.city.download_crs)
        try:
            unmapped: dict[str, dict[str, int]] = {}
            selection = None if plans is None else exclusions(plans[0], public.data, unmapped)
            if plans is not None and selection is not None and _no_member(
                    desc, selection[0], report):
                plans = None  # an INSPIRE GML without members is never published
            if plans is not None and selection is not None:
                # the GML in the storage CRS and in each other download CRS, in one pass
                targets = [(gml_path, desc.storage_crs)] + [
                    (stage / outputs.variant_file(gml_path.name, c), c) for c in variants]
                # the first file is validated while it is written (a second process
                # following it on the second core); the others once written, while the
                # GeoPackages are (so the core the writer needs is never shared)
                validators.append(StreamValidator(
                    settings.schemas_dir, gml.schema_imports(plans[0]), targets[0][0]))
                _write_inspire(public, desc, plans, selection, targets, report, quiet)
                validators[0].finish_input()
                for path, _ in targets[1:]:
                    validators.append(StreamValidator(
                        settings.schemas_dir, gml.schema_imports(plans[0]), path))
                    validators[-1].finish_input()
                report.outputs["inspire_gml"] = gml_path.name
                for path, code in targets[1:]:
                    report.outputs[f"inspire_gml_{code.split(':')[-1]}"] = path.name
                clock("inspire_gml")
            selection = None  # the encoded values of a million records: free them now
            if unmapped and report.inspire:  # source values without a code-list mapping
                report.inspire["unmapped"] = unmapped
            # while the validator reads the last bytes: the public store and the state
            if desc.confidential:
                private_dir(stage / "internal")
                internal = stage / "internal" / f"{desc.id}.gpkg"
                outputs.write_internal_store(table, desc, internal)
                report.outputs["internal_gpkg"] = f"internal/{internal.name}"
            gpkg_variants = {c: stage / outputs.variant_file(gpkg_path.name, c)
                             for c in variants}  # the download variants of the public store
            outputs.write_public_store(public, desc, gpkg_path, gpkg_variants)
            for code, variant in gpkg_variants.items():
                report.outputs[f"gpkg_{code.split(':')[-1]}"] = variant.name
            if desc.publication.aggregate is not None:
                name, rows, suppressed = outputs.write_aggregate(
                    outputs.withheld_rows(table, desc), desc, stage)
                report.outputs["aggregate_gpkg"] = name
                assert desc.publication.aggregate is not None
                for code in variants:
                    variant = stage / outputs.variant_file(name, code)
                    outputs.write_variant(stage / name, desc.publication.aggregate.collection,
                                          variant, desc.storage_crs, code)
                    report.outputs[f"aggregate_gpkg_{code.split(':')[-1]}"] = variant.name
                report.public.update({"aggregate_rows": rows, "aggregate_suppressed": suppressed})
            if desc.publication.view.overview_grid_m is not None:
                name, rows = outputs.write_overview(public, desc, stage)
                report.outputs["overview_gpkg"] = name
                report.public["overview_cells"] = rows
            lifespan.write_state(stage / "internal" if desc.confidential else stage,
                                 table.data["local_id"], hashes, begins)
            clock("geopackage")
            if measured is not None and changed is not None:
                with _bar(0, f"{desc.id}: 3D files", quiet) as bar:
                    phases = _Phases(bar, desc.id)
                    phases.phase("3D files", None, "step")
                    report.outputs.update(city3d.models(
                        stage, public, desc, settings, measured, changed, plan, report,
                        report.source.get("source_date") or report.started, phases))
                clock("city3d")
            if validators:
                for validator in validators:
                    validator.verdict()
                report.inspire["valid"] = True
                clock("validation_wait")
        except BaseException:
            for validator in validators:
                validator.abort()
            raise
        report.status = "published"
        report.write(stage)
        seal(stage / "internal")
        final = release.promote(settings.publish_dir, desc.id, stage, report.run_id,
                                settings.keep_releases)
    report.outputs = {k: str(final / v) for k, v in report.outputs.items()}
    report.write(final)


def _guard(desc: Descriptor, report: RunReport, raw: RawTable, live: Path | None,
           accept_drop: bool) -> None:
    """Refuse an implausible run (gdi/guard.py) unless ``--accept-drop`` was given."""
    spec = desc.publication.guard
    hint = ""
    if desc.area is not None and any(r["reason"] == guard.OUTSIDE for r in report.rejections):
        hint = _crs_hint(desc, raw)
    found = guard.findings(report, guard.live_counts(live), max_drop=spec.max_drop,
                           max_rejected_share=spec.max_rejected_share, crs_hint=hint)
    report.guard = {"findings": found, "accepted": bool(found) and accept_drop}
    if found and not accept_drop:
        raise PublicationRefused(
            f"{desc.id}: not published, the live publication stays: " + "; ".join(found),
            hint="check the export and the descriptor; if the change is real, run again with "
                 "'gdi run --accept-drop'")


def _crs_hint(desc: Descriptor, raw: RawTable) -> str:
    """'is source.crs right? ...': the file's own CRS and the common CRSs that would fit."""
    assert desc.area is not None
    geoms = raw.geometry[np.array([g is not None for g in raw.geometry], dtype=bool)]
    if not len(geoms):
        return ""
    with np.errstate(invalid="ignore"):
        anchor = shapely.point_on_surface(geoms[:2000])
    fits = crscheck.fitting_crs(shapely.get_x(anchor), shapely.get_y(anchor), desc.area.bbox,
                                desc.area.crs, desc.source.crs)
    text = f"is source.crs ({desc.source.crs}) right?"
    if raw.file_crs:
        text += f" The file's own CRS says {raw.file_crs}."
    if fits:
        text += f" The positions fit {' or '.join(fits)}."
    return text


def _position_from(table: CleanTable, desc: Descriptor, settings: Settings) -> CleanTable:
    """A point inside the referenced record's geometry (documented as such, not surveyed)."""
    field = desc.position_from
    assert field is not None
    parent = desc.fields[field].references
    live = release.current(settings.publish_dir, str(parent))
    assert live is not None  # checked by _referenced_ids
    frame = pyogrio.read_dataframe(live / f"{parent}.gpkg", columns=["local_id"])
    anchors = dict(zip(frame["local_id"], shapely.point_on_surface(frame.geometry.values),
                       strict=True))
    geometry = np.array([anchors.get(v) for v in table.data[field]], dtype=object)
    return dataclasses.replace(table, geometry=geometry)


def referenced_ids(desc: Descriptor, settings: Settings) -> dict[str, set[str]]:
    """Published local ids of the datasets this one references (run those first)."""
    out: dict[str, set[str]] = {}
    for spec in desc.fields.values():
        if spec.references and spec.references not in out:
            live = release.current(settings.publish_dir, spec.references)
            if live is None:
                raise PublicationError(
                    f"{desc.id} references '{spec.references}', which is not published",
                    hint=f"run 'gdi run {spec.references}' first (or 'gdi run --all')")
            con, layer = store.open_layer(live / f"{spec.references}.gpkg")
            try:
                out[spec.references] = {r[0] for r in con.execute(
                    f'SELECT local_id FROM "{layer.table}"')}
            finally:
                con.close()
    return out


def _no_member(desc: Descriptor, reasons: np.ndarray, report: RunReport) -> bool:
    """True (and the report says why) if no record can be an INSPIRE member: then no INSPIRE
    GML is published, while the collection is."""
    if pd.isna(pd.Series(reasons, dtype=object)).any():
        return False
    excluded = Counter(r for r in reasons if r is not None)
    why = (f"all {len(reasons):,} records left out ({excluded.most_common(1)[0][0]})"
           if excluded else "no record to publish")
    assert desc.inspire is not None
    report.inspire = {"application_schema": desc.inspire.application_schema,
                      "feature_type": desc.inspire.feature_type, "members": 0,
                      "excluded": len(reasons), "excluded_reasons": dict(excluded),
                      "valid": None, "gml": f"not published: no member, {why}"}
    return True


def _write_inspire(table: CleanTable, desc: Descriptor, plans: tuple[Plan, Plan | None],
                   selection: tuple[np.ndarray, pd.DataFrame], targets: list[tuple[Path, str]],
                   report: RunReport, quiet: bool) -> None:
    """The INSPIRE GML into every target (path, CRS) in one pass (gdi.inspire.gml)."""
    plan, dataset_plan = plans
    spec = desc.inspire
    assert spec is not None
    reasons, values = selection
    ok = pd.isna(pd.Series(reasons, dtype=object)).to_numpy(dtype=bool)
    blocks = []
    if dataset_plan is not None and spec.dataset is not None:
        members = table.geometry[ok]
        hull = shapely.convex_hull(shapely.union_all(members)) if len(members) else None
        if hull is not None and shapely.get_type_id(hull) == 3:
            hull = shapely.MultiPolygon([hull])
        begin = table.data.loc[ok, "begin_lifespan"].max() if ok.any() else report.started
        ds = pd.DataFrame({"local_id": [spec.dataset.local_id], "begin_lifespan": [begin]})
        ds_reasons, ds_values = exclusions(dataset_plan, ds)
        if ds_reasons[0] is not None:
            raise PublicationError(f"{desc.id}: data set feature: {ds_reasons[0]}")
        blocks.append(gml.Block(dataset_plan, ds, ds_values, np.array([hull], dtype=object)))
    # the encoder reads only these two columns of the record (its values come from 'values'):
    # a subset of the whole table would copy every string column of a million records
    blocks.append(gml.Block(plan, table.data.loc[ok, ["local_id", "begin_lifespan"]],
                            values[ok], table.geometry[ok]))
    crs_list = ", ".join(code for _, code in targets)
    bar = _bar(int(ok.sum()), f"{desc.id}: INSPIRE GML ({crs_list})", quiet)
    with bar:  # the first file validated while written, by a process following it
        members_written = gml.write_collection(
            targets, blocks, namespace=spec.namespace, gml_prefix=desc.id,
            dataset_local_id=spec.dataset.local_id if spec.dataset else None, progress=bar,
            storage_crs=desc.storage_crs)
    excluded = Counter(r for r in reasons if r is not None)
    report.inspire = {
        "application_schema": spec.application_schema,
        "feature_type": f"{plan.feature.prefix}:{plan.feature.name}",
        "members": int(ok.sum()), "features_written": members_written,
        "excluded": int((~ok).sum()), "excluded_reasons": dict(excluded),
        "valid": False, "unchecked_codelists": list(plan.unchecked_codelists),
    }
    if desc.species is not None and (~ok).any():  # the worklist: taxa left out, per count
        left = table.data.loc[~ok, ["species_botanical", desc.species.field]]  # 2 columns
        names = left["species_botanical"].astype(object).where(
            left["species_botanical"].notna(), left[desc.species.field].astype(object))
        report.inspire["excluded_taxa"] = dict(Counter(
            str(n) if n is not None and not pd.isna(n) else "(ohne Art)" for n in names
        ).most_common())
