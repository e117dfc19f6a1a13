"""The rules every record is checked against before it is published.

XSD validity (gdi.xsd) is necessary, not sufficient. These are the assertions of the INSPIRE
validator's executable test suites for metadata 2.0 (ets-repository v2024.0.1: ``common``,
``datasets-and-series``, ``interoperability``, ``services``, ``network-services``) that can be
evaluated offline, named by their test ids, plus the GDI-DE conventions that decide whether a
record reaches Geodatenkatalog.de and GovData. The suites' remote look-ups (registry labels,
resolving coupled resources) are done by the tests against the running services instead.

A record is treated as INSPIRE's when it carries the keyword ``inspireidentifiziert``.
"""

from __future__ import annotations

import json
import re
from collections import Counter

from lxml import etree

from gdi.metadata import vocab
from gdi.metadata.iso import NS, Element

# ets-repository metadata/2.0 common: C.7, C.11 (date and date-time forms)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$|^\d{8}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:\d{2})?)?$")
# datasets-and-series 1.8: resource locators
_URL = re.compile(r"(http://|https://|ftp://)([a-z0-9]{1})((\.[a-z0-9-])|([a-z0-9-]))*"
                  r"\.([a-z0-9-]{1,4})(/?)")
_DECIMAL = re.compile(r"^-?\d+\.\d{2,}")  # C.19: at least two decimals
EU_LANGUAGES = frozenset((
    "bul", "hrv", "cze", "dan", "dut", "eng", "est", "fin", "fre", "ger", "gre", "hun", "gle",
    "ice", "ita", "lav", "lit", "mlt", "nor", "pol", "por", "rum", "slo", "slv", "spa", "swe"))
LANGUAGE_LISTS = frozenset(f"{s}://{h}/{p}{t}" for s in ("http", "https") for h, p in (
    ("www.loc.gov", "standards/iso639-2"), ("id.loc.gov", "vocabulary/iso639-2"))
    for t in ("", "/"))
ROLES = frozenset((
    "resourceProvider", "custodian", "owner", "user", "distributor", "originator",
    "pointOfContact", "principalInvestigator", "processor", "publisher", "author"))
NETWORK_TYPES = frozenset({"view", "download", "discovery", "transformation"})
ID = "gmd:identificationInfo[1]/*"


def _x(node: Element, expr: str) -> list[Element]:
    return list(node.xpath(expr, namespaces=NS))


def _texts(node: Element, expr: str) -> list[str]:
    return [str(t).strip() for t in node.xpath(expr, namespaces=NS)]


def _value(node: Element) -> str:
    """Text of a CharacterString or Anchor child."""
    return "".join(_texts(node, "gco:CharacterString/text()|gmx:Anchor/text()")).strip()


def _party(rp: Element, where: str) -> list[str]:
    out = []
    if not _value(rp.find("gmd:organisationName", NS) if rp.find("gmd:organisationName", NS)
                  is not None else etree.Element("x")):
        out.append(f"{where}: organisationName empty")
    mails = _x(rp, "gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/"
                   "gmd:electronicMailAddress")
    if not mails or any(not _value(m) for m in mails):
        out.append(f"{where}: an electronicMailAddress is needed, none empty")
    roles = _texts(rp, "gmd:role/gmd:CI_RoleCode/@codeListValue")
    if len(roles) != 1 or roles[0] not in ROLES:
        out.append(f"{where}: role {roles} not one ISO CI_RoleCode")
    return out


