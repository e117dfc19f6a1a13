"""Pure functions for tree cadastres, named by descriptors (``transforms.trees:<name>``)."""

from __future__ import annotations


def local_species_name(botanical: str | None, cultivar: str | None) -> str | None:
    """The species name as the cadastre uses it, cultivar included: ``Tilia cordata 'Rancho'``.

    >>> local_species_name("Tilia cordata", "Rancho")
    "Tilia cordata 'Rancho'"
    >>> local_species_name("Acer", None)
    'Acer'
    >>> local_species_name(None, "Rancho") is None
    True
    """
    if not isinstance(botanical, str) or not botanical:
        return None
    if isinstance(cultivar, str) and cultivar:
        return f"{botanical} '{cultivar}'"
    return botanical
