"""Species names of tree cadastres: normalise the variants, resolve against a reference table.

Cadastres write "Tilia cordata 'Rancho', Winter-Linde", "ACER PLATANOIDES", "acer platanoides
Spitz-Ahorn" (comma missing), "Alnus  species, Erle", "Platanus x acerifolia", only the German
name, or "Baumgruppe/flächiger Bestand". The normaliser turns each into genus, epithet,
cultivar and German name; the resolver looks the taxon up in the project's species table.

Reference ids (EU-Nomen, EUNIS) come only from the table, whose every id carries its provenance:
nothing is guessed. A record whose taxon has no verified id is ``unresolved``; the descriptor's
policy decides what happens to it in INSPIRE (see docs/inspire-mapping.md of this project).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from gdi.errors import DescriptorError

SPECIES_FIELDS = (
    "species_botanical",
    "species_cultivar",
    "species_german",
    "species_rank",
    "species_status",
    "species_ref_scheme",
    "species_ref_id",
    "species_ref_name",
    "species_qualifier",
)
_ARROW_STR = pd.ArrowDtype(pa.string())
SCHEMES = {
    "eunomen": "http://www.eu-nomen.eu/portal/taxon.php?GUID={}",
    "eunis": "https://eunis.eea.europa.eu/species/{}",
}
_GROUP = re.compile(r"baumgruppe|bestand|gehölzgruppe|gehoelzgruppe|sammelbestand", re.I)
_CULTIVAR = re.compile(r"""\s*['"‘’“”`´]+([^'"‘’“”`´]+)['"‘’“”`´]*""")
_SPEC = {"spec", "spec.", "sp", "sp.", "spp", "spp.", "species", "spec.?"}
_HYBRID = {"x", "×"}


@dataclass(frozen=True)
class Taxon:
    botanical: str
    german: str
    scheme: str
    ref_id: str
    ref_name: str


@dataclass(frozen=True)
class Parsed:
    genus: str | None
    epithet: str | None
    hybrid: bool
    cultivar: str | None
    german: str | None
    group: bool

    @property
    def key(self) -> str | None:
        if not self.genus:
            return None
        parts = [self.genus, "x" if self.hybrid else "", self.epithet or ""]
        return " ".join(p for p in parts if p).lower()


class SpeciesTable:
    """The curated table ``botanical_name,german_name,scheme,reference_id,reference_name,...``."""

    def __init__(self, path: Path) -> None:
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
        except FileNotFoundError:
            raise DescriptorError(f"species table {path} not found") from None
        need = {"botanical_name", "german_name", "scheme", "reference_id", "reference_name"}
        if rows and not need <= set(rows[0]):
            raise DescriptorError(f"{path}: species table needs columns {sorted(need)}")
        self.by_key: dict[str, Taxon] = {}
        self.by_german: dict[str, str] = {}
        for i, row in enumerate(rows, start=2):
            scheme = row["scheme"].strip()
            if scheme and scheme not in SCHEMES:
                raise DescriptorError(f"{path}:{i}: unknown scheme '{scheme}'")
            if bool(scheme) != bool(row["reference_id"].strip()):
                raise DescriptorError(f"{path}:{i}: scheme and reference_id go together")
            taxon = Taxon(row["botanical_name"].strip(), row["german_name"].strip(), scheme,
                          row["reference_id"].strip(), row["reference_name"].strip())
            key = parse(taxon.botanical).key
            if key:
                self.by_key[key] = taxon
            if taxon.german:
                self.by_german[taxon.german.lower()] = key or ""
        self.genera = {k.split(" ")[0] for k in self.by_key}


def parse(text: str, genera: set[str] | None = None) -> Parsed:
    """Split one cadastre species string into its parts (pure, no table needed)."""
    s = " ".join(text.replace("\u00a0", " ").split()).strip(" ,;")
    if not s or _GROUP.search(s):
        return Parsed(None, None, False, None, None, group=bool(s))
    cultivar = None
    m = _CULTIVAR.search(s)
    if m:
        cultivar = m.group(1).strip()
        s = (s[: m.start()] + " " + s[m.end():]).strip()
    if "," in s:
        bot, german = (p.strip() for p in s.split(",", 1))
    else:
        bot, german = s, ""
    tokens = bot.split()
    if not tokens or (genera is not None and tokens[0].lower() not in genera and not german
                      and len(tokens) == 1):
        return Parsed(None, None, False, cultivar, s or None, group=False)
    genus = tokens[0].capitalize()
    rest = tokens[1:]
    hybrid = bool(rest) and rest[0].lower() in _HYBRID
    if hybrid:
        rest = rest[1:]
    epithet = None
    if rest and rest[0].lower() not in _SPEC and (rest[0][:1].islower() or rest[0].isupper()):
        epithet = rest[0].lower()
        rest = rest[1:]
    elif rest and rest[0].lower() in _SPEC:
        rest = rest[1:]
    if not german and rest:  # comma missing: the rest is the German name
        german = " ".join(rest)
    return Parsed(genus, epithet, hybrid, cultivar, german or None, group=False)


def resolve_one(text: str | None, table: SpeciesTable) -> dict[str, str | None]:
    out: dict[str, str | None] = dict.fromkeys(SPECIES_FIELDS)
    if text is None:
        out.update(species_rank="unknown", species_status="no_species")
        return out
    whole = " ".join(text.split()).strip(" ,;").lower()
    if whole in table.by_german:  # only a German name, possibly of several words
        text = table.by_key[table.by_german[whole]].botanical if table.by_german[whole] else text
    p = parse(text, table.genera)
    if p.group:
        out.update(species_rank="group", species_status="no_species")
        return out
    key = p.key
    if key is None and p.german:  # only a German name
        key = table.by_german.get(p.german.lower()) or None
    if key and key.split(" ")[0] not in table.genera and p.german:
        key = table.by_german.get(p.german.lower(), key)
    taxon = table.by_key.get(key) if key else None
    rank = "genus" if key and " " not in key else ("hybrid" if p.hybrid else "species")
    out.update(
        species_botanical=(taxon.botanical if taxon else _title(key)),
        species_cultivar=p.cultivar,
        species_german=(taxon.german if taxon and taxon.german else p.german),
        species_rank=rank if key else "unknown",
    )
    if taxon and taxon.ref_id:
        exact = rank != "genus" and not p.cultivar
        out.update(
            species_status="resolved",
            species_ref_scheme=taxon.scheme,
            species_ref_id=SCHEMES[taxon.scheme].format(taxon.ref_id),
            species_ref_name=taxon.ref_name or taxon.botanical,
            species_qualifier="congruent" if exact else "includedIn",
        )
    else:
        out["species_status"] = "unresolved"
    return out


def _title(key: str | None) -> str | None:
    if not key:
        return None
    genus, *rest = key.split(" ")
    return " ".join([genus.capitalize(), *rest])


@functools.lru_cache(maxsize=8)
def load_table(path: Path) -> SpeciesTable:
    return SpeciesTable(path)


def resolve(column: pd.Series, table_path: Path) -> pd.DataFrame:
    """Resolve a column of raw species strings (each distinct string once)."""
    table = load_table(table_path)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    rows = [resolve_one(str(u), table) for u in uniques] + [resolve_one(None, table)]
    lookup = pd.DataFrame(rows, columns=list(SPECIES_FIELDS)).astype(_ARROW_STR)
    codes = np.where(codes < 0, len(rows) - 1, codes)  # missing -> the "no species" row
    out = lookup.take(codes)
    out.index = column.index
    return out
