"""Issue 3, playground part: the playground cadastre to INSPIRE ELU, equipment as a table."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pyogrio
import yaml
from lxml import etree

from gdi import lifespan
from gdi.samples.playgrounds import SPONSOR_CANARY
from gdi.xsd import schema_for, validate_file
from tests.conftest import (
    ROOT,
    SHARED,
    Published,
    Server,
    copy_tree,
    gdi,
    get_json,
    http_body,
    http_status,
)

ELU = "http://inspire.ec.europa.eu/schemas/elu/4.0"
ELU_XSD = "https://inspire.ec.europa.eu/schemas/elu/4.0/ExistingLandUse.xsd"
WFS = "http://www.opengis.net/wfs/2.0"
GML = "http://www.opengis.net/gml/3.2"
XLINK = "http://www.w3.org/1999/xlink"


def test_accounting_and_geometry_repairs(published: Published) -> None:
    r = published.reports["playgrounds"]
    assert r["read"] == r["published"] + r["rejected"] and r["published"] == 157
    reasons = {x["reason"] for x in r["rejections"]}
    assert reasons == {"retired playground: not published",
                       "invalid polygon that cannot be repaired"}
    amended = {a["reason"] for a in r["amendments"]}
    assert {"ring not closed; closed when read", "repeated vertices removed",
            "invalid polygon repaired (make_valid, structure)"} <= amended
    gpkg = published.release("playgrounds") / "playgrounds.gpkg"
    frame = pyogrio.read_dataframe(gpkg, layer="playgrounds")
    assert frame.geometry.is_valid.all() and (frame.geometry.geom_type == "MultiPolygon").all()
    assert set(frame.playground_type) == {"Kleinkinderspielplatz", "Kinderspielplatz",
                                          "Jugendspielplatz"}
    assert frame.playground_type.value_counts().to_dict() == {
        "Kinderspielplatz": 113, "Jugendspielplatz": 32, "Kleinkinderspielplatz": 12}
    assert "Kleinkinder, Schulkinder" in set(frame.target_groups)  # multi-valued, normalised
    assert set(frame.local_id) == {str(i) for i in range(1, 158)}  # "SP-012" -> "12"
    eq = published.reports["playground_equipment"]
    assert eq["read"] == eq["published"] + eq["rejected"]
    assert {x["reason"] for x in eq["rejections"]} == {
        "no published record of 'playgrounds' with this id"}
    assert any(a["reason"] == "not a valid number" and a["field"] == "free_height_of_fall_m"
               for a in eq["amendments"])


def test_elu_gml_is_valid_and_every_code_is_in_its_list(published: Published) -> None:
    gml = published.release("playgrounds") / "playgrounds.inspire.gml"
    schema = schema_for(SHARED / "inspire-schemas", [(WFS, "http://schemas.opengis.net/wfs/2.0/wfs.xsd"),
                                                     (ELU, ELU_XSD)])
    validate_file(gml, schema)
    doc = etree.parse(str(gml))
    datasets = doc.findall(f"{{{WFS}}}member/{{{ELU}}}ExistingLandUseDataSet")
    objects = doc.findall(f"{{{WFS}}}member/{{{ELU}}}ExistingLandUseObject")
    assert len(datasets) == 1 and len(objects) == 157
    ds_id = datasets[0].get(f"{{{GML}}}id")
    assert {o.find(f"{{{ELU}}}dataset").get(f"{{{XLINK}}}href") for o in objects} == {f"#{ds_id}"}
    hilucs = {o.find(f"{{{ELU}}}hilucsLandUse").get(f"{{{XLINK}}}href") for o in objects}
    registry = (SHARED / "inspire-codelists" / "HILUCSValue").glob("*.xml")
    known = etree.parse(str(next(registry))).xpath("//value/@id")
    assert hilucs <= set(known) and hilucs == {
        "http://inspire.ec.europa.eu/codelist/HILUCSValue/3_4_4_OpenAirRecreationalAreas"}
    city = yaml.safe_load((ROOT / "datasets/codelists/PlaygroundTypeValue.yml").read_text())
    specific = {o.find(f"{{{ELU}}}specificLandUse").get(f"{{{XLINK}}}href") for o in objects}
    assert {s.rsplit("/", 1)[1] for s in specific} == set(city["values"])
    assert all("/codelists/PlaygroundTypeValue/" in s for s in specific)


def test_city_code_list_values_resolve(published: Published, server: Server) -> None:
    gml = (published.release("playgrounds") / "playgrounds.inspire.gml").read_text()
    assert "/codelists/PlaygroundTypeValue/" in gml
    for value in ("smallChildrenPlayground", "childrenPlayground", "youthPlayground"):
        assert http_status(f"{server.base}/codelists/PlaygroundTypeValue/{value}/") == 200
    doc = get_json(f"{server.base}/codelists/PlaygroundTypeValue/index.json")
    assert len(doc["values"]) == 3 and doc["extends"].endswith("3_4_4_OpenAirRecreationalAreas")


def test_sponsors_never_reach_a_public_endpoint_file_or_log(published: Published,
                                                             server: Server) -> None:
    canary = SPONSOR_CANARY.encode()
    api = server.ogcapi
    urls = [f"{server.base}/", f"{api}/", f"{api}/openapi", f"{api}/openapi?f=json",
            f"{api}/collections", f"{server.base}/codelists/PlaygroundTypeValue/"]
    for coll in ("playgrounds", "playground_equipment"):
        base = f"{api}/collections/{coll}"
        urls += [base, f"{base}/queryables", f"{base}/items?limit=10000",
                 f"{base}/items?f=html&limit=50", f"{base}/items?properties=sponsor",
                 f"{base}/items?sponsor={SPONSOR_CANARY}",
                 f"{base}/items?filter=" + urllib.parse.quote(f"sponsor LIKE '{SPONSOR_CANARY}%'"),
                 f"{base}/items?q={SPONSOR_CANARY}", f"{base}/items/1", f"{base}/items/1_G1",
                 f"{server.base}/downloads/{coll}/{coll}.gpkg"]
    urls.append(f"{server.base}/downloads/playgrounds/playgrounds.inspire.gml")
    for url in urls:
        body = http_body(url)
        if SPONSOR_CANARY in url:  # the probe's own query is echoed in the links: drop them
            doc = json.loads(body)
            assert doc.get("numberMatched", 0) == 0 or "code" in doc, url
            doc.pop("links", None)
            body = json.dumps(doc).encode()
        assert canary not in body, url
    # strict parameters: an internal property name is unknown to the public API
    assert http_status(f"{api}/collections/playgrounds/items?sponsor=x") == 400
    # every file the runs and the server wrote (releases, reports, logs), but the internal
    # stores, which must hold the sponsors (else this test would prove nothing)
    for path in published.data_dir.rglob("*"):
        if path.is_file() and not {"sources", "internal"} & set(path.parts):
            assert canary not in path.read_bytes(), path
    internal = published.release("playgrounds") / "internal" / "playgrounds.gpkg"
    assert canary in internal.read_bytes()


def test_real_clients_page_through_both_collections(published: Published,
                                                    server: Server) -> None:
    from owslib.ogcapi.features import Features

    api = Features(server.ogcapi)
    for coll in ("playgrounds", "playground_equipment"):
        expected = published.reports[coll]["published"]
        ids: list[str] = []
        offset = 0
        while True:
            page = api.collection_items(coll, limit=500, offset=offset)
            ids += [f["id"] for f in page["features"]]
            if page["numberReturned"] < 500:
                break
            offset += 500
        assert len(set(ids)) == expected, coll
        frame = pyogrio.read_dataframe(f"OAPIF:{server.ogcapi}", layer=coll)
        assert len(frame) == expected, coll


def test_identifiers_and_versions_are_stable(published: Published, tmp_path: Path) -> None:
    data = copy_tree(published.data_dir, tmp_path / "data")

    def state(dataset: str) -> dict[str, str]:
        frame = lifespan.read_state((data / "publish" / dataset / "current").resolve())
        return dict(zip(frame["local_id"], frame["begin"], strict=True))

    before = {d: state(d) for d in ("playgrounds", "playground_equipment")}
    gdi("run", "--all", "-q", data_dir=data)
    assert {d: state(d) for d in before} == before
    report = json.loads((data / "reports/playgrounds/latest.json").read_text())
    assert report["lifespan"]["unchanged"] == 157
