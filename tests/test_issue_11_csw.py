"""Issue 11: the Discovery Service as GDI-NI's harvester (GeoNetwork) and the planning office
use it: pycsw 2.6.2 at /csw behind the front, talked to with OWSLib and plain HTTP.

The harvest pages GetRecords (gmd:MD_Metadata, summary, gmd output, maxRecords=20) by GET and
by POST with an ogc:Filter until nextRecord is 0, reads fileIdentifier and dateStamp of every
summary and fetches each full record with GetRecordById: exactly GeoNetwork's CSW harvester.
"""

from __future__ import annotations

import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsEqualTo, PropertyIsLike
from owslib.wms import WebMapService

from gdi.metadata.iso import NS, SCHEMA_IMPORTS
from gdi.samples.sites import CANARY
from gdi.xsd import schema_for, validate_tree
from tests.conftest import (
    ROOT,
    SHARED,
    Published,
    Server,
    copy_tree,
    free_port,
    gdi,
    http_body,
    http_status,
    patch_dbf_value,
    private_site_ids,
    serve,
)

GMD = "http://www.isotc211.org/2005/gmd"
CSW = "http://www.opengis.net/cat/csw/2.0.2"
OWS = "http://www.opengis.net/ows"
INSPIRE_DS = "http://inspire.ec.europa.eu/schemas/inspire_ds/1.0"
WMS = "http://www.opengis.net/wms"
XLINK = "http://www.w3.org/1999/xlink"


def _get(url: str, **params: str) -> etree._Element:
    query = urllib.parse.urlencode({"SERVICE": "CSW", "VERSION": "2.0.2", **params})
    return etree.fromstring(http_body(f"{url}?{query}"))


def harvest(base: str, *, post: bool = False) -> dict[str, tuple[str, bytes]]:
    """fileIdentifier -> (dateStamp, full record) as GeoNetwork harvests: summaries paged by
    20 until nextRecord is 0, then GetRecordById for each."""
    url = f"{base}/csw"
    stamps: dict[str, str] = {}
    start = 1
    csw = CatalogueServiceWeb(url, version="2.0.2") if post else None
    for _ in range(100):
        if csw is not None:  # POST with an ogc:Filter, as GeoNetwork sends it
            csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%")],
                            typenames="gmd:MD_Metadata", esn="summary", outputschema=GMD,
                            startposition=start, maxrecords=20, resulttype="results")
            result = etree.fromstring(csw.response)
        else:
            result = _get(url, REQUEST="GetRecords", typeNames="gmd:MD_Metadata",
                          ElementSetName="summary", outputSchema=GMD, resultType="results",
                          maxRecords="20", startPosition=str(start))
        results = result.find(f"{{{CSW}}}SearchResults")
        assert results is not None, etree.tostring(result)[:500]
        for md in results.findall(f"{{{GMD}}}MD_Metadata"):
            ident = md.xpath("gmd:fileIdentifier/gco:CharacterString/text()", namespaces=NS)
            stamp = md.xpath("gmd:dateStamp/*/text()", namespaces=NS)
            assert ident and stamp, "a summary without fileIdentifier or dateStamp"
            stamps[ident[0]] = stamp[0]
        nxt = int(results.get("nextRecord", "0"))
        if nxt == 0:
            break
        assert int(results.get("numberOfRecordsReturned", "0")) > 0 and nxt > start
        start = nxt
    out = {}
    for ident, stamp in stamps.items():
        doc = _get(url, REQUEST="GetRecordById", ID=ident, outputSchema=GMD,
                   ElementSetName="full")
        md = doc.find(f"{{{GMD}}}MD_Metadata")
        assert md is not None, ident
        out[ident] = (stamp, etree.tostring(md))
    return out


def _ids(data: Path) -> dict[str, str]:
    import json

    state = json.loads((data / "catalogue" / "current" / "state.json").read_text("utf-8"))
    return {k: v["file_identifier"] for k, v in state["records"].items()}


