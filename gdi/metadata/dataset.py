"""The ISO 19139 record of a published dataset (INSPIRE TG Metadata 2.0, GDI-DE conventions).

A descriptor's collection and, if it has one, its grid aggregate are two datasets with two
records. Everything comes from the descriptor, the city profile (:class:`Context`) and the
live release (:class:`ReleaseFacts`): nothing is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from gdi.city3d.offers import Offer, WholeFile
from gdi.descriptor import Descriptor, I18n
from gdi.metadata import iso, model3d, vocab
from gdi.metadata.context import Context
from gdi.metadata.facts import CollectionFacts, ReleaseFacts
from gdi.metadata.iso import Element, Text, el, path

DATESTAMP = "1970-01-01T00:00:00Z"  # placeholder, replaced by the catalogue (first occurrence)


@dataclass(frozen=True)
class DatasetEntry:
    key: str  # "dataset:<collection>", the record's key in the identifier ledger
    desc: Descriptor
    collection: str
    title: I18n
    description: I18n
    aggregate: bool  # the grid counts of the withheld records, not the records
    facts: CollectionFacts
    release: ReleaseFacts
    file_identifier: str
    identifier: str  # the resource identifier (namespace + local id)
    # when the data last changed: the release that changed them went live (a date-time, so
    # that a second change on one day is a new revision)
    revised: str
    files: tuple[str, ...]  # the release's download files of this dataset
    wms_layer: str | None  # its layer in the view service
    # the 3D model's files (buildings), read once per build (gdi.metadata.model3d.read)
    whole3d: tuple[WholeFile, ...] = ()
    tiled3d: tuple[Offer, ...] = ()

    @property
    def inspire(self) -> bool:
        """Falls under INSPIRE (the aggregate is a statistic derived from the dataset)."""
        return self.desc.metadata.inspire_relevant and not self.aggregate


FORMATS = {  # file suffix -> (format name, version, media type)
    ".gml": ("GML", "3.2.1", "application/gml+xml"),
    ".gpkg": ("GeoPackage", "1.2", "application/geopackage+sqlite3"),
}


def file_format(name: str) -> tuple[str, str, str]:
    """(format name, version, media type) of a download file."""
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise ValueError(f"no format known for {name}")


def file_crs(name: str, storage_crs: str) -> str:
    """The CRS of a download file, from its name (trees.4258.gpkg: EPSG:4258)."""
    parts = name.split(".")
    return f"EPSG:{parts[-2]}" if len(parts) > 2 and parts[-2].isdigit() else storage_crs


def _keywords(ident: Element, entry: DatasetEntry, place: str) -> None:
    desc = entry.desc
    if entry.inspire:
        theme = vocab.THEMES[str(desc.inspire_theme)]
        iso.keywords(ident, [(theme.de, theme.uri)], vocab.GEMET_THESAURUS, "theme")
        scope = desc.metadata.spatial_scope
        iso.keywords(ident, [(vocab.SPATIAL_SCOPE[scope],
                              f"{vocab.SPATIAL_SCOPE_THESAURUS[2]}/{scope}")],
                     vocab.SPATIAL_SCOPE_THESAURUS)
    free = [k for k in desc.publication.keywords if k.lower() not in {"opendata", "inspire"}]
    if entry.aggregate:
        free = [*free, "Rasterzellen", "Statistik"]
    iso.keywords(ident, [(k, None) for k in dict.fromkeys([*free, place])])
    if entry.inspire:  # GDI-DE: its own block, no thesaurus
        iso.keywords(ident, [("inspireidentifiziert", None)])
    if desc.metadata.opendata:  # GDI-DE/GovData: its own block, no thesaurus
        iso.keywords(ident, [("opendata", None)])


def licence_json(ctx: Context) -> str:
    import json

    return json.dumps({"id": ctx.licence_id, "name": ctx.licence_name, "url": ctx.licence_url,
                       "quelle": ctx.licence_holder}, ensure_ascii=False, separators=(",", ":"))


def constraints(ident: Element, ctx: Context, access: str, opendata: bool,
                note: str | None = None) -> None:
    """Two MD_LegalConstraints (INSPIRE TG C.17/C.18, GDI-DE): limitations on public access
    as an anchor, conditions of use as the licence text (and JSON for open data)."""
    legal = path(ident, "gmd:resourceConstraints/gmd:MD_LegalConstraints")
    iso.code(legal, "gmd:accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    iso.anchor(legal, "gmd:otherConstraints", f"{vocab.ACCESS}/{access}",
               vocab.ACCESS_LABELS[access])
    if note:
        iso.text(legal, "gmd:otherConstraints", note)
    use = path(ident, "gmd:resourceConstraints/gmd:MD_LegalConstraints")
    iso.code(use, "gmd:useConstraints", "MD_RestrictionCode", "otherRestrictions")
    iso.text(use, "gmd:otherConstraints",
             f"Nutzungsbedingungen: {ctx.licence_title} ({ctx.licence_url}). "
             f"Quellenvermerk: {ctx.attribution}")
    if opendata:
        iso.text(use, "gmd:otherConstraints", licence_json(ctx))


def _reference_system(root: Element, epsg: int) -> None:
    ident = path(root, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/"
                       "gmd:referenceSystemIdentifier/gmd:RS_Identifier")
    iso.anchor(ident, "gmd:code", vocab.EPSG_URI.format(epsg), f"EPSG:{epsg}")


def header(root: Element, file_identifier: str, ctx: Context, scope: str) -> None:
    """fileIdentifier ... locale: the part every record shares."""
    iso.text(root, "gmd:fileIdentifier", file_identifier)
    iso.language(root, "gmd:language")
    iso.code(root, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    iso.code(root, "gmd:hierarchyLevel", "MD_ScopeCode", scope)
    if scope == "service":
        iso.text(root, "gmd:hierarchyLevelName", "Dienst")
    iso.party(root, "gmd:contact", ctx.contact, "pointOfContact")
    el(el(root, "gmd:dateStamp"), "gco:DateTime", DATESTAMP)
    iso.text(root, "gmd:metadataStandardName",
             "ISO 19119" if scope == "service" else "ISO 19115")
    iso.text(root, "gmd:metadataStandardVersion",
             "2005/PDAM 1" if scope == "service" else "2003/Cor.1:2006")
    locale = el(el(root, "gmd:locale"), "gmd:PT_Locale", id="EN")
    iso.language(locale, "gmd:languageCode", "eng")
    iso.code(locale, "gmd:characterEncoding", "MD_CharacterSetCode", "utf8")


def _n(value: int) -> str:
    """A count as Germans write it (33.000)."""
    return f"{int(value):,}".replace(",", ".")


def lineage(entry: DatasetEntry) -> str:
    """The lineage statement, from the public view of the release's run report."""
    rep: dict[str, Any] = entry.release.report
    src = rep.get("source", {})
    tools = rep.get("tools", {})
    desc = entry.desc
    if entry.aggregate:
        agg = desc.publication.aggregate
        assert agg is not None
        return (f"Abgeleitet aus „{desc.title.de}“ (Stand der Quelle "
                f"{src.get('source_date') or 'unbekannt'}): Anzahl der Datensätze, die nicht "
                f"einzeln veröffentlicht werden, je INSPIRE-Rasterzelle ({agg.grid_m} m, "
                f"ETRS89-LAEA) und „{agg.by}“. Anzahlen unter {agg.suppress_below} und Summen "
                f"werden nicht veröffentlicht. Verarbeitung: gdi "
                f"{tools.get('gdi', '?')}.")
    parts = [f"Quelle: Export des Fachverfahrens „{desc.title.de}“ "
             f"(Datei {PurePath(str(src.get('path', '?'))).name}, Format {src.get('format')}, "
             f"Zeichensatz {src.get('encoding')}, Koordinatenreferenzsystem {src.get('crs')}), "
             f"Stand der Quelle {src.get('source_date') or 'unbekannt'}."]
    line = (f"{_n(rep.get('read', 0))} Datensätze gelesen, {_n(rep.get('published', 0))} "
            f"übernommen, {_n(rep.get('rejected', 0))} mit Begründung abgewiesen")
    reasons: dict[str, int] = {}
    for r in rep.get("rejections", []):
        reason = str(r.get("reason", "")).split(" (")[0]
        reasons[reason] = reasons.get(reason, 0) + 1
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    if top:
        line += " (" + "; ".join(f"{n}× {reason}" for reason, n in top) + ")"
    parts.append(line + ".")
    public = rep.get("public", {})
    if public.get("withheld"):
        parts.append(f"Davon einzeln veröffentlicht: {_n(public.get('records', 0))}; die "
                     "übrigen nur als Anzahl je Rasterzelle.")
    transformation = rep.get("transformation", {})
    if transformation.get("operation"):
        grid = transformation.get("grid")
        parts.append(f"Koordinatentransformation nach {desc.storage_crs}: "
                     f"{transformation['operation']}"
                     + (f" mit dem NTv2-Gitter {PurePath(str(grid)).name}" if grid else "")
                     + ".")
    inspire = rep.get("inspire", {})
    if inspire.get("members") is not None and desc.inspire_schema is not None:
        valid = {True: "gültig", False: "nicht gültig"}.get(inspire.get("valid"), "nicht geprüft")
        parts.append(f"Umgebildet in das INSPIRE-Anwendungsschema "
                     f"{inspire.get('application_schema')} ({inspire.get('feature_type')}, "
                     f"{_n(inspire.get('members', 0))} Objekte; gegen die offiziellen "
                     f"XML-Schemas {valid}).")
    parts.append(f"Verarbeitung: gdi {tools.get('gdi', '?')}, GDAL "
                 f"{tools.get('gdal', '?')}, PROJ {tools.get('proj', '?')}.")
    return " ".join(parts)


