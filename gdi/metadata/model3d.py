"""The 3D building model in its dataset's records: the formats (ISO ``distributionFormat``),
the reference systems, the online resources (whole-city files, the tile indexes, the 3D Tiles
tileset, the 3D view) and the tile indexes DCAT-AP.de lists. What the files are is
:mod:`gdi.city3d.offers`' to say, read once per catalogue build into the dataset entry
(``DatasetEntry.whole3d``, ``.tiled3d``); this module only says it in the records' terms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gdi.city3d.offers import Offer, Part, WholeFile, offers, whole_files
from gdi.descriptor import Descriptor
from gdi.metadata.iso import Text

DOWNLOAD = "WWW:DOWNLOAD-1.0-http--download"
LINK = "WWW:LINK-1.0-http--link"


def read(desc: Descriptor, folder: Path, base_url: str
         ) -> tuple[tuple[WholeFile, ...], tuple[Offer, ...]]:
    """The 3D files of a buildings release (none for other datasets)."""
    if desc.city3d is None:
        return (), ()
    title = desc.publication.title
    return (tuple(whole_files(desc.id, folder, base_url)),
            tuple(offers(desc.id, folder, base_url, title.de, title.en or title.de)))


def formats(whole: Sequence[WholeFile], tiled: Sequence[Offer]) -> list[tuple[str, str]]:
    """(format name, version) of every 3D file, each format once."""
    return list(dict.fromkeys([(w.format_name, w.version) for w in whole]
                              + [(o.format_name, o.version) for o in tiled]))


def reference_systems(tiled: Sequence[Offer]) -> list[int]:
    """EPSG codes of the 3D files' CRSs: horizontal, the heights', the 3D Tiles' ECEF."""
    codes = []
    for o in tiled:
        codes.append(int(o.crs_uri.rsplit("/", 1)[1]))
        if o.vertical_crs:
            codes.append(int(o.vertical_crs.split(":")[1]))
    return list(dict.fromkeys(codes))


def indexes(tiled: Sequence[Offer]) -> list[tuple[Part, list[Offer]]]:
    """Each index file with the offers it lists (the CityGML and CityJSON tiles share one)."""
    out: dict[str, tuple[Part, list[Offer]]] = {}
    for o in tiled:
        out.setdefault(o.index.url, (o.index, []))[1].append(o)
    return list(out.values())


def links(whole: Sequence[WholeFile], tiled: Sequence[Offer], base_url: str
          ) -> list[tuple[str, str, str | None, Text, str]]:
    """The online resources: (url, protocol, name, description, function)."""
    out: list[tuple[str, str, str | None, Text, str]] = [
        (w.url, DOWNLOAD, w.name, Text(w.title_de, w.title_en), "download") for w in whole]
    for index, group in indexes(tiled):
        names = " und ".join(f"{o.format_name} {o.version}" for o in group)
        names_en = " and ".join(f"{o.format_name} {o.version}" for o in group)
        out.append((index.url, DOWNLOAD, index.name,
                    Text(f"{names}: {group[0].structure_de}",
                         f"{names_en}: {group[0].structure_en}"), "download"))
    if any(o.key == "3dtiles" for o in tiled):
        out.append((f"{base_url}/static/3d.html", LINK, None,
                    Text("3D-Ansicht im Browser (Bestand und Planung)",
                         "3D view in the browser (existing state and planning)"), "browsing"))
    return out
