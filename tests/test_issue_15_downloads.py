"""Issue 15, item 6: the 3D products per tile in the Atom download service and in the
dataset's records (ISO 19139 through the CSW, DCAT-AP.de), checked against the files the
running ``gdi serve`` actually serves: every tile of the index and every 3D Tiles content is
linked once, with its size and media type, and the project's Atom gate rejects the ways such
entries go wrong (TG Download Services 3.1, requirements 27 and 29-34)."""

from __future__ import annotations

import json
import urllib.request
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from rdflib import Graph, Namespace, URIRef

from gdi.publish.atom import rules
from tests.conftest import SHARED, Published, Server, http_body

ATOM = "http://www.w3.org/2005/Atom"
NS = {"a": ATOM, "gmd": "http://www.isotc211.org/2005/gmd",
      "gco": "http://www.isotc211.org/2005/gco", "gmx": "http://www.isotc211.org/2005/gmx"}
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
CITYGML_BUILDING = "{http://www.opengis.net/citygml/building/2.0}Building"


def _feed(server: Server, lang: str = "") -> etree._Element:
    return etree.fromstring(http_body(f"{server.base}/atom/buildings{lang}.xml"))


def _sectioned(feed: etree._Element) -> dict[str, etree._Element]:
    """The sectioned entries by the media type of their data files."""
    out = {}
    for entry in feed.findall("a:entry", NS):
        links = entry.findall("a:link[@rel='section']", NS)
        if links:
            out[links[-1].get("type")] = entry
    return out


def _head(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=30) as r:
        return int(r.headers["Content-Length"]), r.headers["Content-Type"]


def _index(server: Server) -> dict[str, Any]:
    return dict(json.loads(http_body(f"{server.base}/downloads/buildings/buildings.tiles.json")))


def test_atom_offers_every_1km_tile_as_sections(server: Server) -> None:
    index = _index(server)
    base = f"{server.base}/downloads/buildings"
    for lang in ("", ".en"):
        entries = _sectioned(_feed(server, lang))
        assert set(entries) == {"application/gml+xml; version=3.1", "application/city+json",
                                "model/gltf-binary"}
        for key, media in (("citygml", "application/gml+xml; version=3.1"),
                           ("cityjson", "application/city+json")):
            entry = entries[media]
            links = entry.findall("a:link[@rel='section']", NS)
            assert [link.get("href") for link in links] == [
                f"{base}/{t[key]['href']}" for t in index["tiles"]]
            assert [int(link.get("length")) for link in links] == [
                t[key]["bytes"] for t in index["tiles"]]
            assert all(link.get("hreflang") == "de" and link.get("title") for link in links)
            assert entry.find("a:link[@rel='alternate']", NS) is None
            content = entry.findtext("a:content", "", NS)
            assert f"{base}/buildings.tiles.json" in content and str(len(links)) in content
            assert entry.find("a:category", NS).get("term") == (
                "http://www.opengis.net/def/crs/EPSG/0/25832")
    entries = _sectioned(_feed(server))
    first = index["tiles"][0]
    gml_link = entries["application/gml+xml; version=3.1"].find("a:link", NS)
    length, ctype = _head(gml_link.get("href"))
    assert (length, ctype.split(";")[0]) == (first["citygml"]["bytes"], "application/gml+xml")
    tree = etree.fromstring(http_body(gml_link.get("href")))
    assert len(list(tree.iter(CITYGML_BUILDING))) == first["buildings"]
    json_link = entries["application/city+json"].find("a:link", NS)
    length, ctype = _head(json_link.get("href"))
    assert (length, ctype) == (first["cityjson"]["bytes"], "application/city+json")
    doc = json.loads(http_body(json_link.get("href")))
    assert sum(o["type"] == "Building" for o in doc["CityObjects"].values()) == first[
        "buildings"]


