"""What a download file of a live release is, for every service that links to it: the Atom
feeds (:mod:`gdi.publish.atom.feeds`), the OGC API's ``enclosure`` links and the records.

A file is described once here: its URL under ``/downloads/``, media type (INSPIRE media-types
register), CRS (URI and name), size in bytes (of the live release's file itself, so no link
advertises a length the file does not have) and a title in German and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from gdi import crs
from gdi.descriptor import Descriptor, I18n
from gdi.metadata.dataset import file_crs, file_format


@dataclass(frozen=True)
class DownloadFile:
    name: str
    url: str
    media_type: str
    crs_uri: str
    crs_label: str
    length: int
    title_de: str
    title_en: str

    @property
    def fmt(self) -> str:
        """The Atom Get Spatial Data Set operation's format parameter."""
        return "gml" if self.media_type == "application/gml+xml" else "gpkg"


def crs_uri(code: str) -> str:
    return f"http://www.opengis.net/def/crs/EPSG/0/{crs.parse_crs(code).to_epsg()}"


def describe(desc: Descriptor, folder: Path, name: str, base_url: str, title: I18n
             ) -> DownloadFile:
    """``name`` in the release ``folder`` of ``desc``; ``title``: its dataset's."""
    fmt_name, version, media = file_format(name)
    code = file_crs(name, desc.storage_crs)
    label = crs.parse_crs(code).name
    schema = desc.inspire_schema or ""
    gml = name.endswith(".gml")  # only INSPIRE datasets have a GML: the INSPIRE schema
    what_de = f"INSPIRE-GML {version} ({schema})" if gml else f"{fmt_name} (öffentliches Schema)"
    what_en = f"INSPIRE GML {version} ({schema})" if gml else f"{fmt_name} (public schema)"
    return DownloadFile(
        name=name, url=f"{base_url}/downloads/{desc.id}/{quote(name)}", media_type=media,
        crs_uri=crs_uri(code), crs_label=label, length=(folder / name).stat().st_size,
        title_de=f"{title.de} – {what_de}, {label}",
        title_en=f"{title.en or title.de} – {what_en}, {label}")
