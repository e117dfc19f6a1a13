"""The pre-defined Atom download service (INSPIRE TG Download Services 3.1), built with lxml.

Written by the catalogue build (:mod:`gdi.metadata.catalogue`) into its release, from the same
dataset entries as the metadata records, so the feeds, the records and the files they name
always belong to one state:

- ``service.xml`` (German) and ``service.en.xml``: the download service feed, one entry per
  dataset with its spatial data set identifier (the resource identifier of its record), the
  record (``describedby``), its dataset feed (``alternate``), its extent as a GeoRSS polygon
  (latitude first) and one category per CRS it is offered in;
- ``<collection>.xml`` / ``<collection>.en.xml``: a dataset feed with one entry per file of
  the live release (format x CRS), each link with ``type``, ``length``, ``hreflang``, ``title``,
  and one entry per offer in several files (the 3D model's tiles: ``section`` links, built by
  :mod:`gdi.publish.atom.sections`);
- ``opensearch.xml``: the OpenSearch description with the Describe/Get Spatial Data Set
  templates answered by :mod:`gdi.publish.atom.search`;
- ``../atom-index.json`` (outside the served folder): what the search endpoint looks up.

``updated`` of an entry is the time its data last changed (the record's revision date), so a
re-run without change leaves every feed byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from gdi import crs
from gdi.city3d.offers import Offer
from gdi.metadata import vocab
from gdi.metadata.context import Context
from gdi.metadata.dataset import DatasetEntry
from gdi.publish.atom import sections
from gdi.publish.atom.elements import ATOM, DLS, FEED_TYPE, GEORSS, XML, link, sub, timestamp
from gdi.publish.downloads import DownloadFile, describe

OSD_TYPE = "application/opensearchdescription+xml"
CSW_TYPE = "application/xml"  # the TG's type for links to (dataset) metadata records
LANGUAGES = ("de", "en")  # the first is the service's default language
INDEX = "atom-index.json"


@dataclass(frozen=True)
class FeedDataset:
    entry: DatasetEntry
    code: str  # spatial_dataset_identifier_code: the record's resource identifier
    namespace: str  # spatial_dataset_identifier_namespace: the city's namespace
    record: str  # GetRecordById of its record
    files: tuple[DownloadFile, ...]
    offers: tuple[Offer, ...] = ()  # offers in several files (the 3D model's tiles)

    @property
    def collection(self) -> str:
        return self.entry.collection


def _files(entry: DatasetEntry, ctx: Context) -> tuple[DownloadFile, ...]:
    return tuple(describe(entry.desc, entry.release.folder, name, ctx.base_url, entry.title)
                 for name in entry.files)


def datasets(entries: Sequence[DatasetEntry], ctx: Context, records: dict[str, str]
             ) -> list[FeedDataset]:
    """The datasets the Atom service offers (every one with files), INSPIRE ones first (the
    OpenSearch description's first example is an INSPIRE GML)."""
    out = [FeedDataset(e, e.identifier, ctx.namespace_base, ctx.record_url(records[e.key]),
                       _files(e, ctx), e.tiled3d) for e in entries if e.files]
    return sorted(out, key=lambda d: (not d.entry.inspire, d.collection))


def _feed(lang: str) -> etree._Element:
    root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "georss": GEORSS,
                                                   "inspire_dls": DLS})
    root.set(f"{{{XML}}}lang", lang)
    return root


def _author(feed: etree._Element, ctx: Context) -> None:
    author = sub(feed, "author")
    sub(author, "name", ctx.contact.organisation)
    sub(author, "email", ctx.contact.email)


def _rights(ctx: Context, lang: str) -> str:
    return (f"Nutzungsbedingungen und Quellenvermerk: {ctx.attribution}" if lang == "de"
            else f"Terms of use and attribution: {ctx.attribution}")


def polygon(extent84: tuple[float, float, float, float]) -> str:
    """GeoRSS Simple polygon of a box: closed ring of latitude-longitude pairs."""
    w, s, e, n = extent84
    ring = [(s, w), (n, w), (n, e), (s, e), (s, w)]
    return " ".join(f"{lat:.6f} {lon:.6f}" for lat, lon in ring)


def _extent(ds: FeedDataset, ctx: Context) -> tuple[float, float, float, float]:
    if ds.entry.facts.extent84 is not None:
        return ds.entry.facts.extent84
    w, s, e, n = crs.crs84_extent(ctx.bbox, "EPSG:25832")
    return (w, s, e, n)


