"""The data dictionary of a dataset's extracts: a Frictionless Data Package
(``datapackage.json``), SHA-256 checksums and the change summary of a version.

The Table Schema comes from the descriptor (types, German and English titles, units,
constraints) and, for fields the run derives, from :data:`DERIVED`; it describes the CSV
(a tabular resource, so ``frictionless validate`` checks every row against it). The other
files are resources with their format, media type, size and hash. Every field also names its
Shapefile column (``shapefile_name``), as the DBF cuts names to 10 characters.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdi.descriptor import Descriptor, I18n
from gdi.publish.extracts.formats import FORMATS, shapefile_names

# fields the run adds to every record, the species resolution and the grid aggregate
DERIVED: dict[str, tuple[str, str, str]] = {  # name -> (type, German, English title)
    "local_id": ("string", "Objektkennung (lokal)", "Local object identifier"),
    "begin_lifespan": ("string", "Version seit (UTC)", "Version since (UTC)"),
    "species_botanical": ("string", "Art (botanisch)", "Species (botanical)"),
    "species_cultivar": ("string", "Sorte", "Cultivar"),
    "species_german": ("string", "Art (deutsch)", "Species (German)"),
    "species_rank": ("string", "Rang des Taxons", "Taxon rank"),
    "species_status": ("string", "Abgleich mit der Artenreferenz", "Species reference match"),
    "species_ref_scheme": ("string", "Artenreferenz (Schema)", "Species reference scheme"),
    "species_ref_id": ("string", "Artenreferenz (Kennung)", "Species reference id"),
    "species_ref_name": ("string", "Artenreferenz (Name)", "Species reference name"),
    "species_qualifier": ("string", "Zusatz zur Art", "Species qualifier"),
    "cell_id": ("string", "Rasterzelle (INSPIRE)", "Grid cell (INSPIRE)"),
    "grid": ("string", "Raster", "Grid"),
    "class": ("string", "Klasse", "Class"),
    "count": ("integer", "Anzahl", "Count"),
}
_TYPES = {"text": "string", "integer": "integer", "number": "number", "boolean": "boolean",
          "date": "date", "datetime": "datetime"}


@dataclass(frozen=True)
class Collection:
    """One published collection of the dataset (its records, or its grid aggregate)."""

    name: str
    title: I18n
    description: I18n
    fields: tuple[str, ...]  # public fields as the live GeoPackage holds them
    points: bool  # CSV carries longitude/latitude (else wkt)
    rows: int


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _field(desc: Descriptor, name: str, short: str) -> dict[str, Any]:
    spec = desc.fields.get(name)
    if spec is not None:
        title = spec.title or I18n(de=name, en=name)
        field: dict[str, Any] = {"name": name, "type": _TYPES.get(spec.type, "string"),
                                 "title": title.de, "title_en": title.en or title.de}
        constraints: dict[str, Any] = {}
        if spec.min is not None:
            constraints["minimum"] = int(spec.min) if spec.type == "integer" else spec.min
        if spec.max is not None:
            constraints["maximum"] = int(spec.max) if spec.type == "integer" else spec.max
        if constraints and field["type"] in {"integer", "number"}:
            field["constraints"] = constraints
        if spec.unit:
            field["unit"] = spec.unit
    else:
        kind, de, en = DERIVED.get(name, ("string", name, name))
        field = {"name": name, "type": kind, "title": de, "title_en": en}
    if name == "local_id":
        field["constraints"] = {"required": True, "unique": True}
    field["shapefile_name"] = short
    return field


def table_schema(desc: Descriptor, coll: Collection) -> dict[str, Any]:
    shorts = shapefile_names(list(coll.fields))
    fields = [_field(desc, n, shorts[n]) for n in coll.fields]
    if coll.points:
        fields += [{"name": "longitude", "type": "number", "title": "Längengrad (WGS84)",
                    "title_en": "Longitude (WGS84)", "unit": "°"},
                   {"name": "latitude", "type": "number", "title": "Breitengrad (WGS84)",
                    "title_en": "Latitude (WGS84)", "unit": "°"}]
    else:
        fields.append({"name": "wkt", "type": "string", "title": "Umriss (WKT, WGS84)",
                       "title_en": "Outline (WKT, WGS84)"})
    return {"fields": fields, "primaryKey": ["local_id"], "missingValues": [""]}


def datapackage(desc: Descriptor, collections: list[Collection], folder: Path, version: str,
                licence: dict[str, str], attribution: str, homepage: str,
                changes: dict[str, int]) -> dict[str, Any]:
    resources = []
    for coll in collections:
        for suffix, (fmt, media) in FORMATS.items():
            path = folder / f"{coll.name}.{suffix}"
            if not path.exists():
                continue
            res: dict[str, Any] = {
                "name": f"{coll.name}-{fmt}".replace("_", "-"), "path": path.name,
                "title": coll.title.de, "title_en": coll.title.en or coll.title.de,
                "format": fmt, "mediatype": media, "bytes": path.stat().st_size,
                "hash": f"sha256:{sha256(path)}"}
            if suffix == "csv":
                res.update({"profile": "tabular-data-resource", "encoding": "utf-8",
                            "dialect": {"delimiter": ",", "quoteChar": '"', "header": True,
                                        "lineTerminator": "\r\n"},
                            "schema": table_schema(desc, coll)})
            resources.append(res)
    pub = desc.publication
    return {"profile": "data-package", "name": desc.id.replace("_", "-"),
            "title": pub.title.de, "title_en": pub.title.en or pub.title.de,
            "description": pub.description.de,
            "description_en": pub.description.en or pub.description.de,
            "version": version, "homepage": homepage,
            "licenses": [{"name": licence["id"], "path": licence["url"],
                          "title": licence["title"]}],
            "attribution": attribution, "changes": changes, "resources": resources}


def write_checksums(folder: Path, package: dict[str, Any]) -> None:
    """``SHA256SUMS`` (``sha256sum -c`` reads it) and ``datapackage.json``."""
    lines = [f"{r['hash'].split(':', 1)[1]}  {r['path']}" for r in package["resources"]]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "datapackage.json").write_text(
        json.dumps(package, ensure_ascii=False, indent=1), encoding="utf-8")
