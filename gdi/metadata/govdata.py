"""The gate before the DCAT-AP.de catalogue is published: GovData's official SHACL shapes
(DCAT-AP.de 2.0, profile "Spezifikation + Konventionen", from ``<shared>/dcat-ap-de``),
checked offline with pyshacl as GovData's validator combines them.

Code lists are merged into the data graph (their ``skos:inScheme`` is what the shapes test);
the FOAF, vCard and ORG ontologies go in as the ontology graph (their subclass axioms). The
lists GovData's validator fetches but nobody may redistribute are replaced by
:data:`MEMBERS`: the official IRIs this catalogue uses, each declared a member of its list.
That asserts membership, it does not check it; the IRIs are the official ones.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, SH, Graph, Namespace, URIRef

SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
SHAPES = ("dcat-ap_2.1.1_shacl_shapes.ttl", "dcat-ap-spec-german-messages.ttl",
          "dcat-ap-spec-german-additions.ttl", "dcat-ap-de-deprecated.ttl",
          "dcat-ap-konventionen.ttl")
ONTOLOGIES = {"foaf_0_1.rdf", "vcard.ttl", "org.ttl"}
MEMBERS = (  # (value, its list): lists not shipped with the shapes
    ("http://publications.europa.eu/resource/authority/language/DEU",
     "http://publications.europa.eu/resource/authority/language"),
    ("http://dcat-ap.de/def/politicalGeocoding/Level/municipality",
     "http://dcat-ap.de/def/politicalGeocoding/Level"),
    ("http://dcat-ap.de/def/hashAlgorithms/sha/256", "http://dcat-ap.de/def/hashAlgorithms"),
)


def _members(municipality_key: str) -> Graph:
    g = Graph()
    for value, scheme in (*MEMBERS, (
            f"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/{municipality_key}",
            "http://dcat-ap.de/def/politicalGeocoding/municipalityKey")):
        g.add((URIRef(value), SKOS.inScheme, URIRef(scheme)))
    return g


def check(data: Graph, shared_dir: Path, municipality_key: str
          ) -> tuple[list[str], list[str]]:
    """(violations, warnings and infos) of the catalogue under GovData's shapes."""
    from pyshacl import validate

    base = shared_dir / "dcat-ap-de"
    shapes = Graph()
    for name in SHAPES:
        shapes.parse(base / "v2.0" / name)
    checked = Graph()
    for triple in data:
        checked.add(triple)
    checked += _members(municipality_key)
    ontology = Graph()
    for path in sorted((base / "vocabularies").iterdir()):
        (ontology if path.name in ONTOLOGIES else checked).parse(path)
    _, report, _ = validate(checked, shacl_graph=shapes, ont_graph=ontology,
                            inference="none", allow_warnings=True, advanced=True)
    violations: list[str] = []
    others: list[str] = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(result, SH.resultSeverity)
        message = str(report.value(result, SH.resultMessage) or "")
        focus = str(report.value(result, SH.focusNode) or "")
        line = f"{focus}: {message}"
        (violations if severity == SH.Violation else others).append(line)
    return sorted(set(violations)), sorted(set(others))
