"""The DCAT-AP.de 2.0 catalogue GovData harvests, built with rdflib from the same dataset
entries as the ISO records, the city profile and the live extracts.

One ``dcat:Dataset`` per public dataset (the grid aggregate of withheld contaminated sites is
its own, as in the CSW), identified by its INSPIRE resource identifier (stable for good, the
key GovData harvests by), ``dct:modified`` = the time the data last changed, so an unchanged
re-run writes the same bytes. Distributions: every extract of the live version (download URL
under ``/extracts/<id>/latest/``, size, SHA-256), the INSPIRE GML, and the services (OGC API
Features, WMS, WFS, Atom) as ``dcat:DataService`` distributions. No blank nodes: every node
has an IRI, so the serialisation is stable.

Formats the EU file-type list lacks (GeoParquet, FlatGeobuf, OGC API Features) carry no
``dct:format``: the format is named in the title and, where IANA registered it, in
``dcat:mediaType``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF

from gdi.metadata import model3d
from gdi.metadata.context import Context
from gdi.metadata.dataset import DatasetEntry
from gdi.publish.extracts.formats import NAMES

DCT = DCTERMS  # rdflib's defined namespaces: dct:title is a term, not str.title
DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
LICENCES = "http://dcat-ap.de/def/licenses/"
GEOCODING = "http://dcat-ap.de/def/politicalGeocoding/"
SHA256 = URIRef("http://dcat-ap.de/def/hashAlgorithms/sha/256")
# extract format -> (EU file type or None, IANA media type or None)
FILE_TYPES: dict[str, tuple[str | None, str | None]] = {
    "csv": ("CSV", "text/csv"), "geojson": ("GEOJSON", "application/geo+json"),
    "gpkg": ("GPKG", "application/geopackage+sqlite3"), "shp": ("SHP", None),
    "geoparquet": (None, "application/vnd.apache.parquet"), "fgb": (None, None),
    "gml": ("GML", "application/gml+xml"),
    # the 3D model (gdi.city3d.offers): application/city+json is not an IANA media type
    "CityJSON": ("JSON", None), "CityJSONSeq": ("JSON", None),
    "CityGML": ("GML", "application/gml+xml"), "json": ("JSON", "application/json")}


@dataclass(frozen=True)
class DcatDataset:
    entry: DatasetEntry
    issued: str  # the day the dataset was first published (the ledger's)
    landing_page: str
    extracts: list[dict[str, Any]]  # datapackage.json resources of this collection
    extracts_base: str  # URL of the live extracts folder


def _when(value: str) -> Literal:
    return (Literal(value, datatype=XSD.dateTime) if "T" in value
            else Literal(value, datatype=XSD.date))


def _text(g: Graph, node: URIRef, prop: URIRef, de: str, en: str | None) -> None:
    g.add((node, prop, Literal(de, lang="de")))
    if en and en != de:
        g.add((node, prop, Literal(en, lang="en")))


def _licensed(g: Graph, node: URIRef, ctx: Context) -> None:
    g.add((node, DCT.license, URIRef(LICENCES + ctx.licence_id)))
    g.add((node, DCATDE.licenseAttributionByText, Literal(ctx.licence_holder)))


def _file(g: Graph, ds: URIRef, url: str, fmt: str, title: str, size: int | None,
          digest: str | None, modified: str, ctx: Context) -> None:
    node = URIRef(f"{url}#distribution")
    g.add((ds, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    g.add((node, DCT.title, Literal(title, lang="de")))
    g.add((node, DCAT.accessURL, URIRef(url)))
    g.add((node, DCAT.downloadURL, URIRef(url)))
    eu, media = FILE_TYPES.get(fmt, (None, None))
    if eu:
        g.add((node, DCT.format, URIRef(f"{EU}file-type/{eu}")))
    if media:
        g.add((node, DCAT.mediaType, URIRef(IANA + media)))
    if fmt == "shp":
        g.add((node, DCAT.packageFormat, URIRef(IANA + "application/zip")))
    if size is not None:
        g.add((node, DCAT.byteSize, Literal(str(size), datatype=XSD.decimal)))
    if digest:
        checksum = URIRef(f"{url}#checksum")
        g.add((node, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SHA256))
        g.add((checksum, SPDX.checksumValue, Literal(digest, datatype=XSD.hexBinary)))
    g.add((node, DCT.modified, _when(modified)))
    _licensed(g, node, ctx)


def _service(g: Graph, ds: URIRef, ident: str, endpoint: str, fmt: str | None, title: str,
             ctx: Context) -> None:
    """A distribution through a service: access URL = the endpoint, no download URL."""
    node = URIRef(f"{endpoint}#distribution-{quote(ident, safe='')}")
    service = URIRef(f"{endpoint}#service")
    g.add((ds, DCAT.distribution, node))
    g.add((node, RDF.type, DCAT.Distribution))
    g.add((node, DCT.title, Literal(title, lang="de")))
    g.add((node, DCAT.accessURL, URIRef(endpoint)))
    g.add((node, DCAT.accessService, service))
    if fmt:
        g.add((node, DCT.format, URIRef(f"{EU}file-type/{fmt}")))
    _licensed(g, node, ctx)
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, DCT.title, Literal(title, lang="de")))
    g.add((service, DCAT.endpointURL, URIRef(endpoint)))
    g.add((service, DCAT.servesDataset, ds))
    _licensed(g, service, ctx)


def _model3d(g: Graph, ds: URIRef, e: DatasetEntry, ctx: Context) -> None:
    """The 3D model's whole-city files, and its tiles through their indexes."""
    for w in e.whole3d:
        _file(g, ds, w.url, w.format_name, f"{e.title.de} ({w.title_de})", w.length, None,
              e.revised, ctx)
    for index, group in model3d.indexes(e.tiled3d):
        what = ", ".join(f"{o.format_name} {o.version}" for o in group)
        _file(g, ds, index.url, "json", f"{e.title.de} ({what} in Kacheln: {index.name})",
              index.length, None, e.revised, ctx)


