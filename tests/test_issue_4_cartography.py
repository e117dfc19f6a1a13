"""Issue 4: the view service's cartography: trees as counts per hectare at city-wide scales,
labels where useful, one INSPIRE default style per harmonised layer."""

from __future__ import annotations

import io
import urllib.parse

import numpy as np
import pyogrio
import pytest
from lxml import etree
from PIL import Image

from gdi import crs
from gdi.descriptor import ViewSpec
from gdi.publish.mapfile import DEFAULT_STYLE, OVERVIEW_RAMP, STYLES
from tests.conftest import Published, Server, http_body

WMS = "{http://www.opengis.net/wms}"
CITY = "556000,5767000,574000,5786000"  # 18 km x 19 km: about 1:66,000 in 1024 px


def _wms(server: Server, **params: str) -> bytes:
    query = {"SERVICE": "WMS", "VERSION": "1.3.0", **params}
    return http_body(f"{server.base}/wms?{urllib.parse.urlencode(query)}")


def _colours(png: bytes) -> dict[tuple[int, int, int], int]:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    return {c: n for n, c in img.getcolors(maxcolors=1 << 22) or []}


def test_every_inspire_layer_offers_the_inspire_default_style(server: Server) -> None:
    doc = etree.fromstring(_wms(server, REQUEST="GetCapabilities"))
    for name in STYLES:
        layer = next(e.getparent() for e in doc.iter(f"{WMS}Name") if e.text == name
                     and e.getparent().tag == f"{WMS}Layer")
        styles = [s.findtext(f"{WMS}Name") for s in layer.findall(f"{WMS}Style")]
        assert styles == [DEFAULT_STYLE], (name, styles)
        legend = _wms(server, REQUEST="GetLegendGraphic", LAYER=name, FORMAT="image/png",
                      SLD_VERSION="1.1.0", STYLE=DEFAULT_STYLE)
        assert legend.startswith(b"\x89PNG")


def test_city_wide_trees_are_drawn_as_counts_per_hectare(published: Published,
                                                         server: Server) -> None:
    png = _wms(server, REQUEST="GetMap", LAYERS="SD.SpeciesDistribution",
               STYLES=DEFAULT_STYLE, CRS="EPSG:25832", BBOX=CITY, WIDTH="1024", HEIGHT="1024",
               FORMAT="image/png")
    colours = _colours(png)
    ramp = {tuple(c) for _, c in OVERVIEW_RAMP}
    assert sum(n for c, n in colours.items() if c in ramp) > 2000  # hectares with trees
    assert tuple(STYLES["SD.SpeciesDistribution"]["color"]) not in colours  # no crowns
    # every public tree is counted once, in the cell the run published
    cells = pyogrio.read_dataframe(published.release() / "trees.overview.gpkg")
    assert int(cells["count"].sum()) == published.report["public"]["records"]
    assert published.report["public"]["overview_cells"] == len(cells)


def test_getfeatureinfo_city_wide_answers_with_the_cells_count(published: Published,
                                                               server: Server) -> None:
    trees = pyogrio.read_dataframe(published.release() / "trees.gpkg", columns=[])
    x, y = crs.transform_xy(trees.geometry.x.to_numpy(), trees.geometry.y.to_numpy(),
                            "EPSG:25832", "EPSG:3035")
    e, n = np.floor(x / 100).astype(int) * 100, np.floor(y / 100).astype(int) * 100
    keys, counts = np.unique(np.column_stack([e, n]), axis=0, return_counts=True)
    (ce, cn), expected = keys[counts.argmax()], int(counts.max())  # the densest hectare
    cx, cy = crs.transform_xy([ce + 50], [cn + 50], "EPSG:3035", "EPSG:25832")
    half = 1500  # 3 km in 101 px: 1:106,000, beyond the single trees' 1:25,000
    body = _wms(server, REQUEST="GetFeatureInfo", LAYERS="SD.SpeciesDistribution",
                QUERY_LAYERS="SD.SpeciesDistribution", STYLES="", CRS="EPSG:25832",
                BBOX=f"{cx[0] - half},{cy[0] - half},{cx[0] + half},{cy[0] + half}",
                WIDTH="101", HEIGHT="101", I="50", J="50", INFO_FORMAT="application/json")
    import json

    features = json.loads(body)["features"]
    cell = f"CRS3035RES100mN{cn}E{ce}"
    assert [f["properties"]["count"] for f in features
            if f["properties"]["cell_id"] == cell] == [expected]


def _dark_pixels(png: bytes) -> int:
    return sum(n for c, n in _colours(png).items() if max(c) < 90)


def test_playgrounds_are_labelled_with_their_names_at_large_scales(published: Published,
                                                                   server: Server) -> None:
    frame = pyogrio.read_dataframe(published.release("playgrounds") / "playgrounds.gpkg")
    labelled = frame[frame["name"].notna()].iloc[0].geometry.representative_point()

    def draw(half: float) -> bytes:
        return _wms(server, REQUEST="GetMap", LAYERS="LU.ExistingLandUse", STYLES="",
                    CRS="EPSG:25832", FORMAT="image/png", WIDTH="512", HEIGHT="512",
                    BBOX=f"{labelled.x - half},{labelled.y - half},{labelled.x + half},"
                         f"{labelled.y + half}")

    # 1:2,800 shows the name (dark text); 1:28,000 is beyond the labels' 1:10,000
    assert _dark_pixels(draw(200)) > 30
    far = draw(2000)
    assert _dark_pixels(far) == 0 and len(_colours(far)) > 1  # drawn, without labels


@pytest.mark.parametrize("spec, message", [
    ({"overview_grid_m": 100}, "give both"),
    ({"size_m_field": "crown", "label": {"field": "name"}}, "cannot carry labels"),
])
def test_view_spec_refuses_cartography_it_cannot_draw(spec: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ViewSpec.model_validate(spec)
