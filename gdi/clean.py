"""Clean and validate a raw source table: typed fields, checked positions, resolved ids.

Every record read leaves this step either in the clean table or in the rejections, each
rejection naming file, record, field, value and reason. Amendments (a value set to null by the
descriptor's ``on_invalid: null``, swapped coordinates put right) are reported too: nothing is
changed silently.

Duplicate ids (documented in docs/data-quality.md): records sharing the descriptor's key are
compared by position (0.1 m) and public attributes. A later copy of an identical record is
rejected as a duplicate. Distinct records sharing a key stay, with the local id
``<key>-<8 hex digits of the position hash>``, which is stable while the tree does not move.
With ``resolution: reject`` every record after the first with the same key is rejected.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gdi import geometry
from gdi.descriptor import Descriptor
from gdi.errors import DescriptorError
from gdi.report import REDACTED
from gdi.species import resolve as resolve_species
from gdi.values import PARSERS, normalise_text, out_of_range
from gdi.vio import RawTable

_LOCAL_ID_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass
class Problems:
    """Collects rejections and amendments as parallel columns (cheap at a million records)."""

    file: str
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, mask: np.ndarray, records: np.ndarray, fld: str, values: Any, reason: str,
            kind: str) -> None:
        idx = np.flatnonzero(mask)
        vals = None if values is None else np.asarray(values, dtype=object)
        for i in idx:
            v = None if vals is None else (vals[i] if vals.ndim else vals.item())
            if v is not None and not isinstance(v, str) and pd.isna(v):
                v = None
            self.rows.append({"file": self.file, "record": int(records[i]), "field": fld,
                              "value": None if v is None else str(v), "reason": reason,
                              "kind": kind})


@dataclass(frozen=True)
class CleanTable:
    data: pd.DataFrame  # clean fields + derived fields, one row per published record
    geometry: np.ndarray  # shapely geometries in the area CRS (the storage CRS, EPSG:25832)
    record: np.ndarray
    rejections: list[dict[str, Any]]
    amendments: list[dict[str, Any]]
    notes: list[str]


def _compute(values: pd.Series, ref: str, where: str) -> tuple[pd.Series, np.ndarray]:
    """Apply a descriptor's pure function to each distinct value; None means invalid."""
    from gdi.inspire.plan import load_function

    fn = load_function(ref, where)
    present = values.notna().to_numpy(dtype=bool)
    mapping = {v: fn(v) for v in values[present].unique()}
    out = values.astype(object).map(lambda v: None if v is None or v is pd.NA else mapping[v])
    bad = present & out.isna().to_numpy(dtype=bool)
    return out.where(out.notna(), None), bad


def clean(raw: RawTable, desc: Descriptor,
          known_ids: dict[str, set[str]] | None = None) -> CleanTable:
    """``known_ids``: the published local ids of datasets this one references."""
    n = len(raw)
    problems = Problems(raw.path.name)
    reject = np.zeros(n, dtype=bool)
    rec = raw.record
    cols: dict[str, pd.Series] = {}
    notes: list[str] = []
    for name, spec in desc.fields.items():
        if spec.derived:  # computed later in the run (gdi.city3d.heights)
            continue
        if spec.source not in raw.attributes.columns:
            raise DescriptorError(
                f"{desc.path}: key 'fields.{name}.source': column '{spec.source}' is not in "
                f"{raw.path.name}",
                hint="columns are: " + ", ".join(map(str, raw.attributes.columns)),
            )
        source = raw.attributes[spec.source]
        if spec.multi:  # "Kleinkinder\r\nSchulkinder" -> "Kleinkinder, Schulkinder"
            # (", " and not "; ": GDAL's inline GeoJSON reader stops at a semicolon)
            source = source.str.replace(r"\s*[\r\n;,]+\s*", ", ", regex=True).str.strip(", ")
        text = normalise_text(source, spec.nulls)
        before = raw.attributes[spec.source]
        trimmed = int(((before != text) | (before.notna() & text.isna())).fillna(False).sum())
        if trimmed:
            notes.append(f"{name}: {trimmed} values with blanks or null markers normalised")
        shown = text.where(text.isna(), REDACTED) if spec.internal else text
        values, bad = PARSERS[spec.type](text)
        bad_fn = np.zeros(n, dtype=bool)
        if spec.compute:
            values, bad_fn = _compute(values, spec.compute, f"{desc.path}: fields.{name}")
            bad_fn &= ~bad
        bad_range = out_of_range(values, spec.min, spec.max) & ~bad & ~bad_fn
        invalid = bad | bad_fn | bad_range
        kind = "rejected" if spec.on_invalid == "reject" else "set to null"
        range_reason = f"outside the plausible range [{spec.min}, {spec.max}]"
        if spec.unit:
            range_reason += f" {spec.unit}"
        problems.add(bad, rec, name, shown, f"not a valid {spec.type}", kind)
        problems.add(bad_fn, rec, name, shown, f"not a valid {name}", kind)
        problems.add(bad_range, rec, name, shown, range_reason, kind)
        if spec.on_invalid == "reject":
            reject |= invalid
        else:
            values = values.astype(object).where(~invalid, None)
        if spec.required:
            missing = values.isna().to_numpy(dtype=bool) & ~invalid
            problems.add(missing, rec, name, None, "required value missing", "rejected")
            reject |= missing
        if spec.references:
            ids = (known_ids or {}).get(spec.references, set())
            orphan = values.notna().to_numpy(dtype=bool) & ~values.astype(object).isin(
                ids).to_numpy(dtype=bool) & ~reject
            problems.add(orphan, rec, name, shown,
                         f"no published record of '{spec.references}' with this id", "rejected")
            reject |= orphan
        cols[name] = values
    data = pd.DataFrame(cols)
    for rule in desc.exclude:
        hit = data[rule.field].astype(object).isin(rule.values).to_numpy(dtype=bool) & ~reject
        problems.add(hit, rec, rule.field, data[rule.field], rule.reason, "rejected")
        reject |= hit

    if desc.area is None:  # a plain table (e.g. equipment of a playground)
        geom = np.full(n, None, dtype=object)
    else:
        geom, geo_reject = geometry.check(raw.geometry, rec, raw.geometry_notes,
                                          desc.source.crs, desc.area, problems.add)
        reject |= geo_reject
    if desc.species:
        data = data.join(resolve_species(data[desc.species.field], desc.species.table))
    keep = ~reject
    data, geom, rec_kept = data[keep].reset_index(drop=True), geom[keep], rec[keep]
    with np.errstate(invalid="ignore"):  # rows without geometry give NaN positions
        is_point = shapely.get_type_id(geom) == 0
        anchor = geom if is_point.all() else shapely.point_on_surface(geom)
        x, y = shapely.get_x(anchor), shapely.get_y(anchor)
    local_id, dup_reject = _local_ids(data, x, y, rec_kept, desc, problems)
    keep2 = ~dup_reject
    data = data[keep2].reset_index(drop=True)
    data.insert(0, "local_id", local_id[keep2])
    rejections = [r for r in problems.rows if r["kind"] == "rejected"]
    amendments = [r for r in problems.rows if r["kind"] != "rejected"]
    return CleanTable(data, np.asarray(geom[keep2], dtype=object), rec_kept[keep2], rejections,
                      amendments, notes)


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                       "ß": "ss"})


