"""The OGC API process: pygeoapi's Flask app behind a thin WSGI guard.

The guard does what OGC API Features requires and stock pygeoapi does not:
- an unknown query parameter is a 400 (``InvalidParameterValue``), not silently ignored, so a
  misspelt or internal property name in a filter never returns unfiltered data;
- ``crs``/``bbox-crs`` accept ``EPSG:25832`` and URN forms besides the OGC URI;
- ``Accept-Language`` that accepts nothing is a 406;
- public endpoints are read-only: anything but GET, HEAD, OPTIONS is a 405;
- errors reach clients as an OGC exception with a code and a safe message, never a traceback;
- no query value reaches a log (:mod:`gdi.publish.logscrub`).

It is started by gunicorn (``gdi.publish.app:application``) with ``PYGEOAPI_CONFIG`` and
``PYGEOAPI_OPENAPI`` set by :mod:`gdi.publish.server`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import yaml

from gdi.crs import normalise_crs
from gdi.publish import goodpractice, logscrub, params, spatial

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

COMMON = {"f", "lang"}
ITEMS = {"limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "properties", "sortby",
         "skipGeometry", "filter", "filter-lang", "filter-crs", "q", "resulttype"}
ITEM = {"crs"}
QUERYABLES = {"profile"}
_ITEMS_PATH = re.compile(r"^/collections/([^/]+)/items/?$")
_ITEM_PATH = re.compile(r"^/collections/([^/]+)/items/[^/]+$")
_QUERYABLES_PATH = re.compile(r"^/collections/([^/]+)/(queryables|schema)/?$")
LOG = logging.getLogger("gdi.ogcapi")
_CRS_PARAMS = {"crs", "bbox-crs", "filter-crs"}
_NOT_DATA = {"f", "lang", "limit", "offset", "crs", "bbox-crs", "filter-crs", "filter-lang",
             "skipGeometry", "resulttype", "profile"}


def _refuses_all_languages(header: str) -> bool:
    parts = [p.strip() for p in header.split(",") if p.strip()]
    if not parts:
        return False
    for part in parts:
        q = 1.0
        for param in part.split(";")[1:]:
            key, _, val = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(val)
                except ValueError:
                    q = 0.0
        if q > 0:
            return False
    return True


class Guard:
    def __init__(self, app: WSGIApp, fields: dict[str, dict[str, str]],
                 crs: set[str] | None = None) -> None:
        self.app = app
        self.fields = fields  # collection -> property -> type
        self.crs = crs or set()  # the CRS URIs offered

    def types(self, path: str) -> dict[str, str]:
        """Property types of the collection an items request addresses."""
        m = _ITEMS_PATH.match(path)
        return self.fields.get(m.group(1), {}) if m else {}

    def allowed(self, path: str) -> set[str] | None:
        for pattern, extra in ((_ITEMS_PATH, ITEMS), (_ITEM_PATH, ITEM),
                               (_QUERYABLES_PATH, QUERYABLES)):
            m = pattern.match(path)
            if m:
                props = set(self.types(path)) if pattern is _ITEMS_PATH else set()
                return COMMON | extra | props
        return COMMON

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in {"GET", "HEAD", "OPTIONS"}:
            return _error(start_response, 405, "OperationNotSupported",
                          "this service is read-only", [("Allow", "GET, HEAD, OPTIONS")])
        if _refuses_all_languages(environ.get("HTTP_ACCEPT_LANGUAGE", "")):
            return _error(start_response, 406, "NotAcceptable",
                          "no acceptable language; this service speaks de and en")
        pairs = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        spatial.reset_request()
        # values that may name people or places are scrubbed from every log line written
        # while this request is served; CRS URIs, paging and formats are not (scrubbing
        # 'http' would only garble the log)
        with logscrub.request_values(v for k, v in pairs if k not in _NOT_DATA):
            refusal = self.refusal(environ, pairs)
            if refusal is not None:
                LOG.warning("400 for %s: %s", environ.get("PATH_INFO"), refusal)
                return _error(start_response, 400, "InvalidParameterValue", refusal)
            try:  # the response is built inside: anything logged meanwhile is scrubbed
                return list(self.app(environ, start_response))
            except Exception:  # never a traceback to a client
                LOG.exception("unhandled error for %s", environ.get("PATH_INFO"))
                return _error(start_response, 500, "NoApplicableCode", "internal error")

    def refusal(self, environ: Environ, pairs: list[tuple[str, str]]) -> str | None:
        """Why the request's parameters cannot be used (None: they can); normalises the
        CRS parameters in ``environ`` on the way."""
        path = environ.get("PATH_INFO", "/")
        unknown = sorted({k for k, _ in pairs} - (self.allowed(path) or set()))
        if unknown:
            return f"unknown query parameter(s): {', '.join(unknown)}"
        try:
            params.check(pairs, self.types(path))
        except params.ParameterError as exc:
            return str(exc)
        if any(k in _CRS_PARAMS for k, _ in pairs):
            pairs = [(k, normalise_crs(v) if k in _CRS_PARAMS else v) for k, v in pairs]
            environ["QUERY_STRING"] = urlencode(pairs)
            for k, v in pairs:
                if k in _CRS_PARAMS and self.crs and v not in self.crs:
                    return f"{k}: '{v}' is not offered; use one of " + ", ".join(sorted(self.crs))
        return None


def _error(start_response: StartResponse, status: int, code: str, message: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    reason = {400: "Bad Request", 405: "Method Not Allowed", 406: "Not Acceptable",
              500: "Internal Server Error"}[status]
    body = json.dumps({"code": code, "description": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
               *(extra or [])]
    start_response(f"{status} {reason}", headers)
    return [body]


def _collections(config_path: str) -> tuple[dict[str, dict[str, str]], set[str]]:
    """From the runtime configuration: each collection's property types, and the CRS URIs
    the collections offer (crs, bbox-crs, filter-crs must be one)."""
    from pathlib import Path

    from gdi.publish.store import open_layer

    with open(config_path, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    fields: dict[str, dict[str, str]] = {}
    offered: set[str] = set()
    for name, res in cfg.get("resources", {}).items():
        provider = res["providers"][0]
        offered.update(provider.get("crs", []))
        con, layer = open_layer(Path(provider["data"]))
        con.close()
        fields[name] = {f: spec["type"] for f, spec in layer.fields.items()}
    return fields, offered


def _memoise_crs_lookup() -> None:
    """pygeoapi parses the same CRS URIs into pyproj objects on every request (~1.5 ms each)
    and builds a new transformer for every bbox (~5 ms): parse each URI once per thread
    (pyproj objects are not shared between threads) and transform bboxes through the
    project's per-thread transformers (gdi.crs)."""
    import pygeoapi.crs as pcrs

    original = pcrs.get_crs
    local = threading.local()

    def get_crs(crs: Any) -> Any:
        if not isinstance(crs, str):
            return original(crs)
        cache: dict[str, Any] = local.__dict__.setdefault("crs", {})
        if crs not in cache:
            cache[crs] = original(crs)
        return cache[crs]

    pcrs.get_crs = get_crs

    import pygeoapi.api.itemtypes as items
    import pyproj

    stock_transform_bbox = items.transform_bbox

    def transform_bbox(bbox: list[float], from_crs: Any, to_crs: Any, always_xy: bool = False
                       ) -> list[float]:
        if len(bbox) != 4 or always_xy or not (isinstance(from_crs, str)
                                               and isinstance(to_crs, str)):
            return list(stock_transform_bbox(bbox, from_crs, to_crs, always_xy))
        try:  # the envelope for pygeoapi; the exact box for the provider (gdi.publish.spatial)
            return spatial.bbox_to_storage(bbox, from_crs, to_crs)
        except (spatial.SpatialLiteralError, ValueError) as exc:  # pygeoapi: a 400
            raise pyproj.exceptions.CRSError(f"bbox: {exc}") from None

    items.transform_bbox = transform_bbox
    # spatial literals of filters: every kind (WKT, BBOX predicate and literal), from the
    # filter CRS in its axis order, densified (gdi.publish.spatial)
    items.modify_pygeofilter = spatial.storage_literals
    stock_text = items.parse_cql2_text

    def parse_filter(text: str) -> Any:  # filter-lang=cql2-json: JSON in the filter parameter
        if text.lstrip().startswith("{"):
            from pygeofilter.parsers.cql2_json import parse as parse_json

            return parse_json(json.loads(text))
        return stock_text(text)

    items.parse_cql2_text = parse_filter


def create_app() -> WSGIApp:
    config_path = os.environ["PYGEOAPI_CONFIG"]
    logscrub.install()
    _memoise_crs_lookup()
    from pygeoapi.flask_app import APP
    from werkzeug.exceptions import HTTPException

    def internal_error(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        LOG.error("unhandled error", exc_info=exc)
        body = {"code": "NoApplicableCode", "description": "internal error"}
        return APP.response_class(json.dumps(body), status=500, mimetype="application/json")

    APP.register_error_handler(Exception, internal_error)
    with open(config_path, encoding="utf-8") as fh:
        goodpractice.install(yaml.safe_load(fh))

    return Guard(APP, *_collections(config_path))


application: WSGIApp = create_app() if "PYGEOAPI_CONFIG" in os.environ else None  # type: ignore[assignment]