def test_atom_offers_the_3d_tiles_with_every_content(server: Server) -> None:
    href = f"{server.base}/downloads/buildings/buildings.3dtiles/existing"
    tileset = json.loads(http_body(f"{href}/tileset.json"))
    stack, uris = [tileset["root"]], []
    while stack:
        tile = stack.pop()
        uris += [tile["content"]["uri"]] if "content" in tile else []
        stack += tile.get("children", [])
    entry = _sectioned(_feed(server))["model/gltf-binary"]
    links = entry.findall("a:link[@rel='section']", NS)
    assert links[0].get("href") == f"{href}/tileset.json"
    assert links[0].get("type") == "application/json"
    assert sorted(link.get("href") for link in links[1:]) == sorted(
        f"{href}/{u}" for u in uris)
    assert entry.find("a:category", NS).get("term") == (
        "http://www.opengis.net/def/crs/EPSG/0/4978")
    length, ctype = _head(links[1].get("href"))
    assert (length, ctype) == (int(links[1].get("length")), "model/gltf-binary")
    assert http_body(links[1].get("href"))[:4] == b"glTF"
    service = etree.fromstring(http_body(f"{server.base}/atom/service.xml"))
    item = next(e for e in service.findall("a:entry", NS)
                if e.find("a:link[@rel='alternate']", NS).get("href").endswith(
                    "/atom/buildings.xml"))
    assert "http://www.opengis.net/def/crs/EPSG/0/4978" in item.xpath(
        "a:category/@term", namespaces=NS)


def test_3d_tiles_travel_compressed_to_clients_that_ask(server: Server) -> None:
    """A browser (Accept-Encoding: gzip) gets the GLBs and the tileset gzip-compressed; the
    bytes are the file's; a client that does not ask gets them as they are."""
    import gzip

    href = f"{server.base}/downloads/buildings/buildings.3dtiles/existing"
    entry = _sectioned(_feed(server))["model/gltf-binary"]
    far = next(link.get("href") for link in entry.findall("a:link[@rel='section']", NS)
               if "/tiles/far_" in link.get("href"))
    for url in (far, f"{href}/tileset.json"):
        plain = http_body(url)
        req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            packed = resp.read()
        assert gzip.decompress(packed) == plain and len(packed) < 0.7 * len(plain)


def test_iso_record_names_the_3d_formats_and_files(server: Server) -> None:
    service = etree.fromstring(http_body(f"{server.base}/atom/service.xml"))
    item = next(e for e in service.findall("a:entry", NS)
                if e.find("a:link[@rel='alternate']", NS).get("href").endswith(
                    "/atom/buildings.xml"))
    record = etree.fromstring(http_body(
        item.find("a:link[@rel='describedby']", NS).get("href")))
    formats = {f.xpath("string(gmd:name/*)", namespaces=NS): f.xpath(
        "string(gmd:version/*)", namespaces=NS) for f in record.iterfind(
        ".//gmd:distributionFormat/gmd:MD_Format", NS)}
    assert {"CityGML": "2.0", "CityJSON": "2.0", "CityJSONSeq": "2.0",
            "3D Tiles": "1.1"}.items() <= formats.items()
    urls = record.xpath(".//gmd:distributionInfo//gmd:CI_OnlineResource/gmd:linkage/gmd:URL/"
                        "text()", namespaces=NS)
    base = f"{server.base}/downloads/buildings"
    for needed in ("buildings.city.json", "buildings.citygml.gml", "buildings.tiles.json",
                   "buildings.3dtiles/existing/tileset.json"):
        assert f"{base}/{needed}" in urls
        assert _head(f"{base}/{needed}")[0] > 0
    assert f"{server.base}/static/3d.html" in urls
    assert len(urls) == len(set(urls))
    crss = record.xpath(".//gmd:referenceSystemInfo//gmd:code/gmx:Anchor/@xlink:href",
                        namespaces={**NS, "xlink": "http://www.w3.org/1999/xlink"})
    assert crss == [f"http://www.opengis.net/def/crs/EPSG/0/{c}"  # UTM, ETRS89, heights, ECEF
                    for c in (25832, 4258, 7837, 4978)]


def test_dcat_distributions_of_the_3d_files_match_the_served_files(
        published: Published, server: Server) -> None:
    graph = Graph().parse(published.data_dir / "catalogue" / "current" / "dcat" / "catalog.ttl")
    ds = next(d for d in graph.subjects(DCT.identifier, None)
              if str(d).endswith("/buildings"))
    downloads = {str(graph.value(d, DCAT.downloadURL)): d
                 for d in graph.objects(ds, DCAT.distribution)
                 if graph.value(d, DCAT.downloadURL) is not None}
    eu = "http://publications.europa.eu/resource/authority/file-type/"
    for name, fmt in (("buildings.city.json", "JSON"), ("buildings.citygml.gml", "GML"),
                      ("buildings.tiles.json", "JSON"),
                      ("buildings.3dtiles/existing/tileset.json", "JSON")):
        dist = next(d for u, d in downloads.items()
                    if u.endswith(f"/downloads/buildings/{name}"))
        assert graph.value(dist, DCT["format"]) == URIRef(eu + fmt)
        served = published.release("buildings") / name
        assert float(graph.value(dist, DCAT.byteSize)) == served.stat().st_size


