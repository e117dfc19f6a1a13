"""The 3D building model in its dataset's records: the formats (ISO ``distributionFormat``),
the online resources (whole-city files, the tile indexes, the 3D Tiles tileset, the 3D view)
and, through :mod:`gdi.metadata.dcat`, the DCAT-AP.de distributions. What the files are is
:mod:`gdi.city3d.offers`' to say; this module only says it in the records' terms."""

from __future__ import annotations

from gdi.city3d.offers import Offer, WholeFile, offers, whole_files
from gdi.metadata.context import Context
from gdi.metadata.dataset import DatasetEntry
from gdi.metadata.iso import Text

DOWNLOAD = "WWW:DOWNLOAD-1.0-http--download"
LINK = "WWW:LINK-1.0-http--link"


def files(entry: DatasetEntry, ctx: Context) -> tuple[list[WholeFile], list[Offer]]:
    """The 3D files of a buildings dataset's live release (none for other datasets)."""
    if entry.desc.city3d is None or entry.aggregate:
        return [], []
    folder, ident = entry.release.folder, entry.desc.id
    return (whole_files(ident, folder, ctx.base_url),
            offers(ident, folder, ctx.base_url, entry.title.de, entry.title.en or entry.title.de))


def formats(entry: DatasetEntry, ctx: Context) -> list[tuple[str, str, str]]:
    """(format name, version, media type) of every 3D file, each format once."""
    whole, tiled = files(entry, ctx)
    found = [(w.format_name, w.version, w.media_type) for w in whole] + [
        (o.format_name, o.version, o.media_type) for o in tiled]
    return list(dict.fromkeys(found))


def reference_systems(entry: DatasetEntry, ctx: Context) -> list[int]:
    """EPSG codes of the 3D files' CRSs: horizontal, the heights', the 3D Tiles' ECEF."""
    codes = []
    for o in files(entry, ctx)[1]:
        codes.append(int(o.crs_uri.rsplit("/", 1)[1]))
        if o.vertical_crs:
            codes.append(int(o.vertical_crs.split(":")[1]))
    return list(dict.fromkeys(codes))


def links(entry: DatasetEntry, ctx: Context) -> list[tuple[str, str, str | None, Text, str]]:
    """The online resources: (url, protocol, name, description, function)."""
    whole, tiled = files(entry, ctx)
    out: list[tuple[str, str, str | None, Text, str]] = [
        (w.url, DOWNLOAD, w.name, Text(w.title_de, w.title_en), "download") for w in whole]
    by_index: dict[str, list[Offer]] = {}
    for o in tiled:  # the CityGML and CityJSON tiles share one index
        by_index.setdefault(o.index.url, []).append(o)
    for url, group in by_index.items():
        names = " und ".join(f"{o.format_name} {o.version}" for o in group)
        names_en = " and ".join(f"{o.format_name} {o.version}" for o in group)
        out.append((url, DOWNLOAD, group[0].index.name,
                    Text(f"{names}: {group[0].structure_de}",
                         f"{names_en}: {group[0].structure_en}"), "download"))
    if any(o.key == "3dtiles" for o in tiled):
        out.append((f"{ctx.base_url}/static/3d.html", LINK, None,
                    Text("3D-Ansicht im Browser (Bestand und Planung)",
                         "3D view in the browser (existing state and planning)"), "browsing"))
    return out