def test_capabilities_as_geonetwork_needs_them(server: Server) -> None:
    caps = _get(f"{server.base}/csw", REQUEST="GetCapabilities")
    ops = caps.xpath("//ows:Operation/@name", namespaces={"ows": OWS})
    assert {"GetRecords", "GetRecordById"} <= set(ops)
    assert "Transaction" not in ops and "Harvest" not in ops  # read-only
    schemas = caps.xpath("//ows:Operation[@name='GetRecords']/ows:Parameter"
                         "[@name='outputSchema']/ows:Value/text()", namespaces={"ows": OWS})
    assert GMD in schemas
    schema = schema_for(SHARED / "inspire-schemas", [
        (CSW, "http://schemas.opengis.net/csw/2.0.2/CSW-discovery.xsd"),
        (INSPIRE_DS, "http://inspire.ec.europa.eu/schemas/inspire_ds/1.0/inspire_ds.xsd")])
    validate_tree(caps, schema, name="CSW capabilities")
    ext = caps.find(f".//{{{INSPIRE_DS}}}ExtendedCapabilities")
    assert ext is not None
    common = "{http://inspire.ec.europa.eu/schemas/common/1.0}"
    url = ext.findtext(f"{common}MetadataUrl/{common}URL")
    assert [e.text for e in ext.iter(f"{common}Language")] == ["ger", "eng", "ger"]
    service = etree.fromstring(http_body(url)).find(f"{{{GMD}}}MD_Metadata")
    assert service is not None
    assert service.xpath(".//srv:serviceType/gco:LocalName/text()", namespaces=NS) == [
        "discovery"]


def test_harvest_by_get_and_post_sees_every_record(server: Server) -> None:
    by_get = harvest(server.base)
    by_post = harvest(server.base, post=True)
    assert by_get == by_post
    assert set(by_get) == set(_ids(server.data_dir).values())
    schema = schema_for(SHARED / "inspire-schemas", SCHEMA_IMPORTS)
    for ident, (stamp, xml) in by_get.items():
        md = etree.fromstring(xml)
        validate_tree(md, schema, name=ident)
        assert md.xpath("gmd:dateStamp/*/text()", namespaces=NS) == [stamp]


def test_searches_gdi_ni_and_govdata_use(server: Server) -> None:
    ids = _ids(server.data_dir)
    csw = CatalogueServiceWeb(f"{server.base}/csw", version="2.0.2")

    def found(*constraints: object) -> set[str]:
        csw.getrecords2(constraints=list(constraints), typenames="gmd:MD_Metadata",
                        esn="summary", outputschema=GMD, maxrecords=50)
        return set(csw.records)

    datasets = {v for k, v in ids.items() if k.startswith("dataset:")}
    services = {v for k, v in ids.items() if k.startswith("service:")}
    assert found(PropertyIsLike("csw:AnyText", "%opendata%")) == datasets
    assert found(PropertyIsEqualTo("apiso:Type", "service")) == services
    hildesheim = found(BBox([52.10, 9.85, 52.20, 10.05], crs="urn:ogc:def:crs:EPSG::4326"))
    assert datasets <= hildesheim
    assert found(BBox([48.0, 11.4, 48.3, 11.7], crs="urn:ogc:def:crs:EPSG::4326")) == set()
    assert found(PropertyIsLike("csw:AnyText", "%Spielplätze%")) >= {
        ids["dataset:playgrounds"]}
    assert found(PropertyIsLike("apiso:Subject", "%Baumkataster%")) == {ids["dataset:trees"]}


def test_wms_and_ogcapi_point_at_the_records(server: Server) -> None:
    ids = _ids(server.data_dir)
    caps = etree.fromstring(http_body(
        f"{server.base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities"))
    urls = caps.xpath("//wms:MetadataURL/wms:OnlineResource/@xlink:href",
                      namespaces={"wms": WMS, "xlink": XLINK})
    vs = caps.xpath("//*[local-name()='MetadataUrl']/*[local-name()='URL']/text()")
    assert len(urls) >= 4 and len(vs) == 1
    for url in [*urls, *vs]:
        md = etree.fromstring(http_body(url)).find(f"{{{GMD}}}MD_Metadata")
        assert md is not None, url
        ident = md.xpath("gmd:fileIdentifier/*/text()", namespaces=NS)[0]
        assert f"ID={ident}" in url and ident in ids.values()
    assert f"ID={ids['service:wms']}" in vs[0]
    collections = json_get(f"{server.ogcapi}/collections")["collections"]
    assert len(collections) == 6
    for coll in collections:
        links = json_get(f"{server.ogcapi}/collections/{coll['id']}")["links"]
        described = [link for link in links if link["rel"] == "describedby"]
        assert {link["type"] for link in described} == {"application/xml", "text/html"}
        for link in described:
            assert http_status(link["href"]) == 200, link
        xml = next(link for link in described if link["type"] == "application/xml")
        assert ids[f"dataset:{coll['id']}"] in xml["href"]
        assert any(link["rel"] == "license" for link in links)


