"""What a live release says about its data, for its metadata record.

Only public material is read: the public store (or the grid aggregate) and the public view
of the run report (``report.json`` beside the release; the full report stays in
``internal/``). So nothing a record says goes beyond what the public outputs already show.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdi.crs import crs84_extent
from gdi.publish.store import open_layer


@dataclass(frozen=True)
class CollectionFacts:
    """One published collection (records or grid counts) of a release."""

    records: int
    extent84: tuple[float, float, float, float] | None  # west, south, east, north
    temporal: tuple[str, str] | None  # earliest and latest date of the temporal field
    fingerprint: str  # SHA-256 of the collection's content (ids, values, geometries)


@dataclass(frozen=True)
class ReleaseFacts:
    release: str  # the release folder's name (its run)
    folder: Path  # the release folder (its files are the downloads)
    published_on: str  # when the release went live (ISO date-time, UTC)
    report: dict[str, Any]  # the public view of the run report
    collections: dict[str, CollectionFacts]


def collection_facts(gpkg: Path, storage_crs: str, temporal_field: str | None
                     ) -> CollectionFacts:
    con, layer = open_layer(gpkg)
    try:
        columns = ["local_id", *[f for f in layer.fields if f != "local_id"]]
        if layer.geometry:
            columns.append(layer.geometry)
        digest = hashlib.sha256()
        select = ", ".join(f'"{c}"' for c in columns)
        for row in con.execute(f'SELECT {select} FROM "{layer.table}" ORDER BY local_id'):
            digest.update(repr(row).encode())
        temporal = None
        if temporal_field is not None and temporal_field in layer.fields:
            lo, hi = con.execute(f'SELECT MIN("{temporal_field}"), MAX("{temporal_field}") '
                                 f'FROM "{layer.table}"').fetchone()
            temporal = (str(lo)[:10], str(hi)[:10]) if lo is not None else None
    finally:
        con.close()
    extent = None
    if layer.extent is not None:
        west, south, east, north = crs84_extent(layer.extent, storage_crs)
        extent = (west, south, east, north)
    return CollectionFacts(layer.count, extent, temporal, digest.hexdigest())


def release_facts(live: Path, collections: dict[str, tuple[str, str | None]],
                  storage_crs: str) -> ReleaseFacts:
    """``collections``: collection name -> (file in the release, temporal field or None)."""
    report = json.loads((live / "report.json").read_text(encoding="utf-8"))
    finished = str(report.get("finished") or report.get("started") or "")
    return ReleaseFacts(
        release=live.name, folder=live, published_on=finished, report=report,
        collections={name: collection_facts(live / file, storage_crs, field)
                     for name, (file, field) in collections.items()})