def conformity_result(entry: DatasetEntry) -> tuple[bool | None, str]:
    """Degree of conformity to Regulation 1089/2010 from this release's validation."""
    inspire = entry.release.report.get("inspire", {})
    if entry.desc.inspire_schema is None:
        return False, ("Keine Umbildung in ein INSPIRE-Anwendungsschema: der Datensatz ist "
                       "nicht konform.")
    valid = inspire.get("valid")
    if valid is True:
        return True, (f"Die INSPIRE-GML dieser Veröffentlichung ist gegen das Schema "
                      f"{inspire.get('application_schema')} validiert.")
    if valid is False:
        return False, "Die INSPIRE-GML dieser Veröffentlichung ist nicht schemagültig."
    return None, ("Diese Veröffentlichung enthält keine INSPIRE-GML: "
                  f"{inspire.get('gml', 'nicht erzeugt')}.")


def dataset_record(entry: DatasetEntry, ctx: Context,
                   links: list[tuple[str, str, str | None, Text, str]]) -> Element:
    """``links``: (url, protocol, name, description, function) of the transfer options."""
    desc = entry.desc
    root = iso.new_record(service=False)
    header(root, entry.file_identifier, ctx, "dataset")
    codes = [int(c.split(":")[-1]) for c in dict.fromkeys(
        file_crs(f, desc.storage_crs) for f in entry.files) or [desc.storage_crs]]
    for code in dict.fromkeys([*codes, *model3d.reference_systems(entry.tiled3d)]):
        _reference_system(root, code)
    ident = path(root, "gmd:identificationInfo/gmd:MD_DataIdentification")
    iso.citation(ident, "gmd:citation", Text(entry.title.de, entry.title.en),
                 [(entry.revised, "revision")], identifier=entry.identifier)
    iso.text(ident, "gmd:abstract", Text(entry.description.de, entry.description.en))
    iso.party(ident, "gmd:pointOfContact", ctx.contact, "pointOfContact")
    maint = path(ident, "gmd:resourceMaintenance/gmd:MD_MaintenanceInformation")
    iso.code(maint, "gmd:maintenanceAndUpdateFrequency", "MD_MaintenanceFrequencyCode",
             desc.metadata.update_frequency)
    _keywords(ident, entry, ctx.place)
    withheld = desc.metadata.withheld_because if not entry.aggregate else None
    note = None
    if withheld is not None:
        note = ("Veröffentlicht ist der öffentliche Teil; die übrigen Datensätze werden nach "
                f"Art. 13 der INSPIRE-Richtlinie ({vocab.ACCESS_LABELS[withheld]}) nicht "
                "einzeln veröffentlicht.")
    constraints(ident, ctx, withheld or "noLimitations", desc.metadata.opendata, note)
    iso.code(ident, "gmd:spatialRepresentationType", "MD_SpatialRepresentationTypeCode",
             "vector")
    iso.language(ident, "gmd:language")
    iso.code(ident, "gmd:characterSet", "MD_CharacterSetCode", "utf8")
    for topic in desc.metadata.topic_categories:
        el(el(ident, "gmd:topicCategory"), "gmd:MD_TopicCategoryCode", topic)
    extent = path(ident, "gmd:extent/gmd:EX_Extent")
    if entry.facts.extent84 is not None:
        west, south, east, north = entry.facts.extent84
        iso.bbox(extent, west, east, south, north)
    if entry.facts.temporal is not None:
        iso.period(extent, *entry.facts.temporal, gml_id=f"temporal-{entry.collection}")
    dist = path(root, "gmd:distributionInfo/gmd:MD_Distribution")
    seen = set()
    for name in entry.files:
        fmt_name, version, media = file_format(name)
        if fmt_name in seen:
            continue
        seen.add(fmt_name)
        fmt = path(dist, "gmd:distributionFormat/gmd:MD_Format")
        iso.anchor(fmt, "gmd:name", f"{vocab.MEDIA_TYPES}/{media}", fmt_name)
        iso.text(fmt, "gmd:version", version)
    for fmt_name, version in model3d.formats(entry.whole3d, entry.tiled3d):  # not in the
        # INSPIRE media-types register: no anchor
        fmt = path(dist, "gmd:distributionFormat/gmd:MD_Format")
        iso.text(fmt, "gmd:name", fmt_name)
        iso.text(fmt, "gmd:version", version)
    transfer = path(dist, "gmd:transferOptions/gmd:MD_DigitalTransferOptions")
    for url, protocol, label, description, function in links:
        iso.online(transfer, url, protocol, label, description, function)
    dq = path(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    iso.code(path(dq, "gmd:scope/gmd:DQ_Scope"), "gmd:level", "MD_ScopeCode", "dataset")
    if entry.inspire:
        passed, explanation = conformity_result(entry)
        reg = vocab.INTEROPERABILITY
        iso.conformity(dq, reg.title, reg.date, reg.uri, explanation, passed)
    iso.text(path(dq, "gmd:lineage/gmd:LI_Lineage"), "gmd:statement", lineage(entry))
    return root
