"""The Atom download service's OpenSearch endpoint (WSGI, run by gunicorn under gdi serve).

    /atom/describe?spatial_dataset_identifier_code=..&spatial_dataset_identifier_namespace=..
                   [&language=de|en]                  -> 302 to the dataset feed
    /atom/get?<the same>&crs=..[&format=gml|gpkg][&language=..]
                                                      -> 302 to the file of the live release
    /atom/search?q=..[&language=..]                   -> HTML list of the matching datasets

Answers come from ``atom-index.json`` of the live catalogue (``GDI_ATOM_INDEX``), re-read when
a new catalogue goes live; no other file is opened. Read-only: GET and HEAD only. Errors are
plain-text messages with a status, never a traceback. The identifier may be given as the full
resource identifier (the feeds' code) or as its local part (the collection's name).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape

from gdi.crs import normalise_crs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
LOG = logging.getLogger("gdi.atom")
_ENV = Environment(loader=PackageLoader("gdi.publish", "templates"),
                   autoescape=select_autoescape(["html"]))
_LANG = {"de": "de", "ger": "de", "deu": "de", "en": "en", "eng": "en"}
_FORMATS = {"gml": "application/gml+xml", "gpkg": "application/geopackage+sqlite3",
            "application/gml+xml": "application/gml+xml",
            "application/geopackage+sqlite3": "application/geopackage+sqlite3"}


class NotFound(Exception):
    pass


class Index:
    """The live catalogue's index, re-read when its file (behind ``current``) changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.key: tuple[int, int] | None = None
        self.doc: dict[str, Any] = {}

    def get(self) -> dict[str, Any]:
        st = os.stat(self.path)
        key = (st.st_ino, st.st_mtime_ns)
        with self.lock:
            if key != self.key:
                with open(self.path, encoding="utf-8") as fh:
                    self.doc = json.load(fh)
                self.key = key
            return self.doc


def _one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name) or [""]
    return values[0].strip()


def language(query: dict[str, list[str]], doc: dict[str, Any]) -> str:
    asked = _one(query, "language").lower()
    if not asked:
        return str(doc["languages"][0])
    if asked not in _LANG:
        raise NotFound("this language is not offered; use one of "
                       + ", ".join(doc["languages"]))
    return _LANG[asked]


def dataset(query: dict[str, list[str]], doc: dict[str, Any]) -> dict[str, Any]:
    code = _one(query, "spatial_dataset_identifier_code")
    namespace = _one(query, "spatial_dataset_identifier_namespace").rstrip("/")
    if not code:
        raise NotFound("spatial_dataset_identifier_code is required")
    for ds in doc["datasets"]:
        full = code == ds["code"] or code == ds["collection"]
        if full and namespace in ("", ds["namespace"].rstrip("/")):
            return dict(ds)
    raise NotFound("no dataset with this identifier and namespace")


def get_file(query: dict[str, list[str]], doc: dict[str, Any]) -> str:
    ds = dataset(query, doc)
    wanted_crs = normalise_crs(_one(query, "crs")) if _one(query, "crs") else None
    fmt = _one(query, "format")
    media = _FORMATS.get(fmt) if fmt else None
    if fmt and media is None:
        raise NotFound("this format is not offered (gml, gpkg)")
    files = [f for f in ds["files"] if (wanted_crs is None or f["crs"] == wanted_crs)
             and (media is None or f["type"] == media)]
    if not files:
        raise NotFound("this dataset is not offered in this CRS and format")
    return str(files[0]["url"])


def search(query: dict[str, list[str]], doc: dict[str, Any], lang: str) -> bytes:
    terms = _one(query, "q").lower().split()
    hits = [ds for ds in doc["datasets"] if all(
        t in " ".join([ds["collection"], *ds["title"].values(),
                       *(v or "" for v in ds["description"].values())]).lower()
        for t in terms)]
    page = _ENV.get_template("atom_search.html").render(
        lang=lang, q=_one(query, "q"), hits=hits, base=doc["base"],
        city=doc["city"])
    return page.encode("utf-8")


def _reply(start_response: StartResponse, status: str, body: bytes, content_type: str,
           extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type),
                            ("Content-Length", str(len(body))), *(extra or [])])
    return [body]


def make_app(index_path: str) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    index = Index(index_path)

    def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in {"GET", "HEAD"}:
            return _reply(start_response, "405 Method Not Allowed",
                          b"this service is read-only\n", "text/plain; charset=utf-8",
                          [("Allow", "GET, HEAD")])
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        operation = environ.get("PATH_INFO", "").rstrip("/").rsplit("/", 1)[-1]
        try:
            doc = index.get()
            lang = language(query, doc)
            if operation == "describe":
                target = dataset(query, doc)["feeds"][lang]
            elif operation == "get":
                target = get_file(query, doc)
            elif operation == "search":
                return _reply(start_response, "200 OK", search(query, doc, lang),
                              "text/html; charset=utf-8", [("Content-Language", lang)])
            else:
                raise NotFound("unknown operation: use describe, get or search")
        except NotFound as exc:
            return _reply(start_response, "404 Not Found", f"{exc}\n".encode(),
                          "text/plain; charset=utf-8", [("X-Content-Type-Options", "nosniff")])
        except Exception:  # never a traceback to a client
            LOG.exception("atom search failed")
            return _reply(start_response, "500 Internal Server Error", b"internal error\n",
                          "text/plain; charset=utf-8")
        return _reply(start_response, "302 Found", b"", "text/plain; charset=utf-8",
                      [("Location", target)])

    return application


application = make_app(os.environ["GDI_ATOM_INDEX"]) if "GDI_ATOM_INDEX" in os.environ else None
