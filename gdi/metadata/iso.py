"""Building blocks of ISO 19139 (gmd/gco/gmx/srv), built with lxml.

Each function appends well-formed, schema-ordered elements to a parent; callers only choose
values. Texts with an English version are written as ``PT_FreeText`` (German in
``gco:CharacterString``, English as the ``#EN`` locale), so a record stays German first.
"""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from gdi.metadata.vocab import ISO_CODELISTS, LANGUAGE_CODELIST

NS = {
    "gmd": "http://www.isotc211.org/2005/gmd",
    "gco": "http://www.isotc211.org/2005/gco",
    "gmx": "http://www.isotc211.org/2005/gmx",
    "srv": "http://www.isotc211.org/2005/srv",
    "gml": "http://www.opengis.net/gml/3.2",
    "xlink": "http://www.w3.org/1999/xlink",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
SCHEMA_LOCATION = (f"{NS['gmd']} http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd "
                   f"{NS['srv']} http://schemas.opengis.net/iso/19139/20070417/srv/1.0/srv.xsd")
# the imports that validate a record offline (gdi.xsd), gmx for anchors, srv for services
SCHEMA_IMPORTS = (
    (NS["gmd"], "http://schemas.opengis.net/iso/19139/20070417/gmd/gmd.xsd"),
    (NS["gmx"], "http://schemas.opengis.net/iso/19139/20070417/gmx/gmx.xsd"),
    (NS["srv"], "http://schemas.opengis.net/iso/19139/20070417/srv/1.0/srv.xsd"),
)
type Element = etree._Element


def q(name: str) -> str:
    """'gmd:title' -> '{http://www.isotc211.org/2005/gmd}title'."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def el(parent: Element, name: str, text: str | None = None, **attrs: str) -> Element:
    node = etree.SubElement(parent, q(name), {q(k.replace("__", ":")) if "__" in k else k: v
                                               for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def path(parent: Element, names: str) -> Element:
    """Nested elements 'gmd:a/gmd:B/gmd:c', returning the innermost."""
    node = parent
    for name in names.split("/"):
        node = el(node, name)
    return node


class Text(NamedTuple):
    de: str
    en: str | None = None


def text(parent: Element, name: str, value: str | Text) -> Element:
    """A CharacterString property; with an English version, a PT_FreeText one."""
    value = value if isinstance(value, Text) else Text(value)
    prop = el(parent, name)
    if value.en is not None and value.en != value.de:
        prop.set(q("xsi:type"), "gmd:PT_FreeText_PropertyType")
        el(prop, "gco:CharacterString", value.de)
        group = path(prop, "gmd:PT_FreeText/gmd:textGroup")
        el(group, "gmd:LocalisedCharacterString", value.en, locale="#EN")
    else:
        el(prop, "gco:CharacterString", value.de)
    return prop


def anchor(parent: Element, name: str, href: str, label: str) -> Element:
    prop = el(parent, name)
    el(prop, "gmx:Anchor", label, xlink__href=href)
    return prop


def code(parent: Element, name: str, code_list: str, value: str, label: str | None = None
         ) -> Element:
    """A code list property: ``gmd:name/gmd:<code_list>`` with the ISO code list URI."""
    prop = el(parent, name)
    el(prop, f"gmd:{code_list}", label or value, codeList=f"{ISO_CODELISTS}#{code_list}",
       codeListValue=value)
    return prop


def language(parent: Element, name: str, value: str = "ger") -> Element:
    prop = el(parent, name)
    el(prop, "gmd:LanguageCode", value, codeList=LANGUAGE_CODELIST, codeListValue=value)
    return prop


def date(parent: Element, value: str, kind: str) -> None:
    """A CI_Date of a citation (kind: creation, publication, revision); a date or, with a
    time, a date-time."""
    ci = path(parent, "gmd:date/gmd:CI_Date")
    el(el(ci, "gmd:date"), "gco:DateTime" if "T" in value else "gco:Date", value)
    code(ci, "gmd:dateType", "CI_DateTypeCode", kind)


def citation(parent: Element, name: str, title: str | Text, dates: list[tuple[str, str]],
             identifier: str | None = None, title_href: str | None = None) -> Element:
    cit = path(parent, f"{name}/gmd:CI_Citation")
    if title_href is not None:
        anchor(cit, "gmd:title", title_href, title if isinstance(title, str) else title.de)
    else:
        text(cit, "gmd:title", title)
    for value, kind in dates:
        date(cit, value, kind)
    if identifier is not None:
        ident = path(cit, "gmd:identifier/gmd:MD_Identifier")
        anchor(ident, "gmd:code", identifier, identifier)
    return cit


class Party(NamedTuple):
    organisation: str
    email: str
    position: str | None = None
    address: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    phone: str | None = None
    website: str | None = None


def party(parent: Element, name: str, who: Party, role: str) -> Element:
    rp = path(parent, f"{name}/gmd:CI_ResponsibleParty")
    text(rp, "gmd:organisationName", who.organisation)
    if who.position:
        text(rp, "gmd:positionName", who.position)
    contact = path(rp, "gmd:contactInfo/gmd:CI_Contact")
    if who.phone:
        text(path(contact, "gmd:phone/gmd:CI_Telephone"), "gmd:voice", who.phone)
    addr = path(contact, "gmd:address/gmd:CI_Address")
    for field, value in (("deliveryPoint", who.address), ("city", who.city),
                         ("postalCode", who.postcode), ("country", who.country)):
        if value:
            text(addr, f"gmd:{field}", value)
    text(addr, "gmd:electronicMailAddress", who.email)
    if who.website:
        el(path(contact, "gmd:onlineResource/gmd:CI_OnlineResource/gmd:linkage"), "gmd:URL",
           who.website)
    code(rp, "gmd:role", "CI_RoleCode", role)
    return rp


def keywords(parent: Element, words: list[tuple[str, str | None]],
             thesaurus: tuple[str, str, str] | None = None, kind: str | None = None) -> None:
    """One MD_Keywords block: (label, anchor href or None) pairs, optionally with a thesaurus
    citation (title, publication date, href)."""
    if not words:
        return
    block = path(parent, "gmd:descriptiveKeywords/gmd:MD_Keywords")
    for label, href in words:
        if href is not None:
            anchor(block, "gmd:keyword", href, label)
        else:
            text(block, "gmd:keyword", label)
    if kind is not None:
        code(block, "gmd:type", "MD_KeywordTypeCode", kind)
    if thesaurus is not None:
        title, published, href = thesaurus
        citation(block, "gmd:thesaurusName", title, [(published, "publication")],
                 title_href=href)


def bbox(parent: Element, west: float, east: float, south: float, north: float) -> None:
    box = path(parent, "gmd:geographicElement/gmd:EX_GeographicBoundingBox")
    for name, value in (("westBoundLongitude", west), ("eastBoundLongitude", east),
                        ("southBoundLatitude", south), ("northBoundLatitude", north)):
        el(el(box, f"gmd:{name}"), "gco:Decimal", f"{value:.6f}")


def period(parent: Element, begin: str, end: str, gml_id: str) -> None:
    prop = path(parent, "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent")
    tp = el(prop, "gml:TimePeriod", **{f"{{{NS['gml']}}}id": gml_id})
    el(tp, "gml:beginPosition", begin)
    el(tp, "gml:endPosition", end)


def online(parent: Element, url: str, protocol: str | None, name: str | None,
           description: str | Text | None, function: str) -> None:
    res = path(parent, "gmd:onLine/gmd:CI_OnlineResource")
    el(el(res, "gmd:linkage"), "gmd:URL", url)
    if protocol:
        text(res, "gmd:protocol", protocol)
    if name:
        text(res, "gmd:name", name)
    if description:
        text(res, "gmd:description", description)
    code(res, "gmd:function", "CI_OnLineFunctionCode", function)


def conformity(parent: Element, title: str, published: str, href: str, explanation: str,
               passed: bool | None) -> None:
    """A DQ_DomainConsistency report; ``passed`` None: not evaluated (nil 'unknown')."""
    result = path(parent, "gmd:report/gmd:DQ_DomainConsistency/gmd:result/"
                          "gmd:DQ_ConformanceResult")
    citation(result, "gmd:specification", title, [(published, "publication")],
             title_href=href)
    text(result, "gmd:explanation", explanation)
    prop = el(result, "gmd:pass")
    if passed is None:
        prop.set("{http://www.isotc211.org/2005/gco}nilReason", "unknown")
    else:
        el(prop, "gco:Boolean", "true" if passed else "false")


def new_record(service: bool) -> Element:
    root = etree.Element(q("gmd:MD_Metadata"), nsmap={
        k: NS[k] for k in ("gmd", "gco", "gmx", "gml", "xlink", "xsi",
                           *(("srv",) if service else ()))})
    root.set(q("xsi:schemaLocation"), SCHEMA_LOCATION)
    return root


def serialise(root: Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
