"""The citizen portal's dataset pages and accessibility statement (static HTML, German first,
English second), written at ``gdi serve`` start beside the landing page.

A dataset page shows what a citizen needs to use the data: description, licence with the
exact attribution to give, when the data last changed and how often they are updated, the
data dictionary (from the extracts' ``datapackage.json``), a map preview from the city's own
WMS (Leaflet from this origin; the page stays complete without it), every download with
format, size and SHA-256, the change summary of the version, and the API and service links.
Everything is read from the live catalogue and the live extracts; nothing from the source.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from gdi.descriptor import Descriptor
from gdi.metadata.catalogue import live, read_state
from gdi.metadata.context import Context
from gdi.publish import release
from gdi.publish.extracts import root as extracts_root
from gdi.publish.extracts.formats import NAMES
from gdi.settings import Settings

_ENV = Environment(loader=PackageLoader("gdi.publish", "templates"),
                   autoescape=select_autoescape(["html"]))
FREQUENCY = {  # ISO MD_MaintenanceFrequencyCode -> (German, English)
    "continual": ("laufend", "continually"), "daily": ("täglich", "daily"),
    "weekly": ("wöchentlich", "weekly"), "monthly": ("monatlich", "monthly"),
    "quarterly": ("vierteljährlich", "quarterly"), "biannually": ("halbjährlich", "twice a year"),
    "annually": ("jährlich", "yearly"), "asNeeded": ("bei Bedarf", "as needed"),
    "irregular": ("unregelmäßig", "irregularly"), "notPlanned": ("nicht geplant", "not planned"),
    "unknown": ("unbekannt", "unknown")}


def size(n: int) -> str:
    """Bytes in German notation: '1,2 MB'."""
    value, unit = float(n), "B"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    text = f"{value:.0f}" if unit == "B" else f"{value:.1f}"
    return f"{text.replace('.', ',')} {unit}"


def _package(desc: Descriptor, settings: Settings) -> dict[str, Any] | None:
    folder = release.current(extracts_root(settings), desc.id)
    if folder is None or not (folder / "datapackage.json").exists():
        return None
    doc: dict[str, Any] = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    doc["folder_url"] = f"{settings.base_url}/extracts/{desc.id}/latest/"
    return doc


def _model3d(desc: Descriptor, current: Path, settings: Settings) -> dict[str, Any] | None:
    """The 3D files of a buildings release: whole city, 1 km tiles, 3D Tiles, the viewer."""
    if desc.city3d is None:
        return None
    from gdi.city3d import offers, products, tiled

    base = f"{settings.base_url}/downloads/{desc.id}"
    city = [{"de": w.title_de, "en": w.title_en, "href": w.url, "type": w.media_type,
             "size": size(w.length)}
            for w in offers.whole_files(desc.id, current, settings.base_url)]
    bu3d = current / products.names(desc.id)["bu3d"]
    if bu3d.exists():  # the dataset's INSPIRE GML
        city.append({"de": "INSPIRE-GML BU-3D, ganze Stadt", "en": "INSPIRE GML, whole city",
                     "href": f"{base}/{bu3d.name}", "type": "application/gml+xml",
                     "size": size(bu3d.stat().st_size)})
    tileset = current / products.tiles3d_folder(desc.id) / "existing" / "tileset.json"
    if tileset.exists():
        city.append({"de": "3D Tiles 1.1 (tileset.json), für 3D-Ansichten",
                     "en": "3D Tiles tileset", "type": "application/json",
                     "href": f"{base}/{products.tiles3d_folder(desc.id)}/existing/tileset.json",
                     "size": size(tileset.stat().st_size)})
    index = current / tiled.index_name(desc.id)
    tiles = []
    if index.exists():
        glbs = _glbs_by_km(tileset, f"{base}/{products.tiles3d_folder(desc.id)}/existing")
        for t in json.loads(index.read_text(encoding="utf-8"))["tiles"]:
            tiles.append({"tile": t["tile"], "buildings": t["buildings"],
                          "cityjson_href": f"{base}/{t['cityjson']['href']}",
                          "cityjson_size": size(t["cityjson"]["bytes"]),
                          "citygml_href": f"{base}/{t['citygml']['href']}",
                          "citygml_size": size(t["citygml"]["bytes"]),
                          "glb": glbs.get(t["tile"], [])})
    viewer = f"{settings.base_url}/static/3d.html" if tileset.exists() else None
    return {"city": city, "tiles": tiles, "viewer": viewer}


def _glbs_by_km(tileset: Path, href: str) -> dict[str, list[dict[str, str]]]:
    """The 3D Tiles' detailed GLB tiles (glTF 2.0, in the tileset's local frame) by the 1 km
    tile ("E_N" in km) that holds them."""
    if not tileset.exists():
        return {}
    step = float(json.loads(tileset.read_text(encoding="utf-8"))["extras"]["tile_size_m"])
    out: dict[str, list[dict[str, str]]] = {}
    for glb in sorted((tileset.parent / "tiles").glob("*.glb")):
        if glb.name.startswith("far_"):
            continue
        col, row = (int(v) for v in glb.stem.split("_"))
        km = f"{int(col * step // 1000)}_{int(row * step // 1000)}"
        out.setdefault(km, []).append({"name": glb.stem, "href": f"{href}/tiles/{glb.name}",
                                       "size": size(glb.stat().st_size)})
    return out


def dataset_pages(datasets: list[tuple[Descriptor, Path]], settings: Settings
                  ) -> list[dict[str, Any]]:
    """One page model per public collection (a dataset's records and its grid counts)."""
    ctx = Context.from_settings(settings)
    state = read_state(live(settings))["records"]
    pages = []
    for desc, current in datasets:
        package = _package(desc, settings)
        pub = desc.publication
        parts: list[tuple[str, Any, Any, str | None]] = [
            (pub.collection, pub.title, pub.description, pub.view.layer or pub.collection)]
        if pub.aggregate is not None:
            parts.append((pub.aggregate.collection, pub.aggregate.title,
                          pub.aggregate.description, None))
        for collection, title, description, layer in parts:
            record = state.get(f"dataset:{collection}", {})
            resources = [r for r in (package or {}).get("resources", [])
                         if r["path"].startswith(f"{collection}.")]
            schema = next((r["schema"] for r in resources if "schema" in r), None)
            files = [{"name": NAMES.get(r["format"], r["format"]), "size": size(r["bytes"]),
                      "sha256": r["hash"].split(":", 1)[1], "path": r["path"],
                      "href": f"{package['folder_url']}{r['path']}", "type": r["mediatype"]}
                     for r in resources] if package else []
            gml = current / f"{desc.id}.inspire.gml"
            if collection == pub.collection and gml.exists():
                files.append({"name": "INSPIRE-GML", "size": size(gml.stat().st_size),
                              "sha256": None, "path": gml.name, "type": "application/gml+xml",
                              "href": f"{settings.base_url}/downloads/{desc.id}/{gml.name}"})
            code = desc.metadata.update_frequency
            freq = FREQUENCY.get(code, (code, code))
            file_id = record.get("file_identifier")
            pages.append({
                "collection": collection, "id": desc.id, "title": title,
                "description": description, "revised": record.get("revised", ""),
                "frequency": freq, "layer": layer, "schema": schema, "files": files,
                "changes": (package or {}).get("changes") if collection == pub.collection
                else None,
                "version": (package or {}).get("version"),
                "package_url": f"{package['folder_url']}datapackage.json" if package else None,
                "record_xml": ctx.record_url(file_id) if file_id else None,
                "record_html": ctx.record_page(file_id) if file_id else None,
                "keywords": list(pub.keywords),
                "model3d": _model3d(desc, current, settings)
                if collection == pub.collection else None})
    return pages


def write(folder: Path, datasets: list[tuple[Descriptor, Path]], settings: Settings) -> None:
    """``<static>/daten/<collection>.html`` and ``<static>/barrierefreiheit.html``."""
    ctx = Context.from_settings(settings)
    city = settings.city
    from gdi.crs import crs84_extent

    west, south, east, north = crs84_extent(city.bbox, "EPSG:25832")
    common = {"base": settings.base_url, "city": city, "attribution": ctx.attribution,
              "bounds": [[south, west], [north, east]],
              "licence": city.catalogue.licence}
    (folder / "daten").mkdir(parents=True, exist_ok=True)
    for page in dataset_pages(datasets, settings):
        html = _ENV.get_template("portal_dataset.html").render(d=page, **common)
        (folder / "daten" / f"{page['collection']}.html").write_text(html, encoding="utf-8")
    html = _ENV.get_template("portal_accessibility.html").render(
        portal=city.portal, email=settings.email, **common)
    (folder / "barrierefreiheit.html").write_text(html, encoding="utf-8")
