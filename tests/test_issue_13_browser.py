"""Issue 13, as citizens see it: pages in Debian's headless Chromium (Playwright), every
request recorded, axe-core's WCAG 2.0/2.1 A and AA rules run in the page.

What holds now: no page of the service (the landing page, the metadata pages, the Atom search,
and pygeoapi's HTML: landing, collections, a collection, items, an item, the API definition)
requests any host but its own. axe-core: 0 violations on the project's own pages; pygeoapi's
stock HTML still has violations (strict xfail below, so the day they are gone it says so).
The citizen portal of issue 13 (dataset pages, map preview) is not built yet.
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


def _visit(browser: Any, url: str, shot: str | None = None) -> tuple[list[str], dict[str, Any]]:
    """Every URL the page requested, and axe-core's result."""
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="de-DE")
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(url, wait_until="networkidle")
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


def _own_pages(server: Server) -> list[str]:
    return [f"{server.base}/", f"{server.base}/metadata/", f"{server.base}/atom/search?q="]


def test_no_page_requests_another_host(browser: Any, server: Server) -> None:
    origin = urlsplit(server.base).netloc
    for url in _own_pages(server) + _pygeoapi_pages(server):
        requested, _ = _visit(browser, url)
        foreign = sorted({u for u in requested if urlsplit(u).netloc != origin})
        assert foreign == [], (url, foreign)
        assert len(requested) >= 1


def test_the_projects_own_pages_have_no_accessibility_violation(browser: Any,
                                                                server: Server) -> None:
    for n, url in enumerate(_own_pages(server)):
        _, result = _visit(browser, url, shot=f"page-{n}.png" if n == 0 else None)
        found = [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]]
        assert found == [], (url, found)
    assert (ARTEFACTS / "page-0.png").stat().st_size > 10_000  # a screenshot of the landing


@pytest.mark.xfail(strict=True, reason="pygeoapi's stock HTML templates: the portal work of "
                                       "issue 13 is still to fix them")
def test_pygeoapi_pages_have_no_accessibility_violation(browser: Any, server: Server) -> None:
    found = {}
    for url in _pygeoapi_pages(server):
        _, result = _visit(browser, url)
        if result["violations"]:
            found[url] = [(v["id"], len(v["nodes"])) for v in result["violations"]]
    (ARTEFACTS / "pygeoapi-axe.json").parent.mkdir(exist_ok=True)
    (ARTEFACTS / "pygeoapi-axe.json").write_text(json.dumps(found, indent=1), encoding="utf-8")
    assert found == {}


def test_vendored_assets_are_served_and_pinned(server: Server) -> None:
    import urllib.request

    lock = json.loads((ROOT / "portal" / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/leaflet"]["version"] == "1.3.1"
    for rel in ("leaflet/dist/leaflet.js", "bootstrap/dist/css/bootstrap.min.css",
                "swagger-ui-dist/swagger-ui-bundle.js"):
        with urllib.request.urlopen(f"{server.base}/static/vendor/{rel}", timeout=30) as r:
            assert r.status == 200 and len(r.read()) > 1000
