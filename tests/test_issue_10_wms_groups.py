"""Issue 10, view service: two datasets of the same INSPIRE layer stay one layer (a group of
both), never LU.ExistingLandUse_01/_02."""

from __future__ import annotations

import shutil
from pathlib import Path

from lxml import etree

from tests.conftest import ROOT, Published, gdi, http_body, serve

WMS = "http://www.opengis.net/wms"


def test_two_datasets_of_one_inspire_layer_are_one_group(published: Published,
                                                         tmp_path: Path) -> None:
    folder = shutil.copytree(ROOT / "datasets", tmp_path / "datasets")
    text = (folder / "playgrounds.yml").read_text(encoding="utf-8")
    second = (text.replace("id: playgrounds\n", "id: playgrounds_north\n", 1)
              .replace("collection: playgrounds\n", "collection: playgrounds_north\n", 1))
    assert second != text
    (folder / "playgrounds_north.yml").write_text(second, encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(published.data_dir / "sources", data / "sources")
    env = {"GDI_DATASETS_DIR": str(folder)}
    for name in ("playgrounds", "playgrounds_north"):
        gdi("run", name, "-q", data_dir=data, env=env)
    with serve(data, env) as base:
        caps = http_body(f"{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities")
        png = http_body(f"{base}/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap"
                        "&LAYERS=LU.ExistingLandUse&STYLES=&CRS=EPSG:25832"
                        "&BBOX=556000,5767000,574000,5786000&WIDTH=256&HEIGHT=256"
                        "&FORMAT=image/png")
    doc = etree.fromstring(caps)
    names = [e.text for e in doc.iter(f"{{{WMS}}}Name") if e.getparent().tag == f"{{{WMS}}}Layer"]
    assert names.count("LU.ExistingLandUse") == 1, names
    assert not [n for n in names if n and n.startswith("LU.ExistingLandUse_")], names
    group = next(e.getparent() for e in doc.iter(f"{{{WMS}}}Name")
                 if e.text == "LU.ExistingLandUse")
    children = [c.findtext(f"{{{WMS}}}Name") for c in group.findall(f"{{{WMS}}}Layer")]
    assert sorted(children) == ["playgrounds", "playgrounds_north"]
    assert group.findtext(f"{{{WMS}}}Title") == "Bestehende Landnutzung"
    assert png.startswith(b"\x89PNG")