def _dataset(g: Graph, d: DcatDataset, ctx: Context, publisher: URIRef, contact: URIRef,
             contributor: str) -> URIRef:
    e = d.entry
    ds = URIRef(e.identifier)
    base = ctx.base_url
    g.add((ds, RDF.type, DCAT.Dataset))
    _text(g, ds, DCT.title, e.title.de, e.title.en)
    _text(g, ds, DCT.description, e.description.de, e.description.en)
    g.add((ds, DCT.identifier, Literal(e.identifier)))
    g.add((ds, DCT.issued, _when(d.issued)))
    g.add((ds, DCT.modified, _when(e.revised)))
    g.add((ds, DCT.publisher, publisher))
    g.add((ds, DCAT.contactPoint, contact))
    g.add((ds, DCATDE.contributorID, URIRef(contributor)))
    g.add((ds, DCAT.landingPage, URIRef(d.landing_page)))
    g.add((ds, DCT.language, URIRef(f"{EU}language/DEU")))
    for theme in e.desc.metadata.data_themes:
        g.add((ds, DCAT.theme, URIRef(f"{EU}data-theme/{theme}")))
    for word in e.desc.publication.keywords:
        g.add((ds, DCAT.keyword, Literal(word, lang="de")))
    municipality = URIRef(f"{GEOCODING}municipalityKey/{ctx.municipality_key}")
    g.add((ds, DCATDE.politicalGeocodingURI, municipality))
    g.add((ds, DCATDE.politicalGeocodingLevelURI, URIRef(f"{GEOCODING}Level/municipality")))
    g.add((ds, DCT.spatial, municipality))
    if e.facts.extent84 is not None:
        w, s, east, n = e.facts.extent84
        place = URIRef(f"{e.identifier}#extent")
        g.add((ds, DCT.spatial, place))
        g.add((place, RDF.type, DCT.Location))
        g.add((place, DCAT.bbox, Literal(
            f"<http://www.opengis.net/def/crs/OGC/1.3/CRS84> POLYGON(({w:.6f} {s:.6f}, "
            f"{east:.6f} {s:.6f}, {east:.6f} {n:.6f}, {w:.6f} {n:.6f}, {w:.6f} {s:.6f}))",
            datatype=GSP.wktLiteral)))
    if e.facts.temporal is not None:
        period = URIRef(f"{e.identifier}#period")
        g.add((ds, DCT.temporal, period))
        g.add((period, RDF.type, DCT.PeriodOfTime))
        g.add((period, DCAT.startDate, Literal(e.facts.temporal[0], datatype=XSD.date)))
        g.add((period, DCAT.endDate, Literal(e.facts.temporal[1], datatype=XSD.date)))
    for res in d.extracts:
        name = NAMES.get(res["format"], res["format"])
        _file(g, ds, f"{d.extracts_base}{quote(res['path'])}", res["format"],
              f"{e.title.de} ({name})", int(res["bytes"]), res["hash"].split(":", 1)[1],
              e.revised, ctx)
    for f in e.files:
        if f.endswith(".inspire.gml"):  # the INSPIRE GML in the storage CRS
            _file(g, ds, f"{base}/downloads/{e.desc.id}/{quote(f)}", "gml",
                  f"{e.title.de} (INSPIRE-GML)", None, None, e.revised, ctx)
    _model3d(g, ds, e, ctx)
    _service(g, ds, e.collection, f"{base}/ogcapi/collections/{e.collection}", "GEOJSON",
             "OGC API Features (GeoJSON)", ctx)
    if e.wms_layer is not None:
        _service(g, ds, e.collection, f"{base}/wms", "WMS_SRVC",
                 "Darstellungsdienst (WMS 1.3.0)", ctx)
        _service(g, ds, e.collection, f"{base}/wfs", "WFS_SRVC",
                 "Downloaddienst (WFS 2.0, öffentliches Schema)", ctx)
    if e.files:
        _service(g, ds, e.collection, f"{base}/atom/{e.collection}.xml", "ATOM",
                 "Downloaddienst (INSPIRE Atom)", ctx)
    return ds


