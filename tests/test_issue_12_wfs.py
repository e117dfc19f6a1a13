"""Issue 12: the WFS 2.0 as INSPIRE direct-access download service, and OGC API Features as
INSPIRE download service (good practice), with real clients: OWSLib, GDAL, QGIS."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pyogrio
import pytest
from lxml import etree

from gdi.samples.sites import CANARY
from gdi.xsd import schema_for
from tests.conftest import (
    SHARED,
    Published,
    Server,
    get_json,
    http_body,
    http_status,
    private_site_ids,
)
from tests.test_issue_11_csw import GMD, _ids

WFS = "http://www.opengis.net/wfs/2.0"
DLS = "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0"
COMMON = "http://inspire.ec.europa.eu/schemas/common/1.0"
NS = {"wfs": WFS, "dls": DLS, "common": COMMON, "gmd": GMD,
      "ows": "http://www.opengis.net/ows/1.1", "gml": "http://www.opengis.net/gml/3.2"}
TYPES = {"trees": "trees", "playgrounds": "LU.ExistingLandUse",
         "playground_equipment": "playground_equipment",
         "contaminated_sites": "AM.RestrictedZonesAroundContaminatedSites",
         "buildings": "BU.Building"}


def _wfs(server: Server, **params: str) -> bytes:
    query = {"SERVICE": "WFS", "VERSION": "2.0.0", **params}
    return http_body(f"{server.base}/wfs?" + urllib.parse.urlencode(query))


def _counts(published: Published) -> dict[str, int]:
    out = {k: int(published.reports[k]["published"]) for k in TYPES}
    out["contaminated_sites"] = published.reports["contaminated_sites"]["public"]["records"]
    return out


def test_wfs_capabilities_validate_offline_with_inspire_extended_capabilities(
        server: Server) -> None:
    caps = etree.fromstring(_wfs(server, REQUEST="GetCapabilities"))
    schema = schema_for(SHARED / "inspire-schemas", [
        (WFS, "http://schemas.opengis.net/wfs/2.0/wfs.xsd"),
        (DLS, "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0/inspire_dls.xsd")])
    assert schema.validate(caps), schema.error_log
    ext = caps.find(".//dls:ExtendedCapabilities", NS)
    assert ext is not None
    # scenario 1: the WFS's own record in the catalogue
    url = ext.findtext("common:MetadataUrl/common:URL", None, NS)
    assert f"ID={_ids(server.data_dir)['service:wfs']}" in url
    md = etree.fromstring(http_body(url)).find(f"{{{GMD}}}MD_Metadata")
    assert md.xpath(".//*[local-name()='serviceType']/*/text()") == ["download"]
    langs = ext.xpath("common:SupportedLanguages//common:Language/text()", namespaces=NS)
    assert langs == ["ger", "eng"]
    ids = {(i.findtext("common:Code", None, NS), i.findtext("common:Namespace", None, NS))
           for i in ext.findall("dls:SpatialDataSetIdentifier", NS)}
    # the same identifiers as the datasets' records and the Atom feeds
    records = {k.split(":", 1)[1] for k in _ids(server.data_dir) if k.startswith("dataset:")}
    assert {c.rsplit("/", 1)[1] for c, _ in ids} == records - {"contaminated_sites_grid"}
    assert all(c.startswith(ns + "/") for c, ns in ids)
    names = caps.xpath("//wfs:FeatureType/wfs:Name/text()", namespaces=NS)
    assert {n.split(":")[-1] for n in names} == set(TYPES.values())  # no drawing aids
    queries = etree.fromstring(_wfs(server, REQUEST="ListStoredQueries"))
    assert queries.xpath("//wfs:StoredQuery/@id", namespaces=NS) == [
        "urn:ogc:def:query:OGC-WFS::GetFeatureById"]
    formats = caps.xpath("//wfs:FeatureType[1]/wfs:OutputFormats/wfs:Format/text()",
                         namespaces=NS)
    assert "application/gml+xml; version=3.2" in formats and "application/geo+json" in formats


def test_owslib_lists_the_feature_types_and_pages_with_startindex(server: Server,
                                                                  published: Published
                                                                  ) -> None:
    from owslib.wfs import WebFeatureService

    wfs = WebFeatureService(f"{server.base}/wfs", version="2.0.0", timeout=60)
    assert {n.split(":")[-1] for n in wfs.contents} == set(TYPES.values())
    seen: list[str] = []
    for start in (0, 100, 200):
        resp = wfs.getfeature(typename=["ms:trees"], maxfeatures=100, startindex=start)
        doc = etree.fromstring(resp.read())
        assert doc.get("numberMatched") == str(published.reports["trees"]["published"])
        assert doc.get("numberReturned") == "100"
        seen += doc.xpath("//wfs:member/*/@gml:id", namespaces=NS)
    assert len(seen) == len(set(seen)) == 300


def test_gdal_wfs_driver_reads_every_dataset_with_the_published_count(
        server: Server, published: Published) -> None:
    pyogrio.set_gdal_config_options({"OGR_WFS_PAGING_ALLOWED": "ON",
                                     "OGR_WFS_PAGE_SIZE": "5000"})
    try:
        for key, name in TYPES.items():
            frame = pyogrio.read_dataframe(
                f"WFS:{server.base}/wfs?SERVICE=WFS&VERSION=2.0.0", layer=f"ms:{name}",
                columns=["local_id"])
            assert len(frame) == _counts(published)[key], key
            assert frame["local_id"].is_unique
    finally:
        pyogrio.set_gdal_config_options({"OGR_WFS_PAGING_ALLOWED": None,
                                         "OGR_WFS_PAGE_SIZE": None})


def test_get_feature_by_id_and_geojson(server: Server) -> None:
    first = get_json(f"{server.ogcapi}/collections/trees/items?limit=1&f=json")
    local_id = first["features"][0]["id"]
    one = etree.fromstring(_wfs(server, REQUEST="GetFeature",
                                STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById",
                                ID=f"trees.{local_id}"))
    assert one.get(f"{{{NS['gml']}}}id") == f"trees.{local_id}"
    assert one.findtext("{http://mapserver.gis.umn.edu/mapserver}local_id") == str(local_id)
    missing = _wfs(server, REQUEST="GetFeature",
                   STOREDQUERY_ID="urn:ogc:def:query:OGC-WFS::GetFeatureById", ID="trees.x0")
    assert b"ExceptionReport" in missing or b"numberReturned=\"0\"" in missing
    doc = json.loads(_wfs(server, REQUEST="GetFeature", TYPENAMES="ms:LU.ExistingLandUse",
                          COUNT="5", OUTPUTFORMAT="application/geo+json"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 5


def test_wfs_refuses_what_it_does_not_serve(server: Server) -> None:
    assert http_status(f"{server.base}/wfs?SERVICE=WMS&REQUEST=GetCapabilities") == 400
    assert http_status(f"{server.base}/wfs?SERVICE=WFS&REQUEST=GetCapabilities",
                       method="POST") in (403, 405)
    body = _wfs(server, REQUEST="GetFeature", TYPENAMES="ms:trees_overview", COUNT="1")
    assert b"ExceptionReport" in body


def test_no_confidential_value_or_private_site_through_the_wfs(published: Published,
                                                               server: Server) -> None:
    private = private_site_ids(published)
    name = f"ms:{TYPES['contaminated_sites']}"
    bodies = [_wfs(server, REQUEST="GetFeature", TYPENAMES=name),
              _wfs(server, REQUEST="GetFeature", TYPENAMES=name,
                   OUTPUTFORMAT="application/geo+json"),
              _wfs(server, REQUEST="DescribeFeatureType", TYPENAMES=name),
              _wfs(server, REQUEST="GetCapabilities")]
    # a confidential field is unknown to the WFS (the error only echoes the name asked for)
    asked = _wfs(server, REQUEST="GetFeature", TYPENAMES=name, PROPERTYNAME="owner")
    assert b"ExceptionReport" in asked and b"Invalid PROPERTYNAME" in asked
    assert b"numberMatched=\"%d\"" % published.reports["contaminated_sites"]["public"][
        "records"] in bodies[0]
    for body in bodies:
        assert CANARY.encode() not in body
        assert not [i for i in private if i.encode() in body]
        assert b"owner" not in body and b"case_officer" not in body


# --- OGC API Features as INSPIRE download service (good practice) ----------------------

GP = "http://inspire.ec.europa.eu/id/spec/oapif-download/1.0/req/"


def test_ogcapi_good_practice_links_on_collections_and_every_collection(
        server: Server) -> None:
    top = get_json(f"{server.ogcapi}/collections?f=json")
    rels = {(link["rel"], link["type"]) for link in top["links"]}
    assert {("describedby", "application/xml"), ("license", "text/html")} <= rels
    for link in top["links"]:
        if link["rel"] == "describedby" and link["type"] == "application/xml":
            assert etree.fromstring(http_body(link["href"])).find(
                f"{{{GMD}}}MD_Metadata") is not None
    for coll in top["collections"]:
        links = get_json(f"{server.ogcapi}/collections/{coll['id']}?f=json")["links"]
        enclosures = [link for link in links if link["rel"] == "enclosure"]
        assert enclosures, coll["id"]
        crs = set()
        for link in enclosures:
            assert link["type"] in {"application/gml+xml", "application/geopackage+sqlite3"}
            assert link["hreflang"] == "de" and link["title"]
            with urllib.request.urlopen(urllib.request.Request(link["href"], method="HEAD"),
                                        timeout=30) as resp:
                assert int(resp.headers["Content-Length"]) == link["length"] > 0
            crs.add(".4258." in link["href"])
        assert crs == {True, False}  # ETRS89/UTM32 and ETRS89 geographic
        assert any(link["rel"] == "describedby" and link["type"] == "application/xml"
                   for link in links)
        # the licence is an outside page (GovData): named, not fetched (no network in CI)
        assert next(link["href"] for link in links if link["rel"] == "license") == (
            "https://www.govdata.de/dl-de/by-2-0")
        if coll["id"] == "trees":
            tag = next(link for link in links if link["rel"] == "tag")
            assert tag["href"].endswith("/featureconcept/SpeciesDistributionUnit")


def test_ogcapi_declares_the_good_practice_classes_and_speaks_languages(server: Server) -> None:
    conforms = set(get_json(f"{server.ogcapi}/conformance?f=json")["conformsTo"])
    assert {GP + c for c in ("pre-defined", "multilinguality", "bulk-download",
                             "inspire-crs")} <= conforms
    assert GP + "geojson" not in conforms  # the features are not an INSPIRE encoding
    for lang, expected in (("de", "de"), ("en", "en")):
        req = urllib.request.Request(f"{server.ogcapi}/?f=json",
                                     headers={"Accept-Language": lang})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.headers["Content-Language"].lower().startswith(expected)
    assert http_status(f"{server.ogcapi}/", headers={"Accept-Language": "*;q=0.0"}) == 406
    crs = get_json(f"{server.ogcapi}/collections/trees?f=json")["crs"]
    assert {"http://www.opengis.net/def/crs/EPSG/0/25832",
            "http://www.opengis.net/def/crs/EPSG/0/4258"} <= set(crs)


def test_landing_page_lists_the_download_services(server: Server) -> None:
    page = http_body(f"{server.base}/").decode()
    assert "/atom/service.xml" in page and "/wfs?SERVICE=WFS" in page
    assert http_status(f"{server.base}/atom/trees.xml") == 200


def _qgis_python() -> str | None:
    probe = subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"],
                           capture_output=True, check=False)
    return "/usr/bin/python3" if probe.returncode == 0 else None


@pytest.mark.qgis
def test_qgis_loads_datasets_through_the_wfs_with_the_published_count(
        server: Server, published: Published, tmp_path: Path) -> None:
    python = _qgis_python()
    if python is None:
        pytest.skip("QGIS (Debian qgis, python3-qgis) is not installed here")
    names = ["playground_equipment", "LU.ExistingLandUse",
             "AM.RestrictedZonesAroundContaminatedSites"]
    proc = subprocess.run(
        [python, str(Path(__file__).parent / "clients" / "qgis_wfs_client.py"), server.base,
         *[f"ms:{n}" for n in names]], capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    counts = json.loads(lines[-1])["counts"]
    expected = _counts(published)
    assert counts == {"ms:playground_equipment": expected["playground_equipment"],
                      "ms:LU.ExistingLandUse": expected["playgrounds"],
                      "ms:AM.RestrictedZonesAroundContaminatedSites":
                          expected["contaminated_sites"]}
