"""Issue 4: the view service's cartography: trees as counts per hectare at city-wide scales,
labels where useful, one INSPIRE default style per harmonised layer."""

from __future__ import annotations

import io
import json
import urllib.parse

import numpy as np
import pyogrio
import pytest
from lxml import etree
from PIL import Image

from gdi import crs
from gdi.descriptor import ViewSpec
from gdi.publish.mapfile import DEFAULT_STYLE, HILUCS_LEVEL1, OVERVIEW_RAMP, STYLES
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
    # no crowns: they have black outlines, the cells none (and no cell is darker than 50)
    assert tuple(STYLES["SD.SpeciesDistribution"]["outlinecolor"]) not in colours
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
    features = json.loads(body)["features"]
    cell = f"CRS3035RES100mN{cn}E{ce}"
    assert [f["properties"]["count"] for f in features
            if f["properties"]["cell_id"] == cell] == [expected]


def _label_pixels(png: bytes) -> int:
    """Pixels of the labels' navy (pure or blended with the halo); the INSPIRE styles of
    the layer are neutral (grey fill, black outline), so nothing else is bluish."""
    return sum(n for (r, _, b), n in _colours(png).items() if b - r >= 40)


def test_playgrounds_are_labelled_with_their_names_at_large_scales(published: Published,
                                                                   server: Server) -> None:
    frame = pyogrio.read_dataframe(published.release("playgrounds") / "playgrounds.gpkg")
    labelled = frame[frame["name"].notna()].iloc[0].geometry.representative_point()

    def draw(half: float) -> bytes:
        return _wms(server, REQUEST="GetMap", LAYERS="LU.ExistingLandUse", STYLES="",
                    CRS="EPSG:25832", FORMAT="image/png", WIDTH="512", HEIGHT="512",
                    BBOX=f"{labelled.x - half},{labelled.y - half},{labelled.x + half},"
                         f"{labelled.y + half}")

    # 1:2,800 shows the name; 1:28,000 is beyond the labels' 1:10,000
    assert _label_pixels(draw(200)) > 30
    far = draw(2000)
    assert _label_pixels(far) == 0 and len(_colours(far)) > 1  # drawn, without labels


def test_default_styles_follow_the_inspire_portrayal_rules(published: Published,
                                                            server: Server) -> None:
    """The fill colours the Technical Guidelines give: SD 50 % grey, LU the HILUCS level-1
    colour (playgrounds: 3_TertiaryProduction), AM red at 50 % over white."""
    expected = {"trees": (128, 128, 128), "playgrounds": tuple(HILUCS_LEVEL1["3"]),
                "contaminated_sites": (255, 127, 127)}
    layers = {"trees": "SD.SpeciesDistribution", "playgrounds": "LU.ExistingLandUse",
              "contaminated_sites": "AM.RestrictedZonesAroundContaminatedSites"}
    for dataset, colour in expected.items():
        frame = pyogrio.read_dataframe(published.release(dataset) / f"{dataset}.gpkg",
                                       max_features=50)
        if dataset == "trees":
            frame = frame[frame["crown_diameter_m"] >= 8]
        p = frame.geometry.iloc[0].representative_point()
        png = _wms(server, REQUEST="GetMap", LAYERS=layers[dataset], STYLES="",
                   CRS="EPSG:25832", BBOX=f"{p.x - 1},{p.y - 1},{p.x + 1},{p.y + 1}",
                   WIDTH="9", HEIGHT="9", FORMAT="image/png")
        centre = Image.open(io.BytesIO(png)).convert("RGB").getpixel((4, 4))
        assert all(abs(a - b) <= 2 for a, b in zip(centre, colour, strict=True)), (
            dataset, centre, colour)


@pytest.mark.parametrize("spec, message", [
    ({"overview_grid_m": 100}, "give both"),
    ({"size_m_field": "crown", "label": {"field": "name"}}, "cannot carry labels"),
])
def test_view_spec_refuses_cartography_it_cannot_draw(spec: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ViewSpec.model_validate(spec)