def slug(value: str) -> str:
    """A local id from a key: German letters transliterated, other characters to '_'."""
    text = unicodedata.normalize("NFKD", value.strip().translate(_FOLD))
    text = text.encode("ascii", "ignore").decode()
    return _LOCAL_ID_BAD.sub("_", text).strip("_") or "x"


def _position_hash(x: float, y: float) -> str:
    return hashlib.sha1(f"{round(x, 1):.1f} {round(y, 1):.1f}".encode()).hexdigest()[:8]


def _local_ids(data: pd.DataFrame, x: np.ndarray, y: np.ndarray, rec: np.ndarray,
               desc: Descriptor, problems: Problems) -> tuple[np.ndarray, np.ndarray]:
    key_cols = list(desc.duplicates.key)
    parts = [data[c].astype("string").fillna("") for c in key_cols]
    joined = parts[0].str.cat(parts[1:], sep="_") if len(parts) > 1 else parts[0]
    key = joined.map(slug, na_action="ignore")
    ids = key.to_numpy(dtype=object)
    reject = np.zeros(len(ids), dtype=bool)
    dup = key.duplicated(keep=False).to_numpy()
    if not dup.any():
        return ids, reject
    public = [c for c in data.columns if not desc.fields.get(c) or not desc.fields[c].internal]
    idx = np.flatnonzero(dup)
    # one hash of the public attributes per duplicate row (vectorised), then a small loop
    attrs = pd.util.hash_pandas_object(data.iloc[idx][public], index=False).to_numpy()
    first_of: dict[tuple[Any, ...], int] = {}
    seen_ids: dict[str, int] = {}
    field = "+".join(key_cols)

    def flag(i: int, reason: str, kind: str = "rejected") -> None:
        problems.add(np.array([True]), rec[i:i + 1], field, ids[i], reason, kind)

    for i, h in zip(idx.tolist(), attrs, strict=True):
        if desc.duplicates.resolution == "reject":
            if ids[i] in seen_ids:
                reject[i] = True
                flag(i, f"duplicate id (first at record {seen_ids[ids[i]]})")
            else:
                seen_ids[ids[i]] = int(rec[i])
            continue
        sig = (ids[i], round(float(x[i]), 1), round(float(y[i]), 1), int(h))
        if sig in first_of:
            reject[i] = True
            flag(i, f"duplicate record (same id, position and attributes as record "
                    f"{first_of[sig]})")
            continue
        first_of[sig] = int(rec[i])
        new = f"{ids[i]}-{_position_hash(float(x[i]), float(y[i]))}"
        if new in seen_ids:
            reject[i] = True
            flag(i, f"conflicting duplicate (same id and position as record {seen_ids[new]}, "
                    "other attributes)")
            continue
        seen_ids[new] = int(rec[i])
        flag(i, "id shared by several records; local id made unique by position", "amended")
        ids[i] = new
    return ids, reject
