"""Issue 10, code-list mapping that never loses silently: every source value a ``map`` does
not list is reported with its count, and the descriptor's policy decides (fail the run by
default, nil with reason, or leave the record out of the INSPIRE GML)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyogrio
import pytest
from lxml import etree

from tests.conftest import ROOT, Published, gdi

MAPPED = ("      map: {Kleinkinderspielplatz: smallChildrenPlayground, Kinderspielplatz: "
          "childrenPlayground,\n            Jugendspielplatz: youthPlayground}\n")
WITHOUT_ONE = "      map: {Kleinkinderspielplatz: smallChildrenPlayground,\n" \
              "            Jugendspielplatz: youthPlayground}\n"


def _setup(tmp_path: Path, published: Published, policy: str | None) -> tuple[Path, Path]:
    folder = shutil.copytree(ROOT / "datasets", tmp_path / "datasets")
    desc = folder / "playgrounds.yml"
    text = desc.read_text(encoding="utf-8")
    assert MAPPED in text
    new = WITHOUT_ONE + (f"      unmapped: {policy}\n" if policy else "")
    desc.write_text(text.replace(MAPPED, new), encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(published.data_dir / "sources" / "playgrounds",
                    data / "sources" / "playgrounds")
    return desc, data


def _children(published: Published) -> int:
    report = published.reports["playgrounds"]
    assert report["inspire"]["members"] == report["published"]
    frame = pyogrio.read_dataframe(published.release("playgrounds") / "playgrounds.gpkg")
    return int((frame["playground_type"] == "Kinderspielplatz").sum())


def test_an_unmapped_value_fails_the_run_by_default(published: Published,
                                                    tmp_path: Path) -> None:
    n = _children(published)
    desc, data = _setup(tmp_path, published, None)
    proc = gdi("run", str(desc), "-q", data_dir=data, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"'Kinderspielplatz' ({n:,})" in proc.stderr and "without a mapping" in proc.stderr
    assert "unmapped: leave_out" in proc.stderr  # the hint names the policies
    assert not (data / "publish" / "playgrounds" / "current").exists()
    check = gdi("check", str(desc), data_dir=data, check=False)
    assert check.returncode == 2 and "'Kinderspielplatz'" in check.stderr


@pytest.mark.parametrize("policy", ["leave_out", "nil"])
def test_policies_are_applied_and_counted(published: Published, tmp_path: Path,
                                          policy: str) -> None:
    n = _children(published)
    desc, data = _setup(tmp_path, published, policy)
    gdi("run", str(desc), "-q", "--report", str(tmp_path / "r.json"), data_dir=data)
    r = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert r["inspire"]["unmapped"] == {"specificLandUse": {"Kinderspielplatz": n}}
    gml = etree.parse(str(data / "publish" / "playgrounds" / "current" /
                          "playgrounds.inspire.gml"))
    objects = gml.findall(".//{http://inspire.ec.europa.eu/schemas/elu/4.0}"
                          "ExistingLandUseObject")
    if policy == "leave_out":
        assert r["inspire"]["members"] == r["published"] - n == len(objects)
    else:  # specificLandUse is nillable: every record stays, the unmapped ones nil
        assert r["inspire"]["members"] == r["published"] == len(objects)
        nil = [e for e in gml.iter("{http://inspire.ec.europa.eu/schemas/elu/4.0}"
                                   "specificLandUse")
               if e.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"]
        assert len(nil) == n
