"""Issue 11: ISO 19139 metadata records generated from the descriptors and the live releases.

Offline: every record validates against the official ISO 19139 schemas and passes the rules of
the INSPIRE validator's metadata test suites that need no network (gdi/metadata/rules.py); the
rules catch what they claim to catch; content follows the live release (conformity degree from
its validation, lineage from its run report); identifiers and date stamps behave as GDI-NI's
harvester needs. The live harvest is in test_issue_11_csw.py.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from gdi.metadata import rules
from gdi.metadata.iso import NS, SCHEMA_IMPORTS
from gdi.xsd import schema_for, validate_tree
from tests.conftest import SHARED, Published, copy_tree, gdi

NAMESPACE = "https://registry.gdi-de.org/id/de.ni.hildesheim"


def _live(data: Path) -> Path:
    return (data / "catalogue" / "current").resolve()


def _state(data: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((_live(data) / "state.json").read_text(encoding="utf-8"))


def _records(data: Path) -> dict[str, bytes]:
    """key -> the record's bytes, of the live catalogue."""
    folder = _live(data) / "records"
    return {k: (folder / f"{v['file_identifier']}.xml").read_bytes()
            for k, v in _state(data)["records"].items()}


def _doc(data: Path, key: str) -> etree._Element:
    return etree.fromstring(_records(data)[key])


def _x(doc: etree._Element, expr: str) -> list[str]:
    return [str(v).strip() for v in doc.xpath(expr, namespaces=NS)]


