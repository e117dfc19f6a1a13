"""Species strings in the variants real cadastres have."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdi.species import load_table, resolve_one

TABLE = load_table(Path(__file__).parent.parent / "datasets" / "species.csv")


@pytest.mark.parametrize(("text", "botanical", "german", "cultivar", "rank"), [
    ("Tilia cordata 'Rancho', Winter-Linde", "Tilia cordata", "Winter-Linde", "Rancho", "species"),
    ("ACER PLATANOIDES", "Acer platanoides", "Spitz-Ahorn", None, "species"),
    ("acer platanoides, Spitz-Ahorn", "Acer platanoides", "Spitz-Ahorn", None, "species"),
    ("Acer platanoides Spitz-Ahorn", "Acer platanoides", "Spitz-Ahorn", None, "species"),
    ("Alnus  species, Erle", "Alnus", "Erle", None, "genus"),
    ("Acer spec., Ahorn", "Acer", "Ahorn", None, "genus"),
    ("Platanus x hispanica, Platane", "Platanus x hispanica", "Ahornblättrige Platane", None,
     "hybrid"),
    ("Gewöhnliche Rosskastanie", "Aesculus hippocastanum", "Gewöhnliche Rosskastanie", None,
     "species"),
])
def test_variants_normalise_to_one_taxon(text: str, botanical: str, german: str,
                                         cultivar: str | None, rank: str) -> None:
    out = resolve_one(text, TABLE)
    assert (out["species_botanical"], out["species_german"]) == (botanical, german)
    assert (out["species_cultivar"], out["species_rank"]) == (cultivar, rank)


def test_groups_have_no_species() -> None:
    out = resolve_one("Baumgruppe/flächiger Bestand", TABLE)
    assert out["species_status"] == "no_species" and out["species_botanical"] is None


def test_reference_ids_come_only_from_the_table() -> None:
    abies = resolve_one("Abies alba, Weiß-Tanne", TABLE)
    assert abies["species_status"] == "resolved" and abies["species_qualifier"] == "congruent"
    assert abies["species_ref_id"] == "https://eunis.eea.europa.eu/species/150697"
    assert abies["species_ref_scheme"] == "eunis"
    cultivar = resolve_one("Abies alba 'Pendula'", TABLE)
    assert cultivar["species_qualifier"] == "includedIn"
    ginkgo = resolve_one("Ginkgo biloba, Ginkgo", TABLE)  # no verified id: none invented
    assert ginkgo["species_status"] == "unresolved" and ginkgo["species_ref_id"] is None
