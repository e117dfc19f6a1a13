"""The human-readable view of each record (German first, English where the record has it),
and an index of the catalogue: static pages written with the catalogue, read from the very
XML the CSW serves, so page and record cannot disagree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from lxml import etree

from gdi.metadata.context import Context
from gdi.metadata.iso import NS, Element
from gdi.settings import Settings

_ENV = Environment(loader=PackageLoader("gdi.publish", "templates"),
                   autoescape=select_autoescape(["html"]))
ID = "gmd:identificationInfo/*"


def _t(node: Element, expr: str) -> str:
    return " ".join(str(t).strip() for t in node.xpath(expr, namespaces=NS)).strip()


def _text(node: Element | None) -> dict[str, str]:
    """German and English text of a (PT_FreeText) property."""
    if node is None:
        return {"de": "", "en": ""}
    de = _t(node, "gco:CharacterString/text()|gmx:Anchor/text()")
    en = _t(node, "gmd:PT_FreeText//gmd:LocalisedCharacterString[@locale='#EN']/text()")
    return {"de": de, "en": en if en != de else ""}


def view(md: Element, ctx: Context, titles: dict[str, str]) -> dict[str, Any]:
    """What the page shows, from the record. ``titles``: fileIdentifier -> title (German)
    of every record, for the links between coupled records."""
    ident = md.find("gmd:identificationInfo", NS)
    assert ident is not None
    ident = ident[0]
    file_id = _t(md, "gmd:fileIdentifier/gco:CharacterString/text()")
    keywords = []
    for block in ident.findall("gmd:descriptiveKeywords/gmd:MD_Keywords", NS):
        keywords.append({"words": [_text(k)["de"] for k in block.findall("gmd:keyword", NS)],
                         "thesaurus": _t(block, "gmd:thesaurusName//gmd:title/*/text()")})
    operates = []
    for ref in ident.findall("srv:operatesOn", NS):
        href = ref.get(f"{{{NS['xlink']}}}href", "")
        target = href.split("ID=")[1].split("&")[0] if "ID=" in href else ""
        operates.append({"id": target, "title": titles.get(target, target),
                         "page": ctx.record_page(target), "identifier": ref.get("uuidref")})
    links = [{"url": _t(o, "gmd:linkage/gmd:URL/text()"),
              "protocol": _t(o, "gmd:protocol/*/text()"),
              "name": _t(o, "gmd:name/*/text()"),
              "description": _text(o.find("gmd:description", NS)),
              "function": _t(o, "gmd:function/*/@codeListValue")}
             for o in md.iterfind(".//gmd:distributionInfo//gmd:CI_OnlineResource", NS)]
    conformity = [{"title": _t(r, "gmd:specification//gmd:title/*/text()"),
                   "pass": _t(r, "gmd:pass/gco:Boolean/text()") or "nicht evaluiert",
                   "explanation": _t(r, "gmd:explanation/*/text()")}
                  for r in md.iterfind(".//gmd:DQ_ConformanceResult", NS)]
    box = {n: _t(ident, f"*[local-name()='extent']//gmd:{n}/gco:Decimal/text()") for n in (
        "westBoundLongitude", "eastBoundLongitude", "southBoundLatitude", "northBoundLatitude")}
    return {
        "file_identifier": file_id,
        "level": _t(md, "gmd:hierarchyLevel/*/@codeListValue"),
        "title": _text(ident.find("gmd:citation/gmd:CI_Citation/gmd:title", NS)),
        "abstract": _text(ident.find("gmd:abstract", NS)),
        "identifier": _t(ident, "gmd:citation//gmd:identifier//gmd:code/*/text()"),
        "dates": [(_t(d, "gmd:dateType/*/@codeListValue"), _t(d, "gmd:date/*/text()"))
                  for d in ident.iterfind("gmd:citation//gmd:CI_Date", NS)],
        "datestamp": _t(md, "gmd:dateStamp/*/text()"),
        "keywords": keywords,
        "topics": [_t(t, "text()") for t in ident.iterfind(
            "gmd:topicCategory/gmd:MD_TopicCategoryCode", NS)],
        "frequency": _t(ident, "gmd:resourceMaintenance//"
                               "gmd:maintenanceAndUpdateFrequency/*/@codeListValue"),
        "constraints": [_text(o)["de"] for o in ident.iterfind(
            "gmd:resourceConstraints//gmd:otherConstraints", NS)],
        "bbox": box if all(box.values()) else None,
        "temporal": (_t(ident, ".//gml:beginPosition/text()"),
                     _t(ident, ".//gml:endPosition/text()")),
        "service_type": _t(ident, "srv:serviceType/*/text()"),
        "service_version": _t(ident, "srv:serviceTypeVersion/*/text()"),
        "operations": [(_t(o, "srv:operationName/*/text()"), _t(o, ".//gmd:URL/text()"))
                       for o in ident.iterfind("srv:containsOperations/*", NS)],
        "operates_on": operates,
        "links": links,
        "conformity": conformity,
        "lineage": _t(md, ".//gmd:LI_Lineage/gmd:statement/*/text()"),
        "contact": {"organisation": _t(md, "gmd:contact//gmd:organisationName/*/text()"),
                    "email": _t(md, "gmd:contact//gmd:electronicMailAddress/*/text()")},
        "xml": ctx.record_url(file_id),
    }


def write_pages(folder: Path, records: Path, settings: Settings) -> list[Path]:
    """``<uuid>.html`` per record of ``records`` and ``index.html`` listing them."""
    ctx = Context.from_settings(settings)
    docs = {p.stem: etree.parse(str(p)).getroot() for p in sorted(records.glob("*.xml"))}
    titles = {k: _text(d.find(f"{ID}/gmd:citation/gmd:CI_Citation/gmd:title", NS))["de"]
              for k, d in docs.items()}
    views = [view(d, ctx, titles) for d in docs.values()]
    page = _ENV.get_template("metadata.html")
    written = []
    for v in views:
        path = folder / f"{v['file_identifier']}.html"
        path.write_text(page.render(r=v, city=settings.city, base=ctx.base_url),
                        encoding="utf-8")
        written.append(path)
    index = folder / "index.html"
    index.write_text(_ENV.get_template("metadata_index.html").render(
        records=sorted(views, key=lambda v: (v["level"] != "dataset", v["title"]["de"])),
        city=settings.city, base=ctx.base_url, csw=ctx.csw), encoding="utf-8")
    return [*written, index]