@pytest.fixture(scope="module")
def catalogue(published: Published, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the published data with its catalogue (first built by 'gdi run --all'; the
    session's server renews it for its own port: renewed here for the default one)."""
    data = copy_tree(published.data_dir, tmp_path_factory.mktemp("catalogue") / "data")
    assert _live(data).is_dir(), "gdi run did not publish a catalogue"
    gdi("catalogue", data_dir=data)
    return data


def test_a_record_per_dataset_aggregate_and_service(catalogue: Path) -> None:
    keys = set(_records(catalogue))
    assert keys == {"dataset:trees", "dataset:playgrounds", "dataset:playground_equipment",
                    "dataset:buildings",
                    "dataset:contaminated_sites", "dataset:contaminated_sites_grid",
                    "service:wms", "service:ogcapi", "service:csw", "service:atom",
                    "service:wfs"}


def test_every_record_is_schema_valid_and_passes_the_offline_rules(catalogue: Path) -> None:
    schema = schema_for(SHARED / "inspire-schemas", SCHEMA_IMPORTS)
    docs = {k: etree.fromstring(v) for k, v in _records(catalogue).items()}
    for key, doc in docs.items():
        validate_tree(doc, schema, name=key)
        assert rules.problems(doc, NAMESPACE) == [], key
    assert rules.unique_identifiers(list(docs.values())) == []


# each mutation breaks one rule of the INSPIRE suites or GDI-DE: the check must see it
BREAKS = {
    "C.5 language": ("dataset:trees", "gmd:language/gmd:LanguageCode", "codeListValue", "deu"),
    "C.17 limitations": ("dataset:trees", ".//gmd:otherConstraints/gmx:Anchor",
                         "{http://www.w3.org/1999/xlink}href",
                         "https://inspire.ec.europa.eu/metadata-codelist/"
                         "LimitationsOnPublicAccess/noLimitations"),
    "1.9 scope": ("dataset:trees", ".//gmd:DQ_Scope/gmd:level/gmd:MD_ScopeCode",
                  "codeListValue", "series"),
    "3.5 service type": ("service:wms", ".//srv:serviceType/gco:LocalName", None, "other"),
    "C.19 decimals": ("dataset:playgrounds", ".//gmd:westBoundLongitude/gco:Decimal", None,
                      "9"),
}


@pytest.mark.parametrize("rule", sorted(BREAKS))
def test_the_rules_catch_a_broken_record(catalogue: Path, rule: str) -> None:
    key, path, attr, value = BREAKS[rule]
    doc = copy.deepcopy(_doc(catalogue, key))
    node = doc.xpath(path, namespaces=NS)[0]
    if attr is None:
        node.text = value
    else:
        node.set(attr, value)
    found = rules.problems(doc, NAMESPACE)
    assert any(p.startswith(rule.split()[0]) for p in found), found


def test_the_rules_catch_a_missing_lineage_and_a_bad_licence(catalogue: Path) -> None:
    doc = copy.deepcopy(_doc(catalogue, "dataset:trees"))
    for node in doc.xpath(".//gmd:lineage", namespaces=NS):
        node.getparent().remove(node)
    assert "1.11: exactly one non-empty lineage statement" in rules.problems(doc, NAMESPACE)
    doc2 = copy.deepcopy(_doc(catalogue, "dataset:playground_equipment"))
    json_text = doc2.xpath(".//gco:CharacterString[starts-with(., '{')]", namespaces=NS)[0]
    json_text.text = '{"id": "dl-by-de/2.0"}'
    assert any("licence JSON" in p for p in rules.problems(doc2, NAMESPACE))


def test_inspire_dataset_record_content(catalogue: Path, published: Published) -> None:
    doc = _doc(catalogue, "dataset:trees")
    ident = "gmd:identificationInfo/gmd:MD_DataIdentification"
    assert _x(doc, f"{ident}/gmd:citation//gmd:identifier//gmd:code/gmx:Anchor/text()") == [
        f"{NAMESPACE}/trees"]
    theme = _x(doc, f"{ident}/gmd:descriptiveKeywords/gmd:MD_Keywords[gmd:thesaurusName//"
                    "gmd:title/gmx:Anchor='GEMET - INSPIRE themes, version 1.0']/gmd:keyword/"
                    "gmx:Anchor/@xlink:href")
    assert theme == ["http://inspire.ec.europa.eu/theme/sd"]
    # GDI-DE: inspireidentifiziert and opendata each alone, without thesaurus
    for word in ("inspireidentifiziert", "opendata"):
        blocks = doc.xpath(f"{ident}/gmd:descriptiveKeywords/gmd:MD_Keywords[gmd:keyword/"
                           f"gco:CharacterString='{word}']", namespaces=NS)
        assert len(blocks) == 1 and len(blocks[0]) == 1, word
    licence = json.loads(_x(doc, f"{ident}//gmd:otherConstraints/gco:CharacterString"
                                 "[starts-with(., '{')]/text()")[0])
    assert licence == {"id": "dl-by-de/2.0", "name": "Datenlizenz Deutschland Namensnennung 2.0",
                       "url": "https://www.govdata.de/dl-de/by-2-0", "quelle": "Stadt Hildesheim"}
    # every CRS its files are offered in (issue 12: ETRS89/UTM32 and ETRS89 geographic)
    assert _x(doc, "gmd:referenceSystemInfo//gmd:code/gmx:Anchor/@xlink:href") == [
        "http://www.opengis.net/def/crs/EPSG/0/25832", "http://www.opengis.net/def/crs/EPSG/0/4258"]
    assert _x(doc, f"{ident}/gmd:topicCategory/*/text()") == ["biota"]
    assert _x(doc, "gmd:language/*/@codeListValue") == ["ger"]
    # conformity from this release's validation; lineage from its run report
    report = published.reports["trees"]
    assert report["inspire"]["valid"] is True
    assert _x(doc, ".//gmd:DQ_ConformanceResult/gmd:pass/gco:Boolean/text()") == ["true"]
    lineage = _x(doc, ".//gmd:LI_Lineage/gmd:statement/*/text()")[0]
    for fact in (f"{report['read']:,}".replace(",", "."), "BETA2007.gsb", "baumkataster.shp",
                 "EPSG:31467", f"{report['inspire']['members']:,}".replace(",", ".")):
        assert fact in lineage, fact
    assert "/" + "work" not in lineage and str(published.data_dir) not in lineage  # no paths
    # the extent is that of the data, in CRS84
    west, east = (float(v) for v in _x(doc, ".//gmd:EX_GeographicBoundingBox/gmd:"
                                            "westBoundLongitude/*/text()|.//gmd:"
                                            "EX_GeographicBoundingBox/gmd:eastBoundLongitude/"
                                            "*/text()"))
    assert 9.7 < west < east < 10.2


def test_access_limitation_and_aggregate(catalogue: Path) -> None:
    sites = _doc(catalogue, "dataset:contaminated_sites")
    hrefs = _x(sites, ".//gmd:accessConstraints/../gmd:otherConstraints/gmx:Anchor/@xlink:href")
    assert hrefs == ["http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
                     "INSPIRE_Directive_Article13_1f"]
    grid = _doc(catalogue, "dataset:contaminated_sites_grid")
    assert _x(grid, ".//gmd:accessConstraints/../gmd:otherConstraints/gmx:Anchor/@xlink:href"
              ) == ["http://inspire.ec.europa.eu/metadata-codelist/LimitationsOnPublicAccess/"
                    "noLimitations"]
    # the grid counts are a statistic, not the INSPIRE dataset; play equipment is not INSPIRE
    for key in ("dataset:contaminated_sites_grid", "dataset:playground_equipment"):
        words = _x(_doc(catalogue, key), ".//gmd:keyword/*/text()")
        assert "inspireidentifiziert" not in words and "opendata" in words, key


def test_service_records_couple_their_datasets(catalogue: Path) -> None:
    state = _state(catalogue)["records"]
    wms = _doc(catalogue, "service:wms")
    assert _x(wms, ".//srv:serviceType/gco:LocalName/text()") == ["view"]
    assert _x(wms, ".//srv:couplingType/*/@codeListValue") == ["tight"]
    coupled = {ref.get("uuidref"): ref.get(f"{{{NS['xlink']}}}href")
               for ref in wms.xpath(".//srv:operatesOn", namespaces=NS)}
    assert f"{NAMESPACE}/trees" in coupled
    assert f"ID={state['dataset:trees']['file_identifier']}" in coupled[f"{NAMESPACE}/trees"]
    assert "REQUEST=GetRecordById" in coupled[f"{NAMESPACE}/trees"]
    ogc = _doc(catalogue, "service:ogcapi")
    assert _x(ogc, ".//srv:serviceType/gco:LocalName/text()") == ["download"]
    assert len(ogc.xpath(".//srv:operatesOn", namespaces=NS)) == 6
    csw = _doc(catalogue, "service:csw")
    assert _x(csw, ".//srv:serviceType/gco:LocalName/text()") == ["discovery"]
    assert _x(csw, ".//gmd:keyword/gmx:Anchor/@xlink:href") == [
        "http://inspire.ec.europa.eu/metadata-codelist/SpatialDataServiceCategory/"
        "infoCatalogueService"]


def test_rerun_leaves_every_record_byte_identical(catalogue: Path) -> None:
    before = _records(catalogue)
    gdi("catalogue", data_dir=catalogue)
    assert _records(catalogue) == before


def test_identifiers_are_kept_for_good(catalogue: Path, tmp_path: Path) -> None:
    """A dataset that leaves and comes back gets its old fileIdentifier; a descriptor that
    would re-create a record under a new one is refused with a clear message."""
    data = copy_tree(catalogue, tmp_path / "data")
    datasets = tmp_path / "datasets"
    shutil.copytree(Path(__file__).parent.parent / "datasets", datasets)
    env = {"GDI_DATASETS_DIR": str(datasets)}
    old = _state(data)["records"]["dataset:playground_equipment"]["file_identifier"]
    moved = (datasets / "playground_equipment.yml").rename(tmp_path / "equipment.yml")
    gdi("catalogue", data_dir=data, env=env)
    assert "dataset:playground_equipment" not in _records(data)
    moved.rename(datasets / "playground_equipment.yml")
    gdi("catalogue", data_dir=data, env=env)
    assert _state(data)["records"]["dataset:playground_equipment"]["file_identifier"] == old
    text = (datasets / "trees.yml").read_text(encoding="utf-8")
    (datasets / "trees.yml").write_text(text.replace(
        "metadata:\n", "metadata:\n  file_identifier: 0a6b1f6e-6b0e-4b1e-9b1e-2c3d4e5f6a7b\n"),
        encoding="utf-8")
    before = _records(data)
    proc = gdi("catalogue", data_dir=data, env=env, check=False)
    assert proc.returncode == 2 and "never re-created under a new identifier" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _records(data) == before
