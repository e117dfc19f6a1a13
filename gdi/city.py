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


class Licence(_Model):
    """The open-data licence of every public output; ``id`` from GovData's licence list."""

    id: str = "dl-by-de/2.0"
    name: str = "Datenlizenz Deutschland Namensnennung 2.0"
    title_de: str = "Datenlizenz Deutschland – Namensnennung – Version 2.0"
    url: str = "https://www.govdata.de/dl-de/by-2-0"


class Catalogue(_Model):
    """What every metadata record shares beyond the contact (gdi/metadata)."""

    licence: Licence = Licence()
    # telephone of the contact, optional in ISO 19115
    phone: str | None = None
    # GovData's id of who delivers the DCAT-AP.de catalogue (dcatde:contributorID, one IRI
    # of http://dcat-ap.de/def/contributors); a city without its own id uses its state's
    govdata_contributor: str = Field(
        default="http://dcat-ap.de/def/contributors/landNiedersachsen",
        pattern=r"^http://dcat-ap\.de/def/contributors/[A-Za-z0-9]+$")


class Portal(_Model):
    """The citizen portal's links the city keeps elsewhere (default: the city's website)."""

    imprint_url: str | None = None
    privacy_url: str | None = None
    # the enforcement procedure named in the accessibility statement (BITV 2.0 / NBGG)
    enforcement_body: str = ("Schlichtungsstelle nach dem Niedersächsischen "
                             "Behindertengleichstellungsgesetz (NBGG) bei der bzw. dem "
                             "Landesbeauftragten für Menschen mit Behinderungen")
    statement_date: str = "2026-11-30"  # when the accessibility statement was last reviewed


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
    catalogue: Catalogue = Catalogue()
    portal: Portal = Portal()
    # the CRSs every dataset's files are offered in (INSPIRE GML, GeoPackage): the storage
    # CRS and these; INSPIRE download services need EPSG:4258 (ETRS89, geographic)
    download_crs: tuple[str, ...] = ("EPSG:25832", "EPSG:4258")


@functools.lru_cache(maxsize=8)
def load(path: Path) -> City:
    """The profile at ``path``, validated (errors name the file and the key)."""
    return validate(City, read_yaml(path, {}), where=str(path))
