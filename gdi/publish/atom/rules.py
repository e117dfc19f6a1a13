"""The gate before the Atom documents are published: the INSPIRE elements validate against
the official ``inspire_dls`` schema, and every feed carries what the TG Download Services
(pre-defined Atom, requirements 5-35) asks of it. Atom and OpenSearch have no official XSD;
the structure is checked here, element by element, as the INSPIRE validator's ETS does.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from lxml import etree

from gdi.errors import PublicationError
from gdi.publish.atom.elements import ATOM, DLS, GEORSS, OS
from gdi.publish.atom.feeds import INDEX
from gdi.xsd import schema_for

NS = {"a": ATOM, "dls": DLS, "georss": GEORSS, "os": OS}
DLS_XSD = "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0/inspire_dls.xsd"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WORD = re.compile(r"\w")
# the INSPIRE media-types register's entries this service uses (whole files: alternate links)
REGISTERED = frozenset({"application/gml+xml", "application/geopackage+sqlite3"})
# media types of tiled offers outside that register (section links only, gdi.city3d.offers)
UNREGISTERED = frozenset({"application/city+json", "model/gltf-binary", "application/json"})


def _date_ok(text: str | None) -> bool:
    try:
        when = dt.datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.tzinfo is not None and when.year >= 2012 and when <= dt.datetime.now(dt.UTC)


def _has_text(node: etree._Element, xpath: str) -> bool:
    return any(_WORD.search(t or "") for t in node.xpath(xpath, namespaces=NS))


def _feed_problems(name: str, feed: etree._Element, service: bool) -> list[str]:
    out = []
    for what, xpath in (("title", "a:title/text()"), ("id", "a:id/text()"),
                        ("rights", "a:rights/text()"), ("author name", "a:author/a:name/text()")):
        if not _has_text(feed, xpath):
            out.append(f"{name}: no {what}")
    if not _EMAIL.match(feed.findtext("a:author/a:email", "", NS)):
        out.append(f"{name}: no author e-mail")
    if not _date_ok(feed.findtext("a:updated", None, NS)):
        out.append(f"{name}: updated is not a date-time with zone between 2012 and now")
    if not feed.findtext("a:id", "", NS).startswith("http"):
        out.append(f"{name}: the feed id is not an HTTP URI")
    if len(feed.xpath("a:link[@rel='self']", namespaces=NS)) != 1:
        out.append(f"{name}: not exactly one self link")
    for i, entry in enumerate(feed.findall("a:entry", NS), 1):
        where = f"{name} entry {i}"
        if not _has_text(entry, "a:title/text()") or not entry.findtext("a:id", "", NS
                                                                        ).startswith("http"):
            out.append(f"{where}: no title or no HTTP id")
        if not _date_ok(entry.findtext("a:updated", None, NS)):
            out.append(f"{where}: updated is not a valid date-time")
        if not entry.xpath("a:category[string-length(@term)>0 and string-length(@label)>0]",
                           namespaces=NS):
            out.append(f"{where}: no CRS category")
        for poly in entry.findall("georss:polygon", NS):
            values = [float(v) for v in (poly.text or "").split()]
            lats, lons = values[0::2], values[1::2]
            if (len(values) < 8 or len(values) % 2 or values[:2] != values[-2:]
                    or not all(-90 <= v <= 90 for v in lats)
                    or not all(-180 <= v <= 180 for v in lons)):
                out.append(f"{where}: georss:polygon is not a closed lat-lon ring")
        if service:
            alternates = entry.xpath("a:link[@rel='alternate' and (@type='application/atom+xml'"
                                     " or @type='application/xml' or @type='text/xml')]",
                                     namespaces=NS)
            described = entry.xpath("a:link[@rel='describedby' and @type='application/xml']",
                                    namespaces=NS)
            if len(alternates) != 1 or len(described) != 1:
                out.append(f"{where}: needs one dataset feed link and one metadata link")
        else:
            out += _file_links(where, entry)
    if not service:
        combos = [(_format(entry), tuple(entry.xpath("a:category/@term", namespaces=NS)))
                  for entry in feed.findall("a:entry", NS)]
        if len(combos) != len(set(combos)):
            out.append(f"{name}: two entries for one format and CRS (requirement 27)")
    return out


def _format(entry: etree._Element) -> tuple[str, ...]:
    """An entry's format: the media types of its file links."""
    return tuple(sorted(set(entry.xpath("a:link[@rel='alternate' or @rel='section']/@type",
                                        namespaces=NS))))


def _file_links(where: str, entry: etree._Element) -> list[str]:
    """One file as an ``alternate`` link with a registered media type, or several as
    ``section`` links with the structure said in ``content`` (TG requirements 29-34)."""
    out = []
    alternates = entry.xpath("a:link[@rel='alternate']", namespaces=NS)
    sections = entry.xpath("a:link[@rel='section']", namespaces=NS)
    if sections:
        if len(sections) < 2:
            out.append(f"{where}: a single section link (one file is an alternate link)")
        if alternates or not _has_text(entry, "a:content/text()"):
            out.append(f"{where}: sections without the structure in content")
    elif not alternates:
        out.append(f"{where}: no file link")
    for link in alternates + sections:
        if not (link.get("type") and (link.get("length") or "").isdigit()
                and int(link.get("length")) > 0 and link.get("hreflang") and link.get("title")):
            out.append(f"{where}: a file link lacks type, length, hreflang or title")
            break
    for link in alternates:
        if link.get("type") not in REGISTERED:
            out.append(f"{where}: {link.get('type')} is not in the INSPIRE media-types register")
    for link in sections:
        if (link.get("type") or "").split(";")[0].strip() not in REGISTERED | UNREGISTERED:
            out.append(f"{where}: unknown media type {link.get('type')}")
    return out


def problems(docs: dict[str, bytes], schemas_dir: Path) -> list[str]:
    schema = schema_for(schemas_dir, [(DLS, DLS_XSD)])
    found: list[str] = []
    for name, data in docs.items():
        if name == INDEX:
            continue
        root = etree.fromstring(data)
        for node in root.iter(f"{{{DLS}}}*"):
            if not schema.validate(etree.ElementTree(_copy(node))):
                found.append(f"{name}: {etree.QName(node).localname} is not valid against "
                             f"inspire_dls.xsd: {schema.error_log.last_error}")
        if root.tag == f"{{{ATOM}}}feed":
            found += _feed_problems(name, root, name.startswith("service"))
        elif root.tag == f"{{{OS}}}OpenSearchDescription":
            rels = {(u.get("rel"), u.get("type")) for u in root.findall("os:Url", NS)}
            for needed in (("self", "application/opensearchdescription+xml"),
                           ("results", "text/html"), ("describedby", "application/atom+xml")):
                if needed not in rels:
                    found.append(f"{name}: no Url rel={needed[0]} type={needed[1]}")
            if not root.findall("os:Language", NS):
                found.append(f"{name}: no Language")
    return found


def _copy(node: etree._Element) -> etree._Element:
    """An element on its own (a document of its own, for the schema)."""
    return etree.fromstring(etree.tostring(node))


def check(docs: dict[str, bytes], schemas_dir: Path) -> None:
    found = problems(docs, schemas_dir)
    if found:
        raise PublicationError("the Atom download service breaks INSPIRE rules: "
                               + "; ".join(found[:20]))