def catalogue(datasets: list[DcatDataset], ctx: Context, contributor: str) -> Graph:
    g = Graph(bind_namespaces="core")
    for prefix, ns in (("dcat", DCAT), ("dct", DCT), ("dcatde", DCATDE), ("foaf", FOAF),
                       ("vcard", VCARD), ("spdx", SPDX), ("locn", LOCN), ("gsp", GSP)):
        g.bind(prefix, ns)
    base = ctx.base_url
    cat = URIRef(f"{base}/dcat/catalog")
    publisher = URIRef(f"{base}/dcat/publisher")
    contact = URIRef(f"{base}/dcat/contact")
    g.add((cat, RDF.type, DCAT.Catalog))
    _text(g, cat, DCT.title, f"Offene Geodaten – {ctx.city_de}",
          f"Open geodata – {ctx.city_en}")
    _text(g, cat, DCT.description, f"Offene Geodaten der {ctx.city_de} (Datenlizenz "
          "Deutschland – Namensnennung 2.0), mit Downloads und Diensten.",
          f"Open geodata of the {ctx.city_en} (Data licence Germany – attribution – 2.0), "
          "with downloads and services.")
    g.add((cat, DCT.publisher, publisher))
    g.add((cat, FOAF.homepage, URIRef(f"{base}/")))
    if datasets:
        g.add((cat, DCT.modified, _when(max(d.entry.revised for d in datasets))))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, Literal(ctx.licence_holder, lang="de")))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(ctx.contact.organisation, lang="de")))
    g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{ctx.contact.email}")))
    for d in datasets:
        g.add((cat, DCAT.dataset, _dataset(g, d, ctx, publisher, contact, contributor)))
    return g


def rdf_xml(graph: Graph) -> bytes:
    """RDF/XML in a fixed order (subjects, then properties and values, sorted; rdflib's own
    writer orders them differently from process to process), built with lxml: one
    ``rdf:Description`` per subject, its type included, so an unchanged catalogue is the
    same bytes."""
    from lxml import etree

    rdf = str(RDF)
    nsmap = {"rdf": rdf, **{p: str(ns) for p, ns in graph.namespaces() if p and p != "rdf"}}
    root = etree.Element(f"{{{rdf}}}RDF", nsmap=dict(sorted(nsmap.items())))
    for subject in sorted({s for s in graph.subjects() if isinstance(s, URIRef)}):
        node = etree.SubElement(root, f"{{{rdf}}}Description", {f"{{{rdf}}}about": subject})
        for pred, obj in sorted(graph.predicate_objects(subject)):
            _, ns, local = graph.compute_qname(str(pred))
            el = etree.SubElement(node, f"{{{ns}}}{local}")
            if isinstance(obj, Literal):
                el.text = str(obj)
                if obj.language:
                    el.set("{http://www.w3.org/XML/1998/namespace}lang", obj.language)
                elif obj.datatype:
                    el.set(f"{{{rdf}}}datatype", obj.datatype)
            else:
                el.set(f"{{{rdf}}}resource", str(obj))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8",
                                pretty_print=True))


def extract_resources(folder: Path | None, collection: str) -> list[dict[str, Any]]:
    """The live extracts of one collection, from its dataset's ``datapackage.json``."""
    if folder is None or not (folder / "datapackage.json").exists():
        return []
    doc = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    return [r for r in doc["resources"] if r["path"].startswith(f"{collection}.")]
