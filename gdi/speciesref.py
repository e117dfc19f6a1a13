"""Verified species ids for the species table, from the EEA's EUNIS link set (CC0).

``shared/species-reference/eunis_links.nt`` pairs Wikipedia/DBpedia article names with EUNIS
species ids. A taxon of the species table gets an id only when its botanical name equals an
article name exactly (``Tilia_cordata`` -> ``Tilia cordata``); an article titled with a common
name (``Scots_Pine``) never matches a scientific name, so it is never used. A name with two ids
(``Ulmus glabra``: 185179 and 185180) is a conflict: reported, never picked. Genus-level rows
find nothing (the link set lists species). Every id written carries its provenance.

One scheme for the whole table: EUNIS (docs/species-policy.md says why).
"""

from __future__ import annotations

import csv
import re
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from gdi.errors import SourceError

LINKS = "eunis_links.nt"
PROVENANCE = ("EEA EUNIS link set eunis_links.nt (dbpedia/links @9863694, CC0 1.0; "
              "shared/species-reference), exact scientific name")
_TRIPLE = re.compile(r"^<http://dbpedia\.org/resource/([^>]+)>\s+<[^>]+#sameAs>\s+"
                     r"<https?://eunis\.eea\.europa\.eu/species/(\d+)>\s*\.\s*$")
FIELDS = ["botanical_name", "german_name", "scheme", "reference_id", "reference_name",
          "provenance"]


def _name(resource: str) -> str:
    text = urllib.parse.unquote(resource).replace("_", " ")
    return re.sub(r"\s+", " ", text.replace(" x ", " × ")).strip()


def load(folder: Path) -> dict[str, set[str]]:
    """Article name (spaces, '×' for hybrids) -> EUNIS ids."""
    path = folder / LINKS
    if not path.exists():
        raise SourceError(f"{path}: the EUNIS link set is missing",
                          hint="the shared folder holds it (species-reference/README.md)")
    out: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _TRIPLE.match(line)
        if m:
            out[_name(m.group(1))].add(m.group(2))
    return dict(out)


@dataclass(frozen=True)
class Resolution:
    resolved: dict[str, str]  # botanical name -> EUNIS id
    conflicts: dict[str, list[str]]  # botanical name -> the ids it has
    missing: list[str]  # botanical names the link set does not have


def resolve(names: list[str], links: dict[str, set[str]]) -> Resolution:
    resolved, conflicts, missing = {}, {}, []
    for name in names:
        ids = links.get(re.sub(r"\s+x\s+", " × ", name.strip()))
        if not ids:
            missing.append(name)
        elif len(ids) > 1:
            conflicts[name] = sorted(ids, key=int)
        else:
            resolved[name] = next(iter(ids))
    return Resolution(resolved, conflicts, missing)


def update_table(table: Path, links: dict[str, set[str]]) -> Resolution:
    """Rewrite the species table with EUNIS ids wherever the link set verifies one; rows
    without a verified EUNIS id lose any id of another scheme (one scheme per table) but keep
    its note in the provenance column."""
    with table.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    result = resolve([r["botanical_name"] for r in rows], links)
    for row in rows:
        name = row["botanical_name"]
        same = (row.get("scheme") == "eunis" and row.get("reference_id") ==
                result.resolved.get(name)) or (not row.get("reference_id")
                                                and name not in result.resolved)
        if same and row.get("provenance"):
            continue  # unchanged: its provenance (earlier notes included) stays
        earlier = (f"; earlier {row['scheme']} {row['reference_id']} ({row['provenance']})"
                   if row.get("reference_id") and row.get("scheme") != "eunis" else "")
        if name in result.resolved:
            row.update(scheme="eunis", reference_id=result.resolved[name], reference_name=name,
                       provenance=PROVENANCE + earlier)
        else:
            why = (f"EUNIS link set: conflict, ids {', '.join(result.conflicts[name])}"
                   if name in result.conflicts else "not in the EUNIS link set")
            row.update(scheme="", reference_id="", reference_name="",
                       provenance=why + earlier)
    with table.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows({k: r.get(k, "") for k in FIELDS} for r in rows)
    return result