def _crs_categories(parent: etree._Element, ds: FeedDataset) -> None:
    """One category per CRS of the dataset's files and offers (the first label of each)."""
    crss = dict.fromkeys(f.crs_uri for f in ds.files) | dict.fromkeys(
        o.crs_uri for o in ds.offers)
    labels = {o.crs_uri: o.crs_label for o in reversed(ds.offers)} | {
        f.crs_uri: f.crs_label for f in reversed(ds.files)}
    for uri in crss:
        sub(parent, "category", term=uri, label=labels[uri])


def _text(ds: FeedDataset, lang: str) -> tuple[str, str]:
    e = ds.entry
    return ((e.title.de, e.description.de) if lang == "de"
            else (e.title.en or e.title.de, e.description.en or e.description.de))


def _updated(dates: Sequence[str]) -> str:
    return max(timestamp(d) for d in dates)


def _self_and_languages(feed: etree._Element, stem: str, lang: str) -> None:
    """The feed's ``self`` link and an ``alternate`` link to each other language's version
    (``<stem>.xml`` German, ``<stem>.en.xml`` English)."""
    link(feed, f"{stem}{suffix(lang)}.xml", "self", FEED_TYPE, hreflang=lang,
          title="Dieses Dokument" if lang == "de" else "This document")
    for other in LANGUAGES:
        if other != lang:
            link(feed, f"{stem}{suffix(other)}.xml", "alternate", FEED_TYPE, hreflang=other,
                  title="This document in English" if other == "en"
                  else "Dieses Dokument auf Deutsch")


def suffix(lang: str) -> str:
    return "" if lang == LANGUAGES[0] else f".{lang}"


# ---------------------------------------------------------------- documents

def service_feed(sets: Sequence[FeedDataset], ctx: Context, service_record: str,
                 wfs_capabilities: str | None, lang: str) -> etree._Element:
    base = f"{ctx.base_url}/atom"
    feed = _feed(lang)
    de = lang == "de"
    sub(feed, "title", f"Downloaddienst (INSPIRE Atom) – {ctx.city_de}" if de
        else f"Download service (INSPIRE Atom) – {ctx.city_en}")
    tiled = any(d.offers for d in sets)
    sub(feed, "subtitle", "Vordefinierte Datensätze: INSPIRE-GML und GeoPackage jeder "
        "Veröffentlichung, in jedem angebotenen Koordinatenreferenzsystem"
        + ("; das 3D-Gebäudemodell auch in Kacheln (CityGML, CityJSON, 3D Tiles)." if tiled
           else ".") if de else
        "Pre-defined datasets: INSPIRE GML and GeoPackage of every release, in every "
        "coordinate reference system offered"
        + ("; the 3D building model also in tiles (CityGML, CityJSON, 3D Tiles)." if tiled
           else "."))
    link(feed, service_record, "describedby", "application/vnd.ogc.csw.GetRecordByIdResponse_xml",
          title="Metadaten des Dienstes (ISO 19139)" if de else "Service metadata (ISO 19139)",
          hreflang="de")
    _self_and_languages(feed, f"{base}/service", lang)
    link(feed, f"{base}/opensearch.xml", "search", OSD_TYPE, hreflang=lang,
          title="OpenSearch-Beschreibung des Dienstes" if de
          else "OpenSearch description of the service")
    if wfs_capabilities:  # the same datasets through the WFS 2.0 (TG requirement 16)
        link(feed, wfs_capabilities, "related", "application/xml",
              title="Direktzugriff: WFS 2.0" if de else "Direct access: WFS 2.0")
    sub(feed, "id", f"{base}/service{suffix(lang)}.xml")
    sub(feed, "rights", _rights(ctx, lang))
    sub(feed, "updated", _updated([d.entry.revised for d in sets] or ["2012-01-01"]))
    _author(feed, ctx)
    for ds in sets:
        title, summary = _text(ds, lang)
        entry = sub(feed, "entry")
        sub(entry, "title", title)
        sub(entry, "spatial_dataset_identifier_code", ds.code, ns=DLS)
        sub(entry, "spatial_dataset_identifier_namespace", ds.namespace, ns=DLS)
        link(entry, ds.record, "describedby", CSW_TYPE, hreflang="de",
              title="Metadaten des Datensatzes (ISO 19139)" if de
              else "Dataset metadata (ISO 19139)")
        feed_url = f"{base}/{ds.collection}{suffix(lang)}.xml"
        link(entry, feed_url, "alternate", FEED_TYPE, hreflang=lang,
              title="Dataset-Feed mit den Dateien" if de else "Dataset feed with the files")
        sub(entry, "id", feed_url)
        sub(entry, "rights", _rights(ctx, lang))
        sub(entry, "updated", timestamp(ds.entry.revised))
        sub(entry, "summary", summary)
        sub(entry, "polygon", polygon(_extent(ds, ctx)), ns=GEORSS)
        _crs_categories(entry, ds)
    return feed


