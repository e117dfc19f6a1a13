"""Issue 12: the pre-defined Atom download service (INSPIRE TG Download Services 3.1).

One test per requirement of the TG (numbered as in the TG and in the INSPIRE ATS
"download-atom/atom-pre-defined", whose test method each test follows), run against the
feeds the running ``gdi serve`` answers with, parsed by lxml and by a real feed parser
(feedparser). The checks are written here, independently of the service's own gate
(gdi.publish.atom.rules).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from functools import cache
from pathlib import Path

import feedparser
import pyogrio
import pytest
from lxml import etree

from gdi.samples.sites import CANARY
from gdi.xsd import schema_for
from tests.conftest import SHARED, Published, Server, http_body, http_status, private_site_ids
from tests.test_issue_11_csw import GMD, _ids

ATOM = "http://www.w3.org/2005/Atom"
DLS = "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0"
OS = "http://a9.com/-/spec/opensearch/1.1/"
NS = {"a": ATOM, "dls": DLS, "os": OS, "georss": "http://www.georss.org/georss",
      "gmd": GMD}
# the INSPIRE media-types register entries this service uses (inspire.ec.europa.eu/media-types)
INSPIRE_MEDIA_TYPES = {"application/gml+xml", "application/geopackage+sqlite3"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


@cache
def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as resp:
            return int(resp.status), dict(resp.headers), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), dict(exc.headers), bytes(exc.read())


def _xml(url: str) -> etree._Element:
    status, _, body = _get(url)
    assert status == 200, url
    return etree.fromstring(body)


def _service(server: Server, lang: str = "") -> etree._Element:
    return _xml(f"{server.base}/atom/service{lang}.xml")


def _dataset_feeds(server: Server) -> dict[str, etree._Element]:
    service = _service(server)
    return {href: _xml(href) for href in service.xpath(
        "a:entry/a:link[@rel='alternate']/@href", namespaces=NS)}


def _has_word(text: str | None) -> bool:
    return bool(text and re.search(r"\w", text))


def _valid_date(text: str | None) -> bool:
    when = dt.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    return when.tzinfo is not None and when.year >= 2012 and when <= dt.datetime.now(dt.UTC)


def _all_feeds(server: Server) -> list[etree._Element]:
    return [_service(server), _service(server, ".en"), *_dataset_feeds(server).values()]


# --- real parser, schema, structure ------------------------------------------------------

def test_req_02_03_every_feed_parses_with_a_real_feed_parser(server: Server) -> None:
    urls = [f"{server.base}/atom/service.xml", f"{server.base}/atom/service.en.xml",
            *_dataset_feeds(server)]
    for url in urls:
        parsed = feedparser.parse(_get(url)[2])
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        assert parsed.version == "atom10" and parsed.feed.title and parsed.entries, url
        for entry in parsed.entries:
            assert entry.get("where") or entry.get("georss_polygon"), url  # GeoRSS read


def test_inspire_dls_elements_validate_against_the_official_schema(server: Server) -> None:
    schema = schema_for(SHARED / "inspire-schemas", [(
        DLS, "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0/inspire_dls.xsd")])
    nodes = [n for feed in _all_feeds(server) for n in feed.iter(f"{{{DLS}}}*")]
    assert len(nodes) >= 2 * 5
    for node in nodes:
        assert schema.validate(etree.ElementTree(etree.fromstring(etree.tostring(node)))), (
            schema.error_log)


def test_georss_polygons_are_latitude_first_around_hildesheim(server: Server) -> None:
    for feed in _all_feeds(server):
        for poly in feed.iterfind(".//georss:polygon", NS):
            values = [float(v) for v in poly.text.split()]
            assert len(values) >= 8 and values[:2] == values[-2:]
            lats, lons = values[0::2], values[1::2]
            assert all(51.9 < v < 52.4 for v in lats) and all(9.7 < v < 10.2 for v in lons)


# --- download service feed (TG requirements 1, 5-20) -----------------------------------

def test_req_01_one_entry_per_dataset(server: Server, published: Published) -> None:
    entries = _service(server).findall("a:entry", NS)
    pairs = [(e.findtext("dls:spatial_dataset_identifier_code", None, NS),
              e.findtext("dls:spatial_dataset_identifier_namespace", None, NS)) for e in entries]
    assert len(pairs) == len(set(pairs)) == 6  # 5 datasets and the grid aggregate
    ids = _ids(server.data_dir)
    assert {p[0].rsplit("/", 1)[1] for p in pairs} == {
        k.split(":", 1)[1] for k in ids if k.startswith("dataset:")}


def test_req_05_download_service_feed_title(server: Server) -> None:
    assert _has_word(_service(server).findtext("a:title", None, NS))
    assert "Download" in _service(server, ".en").findtext("a:title", "", NS)


def test_req_06_scenario_1_link_to_the_service_metadata_record(server: Server) -> None:
    feed = _service(server)
    links = feed.xpath("a:link[@rel='describedby' and (@type='application/xml' or "
                       "@type='application/vnd.ogc.csw.GetRecordByIdResponse_xml')]/@href",
                       namespaces=NS)
    assert len(links) == 1
    md = _xml(links[0]).find(f"{{{GMD}}}MD_Metadata")
    assert md is not None
    assert md.xpath("gmd:hierarchyLevel/*/@codeListValue", namespaces=NS) == ["service"]
    locator = md.xpath("//gmd:distributionInfo/*/gmd:transferOptions/*/gmd:onLine/*/"
                       "gmd:linkage/gmd:URL/text()", namespaces=NS)[0]
    again = _xml(locator)  # the resource locator is this very service feed...
    assert again.findtext("a:id", None, NS) == feed.findtext("a:id", None, NS)
    assert again.xpath("a:link[@rel='describedby']/@href", namespaces=NS)[0] == links[0]
    ident = md.xpath("gmd:fileIdentifier/*/text()", namespaces=NS)[0]
    assert ident == _ids(server.data_dir)["service:atom"]


def test_req_07_self_reference_link(server: Server) -> None:
    for lang, suffix in (("de", ""), ("en", ".en")):
        feed = _service(server, suffix)
        self_link = feed.find("a:link[@rel='self']", NS)
        assert self_link.get("href") == f"{server.base}/atom/service{suffix}.xml"
        assert self_link.get("type") in ("application/atom+xml", "application/xml", "text/xml")
        assert self_link.get("hreflang") == feed.get("{http://www.w3.org/XML/1998/namespace}"
                                                     "lang") == lang


def test_req_08_39_link_to_the_opensearch_description(server: Server) -> None:
    link = _service(server).find("a:link[@rel='search']", NS)
    assert link.get("type") == "application/opensearchdescription+xml"
    assert link.get("hreflang") == "de"
    status, headers, body = _get(link.get("href"))
    assert status == 200 and headers["Content-Type"].startswith(
        "application/opensearchdescription+xml")
    assert etree.fromstring(body).tag == f"{{{OS}}}OpenSearchDescription"


def test_req_09_download_service_feed_id_is_its_http_uri(server: Server) -> None:
    feed = _service(server)
    ident = feed.findtext("a:id", None, NS)
    assert ident.startswith("http")
    assert _get(ident)[2] == _get(f"{server.base}/atom/service.xml")[2]


def test_req_10_download_service_rights(server: Server) -> None:
    rights = _service(server).findtext("a:rights", None, NS)
    assert _has_word(rights) and "Datenlizenz Deutschland" in rights


def test_req_11_download_service_updated(server: Server) -> None:
    assert _valid_date(_service(server).findtext("a:updated", None, NS))


def test_req_12_download_service_author(server: Server) -> None:
    author = _service(server).find("a:author", NS)
    assert _has_word(author.findtext("a:name", None, NS))
    assert EMAIL.match(author.findtext("a:email", "", NS))


def test_req_13_spatial_dataset_identifiers_match_the_records(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        code = entry.findtext("dls:spatial_dataset_identifier_code", None, NS)
        namespace = entry.findtext("dls:spatial_dataset_identifier_namespace", None, NS)
        assert _has_word(code) and _has_word(namespace) and code.startswith(namespace)
        record = _xml(entry.find("a:link[@rel='describedby']", NS).get("href"))
        assert record.xpath("//gmd:identificationInfo//gmd:citation//gmd:identifier//"
                            "gmd:code/*/text()", namespaces=NS) == [code]


def test_req_14_dataset_metadata_record_links(server: Server) -> None:
    ids = _ids(server.data_dir)
    for entry in _service(server).findall("a:entry", NS):
        links = entry.xpath("a:link[@rel='describedby' and @type='application/xml']/@href",
                            namespaces=NS)
        assert len(links) == 1 and links[0].startswith("http")
        md = _xml(links[0]).find(f"{{{GMD}}}MD_Metadata")
        assert md.xpath("gmd:hierarchyLevel/*/@codeListValue", namespaces=NS) == ["dataset"]
        # the service's record refers to the same dataset record (coupling)
        ident = md.xpath("gmd:fileIdentifier/*/text()", namespaces=NS)[0]
        service_md = _xml(_service(server).find("a:link[@rel='describedby']", NS).get("href"))
        hrefs = service_md.xpath("//*[local-name()='operatesOn']/@xlink:href",
                                 namespaces={"xlink": "http://www.w3.org/1999/xlink"})
        assert any(f"ID={ident}" in h for h in hrefs) and ident in ids.values()


def test_req_15_one_dataset_feed_link_per_entry(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        feeds = entry.xpath("a:link[@rel='alternate' and (@type='application/atom+xml' or "
                            "@type='application/xml' or @type='text/xml')]", namespaces=NS)
        assert len(feeds) == 1
        assert _xml(feeds[0].get("href")).tag == f"{{{ATOM}}}feed"


def test_req_16_link_to_the_wfs_capabilities(server: Server) -> None:
    link = _service(server).find("a:link[@rel='related']", NS)
    assert link.get("type") == "application/xml"
    caps = _xml(link.get("href"))
    assert caps.tag == "{http://www.opengis.net/wfs/2.0}WFS_Capabilities"


def test_req_17_entry_ids_are_http_uris(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        ids = entry.findall("a:id", NS)
        assert len(ids) == 1 and ids[0].text.startswith("http")


def test_req_18_entry_titles(server: Server) -> None:
    for feed in (_service(server), _service(server, ".en")):
        assert all(_has_word(e.findtext("a:title", None, NS)) for e in feed.findall("a:entry", NS))
    assert "Trees" in " ".join(_service(server, ".en").xpath("a:entry/a:title/text()",
                                                              namespaces=NS))


def test_req_19_entry_updated_dates(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        assert _valid_date(entry.findtext("a:updated", None, NS))


def test_req_20_crs_categories_in_the_service_feed(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        terms = entry.xpath("a:category[string-length(@term)>0 and string-length(@label)>0]"
                            "/@term", namespaces=NS)
        tiles3d = entry.find("a:link[@rel='alternate']", NS).get("href").endswith(
            "/buildings.xml")  # issue 15: the 3D Tiles are in ECEF
        assert set(terms) == {"http://www.opengis.net/def/crs/EPSG/0/25832",
                              "http://www.opengis.net/def/crs/EPSG/0/4258"} | (
            {"http://www.opengis.net/def/crs/EPSG/0/4978"} if tiles3d else set())


# --- dataset feeds (TG requirements 21-35) ------------------------------------------------

def test_req_21_dataset_feed_title(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        assert _has_word(feed.findtext("a:title", None, NS))


def test_req_22_dataset_feed_id_is_its_http_uri(server: Server) -> None:
    for url, feed in _dataset_feeds(server).items():
        ident = feed.findtext("a:id", None, NS)
        assert ident == url and ident.startswith("http") and _get(ident)[2] == _get(url)[2]


def test_req_23_dataset_feed_rights(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        assert _has_word(feed.findtext("a:rights", None, NS))


def test_req_24_dataset_feed_updated(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        assert _valid_date(feed.findtext("a:updated", None, NS))


def test_req_25_dataset_feed_author(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        assert EMAIL.match(feed.findtext("a:author/a:email", "", NS))
        assert _has_word(feed.findtext("a:author/a:name", None, NS))


def test_req_26_29_every_file_link_resolves_with_its_length_and_type(server: Server) -> None:
    checked, sectioned = 0, 0
    for feed in _dataset_feeds(server).values():
        entries = feed.findall("a:entry", NS)
        assert entries
        for entry in entries:
            links = entry.findall("a:link[@rel='alternate']", NS)
            sections = entry.findall("a:link[@rel='section']", NS)
            assert len(links) == 1 or (not links and len(sections) > 1)
            for link in links or sections:  # every file: HEAD answers its length and type
                req = urllib.request.Request(link.get("href"), method="HEAD")
                with urllib.request.urlopen(req, timeout=30) as resp:
                    assert resp.status == 200
                    assert int(resp.headers["Content-Length"]) == int(link.get("length")) > 0
                    assert (resp.headers["Content-Type"].split(";")[0]
                            == link.get("type").split(";")[0])
            checked += 1
            sectioned += bool(sections)
    # GML+GPKG x 2 CRS for 3, GPKG x 2 for 2, buildings: BU-3D GML (one CRS) + GPKG x 2 and
    # its 3D model in tiles: CityGML, CityJSON, 3D Tiles (issue 15)
    assert checked == 2 * 2 + 2 * 2 + 2 * 2 + 2 + 2 + 3 + 3
    assert sectioned == 3


def test_req_27_an_entry_per_format_and_crs(server: Server) -> None:
    for entry in _service(server).findall("a:entry", NS):
        feed = _xml(entry.find("a:link[@rel='alternate']", NS).get("href"))
        combos = [(item.find("a:link", NS).get("type"), item.find("a:category", NS).get("term"))
                  for item in feed.findall("a:entry", NS)]
        assert len(combos) == len(set(combos))
        for term in entry.xpath("a:category/@term", namespaces=NS):  # every CRS offered
            assert term in {c[1] for c in combos}
        assert {c[0] for c in combos} >= {"application/geopackage+sqlite3"}


def test_req_35_crs_category_in_every_dataset_feed_entry(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        for item in feed.findall("a:entry", NS):
            cats = item.xpath("a:category[string-length(@term)>0 and string-length(@label)>0]",
                              namespaces=NS)
            assert len(cats) == 1
            assert cats[0].get("term").startswith("http://www.opengis.net/def/crs/EPSG/0/")


def test_req_28_spatial_object_type_links(server: Server) -> None:
    for url, feed in _dataset_feeds(server).items():
        links = feed.xpath("a:link[@rel='describedby' and @type='text/html']/@href",
                           namespaces=NS)
        assert links, url
        if url.endswith("/trees.xml"):
            assert links == ["https://inspire.ec.europa.eu/featureconcept/"
                             "SpeciesDistributionUnit"]
        if url.endswith("/playground_equipment.xml"):  # not harmonised: its local definition
            assert http_status(links[0]) == 200


def test_req_30_34_only_inspire_media_types(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        for media in feed.xpath("a:entry/a:link[@rel='alternate']/@type", namespaces=NS):
            assert media in INSPIRE_MEDIA_TYPES


def test_req_31_38_language_of_links_and_feeds(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        assert all(link.get("hreflang") == "de" for link in feed.xpath(
            "a:entry/a:link[@rel='alternate' or @rel='section']", namespaces=NS))
        english = feed.find("a:link[@rel='alternate'][@hreflang='en']", NS).get("href")
        assert _xml(english).get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    en = _service(server, ".en")
    for link in en.xpath("a:entry/a:link[@rel='alternate']/@href", namespaces=NS):
        assert link.endswith(".en.xml")


def test_req_32_multiple_files_only_as_sections(server: Server) -> None:
    """Each dataset is one file per format and CRS: no entry has ``section`` links (a
    section link would have to be one of several)."""
    for feed in _dataset_feeds(server).values():
        for item in feed.findall("a:entry", NS):
            assert len(item.findall("a:link[@rel='section']", NS)) != 1


def test_req_33_sectioned_entries_describe_their_structure(server: Server) -> None:
    for feed in _dataset_feeds(server).values():
        for item in feed.findall("a:entry", NS):
            if item.findall("a:link[@rel='section']", NS):
                assert item.find("a:content", NS) is not None or len(
                    item.findall("a:link[@rel='alternate']", NS)) > 0
            else:  # one file: the alternate link is the whole dataset in its format and CRS
                assert len(item.findall("a:link[@rel='alternate']", NS)) == 1


# --- OpenSearch (TG requirements 40-45) -------------------------------------------------

def _osd(server: Server) -> etree._Element:
    return _xml(f"{server.base}/atom/opensearch.xml")


def _fill(template: str, values: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        return urllib.parse.quote(values.get(m.group(1).rstrip("?"), ""), safe="")

    return re.sub(r"\{([^}]+)\}", sub, template)


def test_req_04_opensearch_description_conforms_to_opensearch_1_1(server: Server) -> None:
    osd = _osd(server)
    short = osd.findtext("os:ShortName", None, NS)
    assert short and len(short) <= 16
    assert 0 < len(osd.findtext("os:Description", "", NS)) <= 1024
    for url in osd.findall("os:Url", NS):
        assert url.get("type") and url.get("template", "").startswith("http")
        assert url.get("rel", "results") in {"results", "self", "describedby", "collection",
                                             "suggestions"}
    assert osd.findall("os:Query[@role='example']", NS)


def test_req_40_opensearch_self_url(server: Server) -> None:
    url = _osd(server).find("os:Url[@rel='self']", NS)
    assert url.get("type") == "application/opensearchdescription+xml"
    assert url.get("template") == f"{server.base}/atom/opensearch.xml"


def test_req_41_generic_search_returns_html(server: Server) -> None:
    url = _osd(server).find("os:Url[@rel='results'][@type='text/html']", NS)
    status, headers, body = _get(_fill(url.get("template"), {"searchTerms": "Bäume"}))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"trees.inspire.gml" in body and b"playgrounds" not in body
    status, _, body = _get(_fill(url.get("template"), {"searchTerms": "trees",
                                                       "language": "en"}))
    assert b"Trees" in body and b'lang="en"' in body


def test_req_42_describe_spatial_data_set(server: Server) -> None:
    url = _osd(server).find("os:Url[@rel='describedby']", NS)
    assert url.get("type") in ("application/atom+xml", "application/xml", "text/xml")
    template = url.get("template")
    for needed in ("spatial_dataset_identifier_code", "spatial_dataset_identifier_namespace",
                   "language"):
        assert needed in template
    for entry in _service(server).findall("a:entry", NS):
        values = {f"inspire_dls:{k}": entry.findtext(f"dls:{k}", None, NS) for k in (
            "spatial_dataset_identifier_code", "spatial_dataset_identifier_namespace")}
        for lang, suffix in (("de", ""), ("en", ".en")):
            status, _, body = _get(_fill(template, {**values, "language": lang}))
            feed = entry.find("a:link[@rel='alternate']", NS).get("href").replace(
                ".xml", f"{suffix}.xml") if suffix else entry.find(
                "a:link[@rel='alternate']", NS).get("href")
            assert status == 200 and body == _get(feed)[2]
    assert http_status(_fill(template, {"inspire_dls:spatial_dataset_identifier_code":
                                        "unknown"})) == 404


def _get_templates(osd: etree._Element) -> list[etree._Element]:
    return list(osd.xpath(
        "os:Url[@rel='results' and starts-with(@template,'http') and contains(@template,'crs') "
        "and contains(@template,'spatial_dataset_identifier_code') and contains(@template,"
        "'spatial_dataset_identifier_namespace') and contains(@template,'language')]",
        namespaces=NS))


def _ids_of(q: etree._Element, *names: str) -> dict[str, str]:
    return {f"inspire_dls:{k}": q.get(f"{{{DLS}}}{k}") for k in names}


def test_req_43_get_spatial_data_set_template(server: Server) -> None:
    osd = _osd(server)
    gets = _get_templates(osd)
    assert {u.get("type") for u in gets} == INSPIRE_MEDIA_TYPES
    first = osd.find("os:Query[@role='example']", NS)  # an INSPIRE dataset: every Get answers
    for url in gets:
        values = _ids_of(first, "spatial_dataset_identifier_code",
                         "spatial_dataset_identifier_namespace", "crs")
        status, headers, _ = _get(_fill(url.get("template"), {
            **values, "language": first.get("language")}))
        assert status == 200 and headers["Content-Type"].split(";")[0] == url.get("type")


def test_req_44_an_example_query_per_dataset(server: Server) -> None:
    osd = _osd(server)
    examples = osd.findall("os:Query[@role='example']", NS)
    service = _service(server)
    assert {(q.get(f"{{{DLS}}}spatial_dataset_identifier_code"),
             q.get(f"{{{DLS}}}spatial_dataset_identifier_namespace")) for q in examples} == {
        (e.findtext("dls:spatial_dataset_identifier_code", None, NS),
         e.findtext("dls:spatial_dataset_identifier_namespace", None, NS))
        for e in service.findall("a:entry", NS)}
    template = _get_templates(osd)[-1].get("template")  # GeoPackage: every dataset has one
    for q in examples:  # every dataset in its default CRS, and in EPSG:4258
        assert q.get("language") == "de"
        for crs in (q.get(f"{{{DLS}}}crs"), "http://www.opengis.net/def/crs/EPSG/0/4258"):
            values = _ids_of(q, "spatial_dataset_identifier_code",
                             "spatial_dataset_identifier_namespace")
            url = _fill(template, {**values, "inspire_dls:crs": crs, "language": "de"})
            req = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.status == 200
                assert resp.url.endswith(".4258.gpkg") == crs.endswith("/4258")


def test_req_45_languages(server: Server) -> None:
    assert [e.text for e in _osd(server).findall("os:Language", NS)] == ["de", "en"]


# --- the files themselves --------------------------------------------------------------------

def _files(server: Server) -> list[tuple[str, str, str]]:
    """(url, media type, CRS term) of every whole file of every dataset feed (the 3D
    model's tiles, in sections, are read by tests/test_issue_15_downloads.py)."""
    out = []
    for feed in _dataset_feeds(server).values():
        for entry in feed.findall("a:entry", NS):
            link = entry.find("a:link[@rel='alternate']", NS)
            if link is None:
                continue
            out.append((link.get("href"), link.get("type"),
                        entry.find("a:category", NS).get("term")))
    return out


def _gmlas_config(tmp_path: Path) -> Path | None:
    """GDAL's GMLAS driver (Debian's ogrinfo) reading offline: its schema cache filled with
    the official schemas under the names GDAL gives downloaded ones (the URL, scheme removed,
    every character but letters, digits and dots as '_'). None: no GMLAS here."""
    probe = subprocess.run(["ogrinfo", "--formats"], capture_output=True, text=True,
                           check=False) if shutil.which("ogrinfo") else None
    if probe is None or "GMLAS" not in probe.stdout:
        return None
    cache = tmp_path / "gmlas-cache"
    cache.mkdir()
    root = SHARED / "inspire-schemas"
    for xsd in root.rglob("*.xsd"):
        (cache / re.sub(r"[^A-Za-z0-9.]", "_", str(xsd.relative_to(root)))).symlink_to(xsd)
    conf = tmp_path / "gmlas.xml"
    conf.write_text("<Configuration><AllowRemoteSchemaDownload>false</AllowRemoteSchemaDownload>"
                    f"<SchemaCache enabled=\"true\"><Directory>{cache}</Directory></SchemaCache>"
                    "</Configuration>", encoding="utf-8")
    return conf


def _gmlas_count(path: Path, layer: str, conf: Path) -> tuple[int, str | None]:
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"GMLAS:{path}", layer, "-oo",
                          f"CONFIG_FILE={conf}"], capture_output=True, text=True, timeout=300,
                         check=True).stdout
    count = re.search(r"Feature Count: (\d+)", out)
    extent = re.search(r"Extent \(geometry\): \(([-\d.]+), ([-\d.]+)\)", out)
    assert count is not None, out[-2000:]
    return int(count.group(1)), None if extent is None else extent.group(1)