def json_get(url: str) -> dict:  # type: ignore[type-arg]
    import json

    return dict(json.loads(http_body(url + ("&" if "?" in url else "?") + "f=json")))


def test_coupled_resources_resolve_to_dataset_records(server: Server) -> None:
    """INSPIRE ETS services 3.6: every operatesOn href answers 200 with XML whose
    hierarchyLevel is dataset."""
    ids = _ids(server.data_dir)
    for key in ("service:wms", "service:ogcapi", "service:atom", "service:wfs"):
        _, xml = harvest_one(server.base, ids[key])
        refs = etree.fromstring(xml).xpath(".//srv:operatesOn", namespaces=NS)
        assert refs, key
        for ref in refs:
            with urllib.request.urlopen(ref.get(f"{{{XLINK}}}href"), timeout=30) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"].startswith(("application/xml", "text/xml"))
                md = etree.fromstring(resp.read()).find(f"{{{GMD}}}MD_Metadata")
            assert md.xpath("gmd:hierarchyLevel/*/@codeListValue", namespaces=NS) == ["dataset"]
            assert md.xpath(".//gmd:identifier//gmd:code/*/text()", namespaces=NS) == [
                ref.get("uuidref")]


def harvest_one(base: str, ident: str) -> tuple[str, bytes]:
    doc = _get(f"{base}/csw", REQUEST="GetRecordById", ID=ident, outputSchema=GMD,
               ElementSetName="full")
    md = doc.find(f"{{{GMD}}}MD_Metadata")
    assert md is not None
    return md.xpath("gmd:dateStamp/*/text()", namespaces=NS)[0], etree.tostring(md)


