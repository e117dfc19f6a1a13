"""Open-data extracts of every published dataset, versioned like the releases.

``<data>/extracts/<dataset>/releases/<version>/`` holds the extracts of one data release
(the version is the release's own name, its run's UTC time): every format of
:mod:`gdi.publish.extracts.formats` for each public collection, ``datapackage.json``,
``SHA256SUMS`` and ``changes.csv`` (objects added, changed, removed since the previous
version). ``current`` and ``latest`` point at the live one; the last ``GDI_EXTRACTS_KEEP``
versions stay. Built aside and switched atomically with :mod:`gdi.publish.release`, written
only from the live release's public GeoPackages (never from the source), after each run and at
``gdi serve`` start; a failure leaves the previous extracts in place.

A dataset with withheld records (the contaminated sites) keeps its live version only, and its
change list counts removed objects without naming them: an object leaving the public part may
have become a withheld one, and two versions side by side (or a named removal) would say where
it is; two versions of the grid aggregate could also be subtracted from each other.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyogrio

from gdi.descriptor import Descriptor
from gdi.errors import PublicationError
from gdi.metadata.context import Context
from gdi.publish import release
from gdi.publish.extracts import formats
from gdi.publish.extracts.package import (
    Collection,
    datapackage,
    write_checksums,
)
from gdi.publish.store import open_layer
from gdi.settings import Settings

NAME = "extracts"


@dataclass
class ExtractsReport:
    written: dict[str, str] = field(default_factory=dict)  # dataset -> version written
    failed: dict[str, str] = field(default_factory=dict)  # dataset -> reason

    def summary(self) -> str:
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.written.items())) or "none new"
        failed = "; ".join(f"{k}: {v}" for k, v in sorted(self.failed.items()))
        return f"extracts: {done}" + (f"; failed: {failed}" if failed else "")


def root(settings: Settings) -> Path:
    return settings.data_dir / NAME


def _collections(desc: Descriptor, live: Path) -> list[tuple[Collection, Path]]:
    pub = desc.publication
    parts = [(pub.collection, f"{desc.id}.gpkg", pub.title, pub.description)]
    if pub.aggregate is not None:
        agg = pub.aggregate
        parts.append((agg.collection, f"{agg.collection}.gpkg", agg.title, agg.description))
    out = []
    for name, file, title, description in parts:
        info = pyogrio.read_info(live / file)
        points = str(info["geometry_type"]).lstrip("3D ").startswith("Point")
        out.append((Collection(name, title, description, tuple(info["fields"]), points,
                               int(info["features"])), live / file))
    return out


def _row_hashes(gpkg: Path) -> dict[str, str]:
    """local_id -> digest of the published record (values and geometry)."""
    con, layer = open_layer(gpkg)
    try:
        cols = [f for f in layer.fields if f not in ("local_id", "begin_lifespan")]
        if layer.geometry:
            cols.append(layer.geometry)
        select = ", ".join(f'"{c}"' for c in ["local_id", *cols])
        return {str(row[0]): hashlib.sha256(repr(row[1:]).encode()).hexdigest()[:16]
                for row in con.execute(f'SELECT {select} FROM "{layer.table}"')}
    finally:
        con.close()


def _changes(before: Path | None, after: Path, out: Path, *, name_removed: bool
              ) -> dict[str, int]:
    """``changes.csv`` (local_id, change) between two versions of a collection; counts.
    ``name_removed=False``: removed objects are counted, not named (a dataset with withheld
    records: an object leaving the public part may have become one of them)."""
    new = _row_hashes(after)
    old = _row_hashes(before) if before is not None and before.exists() else {}
    rows = [(i, "added") for i in new if i not in old]
    rows += [(i, "changed") for i in new if i in old and old[i] != new[i]]
    removed = [(i, "removed") for i in old if i not in new]
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(["local_id", "change"])
        writer.writerows(sorted(rows + (removed if name_removed else [])))
    rows += removed
    counts = {k: sum(1 for _, c in rows if c == k) for k in ("added", "changed", "removed")}
    return {**counts, "first_version": int(before is None)}


def _withholds(desc: Descriptor) -> bool:
    """Records of this dataset are withheld from the public (``publication.public_rows``):
    only its live version is kept, so no two versions show an object leaving the public part
    (it may have become a withheld one)."""
    return desc.publication.public_rows is not None or desc.publication.aggregate is not None


def build(settings: Settings, desc: Descriptor, live: Path, stage: Path,
          previous: Path | None) -> None:
    """Every extract of the live release ``live`` into ``stage``."""
    lic = settings.city.catalogue.licence
    changes: dict[str, int] = {}
    colls = _collections(desc, live)
    for coll, gpkg in colls:
        frame = formats.read(gpkg, coll.name)
        if len(frame) != coll.rows:
            raise PublicationError(f"{gpkg.name}: read {len(frame)} of {coll.rows} records")
        for suffix, write in formats.writers(frame, gpkg, coll.name, desc.storage_crs).items():
            write(stage / f"{coll.name}.{suffix}")
        if coll.name == desc.publication.collection:
            changes = _changes(previous / f"{coll.name}.gpkg" if previous else None, gpkg,
                               stage / "changes.csv", name_removed=not _withholds(desc))
        del frame
    package = datapackage(
        desc, [c for c, _ in colls], stage, live.name,
        {"id": lic.id, "url": lic.url, "title": lic.title_de},
        Context.from_settings(settings).attribution,
        f"{settings.base_url}/extracts/{desc.id}/latest/", changes)
    write_checksums(stage, package)


def publish(settings: Settings) -> ExtractsReport:
    """Extracts of every live release that has none yet; the others stay as they are."""
    from gdi.publish import ogcapi

    report = ExtractsReport()
    base = root(settings)
    for desc, live in ogcapi.published(settings):
        folder = release.dataset_dir(base, desc.id)
        if (folder / "releases" / live.name / "datapackage.json").exists():
            continue
        try:
            with release.locked(base, desc.id):
                previous = release.current(base, desc.id)
                with release.staging(base, desc.id, live.name) as stage:
                    build(settings, desc, live, stage, previous)
                    final = release.promote(base, desc.id, stage, live.name,
                                            1 if _withholds(desc) else settings.extracts_keep)
                latest = folder / "latest"
                if not latest.is_symlink():
                    tmp = folder / f".latest.{os.getpid()}"
                    tmp.symlink_to("current")
                    os.replace(tmp, latest)
                report.written[desc.id] = final.name
        except Exception as exc:  # the previous extracts stay; the failure is reported
            report.failed[desc.id] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return report