def test_gdal_reads_every_file_with_the_published_count(server: Server, published: Published,
                                                        tmp_path: Path) -> None:
    reports = published.reports
    members = {k: (reports[k]["inspire"]["members"],
                   reports[k]["inspire"]["feature_type"].split(":")[1].lower())
               for k in ("trees", "playgrounds", "contaminated_sites", "buildings")}
    gpkg_counts = {"trees": reports["trees"]["published"],
                   "playgrounds": reports["playgrounds"]["published"],
                   "playground_equipment": reports["playground_equipment"]["published"],
                   "buildings": reports["buildings"]["published"],
                   "contaminated_sites": reports["contaminated_sites"]["public"]["records"],
                   "contaminated_sites_grid": reports["contaminated_sites"]["public"][
                       "aggregate_rows"]}
    conf = _gmlas_config(tmp_path)
    read_by_gmlas = 0
    for url, media, crs in _files(server):
        name = url.rsplit("/", 1)[1]
        path = tmp_path / name
        path.write_bytes(_get(url)[2])
        key = name.split(".")[0]
        if media == "application/geopackage+sqlite3":
            info = pyogrio.read_info(path)
            assert info["features"] == gpkg_counts[key], name
            assert info["crs"] == f"EPSG:{crs.rsplit('/', 1)[1]}", name
            continue
        count, layer = members[key]
        if conf is not None:  # INSPIRE GML through its application schema (GMLAS)
            got, west = _gmlas_count(path, layer, conf)
            read_by_gmlas += 1
        else:  # GDAL's GML driver
            member = next(n for n, _ in pyogrio.list_layers(path) if not n.endswith("DataSet"))
            info = pyogrio.read_info(path, layer=member, force_total_bounds=True)
            got, west = info["features"], str(info["total_bounds"][0])
        assert got == count, name
        if west is None:  # BU-3D: the solid sits in a child layer of the building
            assert key == "buildings", name
            continue
        # GDAL reads EPSG:4258 (latitude first in the file) as longitude 9.x, easting else
        assert (float(west) < 11) == crs.endswith("/4258"), (name, west)
    if conf is not None:
        assert read_by_gmlas == 7  # + the BU-3D GML (EPSG:25832 + DHHN2016 only)


