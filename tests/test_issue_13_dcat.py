"""Issue 13, part 3: the DCAT-AP.de 2.0 catalogue for GovData, checked with pyshacl against
GovData's official shapes (profile "Spezifikation + Konventionen") as the shared README runs
them, independently of the service's own gate (gdi.metadata.govdata)."""

from __future__ import annotations

import hashlib
import json
import urllib.request
from pathlib import Path

from pyshacl import validate
from rdflib import RDF, SH, Graph, Namespace, URIRef

from gdi.samples.sites import CANARY
from tests.conftest import SHARED, Published, Server, copy_tree, gdi, http_body, private_site_ids

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
BASE = SHARED / "dcat-ap-de"
SHAPES = ["dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap-spec-german-messages.ttl",
          "dcat-ap-spec-german-additions.ttl", "dcat-ap-de-deprecated.ttl",
          "dcat-ap-konventionen.ttl"]
# the code lists GovData's validator fetches and nobody ships: the IRIs the catalogue uses
EXCERPT = """
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
<http://publications.europa.eu/resource/authority/language/DEU> skos:inScheme <http://publications.europa.eu/resource/authority/language> .
<http://dcat-ap.de/def/politicalGeocoding/municipalityKey/03254021> skos:inScheme <http://dcat-ap.de/def/politicalGeocoding/municipalityKey> .
<http://dcat-ap.de/def/politicalGeocoding/Level/municipality> skos:inScheme <http://dcat-ap.de/def/politicalGeocoding/Level> .
<http://dcat-ap.de/def/hashAlgorithms/sha/256> skos:inScheme <http://dcat-ap.de/def/hashAlgorithms> .
"""  # noqa: E501


def _govdata(data: Graph) -> tuple[bool, list[str], list[str]]:
    shapes = Graph()
    for f in SHAPES:
        shapes.parse(BASE / "v2.0" / f)
    checked = Graph()
    for triple in data:
        checked.add(triple)
    checked.parse(data=EXCERPT, format="turtle")
    ont = Graph()
    for f in sorted((BASE / "vocabularies").iterdir()):
        (ont if f.name in {"foaf_0_1.rdf", "vcard.ttl", "org.ttl"} else checked).parse(f)
    conforms, report, _ = validate(checked, shacl_graph=shapes, ont_graph=ont,
                                   inference="none", allow_warnings=True, advanced=True)
    violations, others = [], []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        line = f"{report.value(r, SH.focusNode)}: {report.value(r, SH.resultMessage)}"
        (violations if report.value(r, SH.resultSeverity) == SH.Violation else others
         ).append(line)
    return bool(conforms), violations, others


def _catalog(data: Path, name: str = "catalog.ttl") -> Path:
    return data / "catalogue" / "current" / "dcat" / name


def test_the_catalogue_conforms_to_govdata_with_no_violation(published: Published) -> None:
    for name, fmt in (("catalog.ttl", "turtle"), ("catalog.rdf", "xml")):
        graph = Graph().parse(_catalog(published.data_dir, name), format=fmt)
        conforms, violations, others = _govdata(graph)
        assert conforms and violations == [], violations[:5]
        assert others == [], others[:5]  # no warning either (docs/open-data.md)


def test_a_broken_copy_is_caught(published: Published) -> None:
    graph = Graph().parse(_catalog(published.data_dir))
    for dist in list(graph.subjects(RDF.type, DCAT.Distribution))[:3]:
        graph.remove((dist, DCT.license, None))  # the licence removed
    conforms, violations, _ = _govdata(graph)
    assert not conforms and any("dct:license" in v for v in violations)
    # and the service refuses to publish such a catalogue (its own gate)
    from gdi.metadata import govdata

    assert govdata.check(graph, SHARED, "03254021")[0]


