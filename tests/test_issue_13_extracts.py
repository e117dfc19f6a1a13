"""Issue 13, part 1: open-data extracts in every common format, with a data dictionary,
checksums and versions, read back by each format's standard reader."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import urllib.request
import zipfile
from pathlib import Path

import frictionless
import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
import pytest

from gdi.samples.sites import CANARY
from tests.conftest import (
    Published,
    Server,
    copy_tree,
    gdi,
    http_status,
    patch_dbf_value,
    private_site_ids,
)

COLLECTIONS = {  # dataset -> its collections
    "trees": ["trees"], "playgrounds": ["playgrounds"],
    "playground_equipment": ["playground_equipment"],
    "contaminated_sites": ["contaminated_sites", "contaminated_sites_grid"]}
SUFFIXES = ("csv", "geojson", "gpkg", "shp.zip", "parquet", "fgb")


def _latest(data: Path, dataset: str) -> Path:
    return (data / "extracts" / dataset / "latest").resolve()


def _count(published: Published, collection: str) -> int:
    reports = published.reports
    if collection == "contaminated_sites":
        return int(reports["contaminated_sites"]["public"]["records"])
    if collection == "contaminated_sites_grid":
        return int(reports["contaminated_sites"]["public"]["aggregate_rows"])
    return int(reports[collection]["published"])


def _public_fields(published: Published, dataset: str, collection: str) -> list[str]:
    path = published.release(dataset) / f"{collection}.gpkg"
    return list(pyogrio.read_info(path)["fields"])


@pytest.mark.parametrize("dataset", sorted(COLLECTIONS))
def test_every_extract_opens_with_the_published_count_and_public_fields(
        published: Published, dataset: str, tmp_path: Path) -> None:
    folder = _latest(published.data_dir, dataset)
    assert folder.name == published.release(dataset).name  # the live release's version
    for coll in COLLECTIONS[dataset]:
        n, fields = _count(published, coll), _public_fields(published, dataset, coll)
        for suffix in ("geojson", "gpkg", "fgb"):  # pyogrio / GDAL
            path = folder / f"{coll}.{suffix}"
            info = pyogrio.read_info(path)
            assert info["features"] == n, path.name
            assert list(info["fields"]) == fields, path.name
            expected = "EPSG:4326" if suffix == "geojson" else "EPSG:25832"
            assert info["crs"] == expected, path.name
        with zipfile.ZipFile(folder / f"{coll}.shp.zip") as zf:
            names = sorted(zf.namelist())
            assert {Path(x).suffix for x in names} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
            zf.extractall(tmp_path / coll)
            assert zf.read(f"{coll}.cpg").strip() == b"UTF-8"
        shp = pyogrio.read_info(tmp_path / coll / f"{coll}.shp")
        assert shp["features"] == n and all(len(f) <= 10 for f in shp["fields"])
        package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
        schema = next(r["schema"] for r in package["resources"] if r["path"] == f"{coll}.csv")
        short = {f["name"]: f["shapefile_name"] for f in schema["fields"]
                 if "shapefile_name" in f}
        assert list(shp["fields"]) == [short[f] for f in fields]  # as documented
        frame = gpd.read_parquet(folder / f"{coll}.parquet")  # pyarrow + geopandas
        assert len(frame) == n and [c for c in frame.columns if c not in ("geometry", "bbox")
                                    ] == fields
        geo = json.loads(pq.read_schema(folder / f"{coll}.parquet").metadata[b"geo"])
        assert geo["version"] == "1.1.0" and geo["columns"]["geometry"]["covering"]
        with (folder / f"{coll}.csv").open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == n
        extra = ["longitude", "latitude"] if "longitude" in rows[0] else ["wkt"]
        assert list(rows[0]) == fields + extra
        if extra[0] == "longitude":
            assert all(9.7 < float(r["longitude"]) < 10.2 and 51.9 < float(r["latitude"]) < 52.4
                       for r in rows)


@pytest.mark.parametrize("dataset", sorted(COLLECTIONS))
def test_checksums_match_and_the_data_package_validates(published: Published,
                                                         dataset: str) -> None:
    folder = _latest(published.data_dir, dataset)
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    files = {r["path"] for r in package["resources"]}
    assert files == {f"{c}.{s}" for c in COLLECTIONS[dataset] for s in SUFFIXES}
    sums = dict(reversed(line.split("  ")) for line in
                (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines())
    for res in package["resources"]:
        data = (folder / res["path"]).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert res["hash"] == f"sha256:{digest}" == f"sha256:{sums[res['path']]}"
        assert res["bytes"] == len(data)
    assert package["licenses"][0]["path"] == "https://www.govdata.de/dl-de/by-2-0"
    assert "Stadt Hildesheim" in package["attribution"]
    for res in package["resources"]:
        if "schema" in res:  # German and English titles for every field
            assert all(f["title"] and f["title_en"] for f in res["schema"]["fields"])
    report = frictionless.validate(folder / "datapackage.json")
    errors = [(t.name, e.message) for t in report.tasks for e in t.errors]
    assert report.valid, errors[:5]


def test_no_confidential_value_or_private_site_in_any_extract(published: Published) -> None:
    private = private_site_ids(published)
    internal = {"owner", "owner_address", "parcel", "location", "case_officer", "notes"}
    folder = _latest(published.data_dir, "contaminated_sites")
    for path in folder.iterdir():
        data = path.read_bytes()
        assert CANARY.encode() not in data, path.name
        assert not [i for i in private if i.encode() in data], path.name
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    for res in package["resources"]:
        if "schema" in res:
            assert not internal & {f["name"] for f in res["schema"]["fields"]}
    changes = (folder / "changes.csv").read_text(encoding="utf-8")
    assert not [i for i in private if i in changes]


def test_versions_latest_changes_and_retention(published: Published,
                                                tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    data = copy_tree(published.data_dir, tmp_path_factory.mktemp("extracts") / "data")
    env = {"GDI_EXTRACTS_KEEP": "2"}
    first = _latest(data, "trees").name
    # one tree changes: a new version, exactly that tree in its change summary
    patch_dbf_value(data / "sources" / "trees" / "baumkataster.dbf", "BAUMHOEHE", 5, "23.5")
    gdi("run", "trees", "-q", data_dir=data, env=env)
    second = _latest(data, "trees")
    assert second.name != first and (second.parent / first).is_dir()
    package = json.loads((second / "datapackage.json").read_text(encoding="utf-8"))
    assert package["changes"] == {"added": 0, "changed": 1, "removed": 0, "first_version": 0}
    rows = list(csv.DictReader(io.StringIO((second / "changes.csv").read_text("utf-8"))))
    assert len(rows) == 1 and rows[0]["change"] == "changed"
    # a failed run: the extracts stay as they were
    dbf = data / "sources" / "trees" / "baumkataster.dbf"
    good = dbf.read_bytes()
    dbf.write_bytes(good[:-5000])
    assert gdi("run", "trees", "-q", data_dir=data, env=env, check=False).returncode == 2
    assert _latest(data, "trees") == second
    dbf.write_bytes(good)
    # a third version: only the last two stay
    gdi("run", "trees", "-q", data_dir=data, env=env)
    kept = sorted(p.name for p in (data / "extracts" / "trees" / "releases").iterdir()
                  if not p.name.startswith("."))
    assert len(kept) == 2 and first not in kept and second.name in kept
    # a dataset with withheld records keeps its live version only (with the grid aggregate)
    gdi("run", "contaminated_sites", "-q", data_dir=data, env=env)
    versions = [p for p in (data / "extracts" / "contaminated_sites" / "releases").iterdir()
                if not p.name.startswith(".")]
    assert versions == [_latest(data, "contaminated_sites")]
    assert len(list(versions[0].glob("contaminated_sites_grid.*"))) == 6


def test_a_removed_public_site_is_counted_not_named(published: Published,
                                                   tmp_path: Path) -> None:
    """An object leaving the public part of a dataset with withheld records may have become
    a withheld one: the change list counts it and does not name it."""
    import shutil
    import sqlite3

    from gdi.publish.extracts import _changes

    before = published.release("contaminated_sites") / "contaminated_sites.gpkg"
    after = tmp_path / "after.gpkg"
    shutil.copy(before, after)
    con = sqlite3.connect(after)
    gone = con.execute("SELECT local_id FROM contaminated_sites ORDER BY fid LIMIT 1"
                       ).fetchone()[0]
    con.execute("DELETE FROM contaminated_sites WHERE local_id = ?", (gone,))
    con.commit()
    con.close()
    counts = _changes(before, after, tmp_path / "withheld.csv", name_removed=False)
    assert counts["removed"] == 1
    assert gone not in (tmp_path / "withheld.csv").read_text(encoding="utf-8")
    _changes(before, after, tmp_path / "open.csv", name_removed=True)  # other datasets: named
    assert f"{gone},removed" in (tmp_path / "open.csv").read_text(encoding="utf-8")


def test_extracts_are_served_with_length_etag_range_and_compression(server: Server) -> None:
    url = f"{server.base}/extracts/trees/latest/trees.csv"
    req = urllib.request.Request(url, method="HEAD")
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/csv")
        assert int(resp.headers["Content-Length"]) > 0
        assert resp.headers["ETag"] and resp.headers["Last-Modified"]
        assert resp.headers["Accept-Ranges"] == "bytes"
    req = urllib.request.Request(url, headers={"Range": "bytes=0-9"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 206 and resp.read() == b"local_id,t"
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
    version = _latest(server.data_dir, "trees").name
    assert http_status(f"{server.base}/extracts/trees/releases/{version}/trees.fgb") == 200
    for hidden in ("/extracts/trees/.lock", "/extracts/trees/", "/extracts/"):
        assert http_status(f"{server.base}{hidden}") in (403, 404), hidden
    assert http_status(url, method="POST") in (403, 405)


def test_dataset_pages_show_downloads_dictionary_and_attribution(published: Published,
                                                                 server: Server) -> None:
    from lxml import html

    private = private_site_ids(published)
    for dataset, colls in COLLECTIONS.items():
        package = json.loads((_latest(published.data_dir, dataset) / "datapackage.json"
                              ).read_text(encoding="utf-8"))
        for coll in colls:
            url = f"{server.base}/static/daten/{coll}.html"
            body = urllib.request.urlopen(url, timeout=30).read()
            assert CANARY.encode() not in body and not [i for i in private if i.encode() in body]
            doc = html.fromstring(body)
            text = doc.text_content()
            assert ("Stadt Hildesheim, Datenlizenz Deutschland – Namensnennung – Version 2.0 "
                    "(https://www.govdata.de/dl-de/by-2-0)") in text
            rows = {r.xpath("string(th/a/@href)").rsplit("/", 1)[1]: r.xpath("string(td[2])")
                    for r in doc.xpath("//h2[@id='downloads']/following::table[1]/tbody/tr")}
            for res in package["resources"]:
                if res["path"].startswith(f"{coll}."):
                    assert rows[res["path"]] == res["hash"].split(":", 1)[1], res["path"]
                    assert http_status(f"{server.base}/extracts/{dataset}/latest/"
                                       f"{res['path']}", method="HEAD") == 200
            schema = next(r["schema"] for r in package["resources"]
                          if r["path"] == f"{coll}.csv")
            names = doc.xpath("//h2[@id='datenbeschreibung']/following::table[1]/tbody/tr/th")
            assert [n.text_content() for n in names] == [f["name"] for f in schema["fields"]]
