"""Issue 10, any municipality: a second city profile (Flensburg) with its own descriptors runs
end to end, and no output of it names Hildesheim."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import ROOT, SHARED, gdi, http_body, serve

PROFILE = ROOT / "tests" / "profiles" / "flensburg.yml"
DESCRIPTORS = ROOT / "tests" / "descriptors"


def _env() -> dict[str, str]:
    return {"GDI_CITY_PROFILE": str(PROFILE), "GDI_DATASETS_DIR": str(DESCRIPTORS)}


def _scrub(data: bytes) -> bytes:
    """Paths of this checkout may contain the project's name (the folder of a clone)."""
    for root in (ROOT, SHARED, ROOT.resolve(), SHARED.resolve()):
        data = data.replace(str(root).encode(), b"<root>")
    return data


def test_a_second_city_runs_end_to_end_without_hildesheim(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gdi("run", "--all", "-q", "--report", str(tmp_path / "r.json"), data_dir=data, env=_env())
    reports = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert [r["dataset"] for r in reports] == ["flensburg_trees"]
    r = reports[0]
    assert r["status"] == "published" and r["inspire"]["members"] > 0
    gml = (data / "publish" / "flensburg_trees" / "current" / "flensburg_trees.inspire.gml")
    assert b"https://registry.gdi-de.org/id/de.sh.flensburg/trees" in gml.read_bytes()
    with serve(data, _env()) as base:
        pages = {url: http_body(base + url) for url in (
            "/", "/ogcapi/?f=json", "/ogcapi/?f=html", "/ogcapi/collections?f=json",
            "/ogcapi/collections/flensburg_trees?f=json",
            "/ogcapi/collections/flensburg_trees/items?limit=5",
            "/ogcapi/openapi?f=json",
            "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities",
            "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities&LANGUAGE=eng",
            "/wms?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities")}
    assert b"Stadt Flensburg" in pages["/"] and b"Flensburg" in pages[
        "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities"]
    for url, body in pages.items():
        assert not re.search(rb"hildesheim", _scrub(body), re.I), url
    found = []
    for path in data.rglob("*"):
        if path.is_file() and not path.is_socket() and "sources" not in path.parts and \
                re.search(rb"hildesheim", _scrub(path.read_bytes()), re.I):
            found.append(path)
    assert not found, found[:5]