def test_a_tile_missing_or_changed_in_the_release_is_never_advertised(
        published: Published, tmp_path: Path) -> None:
    """The offers read each tile's size from the file itself: a tile gone from the release,
    or of another length than its index says, stops the catalogue build with the file named
    (no dead or wrong link in the Atom feed and the records)."""
    import shutil

    from gdi.city3d import offers
    from gdi.errors import GdiError

    rel = tmp_path / "release"
    shutil.copytree(published.release("buildings"), rel, symlinks=True)
    good = offers.offers("buildings", rel, "http://x", "Gebäude", "Buildings")
    assert {o.key for o in good} == {"citygml_tiles", "cityjson_tiles", "3dtiles"}
    index = json.loads((rel / "buildings.tiles.json").read_text(encoding="utf-8"))
    first, second = index["tiles"][0], index["tiles"][-1]
    (rel / first["citygml"]["href"]).unlink()
    with pytest.raises(GdiError, match=r"\.citygml\.gml: in the tile index but not in the release"):
        offers.offers("buildings", rel, "http://x", "Gebäude", "Buildings")
    shutil.copy(published.release("buildings") / first["citygml"]["href"],
                rel / first["citygml"]["href"])
    with (rel / second["cityjson"]["href"]).open("a", encoding="utf-8") as fh:
        fh.write(" ")
    with pytest.raises(GdiError, match="bytes, the tile index says"):
        offers.offers("buildings", rel, "http://x", "Gebäude", "Buildings")


# --- the gate: regression tests for the ways a sectioned entry goes wrong -----------------

def _docs(server: Server) -> dict[str, bytes]:
    return {"buildings.xml": http_body(f"{server.base}/atom/buildings.xml")}


def _broken(server: Server, change: Any) -> list[str]:
    feed = _feed(server)
    change(feed)
    return rules.problems({"buildings.xml": etree.tostring(feed)}, SCHEMAS)


SCHEMAS: Path = SHARED / "inspire-schemas"


def test_gate_passes_the_served_feed(server: Server) -> None:
    assert rules.problems(_docs(server), SCHEMAS) == []


def _entry(feed: etree._Element, media: str) -> etree._Element:
    return _sectioned(feed)[media]


def _one_section(feed: etree._Element) -> None:
    entry = _entry(feed, "application/city+json")
    for link in entry.findall("a:link[@rel='section']", NS)[1:]:
        entry.remove(link)


def _no_content(feed: etree._Element) -> None:
    entry = _entry(feed, "application/city+json")
    entry.remove(entry.find("a:content", NS))


def _unregistered_alternate(feed: etree._Element) -> None:
    link = feed.find("a:entry/a:link[@rel='alternate']", NS)
    link.set("type", "application/city+json")


def _duplicate(feed: etree._Element) -> None:
    entry = _entry(feed, "application/city+json")
    feed.append(deepcopy(entry))


def _no_length(feed: etree._Element) -> None:
    link = _entry(feed, "model/gltf-binary").find("a:link[@rel='section']", NS)
    del link.attrib["length"]


def _unknown_type(feed: etree._Element) -> None:
    link = _entry(feed, "model/gltf-binary").find("a:link[@rel='section']", NS)
    link.set("type", "application/x-made-up")


@pytest.mark.parametrize(("change", "said"), [
    (_one_section, "a single section link"),
    (_no_content, "sections without the structure in content"),
    (_unregistered_alternate, "is not in the INSPIRE media-types register"),
    (_duplicate, "two entries for one format and CRS"),
    (_no_length, "lacks type, length, hreflang or title"),
    (_unknown_type, "unknown media type application/x-made-up"),
])
def test_gate_rejects_a_broken_sectioned_feed(server: Server, change: Any, said: str) -> None:
    found = _broken(server, change)
    assert any(said in p for p in found), found
