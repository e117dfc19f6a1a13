"""Deterministic sample source data, one generator per cadastre."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gdi.samples import buildings, playgrounds, sites, trees

GENERATORS: dict[str, Callable[..., Path]] = {"trees": trees.generate,
                                              "playgrounds": playgrounds.generate,
                                              "contaminated_sites": sites.generate,
                                              "buildings": buildings.city}
