"""Every source format goes through the one I/O adapter and yields the same records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import shapely

from gdi.descriptor import CsvSpec, SourceSpec
from gdi.vio import RawTable, read_source
from tests.conftest import Published


def _sample(published: Published) -> tuple[Path, RawTable]:
    shp = published.data_dir / "sources" / "trees" / "baumkataster.shp"
    return shp, read_source(SourceSpec(path=shp, format="shapefile", crs="EPSG:31467"))


def test_shapefile_without_cpg_is_detected_as_cp1252(published: Published) -> None:
    _, table = _sample(published)
    assert table.encoding == "cp1252" and table.encoding_origin == "detected"
    streets = set(table.attributes["STRASSE"].dropna())
    assert "Almsstraße" in streets and "Goslarsche Straße" in streets


def test_geojson_geopackage_and_excel_csv_read_the_same(published: Published,
                                                        tmp_path: Path) -> None:
    shp = published.data_dir / "sources" / "trees" / "baumkataster.shp"
    frame = pyogrio.read_dataframe(shp, encoding="cp1252", max_features=500)
    frame = frame[frame.geometry.notna()].reset_index(drop=True)
    frame.to_file(tmp_path / "t.geojson", driver="GeoJSON")
    frame.to_file(tmp_path / "t.gpkg", driver="GPKG", layer="baeume")
    # the department's Excel CSV: semicolon, decimal comma, UTF-8 with BOM, northing first
    csv = frame.drop(columns="geometry").copy()
    csv.insert(0, "HOCHWERT", [f"{y:.3f}".replace(".", ",") for y in frame.geometry.y])
    csv.insert(1, "RECHTSWERT", [f"{x:.3f}".replace(".", ",") for x in frame.geometry.x])
    csv["KRONENDM"] = csv["KRONENDM"].map(lambda v: f"{v}".replace(".", ","))
    csv.to_csv(tmp_path / "t.csv", sep=";", index=False, encoding="utf-8-sig")
    specs = [
        SourceSpec(path=tmp_path / "t.geojson", format="geojson", crs="EPSG:31467"),
        SourceSpec(path=tmp_path / "t.gpkg", format="gpkg", layer="baeume", crs="EPSG:31467"),
        SourceSpec(path=tmp_path / "t.csv", format="csv", crs="EPSG:31467",
                   csv=CsvSpec(delimiter="auto", decimal=",", x="RECHTSWERT", y="HOCHWERT")),
    ]
    for spec in specs:
        got = read_source(spec)
        assert len(got) == len(frame), spec.format
        species = got.attributes["BAUMART"].fillna("").tolist()
        assert species == frame["BAUMART"].fillna("").tolist(), spec.format
        x = shapely.get_x(got.geometry.astype(object))
        assert np.allclose(x, frame.geometry.x.to_numpy(), atol=0.001), spec.format
    csv_table = read_source(specs[2])
    assert csv_table.encoding_origin == "BOM"
    assert set(csv_table.attributes["KRONENDM"].head(20)) <= {
        f"{v}".replace(".", ",") for v in frame["KRONENDM"]}
