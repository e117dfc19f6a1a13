"""Issue 4 (first part): the INSPIRE View Service, MapServer WMS 1.3.0 behind the same root."""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pyogrio
import pytest
from lxml import etree
from PIL import Image

from gdi import crs
from gdi.xsd import schema_for, validate_tree
from tests.conftest import SHARED, Published, Server, http_body

WMS = "http://www.opengis.net/wms"
VS = "http://inspire.ec.europa.eu/schemas/inspire_vs/1.0"
INSPIRE_LAYERS = {"trees": "SD.SpeciesDistribution", "playgrounds": "LU.ExistingLandUse",
                  "contaminated_sites": "AM.RestrictedZonesAroundContaminatedSites"}


def _wms(server: Server, **params: str) -> bytes:
    query = {"SERVICE": "WMS", "VERSION": "1.3.0", **params}
    return http_body(f"{server.base}/wms?{urllib.parse.urlencode(query)}")


def test_capabilities_validate_offline_with_inspire_extended_capabilities(
        server: Server) -> None:
    doc = etree.fromstring(_wms(server, REQUEST="GetCapabilities"))
    schema = schema_for(SHARED / "inspire-schemas", [
        (WMS, "http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd"),
        (VS, "http://inspire.ec.europa.eu/schemas/inspire_vs/1.0/inspire_vs.xsd"),
        ("http://www.opengis.net/sld",
         "http://schemas.opengis.net/sld/1.1.0/sld_capabilities.xsd")])
    validate_tree(doc, schema, name="GetCapabilities")
    ext = doc.find(f".//{{{VS}}}ExtendedCapabilities")
    assert ext is not None
    langs = [e.text for e in ext.iter("{http://inspire.ec.europa.eu/schemas/common/1.0}Language")]
    assert {"ger", "eng"} <= set(langs)
    names = {e.text for e in doc.iter(f"{{{WMS}}}Name")}
    assert set(INSPIRE_LAYERS.values()) <= names
    crs_list = {e.text for e in doc.iter(f"{{{WMS}}}CRS")}
    assert {"EPSG:25832", "EPSG:4258", "EPSG:4326", "EPSG:3857", "EPSG:3035"} <= crs_list


def _gfi(server: Server, layer: str, x: float, y: float, fmt: str, half: float = 5) -> bytes:
    """GetFeatureInfo at the centre pixel of a small box around (x, y)."""
    return _wms(server, REQUEST="GetFeatureInfo", LAYERS=layer, QUERY_LAYERS=layer, STYLES="",
                CRS="EPSG:25832", BBOX=f"{x - half},{y - half},{x + half},{y + half}",
                WIDTH="101", HEIGHT="101", I="50", J="50", INFO_FORMAT=fmt)


def _anchor(published: Published, dataset: str) -> tuple[float, float, dict[str, object]]:
    frame = pyogrio.read_dataframe(published.release(dataset) / f"{dataset}.gpkg",
                                   max_features=1)
    p = frame.geometry.iloc[0].representative_point()
    return p.x, p.y, frame.drop(columns="geometry").iloc[0].to_dict()


def _pixels(png: bytes) -> tuple[int, int]:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    colours = img.getcolors(maxcolors=1 << 20) or []
    white = sum(n for n, c in colours if c == (255, 255, 255))
    return img.width * img.height - white, white


@pytest.mark.parametrize("dataset", sorted(INSPIRE_LAYERS))
def test_getmap_draws_the_data_where_it_is(published: Published, server: Server,
                                          dataset: str) -> None:
    from owslib.wms import WebMapService

    wms = WebMapService(f"{server.base}/wms", version="1.3.0")
    layer = INSPIRE_LAYERS[dataset]
    assert layer in wms.contents
    x, y, _ = _anchor(published, dataset)
    for code, box in (("EPSG:25832", (x - 60, y - 60, x + 60, y + 60)),):
        png = wms.getmap(layers=[layer], styles=[""], srs=code, bbox=box, size=(256, 256),
                         format="image/png").read()
        drawn, _ = _pixels(png)
        assert drawn > 0, (layer, code)
    lon, lat = crs.transform_xy([x], [y], "EPSG:25832", "EPSG:4326")
    d = 0.001
    # WMS 1.3.0 and EPSG:4326: latitude first
    png = http_body(f"{server.base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS={layer}"
                    f"&STYLES=&CRS=EPSG:4326&BBOX={lat[0] - d},{lon[0] - d},{lat[0] + d},"
                    f"{lon[0] + d}&WIDTH=256&HEIGHT=256&FORMAT=image/png")
    assert _pixels(png)[0] > 0, (layer, "EPSG:4326")
    empty = wms.getmap(layers=[layer], styles=[""], srs="EPSG:25832",
                       bbox=(500000, 5700000, 500100, 5700100), size=(64, 64),
                       format="image/png").read()
    assert _pixels(empty) == (0, 64 * 64)  # background only where there are no data


def test_getfeatureinfo_at_a_known_tree_returns_its_public_attributes(
        published: Published, server: Server) -> None:
    x, y, props = _anchor(published, "trees")
    body = _gfi(server, "SD.SpeciesDistribution", x, y, "application/vnd.ogc.gml")
    text = body.decode()
    assert str(props["local_id"]) in text and str(props["tree_number"]) in text
    assert "inspector" not in text and "GEHEIM" not in text


def test_public_wms_never_shows_confidential_data(published: Published, server: Server) -> None:
    caps = _wms(server, REQUEST="GetCapabilities")
    assert b"GEHEIM" not in caps and b"owner" not in caps and b"sponsor" not in caps
    x, y, _ = _anchor(published, "contaminated_sites")
    body = _gfi(server, "AM.RestrictedZonesAroundContaminatedSites", x, y,
                "application/vnd.ogc.gml")
    assert b"register_number" in body or b"ALT-" in body
    assert b"GEHEIM" not in body and b"owner" not in body and b"parcel" not in body


