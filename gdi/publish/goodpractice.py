"""OGC API Features as an INSPIRE download service (INSPIRE good practice, INSPIRE-MIF
gp-ogc-api-features 1.0): what pygeoapi does not do by itself.

- ``/collections`` links to the metadata record of every dataset (``describedby``,
  ``application/xml`` and ``text/html``) and to the licence (``license``): the good practice
  asks this of the ``/collections`` response, pygeoapi only puts links on each collection;
- ``/conformance`` declares the good practice's requirements classes this API meets:
  pre-defined (OpenAPI 3.0, the record and licence links, one feature type per collection),
  multilinguality (``Accept-Language``, ``Content-Language``, ``hreflang`` on enclosures),
  bulk-download (``enclosure`` links to the pre-defined files on every collection, with
  type, length, hreflang, title) and inspire-crs (EPSG:25832 and EPSG:4258 offered).
  Not declared: ``geojson`` (the features are the flat public schema, not an INSPIRE GeoJSON
  encoding rule).

The links come from the collections' own links in the runtime configuration
(:func:`gdi.publish.ogcapi.collections`): nothing is configured twice.
"""

from __future__ import annotations

import json
from typing import Any

GP = "http://inspire.ec.europa.eu/id/spec/oapif-download/1.0/req/"
CONFORMANCE = tuple(GP + c for c in ("pre-defined", "multilinguality", "bulk-download",
                                      "inspire-crs"))
_LIFTED = {("describedby", "application/xml"), ("describedby", "text/html"),
           ("license", "text/html")}


def dataset_links(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Every collection's record and licence links, once each."""
    seen: dict[str, dict[str, Any]] = {}
    for res in config.get("resources", {}).values():
        for link in res.get("links", []):
            if (link.get("rel"), link.get("type")) in _LIFTED:
                seen.setdefault(link["href"], link)
    return list(seen.values())


def install(config: dict[str, Any]) -> None:
    """Patch pygeoapi (in this process) to answer as the good practice requires."""
    import pygeoapi.api as core

    for uri in CONFORMANCE:
        if uri not in core.CONFORMANCE_CLASSES:
            core.CONFORMANCE_CLASSES.append(uri)
    links = dataset_links(config)
    stock = core.describe_collections

    def describe_collections(api: Any, request: Any, dataset: str | None = None) -> Any:
        headers, status, content = stock(api, request, dataset)
        if dataset is not None or status != 200 or request.format == "html":
            return headers, status, content
        try:
            doc = json.loads(content)
        except (TypeError, ValueError):
            return headers, status, content
        doc.setdefault("links", []).extend(links)
        return headers, status, json.dumps(doc, ensure_ascii=False)

    core.describe_collections = describe_collections
