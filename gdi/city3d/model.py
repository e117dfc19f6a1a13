"""The immutable building model every 3D encoder reads.

A LoD1.2 body is one closed shell of planar surfaces: one ground surface, one roof surface
and one wall per footprint edge, each with its semantic type. Rings are (n, 3) float arrays
in the storage CRS (EPSG:25832 + DHHN2016 heights), not closed (the first vertex is not
repeated), the first ring of a surface its exterior. Every ring is ordered so that the
surface normal (right-hand rule) points out of the solid: the ground ring runs clockwise seen
from above, the roof ring counter-clockwise, walls outward; hole rings run the other way.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

SurfaceKind = Literal["GroundSurface", "WallSurface", "RoofSurface", "ClosureSurface"]


@dataclasses.dataclass(frozen=True)
class Surface:
    kind: SurfaceKind
    rings: tuple[np.ndarray, ...]


@dataclasses.dataclass(frozen=True)
class Body:
    """One building body: ``shell`` is its closed LoD1.2 shell."""

    id: str                      # the ALKIS object id (or the planned project's id)
    shell: tuple[Surface, ...]
    attributes: dict[str, Any]   # public attributes only, JSON types (str, int, float, None)
    ground: float                # height of the ground surface (m, DHHN2016)
    roof: float                  # height of the roof surface (m, DHHN2016)
    begin: str | None = None     # beginLifespanVersion (ISO 8601 date-time)
    status: Literal["existing", "planned"] = "existing"
    # LoD2 (the state's model, issue 15): one shell per building part, as delivered (rings
    # (n, 3), outward as in the source; its validity is reported, never repaired)
    lod2: tuple[tuple[Surface, ...], ...] = ()
    lod2_parts: tuple[str, ...] = ()  # the parts' ids (gml:id of Building/BuildingPart)


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """What every encoder writes into its header."""

    title: str
    crs: str = "EPSG:25832"
    vertical_crs: str = "EPSG:7837"  # DHHN2016 height
    reference_date: str = ""         # the newest source date (YYYY-MM-DD)
    lineage: tuple[str, ...] = ()    # one line per source and method
    namespace: str = ""              # the INSPIRE identifier namespace
    variant: Literal["existing", "planning"] = "existing"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