def dataset_feed(ds: FeedDataset, ctx: Context, lang: str) -> etree._Element:
    base = f"{ctx.base_url}/atom"
    de = lang == "de"
    title, summary = _text(ds, lang)
    feed = _feed(lang)
    sub(feed, "title", f"{title} – Downloads")
    sub(feed, "subtitle", summary)
    _self_and_languages(feed, f"{base}/{ds.collection}", lang)
    link(feed, f"{base}/service{suffix(lang)}.xml", "up", FEED_TYPE, hreflang=lang,
          title="Downloaddienst (Service-Feed)" if de else "Download service feed")
    link(feed, ds.record, "describedby", CSW_TYPE, hreflang="de",
          title="Metadaten des Datensatzes (ISO 19139)" if de else "Dataset metadata")
    types = ds.entry.desc.inspire_feature_types
    if types and ds.entry.inspire:  # the spatial object types of the GML
        for name in types:
            link(feed, vocab.FEATURE_CONCEPT.format(name), "describedby", "text/html",
                  hreflang="en", title=f"INSPIRE-Objektart {name}" if de
                  else f"INSPIRE spatial object type {name}")
    else:  # not harmonised: the local definition of its one feature type (its schema)
        link(feed, f"{ctx.base_url}/ogcapi/collections/{ds.collection}/queryables?f=html",
              "describedby", "text/html", hreflang="de",
              title="Objektart und Attribute" if de else "Feature type and attributes")
    sub(feed, "id", f"{base}/{ds.collection}{suffix(lang)}.xml")
    sub(feed, "rights", _rights(ctx, lang))
    sub(feed, "updated", timestamp(ds.entry.revised))
    _author(feed, ctx)
    extent = polygon(_extent(ds, ctx))
    for f in ds.files:
        entry = sub(feed, "entry")
        sub(entry, "title", f.title_de if de else f.title_en)
        link(entry, f.url, "alternate", f.media_type, hreflang="de", length=f.length,
              title=f.title_de if de else f.title_en)
        sub(entry, "id", f.url)
        sub(entry, "updated", timestamp(ds.entry.revised))
        sub(entry, "polygon", extent, ns=GEORSS)
        sub(entry, "category", term=f.crs_uri, label=f.crs_label)
    for offer in ds.offers:  # the 3D model's tiles: one sectioned entry per format and CRS
        sections.entry(feed, offer, ds.entry.revised, extent, lang)
    return feed


def _bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8",
                                pretty_print=True))


def documents(entries: Sequence[DatasetEntry], ctx: Context, records: dict[str, str],
              wfs_capabilities: str | None) -> dict[str, bytes]:
    """Every document of the service by file name (``atom-index.json`` included)."""
    from gdi.publish.atom import opensearch

    sets = datasets(entries, ctx, records)
    service_record = ctx.record_url(records["service:atom"])
    docs = {f"service{suffix(lang)}.xml": _bytes(service_feed(sets, ctx, service_record,
                                                               wfs_capabilities, lang))
            for lang in LANGUAGES}
    for ds in sets:
        for lang in LANGUAGES:
            docs[f"{ds.collection}{suffix(lang)}.xml"] = _bytes(dataset_feed(ds, ctx, lang))
    docs["opensearch.xml"] = _bytes(opensearch.description(sets, ctx))
    docs[INDEX] = json.dumps(opensearch.index(sets, ctx), ensure_ascii=False,
                             indent=1).encode()
    return docs


def write(folder: Path, docs: dict[str, bytes]) -> None:
    """The served documents into ``folder`` (``atom/`` of a catalogue release), the index
    beside it."""
    folder.mkdir()
    for name, data in docs.items():
        (folder.parent / name if name == INDEX else folder / name).write_bytes(data)
