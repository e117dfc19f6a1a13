"""The ISO 19119 records of the services, from one registry (:func:`service_specs`).

A service is described by a :class:`ServiceSpec`: what it is (INSPIRE service type and
category, protocol, version), where it answers (capabilities, operations) and which datasets
it serves (the coupling). A new service (the Atom feeds and the WFS download service) is one
more entry in :func:`service_specs`, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gdi.metadata import iso, vocab
from gdi.metadata.context import Context
from gdi.metadata.dataset import DatasetEntry, constraints, header
from gdi.metadata.iso import Element, Text, el, path

SERVICE_CATEGORY = f"{vocab.INSPIRE_REGISTRY}/metadata-codelist/SpatialDataServiceCategory"


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # the record's key in the identifier ledger ("service:wms")
    title: Text
    abstract: Text
    service_type: str  # INSPIRE spatial data service type: view, download, discovery, other
    category: str  # INSPIRE classification: infoMapAccessService, infoFeatureAccessService...
    type_version: str  # GDI-DE: "OGC:WMS 1.3.0", "OGC:CSW 2.0.2", "predefined ATOM"
    protocol: str  # of its resource locator
    locator: str  # the resource locator (the full GetCapabilities request, a landing page)
    operations: tuple[tuple[str, str], ...]  # (operation name, connect point)
    serves: Callable[[DatasetEntry], bool]  # which datasets it is coupled to
    inspire: bool  # an INSPIRE network service (keyword 'inspireidentifiziert', 976/2009)
    keywords: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.service_type not in vocab.SERVICE_TYPES:
            raise ValueError(f"{self.key}: unknown service type {self.service_type}")


def service_specs(ctx: Context) -> list[ServiceSpec]:
    """Every service the city runs (gdi serve), with its coupling rule."""
    base = ctx.base_url
    wms = f"{base}/wms"
    return [
        ServiceSpec(
            key="service:wms",
            title=Text(f"Geodatendienste – {ctx.city_de} – Darstellungsdienst (WMS)",
                       f"Geodata services – {ctx.city_en} – view service (WMS)"),
            abstract=Text(f"INSPIRE-Darstellungsdienst (WMS 1.3.0) der Datensätze der "
                          f"{ctx.city_de}, Ebenen mit INSPIRE-Namen und Standardstil.",
                          f"INSPIRE view service (WMS 1.3.0) of the datasets of the "
                          f"{ctx.city_en}, layers with INSPIRE names and default style."),
            service_type="view", category="infoMapAccessService",
            type_version="OGC:WMS 1.3.0", protocol="OGC:WMS",
            locator=f"{wms}?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetCapabilities",
            operations=(("GetCapabilities", f"{wms}?"), ("GetMap", f"{wms}?"),
                        ("GetFeatureInfo", f"{wms}?")),
            serves=lambda d: d.wms_layer is not None, inspire=True,
            keywords=("Darstellungsdienst", "WMS")),
        ServiceSpec(
            key="service:ogcapi",
            title=Text(f"Geodatendienste – {ctx.city_de} – OGC API Features",
                       f"Geodata services – {ctx.city_en} – OGC API Features"),
            abstract=Text(f"Downloaddienst (OGC API – Features 1.0, INSPIRE Good Practice) "
                          f"für alle öffentlichen Datensätze der {ctx.city_de}: Objekte "
                          f"als GeoJSON und HTML, Filter (CQL2), Koordinatenreferenzsysteme.",
                          f"Download service (OGC API – Features 1.0, INSPIRE good practice) "
                          f"of every public dataset of the {ctx.city_en}: features as "
                          f"GeoJSON and HTML, filters (CQL2), coordinate reference systems."),
            service_type="download", category="infoFeatureAccessService",
            type_version="OGC API - Features 1.0", protocol="OGC API - Features",
            locator=f"{base}/ogcapi/",
            operations=(("Landing page", f"{base}/ogcapi/"),
                        ("Collections", f"{base}/ogcapi/collections"),
                        ("API definition", f"{base}/ogcapi/openapi")),
            serves=lambda d: True, inspire=False, keywords=("Downloaddienst", "OGC API")),
        ServiceSpec(
            key="service:atom",
            title=Text(f"Geodatendienste – {ctx.city_de} – Downloaddienst (INSPIRE Atom)",
                       f"Geodata services – {ctx.city_en} – download service (INSPIRE Atom)"),
            abstract=Text(f"INSPIRE-Downloaddienst mit vordefinierten Datensätzen (Atom-Feeds "
                          f"mit OpenSearch) der {ctx.city_de}: INSPIRE-GML und GeoPackage "
                          f"jeder Veröffentlichung in ETRS89/UTM32 und ETRS89 geographisch.",
                          f"INSPIRE pre-defined dataset download service (Atom feeds with "
                          f"OpenSearch) of the {ctx.city_en}: INSPIRE GML and GeoPackage of "
                          f"every release in ETRS89/UTM32 and ETRS89 geographic."),
            service_type="download", category="infoFeatureAccessService",
            type_version="predefined ATOM", protocol="INSPIRE Atom",
            locator=f"{base}/atom/service.xml",
            operations=(("Download", f"{base}/atom/service.xml"),
                        ("Describe Spatial Data Set", f"{base}/atom/search"),
                        ("Get Spatial Data Set", f"{base}/atom/search"),
                        ("Get Download Service Metadata", f"{base}/atom/opensearch.xml")),
            serves=lambda d: bool(d.files), inspire=True,
            keywords=("Downloaddienst", "Atom")),
        ServiceSpec(
            key="service:wfs",
            title=Text(f"Geodatendienste – {ctx.city_de} – Downloaddienst (WFS)",
                       f"Geodata services – {ctx.city_en} – download service (WFS)"),
            abstract=Text(f"INSPIRE-Downloaddienst mit direktem Zugriff (WFS 2.0) auf die "
                          f"öffentlichen Datensätze der {ctx.city_de}, im vereinfachten "
                          f"öffentlichen Schema (GML 3.2, GeoJSON); die INSPIRE-GML liefert "
                          f"der Atom-Downloaddienst.",
                          f"INSPIRE direct access download service (WFS 2.0) of the public "
                          f"datasets of the {ctx.city_en}, in the flat public schema (GML 3.2, "
                          f"GeoJSON); the INSPIRE GML comes from the Atom download service."),
            service_type="download", category="infoFeatureAccessService",
            type_version="OGC:WFS 2.0.0", protocol="OGC:WFS",
            locator=f"{base}/wfs?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetCapabilities",
            operations=tuple((op, f"{base}/wfs?") for op in (
                "GetCapabilities", "DescribeFeatureType", "GetFeature", "ListStoredQueries",
                "DescribeStoredQueries")),
            serves=lambda d: d.wms_layer is not None, inspire=True,
            keywords=("Downloaddienst", "WFS")),
        ServiceSpec(
            key="service:csw",
            title=Text(f"Geodatendienste – {ctx.city_de} – Suchdienst (CSW)",
                       f"Geodata services – {ctx.city_en} – discovery service (CSW)"),
            abstract=Text(f"Metadatenkatalog (CSW 2.0.2, ISO-Anwendungsprofil) der "
                          f"Datensätze und Dienste der {ctx.city_de}, zum Harvesting durch "
                          f"GDI-NI und Geodatenkatalog.de.",
                          f"Metadata catalogue (CSW 2.0.2, ISO application profile) of the "
                          f"datasets and services of the {ctx.city_en}, harvested by GDI-NI "
                          f"and Geodatenkatalog.de."),
            service_type="discovery", category="infoCatalogueService",
            type_version="OGC:CSW 2.0.2", protocol="OGC:CSW",
            locator=f"{ctx.csw}?SERVICE=CSW&VERSION=2.0.2&REQUEST=GetCapabilities",
            operations=(("GetCapabilities", f"{ctx.csw}?"), ("GetRecords", f"{ctx.csw}?"),
                        ("GetRecordById", f"{ctx.csw}?")),
            serves=lambda d: False, inspire=True, keywords=("Suchdienst", "Katalog")),
    ]


def service_record(spec: ServiceSpec, file_identifier: str, created: str, ctx: Context,
                   coupled: list[DatasetEntry]) -> Element:
    """``created``: the day the service's record was first published (the ledger's)."""
    root = iso.new_record(service=True)
    header(root, file_identifier, ctx, "service")
    ident = path(root, "gmd:identificationInfo/srv:SV_ServiceIdentification")
    iso.citation(ident, "gmd:citation", spec.title, [(created, "creation")])
    iso.text(ident, "gmd:abstract", spec.abstract)
    iso.party(ident, "gmd:pointOfContact", ctx.contact, "pointOfContact")
    iso.keywords(ident, [(spec.category, f"{SERVICE_CATEGORY}/{spec.category}")])
    iso.keywords(ident, [(k, None) for k in (*spec.keywords, ctx.place)])
    if spec.inspire:
        iso.keywords(ident, [("inspireidentifiziert", None)])
    constraints(ident, ctx, "noLimitations", opendata=False)
    el(el(ident, "srv:serviceType"), "gco:LocalName", spec.service_type)
    iso.text(ident, "srv:serviceTypeVersion", spec.type_version)
    extent = path(ident, "srv:extent/gmd:EX_Extent")
    from gdi.crs import crs84_extent

    west, south, east, north = crs84_extent(ctx.bbox, "EPSG:25832")
    iso.bbox(extent, west, east, south, north)
    coupling = el(ident, "srv:couplingType")
    el(coupling, "srv:SV_CouplingType", "tight" if coupled else "loose",
       codeList=f"{vocab.ISO_CODELISTS}#SV_CouplingType",
       codeListValue="tight" if coupled else "loose")
    for name, url in spec.operations:
        op = path(ident, "srv:containsOperations/srv:SV_OperationMetadata")
        iso.text(op, "srv:operationName", name)
        dcp = el(op, "srv:DCP")
        el(dcp, "srv:DCPList", "WebServices", codeList=f"{vocab.ISO_CODELISTS}#DCPList",
           codeListValue="WebServices")
        el(path(op, "srv:connectPoint/gmd:CI_OnlineResource/gmd:linkage"), "gmd:URL", url)
    for entry in coupled:
        el(ident, "srv:operatesOn", uuidref=entry.identifier,
           xlink__href=ctx.record_url(entry.file_identifier))
    dist = path(root, "gmd:distributionInfo/gmd:MD_Distribution")
    transfer = path(dist, "gmd:transferOptions/gmd:MD_DigitalTransferOptions")
    iso.online(transfer, spec.locator, spec.protocol, None, spec.title, "information")
    dq = path(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    scope = path(dq, "gmd:scope/gmd:DQ_Scope")
    iso.code(scope, "gmd:level", "MD_ScopeCode", "service")
    iso.text(path(scope, "gmd:levelDescription/gmd:MD_ScopeDescription"), "gmd:other",
             "Dienst")
    reg = vocab.NETWORK_SERVICES
    iso.conformity(dq, reg.title, reg.date, reg.uri,
                   "Nicht gegen die Verordnung geprüft (Leistung, Kapazität und "
                   "Verfügbarkeit sind nicht evaluiert).", None)
    return root
