"""``gdi check``: a descriptor tried on its real source, without publishing anything.

What a technician onboarding an export wants to know before the first run: does the
descriptor hold together (fields, CRSs, area, INSPIRE mapping), what does the file say of
itself (columns, geometry types, encoding, CRS), and what would a run reject or leave out of
the INSPIRE GML, and why. The first ``sample`` records go through the same cleaning and
mapping as a run; nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gdi import crs, crscheck
from gdi.clean import clean
from gdi.descriptor import Descriptor
from gdi.errors import GdiError
from gdi.inspire.codelists import from_settings
from gdi.inspire.plan import compile_plans, exclusions
from gdi.settings import Settings
from gdi.vio import RawTable, read_source


@dataclass
class CheckResult:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)


def _head(raw: RawTable, n: int) -> RawTable:
    if len(raw) <= n:
        return raw
    return dataclasses.replace(
        raw, attributes=raw.attributes.iloc[:n].reset_index(drop=True),
        geometry=raw.geometry[:n], record=raw.record[:n],
        geometry_notes={k: v for k, v in raw.geometry_notes.items() if k < n})


def check(desc: Descriptor, settings: Settings, *, sample: int, source: bool = True
          ) -> CheckResult:
    out = CheckResult()
    src = crscheck.horizontal_2d(desc.source.crs, f"{desc.path}: source.crs")
    if crs.needs_grid(src):
        crs.use_grids(settings.grid_search_path())
    if desc.area is not None:
        crscheck.check_area(desc.area.bbox, desc.area.crs, f"{desc.path}: area")
    plans = None
    if desc.inspire is None:
        out.say(f"{desc.id}: descriptor valid (not an INSPIRE dataset)")
    else:
        plans = compile_plans(desc, settings.schemas_dir, from_settings(settings))
        plan, dataset_plan = plans
        out.say(f"{desc.id}: descriptor valid; {plan.feature.prefix}:{plan.feature.name} fully "
                f"mapped" + (f", with {dataset_plan.feature.name}" if dataset_plan else ""))
        if plan.unchecked_codelists:
            out.say("  code lists not available offline (values unchecked): "
                    + ", ".join(plan.unchecked_codelists))
    if not source or not desc.source.path.exists():
        out.say(f"  source {desc.source.path}: not there, not tried")
        return out
    raw = read_source(desc.source)  # encoding checked against the bytes on the way
    out.say(f"  source {raw.path.name}: {len(raw):,} records; encoding {raw.encoding} "
            f"(from {raw.encoding_origin}); columns: {', '.join(map(str, raw.attributes.columns))}")
    kinds = Counter(("none" if g is None else g.geom_type) for g in raw.geometry)
    out.say("  geometry: " + ", ".join(f"{k} {n:,}" for k, n in kinds.most_common()))
    try:
        if desc.area is not None:
            crscheck.same_crs(desc.source.crs, raw.file_crs, str(raw.path))
        out.say(f"  CRS: declared {desc.source.crs}, the file says "
                f"{raw.file_crs or 'nothing (no .prj / crs member)'}")
    except GdiError as exc:
        out.problems.append(str(exc))
    _fits(desc, plans, kinds, out)
    head = _head(raw, sample)
    try:
        table = clean(head, desc, _known_ids(desc, settings))
    except GdiError as exc:
        out.problems.append(str(exc))
        return out
    rejected = {r["record"] for r in table.rejections}
    reasons = Counter(r["reason"].split(" (")[0] for r in table.rejections)
    out.say(f"  first {len(head):,} records: {len(table.data):,} would be published, "
            f"{len(rejected):,} rejected" + (":" if reasons else ""))
    for reason, n in reasons.most_common(10):
        out.say(f"    rejected {n:6,}  {reason}")
    if plans is not None and len(table.data):
        data = table.data.copy()
        data["begin_lifespan"] = "2000-01-01T00:00:00Z"
        unmapped: dict[str, dict[str, int]] = {}
        try:
            why, _ = exclusions(plans[0], data, unmapped)
        except GdiError as exc:
            out.problems.append(str(exc))
            return out
        for prop, found in unmapped.items():
            out.say(f"  unmapped values of {prop}: "
                    + ", ".join(f"'{k}' ({n:,})" for k, n in found.items()))
        left = Counter(r for r in why if r is not None)
        members = int(pd.isna(pd.Series(why, dtype=object)).sum())
        out.say(f"  INSPIRE: {members:,} of them would be members"
                + (", left out:" if left else ""))
        for reason, n in left.most_common(10):
            out.say(f"    left out {n:6,}  {reason}")
        if members == 0:
            out.problems.append("no record of the sample would be an INSPIRE member")
    return out


def _fits(desc: Descriptor, plans: Any, kinds: Counter[str], out: CheckResult) -> None:
    """The geometry type of the file against the INSPIRE feature type."""
    if plans is None or desc.inspire is None:
        return
    points = sum(n for k, n in kinds.items() if k in {"Point", "MultiPoint"})
    areas = sum(n for k, n in kinds.items() if k in {"Polygon", "MultiPolygon"})
    feature = desc.inspire.feature_type
    if feature == "ExistingLandUseObject" and points > areas:
        out.problems.append("the file holds points, ExistingLandUseObject needs areas: use "
                            "feature_type ExistingLandUseSample (application_schema selu/4.0) "
                            "for land-use points")
    if feature == "ExistingLandUseSample" and areas > points:
        out.problems.append("the file holds areas, ExistingLandUseSample is a point: use "
                            "feature_type ExistingLandUseObject (application_schema elu/4.0)")


def _known_ids(desc: Descriptor, settings: Settings) -> dict[str, set[str]]:
    from gdi.pipeline import referenced_ids

    try:
        return referenced_ids(desc, settings)
    except GdiError:
        return {}  # the referenced dataset is not published: every reference is an orphan
