"""Is this a public publication or a local preview?

A release whose INSPIRE GML, code-list references or service addresses carry a loopback or
otherwise non-public base URL cannot be harvested by anyone outside: it is a **local preview**,
and the run report, the CLI and the landing page say so. Two settings make it public
(README, "Going live"): ``GDI_PUBLIC_URL`` (the service's address; the city's code lists are
published under it) and, where the code lists live elsewhere, ``GDI_CODELIST_URI_BASE``; a
real ``GDI_CONTACT_EMAIL`` replaces the placeholder.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from gdi.settings import Settings

_LOCAL_SUFFIXES = (".invalid", ".local", ".localhost", ".test", ".example", ".internal")


def _non_public(url: str) -> str | None:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    if not host:
        return "no host"
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        return f"host {host} is not public"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified:
        return f"address {host} is not public"
    return None


def reasons(settings: Settings) -> list[str]:
    """Why the publication is only a local preview (empty: it is public)."""
    out = []
    for what, url, setting in (
            ("service address", settings.base_url, "GDI_PUBLIC_URL"),
            # the code lists live under the service address unless set apart
            *([("city code lists", settings.codelist_base, "GDI_CODELIST_URI_BASE")]
              if settings.codelist_uri_base else []),
            ("INSPIRE identifier namespace", settings.namespace_base,
             "GDI_ID_NAMESPACE_BASE")):
        why = _non_public(url)
        if why:
            out.append(f"{what} {url}: {why} (set {setting})")
    email_host = settings.email.rpartition("@")[2].lower()
    if email_host.endswith(_LOCAL_SUFFIXES):
        out.append(f"contact e-mail {settings.email} is a placeholder "
                   "(set GDI_CONTACT_EMAIL)")
    return out
