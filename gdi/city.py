"""The city profile: who publishes (name, place, municipality key, contact, namespace, area).

One YAML file (``config/cities/hildesheim.yml`` by default, ``GDI_CITY_PROFILE`` for another
city) holds everything city-specific; titles, capabilities, metadata, the landing page and
identifiers are derived from it, so any municipality runs the service with its own profile and
its own descriptors (README, "Another city").
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gdi.yamlconf import read_yaml, validate


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Model):
    de: str
    en: str


class Contact(_Model):
    organisation: str
    position: str
    address: str
    postcode: str
    city: str
    country: str = "Deutschland"
    email: str


class City(_Model):
    name: Names
    place: str
    slug: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    municipality_key: str = Field(pattern=r"^\d{8}$")
    state: str
    website: str
    id_namespace_base: str
    contact: Contact
    licence_holder: str
    bbox: tuple[float, float, float, float]


@functools.lru_cache(maxsize=8)
def load(path: Path) -> City:
    """The profile at ``path``, validated (errors name the file and the key)."""
    return validate(City, read_yaml(path, {}), where=str(path))
