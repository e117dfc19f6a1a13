"""Issue 10, public URIs: a release with loopback or placeholder addresses is marked a local
preview everywhere; with the going-live settings it is public and carries only those."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.conftest import Published, Server, gdi, http_body

LIVE = {"GDI_PUBLIC_URL": "https://geodaten.hildesheim.de",
        "GDI_CONTACT_EMAIL": "geodaten@stadt-hildesheim.de"}


def test_default_settings_make_a_local_preview(published: Published, server: Server) -> None:
    for name, report in published.reports.items():
        why = report["local_preview"]
        assert any("GDI_PUBLIC_URL" in w and "127.0.0.1" in w for w in why), name
        assert any("GDI_CONTACT_EMAIL" in w for w in why), name
    page = http_body(f"{server.base}/").decode()
    assert "Lokale Vorschau" in page and "GDI_PUBLIC_URL" in page
    with urllib.request.urlopen(f"{server.ogcapi}/collections", timeout=30) as resp:
        assert resp.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_going_live_settings_leave_no_local_address(tmp_path: Path) -> None:
    gdi("sample", "playgrounds", data_dir=tmp_path)
    proc = gdi("run", "playgrounds", "-q", "--report", str(tmp_path / "r.json"),
               data_dir=tmp_path, env=LIVE)
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["local_preview"] == [] and "LOCAL PREVIEW" not in proc.stdout
    gml = (tmp_path / "publish" / "playgrounds" / "current" / "playgrounds.inspire.gml")
    text = gml.read_text(encoding="utf-8")
    assert "127.0.0.1" not in text and "localhost" not in text
    assert 'xlink:href="https://geodaten.hildesheim.de/codelists/PlaygroundTypeValue/' in text
    # and the default run says what to set
    preview = gdi("run", "playgrounds", "-q", data_dir=tmp_path)
    assert "LOCAL PREVIEW" in preview.stdout and "GDI_PUBLIC_URL" in preview.stdout
