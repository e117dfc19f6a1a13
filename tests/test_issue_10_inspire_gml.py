"""Issue 10, what the INSPIRE validator's offline assertions require, checked on every INSPIRE
GML the project writes: at least one member (``sd-gml.a.1`` and the like), and no property
with an empty value (``gmlas.c.1``): every leaf carries text, a reference or a nil reason."""

from __future__ import annotations

from lxml import etree

from tests.conftest import Published

WFS = "http://www.opengis.net/wfs/2.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def test_every_inspire_gml_has_members_and_no_empty_value(published: Published) -> None:
    checked = 0
    for dataset in published.reports:
        gml = published.release(dataset) / f"{dataset}.inspire.gml"
        if not gml.exists():
            continue
        doc = etree.parse(str(gml))
        members = doc.findall(f"{{{WFS}}}member")
        assert members, dataset
        for member in members:
            for el in member.iter():
                if len(el) or (el.text or "").strip():
                    continue
                assert el.get(f"{{{XLINK}}}href") or el.get("nilReason") or \
                    el.get(f"{{{XSI}}}nil") == "true", (dataset, etree.tostring(el)[:200])
        checked += 1
    assert checked >= 3  # trees, playgrounds, contaminated sites
