"""The publication stores of a run: public GeoPackage, internal GeoPackage, grid aggregate.

What each holds is decided by the descriptor: the public store has the public fields of the
public records (``publication.public_rows``), the internal one every record and field, the
aggregate counts per grid cell (``publication.aggregate``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio

from gdi.clean import CleanTable, slug
from gdi.descriptor import Descriptor
from gdi.errors import PublicationError
from gdi.publish import store
from gdi.publish.aggregate import cell_counts, grid_counts
from gdi.vio import write_gpkg

_ARROW_STR = pd.ArrowDtype(pa.string())
_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean"}


def _public_mask(table: CleanTable, desc: Descriptor) -> np.ndarray:
    """True for the records the public sees (any ``publication.public_rows`` rule; all
    without rules)."""
    rules = desc.publication.public_rows
    if rules is None:
        return np.ones(len(table.data), dtype=bool)
    mask = np.zeros(len(table.data), dtype=bool)
    for rule in rules:
        mask |= table.data[rule.field].astype(object).isin(rule.values).to_numpy(dtype=bool)
    return mask


def _subset(table: CleanTable, mask: np.ndarray) -> CleanTable:
    return dataclasses.replace(table, data=table.data[mask].reset_index(drop=True),
                               geometry=table.geometry[mask], record=table.record[mask])


def public_rows(table: CleanTable, desc: Descriptor) -> CleanTable:
    """The records the public sees (descriptor ``publication.public_rows``; all by default)."""
    return _subset(table, _public_mask(table, desc))


def withheld_rows(table: CleanTable, desc: Descriptor) -> CleanTable:
    """The records the public does not see one by one (none without ``public_rows``)."""
    return _subset(table, ~_public_mask(table, desc))


def write_internal_store(table: CleanTable, desc: Descriptor, path: Path) -> None:
    write_gpkg(public_frame(table, desc, internal=True), path, desc.publication.collection)
    store.finalize(path, desc.publication.collection, "local_id")


def write_aggregate(table: CleanTable, desc: Descriptor, stage: Path) -> tuple[str, int, int]:
    """The grid aggregate's GeoPackage of the withheld records ``table`` (see
    :func:`withheld_rows`): (file name, rows, suppressed cell/class pairs)."""
    spec = desc.publication.aggregate
    assert spec is not None
    cells, suppressed = grid_counts(table.geometry, table.data[spec.by], size=spec.grid_m,
                                    suppress_below=spec.suppress_below,
                                    storage_crs=desc.storage_crs)
    cells.insert(0, "local_id", cells["cell_id"] + "-" + cells["class"].map(slug))
    path = stage / f"{spec.collection}.gpkg"
    write_gpkg(cells, path, spec.collection)
    store.finalize(path, spec.collection, "local_id")
    return path.name, len(cells), suppressed


def write_overview(table: CleanTable, desc: Descriptor, stage: Path) -> tuple[str, int]:
    """The view service's overview of a dense point layer: public records per INSPIRE grid
    cell (``publication.view.overview_grid_m``), drawn beyond ``detail_max_scale``.
    ``table`` holds the public records only. Returns (file name, cells)."""
    size = desc.publication.view.overview_grid_m
    assert size is not None
    cells = cell_counts(table.geometry, size=size, storage_crs=desc.storage_crs)
    cells.insert(0, "local_id", cells["cell_id"])
    path = stage / overview_file(desc)
    write_gpkg(cells, path, overview_table(desc))
    store.finalize(path, overview_table(desc), "local_id")
    return path.name, len(cells)


def overview_file(desc: Descriptor) -> str:
    return f"{desc.id}.overview.gpkg"


def overview_table(desc: Descriptor) -> str:
    """The overview's table, and its layer's name in the WMS."""
    return f"{desc.publication.collection}_overview"


def variant_file(name: str, code: str) -> str:
    """A file's name in another CRS: trees.inspire.gml -> trees.inspire.4258.gml,
    trees.gpkg -> trees.4258.gpkg."""
    stem, _, suffix = name.rpartition(".")
    return f"{stem}.{code.split(':')[-1]}.{suffix}"


def other_crs(desc: Descriptor, download_crs: tuple[str, ...]) -> list[str]:
    """The CRSs a dataset's files are offered in besides its storage CRS."""
    return [c for c in download_crs if c != desc.storage_crs]


