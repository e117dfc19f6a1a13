"""Issue 15: the portal's 3D viewer (``/static/3d.html``, gdi.publish.viewer3d) in Debian's
Chromium, with WebGL (SwiftShader, software) and without.

The page is served by a small static HTTP server of the test (not the whole pipeline): a
folder with the page, the vendored libraries as ``gdi serve`` copies them
(gdi.publish.assets.copy_vendor) and a small 3D Tiles tileset per variant written by
gdi.city3d.tiles3d from extruded test buildings. What holds:

- with WebGL the tiles load, the city is drawn (pixels that are neither background nor
  ground), a click on a known building shows its attributes from the tile's property table
  in the aria-live panel, and the planning variant loads its own tileset;
- every request of the page goes to its own origin; without WebGL not even the libraries
  are requested;
- axe-core (WCAG 2.0/2.1 A and AA) finds nothing, with and without WebGL; without WebGL the
  notice and the links to the table, the dataset page and the 3D downloads are visible;
- the keyboard reaches the variant switch, the view and every control button, and the
  buttons and keys move the camera;
- every module the vendored libraries import resolves to a copied file (import map).
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import shapely

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
NODE_MODULES = ROOT / "portal" / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "tests" / "artefacts"
COMMON = ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync"]
WEBGL = [*COMMON, "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
         "--ignore-gpu-blocklist"]
NO_WEBGL = [*COMMON, "--disable-gpu", "--disable-webgl", "--disable-3d-apis"]
AXE_RUN = """() => axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})"""
TILESETS = "/downloads/buildings/buildings.3dtiles/{}/tileset.json"
LOAD_TIMEOUT_MS = 180_000  # SwiftShader renders on the CPU (2 cores in CI)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not AXE.exists() or not (NODE_MODULES / "three").exists(),
    reason="Chromium, axe-core or the 3D libraries missing: run scripts/setup.sh --test")

# the test town: a 5 x 5 grid of blocks on a slope near the city centre (EPSG:25832)
X0, Y0, STEP = 565_000.0, 5_776_000.0, 30.0
TALL = "DENIHI9999TALL"          # the centre block, 45 m high
PLANNED = "PLAN-2026-001"        # the planning variant's new building (in place of B4_4)
NO_STOREYS = "DENIHI0000B0_0"    # a block without a storey count (noData in the table)
N_GEOID = 43.7


@dataclass(frozen=True)
class Site:
    folder: Path
    base: str
    tiles: dict[str, int]            # variant -> content tiles
    roof_centre: dict[str, list[float]]  # building id -> ECEF of its roof centre


def _body(bid: str, i: int, j: int, height: float, status: str = "existing") -> Any:
    from gdi.city3d.model import Body
    from gdi.city3d.solids import extrude

    x, y = X0 + i * STEP, Y0 + j * STEP
    footprint = shapely.box(x, y, x + 16.0, y + 12.0)
    ground = 80.0 + 0.8 * i + 0.5 * j
    roof = ground + height
    return Body(id=bid, shell=extrude(footprint, ground, roof), ground=ground, roof=roof,
                attributes={"function": "31001_1000" if (i + j) % 2 else "31001_2020",
                            "roof_type": "1000",
                            "storeys": None if bid == NO_STOREYS else int(height // 3)},
                begin="2025-05-01T00:00:00Z", status=status)  # type: ignore[arg-type]


def _bodies(planning: bool) -> list[Any]:
    out = []
    for i in range(5):
        for j in range(5):
            if (i, j) == (2, 2):
                out.append(_body(TALL, i, j, 45.0))
            elif planning and (i, j) == (4, 4):
                out.append(_body(PLANNED, i, j, 24.0, "planned"))
            else:
                bid = f"DENIHI0000B{i}_{j}"
                out.append(_body(bid, i, j, 6.0 + 3 * ((i * 3 + j) % 4)))
    return out


def _roof_centre(body: Any) -> list[float]:
    from pyproj import Transformer

    roof = next(s for s in body.shell if s.kind == "RoofSurface").rings[0]
    x, y = roof[:, 0].mean(), roof[:, 1].mean()
    t = Transformer.from_crs("EPSG:25832", "EPSG:4978", always_xy=True)
    return [float(v) for v in t.transform(x, y, body.roof + N_GEOID)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from gdi.city3d import tiles3d
    from gdi.publish import assets, viewer3d
    from gdi.settings import Settings

    folder = tmp_path_factory.mktemp("viewer3d")
    handler = functools.partial(_Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    tiles, centres = {}, {}
    for variant in ("existing", "planning"):
        bodies = _bodies(variant == "planning")
        target = folder / TILESETS.format(variant).strip("/").rsplit("/", 1)[0]
        target.mkdir(parents=True)
        result = tiles3d.write_tileset(target, bodies, title=f"Testort ({variant})",
                                       geoid_undulation=N_GEOID, tile_size_m=100.0)
        tiles[variant] = int(result["tiles"])
        centres.update({b.id: _roof_centre(b) for b in bodies})
    static = folder / "static"
    assets.copy_vendor(NODE_MODULES, static)
    settings = Settings(public_url=base)
    viewer3d.write(static, settings, {v: TILESETS.format(v) for v in tiles},
                   geoid_undulation=N_GEOID)
    yield Site(folder, base, tiles, centres)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def gl_browser(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=WEBGL)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def plain_browser(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=NO_WEBGL)
    yield browser
    browser.close()


def _open(browser: Any, url: str) -> tuple[Any, list[str], list[str]]:
    """A page on ``url``; the URLs it requests and its JavaScript errors, as they come."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="de-DE")
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, requested, errors


