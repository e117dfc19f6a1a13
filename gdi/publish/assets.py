"""Web assets from the service's own origin: no page of the service requests another host.

pygeoapi's HTML templates load Bootstrap, Leaflet, its plugins and Swagger UI from public
CDNs (unpkg, cdnjs). Every visit would hand the visitor's address to those hosts, and pages
break where the city's network blocks them. So:

- the libraries are installed from the npm registry (``portal/package.json``, pinned to the
  versions pygeoapi's templates name; ``scripts/setup.sh`` runs ``npm ci``) and copied to
  ``<run>/static/vendor/`` at ``gdi serve`` start (nginx serves ``/static/``);
- pygeoapi's own templates are rewritten at start into ``<run>/.../templates/`` (its custom
  template path, looked up before its own), every CDN URL replaced by the local copy; a CDN
  URL without a local copy points at an empty local file (a library our collections never
  use, e.g. the OGC API Maps overlay), so nothing ever leaves the origin; Swagger UI's
  validator badge (a request to validator.swagger.io) is switched off;
- the 3D viewer's ES modules (three.js, 3d-tiles-renderer) are copied the same way and loaded
  through an import map (:func:`import_map`) that names only files under ``/static/vendor/``.

The templates are generated from the installed pygeoapi, so they follow its version; nothing
of pygeoapi is copied into this repository.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from gdi.errors import ServiceError

_CDN = re.compile(r"https://(?:unpkg\.com|cdnjs\.cloudflare\.com|cdn\.jsdelivr\.net)/[^\"'\s)]+")
# CDN URL (version removed) -> file under portal/node_modules
LOCAL = {
    "bootstrap/dist/css/bootstrap.min.css": "bootstrap/dist/css/bootstrap.min.css",
    "ajax/libs/html5shiv/html5shiv.js": "html5shiv/dist/html5shiv.js",
    "leaflet/dist/leaflet.css": "leaflet/dist/leaflet.css",
    "leaflet/dist/leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.markercluster/dist/MarkerCluster.css":
        "leaflet.markercluster/dist/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css":
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet.markercluster/dist/leaflet.markercluster-src.js":
        "leaflet.markercluster/dist/leaflet.markercluster-src.js",
    "leaflet-draw/dist/leaflet.draw.css": "leaflet-draw/dist/leaflet.draw.css",
    "leaflet-draw/dist/leaflet.draw.js": "leaflet-draw/dist/leaflet.draw.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui-standalone-preset.js":
        "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "swagger-ui-dist/favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
    "swagger-ui-dist/favicon-16x16.png": "swagger-ui-dist/favicon-16x16.png",
}
FOLDERS = ("leaflet/dist/images", "leaflet-draw/dist/images")  # images the CSS refers to
# The 3D viewer (gdi.publish.viewer3d): ES modules the page's import map names (IMPORTS) and
# every module they import in turn: three.js, the few three.js addons 3d-tiles-renderer
# imports (GLTFLoader and what it imports, Pass for its texture reader) and OrbitControls,
# and 3d-tiles-renderer's build (its chunks have hashed names: copied by pattern, without
# the Babylon.js and react-three-fiber entries, which import libraries not installed).
MODULES = (
    "three/LICENSE", "three/build/three.module.js", "three/build/three.core.js",
    "three/examples/jsm/controls/OrbitControls.js",
    "three/examples/jsm/loaders/GLTFLoader.js",
    "three/examples/jsm/utils/BufferGeometryUtils.js",
    "three/examples/jsm/utils/SkeletonUtils.js",
    "three/examples/jsm/postprocessing/Pass.js",
    "3d-tiles-renderer/LICENSE",
)
MODULE_PATTERNS = (("3d-tiles-renderer/build", "*.js", ("index.babylonjs.js", "index.r3f.js")),)
# bare specifier (or prefix, ending in "/") -> file (or folder) under <static>/vendor/
IMPORTS = {
    "three": "three/build/three.module.js",
    "three/addons/": "three/examples/jsm/",
    "three/examples/jsm/": "three/examples/jsm/",
    "3d-tiles-renderer": "3d-tiles-renderer/build/index.js",
    "3d-tiles-renderer/plugins": "3d-tiles-renderer/build/index.plugins.js",
}
# modules 3d-tiles-renderer imports only on demand, for features the viewer does not use
# (vector tile and PMTiles overlays): not installed, not mapped
UNUSED_DYNAMIC = ("@mapbox/vector-tile", "pbf", "pmtiles")
# accessibility fixes of pygeoapi's pages (axe-core, WCAG 2.1 AA): (template, stock text,
# fixed text); each must apply, so a pygeoapi upgrade that changes the text is noticed
FIXES = (
    # a title of whitespace only is no title: fall back to the service's
    ("_base.html", "{% if not self.title() %}", "{% if not self.title()|trim %}"),
    # link colours with 4.5:1 on Bootstrap's light background (gdi-pygeoapi.css)
    ("_base.html", "/static/css/default.css\">",
     "/static/css/default.css\">\n    <link rel=\"stylesheet\" href=\"{base}/static/"
     "gdi-pygeoapi.css\">"),
    # a licence link closed with <a> instead of </a> (a list with stray links)
    ("collections/collection.html", "{{ link['title'] or link['href'] }}<a>",
     "{{ link['title'] or link['href'] }}</a></div>"),
    # the page size selector without a label
    ("collections/items/index.html", '<select id="limits">',
     '<select id="limits" aria-label="Objekte je Seite (items per page)">'),
)
# the stylesheet the fixes add: Bootstrap's link blue #0d6efd has 4.26:1 on #f8f9fa
CSS = "a, .nav-link, .nav-link:hover, .nav-link:focus { color: #0a58ca; }\n"


def _key(url: str) -> str:
    """'https://unpkg.com/leaflet@1.3.1/dist/leaflet.js' -> 'leaflet/dist/leaflet.js'."""
    path = url.split("/", 3)[3]
    return re.sub(r"@[^/]+", "", re.sub(r"/\d+(\.\d+)+/", "/", path))


def copy_vendor(node_modules: Path, static: Path) -> None:
    """The libraries into ``<static>/vendor/`` (and an empty file for the missing ones)."""
    if not node_modules.is_dir():
        raise ServiceError(f"the web assets are missing ({node_modules})",
                           hint="run scripts/setup.sh (it runs npm ci in portal/)")
    vendor = static / "vendor"
    for rel in [*LOCAL.values(), *FOLDERS]:
        src, dst = node_modules / rel, vendor / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dst)
        else:
            raise ServiceError(f"web asset {rel} is missing", hint="run scripts/setup.sh")
    for rel in MODULES:
        _copy_file(node_modules / rel, vendor / rel, rel)
    for folder, pattern, skip in MODULE_PATTERNS:
        found = sorted(p for p in (node_modules / folder).glob(pattern) if p.name not in skip)
        if not found:
            raise ServiceError(f"web assets {folder}/{pattern} are missing",
                               hint="run scripts/setup.sh")
        for src in found:
            _copy_file(src, vendor / folder / src.name, f"{folder}/{src.name}")
    (vendor / "absent").mkdir(parents=True, exist_ok=True)
    (vendor / "absent" / "empty.js").write_text("/* not served here */\n", encoding="utf-8")
    (vendor / "absent" / "empty.css").write_text("/* not served here */\n", encoding="utf-8")
    (static / "gdi-pygeoapi.css").write_text(CSS, encoding="utf-8")


def _copy_file(src: Path, dst: Path, rel: str) -> None:
    if not src.is_file():
        raise ServiceError(f"web asset {rel} is missing", hint="run scripts/setup.sh")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)


def import_map(base: str) -> dict[str, dict[str, str]]:
    """The import map of a page that loads the 3D viewer's modules from this origin."""
    return {"imports": {name: f"{base}/static/vendor/{rel}" for name, rel in IMPORTS.items()}}


