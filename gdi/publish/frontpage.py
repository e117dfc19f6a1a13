"""The landing page under the root URL: a static, accessible page built from the descriptors."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from gdi import preview
from gdi.descriptor import Descriptor
from gdi.inspire.codelists import city_lists
from gdi.settings import Settings

_ENV = Environment(loader=PackageLoader("gdi.publish", "templates"),
                   autoescape=select_autoescape(["html"]))
# 1x1 transparent PNG: pygeoapi's HTML map needs a tile URL; no third-party tile server is used
_BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def write_codelists(folder: Path, settings: Settings) -> list[str]:
    """The city's extension code lists: an HTML page (German/English) and JSON per list, and
    a page per value, so that every value URI resolves."""
    names = []
    for name, doc in city_lists(settings.datasets_dir / "codelists").items():
        uri = f"{settings.codelist_base}/{name}"
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        page = _ENV.get_template("codelist.html").render(uri=uri, city=settings.city, **doc)
        (target / "index.html").write_text(page, encoding="utf-8")
        (target / "index.json").write_text(json.dumps(
            {"id": uri, **doc, "values": [{"id": f"{uri}/{k}", **v}
                                          for k, v in doc["values"].items()]},
            ensure_ascii=False, indent=1), encoding="utf-8")
        for value in doc["values"]:
            (target / value).mkdir(exist_ok=True)
            (target / value / "index.html").write_text(page, encoding="utf-8")
        names.append(name)
    return names


def write_frontpage(folder: Path, datasets: list[tuple[Descriptor, Path]],
                    settings: Settings) -> Path:
    from gdi.metadata.catalogue import record_ids
    from gdi.metadata.context import Context

    ctx = Context.from_settings(settings)
    ids = record_ids(settings)

    def pages(d: Descriptor) -> list[dict[str, str]]:
        """The dataset's metadata pages: its records' and, if any, its grid counts'."""
        out = []
        agg = d.publication.aggregate
        for collection, title in ((d.publication.collection, d.publication.title.de),
                                  *(((agg.collection, agg.title.de),) if agg else ())):
            if f"dataset:{collection}" in ids:
                out.append({"href": ctx.record_page(ids[f"dataset:{collection}"]),
                            "title": title})
        return out

    rows = [{"id": d.id, "collection": d.publication.collection, "metadata": pages(d),
             "title_de": d.publication.title.de, "title_en": d.publication.title.en,
             "description_de": d.publication.description.de,
             "description_en": d.publication.description.en,
             # no INSPIRE GML in a release without members (the report says why)
             "inspire": d.inspire_gml if d.inspire_gml and (live / d.inspire_gml).exists()
             else None,
             "viewer3d": d.city3d is not None and (live / f"{d.id}.3dtiles" / "existing"
                                                   / "tileset.json").exists()}
            for d, live in datasets]
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / "index.html"
    page.write_text(_ENV.get_template("index.html").render(
        base=settings.base_url, datasets=rows, preview=preview.reasons(settings),
        city=settings.city, licence=settings.city.catalogue.licence),
                    encoding="utf-8")
    (folder / "blank.png").write_bytes(_BLANK_PNG)
    from gdi.publish import portal

    portal.write(folder, datasets, settings)
    return page
