"""The citizen portal's 3D viewer: ``<static>/3d.html`` (German first, English second).

The page shows the buildings' 3D Tiles (gdi.city3d.tiles3d: 3D Tiles 1.1, glTF content with
EXT_mesh_features and EXT_structural_metadata) with three.js and NASA-AMMOS'
3d-tiles-renderer, both from this origin (``<static>/vendor/``, gdi.publish.assets, loaded
as ES modules through the page's import map); our own script and stylesheet are copied from
``gdi/publish/static3d/`` to ``<static>/3d/``. No request leaves the origin.

- The tileset's root transform (local east-north-up frame -> ECEF) is inverted, so the city
  sits at the scene's origin (x east, y up, z south); a neutral ground plane lies at the
  median ground height of the loaded buildings (there is no terrain or base map).
- A click on a building (or the button for the building at the centre) reads its feature id
  (``_FEATURE_ID_0``, EXT_mesh_features) and its row of the property table
  (EXT_structural_metadata) and shows the public attributes in an aria-live panel.
- Keyboard: the view takes the focus (arrow keys pan, + and - zoom); buttons rotate, zoom,
  reset and pick; the variant switch is a radio group.
- Without WebGL 2 (or when the modules cannot load) the page says so and stays usable: the
  building table, the dataset page and the 3D downloads are linked below the viewer in any
  case, and no library is loaded.
- ``window.__viewer`` reports the viewer's state (tiles loaded, camera, last pick) for the
  browser tests.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from gdi.city3d.products import names
from gdi.publish import assets
from gdi.settings import Settings

_ENV = Environment(loader=PackageLoader("gdi.publish", "templates"),
                   autoescape=select_autoescape(["html"]))
STATIC = Path(__file__).resolve().parent / "static3d"  # viewer.js, viewer.css
PAGE = "3d.html"
# variant key -> (German, English); the first is shown first and must be given
VARIANTS = {"existing": ("Bestand", "existing buildings"),
            "planning": ("Planungsvariante", "planning variant")}
# the viewer's colours (sRGB hex), shared with the tests: background, ground plane, buildings
# (buildings keep their glTF materials' colours; "building" is for content without any)
COLOURS = {"background": "#cfdfee", "ground": "#c5cfb8", "building": "#a3a3a3",
           "planned": "#d9730d", "selected": "#0b4f9c"}
# AdV roof forms (ALKIS Dachform, the codes of RoofTypeTypeAdV)
ROOF_FORMS = {"1000": "Flachdach", "2100": "Pultdach", "2200": "Versetztes Pultdach",
              "3100": "Satteldach", "3200": "Walmdach", "3300": "Krüppelwalmdach",
              "3400": "Mansardendach", "3500": "Zeltdach", "3600": "Kegeldach",
              "3700": "Kuppeldach", "3800": "Sheddach", "3900": "Bogendach",
              "4000": "Turmdach", "5000": "Mischform", "9999": "Sonstiges"}
FUNCTION_TABLE = "alkis_currentuse.csv"  # in the datasets folder: code;name_de;current_use


def function_names(settings: Settings) -> dict[str, str]:
    """ALKIS building function code -> German name, from the datasets' mapping table (empty
    when there is none: the panel then shows the codes)."""
    path = settings.datasets_dir / FUNCTION_TABLE
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as fh:
        return {r["code"].strip(): r["name_de"].strip()
                for r in csv.DictReader(fh, delimiter=";") if r.get("code") and r.get("name_de")}


def _absolute(url: str, base: str) -> str:
    return f"{base}{url}" if url.startswith("/") else url


def page_context(settings: Settings, tilesets: dict[str, str], *, dataset: str = "buildings",
                 geoid_undulation: float | None = None) -> dict[str, Any]:
    """What the template needs (see :func:`write`)."""
    unknown = sorted(set(tilesets) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown 3D variants {unknown}: expected {sorted(VARIANTS)}")
    if "existing" not in tilesets:
        raise ValueError("the 3D viewer needs the tileset of the existing buildings")
    base = settings.base_url
    urls = {key: _absolute(url, base) for key, url in tilesets.items()}
    files = names(dataset)
    downloads = [
        {"de": "3D-Modell als CityJSON 2.0", "en": "CityJSON", "type": "application/city+json",
         "href": f"{base}/downloads/{dataset}/{files['cityjson']}"},
        {"de": "3D-Modell als CityGML 2.0", "en": "CityGML", "type": "application/gml+xml",
         "href": f"{base}/downloads/{dataset}/{files['citygml']}"},
        {"de": "3D Tiles 1.1 (Tileset, glTF)", "en": "3D Tiles tileset",
         "type": "application/json", "href": urls["existing"]},
    ]
    if "planning" in urls:
        downloads += [
            {"de": "Planungsvariante als CityJSON 2.0", "en": "planning variant, CityJSON",
             "type": "application/city+json",
             "href": f"{base}/downloads/{dataset}/{files['planning_cityjson']}"},
            {"de": "Planungsvariante als 3D Tiles 1.1", "en": "planning variant, 3D Tiles",
             "type": "application/json", "href": urls["planning"]}]
    variants = [{"key": key, "de": de, "en": en, "url": urls.get(key)}
                for key, (de, en) in VARIANTS.items()]
    return {
        "base": base, "city": settings.city, "planning": "planning" in urls,
        "variants": variants, "downloads": downloads,
        "links": {"table": f"{base}/ogcapi/collections/{dataset}/items?f=html",
                  "dataset": f"{base}/static/daten/{dataset}.html"},
        "undulation": geoid_undulation,
        "undulation_de": None if geoid_undulation is None
        else f"{geoid_undulation:.2f}".replace(".", ","),
        "importmap": assets.import_map(base),
        "config": {"tilesets": urls, "colours": COLOURS,
                   "names": {"function": function_names(settings), "roof_type": ROOF_FORMS}},
    }


def write(folder: Path, settings: Settings, tilesets: dict[str, str], *,
          dataset: str = "buildings", geoid_undulation: float | None = None) -> None:
    """``<folder>/3d.html`` (``folder`` is the served ``<static>``) and its script and
    stylesheet under ``<folder>/3d/``. ``tilesets`` maps a variant ("existing", optionally
    "planning") to its tileset URL; a URL starting with "/" is taken relative to the
    service's base URL. The libraries come from ``<folder>/vendor/``
    (:func:`gdi.publish.assets.copy_vendor`)."""
    ctx = page_context(settings, tilesets, dataset=dataset, geoid_undulation=geoid_undulation)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "3d"
    target.mkdir(exist_ok=True)
    for name in ("viewer.js", "viewer.css"):
        shutil.copy2(STATIC / name, target / name)
    html = _ENV.get_template("portal_3d.html").render(**ctx)
    (folder / PAGE).write_text(html, encoding="utf-8")