def _common(md: Element) -> list[str]:
    p: list[str] = []
    langs = _x(md, "gmd:language/gmd:LanguageCode")
    if len(langs) != 1 or langs[0].get("codeListValue") not in EU_LANGUAGES or \
            langs[0].get("codeList") not in LANGUAGE_LISTS:
        p.append("C.5: one gmd:language/gmd:LanguageCode (ISO 639-2/B, loc.gov list)")
    contacts = _x(md, "gmd:contact/gmd:CI_ResponsibleParty")
    if "pointOfContact" not in _texts(md, "gmd:contact/*/gmd:role/*/@codeListValue"):
        p.append("C.6: no metadata contact with role pointOfContact")
    for rp in contacts:
        p += [f"C.6: {m}" for m in _party(rp, "metadata contact")]
    stamps = _texts(md, "gmd:dateStamp/gco:Date/text()|gmd:dateStamp/gco:DateTime/text()")
    if len(stamps) != 1 or not (_DATE.match(stamps[0]) or _DATETIME.match(stamps[0])):
        p.append(f"C.7: dateStamp {stamps}")
    for name, test in (("title", "C.8"), ("abstract", "C.9")):
        expr = (f"gmd:identificationInfo/*/gmd:citation/gmd:CI_Citation/gmd:{name}"
                if name == "title" else f"gmd:identificationInfo/*/gmd:{name}")
        nodes = _x(md, expr)
        if len(nodes) != 1 or not _value(nodes[0]):
            p.append(f"{test}: exactly one non-empty {name}")
    parties = _x(md, "gmd:identificationInfo/*/gmd:pointOfContact/gmd:CI_ResponsibleParty")
    if not parties:
        p.append("C.10: no responsible party (pointOfContact)")
    for rp in parties:
        p += [f"C.10: {m}" for m in _party(rp, "responsible party")]
    dates = _x(md, f"{ID}/gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date")
    kinds = Counter(_texts(md, f"{ID}/gmd:citation/gmd:CI_Citation/gmd:date/gmd:CI_Date/"
                               "gmd:dateType/*/@codeListValue"))
    if not dates or set(kinds) - {"publication", "revision", "creation"}:
        p.append(f"C.11: citation dates {dict(kinds)}")
    for d in dates:
        value = "".join(_texts(d, "gmd:date/*/text()"))
        if not (_DATE.match(value) or _DATETIME.match(value)):
            p.append(f"C.11: citation date {value!r}")
    if kinds["creation"] > 1 or kinds["revision"] > 1:
        p.append("C.12/C.13: more than one creation or revision date")
    for pos in _texts(md, f"{ID}/*[local-name()='extent']/gmd:EX_Extent/gmd:temporalElement//"
                          "gml:beginPosition/text()|"
                          f"{ID}/*[local-name()='extent']/gmd:EX_Extent/gmd:temporalElement//"
                          "gml:endPosition/text()"):
        if not (_DATE.match(pos) or _DATETIME.match(pos)):
            p.append(f"C.14: temporal extent position {pos!r}")
    titles = []
    for th in _x(md, "gmd:identificationInfo/*/gmd:descriptiveKeywords/gmd:MD_Keywords/"
                     "gmd:thesaurusName/gmd:CI_Citation"):
        title = _value(th.find("gmd:title", NS))
        titles.append(title)
        kinds_t = _texts(th, "gmd:date/gmd:CI_Date/gmd:dateType/*/@codeListValue")
        if not title or not _x(th, "gmd:date/gmd:CI_Date/gmd:date") or not kinds_t or \
                kinds_t[0] not in {"publication", "revision", "creation"}:
            p.append(f"C.15: thesaurus citation {title!r} needs title, date and date type")
    if len(titles) != len(set(titles)):
        p.append("C.16: one keyword block per thesaurus")
    p += _constraints(md)
    return p


def _constraints(md: Element) -> list[str]:
    p = []
    access = f"{vocab.ACCESS}/"
    qualifying = 0
    for legal in _x(md, "gmd:identificationInfo/*/gmd:resourceConstraints/"
                        "gmd:MD_LegalConstraints[gmd:accessConstraints]"):
        codes = _texts(legal, "gmd:accessConstraints/*/@codeListValue")
        hrefs = _texts(legal, "gmd:otherConstraints/gmx:Anchor/@xlink:href")
        ok = [h for h in hrefs if h.startswith(access)
              and h[len(access):] in vocab.ACCESS_LABELS]
        if codes == ["otherRestrictions"] and ok and len(ok) == len(
                [h for h in hrefs if "LimitationsOnPublicAccess" in h]) and not any(
                vocab.CONDITIONS in h for h in hrefs):
            qualifying += 1
    if qualifying != 1:
        p.append(f"C.17: {qualifying} blocks of limitations on public access, exactly one")
    if any(h.startswith("https://inspire.ec.europa.eu/metadata-codelist/")
           for h in _texts(md, "//@xlink:href")):
        p.append("C.17/C.18: INSPIRE code list anchors use http://")
    uses = [u for u in _x(md, "gmd:identificationInfo/*/gmd:resourceConstraints/"
                              "gmd:MD_LegalConstraints[gmd:useConstraints]")
            if _texts(u, "gmd:useConstraints/*/@codeListValue") == ["otherRestrictions"]
            and any(_value(o) for o in _x(u, "gmd:otherConstraints"))]
    if not uses:
        p.append("C.18: no conditions applying to access and use (useConstraints "
                 "otherRestrictions with otherConstraints)")
    return p