def test_datasets_identifiers_distributions_and_checksums(published: Published) -> None:
    data = published.data_dir
    graph = Graph().parse(_catalog(data))
    datasets = set(graph.subjects(RDF.type, DCAT.Dataset))
    ids = {str(graph.value(d, DCT.identifier)) for d in datasets}
    assert {i.rsplit("/", 1)[1] for i in ids} == {
        "trees", "playgrounds", "playground_equipment", "contaminated_sites",
        "contaminated_sites_grid", "buildings"}
    assert {str(d) for d in datasets} == ids  # the dataset IRI is its stable identifier
    for ds in datasets:
        assert graph.value(ds, DCT.license) is None  # licences sit on the distributions
        assert (ds, DCT.spatial, URIRef("http://dcat-ap.de/def/politicalGeocoding/"
                                        "municipalityKey/03254021")) in graph
        dists = list(graph.objects(ds, DCAT.distribution))
        downloads = [d for d in dists if graph.value(d, DCAT.downloadURL) is not None]
        services = [d for d in dists if graph.value(d, DCAT.accessService) is not None]
        assert len(downloads) >= 6 and len(services) >= 2
        for d in downloads:  # size and SHA-256 of the file actually served
            url = str(graph.value(d, DCAT.downloadURL))
            assert graph.value(d, DCAT.accessURL) == URIRef(url)
            if "/extracts/" not in url:
                continue
            dataset, _, name = url.split("/extracts/")[1].split("/", 2)
            path = data / "extracts" / dataset / "latest" / name
            assert float(graph.value(d, DCAT.byteSize)) == path.stat().st_size
            checksum = graph.value(d, SPDX.checksum)
            assert str(graph.value(checksum, SPDX.checksumValue)) == hashlib.sha256(
                path.read_bytes()).hexdigest()
        for d in services:  # a service distribution has no download URL
            assert graph.value(d, DCAT.downloadURL) is None
            service = graph.value(d, DCAT.accessService)
            assert (service, DCAT.servesDataset, ds) in graph
            assert graph.value(d, DCAT.accessURL) == graph.value(service, DCAT.endpointURL)


def test_unchanged_rerun_is_byte_identical_and_a_change_moves_only_its_dataset(
        published: Published, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    data = copy_tree(published.data_dir, tmp_path_factory.mktemp("dcat") / "data")
    gdi("catalogue", data_dir=data)
    before = {n: _catalog(data, n).read_bytes() for n in ("catalog.ttl", "catalog.rdf")}
    gdi("catalogue", data_dir=data)
    assert {n: _catalog(data, n).read_bytes() for n in before} == before
    old = Graph().parse(data=before["catalog.ttl"], format="turtle")
    gdi("run", "playgrounds", "-q", data_dir=data)  # the same data again: nothing moves
    new = Graph().parse(_catalog(data))
    modified = {str(s): str(o) for s, o in old.subject_objects(DCT.modified)
                if (s, RDF.type, DCAT.Dataset) in old}
    assert modified == {str(s): str(o) for s, o in new.subject_objects(DCT.modified)
                        if (s, RDF.type, DCAT.Dataset) in new}


def test_only_public_data_reach_the_catalogue(published: Published, server: Server) -> None:
    private = private_site_ids(published)
    for name, media in (("catalog.ttl", "text/turtle"), ("catalog.rdf", "application/rdf+xml")):
        url = f"{server.base}/dcat/{name}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert resp.headers["Content-Type"].startswith(media)
        body = http_body(url)
        assert CANARY.encode() not in body
        assert not [i for i in private if i.encode() in body]
        for word in (b"owner", b"parcel", b"case_officer", b"internal"):
            assert word not in body, word
    front = http_body(f"{server.base}/").decode()
    assert "/dcat/catalog.ttl" in front and "/extracts/trees/latest/datapackage.json" in front
    # the extracts the catalogue names are the public ones (the withheld part: grid counts)
    package = json.loads((published.data_dir / "extracts" / "contaminated_sites" / "latest" /
                          "datapackage.json").read_text(encoding="utf-8"))
    assert {r["path"].split(".")[0] for r in package["resources"]} == {
        "contaminated_sites", "contaminated_sites_grid"}
