"""Issue 10, verified species ids: every INSPIRE SD member carries a real EUNIS id from the
shared EEA link set, none is nil, and the trees left out are counted per taxon."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from lxml import etree

from gdi import speciesref
from tests.conftest import ROOT, SHARED, Published, gdi

SD = "http://inspire.ec.europa.eu/schemas/sd/4.0"
WFS = "http://www.opengis.net/wfs/2.0"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TABLE = ROOT / "datasets" / "species.csv"


def _table() -> list[dict[str, str]]:
    with TABLE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_species_table_ids_are_verified_by_the_link_set() -> None:
    links = speciesref.load(SHARED / "species-reference")
    rows = _table()
    with_id = [r for r in rows if r["reference_id"]]
    assert len(with_id) >= 30
    for r in with_id:
        assert r["scheme"] == "eunis", r  # one scheme for the whole table
        assert links.get(r["botanical_name"]) == {r["reference_id"]}, r  # exact, unique
        assert r["provenance"].startswith("EEA EUNIS link set"), r
    conflict = next(r for r in rows if r["botanical_name"] == "Ulmus glabra")
    assert not conflict["reference_id"] and "conflict" in conflict["provenance"]


def test_the_table_is_what_the_resolver_writes(tmp_path: Path) -> None:
    """`gdi species-table` is reproducible: re-resolving the committed table changes nothing."""
    copy = shutil.copy(TABLE, tmp_path / "species.csv")
    proc = gdi("species-table", "--table", str(copy), data_dir=tmp_path)
    assert "1 conflicts" in proc.stdout and "Ulmus glabra: 185179, 185180" in proc.stdout
    assert Path(copy).read_bytes() == TABLE.read_bytes()


def test_no_inspire_member_has_a_nil_species_id(published: Published) -> None:
    doc = etree.parse(str(published.release("trees") / "trees.inspire.gml"))
    ids = doc.findall(f".//{{{SD}}}referenceSpeciesId")
    r = published.reports["trees"]["inspire"]
    assert len(ids) == r["members"] > 20000
    for el in ids:
        href = el.get(f"{{{XLINK}}}href") or ""
        assert href.startswith("https://eunis.eea.europa.eu/species/"), etree.tostring(el)
        assert el.get("nilReason") is None and el.get(f"{{{XSI}}}nil") is None
    schemes = {el.get(f"{{{XLINK}}}href") for el in
               doc.findall(f".//{{{SD}}}referenceSpeciesScheme")}
    assert schemes == {"http://inspire.ec.europa.eu/codelist/ReferenceSpeciesSchemeValue/eunis"}
    names = doc.findall(f".//{{{SD}}}referenceSpeciesName")
    assert names and all(n.text and n.get(f"{{{XSI}}}nil") is None for n in names)


def test_trees_left_out_are_counted_per_taxon(published: Published) -> None:
    r = published.reports["trees"]
    i = r["inspire"]
    assert i["members"] + i["excluded"] == r["published"]
    assert sum(i["excluded_taxa"].values()) == i["excluded"]
    assert "Ulmus glabra" in i["excluded_taxa"] or "Tilia x europaea" in i["excluded_taxa"]
    assert "Tilia cordata" not in i["excluded_taxa"]  # verified: a member


def test_a_nil_species_id_is_refused_by_the_descriptor_check(tmp_path: Path) -> None:
    text = (ROOT / "datasets" / "trees.yml").read_text(encoding="utf-8").replace(
        "speciesName.referenceSpeciesId: {field: species_ref_id}",
        "speciesName.referenceSpeciesId: {field: species_ref_id, nil_reason_if_missing: Unknown}")
    folder = tmp_path / "datasets"
    folder.mkdir()
    shutil.copy(TABLE, folder / "species.csv")
    (folder / "trees.yml").write_text(text, encoding="utf-8")
    proc = gdi("check", str(folder / "trees.yml"), data_dir=tmp_path, check=False)
    assert proc.returncode == 2 and "never nil" in proc.stderr and "sd-as.a.2" in proc.stderr
