"""pycsw as the Discovery Service's WSGI application (run by gunicorn in .venv-pycsw).

pycsw's own ``pycsw.wsgi.application`` is not used: it takes its configuration file from any
query parameter that *contains* "config" (a client could name another file) and adds nothing
INSPIRE needs. This one
- reads the configuration from ``PYCSW_CONFIG`` of the process only;
- answers GET and POST (GetRecords with an ``ogc:Filter``), nothing else (405): the catalogue
  is read-only, and pycsw's transactions are off in the configuration as well;
- writes the INSPIRE discovery extended capabilities as scenario 1: a ``MetadataUrl`` to the
  service's own ISO record in this catalogue (which carries the conformity to Regulation
  976/2009 and everything else), the supported languages (ger, eng) and the response
  language; pycsw's built-in scenario 2 cites Regulation 1089/2010 (data interoperability)
  for a network service;
- turns an unexpected error into an OGC exception report with a safe message.

Only the standard library, lxml and pycsw are imported (this runs outside the service's venv).
"""

from __future__ import annotations

import configparser
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

warnings.simplefilter("ignore")  # pycsw imports pkg_resources (deprecated) on import

LOG = logging.getLogger("gdi.csw")
OWS = "http://www.opengis.net/ows"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DS = "http://inspire.ec.europa.eu/schemas/inspire_ds/1.0"
COMMON = "http://inspire.ec.europa.eu/schemas/common/1.0"
GETRECORDBYID_XML = "application/vnd.ogc.csw.GetRecordByIdResponse_xml"
_MAX_BODY = 64 * 1024

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _exception(start_response: StartResponse, status: str, code: str, text: str
               ) -> list[bytes]:
    root = etree.Element(f"{{{OWS}}}ExceptionReport", nsmap={"ows": OWS}, version="1.2.0")
    exc = etree.SubElement(root, f"{{{OWS}}}Exception", exceptionCode=code)
    etree.SubElement(exc, f"{{{OWS}}}ExceptionText").text = text
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    start_response(status, [("Content-Type", "application/xml; charset=UTF-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def scenario1(caps: etree._Element, metadata_url: str, languages: list[str],
              response_language: str) -> bool:
    """Replace pycsw's ``inspire_ds:ExtendedCapabilities`` by scenario 1; False if the
    document has none (not a capabilities document)."""
    old = caps.find(f".//{{{DS}}}ExtendedCapabilities")
    if old is None:
        return False
    new = etree.Element(f"{{{DS}}}ExtendedCapabilities",
                        nsmap={"inspire_ds": DS, "inspire_common": COMMON, "xsi": XSI})
    url = etree.SubElement(new, f"{{{COMMON}}}MetadataUrl")
    url.set(f"{{{XSI}}}type", "inspire_common:resourceLocatorType")
    etree.SubElement(url, f"{{{COMMON}}}URL").text = metadata_url
    etree.SubElement(url, f"{{{COMMON}}}MediaType").text = GETRECORDBYID_XML
    supported = etree.SubElement(new, f"{{{COMMON}}}SupportedLanguages")
    default = etree.SubElement(supported, f"{{{COMMON}}}DefaultLanguage")
    etree.SubElement(default, f"{{{COMMON}}}Language").text = languages[0]
    for lang in languages[1:]:
        other = etree.SubElement(supported, f"{{{COMMON}}}SupportedLanguage")
        etree.SubElement(other, f"{{{COMMON}}}Language").text = lang
    response = etree.SubElement(new, f"{{{COMMON}}}ResponseLanguage")
    etree.SubElement(response, f"{{{COMMON}}}Language").text = response_language
    parent = old.getparent()
    assert parent is not None
    parent.replace(old, new)
    return True


def _language(environ: Environ, supported: list[str]) -> str:
    """The INSPIRE ``LANGUAGE`` parameter if supported, else the default (ger)."""
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(environ.get("QUERY_STRING", "")):
        if key.lower() == "language" and value.lower() in supported:
            return value.lower()
    return supported[0]


_WRITES = {"transaction", "harvest"}
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                        huge_tree=False)


def _writes(environ: Environ) -> str | None:
    """The name of a write operation (Transaction, Harvest) the request asks for, by KVP or
    as the root of a POST body; the body is read here and handed on to pycsw."""
    import io
    from urllib.parse import parse_qsl

    for key, value in parse_qsl(environ.get("QUERY_STRING", "")):
        if key.lower() == "request" and value.lower() in _WRITES:
            return value
    if environ.get("REQUEST_METHOD") == "POST":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            root = etree.fromstring(body, _SAFE)
        except etree.XMLSyntaxError:
            return None  # pycsw answers with its own exception
        name = etree.QName(root).localname
        if name.lower() in _WRITES:
            return name
    return None


class Catalogue:
    def __init__(self, config_path: str) -> None:
        self.config_path = config_path
        cfg = configparser.ConfigParser()  # '%%' as pycsw reads it
        cfg.read(config_path, encoding="utf-8")
        self.metadata_url = cfg.get("gdi", "service_metadata_url")
        self.languages = cfg.get("metadata:inspire", "languages_supported").split(",")

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        from pycsw import server

        method = environ.get("REQUEST_METHOD", "GET")
        if method not in {"GET", "HEAD", "POST"}:
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD, POST"),
                                                      ("Content-Length", "0")])
            return [b""]
        if method == "POST" and int(environ.get("CONTENT_LENGTH") or 0) > _MAX_BODY:
            return _exception(start_response, "413 Payload Too Large", "NoApplicableCode",
                              "request body too large")
        environ = {k: v for k, v in environ.items() if k != "PYCSW_CONFIG"}
        refused = _writes(environ)
        if refused:
            return _exception(start_response, "400 Bad Request", "OperationNotSupported",
                              f"{refused} is not offered: this catalogue is read-only")
        try:
            csw = server.Csw(self.config_path, environ)
            status, body = csw.dispatch_wsgi()
            content_type = str(csw.contenttype)
            if b"ExtendedCapabilities" in body[:200000]:
                doc = etree.fromstring(body)
                if scenario1(doc, self.metadata_url, self.languages,
                             _language(environ, self.languages)):
                    body = etree.tostring(doc, xml_declaration=True, encoding="UTF-8",
                                          pretty_print=True)
        except Exception:  # never a traceback to a client
            LOG.exception("unhandled error")
            return _exception(start_response, "500 Internal Server Error", "NoApplicableCode",
                              "internal error")
        start_response(status, [("Content-Type", content_type),
                                ("Content-Length", str(len(body)))])
        return [body] if method != "HEAD" else [b""]


def create() -> Catalogue | None:
    path = os.environ.get("PYCSW_CONFIG")
    return Catalogue(path) if path else None


application = create()