def test_the_catalogue_is_read_only(server: Server) -> None:
    url = f"{server.base}/csw"
    body = (f'<csw:Transaction xmlns:csw="{CSW}" xmlns:ogc="http://www.opengis.net/ogc" '
            'service="CSW" version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0">'
            '<ogc:Filter><ogc:PropertyIsLike wildCard="%" singleChar="_" escapeChar="\\">'
            '<ogc:PropertyName>dc:title</ogc:PropertyName><ogc:Literal>%</ogc:Literal>'
            '</ogc:PropertyIsLike></ogc:Filter></csw:Constraint></csw:Delete>'
            '</csw:Transaction>').encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/xml"})
    try:
        urllib.request.urlopen(req, timeout=30)
        raise AssertionError("a Transaction was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400 and b"OperationNotSupported" in exc.read()
    assert http_status(f"{url}?SERVICE=CSW&VERSION=2.0.2&REQUEST=Transaction") == 400
    for method in ("PUT", "DELETE", "PATCH"):
        assert http_status(url, method=method) in {403, 405}, method
    # pycsw's own WSGI entry takes its configuration from any parameter containing "config"
    caps = http_body(f"{url}?config=/etc/passwd&SERVICE=CSW&VERSION=2.0.2"
                     "&REQUEST=GetCapabilities")
    assert b"<csw:Capabilities" in caps and b"root:" not in caps
    assert len(harvest(server.base)) == len(_ids(server.data_dir))


def test_metadata_pages_and_landing_page(server: Server) -> None:
    ids = _ids(server.data_dir)
    front = http_body(f"{server.base}/").decode()
    assert "/csw?SERVICE=CSW" in front and "Metadaten" in front
    for key in ("dataset:trees", "dataset:contaminated_sites_grid"):
        assert f"/metadata/{ids[key]}.html" in front, key
    index = http_body(f"{server.base}/metadata/").decode()
    for ident in ids.values():
        page = http_body(f"{server.base}/metadata/{ident}.html").decode()
        assert page.startswith("<!DOCTYPE html>") and '<html lang="de">' in page
        assert f"ID={ident}" in page.replace("&amp;", "&")  # the XML record
        assert f"{ident}.html" in index
    trees = http_body(f"{server.base}/metadata/{ids['dataset:trees']}.html").decode()
    assert "Bäume (Baumkataster)" in trees and 'lang="en">Trees (tree cadastre)' in trees
    assert "Herkunft" in trees and "Verteilung der Arten" in trees


def test_planning_office_finds_a_dataset_and_adds_its_wms(server: Server) -> None:
    """As QGIS MetaSearch does: search by keyword, take the record's OGC:WMS link, open the
    WMS and draw the layer."""
    csw = CatalogueServiceWeb(f"{server.base}/csw", version="2.0.2")
    csw.getrecords2(constraints=[PropertyIsLike("csw:AnyText", "%Spielplätze%")],
                    typenames="gmd:MD_Metadata", esn="full", outputschema=GMD, maxrecords=10)
    record = next(r for r in csw.records.values()
                  if r.identification[0].title == "Spielplätze")
    links = [o for o in record.distribution.online if o.protocol == "OGC:WMS"]
    assert len(links) == 1 and links[0].name == "LU.ExistingLandUse"
    wms = WebMapService(links[0].url, version="1.3.0")
    assert links[0].name in wms.contents
    img = wms.getmap(layers=[links[0].name], styles=[""], srs="EPSG:25832",
                     bbox=(556000, 5767000, 574000, 5786000), size=(256, 256),
                     format="image/png")
    assert img.read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_confidential_value_in_the_catalogue(published: Published, server: Server) -> None:
    """Regression for issue 8's leak test, extended to /csw and the metadata pages."""

    private = private_site_ids(published)
    bodies = [http_body(f"{server.base}/csw?" + urllib.parse.urlencode({
        "SERVICE": "CSW", "VERSION": "2.0.2", "REQUEST": "GetRecords", "typeNames":
        "gmd:MD_Metadata", "ElementSetName": "full", "outputSchema": GMD,
        "resultType": "results", "maxRecords": "100"})), http_body(f"{server.base}/metadata/")]
    bodies += [xml for _, xml in harvest(server.base).values()]
    bodies += [http_body(f"{server.base}/metadata/{i}.html")
               for i in _ids(server.data_dir).values()]
    for body in bodies:
        assert CANARY.encode() not in body
        assert not [i for i in private if i.encode() in body]


# --- the lifecycle GDI-NI's harvester relies on --------------------------------------------

@pytest.fixture
def lifecycle(published: Published, tmp_path: Path):  # type: ignore[no-untyped-def]
    data = copy_tree(published.data_dir, tmp_path / "data")
    datasets = tmp_path / "datasets"
    shutil.copytree(ROOT / "datasets", datasets)
    port = free_port()
    env = {"GDI_PORT": str(port), "GDI_DATASETS_DIR": str(datasets)}
    gdi("catalogue", data_dir=data, env=env)
    with serve(data, env, port=port):  # the same base URL as the runs': same records
        yield data, datasets, env


def test_harvest_sees_exactly_what_changed(lifecycle) -> None:  # type: ignore[no-untyped-def]
    data, datasets, env = lifecycle
    base = f"http://127.0.0.1:{env['GDI_PORT']}"
    ids = _ids(data)
    first = harvest(base)
    # every ETL again, nothing changed: no newer dateStamp, every record byte-identical
    gdi("run", "--all", "-q", data_dir=data, env=env)
    assert harvest(base) == first
    # one tree changes: exactly its dataset's record is newer
    patch_dbf_value(data / "sources" / "trees" / "baumkataster.dbf", "BAUMHOEHE", 5, "23.5")
    gdi("run", "trees", "-q", data_dir=data, env=env)
    second = harvest(base)
    newer = {i for i in first if second[i][0] > first[i][0]}
    assert newer == {ids["dataset:trees"]}
    assert {i: v for i, v in second.items() if i not in newer} == {
        i: v for i, v in first.items() if i not in newer}
    # a failed run (a truncated export): the catalogue stays exactly as it was
    dbf = data / "sources" / "trees" / "baumkataster.dbf"
    dbf.write_bytes(dbf.read_bytes()[:-5000])
    assert gdi("run", "trees", "-q", data_dir=data, env=env, check=False).returncode == 2
    assert harvest(base) == second
    # a dataset removed from the configuration: its record is gone, nothing re-created
    (datasets / "playground_equipment.yml").unlink()
    gdi("catalogue", data_dir=data, env=env)
    third = harvest(base)
    assert set(third) == set(second) - {ids["dataset:playground_equipment"]}
    assert {k: v for k, v in _ids(data).items()} == {
        k: v for k, v in ids.items() if k != "dataset:playground_equipment"}
    # the services that served it say so (their operatesOn changed), nothing else moved
    moved = {i for i in third if third[i][0] > second[i][0]}
    assert moved == {ids["service:wms"], ids["service:ogcapi"], ids["service:atom"],
                     ids["service:wfs"]}