def test_updated_dates_change_only_with_the_data(published: Published,
                                                 tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """A catalogue rebuilt without change leaves every feed byte-identical."""
    from tests.conftest import copy_tree, gdi

    data = copy_tree(published.data_dir, tmp_path_factory.mktemp("atom") / "data")
    atom = data / "catalogue" / "current" / "atom"
    gdi("catalogue", data_dir=data)  # with this environment's base URL
    before = {p.name: p.read_bytes() for p in atom.iterdir()}
    gdi("catalogue", data_dir=data)
    assert {p.name: p.read_bytes() for p in atom.iterdir()} == before


def test_no_confidential_value_or_private_site_in_the_atom_service(published: Published,
                                                                    server: Server) -> None:
    private = private_site_ids(published)
    urls = [f"{server.base}/atom/service.xml", f"{server.base}/atom/service.en.xml",
            f"{server.base}/atom/opensearch.xml", f"{server.base}/atom/search?q=",
            *_dataset_feeds(server), *[u for u, _, _ in _files(server) if "contaminated" in u]]
    assert http_status(f"{server.base}/atom/atom-index.json") == 404
    for url in urls:
        body = http_body(url)
        assert CANARY.encode() not in body, url
        assert not [i for i in private if i.encode() in body], url


def test_the_atom_service_is_read_only_and_fails_clearly(server: Server) -> None:
    for path in ("/atom/service.xml", "/atom/get", "/atom/describe"):
        assert http_status(f"{server.base}{path}", method="POST") in (403, 405)
    body = http_body(f"{server.base}/atom/get?spatial_dataset_identifier_code=trees&crs=EPSG:3857")
    assert b"not offered" in body and b"Traceback" not in body
    assert http_status(f"{server.base}/atom/describe?spatial_dataset_identifier_code=trees"
                       "&language=fr") == 404


@pytest.mark.parametrize("lang", ["de", "en"])
def test_service_feed_language_versions_link_each_other(server: Server, lang: str) -> None:
    suffix = "" if lang == "de" else ".en"
    other = ".en" if lang == "de" else ""
    feed = _service(server, suffix)
    alt = feed.find("a:link[@rel='alternate']", NS)
    assert alt.get("href") == f"{server.base}/atom/service{other}.xml"
