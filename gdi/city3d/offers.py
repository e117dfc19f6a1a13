"""The 3D model's downloads as the catalogue offers them: one :class:`Offer` per format of the
model that comes in several files (the 1 km CityGML tiles, the 1 km CityJSON tiles, the 3D
Tiles tileset) and one :class:`WholeFile` per whole-city file (CityJSON, CityJSONSeq, CityGML,
the planning variant), read from the live release's tile index, tileset folder and files, so
every service that names them (the Atom dataset feed, the ISO and DCAT records) names the
same files with the same sizes. (The BU-3D GML is the dataset's INSPIRE GML, described with
every dataset's files by :mod:`gdi.publish.downloads`.)

Each offer is one dataset-feed entry of the Atom service (TG Download Services, requirements
27, 32 and 33: one entry per format and CRS, each file a ``section`` link, the structure said
in the entry's content). The whole-city CityGML and CityJSON files are offered beside them in
the records and the portal; the Atom service names the tiles, as the state's services do.

Media types: CityGML 2.0 is GML 3.1.1, so ``application/gml+xml; version=3.1`` (the OGC's GML
media type with the version parameter it recommends) tells it apart from the INSPIRE GML 3.2
of the same dataset; CityJSON has ``application/city+json`` (CityJSON 2.0, not in the INSPIRE
media-types register); 3D Tiles are ``model/gltf-binary`` tiles under an ``application/json``
tileset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gdi.city3d import products, tiled
from gdi.errors import PublicationError

CITYGML_TYPE = "application/gml+xml; version=3.1"
CITYJSON_TYPE = "application/city+json"
GLB_TYPE = "model/gltf-binary"
UTM32 = ("http://www.opengis.net/def/crs/EPSG/0/25832", "ETRS89 / UTM zone 32N + DHHN2016")
ECEF = ("http://www.opengis.net/def/crs/EPSG/0/4978", "WGS 84 (geocentric)")


@dataclass(frozen=True)
class Part:
    """One file of an offer."""
    name: str  # the tile ("565_5776", "tileset.json")
    url: str
    length: int
    media_type: str


@dataclass(frozen=True)
class Offer:
    key: str  # citygml_tiles | cityjson_tiles | 3dtiles
    format_name: str
    version: str
    media_type: str  # of its data files
    crs_uri: str
    crs_label: str
    title_de: str
    title_en: str
    structure_de: str  # how the files fit together (the Atom entry's content)
    structure_en: str
    parts: tuple[Part, ...]
    index: Part  # the file that lists the others (tile index, tileset.json)
    vertical_crs: str | None = None  # of the heights, where not part of crs_uri


@dataclass(frozen=True)
class WholeFile:
    name: str
    url: str
    format_name: str
    version: str
    media_type: str
    length: int
    title_de: str
    title_en: str


_WHOLE = (  # products.names key, format, version, media type, what (de, en)
    ("cityjson", "CityJSON", "2.0", CITYJSON_TYPE, "ganze Stadt", "whole city"),
    ("cityjsonseq", "CityJSONSeq", "2.0", "application/city+json-seq",
     "ganze Stadt, ein Gebäude je Zeile", "whole city, one building per line"),
    ("citygml", "CityGML", "2.0", CITYGML_TYPE, "ganze Stadt", "whole city"),
    ("planning_cityjson", "CityJSON", "2.0", CITYJSON_TYPE,
     "Planungsvariante (Bestand mit geplanten Vorhaben)",
     "planning variant (existing state with planned projects)"))


def whole_files(dataset: str, folder: Path, base_url: str) -> list[WholeFile]:
    """The whole-city 3D files of the release in ``folder`` that exist."""
    named = products.names(dataset)
    out = []
    for key, fmt, version, media, what_de, what_en in _WHOLE:
        path = folder / named[key]
        if path.exists():
            out.append(WholeFile(path.name, f"{base_url}/downloads/{dataset}/"
                                 f"{quote(path.name)}", fmt, version, media,
                                 path.stat().st_size, f"3D-Modell als {fmt} {version}, {what_de}",
                                 f"3D model as {fmt} {version}, {what_en}"))
    return out


def _length(folder: Path, entry: dict[str, Any]) -> int:
    """The size of an indexed file of the release, which must be the one the index says: no
    link may advertise a file that is missing or has another length."""
    path = folder / entry["href"]
    try:
        size = path.stat().st_size
    except OSError:
        raise PublicationError(f"{path}: in the tile index but not in the release") from None
    if size != int(entry["bytes"]):
        raise PublicationError(f"{path}: {size} bytes, the tile index says {entry['bytes']}")
    return size


def offers(dataset: str, folder: Path, base_url: str, title_de: str, title_en: str
           ) -> list[Offer]:
    """The tiled 3D offers of the buildings release in ``folder`` (none before a 3D run)."""
    base = f"{base_url}/downloads/{dataset}"
    out = []
    index_path = folder / tiled.index_name(dataset)
    if index_path.exists():
        doc = json.loads(index_path.read_text(encoding="utf-8"))
        index = Part(tiled.index_name(dataset), f"{base}/{quote(tiled.index_name(dataset))}",
                     index_path.stat().st_size, "application/json")
        size = doc.get("tile_size_m", tiled.TILE_M) // 1000
        for key, fmt, version, media in (("citygml", "CityGML", "2.0", CITYGML_TYPE),
                                         ("cityjson", "CityJSON", "2.0", CITYJSON_TYPE)):
            parts = tuple(Part(t["tile"], f"{base}/{quote(t[key]['href'])}",
                               _length(folder, t[key]), media) for t in doc["tiles"])
            out.append(Offer(
                f"{key}_tiles", fmt, version, media, *UTM32,
                f"{title_de} – {fmt} {version} in {size}-km-Kacheln, {UTM32[1]}",
                f"{title_en} – {fmt} {version} in {size} km tiles, {UTM32[1]}",
                f"{len(parts)} Kacheln von {size} km × {size} km, benannt nach der linken "
                f"unteren Ecke in km (Ost_Nord, ETRS89 / UTM 32N, wie die Kacheln des Landes); "
                f"ein Gebäude liegt ganz in der Kachel seines Grundrissschwerpunkts. "
                f"Verzeichnis mit Ausdehnung, Gebäudezahl und SHA-256 je Datei: {index.url}",
                f"{len(parts)} tiles of {size} km × {size} km, named by their lower-left "
                f"corner in km (east_north, ETRS89 / UTM 32N, as the state names its tiles); "
                f"a building lies wholly in the tile of its footprint's centroid. Index with "
                f"extent, building count and SHA-256 of each file: {index.url}",
                parts, index, doc.get("vertical_crs")))
    tileset_dir = folder / products.tiles3d_folder(dataset) / "existing"
    tileset = tileset_dir / "tileset.json"
    if tileset.exists():
        href = f"{base}/{products.tiles3d_folder(dataset)}/existing"
        index = Part("tileset.json", f"{href}/tileset.json", tileset.stat().st_size,
                     "application/json")
        glbs = sorted((tileset_dir / "tiles").glob("*.glb"))
        parts = (index, *(Part(p.stem, f"{href}/tiles/{quote(p.name)}", p.stat().st_size,
                               GLB_TYPE) for p in glbs))
        out.append(Offer(
            "3dtiles", "3D Tiles", "1.1", GLB_TYPE, *ECEF,
            f"{title_de} – 3D Tiles 1.1 (glTF 2.0) für 3D-Ansichten",
            f"{title_en} – 3D Tiles 1.1 (glTF 2.0) for 3D viewers",
            f"tileset.json (OGC 3D Tiles 1.1) verweist auf {len(glbs)} glTF-Kacheln (GLB) von "
            "500 m × 500 m mit ihrer Lage (ECEF, WGS 84); Höhen: DHHN2016 plus "
            "Quasigeoidundulation. Ein Betrachter (z. B. CesiumJS, 3d-tiles-renderer) lädt "
            "die Kacheln über tileset.json; eine einzelne GLB-Datei ist ohne sie nicht "
            "georeferenziert.",
            f"tileset.json (OGC 3D Tiles 1.1) references {len(glbs)} glTF tiles (GLB) of "
            "500 m × 500 m with their placement (ECEF, WGS 84); heights: DHHN2016 plus the "
            "quasigeoid undulation. A viewer (e.g. CesiumJS, 3d-tiles-renderer) loads the tiles "
            "through tileset.json; a single GLB file is not georeferenced without it.",
            parts, index))
    return out
