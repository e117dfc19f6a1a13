"""Acceptance of issue 2: the tree cadastre from a real municipal export to INSPIRE and OGC API."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from lxml import etree

from gdi.errors import SchemaValidationError
from gdi.inspire.gml import WFS
from gdi.samples.trees import INSPECTOR_CANARY
from gdi.xsd import schema_for, validate_file
from tests.conftest import SHARED, Published, Server, copy_tree, gdi, get_json, http_status

SD = "http://inspire.ec.europa.eu/schemas/sd/4.0"
SD_XSD = "https://inspire.ec.europa.eu/schemas/sd/4.0/SpeciesDistribution.xsd"
WFS_XSD = "http://schemas.opengis.net/wfs/2.0/wfs.xsd"


def _schema():  # type: ignore[no-untyped-def]
    return schema_for(SHARED / "inspire-schemas", [(SD, SD_XSD), (WFS, WFS_XSD)])


def test_run_report_balances_and_names_every_rejection(published: Published) -> None:
    r = published.report
    assert isinstance(r["read"], int) and r["read"] == 33_000
    assert r["read"] == r["published"] + r["rejected"]
    assert r["rejected"] > 0, "the sample carries bad records; none were rejected"
    assert r["rejected"] == len({x["record"] for x in r["rejections"]})
    for rej in r["rejections"]:
        assert rej["reason"] and rej["file"] == "baumkataster.shp"
        assert isinstance(rej["record"], int) and rej["field"]
    reasons = {x["reason"].split(" (")[0] for x in r["rejections"]}
    assert {"coordinates missing", "position outside the area of the dataset",
            "duplicate record"} <= reasons
    amended = {a["reason"] for a in r["amendments"]}
    assert "easting and northing swapped; swapped back" in amended
    gpkg = published.release() / "trees.gpkg"
    assert pyogrio.read_info(gpkg, layer="trees")["features"] == r["published"]


def test_inspire_gml_validates_offline_and_broken_copy_is_rejected(
        published: Published, tmp_path: Path) -> None:
    gml = published.release() / "trees.inspire.gml"
    schema = _schema()
    validate_file(gml, schema)
    doc = etree.parse(str(gml))
    members = doc.findall(f"{{{WFS}}}member")
    i = published.report["inspire"]
    # trees without a verified species id are left out (issue 10), counted in the report
    assert len(members) == i["members"] == published.report["published"] - i["excluded"]
    assert i["members"] > 0.7 * published.report["published"]
    first = members[0][0]
    first.remove(first.find(f"{{{SD}}}speciesName"))  # a mandatory property
    broken = tmp_path / "broken.gml"
    doc.write(str(broken))
    with pytest.raises(SchemaValidationError, match=r"speciesName|distributionInfo|Expected"):
        validate_file(broken, schema)


def _ids_and_begins(release: Path) -> dict[str, str]:
    con = sqlite3.connect(release / "trees.gpkg")
    try:
        return dict(con.execute("SELECT local_id, begin_lifespan FROM trees"))
    finally:
        con.close()


def test_second_run_keeps_ids_and_lifespans_and_versions_only_changes(
        published: Published, tmp_path: Path) -> None:
    data = copy_tree(published.data_dir, tmp_path / "data")
    first = _ids_and_begins((data / "publish/trees/current").resolve())
    gdi("run", "trees", "-q", data_dir=data)
    second = _ids_and_begins((data / "publish/trees/current").resolve())
    assert second == first
    # change one tree in the source: only that tree gets a new version
    shp = data / "sources/trees/baumkataster.shp"
    frame = pyogrio.read_dataframe(shp, encoding="cp1252")
    row = int(np.flatnonzero(frame["BAUMNR"].str.strip() == "10005")[0])
    frame.loc[row, "BAUMHOEHE"] = 33.3
    pyogrio.write_dataframe(frame, shp, encoding="cp1252")
    shp.with_suffix(".cpg").unlink(missing_ok=True)
    gdi("run", "trees", "-q", data_dir=data)
    third = _ids_and_begins((data / "publish/trees/current").resolve())
    assert third.keys() == first.keys()
    changed = {k for k in first if first[k] != third[k]}
    assert changed == {"10005"}


def test_internal_fields_never_reach_public_outputs(published: Published) -> None:
    release = published.release()
    for name in ("trees.gpkg", "trees.inspire.gml", "report.json", "rejects.csv"):
        assert INSPECTOR_CANARY.encode() not in (release / name).read_bytes(), name
    info = pyogrio.read_info(release / "trees.gpkg", layer="trees")
    assert "inspector" not in info["fields"]


def test_failed_run_keeps_last_good_publication(published: Published, tmp_path: Path) -> None:
    data = copy_tree(published.data_dir, tmp_path / "data")
    before = (data / "publish/trees/current").resolve()
    dbf = data / "sources/trees/baumkataster.dbf"
    dbf.write_bytes(dbf.read_bytes()[:40])  # a truncated export
    proc = gdi("run", "trees", "-q", data_dir=data, check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert (data / "publish/trees/current").resolve() == before
    releases = data / "publish/trees/releases"
    assert not [p for p in releases.iterdir() if p.name.endswith(".partial")]
    latest = json.loads((data / "reports/trees/latest.json").read_text(encoding="utf-8"))
    assert latest["status"] == "failed" and latest["error"]


def test_owslib_pages_through_all_trees(published: Published, server: Server) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server.ogcapi)
    ids: list[str] = []
    offset = 0
    while True:
        page = api.collection_items("trees", limit=5000, offset=offset)
        ids += [f["id"] for f in page["features"]]
        if page["numberReturned"] < 5000:
            break
        offset += 5000
    assert len(ids) == len(set(ids)) == published.report["published"]
    assert page["numberMatched"] == published.report["published"]


def test_gdal_oapif_reads_all_trees_and_crs_25832_equals_store(
        published: Published, server: Server) -> None:
    url = f"OAPIF:{server.ogcapi}"
    frame = pyogrio.read_dataframe(url, layer="trees", CRS="EPSG:25832")
    assert len(frame) == published.report["published"]
    store = pyogrio.read_dataframe(published.release() / "trees.gpkg", layer="trees")
    a = frame.set_index("local_id").geometry
    b = store.set_index("local_id").geometry.loc[a.index]
    assert np.allclose(a.x.to_numpy(), b.x.to_numpy(), atol=1e-6)
    assert np.allclose(a.y.to_numpy(), b.y.to_numpy(), atol=1e-6)


def test_bbox_returns_exactly_the_trees_inside(published: Published, server: Server) -> None:
    store = pyogrio.read_dataframe(published.release() / "trees.gpkg", layer="trees")
    minx, miny = 564500.0, 5776000.0
    maxx, maxy = minx + 500, miny + 500
    x, y = store.geometry.x, store.geometry.y
    expected = set(store.local_id[(x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)])
    assert expected, "pick a bbox with trees in it"
    doc = get_json(f"{server.ogcapi}/collections/trees/items?bbox={minx},{miny},{maxx},{maxy}"
                   f"&bbox-crs=EPSG:25832&limit=10000")
    assert {f["id"] for f in doc["features"]} == expected
    assert doc["numberMatched"] == len(expected)


def test_public_api_is_read_only_and_strict(server: Server) -> None:
    items = f"{server.ogcapi}/collections/trees/items"
    assert http_status(f"{items}?ooga=booga") == 400
    assert http_status(f"{items}?inspector=x") == 400
    assert http_status(f"{items}?filter=inspector%3D%27x%27") == 400
    assert http_status(items, method="POST") == 405
    assert http_status(items, method="DELETE") == 405
    assert http_status(items, headers={"Accept-Language": "*;q=0.0"}) == 406
    for url in (f"{server.ogcapi}/collections/trees/queryables", f"{server.ogcapi}/openapi",
                f"{items}?limit=100", f"{items}?f=html", f"{server.base}/"):
        with __import__("urllib.request").request.urlopen(url, timeout=30) as resp:
            body = resp.read()
        assert INSPECTOR_CANARY.encode() not in body and b"inspector" not in body, url


def test_ogc_api_features_core_conformance(server: Server) -> None:
    python = os.environ.get("GDI_OGCTESTS_PYTHON")
    if not python:
        pytest.skip("GDI_OGCTESTS_PYTHON not set (scripts/test.sh installs ogctests)")
    suite = subprocess.run(
        [python, "-c", "import ogctests, os; print(os.path.dirname(ogctests.__file__))"],
        capture_output=True, text=True, check=True).stdout.strip()
    proc = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{suite}/features/core"],
        capture_output=True, text=True, timeout=900, cwd=suite,
        env={**os.environ, "INSTANCE_URL": server.ogcapi})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_flensburg_export_is_published_by_a_descriptor_alone(tmp_path: Path) -> None:
    desc = Path(__file__).parent / "descriptors" / "flensburg_trees.yml"
    gdi("run", str(desc), "-q", "--report", str(tmp_path / "r.json"), data_dir=tmp_path)
    r = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert r["read"] == 18_697 == r["published"] + r["rejected"]
    assert any("DBF field types" in n for n in r["source"]["notes"])
    assert any("tree_number" in n for n in r["source"]["notes"])  # leading blanks trimmed
    assert r["species"]["no_species"] >= 559  # "Baumgruppe/flächiger Bestand" rows
    assert any("made unique by position" in a["reason"] for a in r["amendments"])
    # no verified reference id, no INSPIRE member; the verified ones are members (issue 10)
    assert r["inspire"]["excluded"] == r["published"] - r["inspire"]["members"]
    assert r["inspire"]["members"] > 0 and r["inspire"]["valid"] is True
    gpkg = (tmp_path / "publish/flensburg_trees/current/flensburg_trees.gpkg").resolve()
    first = pyogrio.read_dataframe(gpkg, layer="flensburg_trees", max_features=1)
    assert abs(first.geometry.x[0] - 530003.177) < 0.001
    assert abs(first.geometry.y[0] - 6072387.850) < 0.001


def test_a_new_release_is_served_without_restart(published: Published, server: Server) -> None:
    before = published.release()
    items = f"{server.ogcapi}/collections/trees/items?limit=1"
    assert get_json(items)["numberMatched"] == published.report["published"]
    gdi("run", "trees", "-q", data_dir=published.data_dir)
    after = published.release()
    assert after != before  # promoted: current points at the new release
    doc = get_json(items)
    assert doc["numberMatched"] == published.report["published"]
    assert doc["features"][0]["properties"]["begin_lifespan"]  # unchanged trees keep versions
    assert all(get_json(items + f"&offset={o}")["numberReturned"] == 1 for o in (0, 30000))
