"""The Atom service's namespaces and element helpers (lxml), shared by the feeds
(:mod:`gdi.publish.atom.feeds`), the sectioned entries (:mod:`gdi.publish.atom.sections`) and
the OpenSearch description."""

from __future__ import annotations

from lxml import etree

ATOM = "http://www.w3.org/2005/Atom"
GEORSS = "http://www.georss.org/georss"
DLS = "http://inspire.ec.europa.eu/schemas/inspire_dls/1.0"
OS = "http://a9.com/-/spec/opensearch/1.1/"
XML = "http://www.w3.org/XML/1998/namespace"
FEED_TYPE = "application/atom+xml"


def timestamp(value: str) -> str:
    """An RFC 3339 date-time (Atom's ``updated``) from a date or date-time."""
    return value if "T" in value else f"{value}T00:00:00Z"


def sub(parent: etree._Element, name: str, text: str | None = None, ns: str = ATOM,
        **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{name}", {k: v for k, v in attrs.items()})
    if text is not None:
        node.text = text
    return node


def link(parent: etree._Element, href: str, rel: str, type_: str, *, title: str | None = None,
         hreflang: str | None = None, length: int | None = None) -> None:
    attrs = {"href": href, "rel": rel, "type": type_}
    if hreflang:
        attrs["hreflang"] = hreflang
    if length is not None:
        attrs["length"] = str(length)
    if title:
        attrs["title"] = title
    sub(parent, "link", **attrs)