def in_crs(frame: gpd.GeoDataFrame, storage_crs: str, code: str) -> gpd.GeoDataFrame:
    """The same records with their geometry in another CRS (gdi.crs: the one place that
    transforms; x/y as GeoPackage stores them, longitude first for EPSG:4258)."""
    from gdi import crs

    moved = crs.transform_geometry(frame.geometry.to_numpy(), storage_crs, code,
                                   authority_order=False)
    return gpd.GeoDataFrame(frame.drop(columns=frame.geometry.name),
                            geometry=np.asarray(moved, dtype=object),
                            crs=code)


def write_variant(src: Path, table: str, path: Path, storage_crs: str, code: str) -> None:
    """A small published GeoPackage (the grid aggregate) in another CRS."""
    frame = pyogrio.read_dataframe(src, layer=table)
    _write_checked(in_crs(frame, storage_crs, code), path, table)


def _write_checked(frame: pd.DataFrame, path: Path, table: str) -> None:
    write_gpkg(frame, path, table)
    store.finalize(path, table, "local_id")
    if pyogrio.read_info(path, layer=table)["features"] != len(frame):
        raise PublicationError(f"{path.name}: wrote {len(frame)} features, reads back fewer")


def public_frame(table: CleanTable, desc: Descriptor, *, internal: bool = False
                 ) -> pd.DataFrame:
    """The public record: descriptor fields not marked internal, plus derived fields, typed.
    ``internal=True``: every field (the internal store only)."""
    internal_fields = set() if internal else set(desc.internal_fields())
    cols = [c for c in table.data.columns if c not in internal_fields]
    frame = table.data[cols].copy()
    for c in frame.columns:
        kind = desc.fields[c].type if c in desc.fields else "text"
        if kind in _DTYPES:
            frame[c] = frame[c].astype(_DTYPES[kind])
        elif kind == "date":
            frame[c] = pd.to_datetime(frame[c], format="%Y-%m-%d").dt.date.astype(object)
            frame[c] = frame[c].where(frame[c].notna(), None)
        else:
            frame[c] = frame[c].astype(_ARROW_STR)
    if desc.area is None and desc.position_from is None:  # a table without geometry
        return frame
    return gpd.GeoDataFrame(frame, geometry=list(table.geometry), crs=desc.storage_crs)


def write_public_store(table: CleanTable, desc: Descriptor, path: Path,
                       variants: dict[str, Path] | None = None) -> None:
    """The public store, and the same in each other download CRS (``variants``: CRS ->
    path), written from the one public frame (never read back)."""
    frame = public_frame(table, desc)
    name = desc.publication.collection
    _write_checked(frame, path, name)
    leaked = set(desc.internal_fields()) & set(pyogrio.read_info(path, layer=name)["fields"])
    if leaked:
        raise PublicationError(f"{path.name}: internal fields in the public store: {leaked}")
    stored = frame.geometry.to_numpy() if isinstance(frame, gpd.GeoDataFrame) else None
    for code, variant in (variants or {}).items():
        if isinstance(frame, gpd.GeoDataFrame):  # the geometry replaced in place: no copy
            from gdi import crs

            moved = crs.transform_geometry(stored, desc.storage_crs, code, authority_order=False)
            frame.set_geometry(gpd.GeoSeries(np.asarray(moved, dtype=object),
                                             index=frame.index, crs=code), inplace=True)
            _write_checked(frame, variant, name)