def test_legend_and_crown_sized_trees(published: Published, server: Server) -> None:
    legend = _wms(server, REQUEST="GetLegendGraphic", LAYER="SD.SpeciesDistribution",
                  FORMAT="image/png", SLD_VERSION="1.1.0", STYLE="inspire_common:DEFAULT")
    assert legend.startswith(b"\x89PNG") and _pixels(legend)[0] > 0
    x, y, props = _anchor(published, "trees")
    box = f"{x - 20},{y - 20},{x + 20},{y + 20}"  # 40 m in 200 px: 5 px per metre
    png = _wms(server, REQUEST="GetMap", LAYERS="SD.SpeciesDistribution", STYLES="",
               CRS="EPSG:25832", BBOX=box, WIDTH="200", HEIGHT="200", FORMAT="image/png")
    drawn, _ = _pixels(png)
    crown = float(str(props["crown_diameter_m"]))
    # a crown of d metres covers about pi/4 (5 d)^2 pixels (other trees may add more)
    assert drawn >= 0.5 * 3.14159 / 4 * (5 * crown) ** 2


def test_internal_wms_shows_everything_only_with_credentials(published: Published,
                                                             server: Server) -> None:
    import base64
    import urllib.request

    internal = pyogrio.read_dataframe(
        published.release("contaminated_sites") / "internal" / "contaminated_sites.gpkg")
    private = internal[(internal.kind != "Altablagerung")
                       & ~internal.municipal_land.astype(bool)].iloc[0]
    p = private.geometry.representative_point()
    query = urllib.parse.urlencode({
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo",
        "LAYERS": "AM.RestrictedZonesAroundContaminatedSites",
        "QUERY_LAYERS": "AM.RestrictedZonesAroundContaminatedSites", "STYLES": "",
        "CRS": "EPSG:25832", "BBOX": f"{p.x - 2},{p.y - 2},{p.x + 2},{p.y + 2}",
        "WIDTH": "101", "HEIGHT": "101", "I": "50", "J": "50",
        "INFO_FORMAT": "application/vnd.ogc.gml"})
    public = http_body(f"{server.base}/wms?{query}")
    assert private.register_number.encode() not in public  # as if it did not exist
    url = f"{server.base}/internal/wms?{query}"
    from tests.conftest import INTERNAL, http_status

    assert http_status(url) == 401
    token = base64.b64encode(f"{INTERNAL[0]}:{INTERNAL[1]}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = resp.read()
    assert private.register_number.encode() in body and private.owner.encode() in body


def _qgis_python() -> str | None:
    import subprocess

    probe = subprocess.run(["/usr/bin/python3", "-c", "import qgis.core"],
                           capture_output=True, check=False)
    return "/usr/bin/python3" if probe.returncode == 0 else None


@pytest.mark.qgis
def test_qgis_loads_the_services_counts_features_and_renders(published: Published,
                                                            server: Server,
                                                            tmp_path: Path) -> None:
    import json
    import os
    import subprocess

    python = _qgis_python()
    if python is None:
        pytest.skip("QGIS (Debian qgis, python3-qgis) is not installed here")
    collections = ["playgrounds", "playground_equipment", "contaminated_sites", "trees"]
    png = tmp_path / "qgis.png"
    proc = subprocess.run(
        [python, str(Path(__file__).parent / "clients" / "qgis_client.py"), server.base,
         str(png), *collections], capture_output=True, text=True, timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp_path)})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(lines[-1])
    expected = {c: published.reports[c]["published"] for c in collections}
    expected["contaminated_sites"] = published.reports["contaminated_sites"]["public"]["records"]
    assert result["counts"] == expected
    assert result["wms_valid"] is True
    drawn, _ = _pixels(png.read_bytes())
    assert drawn > 0  # not blank


def test_english_titles_and_a_wfs_with_the_same_public_split(published: Published,
                                                             server: Server) -> None:
    eng = _wms(server, REQUEST="GetCapabilities", LANGUAGE="eng").decode()
    assert "Playgrounds" in eng and "view service" in eng
    from owslib.wfs import WebFeatureService

    wfs = WebFeatureService(f"{server.base}/wms", version="2.0.0")
    name = "ms:AM.RestrictedZonesAroundContaminatedSites"
    assert name in wfs.contents
    body = wfs.getfeature(typename=[name]).read()
    text = body.decode() if isinstance(body, bytes) else body
    assert text.count("<wfs:member>") == published.reports["contaminated_sites"]["public"][
        "records"]
    assert "GEHEIM" not in text and "owner" not in text and "parcel" not in text


def test_getfeatureinfo_html_shows_the_public_attributes(published: Published,
                                                        server: Server) -> None:
    x, y, props = _anchor(published, "trees")
    body = _gfi(server, "SD.SpeciesDistribution", x, y, "text/html").decode()
    assert "<table>" in body and "Baumnummer" in body and str(props["tree_number"]) in body
    assert "Kontrolleur" not in body and "GEHEIM" not in body and "inspector" not in body


def test_getfeatureinfo_json_has_exactly_the_public_fields(published: Published,
                                                          server: Server) -> None:
    import json

    x, y, props = _anchor(published, "trees")
    body = _gfi(server, "SD.SpeciesDistribution", x, y, "application/json")
    features = json.loads(body)["features"]
    assert features and features[0]["properties"]["local_id"] == props["local_id"]
    assert set(features[0]["properties"]) == set(props)  # the public store's fields, no more
