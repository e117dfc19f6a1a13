"""Issue 10, multi-valued source fields: "Kleinkinder, Schulkinder" maps to two values of a
property the schema lets repeat (specificLandUse), one element each; a property that may
appear once refuses a multi-valued field at ``gdi check``."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyogrio
from lxml import etree

from gdi.inspire.plan import split_values
from tests.conftest import ROOT, Published, gdi

ELU = "http://inspire.ec.europa.eu/schemas/elu/4.0"
XLINK = "http://www.w3.org/1999/xlink"
BY_TYPE = ("    specificLandUse:\n      field: playground_type\n"
           "      map: {Kleinkinderspielplatz: smallChildrenPlayground, Kinderspielplatz: "
           "childrenPlayground,\n            Jugendspielplatz: youthPlayground}\n")
BY_GROUPS = ("    specificLandUse:\n      field: target_groups\n"
             "      map: {Kleinkinder: smallChildrenPlayground, Schulkinder: childrenPlayground,"
             "\n            Jugendliche: youthPlayground}\n")


def _descriptor(tmp_path: Path, published: Published, old: str, new: str) -> tuple[Path, Path]:
    folder = shutil.copytree(ROOT / "datasets", tmp_path / "datasets")
    desc = folder / "playgrounds.yml"
    text = desc.read_text(encoding="utf-8")
    assert old in text
    desc.write_text(text.replace(old, new), encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(published.data_dir / "sources" / "playgrounds",
                    data / "sources" / "playgrounds")
    return desc, data


def test_splitting_is_tolerant() -> None:
    assert split_values("Kleinkinder, Schulkinder") == ["Kleinkinder", "Schulkinder"]
    assert split_values(" Schulkinder, Schulkinder ,") == ["Schulkinder"]


def test_several_values_become_several_elements(published: Published, tmp_path: Path) -> None:
    desc, data = _descriptor(tmp_path, published, BY_TYPE, BY_GROUPS)  # codelist line stays
    gdi("run", str(desc), "-q", "--report", str(tmp_path / "r.json"), data_dir=data)
    r = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert r["inspire"]["valid"] is True and r["inspire"]["members"] == r["published"]
    live = data / "publish" / "playgrounds" / "current"
    store = pyogrio.read_dataframe(live / "playgrounds.gpkg")
    expected = Counter()
    for cell in store["target_groups"].dropna():
        expected.update(split_values(cell))
    doc = etree.parse(str(live / "playgrounds.inspire.gml"))
    hrefs = [e.get(f"{{{XLINK}}}href") for e in doc.iter(f"{{{ELU}}}specificLandUse")]
    got = Counter(h.rsplit("/", 1)[1] for h in hrefs if h)
    names = {"Kleinkinder": "smallChildrenPlayground", "Schulkinder": "childrenPlayground",
             "Jugendliche": "youthPlayground"}
    assert got == Counter({names[k]: n for k, n in expected.items()})
    two = [o for o in doc.iter(f"{{{ELU}}}ExistingLandUseObject")
           if len(o.findall(f"{{{ELU}}}specificLandUse")) == 2]
    assert len(two) == sum(1 for c in store["target_groups"].dropna()
                           if len(split_values(c)) == 2) > 0


def test_a_single_valued_property_refuses_a_multi_valued_field(published: Published,
                                                               tmp_path: Path) -> None:
    old = "    observationDate: {field: inspected_on, void_if_missing: Unknown}\n"
    desc, data = _descriptor(tmp_path, published, old,
                             "    observationDate: {field: target_groups}\n")
    proc = gdi("check", str(desc), "--no-source", data_dir=data, check=False)
    assert proc.returncode == 2 and "holds several values" in proc.stderr
