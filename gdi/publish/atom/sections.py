"""Dataset-feed entries of offers in several files (TG Download Services 3.1, requirements
27, 29, 31-33): one entry per format and CRS, one ``section`` link per file with ``type``,
``length``, ``hreflang`` and ``title``, and the dataset's structure as the entry's content.

The offers are the 3D model's tiles (:mod:`gdi.city3d.offers`); an entry here never repeats a
format-and-CRS pair of a whole-file entry (its media type differs: see that module).
"""

from __future__ import annotations

from lxml import etree

from gdi.city3d.offers import Offer
from gdi.publish.atom.elements import GEORSS, link, sub, timestamp


def entry(feed: etree._Element, offer: Offer, updated: str, extent: str, lang: str) -> None:
    """The entry of ``offer`` in the dataset ``feed`` (``extent``: its GeoRSS polygon)."""
    de = lang == "de"
    item = sub(feed, "entry")
    sub(item, "title", offer.title_de if de else offer.title_en)
    for part in offer.parts:
        name = part.name if part is offer.index else (
            f"Kachel {part.name}" if de else f"Tile {part.name}")
        link(item, part.url, "section", part.media_type, hreflang="de", length=part.length,
             title=f"{name} – {offer.format_name} {offer.version}")
    sub(item, "id", f"{offer.index.url}#{offer.key}")
    sub(item, "updated", timestamp(updated))
    sub(item, "content", offer.structure_de if de else offer.structure_en, type="text")
    sub(item, "polygon", extent, ns=GEORSS)
    sub(item, "category", term=offer.crs_uri, label=offer.crs_label)
