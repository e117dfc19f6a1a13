"""Issue 10, ``gdi check`` as a dry run on the real source: what the file says of itself and
what a run would reject or leave out, with nothing published."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT, Published, gdi, playground_points


def test_check_tries_the_source_without_publishing(published: Published, tmp_path: Path
                                                   ) -> None:
    data = tmp_path / "data"
    shutil.copytree(published.data_dir / "sources", data / "sources")
    proc = gdi("check", "trees", "--sample", "2000", data_dir=data)
    out = proc.stdout
    assert "baumkataster.shp: 33,000 records; encoding cp1252" in out
    assert "columns: BAUMNR, BAUMART" in out and "geometry: Point" in out
    assert "CRS: declared EPSG:31467, the file says EPSG:31467" in out
    assert "first 2,000 records:" in out and "would be published" in out
    assert "left out" in out and "referenceSpeciesId" in out
    assert not (data / "publish").exists() and not (data / "reports").exists()


def test_points_for_land_use_objects_name_the_fitting_feature_type(published: Published,
                                                                   tmp_path: Path) -> None:
    target = playground_points(published, tmp_path, "points")
    folder = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", folder)
    desc = folder / "playgrounds.yml"
    desc.write_text(desc.read_text(encoding="utf-8").replace(
        "${GDI_SOURCES_DIR}/playgrounds/spielplaetze.geojson", str(target)), encoding="utf-8")
    proc = gdi("check", str(desc), data_dir=tmp_path / "data", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "the file holds points" in proc.stderr and "ExistingLandUseSample" in proc.stderr
    assert "selu/4.0" in proc.stderr
