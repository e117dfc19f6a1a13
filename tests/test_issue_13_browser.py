"""Issue 13, as citizens see it: pages in Debian's headless Chromium (Playwright), every
request recorded, axe-core's WCAG 2.0/2.1 A and AA rules run in the page.

What holds: no page of the service (the portal: landing, a page per dataset, the
accessibility statement; the metadata pages, the Atom search, and pygeoapi's HTML: landing,
collections, a collection, items, an item, the API definition) requests any host but its own.
axe-core: 0 violations on the project's own pages (which reflow at 320 CSS px and work by
keyboard alone) and on pygeoapi's landing, collections and items pages (its templates fixed at
start, gdi.publish.assets); the OpenAPI page (Swagger UI) still has violations (strict xfail
below, so the day they are gone it says so).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT, Server, get_json

CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "portal" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = ROOT / "tests" / "artefacts"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not AXE.exists(),
                                reason="Chromium or axe-core missing: run scripts/setup.sh --test")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _visit(browser: Any, url: str, shot: str | None = None, ready: str | None = None
           ) -> tuple[list[str], dict[str, Any]]:
    """Every URL the page requested, and axe-core's result (``ready``: a selector the page
    shows once its scripts have drawn it; axe runs after it appears)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="de-DE")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url, wait_until="networkidle")
    if ready:
        page.wait_for_selector(ready, timeout=60_000)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})""")
    if shot:
        ARTEFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / shot), full_page=True)
    page.close()
    return [u for u in requested if not u.startswith(("data:", "blob:"))], result


def _pygeoapi_pages(server: Server) -> list[str]:
    api = server.ogcapi
    item = get_json(f"{api}/collections/playgrounds/items?limit=1&f=json")["features"][0]["id"]
    return [f"{api}/?f=html", f"{api}/collections?f=html", f"{api}/collections/trees?f=html",
            f"{api}/collections/playgrounds/items?f=html&limit=20",
            f"{api}/collections/playgrounds/items/{item}?f=html", f"{api}/openapi?f=html"]


PORTAL = ["trees", "playgrounds", "playground_equipment", "contaminated_sites",
          "contaminated_sites_grid", "buildings"]  # buildings: with its 3D tile table


def _portal_pages(server: Server) -> list[str]:
    return [f"{server.base}/", *[f"{server.base}/static/daten/{c}.html" for c in PORTAL],
            f"{server.base}/static/barrierefreiheit.html"]


def _own_pages(server: Server) -> list[str]:
    return [*_portal_pages(server), f"{server.base}/metadata/", f"{server.base}/atom/search?q="]


def test_no_page_requests_another_host(browser: Any, server: Server) -> None:
    origin = urlsplit(server.base).netloc
    for url in _own_pages(server) + _pygeoapi_pages(server):
        requested, _ = _visit(browser, url)
        foreign = sorted({u for u in requested if urlsplit(u).netloc != origin})
        assert foreign == [], (url, foreign)
        assert len(requested) >= 1


def test_the_projects_own_pages_have_no_accessibility_violation(browser: Any,
                                                                server: Server) -> None:
    shots = {f"{server.base}/": "landing-de.png",
             f"{server.base}/static/daten/trees.html": "dataset-trees-de.png"}
    for url in _own_pages(server):
        _, result = _visit(browser, url, shot=shots.get(url))
        found = [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]]
        assert found == [], (url, found)
    for name in shots.values():  # screenshots as test artefacts
        assert (ARTEFACTS / name).stat().st_size > 10_000


def test_portal_pages_reflow_at_320_css_pixels(browser: Any, server: Server) -> None:
    """WCAG 1.4.10: at 320 CSS px (400 % of 1280) nothing needs scrolling sideways; wide
    data tables scroll inside their own box."""
    page = browser.new_page(viewport={"width": 320, "height": 640}, locale="de-DE")
    for url in _portal_pages(server):
        page.goto(url, wait_until="networkidle")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 320, (url, width)
    page.close()


def test_keyboard_alone_reaches_every_download_and_the_map(browser: Any, server: Server) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="de-DE")
    page.goto(f"{server.base}/static/daten/trees.html", wait_until="networkidle")
    downloads = set(page.eval_on_selector_all("#downloads + div a[download]",
                                              "els => els.map(e => e.href)"))
    assert len(downloads) == 7  # six extract formats and the INSPIRE GML
    reached, map_focused = set(), False
    for _ in range(120):
        page.keyboard.press("Tab")
        info = page.evaluate("() => [document.activeElement.href || '', "
                             "document.activeElement.id, document.activeElement.className]")
        reached.add(info[0])
        map_focused |= "leaflet-container" in str(info[2]) or info[1] == "karte"
        if map_focused and downloads <= reached:
            break
    assert downloads <= reached, downloads - reached
    assert map_focused  # the map takes the focus: arrows pan, +/- zoom (Leaflet keyboard)
    # a visible focus: the focused link has an outline
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.close()


def test_the_filter_finds_datasets_and_the_page_works_without_it(browser: Any,
                                                                 server: Server) -> None:
    page = browser.new_page(locale="de-DE")
    page.goto(f"{server.base}/", wait_until="networkidle")
    page.fill("#filter", "Spielpl")
    visible = page.eval_on_selector_all("#datensaetze tbody tr:not([hidden])",
                                        "rows => rows.length")
    assert visible == 2 and "2 von" in page.inner_text("#treffer")
    page.close()
    page = browser.new_page(locale="de-DE", java_script_enabled=False)
    page.goto(f"{server.base}/static/daten/trees.html")
    assert page.eval_on_selector_all("a[download]", "els => els.length") == 7
    page.close()


def test_pygeoapi_pages_have_no_accessibility_violation(browser: Any, server: Server) -> None:
    """pygeoapi's landing, collections, a collection, its items and an item, with the fixes of
    gdi.publish.assets applied to its templates."""
    for url in _pygeoapi_pages(server)[:-1]:
        _, result = _visit(browser, url)
        found = [(v["id"], len(v["nodes"])) for v in result["violations"]]
        assert found == [], (url, found)


@pytest.mark.xfail(strict=True, reason="Swagger UI's own markup (the OpenAPI page): contrast "
                                       "and nested interactive controls; not fixed yet")
def test_the_api_definition_page_has_no_accessibility_violation(browser: Any,
                                                                 server: Server) -> None:
    # Swagger UI draws the operations after the page's network is idle: axe runs on them
    _, result = _visit(browser, _pygeoapi_pages(server)[-1], ready=".opblock")
    found = [(v["id"], len(v["nodes"])) for v in result["violations"]]
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / "swagger-axe.json").write_text(json.dumps(found), encoding="utf-8")
    assert found == []


def test_vendored_assets_are_served_and_pinned(server: Server) -> None:
    import urllib.request

    lock = json.loads((ROOT / "portal" / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/leaflet"]["version"] == "1.3.1"
    for rel in ("leaflet/dist/leaflet.js", "bootstrap/dist/css/bootstrap.min.css",
                "swagger-ui-dist/swagger-ui-bundle.js"):
        with urllib.request.urlopen(f"{server.base}/static/vendor/{rel}", timeout=30) as r:
            assert r.status == 200 and len(r.read()) > 1000
