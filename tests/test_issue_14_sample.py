"""Issue 14: the synthetic city for the 3D building pipeline (a small town, generated twice)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.features import rasterize

from gdi.samples import buildings

COUNT, AREA_KM2 = 1500, 4
TILE = re.compile(r"(dgm1|dom1)_32_(\d{3})_(\d{4})_1_ni\.tif")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return buildings.generate(tmp_path_factory.mktemp("city"), count=COUNT, area_km2=AREA_KM2)


def _footprints(folder: Path) -> pd.DataFrame:
    return pyogrio.read_dataframe(folder / "alkis_gebaeude.gpkg", layer="gebaeude")


def _truth(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "truth.csv", keep_default_na=False, na_values=[])


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1)


def test_files_records_and_canary(city: Path) -> None:
    assert city.name == "buildings"
    for name in ("alkis_gebaeude.gpkg", "truth.csv", "README.txt"):
        assert (city / name).is_file(), name
    assert pyogrio.list_layers(city / "alkis_gebaeude.gpkg")[:, 0].tolist() == ["gebaeude"]
    gdf, truth = _footprints(city), _truth(city)
    assert len(gdf) == len(truth) == COUNT
    assert gdf.crs.to_epsg() == 25832
    assert list(gdf.columns) == ["oid", "gfk", "dachform", "aog", "aug", "name",
                                 "grundrissaktualitaet", "buchungsblatt", "geometry"]
    assert gdf.oid.str.fullmatch(r"DENI03AL[0-9A-Za-z]{8}").all()
    assert (gdf.oid == truth.oid).all()
    assert gdf.buchungsblatt.str.contains(buildings.CANARY, regex=False).all()
    assert gdf.grundrissaktualitaet.str.fullmatch(r"20(0[5-9]|1\d|2[0-5])-\d\d-\d\d").all()
    assert gdf.gfk.dropna().str.fullmatch(r"31001_\d{4}").all()
    assert set(gdf.dachform.dropna().astype(int)) <= {1000, 2100, 3100, 3200}
    known = gdf.dachform.notna().to_numpy()
    assert (gdf.dachform[known].astype(int) == truth.roof_form[known]).all()
    assert 0.05 < 1 - known.mean() < 0.15
    counts = truth.defect[truth.defect != ""].value_counts().to_dict()
    assert counts == {name: n for name, (n, _) in buildings.DEFECTS.items()}
    readme = (city / "README.txt").read_text(encoding="utf-8")
    assert all(name in readme for name in buildings.DEFECTS)


def test_footprints_and_defects(city: Path) -> None:
    gdf, truth = _footprints(city), _truth(city)
    geom = gdf.geometry.to_numpy()
    defect = truth.defect.to_numpy()
    plain = geom[defect == ""]
    assert shapely.is_valid(plain).all()
    pairs = shapely.STRtree(plain).query(plain, predicate="intersects")
    assert (pairs[0] == pairs[1]).all()  # non-overlapping
    assert not shapely.is_valid(geom[defect == "bowtie"]).any()
    assert shapely.is_valid(shapely.make_valid(geom[defect == "bowtie"])).all()
    assert geom[defect == "empty_geometry"][0] is None
    assert shapely.area(geom[defect == "sliver"])[0] == pytest.approx(0.25)
    assert gdf.gfk[defect == "no_function"].isna().all() and gdf.gfk[defect == ""].notna().all()
    dup = gdf.oid[defect == "duplicate_oid"]
    assert dup.nunique() == 2 and gdf.oid.duplicated().sum() == 2
    tiles = [m for p in (city / "dgm1").iterdir() if (m := TILE.fullmatch(p.name))]
    coverage = shapely.union_all([shapely.box(int(m[2]) * 1000, int(m[3]) * 1000,
                                              int(m[2]) * 1000 + 1000, int(m[3]) * 1000 + 1000)
                                  for m in tiles])
    assert not shapely.intersects(coverage, geom[defect == "no_raster"]).any()
    partial = geom[defect == "partial_raster"][0]
    share = shapely.area(shapely.intersection(partial, coverage)) / partial.area
    assert share == pytest.approx(0.5)
    assert shapely.within(plain, coverage).all()


def test_tiles(city: Path) -> None:
    names = sorted(p.name for p in (city / "dom1").iterdir())
    assert len(names) == AREA_KM2
    assert sorted(p.name for p in (city / "dgm1").iterdir()) == [
        n.replace("dom1", "dgm1") for n in names]
    holes = 0
    for name in names:
        m = TILE.fullmatch(name)
        assert m is not None
        e, n = int(m[2]), int(m[3])
        for sub in ("dgm1", "dom1"):
            with rasterio.open(city / sub / name.replace("dom1", sub)) as ds:
                assert ds.crs.to_epsg() == 25832 and ds.nodata == -9999
                assert (ds.width, ds.height, ds.dtypes) == (1000, 1000, ("float32",))
                assert ds.transform == rasterio.Affine(1, 0, e * 1000, 0, -1, (n + 1) * 1000)
                assert ds.block_shapes == [(256, 256)]
                assert ds.tags(ns="IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
                assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        dgm = _read(city / "dgm1" / name.replace("dom1", "dgm1"))
        dom = _read(city / "dom1" / name)
        assert (dgm != -9999).all() and dgm.min() > 70 and dgm.max() < 125
        valid = dom != -9999
        holes += int((~valid).sum())
        assert (dom[valid] >= dgm[valid] - 0.5).all()
        assert dom.max() - dgm.max() > 8  # roofs and trees are there
    assert holes > 100  # the dom_nodata holes


def test_truth_matches_rasters(city: Path) -> None:
    gdf, truth = _footprints(city), _truth(city)
    assert (truth.ground_p05 < truth.eave).all()
    assert ((truth.eave <= truth.h_p70) & (truth.h_p70 <= truth.ridge)).all()
    assert (truth.h_max == truth.ridge).all()
    assert ((truth.roof_form == 1000) == (truth.eave == truth.ridge)).all()
    path = sorted((city / "dom1").iterdir())[0]
    m = TILE.fullmatch(path.name)
    assert m is not None
    with rasterio.open(path) as ds:
        dom, transform = ds.read(1), ds.transform
    dgm = _read(city / "dgm1" / path.name.replace("dom1", "dgm1"))
    flat = np.flatnonzero((truth.defect == "").to_numpy() & (truth.roof_form == 1000).to_numpy()
                          & (gdf.area > 30).to_numpy())
    labels = rasterize(zip(gdf.geometry.iloc[flat], flat + 1, strict=True), out_shape=dom.shape,
                       transform=transform, fill=0, dtype="int32")
    hit = np.unique(labels[labels > 0])
    assert hit.size > 20
    err = np.array([np.median(dom[labels == k]) - truth.eave.iloc[k - 1] for k in hit])
    assert (np.abs(err) < 0.2).mean() > 0.9  # flat roofs where they should be (some trees)
    ground = np.array([np.percentile(dgm[labels == k], 5) - truth.ground_p05.iloc[k - 1]
                       for k in hit])
    assert (np.abs(ground) < 0.3).all()


def test_deterministic(city: Path, tmp_path: Path) -> None:
    again = buildings.generate(tmp_path, count=COUNT, area_km2=AREA_KM2)
    first, second = _footprints(city), _footprints(again)
    pd.testing.assert_frame_equal(first.drop(columns="geometry"),
                                  second.drop(columns="geometry"))
    assert (shapely.to_wkb(first.geometry.to_numpy())
            == shapely.to_wkb(second.geometry.to_numpy())).all()
    pd.testing.assert_frame_equal(_truth(city), _truth(again))
    for sub in ("dgm1", "dom1"):
        for path in (city / sub).iterdir():
            assert np.array_equal(_read(path), _read(again / sub / path.name))
