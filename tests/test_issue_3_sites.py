"""Issue 3, contaminated-sites part: AM zones, and data that must stay confidential."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request

import pyogrio
from lxml import etree

from gdi.samples.sites import CANARY
from gdi.xsd import schema_for, validate_file
from tests.conftest import INTERNAL, SHARED, Published, Server, http_body, http_status

AM = "http://inspire.ec.europa.eu/schemas/am/4.0"
AM_XSD = "https://inspire.ec.europa.eu/schemas/am/4.0/AreaManagementRestrictionRegulationZone.xsd"
WFS = "http://www.opengis.net/wfs/2.0"
XLINK = "http://www.w3.org/1999/xlink"


def _internal(published: Published):  # type: ignore[no-untyped-def]
    path = published.release("contaminated_sites") / "internal" / "contaminated_sites.gpkg"
    return pyogrio.read_dataframe(path, layer="contaminated_sites")


def test_accounting_public_part_and_internal_store(published: Published) -> None:
    r = published.reports["contaminated_sites"]
    assert r["read"] == r["published"] + r["rejected"] == 1334
    full = _internal(published)
    assert len(full) == r["published"]
    for col in ("owner", "owner_address", "parcel", "location", "case_officer", "notes"):
        assert full[col].str.startswith(CANARY).all(), col  # the canaries are really there
    public = pyogrio.read_dataframe(
        published.release("contaminated_sites") / "contaminated_sites.gpkg")
    expected = full[(full.kind == "Altablagerung") | full.municipal_land.astype(bool)]
    assert set(public.register_number) == set(expected.register_number)
    assert r["public"]["records"] == len(public) and (public.kind == "Altablagerung").sum() >= 34
    assert not {"owner", "owner_address", "parcel", "location", "case_officer",
                "notes"} & set(public.columns)


def test_am_gml_is_valid_and_carries_only_the_public_part(published: Published) -> None:
    gml = published.release("contaminated_sites") / "contaminated_sites.inspire.gml"
    schema = schema_for(SHARED / "inspire-schemas",
                        [(WFS, "http://schemas.opengis.net/wfs/2.0/wfs.xsd"), (AM, AM_XSD)])
    validate_file(gml, schema)
    text = gml.read_bytes()
    assert CANARY.encode() not in text
    doc = etree.parse(str(gml))
    zones = doc.findall(f"{{{WFS}}}member/{{{AM}}}ManagementRestrictionOrRegulationZone")
    assert len(zones) == published.reports["contaminated_sites"]["public"]["records"]
    hrefs = {e.get(f"{{{XLINK}}}href") for e in doc.iter() if e.get(f"{{{XLINK}}}href")}
    for needed in ("ZoneTypeCode/restrictedZonesAroundContaminatedSites",
                   "EnvironmentalDomain/soil", "LegislationLevelValue/national"):
        assert any(h.endswith(needed) for h in hrefs), needed
    for h in hrefs:
        if "inspire.ec.europa.eu/codelist/" in h:
            name = h.split("/codelist/")[1].split("/")[0]
            listed = next((SHARED / "inspire-codelists" / name).glob("*.xml")).read_text()
            assert f'"{h}"' in listed, h
    assert b"BBodSchG" in text


def test_grid_counts_suppress_small_numbers(published: Published) -> None:
    cells = pyogrio.read_dataframe(
        published.release("contaminated_sites") / "contaminated_sites_grid.gpkg")
    assert len(cells) > 0 and (cells["count"] >= 3).all()
    assert cells.cell_id.str.match(r"^CRS3035RES1000mN\d+E\d+$").all()
    assert "total" not in cells.columns  # totals would reveal suppressed counts
    assert cells["count"].sum() <= published.reports["contaminated_sites"]["published"]


def test_no_confidential_value_or_private_site_reaches_the_public(published: Published,
                                                                  server: Server) -> None:
    full = _internal(published)
    private = full[(full.kind != "Altablagerung") & ~full.municipal_land.astype(bool)]
    private_ids = set(private.register_number)
    api = server.ogcapi
    urls = [f"{server.base}/", f"{api}/collections", f"{api}/openapi?f=json",
            f"{server.base}/downloads/contaminated_sites/contaminated_sites.inspire.gml",
            f"{server.base}/downloads/contaminated_sites/contaminated_sites.gpkg",
            f"{server.base}/downloads/contaminated_sites/contaminated_sites_grid.gpkg",
            f"{server.base}/codelists/ContaminatedSiteStatusValue/"]
    for coll in ("contaminated_sites", "contaminated_sites_grid"):
        base = f"{api}/collections/{coll}"
        urls += [base, f"{base}/queryables", f"{base}/items?limit=10000",
                 f"{base}/items?f=html&limit=100", f"{base}/items?f=csv&limit=10000",
                 f"{base}/items?properties=owner,parcel,notes",
                 f"{base}/items?filter=" + urllib.parse.quote("owner IS NOT NULL")]
    for url in urls:
        body = http_body(url)
        assert CANARY.encode() not in body, url
        sample = [i for i in sorted(private_ids)[:200] if i.encode() in body]
        assert not sample, (url, sample[:3])
    for prop in ("owner", "parcel", "case_officer"):
        assert http_status(f"{api}/collections/contaminated_sites/items?{prop}=x") == 400
    doc = json.loads(http_body(f"{api}/collections/contaminated_sites/items?limit=10000"))
    assert doc["numberMatched"] == published.reports["contaminated_sites"]["public"]["records"]
    for path in published.data_dir.rglob("*"):
        if path.is_file() and not {"sources", "internal"} & set(path.parts):
            assert CANARY.encode() not in path.read_bytes(), path


def _auth_get(url: str, user: str, password: str) -> tuple[int, bytes]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), bytes(exc.read())


def test_internal_users_get_the_full_data_behind_authentication(published: Published,
                                                                server: Server) -> None:
    items = f"{server.base}/internal/ogcapi/collections/contaminated_sites/items?limit=2000"
    assert http_status(items) == 401
    assert _auth_get(items, INTERNAL[0], "wrong")[0] == 401
    status, body = _auth_get(items, *INTERNAL)
    assert status == 200
    doc = json.loads(body)
    assert doc["numberMatched"] == published.reports["contaminated_sites"]["published"]
    owners = {f["properties"]["owner"] for f in doc["features"]}
    assert all(o.startswith(f"{CANARY}-EIGENTUEMER-") for o in owners) and len(owners) > 1000
    # internal properties are queryable internally (and only there)
    one = urllib.parse.quote("GEHEIM-EIGENTUEMER-18 Müller")
    status, body = _auth_get(f"{server.base}/internal/ogcapi/collections/contaminated_sites/"
                             f"items?owner={one}", *INTERNAL)
    assert status == 200 and json.loads(body)["numberMatched"] == 1
    trees = f"{server.base}/internal/ogcapi/collections/trees/items?limit=1"
    assert b"inspector" in _auth_get(trees, *INTERNAL)[1]
    # the public side is unchanged, and the rest of /internal/ does not exist
    assert http_status(f"{server.base}/internal/") == 404
    assert json.loads(http_body(f"{server.ogcapi}/collections/contaminated_sites/items?limit=1"))[
        "numberMatched"] == published.reports["contaminated_sites"]["public"]["records"]


def test_private_geometries_never_reach_the_public(published: Published, server: Server) -> None:
    full = _internal(published)
    private = full[(full.kind != "Altablagerung") & ~full.municipal_land.astype(bool)]
    private_points = {(round(p.x, 1), round(p.y, 1))
                      for p in private.geometry.representative_point()}
    served = pyogrio.read_dataframe(f"OAPIF:{server.ogcapi}", layer="contaminated_sites",
                                    CRS="EPSG:25832")
    served_points = {(round(p.x, 1), round(p.y, 1))
                     for p in served.geometry.representative_point()}
    assert served_points and not served_points & private_points
    cells = pyogrio.read_dataframe(f"OAPIF:{server.ogcapi}", layer="contaminated_sites_grid",
                                   CRS="EPSG:25832")
    assert (cells.geometry.area > 0.9e6).all()  # whole 1 km cells, no site outlines


def test_real_clients_count_the_public_collections(published: Published,
                                                   server: Server) -> None:
    from owslib.ogcapi.features import Features

    public = published.reports["contaminated_sites"]["public"]
    api = Features(server.ogcapi)
    for coll, expected in (("contaminated_sites", public["records"]),
                           ("contaminated_sites_grid", public["aggregate_rows"])):
        page = api.collection_items(coll, limit=10000)
        assert page["numberMatched"] == expected == len(page["features"]), coll
        assert len(pyogrio.read_dataframe(f"OAPIF:{server.ogcapi}", layer=coll)) == expected