def _wait_loaded(page: Any, variant: str, tiles: int) -> None:
    page.wait_for_function(
        """([variant, tiles]) => { const v = window.__viewer; return v && v.variant === variant
            && v.idle && v.loaded[variant] >= tiles; }""",
        arg=[variant, tiles], timeout=LOAD_TIMEOUT_MS)


def _axe(page: Any) -> list[tuple[str, Any, int]]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(AXE_RUN)
    return [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]]


def _foreign(requested: list[str], base: str) -> list[str]:
    origin = urlsplit(base).netloc
    return sorted({u for u in requested if not u.startswith(("data:", "blob:"))
                   and urlsplit(u).netloc != origin})


def _click_building(page: Any, site: Site, bid: str) -> dict[str, Any]:
    """Click the screen point of ``bid``'s roof centre; the attributes the viewer picked."""
    page.locator("#szene").scroll_into_view_if_needed()
    point = page.evaluate("([x, y, z]) => window.__viewer.screenOf(x, y, z)",
                          site.roof_centre[bid])
    assert point["inView"], point
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("(id) => window.__viewer.picked && window.__viewer.picked.id === id",
                           arg=bid, timeout=30_000)
    picked: dict[str, Any] = page.evaluate("() => window.__viewer.picked")
    return picked


def _city_pixels(png: bytes, colours: dict[str, str]) -> int:
    """Pixels of the canvas screenshot that are neither background nor ground plane."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    keep = np.ones(img.shape[:2], dtype=bool)
    for key in ("background", "ground"):
        rgb = np.array([int(colours[key][k:k + 2], 16) for k in (1, 3, 5)], dtype=np.int16)
        keep &= np.abs(img - rgb).max(axis=2) > 12
    return int(keep.sum())


def test_the_viewer_draws_the_city_and_shows_a_picked_buildings_attributes(
        gl_browser: Any, site: Site) -> None:
    page, requested, errors = _open(gl_browser, f"{site.base}/static/3d.html")
    assert page.evaluate("() => !!document.createElement('canvas').getContext('webgl2')")
    _wait_loaded(page, "existing", site.tiles["existing"])
    state = page.evaluate("() => window.__viewer")
    assert state["webgl"] and state["error"] is None and state["loadErrors"] == []
    assert page.is_visible("#szene") and page.is_hidden("#kein-3d")
    # the ground plane at the median ground height of the buildings (scene y is up)
    assert state["groundY"] is not None
    page.wait_for_timeout(300)  # the frame after the last tile
    ARTEFACTS.mkdir(exist_ok=True)
    png = page.locator("#szene").screenshot(path=str(ARTEFACTS / "viewer3d.png"))
    assert _city_pixels(png, state["colours"]) > 2000

    picked = _click_building(page, site, TALL)
    assert picked["status"] == "existing" and picked["lod"] == "1.2"
    assert picked["height_lod12"] == pytest.approx(45.0, abs=0.01)
    assert picked["ground_height"] == pytest.approx(82.6, abs=0.01)
    assert picked["storeys"] == 15 and picked["function"] == "31001_2020"
    panel = page.inner_text("#auswahl")
    assert TALL in panel and "Bürogebäude (31001_2020)" in panel
    assert "Flachdach (1000)" in panel and "45 m" in panel and "82,6 m" in panel
    assert "01.05.2025" in panel and "Bestand (existing)" in panel and "LoD1.2" in panel
    assert page.get_attribute("#auswahl", "aria-live") == "polite"
    page.screenshot(path=str(ARTEFACTS / "viewer3d-page.png"), full_page=True)

    page.check("input[name=variante][value=planning]")
    _wait_loaded(page, "planning", site.tiles["planning"])
    assert any(u.endswith(TILESETS.format("planning")) for u in requested)
    planned = _click_building(page, site, PLANNED)
    assert planned["status"] == "planned" and planned["storeys"] == 8
    assert "geplant" in page.inner_text("#auswahl")
    # a building without a storey count: not the renderer's default 0
    page.check("input[name=variante][value=existing]")
    _wait_loaded(page, "existing", site.tiles["existing"])
    assert _click_building(page, site, NO_STOREYS)["storeys"] is None
    assert "keine Angabe" in page.inner_text("#auswahl")

    assert _foreign(requested, site.base) == []
    assert any("/static/vendor/3d-tiles-renderer/" in u for u in requested)
    assert any(u.endswith(".glb") for u in requested)
    assert errors == []
    page.close()


def test_the_page_has_no_accessibility_violation_with_webgl(gl_browser: Any,
                                                             site: Site) -> None:
    page, requested, _ = _open(gl_browser, f"{site.base}/static/3d.html")
    _wait_loaded(page, "existing", site.tiles["existing"])
    _click_building(page, site, TALL)  # the panel filled in
    assert _axe(page) == []
    assert _foreign(requested, site.base) == []
    page.close()


def test_without_webgl_the_page_says_so_and_links_the_data(plain_browser: Any,
                                                          site: Site) -> None:
    page, requested, errors = _open(plain_browser, f"{site.base}/static/3d.html")
    page.wait_for_function("() => window.__viewer && window.__viewer.error === 'webgl'")
    assert page.is_visible("#kein-3d") and page.is_hidden("#viewer")
    assert "nicht verfügbar" in page.inner_text("#kein-3d")
    hrefs = {
        "table": "/ogcapi/collections/buildings/items?f=html",
        "dataset": "/static/daten/buildings.html",
        "cityjson": "/downloads/buildings/buildings.city.json",
        "citygml": "/downloads/buildings/buildings.citygml.gml",
        "tileset": TILESETS.format("existing"),
    }
    for name, href in hrefs.items():
        link = page.locator(f"main a[href='{site.base}{href}']").last
        assert link.is_visible(), name
    assert _axe(page) == []
    assert _foreign(requested, site.base) == []
    assert not any("/static/vendor/" in u for u in requested)  # no library without WebGL
    assert errors == []
    page.close()


def test_the_keyboard_reaches_every_control_and_moves_the_camera(gl_browser: Any,
                                                                 site: Site) -> None:
    page, _, _ = _open(gl_browser, f"{site.base}/static/3d.html")
    _wait_loaded(page, "existing", site.tiles["existing"])
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("""() => { const e = document.activeElement;
            return e.id || (e.name ? e.name + ':' + e.value : '') || e.dataset.aktion || ''; }"""))
        if reached[-1] == "zurueck":
            break
    assert "variante:existing" in reached and "szene" in reached
    assert {"links", "rechts", "naeher", "weiter", "mitte", "zurueck"} <= set(reached)
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # a visible focus

    def camera() -> tuple[np.ndarray, np.ndarray]:
        c = page.evaluate("() => window.__viewer.camera")
        return np.array(c["position"]), np.array(c["target"])

    pos, target = camera()
    distance = np.linalg.norm(pos - target)
    page.focus("button[data-aktion=naeher]")
    page.keyboard.press("Enter")
    pos2, target2 = camera()
    assert np.linalg.norm(pos2 - target2) == pytest.approx(distance * 0.8, rel=0.01)
    page.focus("button[data-aktion=links]")
    page.keyboard.press("Space")
    pos3, _ = camera()
    assert np.linalg.norm(pos3 - pos2) > 1.0
    page.focus("#szene")
    page.keyboard.press("ArrowUp")
    _, target4 = camera()
    assert np.linalg.norm(target4 - target2) > 1.0  # panned
    page.keyboard.press("-")
    pos5, target5 = camera()
    assert np.linalg.norm(pos5 - target5) > np.linalg.norm(pos3 - target4)
    page.focus("button[data-aktion=zurueck]")
    page.keyboard.press("Enter")
    pos6, target6 = camera()
    assert np.allclose(pos6, pos, atol=0.01) and np.allclose(target6, target, atol=0.01)
    page.focus("button[data-aktion=mitte]")  # the building at the centre, by keyboard
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__viewer.picked !== undefined")
    page.close()


def test_the_page_reflows_at_320_css_pixels(gl_browser: Any, plain_browser: Any,
                                            site: Site) -> None:
    """WCAG 1.4.10, with and without WebGL: nothing needs scrolling sideways."""
    for browser in (gl_browser, plain_browser):
        page = browser.new_page(viewport={"width": 320, "height": 640}, locale="de-DE")
        page.goto(f"{site.base}/static/3d.html", wait_until="load")
        page.wait_for_function("() => window.__viewer && (window.__viewer.ready "
                               "|| window.__viewer.error)", timeout=LOAD_TIMEOUT_MS)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
        page.close()


_IMPORT = re.compile(  # import/export ... from "x"; import "x"; import("x")
    r"""(?:(?:^|;)\s*(?:import|export)\b[^;'"`]*?\bfrom\s*|(?:^|;)\s*import\s*"""
    r"""|\bimport\(\s*)["']([^"'\s]+)["']""", re.M)


def test_every_module_the_libraries_import_is_served_from_the_origin(site: Site) -> None:
    """Each import of the page's modules resolves, through the import map or relative to
    the module, to a copied file under /static/vendor/ (the viewer's own script too)."""
    from gdi.publish import assets

    static = site.folder / "static"
    html = (static / "3d.html").read_text(encoding="utf-8")
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html,
                                   re.S).group(1))["imports"]  # type: ignore[union-attr]
    assert all(u.startswith(f"{site.base}/static/vendor/") for u in imports.values())

    def resolve(spec: str, module: Path) -> Path | None:
        if spec.startswith("."):
            return (module.parent / spec).resolve()
        for name, url in sorted(imports.items(), key=lambda kv: -len(kv[0])):
            if spec == name or (name.endswith("/") and spec.startswith(name)):
                rel = urlsplit(url).path.removeprefix("/static/") + spec[len(name):]
                return static / rel
        return None

    todo = [static / "3d" / "viewer.js"]
    seen: set[Path] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        text = module.read_text(encoding="utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # comments: the addons' examples
        text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
        for spec in set(_IMPORT.findall(text)):
            if spec in assets.UNUSED_DYNAMIC:
                continue
            assert not spec.startswith(("http:", "https:", "//")), (module, spec)
            target = resolve(spec, module)
            assert target is not None and target.is_file(), (module, spec)
            todo.append(target)
    assert len(seen) >= 10


def test_the_page_without_a_planning_variant(tmp_path: Path) -> None:
    from gdi.publish import viewer3d
    from gdi.settings import Settings

    settings = Settings(public_url="https://geo.example.org/gdi")
    viewer3d.write(tmp_path, settings, {"existing": TILESETS.format("existing")})
    html = (tmp_path / "3d.html").read_text(encoding="utf-8")
    assert re.search(r'value="planning" disabled', html)
    assert "keine Planungsvariante" in html
    assert f'"https://geo.example.org/gdi{TILESETS.format("existing")}"' in html
    assert (tmp_path / "3d" / "viewer.js").exists() and (tmp_path / "3d" / "viewer.css").exists()
    with pytest.raises(ValueError, match="existing"):
        viewer3d.write(tmp_path, settings, {"planning": TILESETS.format("planning")})
    with pytest.raises(ValueError, match="unknown"):
        viewer3d.write(tmp_path, settings, {"existing": "/a.json", "future": "/b.json"})