def local_url(url: str, base: str) -> str:
    rel = LOCAL.get(_key(url))
    if rel is not None:
        return f"{base}/static/vendor/{rel}"
    return f"{base}/static/vendor/absent/empty.{'css' if url.endswith('.css') else 'js'}"


def write_templates(pygeoapi_templates: Path, target: Path, base: str) -> list[str]:
    """pygeoapi's templates with every CDN URL made local and :data:`FIXES` applied, into
    ``target``; returns the CDN URLs that had no local copy (pointed at an empty file)."""
    missing: set[str] = set()
    fixes: dict[str, list[tuple[str, str]]] = {}
    for name, old, new in FIXES:
        fixes.setdefault(name, []).append((old, new.replace("{base}", base)))
    for src in pygeoapi_templates.rglob("*.html"):
        rel = src.relative_to(pygeoapi_templates).as_posix()
        text = src.read_text(encoding="utf-8")
        urls = set(_CDN.findall(text))
        if not urls and "SwaggerUIBundle" not in text and rel not in fixes:
            continue
        for url in sorted(urls, key=len, reverse=True):
            if _key(url) not in LOCAL:
                missing.add(url)
            text = text.replace(url, local_url(url, base))
        text = text.replace("dom_id: '#swagger-ui',", "dom_id: '#swagger-ui', validatorUrl: null,")
        for old, new in fixes.get(rel, []):
            if old not in text:
                raise ServiceError(f"pygeoapi's {rel} changed: the accessibility fix for "
                                   f"'{old[:40]}' no longer applies",
                                   hint="see gdi/publish/assets.py")
            text = text.replace(old, new)
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(text, encoding="utf-8")
    return sorted(missing)