def _conformity(md: Element, inspire: bool) -> list[str]:
    p = []
    results = _x(md, "gmd:dataQualityInfo/gmd:DQ_DataQuality/gmd:report/"
                     "gmd:DQ_DomainConsistency/gmd:result/gmd:DQ_ConformanceResult")
    if inspire and not results:
        p.append("C.20: no conformity statement")
    for r in results:
        cit = r.find("gmd:specification/gmd:CI_Citation", NS)
        if cit is None or not _value(cit.find("gmd:title", NS)):
            p.append("C.21: conformity specification without title")
            continue
        date = "".join(_texts(cit, "gmd:date/gmd:CI_Date/gmd:date/gco:Date/text()"))
        kind = _texts(cit, "gmd:date/gmd:CI_Date/gmd:dateType/*/@codeListValue")
        if not _DATE.match(date) or kind not in (["publication"], ["creation"], ["revision"]):
            p.append(f"C.21: conformity citation date {date!r} {kind}")
        degree = r.find("gmd:pass", NS)
        value = _texts(r, "gmd:pass/gco:Boolean/text()")
        if degree is None or not (value in (["true"], ["false"]) or (
                not value and degree.get(f"{{{NS['gco']}}}nilReason") == "unknown")):
            p.append("C.22: degree of conformity is true, false or nil 'unknown'")
    return p


def _keyword_blocks(md: Element) -> list[tuple[str | None, list[str]]]:
    out = []
    for block in _x(md, "gmd:identificationInfo/*/gmd:descriptiveKeywords/gmd:MD_Keywords"):
        th = block.find("gmd:thesaurusName/gmd:CI_Citation/gmd:title", NS)
        out.append((_value(th) if th is not None else None,
                    [_value(k) for k in _x(block, "gmd:keyword")]))
    return out


