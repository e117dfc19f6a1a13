"""The Atom download service's OpenSearch description (the INSPIRE operations Describe and
Get Spatial Data Set as URL templates, one example query per dataset) and the index the
search endpoint (:mod:`gdi.publish.atom.search`) answers from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lxml import etree

from gdi.metadata.context import Context
from gdi.publish.atom.elements import DLS, FEED_TYPE, OS, sub
from gdi.publish.atom.feeds import LANGUAGES, OSD_TYPE, FeedDataset, suffix


def description(sets: Sequence[FeedDataset], ctx: Context) -> etree._Element:
    base = f"{ctx.base_url}/atom"
    root = etree.Element(f"{{{OS}}}OpenSearchDescription",
                         nsmap={None: OS, "inspire_dls": DLS, "geo":
                                "http://a9.com/-/opensearch/extensions/geo/1.0/"})
    sub(root, "ShortName", f"INSPIRE Atom {ctx.city_de}"[:16], ns=OS)
    sub(root, "Description", f"INSPIRE-Downloaddienst (vordefinierte Datensätze) der "
        f"{ctx.city_de}: Datensatz-Feeds und Dateien nach Kennung, KBS und Sprache.", ns=OS)
    ids = ("spatial_dataset_identifier_code={inspire_dls:spatial_dataset_identifier_code}"
           "&spatial_dataset_identifier_namespace={inspire_dls:spatial_dataset_identifier_"
           "namespace}")
    sub(root, "Url", ns=OS, type=OSD_TYPE, rel="self", template=f"{base}/opensearch.xml")
    sub(root, "Url", ns=OS, type="text/html", rel="results",
        template=f"{base}/search?q={{searchTerms}}&language={{language?}}")
    sub(root, "Url", ns=OS, type=FEED_TYPE, rel="describedby",
        template=f"{base}/describe?{ids}&language={{language?}}")
    for fmt, media in (("gml", "application/gml+xml"),
                       ("gpkg", "application/geopackage+sqlite3")):
        sub(root, "Url", ns=OS, type=media, rel="results",
            template=f"{base}/get?{ids}&crs={{inspire_dls:crs}}&language={{language?}}"
                     f"&format={fmt}")
    sub(root, "Contact", ctx.contact.email, ns=OS)
    sub(root, "Tags", "INSPIRE Download Atom", ns=OS)
    sub(root, "LongName", f"Downloaddienst (INSPIRE Atom) – {ctx.city_de}", ns=OS)
    for ds in sets:
        default = ds.files[0]
        q = sub(root, "Query", ns=OS, role="example", language=LANGUAGES[0],
                title=ds.entry.title.de, count="1")
        q.set(f"{{{DLS}}}spatial_dataset_identifier_code", ds.code)
        q.set(f"{{{DLS}}}spatial_dataset_identifier_namespace", ds.namespace)
        q.set(f"{{{DLS}}}crs", default.crs_uri)
    sub(root, "Developer", ctx.contact.organisation, ns=OS)
    sub(root, "Language", LANGUAGES[0], ns=OS)
    for lang in LANGUAGES[1:]:
        sub(root, "Language", lang, ns=OS)
    return root


def index(sets: Sequence[FeedDataset], ctx: Context) -> dict[str, Any]:
    """What the search endpoint answers from (no file is read per request but this one)."""
    base = f"{ctx.base_url}/atom"
    return {"service": {lang: f"{base}/service{suffix(lang)}.xml" for lang in LANGUAGES},
            "languages": list(LANGUAGES), "base": ctx.base_url,
            "city": {"name": {"de": ctx.city_de, "en": ctx.city_en},
                     "portal": {"imprint_url": ctx.imprint_url,
                                "privacy_url": ctx.privacy_url}},
            "datasets": [{
                "code": ds.code, "namespace": ds.namespace, "collection": ds.collection,
                "title": {"de": ds.entry.title.de, "en": ds.entry.title.en},
                "description": {"de": ds.entry.description.de,
                                "en": ds.entry.description.en},
                "feeds": {lang: f"{base}/{ds.collection}{suffix(lang)}.xml"
                          for lang in LANGUAGES},
                "files": [{"url": f.url, "crs": f.crs_uri, "type": f.media_type,
                           "format": f.fmt, "title": {"de": f.title_de, "en": f.title_en},
                           "length": f.length} for f in ds.files]}
                for ds in sets]}
