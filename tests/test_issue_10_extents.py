"""Issue 10, extents: every feature lies inside its collection's advertised extent, and a
client that asks for that extent as its bbox gets every feature."""

from __future__ import annotations

import numpy as np
import pyogrio
import pyproj
import shapely

from tests.conftest import Published, Server, get_json

_TO84 = pyproj.Transformer.from_crs("EPSG:25832", "OGC:CRS84", always_xy=True)


def test_every_feature_lies_inside_the_advertised_extent(published: Published,
                                                         server: Server) -> None:
    collections = get_json(f"{server.ogcapi}/collections?f=json")["collections"]
    checked = 0
    for coll in collections:
        name = coll["id"]
        box = coll["extent"]["spatial"]["bbox"][0]
        store = next(published.data_dir.glob(f"publish/*/current/{name}.gpkg"), None)
        assert store is not None, name
        frame = pyogrio.read_dataframe(store, layer=name)
        coords = shapely.get_coordinates(frame.geometry.values)
        lon, lat = _TO84.transform(coords[:, 0], coords[:, 1])
        inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
        assert inside.all(), (name, box, int((~inside).sum()))
        items = get_json(f"{server.ogcapi}/collections/{name}/items?limit=1&skipGeometry=true"
                         f"&bbox={','.join(map(str, box))}")
        assert items["numberMatched"] == len(frame), name
        checked += 1
    assert checked >= 5


def test_a_densified_edge_is_what_two_corners_miss() -> None:
    """The regression of the issue: two transformed corners cut the bulge of an edge."""
    from gdi.crs import crs84_extent

    extent = (556000.0, 5767000.0, 574000.0, 5786000.0)
    box = crs84_extent(extent, "EPSG:25832")
    xs = np.linspace(extent[0], extent[2], 500)
    lon, lat = _TO84.transform(np.concatenate([xs, xs]),
                               np.concatenate([np.full(500, extent[1]), np.full(500, extent[3])]))
    assert lon.min() >= box[0] and lat.min() >= box[1] and lat.max() <= box[3]
    _, corners_lat = _TO84.transform([extent[0], extent[2]], [extent[1], extent[3]])
    assert lat.min() < corners_lat[0]  # the bulge really lies outside the corners' box