def _dataset(md: Element, inspire: bool) -> list[str]:
    p = []
    if _texts(md, "gmd:hierarchyLevel/*/@codeListValue") != ["dataset"]:
        p.append("1.1: hierarchyLevel dataset")
    if len(_x(md, "gmd:identificationInfo[1]/gmd:MD_DataIdentification")) != 1:
        p.append("1.2: one MD_DataIdentification")
    if not [c for c in _x(md, f"{ID}/gmd:citation/gmd:CI_Citation/gmd:identifier/*/gmd:code")
            if _value(c)]:
        p.append("1.3: no unique resource identifier")
    if not _texts(md, f"{ID}/gmd:language/gmd:LanguageCode/@codeListValue"):
        p.append("1.6: no resource language")
    if not _texts(md, f"{ID}/gmd:topicCategory/gmd:MD_TopicCategoryCode/text()"):
        p.append("1.7: no topic category")
    for url in _texts(md, "gmd:distributionInfo//gmd:CI_OnlineResource/gmd:linkage/gmd:URL/"
                          "text()"):
        if not _URL.search(url):
            p.append(f"1.8: resource locator {url!r}")
    dq = _x(md, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    if len(dq) != 1 or _texts(dq[0], "gmd:scope/gmd:DQ_Scope/gmd:level/*/@codeListValue") != [
            "dataset"]:
        p.append("1.9: one DQ_DataQuality with scope dataset")
    statements = _x(md, "gmd:dataQualityInfo/*/gmd:lineage/gmd:LI_Lineage/gmd:statement")
    if len(statements) != 1 or not _value(statements[0]):
        p.append("1.11: exactly one non-empty lineage statement")
    boxes = _x(md, f"{ID}/gmd:extent/gmd:EX_Extent/gmd:geographicElement/"
                   "gmd:EX_GeographicBoundingBox")
    if not boxes:
        p.append("C.19: no geographic bounding box")
    for box in boxes:
        v = {n: "".join(_texts(box, f"gmd:{n}/gco:Decimal/text()")) for n in (
            "westBoundLongitude", "eastBoundLongitude", "southBoundLatitude",
            "northBoundLatitude")}
        if not all(_DECIMAL.match(x) for x in v.values()) or not (
                -180 <= float(v["westBoundLongitude"]) <= 180
                and float(v["southBoundLatitude"]) <= float(v["northBoundLatitude"])):
            p.append(f"C.19: bounding box {v}")
    codes = _x(md, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/"
                   "gmd:referenceSystemIdentifier/gmd:RS_Identifier/gmd:code")
    if not codes or any(not _value(c) for c in codes):
        p.append("iop 2.1/2.3: reference system code")
    for a in _x(md, "gmd:referenceSystemInfo//gmd:code/gmx:Anchor"):
        if not str(a.get(f"{{{NS['xlink']}}}href", "")).startswith(
                "http://www.opengis.net/def/crs/EPSG/0/"):
            p.append("iop 2.2 / GDI-DE: reference system as an EPSG URI")
    if not _texts(md, f"{ID}/gmd:spatialRepresentationType/*/@codeListValue"):
        p.append("iop 2.4: no spatial representation type")
    for fmt in _x(md, "gmd:distributionInfo[1]/gmd:MD_Distribution/gmd:distributionFormat/"
                      "gmd:MD_Format") or [None]:
        if fmt is None or not _value(fmt.find("gmd:name", NS)) or not _value(
                fmt.find("gmd:version", NS)):
            p.append("iop 2.6 / a.3: encoding needs name and version")
    if inspire:
        blocks = _keyword_blocks(md)
        gemet = [k for t, k in blocks if t == vocab.GEMET_THESAURUS[0]]
        labels = {x for t in vocab.THEMES.values() for x in (t.id, t.de, t.en)}
        if not gemet or not all(set(k) & labels for k in gemet):
            p.append("1.4: INSPIRE theme from 'GEMET - INSPIRE themes, version 1.0'")
        scope = [b for b in _x(md, f"{ID}/gmd:descriptiveKeywords/gmd:MD_Keywords")
                 if _texts(b, "gmd:thesaurusName/*/gmd:title/gmx:Anchor/@xlink:href") == [
                     vocab.SPATIAL_SCOPE_THESAURUS[2]]]
        if len(scope) != 1 or len(_x(scope[0], "gmd:keyword")) != 1:
            p.append("M.1: one spatial scope keyword")
        titles = [_value(c.find("gmd:title", NS)).lower() for c in _x(
            md, "gmd:dataQualityInfo//gmd:DQ_ConformanceResult/gmd:specification/"
                "gmd:CI_Citation")]
        if vocab.INTEROPERABILITY.title.lower() not in titles:
            p.append("1.10: no conformity statement on Regulation 1089/2010")
    return p


def _service(md: Element, inspire: bool) -> list[str]:
    p = []
    if _texts(md, "gmd:hierarchyLevel/*/@codeListValue") != ["service"] or not [
            n for n in _x(md, "gmd:hierarchyLevelName") if _value(n)]:
        p.append("3.1: hierarchyLevel service with a hierarchyLevelName")
    if len(_x(md, "gmd:identificationInfo[1]/srv:SV_ServiceIdentification")) != 1:
        p.append("3.2: one SV_ServiceIdentification")
    prefix = f"{vocab.INSPIRE_REGISTRY}/metadata-codelist/SpatialDataServiceCategory/"
    cats = [h for h in _texts(md, f"{ID}/gmd:descriptiveKeywords/*/gmd:keyword/gmx:Anchor/"
                                  "@xlink:href") if h.startswith(prefix)]
    if not cats:
        p.append("3.4: no spatial data service category")
    types = _texts(md, f"{ID}/srv:serviceType/gco:LocalName/text()")
    allowed = NETWORK_TYPES if inspire else set(vocab.SERVICE_TYPES)
    if len(types) != 1 or types[0] not in allowed:
        p.append(f"3.5 / ns 4.1: service type {types}")
    for ref in _x(md, f"{ID}/srv:operatesOn"):
        href = str(ref.get(f"{{{NS['xlink']}}}href", ""))
        if not href.startswith(("http://", "https://")) or not ref.get("uuidref"):
            p.append("3.6 / GDI-DE: operatesOn needs uuidref and a resolvable xlink:href")
    if not _texts(md, f"{ID}/srv:couplingType/*/@codeListValue"):
        p.append("GDI-DE: couplingType")
    if not [v for v in _x(md, f"{ID}/srv:serviceTypeVersion") if _value(v)]:
        p.append("GDI-DE: serviceTypeVersion")
    for dist in _x(md, "gmd:distributionInfo/gmd:MD_Distribution"):
        if not [u for u in _texts(dist, ".//gmd:CI_OnlineResource/gmd:linkage/gmd:URL/text()")
                if u]:
            p.append("3.7: distribution without a resource locator")
    dq = _x(md, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    if len(dq) != 1 or _texts(dq[0], "gmd:scope/*/gmd:level/*/@codeListValue") != [
            "service"] or not _texts(dq[0], "gmd:scope/*/gmd:levelDescription/*/gmd:other/"
                                            "gco:CharacterString/text()"):
        p.append("3.8: one DQ_DataQuality with scope service and a level description")
    if inspire:
        titles = [_value(c.find("gmd:title", NS)).lower() for c in _x(
            md, "gmd:dataQualityInfo//gmd:DQ_ConformanceResult/gmd:specification/"
                "gmd:CI_Citation")]
        if vocab.NETWORK_SERVICES.title.lower() not in titles:
            p.append("ns: no conformity statement on Regulation 976/2009")
    return p


def _gdi_de(md: Element, inspire: bool, namespace: str) -> list[str]:
    p = []
    blocks = _keyword_blocks(md)
    for word, wanted in (("inspireidentifiziert", inspire), ("opendata", None)):
        found = [(t, k) for t, k in blocks if word in k]
        if any(t is not None or k != [word] for t, k in found):
            p.append(f"GDI-DE: '{word}' alone in a keyword block without thesaurus")
        if wanted is not None and bool(found) != wanted:
            p.append(f"GDI-DE: '{word}' {'missing' if wanted else 'on a non-INSPIRE record'}")
    if any("opendata" in k for _, k in blocks):
        docs = []
        for text in _texts(md, f"{ID}/gmd:resourceConstraints/gmd:MD_LegalConstraints/"
                               "gmd:otherConstraints/gco:CharacterString/text()"):
            if text.startswith("{"):
                try:
                    docs.append(json.loads(text))
                except ValueError:
                    p.append("GDI-DE: licence JSON does not parse")
        if len(docs) != 1 or not {"id", "name", "url", "quelle"} <= set(docs[0]):
            p.append("GDI-DE: open data needs one licence JSON with id, name, url, quelle")
    if _texts(md, "gmd:hierarchyLevel/*/@codeListValue") == ["dataset"]:
        codes = [_value(c) for c in _x(md, f"{ID}/gmd:citation/*/gmd:identifier/*/gmd:code")]
        if not codes or not all(c.startswith(namespace.rstrip("/") + "/") for c in codes):
            p.append(f"GDI-DE: resource identifier in the namespace {namespace}")
    return p


def problems(md: Element, namespace: str) -> list[str]:
    """Every rule the record breaks (empty: none)."""
    if md.tag != f"{{{NS['gmd']}}}MD_Metadata":
        return ["C.2: root element is not gmd:MD_Metadata"]
    inspire = any("inspireidentifiziert" in k for _, k in _keyword_blocks(md))
    service = _texts(md, "gmd:hierarchyLevel/*/@codeListValue") == ["service"]
    found = _common(md) + _conformity(md, inspire)
    found += _service(md, inspire) if service else _dataset(md, inspire)
    return found + _gdi_de(md, inspire, namespace)


def unique_identifiers(records: list[Element]) -> list[str]:
    """1.3: no resource identifier twice among the records published together."""
    codes = Counter(_value(c) for md in records for c in _x(
        md, f"{ID}/gmd:citation/*/gmd:identifier/*/gmd:code"))
    return [f"1.3: resource identifier {c} used {n} times" for c, n in codes.items() if n > 1]
