"""The state's official LoD2 (AdV LoD2-DE CityGML) merged with the own LoD1.2: one model, the
best source per building (docs/city3d.md, "LoD2").

For each ALKIS building the official LoD2 is used where it exists and is current; else the
own LoD1.2 body, with the reason as an attribute (``lod_reason``):

- ``no_lod2``: the state's model has no building with this ALKIS id (a new building);
- ``lod2_unreadable``: the LoD2 building could not be read (a reference that does not
  resolve, no ground surface): reported by the reader, never repaired;
- ``footprint_newer``: the ALKIS footprint is dated after the LoD2's ``Grundrissaktualitaet``;
- ``footprint_differs``: the footprints differ by more than ``footprint_tolerance_m``
  (Hausdorff distance) although the dates say otherwise;
- ``roof_inconsistent``: the LoD2 roof disagrees with the DOM by more than
  ``roof_tolerance_m``: its area-weighted mean height lies above the DOM's median roof height
  (the building was lowered or rebuilt), or below the DOM's *lowest* roof pixel (raised). The
  DOM's median alone would call every small roof under a tree "raised": vegetation only ever
  lifts the DOM, so a higher DOM counts only when even its lowest roof pixel is higher;
- ``current``: LoD2 used.

The LoD2 solids are checked with the same structural checks as the own bodies; problems are
counted and reported per kind (and the count stored per building), the solid is used as the
state delivered it: AdV models are not repaired here.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from gdi.city3d import citygml_read, solids
from gdi.city3d.model import Surface
from gdi.descriptor import Lod2Spec
from gdi.errors import SourceError

REASONS = ("current", "no_lod2", "lod2_unreadable", "footprint_newer", "footprint_differs",
           "roof_inconsistent")


@dataclasses.dataclass(frozen=True)
class Lod2Building:
    id: str
    parts: tuple[str, ...]
    shells: tuple[tuple[Surface, ...], ...]
    footprint: Any                # 2D union of the ground surfaces (None if unreadable)
    date: str | None              # Grundrissaktualitaet (YYYY-MM-DD)
    roof_type: str | None         # of the building, else of its largest part
    roof_mean: float              # area-weighted mean height of the roof surfaces
    problems: tuple[str, ...]     # from the reader (unreadable)
    check_problems: tuple[str, ...]  # structural checks of the solids (reported)


def _area_mean_z(rings: Iterable[np.ndarray]) -> tuple[float, float]:
    """(projected area, area-weighted mean z) of the exterior rings of roof polygons."""
    total, acc = 0.0, 0.0
    for ring in rings:
        x, y = ring[:, 0], ring[:, 1]
        a = abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2
        total += a
        acc += a * float(ring[:, 2].mean())
    return total, acc


def _building(bid: str, parts: list[citygml_read.CityGmlPart]) -> Lod2Building:
    shells, kinds_z = [], [0.0, 0.0]
    problems: list[str] = [m for p in parts for m in p.problems]
    checks: list[str] = []
    for p in parts:
        shell = tuple(Surface(kind, rings) for kind, rings in p.surfaces  # type: ignore[arg-type]
                      if kind in ("GroundSurface", "WallSurface", "RoofSurface",
                                  "ClosureSurface"))
        if shell:
            shells.append(shell)
            checks += [c.split(":")[0] for c in solids.check(shell, tol=0.01)]
        a, acc = _area_mean_z(r[0] for k, r in p.surfaces if k == "RoofSurface" and len(r))
        kinds_z[0] += a
        kinds_z[1] += acc
    feet = [p.footprint for p in parts if p.footprint is not None]
    foot = shapely.union_all(feet) if feet else None
    if not shells or foot is None:
        problems.append("no LoD2 geometry")
    main = max(parts, key=lambda p: 0 if p.footprint is None else p.footprint.area)
    own = next((p for p in parts if p.id == bid), None)
    roof_type = (own.roof_type if own is not None and own.roof_type else main.roof_type)
    date = next((p.attributes.get("Grundrissaktualitaet") for p in parts
                 if p.attributes.get("Grundrissaktualitaet")), None)
    mean = kinds_z[1] / kinds_z[0] if kinds_z[0] > 0 else float("nan")
    return Lod2Building(bid, tuple(p.id for p in parts), tuple(shells), foot, date, roof_type,
                        mean, tuple(problems), tuple(checks))


def _read_file(path: Path) -> tuple[dict[str, int], list[Lod2Building]]:
    """One tile (in a worker process): its object counts and its buildings."""
    by_id: dict[str, list[citygml_read.CityGmlPart]] = defaultdict(list)
    for part in citygml_read.read_tile(path):
        by_id[part.building_id].append(part)
    return (citygml_read.count_objects(path),
            [_building(bid, parts) for bid, parts in by_id.items()])


def read(spec: Lod2Spec, progress: Any = None
         ) -> tuple[dict[str, Lod2Building], dict[str, Any]]:
    """Every building of the LoD2 tiles, by ALKIS id, and the reading's accounting. Tiles
    are read by one process per core (each building lies in one tile; a building id found
    in a second tile is counted and the first tile's kept). ``progress``: a phase (``phase``,
    ``update``) shown per tile read."""
    if not spec.path.is_dir():
        raise SourceError(f"{spec.path}: LoD2 folder not found",
                          hint="check city3d.lod2.path in the descriptor")
    files = sorted(p for p in spec.path.glob(spec.pattern) if p.is_file())
    if not files:
        raise SourceError(f"{spec.path}: no LoD2 tile matches '{spec.pattern}'")
    counted: Counter[str] = Counter()
    out: dict[str, Lod2Building] = {}
    duplicates = 0
    workers = min(len(files), os.cpu_count() or 1)
    if progress is not None:
        progress.phase("LoD2 tiles", len(files), "tile")
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for counts, buildings in pool.map(_read_file, files, chunksize=4):
            if progress is not None:
                progress.update(1)
            counted.update(counts)
            for b in buildings:
                if b.id in out:
                    duplicates += 1
                else:
                    out[b.id] = b
    checks = Counter(c for b in out.values() for c in b.check_problems)
    stats = {"files": len(files), "buildings": counted.get("Building", 0),
             "building_parts": counted.get("BuildingPart", 0),
             "read_buildings": len(out),
             "read_parts": sum(len(b.parts) for b in out.values()),
             "unreadable": sum(1 for b in out.values() if b.problems),
             "solids_with_problems": sum(1 for b in out.values() if b.check_problems),
             "solid_problems": dict(checks),
             "buildings_in_a_second_file": duplicates}
    if stats["read_buildings"] != stats["buildings"]:
        stats["accounting"] = (f"{stats['buildings']} buildings in the files, "
                               f"{stats['read_buildings']} distinct ids read: "
                               f"{duplicates} found again in another file (first kept)")
    return out, stats


def choose(ids: np.ndarray, footprints: np.ndarray, dates: pd.Series, roof_p50: np.ndarray,
           roof_min: np.ndarray, lod2: dict[str, Lod2Building], spec: Lod2Spec
           ) -> tuple[np.ndarray, np.ndarray]:
    """(source "2" or "1.2", reason) per building (same order as ``ids``); ``roof_p50`` and
    ``roof_min`` from the DOM (NaN where no DOM is used)."""
    n = len(ids)
    source = np.full(n, "1.2", dtype=object)
    reason = np.full(n, "no_lod2", dtype=object)
    alkis_date = pd.to_datetime(dates.astype("string"), errors="coerce").to_numpy()
    for i, bid in enumerate(ids):
        b = lod2.get(str(bid))
        if b is None:
            continue
        if b.problems or b.footprint is None:
            reason[i] = "lod2_unreadable"
            continue
        lod2_date = pd.to_datetime(b.date, errors="coerce") if b.date else pd.NaT
        if not pd.isna(alkis_date[i]) and not pd.isna(lod2_date) and alkis_date[i] > lod2_date:
            reason[i] = "footprint_newer"
            continue
        if shapely.hausdorff_distance(footprints[i], b.footprint) > spec.footprint_tolerance_m:
            reason[i] = "footprint_differs"
            continue
        median, lowest = float(roof_p50[i]), float(roof_min[i])
        if np.isfinite(median) and (b.roof_mean - median > spec.roof_tolerance_m
                                    or lowest - b.roof_mean > spec.roof_tolerance_m):
            reason[i] = "roof_inconsistent"
            continue
        source[i], reason[i] = "2", "current"
    return source, reason
